/**
 * What an agent does on an instance of an Auto Scaling group (FleetWorker), on top of working:
 *
 * - Scale-in protection while the instance holds jobs: on as soon as the worker gets busy, off
 *   once it has been idle for a while (debounced, so that a trickle of jobs does not flap it).
 *   The first "off" also clears a protection left over by an agent that crashed while busy.
 * - The termination lifecycle hook: the agent watches IMDSv2's target lifecycle state; when it
 *   reads `Terminated` the instance is waiting in Terminating:Wait, so the agent drains (stops
 *   receiving, lets jobs finish) and then completes the lifecycle action with CONTINUE.
 */
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  SetInstanceProtectionCommand,
} from '@aws-sdk/client-auto-scaling';
import { createLogger, errorFields } from '../jobs/logger';
import type { JobLogger } from '../jobs/types';
import { backoffDelay, sleep } from './backoff';
import { WorkerOptionsError } from './errors';
import { InstanceMetadataClient } from './instance-metadata';
import type { StopReport, Worker } from './types';

/** Options of {@link startFleetIntegration}. */
export interface FleetOptions {
  /** The worker to protect and drain. */
  readonly worker: Worker;

  /** The instance's Auto Scaling group. */
  readonly autoScalingGroupName: string;

  /**
   * The group's termination lifecycle hook, completed (CONTINUE) once the worker has drained.
   *
   * @default - termination is not watched; the instance goes when Auto Scaling says
   */
  readonly lifecycleHookName?: string;

  /** The Auto Scaling client. @default - a client from the environment's settings */
  readonly autoScaling?: AutoScalingClient;

  /** Where instance metadata comes from. @default - IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT, else 169.254.169.254 */
  readonly metadata?: InstanceMetadataClient;

  /** The instance id. @default - read from instance metadata */
  readonly instanceId?: string;

  /**
   * How long the worker must stay idle before scale-in protection is turned off, in ms.
   *
   * @default 30000
   */
  readonly unprotectAfterIdleMs?: number;

  /** How often the target lifecycle state is read, in ms (a local call, no AWS request). @default 5000 */
  readonly lifecyclePollIntervalMs?: number;

  /**
   * How long the drain before termination lets running jobs finish, in seconds; keep it under
   * the lifecycle hook's heartbeat timeout.
   *
   * @default 900 (the worker's default job timeout: no job runs longer)
   */
  readonly drainTimeoutSeconds?: number;

  /**
   * First delay before retrying a failed Auto Scaling request, in ms; it doubles (with jitter)
   * up to `retryMaxMs`. Scale-in protection is retried until it holds what the worker needs:
   * when a whole fleet goes idle at once, throttling is expected.
   *
   * @default 200
   */
  readonly retryBaseMs?: number;

  /** Longest delay between retries of a failed Auto Scaling request, in ms. @default 10000 */
  readonly retryMaxMs?: number;

  /** Where the integration's log lines go. @default - JSON lines on stdout/stderr */
  readonly logger?: JobLogger;
}

/** How a termination went. */
export interface TerminationReport {
  /** The worker's drain. */
  readonly drain: StopReport;
  /** True when CompleteLifecycleAction succeeded (else the hook's timeout lets the instance go). */
  readonly lifecycleActionCompleted: boolean;
}

/** Counters of the fleet integration. */
export interface FleetStats {
  /** What the agent last set (undefined before the first call succeeds). */
  readonly protectedFromScaleIn: boolean | undefined;
  /** Auto Scaling requests sent, by action. */
  readonly requests: Readonly<{ SetInstanceProtection: number; CompleteLifecycleAction: number }>;
}

/** A running fleet integration. */
export interface FleetIntegration {
  readonly instanceId: string;
  /** Resolves once the instance was seen terminating, the worker drained and the hook completed. */
  readonly terminated: Promise<TerminationReport>;
  readonly stats: FleetStats;
  /**
   * Stops watching and protecting, and lifts scale-in protection (unless the instance is
   * terminating), trying for up to 10 s; waits for a termination in progress. Does not stop the worker.
   */
  stop(): Promise<void>;
}

const ATTEMPTS = 5;
const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 10_000;
/** How long stop() keeps trying to lift scale-in protection. */
const UNPROTECT_ON_STOP_MS = 10_000;

/**
 * Starts scale-in protection and, with a lifecycle hook, termination handling for `worker`.
 *
 * @example
 * const worker = startWorker({ queueUrl, handler, concurrency: 4 });
 * const fleet = await startFleetIntegration({ worker, autoScalingGroupName: 'render-farm', lifecycleHookName: 'drain' });
 * await fleet.terminated; // the instance is going: the worker has drained
 */
export async function startFleetIntegration(options: FleetOptions): Promise<FleetIntegration> {
  const problems = [
    ...(!options.autoScalingGroupName ? [`autoScalingGroupName must name the instance's Auto Scaling group, received ${JSON.stringify(options.autoScalingGroupName)}.`] : []),
    ...(options.lifecycleHookName === '' ? ['lifecycleHookName must name the termination lifecycle hook, or be left out, received "".'] : []),
  ];
  if (problems.length > 0) throw new WorkerOptionsError(problems);
  const metadata = options.metadata ?? new InstanceMetadataClient();
  const instanceId = options.instanceId ?? (await metadata.instanceId());
  return new Fleet({ ...options, instanceId }, metadata);
}

class Fleet implements FleetIntegration {
  public readonly instanceId: string;
  public readonly terminated: Promise<TerminationReport>;
  private readonly autoScaling: AutoScalingClient;
  private readonly logger: JobLogger;
  private readonly closing = new AbortController();
  private readonly requests = { SetInstanceProtection: 0, CompleteLifecycleAction: 0 };
  private current: boolean | undefined;
  private desired = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private protectionChain: Promise<void> = Promise.resolve();
  private protectionClosed = false;
  private terminating = false;
  /** Wakes a protection retry sleeping in back-off (the wanted state changed, or stop()). */
  private protectionRetryAbort = new AbortController();
  private protectionFailures = 0;
  private readonly watcher: Promise<void>;
  private resolveTerminated!: (report: TerminationReport) => void;
  private readonly onBusy = () => this.busy();
  private readonly onIdle = () => this.idle();

  constructor(
    private readonly options: FleetOptions & { readonly instanceId: string },
    private readonly metadata: InstanceMetadataClient,
  ) {
    this.instanceId = options.instanceId;
    this.autoScaling = options.autoScaling ?? new AutoScalingClient({});
    this.logger = options.logger ?? createLogger({ component: 'worker-agent-fleet', instanceId: this.instanceId });
    this.terminated = new Promise((resolve) => { this.resolveTerminated = resolve; });
    options.worker.on('busy', this.onBusy).on('idle', this.onIdle);
    if (options.worker.stats.inFlight > 0) this.busy();
    else this.idle();
    this.watcher = options.lifecycleHookName ? this.watchLifecycle(options.lifecycleHookName) : Promise.resolve();
  }

  public get stats(): FleetStats {
    return { protectedFromScaleIn: this.current, requests: { ...this.requests } };
  }

  public async stop(): Promise<void> {
    this.closing.abort();
    const lift = !this.terminating && this.current !== false;
    this.closeProtection();
    await this.watcher;
    await this.protectionChain;
    // An agent that stops holds no job: never leave its instance protected from scale-in.
    if (lift) await this.setProtection(false, Date.now() + UNPROTECT_ON_STOP_MS);
  }

  // --- scale-in protection ---

  private busy(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.desired = true;
    this.syncProtection();
  }

  private idle(): void {
    this.desired = false;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.syncProtection(), this.options.unprotectAfterIdleMs ?? 30_000);
  }

  /**
   * Brings the instance's protection to what the worker wants, retrying with bounded back-off
   * until it holds (or the integration closes): an idle instance left protected would never be
   * scaled in, and a busy one left unprotected could be terminated mid-job.
   */
  private syncProtection(): void {
    this.protectionRetryAbort.abort();
    this.protectionRetryAbort = new AbortController();
    const wake = this.protectionRetryAbort.signal;
    this.protectionChain = this.protectionChain.then(async () => {
      while (!this.protectionClosed && this.current !== this.desired) {
        const want = this.desired;
        if (await this.sendProtection(want)) continue;
        await sleep(backoffDelay(this.protectionFailures, this.options.retryBaseMs ?? BACKOFF_BASE_MS, this.options.retryMaxMs ?? BACKOFF_MAX_MS), wake);
      }
    });
  }

  /** One SetInstanceProtection request; true when it succeeded. */
  private async sendProtection(want: boolean): Promise<boolean> {
    try {
      this.requests.SetInstanceProtection += 1;
      await this.autoScaling.send(new SetInstanceProtectionCommand({
        AutoScalingGroupName: this.options.autoScalingGroupName,
        InstanceIds: [this.instanceId],
        ProtectedFromScaleIn: want,
      }));
      this.current = want;
      this.protectionFailures = 0;
      this.logger.info(want ? 'scale-in protection on: the instance holds jobs' : 'scale-in protection off: the instance is idle', {});
      return true;
    } catch (error) {
      this.current = undefined;
      this.protectionFailures += 1;
      this.logger.warn('could not set scale-in protection; retrying with back-off', { want, attempt: this.protectionFailures, ...errorFields(error) });
      return false;
    }
  }

  /** Sets protection, retrying until `deadline`. */
  private async setProtection(want: boolean, deadline: number): Promise<void> {
    while (!(await this.sendProtection(want)) && Date.now() < deadline) {
      await sleep(Math.min(backoffDelay(this.protectionFailures, this.options.retryBaseMs ?? BACKOFF_BASE_MS, this.options.retryMaxMs ?? BACKOFF_MAX_MS), Math.max(deadline - Date.now(), 0)));
    }
  }

  private closeProtection(): void {
    this.protectionClosed = true;
    this.protectionRetryAbort.abort();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.options.worker.off('busy', this.onBusy).off('idle', this.onIdle);
  }

  // --- termination ---

  private async watchLifecycle(hookName: string): Promise<void> {
    let failures = 0;
    while (!this.closing.signal.aborted) {
      let state: string | undefined;
      try {
        state = await this.metadata.targetLifecycleState();
        failures = 0;
      } catch (error) {
        failures += 1;
        // IMDS is local and nearly always there; log the first failure of a run, not every one.
        if (failures === 1) this.logger.warn('could not read the target lifecycle state; will keep trying', errorFields(error));
      }
      if (state === 'Terminated') {
        await this.terminate(hookName);
        return;
      }
      await sleep(this.options.lifecyclePollIntervalMs ?? 5000, this.closing.signal);
    }
  }

  private async terminate(hookName: string): Promise<void> {
    this.logger.info('the instance is terminating: draining the worker before completing the lifecycle action', { lifecycleHookName: hookName });
    // Protection calls on a terminating instance fail, and it no longer matters.
    this.terminating = true;
    this.closeProtection();
    const drain = await this.options.worker.stop(this.options.drainTimeoutSeconds ?? 900);
    let completed = false;
    for (let attempt = 1; attempt <= ATTEMPTS && !completed; attempt++) {
      try {
        this.requests.CompleteLifecycleAction += 1;
        await this.autoScaling.send(new CompleteLifecycleActionCommand({
          AutoScalingGroupName: this.options.autoScalingGroupName,
          LifecycleHookName: hookName,
          InstanceId: this.instanceId,
          LifecycleActionResult: 'CONTINUE',
        }));
        completed = true;
      } catch (error) {
        this.logger.warn('could not complete the lifecycle action', { attempt, ...errorFields(error) });
        if (attempt < ATTEMPTS) await sleep(backoffDelay(attempt, BACKOFF_BASE_MS, BACKOFF_MAX_MS));
      }
    }
    if (completed) this.logger.info('lifecycle action completed: the instance may go', { ...drain });
    else this.logger.error('gave up completing the lifecycle action; the hook\'s timeout will let the instance go', {});
    this.resolveTerminated({ drain, lifecycleActionCompleted: completed });
  }
}
