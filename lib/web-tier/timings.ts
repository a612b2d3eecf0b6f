/**
 * The web tier's timings as library API: a class over the contract's derivation
 * (contracts/web-tier.ts), so every CDK language can derive them (jsii has no free functions).
 */
import { deriveWebTierTimings, timingRules, type WebTierTimingInput } from '../../contracts/web-tier';

/** One ordering the web tier relies on, and whether it holds. */
export interface TimingRule {
  /** True when the timings keep the ordering. */
  readonly holds: boolean;
  /** The ordering and what breaking it causes, with the values. */
  readonly rule: string;
}

/**
 * Every timing of a web tier, in seconds, derived from two inputs: the request timeout (the
 * longest a request may take) and the balancer's idle timeout. WebTier puts these values in the
 * template; the server derives the same from the same two inputs in its environment.
 *
 * @example
 * const t = WebTierTimings.derive({ requestTimeoutSeconds: 30, idleTimeoutSeconds: 60 });
 * t.deregistrationDelaySeconds; // 35
 */
export class WebTierTimings {
  /** Derives every timing of the tier from the request timeout and the balancer's idle timeout. */
  public static derive(input: WebTierTimingInput): WebTierTimings {
    return new WebTierTimings(input);
  }

  /** The longest a request may take: THE setting. */
  public readonly requestTimeoutSeconds: number;
  /** The balancer's idle timeout (ALB default 60). */
  public readonly idleTimeoutSeconds: number;
  /** Between two health checks of a target: a third of the request timeout, from 5 to 30 s. */
  public readonly healthCheckIntervalSeconds: number;
  /** A health check fails after this long without an answer (under the interval, as the ALB requires). */
  public readonly healthCheckTimeoutSeconds: number;
  /** Consecutive health checks that make a target healthy. */
  public readonly healthyThreshold: number;
  /** Consecutive health checks that make a target unhealthy. */
  public readonly unhealthyThreshold: number;
  /** From a readiness flip to the balancer sending no more: `unhealthyThreshold` checks plus one check's timeout. */
  public readonly unreadyNoticeSeconds: number;
  /** From launch of a healthy server to the balancer sending to it: `healthyThreshold` checks. */
  public readonly healthyAfterSeconds: number;
  /** After it stops accepting, the server lets requests in flight finish for this long (= the request timeout). */
  public readonly drainSeconds: number;
  /** SIGTERM to exit at most: keep serving while the balancer notices (readiness false), then drain. */
  public readonly shutdownSeconds: number;
  /** systemd's stop timeout: the shutdown plus a margin, before SIGKILL. */
  public readonly stopTimeoutSeconds: number;
  /** The target group keeps a deregistered target's requests this long: the drain plus a margin. */
  public readonly deregistrationDelaySeconds: number;
  /** A new target's share of requests ramps up over this long (the ALB's range is 30-900 s). */
  public readonly slowStartSeconds: number;
  /** The Auto Scaling group ignores the balancer's health of a new instance this long. */
  public readonly gracePeriodSeconds: number;
  /** CloudFormation waits this long for an instance's signal (sent once it is healthy in the target group). */
  public readonly signalTimeoutSeconds: number;
  /** The server keeps an idle connection open this long: longer than the balancer's idle timeout. */
  public readonly keepAliveTimeoutSeconds: number;
  /** The server waits this long for a request's headers: longer than the keep-alive (as Node requires). */
  public readonly headersTimeoutSeconds: number;

  private constructor(input: WebTierTimingInput) {
    const t = deriveWebTierTimings(input);
    this.requestTimeoutSeconds = t.requestTimeoutSeconds;
    this.idleTimeoutSeconds = t.idleTimeoutSeconds;
    this.healthCheckIntervalSeconds = t.healthCheckIntervalSeconds;
    this.healthCheckTimeoutSeconds = t.healthCheckTimeoutSeconds;
    this.healthyThreshold = t.healthyThreshold;
    this.unhealthyThreshold = t.unhealthyThreshold;
    this.unreadyNoticeSeconds = t.unreadyNoticeSeconds;
    this.healthyAfterSeconds = t.healthyAfterSeconds;
    this.drainSeconds = t.drainSeconds;
    this.shutdownSeconds = t.shutdownSeconds;
    this.stopTimeoutSeconds = t.stopTimeoutSeconds;
    this.deregistrationDelaySeconds = t.deregistrationDelaySeconds;
    this.slowStartSeconds = t.slowStartSeconds;
    this.gracePeriodSeconds = t.gracePeriodSeconds;
    this.signalTimeoutSeconds = t.signalTimeoutSeconds;
    this.keepAliveTimeoutSeconds = t.keepAliveTimeoutSeconds;
    this.headersTimeoutSeconds = t.headersTimeoutSeconds;
  }

  /** The orderings the tier relies on and whether each holds (WebTier fails the synth when one does not). */
  public rules(): TimingRule[] {
    return timingRules(this).map((r) => ({ holds: r.holds, rule: r.rule }));
  }
}
