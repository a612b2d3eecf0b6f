/** The autoscaled web tier: a load balancer in front of a self-healing fleet, with the server that runs on it. */
// The server's paths and unit name on an instance are internal (like FleetWorker's); the access-log prefix is where users find the logs.
export { WebTier, ACCESS_LOGS_PREFIX } from './web-tier';
export type { WebTierProps } from './web-tier';
export { AccessLogsBucket, ELB_LOG_DELIVERY_SERVICE, legacyElbAccounts } from './access-logs';
export type { AccessLogsBucketProps } from './access-logs';
export {
  deriveWebTierTimings, timingRules, brokenTimingRules, WEB_TIER_ENV, READINESS_PATH, LIVENESS_PATH, WEB_SERVER_PORT,
} from '../../contracts/web-tier';
export type { WebTierTimings, WebTierTimingInput } from '../../contracts/web-tier';
