/**
 * The web tier's contract: what WebTier (lib/), the web server on its instances (runtime/) and
 * the local balancer (local/) all read. Above all the timings: every timing of the tier is
 * derived here, by one function, from ONE setting (`requestTimeout`, the longest a request may
 * take) and the balancer's idle timeout, so the balancer's health checks, the group's grace
 * period and boot signal, the target group's deregistration delay and slow start, and the
 * server's shutdown and keep-alive can never disagree.
 *
 * Plain TypeScript: it imports only the workload contract, so every tier can import it.
 */
import { defineWorkloadKind, type WorkloadDeclaration, type WorkloadKindContract } from './workload';

/** Environment variables WebTier sets for the web server (and the local cloud sets for its processes). */
export const WEB_TIER_ENV = {
  /** The port the server listens on. */
  port: 'WEB_TIER_PORT',
  /** The one timing setting, in seconds: the longest a request may take. */
  requestTimeout: 'WEB_TIER_REQUEST_TIMEOUT_SECONDS',
  /** The balancer's idle timeout, in seconds (the server keeps connections open longer). */
  idleTimeout: 'WEB_TIER_IDLE_TIMEOUT_SECONDS',
  /** The largest request body the server reads, in bytes. */
  bodyLimit: 'WEB_TIER_BODY_LIMIT_BYTES',
  /** Host to bind (the local cloud binds loopback only). */
  host: 'WEB_TIER_HOST',
  /** Set by the local cloud: a short name of the "instance" a server plays (an instance id on EC2). */
  serverName: 'WEB_TIER_SERVER_NAME',
} as const;

/** The port servers listen on (not privileged, so the service runs as a dynamic user without capabilities). */
export const WEB_SERVER_PORT = 8080;

/** Liveness: 200 while the process can answer at all. */
export const LIVENESS_PATH = '/healthz/live';
/** Readiness, the balancer's health check: 200 once started and until a SIGTERM, 503 otherwise. */
export const READINESS_PATH = '/healthz/ready';

/** The largest request body the server reads by default (1 MiB); larger ones get 413. */
export const DEFAULT_BODY_LIMIT_BYTES: number = 1024 * 1024;

/** The request header the balancer adds with the request's trace id (logged with each request). */
export const TRACE_ID_HEADER = 'x-amzn-trace-id';

/** The name under which an entry module may export a start-up hook (`export async function start() {...}`). */
export const START_HOOK_EXPORT = 'start';

/** Consecutive health checks that make a target healthy / unhealthy. */
export const HEALTHY_THRESHOLD = 2;
export const UNHEALTHY_THRESHOLD = 2;

/**
 * How long an instance may take from launch to a running server (dnf installs Node.js, the
 * program is downloaded): the part of the grace period and boot signal timeout that no setting
 * of the tier changes.
 */
export const BOOT_ALLOWANCE_SECONDS = 300;

/** Margins, in seconds, between values that must be ordered (an event on one side, a timer on the other). */
export const KEEP_ALIVE_MARGIN_SECONDS = 5;
export const DEREGISTRATION_MARGIN_SECONDS = 5;
export const STOP_MARGIN_SECONDS = 5;

/** The two inputs every timing comes from. */
export interface WebTierTimingInput {
  /** The longest a request may take, in seconds: THE setting. */
  readonly requestTimeoutSeconds: number;
  /** The balancer's idle timeout, in seconds (ALB default 60). */
  readonly idleTimeoutSeconds: number;
}

/** Every timing of the tier, in seconds. */
export interface WebTierTimings extends WebTierTimingInput {
  /** Between two health checks of a target: a third of the request timeout, from 5 to 30 s, so a leaving server is noticed within about one request timeout. */
  readonly healthCheckIntervalSeconds: number;
  /** A health check fails after this long without an answer (under the interval, as the ALB requires). */
  readonly healthCheckTimeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** From a readiness flip to the balancer sending no more: `unhealthyThreshold` checks plus one check's timeout. */
  readonly unreadyNoticeSeconds: number;
  /** From launch of a healthy server to the balancer sending to it: `healthyThreshold` checks. */
  readonly healthyAfterSeconds: number;
  /** After it stops accepting, the server lets requests in flight finish for this long (= the request timeout). */
  readonly drainSeconds: number;
  /** SIGTERM to exit at most: keep serving while the balancer notices (readiness false), then drain. */
  readonly shutdownSeconds: number;
  /** systemd's stop timeout: the shutdown plus a margin, before SIGKILL. */
  readonly stopTimeoutSeconds: number;
  /** The target group keeps a deregistered target's requests this long: the drain plus a margin. */
  readonly deregistrationDelaySeconds: number;
  /** A new target's share of requests ramps up over this long (the ALB's range is 30-900 s). */
  readonly slowStartSeconds: number;
  /** The Auto Scaling group ignores the balancer's health of a new instance this long: the boot plus becoming healthy, plus one check. */
  readonly gracePeriodSeconds: number;
  /** CloudFormation waits this long for an instance's signal (sent once it is healthy in the target group): the grace period plus two minutes. */
  readonly signalTimeoutSeconds: number;
  /** The server keeps an idle connection open this long: longer than the balancer's idle timeout, so the balancer always closes first (no 502). */
  readonly keepAliveTimeoutSeconds: number;
  /** The server waits this long for a request's headers: longer than the keep-alive (as Node requires). */
  readonly headersTimeoutSeconds: number;
}

/**
 * Derives every timing of the tier from the request timeout and the balancer's idle timeout.
 * The construct puts these values in the template, the server derives the same from the same
 * two inputs in its environment, and the local balancer reads them back from the template.
 */
export function deriveWebTierTimings(input: WebTierTimingInput): WebTierTimings {
  const { requestTimeoutSeconds, idleTimeoutSeconds } = input;
  const healthCheckIntervalSeconds = Math.min(30, Math.max(5, Math.ceil(requestTimeoutSeconds / 3)));
  const healthCheckTimeoutSeconds = Math.max(2, Math.min(5, healthCheckIntervalSeconds - 1));
  const unreadyNoticeSeconds = UNHEALTHY_THRESHOLD * healthCheckIntervalSeconds + healthCheckTimeoutSeconds;
  const healthyAfterSeconds = HEALTHY_THRESHOLD * healthCheckIntervalSeconds;
  const drainSeconds = requestTimeoutSeconds;
  const shutdownSeconds = unreadyNoticeSeconds + drainSeconds;
  const gracePeriodSeconds = BOOT_ALLOWANCE_SECONDS + healthyAfterSeconds + healthCheckIntervalSeconds;
  const keepAliveTimeoutSeconds = idleTimeoutSeconds + KEEP_ALIVE_MARGIN_SECONDS;
  return {
    requestTimeoutSeconds,
    idleTimeoutSeconds,
    healthCheckIntervalSeconds,
    healthCheckTimeoutSeconds,
    healthyThreshold: HEALTHY_THRESHOLD,
    unhealthyThreshold: UNHEALTHY_THRESHOLD,
    unreadyNoticeSeconds,
    healthyAfterSeconds,
    drainSeconds,
    shutdownSeconds,
    stopTimeoutSeconds: shutdownSeconds + STOP_MARGIN_SECONDS,
    deregistrationDelaySeconds: drainSeconds + DEREGISTRATION_MARGIN_SECONDS,
    slowStartSeconds: Math.min(900, Math.max(30, 3 * healthCheckIntervalSeconds)),
    gracePeriodSeconds,
    signalTimeoutSeconds: gracePeriodSeconds + 120,
    keepAliveTimeoutSeconds,
    headersTimeoutSeconds: keepAliveTimeoutSeconds + 1,
  };
}

/**
 * The orderings the tier relies on, each as `[holds, what it prevents]`. WebTier fails the synth
 * when one does not hold; the server refuses to start.
 */
export function timingRules(t: WebTierTimings): ReadonlyArray<{ readonly holds: boolean; readonly rule: string }> {
  return [
    { holds: t.requestTimeoutSeconds <= t.idleTimeoutSeconds, rule: `a request (up to ${t.requestTimeoutSeconds} s) must fit in the balancer's idle timeout (${t.idleTimeoutSeconds} s), or the balancer answers 504 while the server still works` },
    { holds: t.keepAliveTimeoutSeconds > t.idleTimeoutSeconds, rule: `the server's keep-alive (${t.keepAliveTimeoutSeconds} s) must outlast the balancer's idle timeout (${t.idleTimeoutSeconds} s), or the server closes connections the balancer is about to reuse (502)` },
    { holds: t.headersTimeoutSeconds > t.keepAliveTimeoutSeconds, rule: `the headers timeout (${t.headersTimeoutSeconds} s) must be longer than the keep-alive (${t.keepAliveTimeoutSeconds} s)` },
    { holds: t.healthCheckTimeoutSeconds < t.healthCheckIntervalSeconds, rule: `the health check timeout (${t.healthCheckTimeoutSeconds} s) must be under its interval (${t.healthCheckIntervalSeconds} s)` },
    { holds: t.drainSeconds < t.deregistrationDelaySeconds, rule: `the server's drain (${t.drainSeconds} s) must end before the deregistration delay (${t.deregistrationDelaySeconds} s), or the balancer cuts requests the server would finish` },
    { holds: t.shutdownSeconds >= t.unreadyNoticeSeconds + t.drainSeconds, rule: `the shutdown (${t.shutdownSeconds} s) must cover the balancer noticing the server is not ready (${t.unreadyNoticeSeconds} s) and the drain (${t.drainSeconds} s)` },
    { holds: t.stopTimeoutSeconds > t.shutdownSeconds, rule: `systemd's stop timeout (${t.stopTimeoutSeconds} s) must outlast the server's shutdown (${t.shutdownSeconds} s), or SIGKILL cuts the drain` },
    { holds: t.gracePeriodSeconds > t.healthyAfterSeconds, rule: `the grace period (${t.gracePeriodSeconds} s) must outlast becoming healthy (${t.healthyAfterSeconds} s), or new instances are replaced before they can pass` },
    { holds: t.signalTimeoutSeconds > t.gracePeriodSeconds, rule: `the boot signal timeout (${t.signalTimeoutSeconds} s) must outlast the grace period (${t.gracePeriodSeconds} s)` },
    { holds: t.slowStartSeconds >= 30 && t.slowStartSeconds <= 900, rule: `slow start (${t.slowStartSeconds} s) must be from 30 to 900 s (the ALB's range)` },
    { holds: t.deregistrationDelaySeconds <= 3600, rule: `the deregistration delay (${t.deregistrationDelaySeconds} s) must be at most 3,600 s (the ALB's limit)` },
  ];
}

/** The broken rules of `t`, as sentences (empty when all hold). */
export function brokenTimingRules(t: WebTierTimings): string[] {
  return timingRules(t).filter((r) => !r.holds).map((r) => r.rule);
}

/**
 * WebTier's workload declaration, on its Auto Scaling group: what the local cloud runs in its
 * place (server processes behind a local balancer that behaves as the deployed ALB).
 */
export interface WebTierWorkload extends WorkloadDeclaration<'web-tier/servers', 1> {
  /** s3:// URL of the server program (a zip archive with index.mjs). */
  readonly program: string;
  /** The server's environment, as the instances get it. */
  readonly environment: Readonly<Record<string, string>>;
  /** The two timing inputs; the rest is {@link deriveWebTierTimings} of them, as deployed. */
  readonly requestTimeoutSeconds: number;
  readonly idleTimeoutSeconds: number;
  /** The target group's health check, as deployed. */
  readonly healthCheckPath: string;
  readonly healthCheckIntervalSeconds: number;
  readonly healthCheckTimeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly deregistrationDelaySeconds: number;
  /** The group's health check grace period. */
  readonly gracePeriodSeconds: number;
  /** With HTTPS, the HTTP listener redirects to it. */
  readonly https: boolean;
  /** The group's size, and the requests per server per minute that scaling holds. */
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly targetRequestsPerMinute: number;
  /** The target group's ARN. */
  readonly targetGroupArn: string;
}

/** The web tier's workload kind: WebTier declares it, local/workloads/web-tier.ts runs it. */
export const WEB_TIER_WORKLOAD: WorkloadKindContract<WebTierWorkload> = defineWorkloadKind<WebTierWorkload>('web-tier/servers', 1);

/**
 * What WebTier grants its instances for its own programs: the boot step that waits for the
 * instance to be healthy in the target group before the signal calls exactly this (it takes no
 * resource-level permission). The server calls nothing; the app's calls are the user's grants.
 */
export const WEB_TIER_BOOT_ACTIONS: readonly string[] = ['elasticloadbalancing:DescribeTargetHealth'];
