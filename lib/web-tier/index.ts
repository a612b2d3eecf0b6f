/**
 * The autoscaled web tier: a load balancer in front of a self-healing fleet, with the server that runs on it.
 *
 * @module web-tier
 */
// The server's paths and port are static members of WebTier; its unit name and directories on an
// instance are internal (like FleetWorker's), and so are the server's environment names (the runtime reads them).
export { WebTier } from './web-tier';
export type { WebTierProps } from './web-tier';
export { AccessLogsBucket } from './access-logs';
export type { AccessLogsBucketProps } from './access-logs';
export { WebTierTimings } from './timings';
export type { TimingRule } from './timings';
export type { WebTierTimingInput } from '../../contracts/web-tier';
