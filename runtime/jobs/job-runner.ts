/**
 * Runs one delivery of a job: parse it, run the user's handler under a deadline and, with
 * idempotency on, through Powertools' idempotency layer so that a job delivered twice (even
 * at the same time) applies its effect once. Shared by the Lambda adapter and the EC2 agent.
 */
import { DynamoDBClient, TransactWriteItemsCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS, IDEMPOTENCY_TABLE_ENV, IDEMPOTENCY_TTL_ENV } from './environment';
import { MalformedJobError } from './errors';
import { JobRecordStore, newLease, type CommitOutcome, type JobLease } from './job-record-store';
import { createLogger, errorFields } from './logger';
import { parseJob } from './parse-job';
import type { JobContext, JobDefinition, JobLogger, JobMessage } from './types';

/** Idempotency settings of a runner. */
export interface IdempotencySettings {
  /** The DynamoDB table of idempotency records. */
  readonly tableName: string;
  /** How long a finished job is remembered, in seconds. */
  readonly ttlSeconds: number;
  /** The DynamoDB client to use. @default - a client from the environment's settings */
  readonly client?: DynamoDBClient;
}

/** Idempotency settings from the environment a construct set up; undefined when it is off. */
export function idempotencyFromEnv(env: NodeJS.ProcessEnv = process.env): IdempotencySettings | undefined {
  const tableName = env[IDEMPOTENCY_TABLE_ENV];
  if (!tableName) return undefined;
  const raw = env[IDEMPOTENCY_TTL_ENV];
  const ttlSeconds = raw === undefined ? DEFAULT_IDEMPOTENCY_TTL_SECONDS : Number(raw);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new Error(`${IDEMPOTENCY_TTL_ENV} must be a whole number of seconds, received ${JSON.stringify(raw)}.`);
  }
  return { tableName, ttlSeconds };
}

/** The same key prefix on every worker, so a Lambda worker and an EC2 agent share one memory of jobs. */
const KEY_PREFIX = 'job';

/**
 * What the idempotency layer hashes: the job id is the key, and `check` guards against id reuse:
 * the job itself, so that two different jobs sent with one id fail loudly; or, for an id the
 * handler derives from the job (`jobIdFrom`), the id, which already names the work (two S3
 * events for one object version differ in their event name, yet are one job).
 */
interface Envelope<T> {
  readonly jobId: string;
  readonly job: T;
  readonly check: unknown;
}

/** How one job ended. */
export type JobOutcome<R> =
  | { readonly ok: true; readonly result: R }
  | {
    readonly ok: false;
    readonly error: unknown;
    readonly malformed: boolean;
    /** When another delivery holds the job's record: ms until its lease ends (retry no sooner). */
    readonly heldElsewhereForMs?: number;
  };

/** Per-delivery settings of {@link JobRunner.run}. */
export interface RunOptions {
  /** Aborted when the worker stops: the job's signal aborts and, with idempotency, its in-progress record is released. */
  readonly stop?: AbortSignal;
  /**
   * With idempotency, how long the in-progress record holds without renewal, in ms; it is
   * renewed while the job runs (until its deadline), so a dead worker's job can run again about
   * this long after it died.
   *
   * @default - until the deadline, not renewed (Lambda: the invocation dies with its deadline)
   */
  readonly leaseMs?: number;
  /** Called with the job's id once its message is parsed. */
  readonly onJobId?: (jobId: string) => void;
}

/**
 * Runs the user's function for one job: by default in this thread; the worker agent passes one
 * that runs it in a job thread (the context's `commit` and `signal` still work there).
 */
export type JobExecutor<T, R> = (job: T, context: JobContext) => Promise<R>;

/**
 * One delivery's state: its signal, made when first read (a handler that never reads it, in a job
 * without idempotency, pays for no AbortController and no deadline timer; read at any time, it is
 * already aborted when the job passed its deadline or the worker is stopping, and it never aborts
 * once the job settled), its renewals, and its logger, made when something logs. A class, not
 * closures: one object a job.
 */
class Delivery {
  private controller?: AbortController;
  private abortReason?: Error;
  private deadlineTimer?: NodeJS.Timeout;
  private renewer?: NodeJS.Timeout;
  private settled = false;
  private log?: JobLogger;
  private fields: Record<string, unknown>;

  constructor(message: JobMessage, private readonly deadline: number, private readonly lease: JobLease, private readonly store: JobRecordStore | undefined) {
    this.fields = { messageId: message.messageId, attempt: message.receiveCount };
    // With idempotency the renewals stop at the deadline, whether or not the signal is read.
    if (store) this.armDeadline();
  }

  public logger(): JobLogger {
    return (this.log ??= createLogger(this.fields));
  }

  /** The job's id is known: log lines carry it from now on. */
  public named(jobId: string): void {
    this.fields = { jobId, ...this.fields };
    this.log = undefined;
  }

  public get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (!this.abortReason && !this.settled && Date.now() >= this.deadline) this.atDeadline();
      if (this.abortReason) this.controller.abort(this.abortReason);
      else if (!this.settled && this.deadlineTimer === undefined) this.armDeadline();
    }
    return this.controller.signal;
  }

  /** Renews the in-progress record while the job runs (until its deadline). */
  public renew(store: JobRecordStore): void {
    const lease = this.lease;
    this.renewer = setInterval(() => {
      if (lease.until === undefined || lease.ended || lease.until - Date.now() > lease.leaseMs / 2) return;
      void store.renew(lease).then(
        (renewal) => {
          if (renewal === 'renewed') return;
          this.stopRenewing();
          if (renewal === 'lost') this.logger().warn('the job\'s in-progress record was taken over by another delivery (this one outlived its lease); its commit will fail', {});
        },
        (error) => this.logger().warn('could not renew the job\'s in-progress record; retrying at the next beat', errorFields(error)),
      );
    }, Math.max(lease.leaseMs / 4, 50));
    this.renewer.unref?.();
  }

  /** The worker is stopping: the job is handed back. */
  public stopped(): void {
    this.stopRenewing();
    this.abort(new Error('the worker is stopping'));
    // Free its record now rather than when the lease lapses.
    if (this.store) void this.store.release(this.lease).catch((error) => this.logger().warn('could not release the job\'s in-progress record; it lapses with its lease', errorFields(error)));
  }

  public settle(): void {
    this.settled = true;
    this.stopRenewing();
    clearTimeout(this.deadlineTimer);
  }

  private stopRenewing(): void {
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = undefined;
  }

  private abort(reason: Error): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  private armDeadline(): void {
    this.deadlineTimer = setTimeout(() => this.atDeadline(), Math.max(this.deadline - Date.now(), 0));
    this.deadlineTimer.unref?.();
  }

  private atDeadline(): void {
    // A job past its deadline is abandoned: its lease lapses, so another delivery can take over.
    this.stopRenewing();
    this.abort(new Error('the job passed its deadline'));
  }
}

/** The context a handler gets: its signal and logger are made when first read (Delivery). */
class DeliveryContext implements JobContext {
  readonly #delivery: Delivery;

  constructor(
    public readonly jobId: string,
    public readonly messageId: string,
    public readonly attempt: number,
    public readonly deadline: number,
    delivery: Delivery,
    public readonly commit: JobContext['commit'],
  ) {
    this.#delivery = delivery;
  }

  public get signal(): AbortSignal {
    return this.#delivery.signal;
  }

  public get log(): JobLogger {
    return this.#delivery.logger();
  }
}

/** Runs deliveries of one job definition. Create one per process and reuse it. */
export class JobRunner<T, R> {
  private readonly store?: JobRecordStore;
  private commitClient?: DynamoDBClient;
  private readonly execute: JobExecutor<T, R>;

  constructor(
    private readonly definition: JobDefinition<T, R>,
    private readonly idempotency: IdempotencySettings | undefined,
    /** Where the user's function runs. @default - in this thread */
    execute?: JobExecutor<T, R>,
  ) {
    this.execute = execute ?? (async (job, context) => definition.run(job, context));
    if (idempotency) {
      this.commitClient = idempotency.client ?? new DynamoDBClient({});
      this.store = new JobRecordStore(idempotency.tableName, this.commitClient, idempotency.ttlSeconds);
    }
  }

  /** True when finished jobs are remembered. */
  public get isIdempotent(): boolean {
    return this.store !== undefined;
  }

  /**
   * Runs one delivery and reports how it ended; never throws.
   *
   * @param message the delivery
   * @param deadline epoch ms by which the job must end (remaining Lambda time, or the job timeout)
   * @param options the stop signal and the lease of the in-progress record
   */
  public async run(message: JobMessage, deadline: number, options: RunOptions | AbortSignal = {}): Promise<JobOutcome<R>> {
    const { stop, leaseMs, onJobId } = options instanceof AbortSignal ? { stop: options, leaseMs: undefined, onJobId: undefined } : options;
    const store = this.store;
    const lease = newLease(leaseMs ?? Math.max(deadline - Date.now(), 1));
    const delivery = new Delivery(message, deadline, lease, store);
    const watchers = stop ? this.watchStop(stop, delivery) : undefined;
    if (store && leaseMs !== undefined) delivery.renew(store);
    try {
      const { jobId, job } = await parseJob(message, this.definition.options);
      delivery.named(jobId);
      onJobId?.(jobId);
      const context = new DeliveryContext(jobId, message.messageId, message.receiveCount, deadline, delivery, (writes) => this.commit(lease, writes));
      const result = store
        ? await store.within(lease, () => this.idempotentRun(jobId, job, lease, context))
        : await this.execute(job, context);
      return { ok: true, result };
    } catch (error) {
      const malformed = error instanceof MalformedJobError;
      if (error instanceof Error && error.name === 'IdempotencyAlreadyInProgressError') {
        const heldElsewhereForMs = lease.heldElsewhereUntil === undefined ? undefined : Math.max(lease.heldElsewhereUntil - Date.now(), 0);
        delivery.logger().warn('another delivery of this job holds its in-progress record; this one is retried once that lease ends', { ...errorFields(error), heldElsewhereForMs });
        return { ok: false, error, malformed, heldElsewhereForMs };
      }
      delivery.logger().error(
        malformed ? 'malformed job: it fails on every delivery and moves to the dead-letter queue after maxReceiveCount' : 'job failed; it will be retried',
        errorFields(error),
      );
      return { ok: false, error, malformed };
    } finally {
      delivery.settle();
      watchers?.delete(delivery);
    }
  }

  /** Running deliveries by stop signal: one listener on each signal, however many jobs run. */
  private readonly stopWatchers = new WeakMap<AbortSignal, Set<Delivery>>();

  /**
   * Stops `delivery` once when `stop` aborts (not when it already has: as addEventListener, which
   * does not call a listener added after the abort); returns the set to take it out of when it settles.
   */
  private watchStop(stop: AbortSignal, delivery: Delivery): Set<Delivery> | undefined {
    let watchers = this.stopWatchers.get(stop);
    if (!watchers) {
      const fresh = new Set<Delivery>();
      watchers = fresh;
      this.stopWatchers.set(stop, fresh);
      stop.addEventListener('abort', () => {
        const now = [...fresh];
        fresh.clear();
        for (const d of now) d.stopped();
      }, { once: true });
    }
    if (stop.aborted) return undefined;
    watchers.add(delivery);
    return watchers;
  }

  /**
   * One Powertools idempotent call per delivery, with its own config: a config holds the
   * invocation's context (its remaining time), so one shared by concurrent jobs would mix them.
   */
  private idempotentRun(jobId: string, job: T, lease: JobLease, context: JobContext): Promise<R> {
    const lambdaLike = { getRemainingTimeInMillis: () => lease.leaseMs };
    const run = (envelope: Envelope<T>, _lambdaLike: unknown) => this.execute(envelope.job, context);
    const idempotent = makeIdempotent(run, {
      persistenceStore: this.store!,
      keyPrefix: KEY_PREFIX,
      config: new IdempotencyConfig({
        eventKeyJmesPath: 'jobId',
        // Two different jobs sent with the same id fail loudly instead of one being skipped.
        payloadValidationJmesPath: 'check',
        expiresAfterSeconds: this.idempotency!.ttlSeconds,
        throwOnNoIdempotencyKey: true,
        lambdaContext: lambdaLike as never,
      }),
    });
    return idempotent({ jobId, job, check: this.definition.options.jobIdFrom ? jobId : job }, lambdaLike);
  }

  private async commit(lease: JobLease, writes: readonly TransactWriteItem[]): Promise<CommitOutcome> {
    if (this.store) return this.store.commit(lease, writes);
    // Without idempotency there is no completion record to commit with: the writes alone.
    if (writes.length === 0) return 'committed';
    this.commitClient ??= new DynamoDBClient({});
    await this.commitClient.send(new TransactWriteItemsCommand({ TransactItems: [...writes] }));
    return 'committed';
  }
}
