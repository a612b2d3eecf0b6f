/** The public shapes of a running worker: its events, its stats and what a stop reports. */
import type { SqsRequestError, SqsRequestKind, WorkerFatalError } from './errors';

/** A job that ended. */
export interface JobEvent {
  /** The SQS message id of the delivery. */
  readonly messageId: string;
  /** The job's id, once its message was parsed (undefined for a message that is not a job). */
  readonly jobId?: string;
  /** 1 on the first delivery, then 2, 3, ... */
  readonly attempt: number;
  /** How long the job ran, in ms. */
  readonly durationMs: number;
}

/** A job that failed: its message is not deleted and comes back after its visibility timeout. */
export interface JobFailedEvent extends JobEvent {
  readonly error: unknown;
  /** True when the message can never become a job (bad JSON, schema, id): it will end in the DLQ. */
  readonly malformed: boolean;
}

/** What {@link Worker.stop} reports. */
export interface StopReport {
  /** Jobs that were running when the stop began and finished within its bound. */
  readonly finished: number;
  /** Jobs still running at the bound: made visible again (or left to time out) for another worker. */
  readonly released: number;
  /** True when nothing had to be released. */
  readonly clean: boolean;
  /** How long the stop took, in ms. */
  readonly durationMs: number;
  /** Set when the worker stopped itself because it could not go on (see the `fatal` event). */
  readonly error?: WorkerFatalError;
}

/** The agent's event loop was held: its timers (heartbeats, lease renewals) fired late by as much. */
export interface EventLoopBlockedEvent {
  /** How long the loop was held, in ms. */
  readonly blockedMs: number;
  /**
   * The jobs whose handlers ran on the agent's event loop meanwhile (ids, or message ids before
   * a job's id is known): the likely culprits. Empty with job threads, where no handler runs on it.
   */
  readonly jobIds: readonly string[];
}

/** The events of a worker, and their arguments. */
export interface WorkerEvents {
  /** A job succeeded; its message is queued for deletion. */
  readonly jobSucceeded: [event: JobEvent];
  /** A job failed or was malformed. */
  readonly jobFailed: [event: JobFailedEvent];
  /** A job ran past jobTimeoutSeconds: its signal aborted and heartbeats stopped, so its message comes back. */
  readonly jobTimedOut: [event: JobEvent];
  /**
   * A timed-out job still had not settled after hungJobGraceSeconds: its slot was freed (the
   * worker may go idle and its instance be scaled in) and its outcome will be ignored.
   */
  readonly jobAbandoned: [event: JobEvent];
  /**
   * The agent's event loop was held for a second or more (logged too): a handler computing on
   * it, without job threads, delays the heartbeats that keep its own message hidden.
   */
  readonly eventLoopBlocked: [event: EventLoopBlockedEvent];
  /** The worker cannot go on (too many hung jobs, or a permanent SQS error) and is stopping itself. */
  readonly fatal: [error: WorkerFatalError];
  /** The worker went from no jobs to some. */
  readonly busy: [];
  /** The worker went from some jobs to none. */
  readonly idle: [];
  /** An SQS request failed after the SDK's retries; the worker backs off and carries on. */
  readonly sqsError: [error: SqsRequestError];
  /** `stop()` was called: no more receives. */
  readonly stopping: [];
  /** The worker has stopped. */
  readonly stopped: [report: StopReport];
}

/** Counters of a worker since it started. */
export interface WorkerStats {
  /** Jobs that succeeded. */
  readonly jobsSucceeded: number;
  /** Jobs that failed, malformed ones included. */
  readonly jobsFailed: number;
  /** Of the failed jobs, those that can never succeed (bad JSON, schema, job id). */
  readonly jobsMalformed: number;
  /** Jobs that ran past jobTimeoutSeconds. */
  readonly jobsTimedOut: number;
  /** Timed-out jobs that did not settle within hungJobGraceSeconds, whose slots were freed. */
  readonly jobsAbandoned: number;
  /** Abandoned jobs still running now (their handlers never settled). */
  readonly hung: number;
  /** Jobs released at a stop's bound, and messages a late long poll returned while stopping. */
  readonly jobsReleased: number;
  /**
   * Failed jobs whose idempotency record said "in progress" (a duplicate running elsewhere, or a
   * worker that died): hidden until that record expires instead of for one visibility timeout.
   */
  readonly jobsPostponed: number;
  /** Jobs running now. */
  readonly inFlight: number;
  /** Messages received. */
  readonly messagesReceived: number;
  /** Messages deleted. */
  readonly messagesDeleted: number;
  /**
   * Deletes given up on: the receipt handle was no longer valid (the message came back to the
   * queue), or a stop's bound passed; the message comes back after its visibility timeout.
   * Throttled or failed deletes are retried, not counted here.
   */
  readonly deletesFailed: number;
  /** SQS requests sent, by kind. */
  readonly requests: Readonly<Record<SqsRequestKind, number>>;
  /** SQS requests that failed after the SDK's retries. */
  readonly sqsErrors: number;
  /** Times the agent's event loop was held for a second or more (see the `eventLoopBlocked` event). */
  readonly eventLoopBlocks: number;
  /** The longest the agent's event loop was held, in ms, since the worker started. */
  readonly eventLoopDelayMaxMs: number;
  /** Job threads started to replace ones that ended (a crash, or a hung job's thread ended). 0 without job threads. */
  readonly jobThreadRestarts: number;
}

/** A running worker. */
export interface Worker {
  /** Counters since it started (a snapshot). */
  readonly stats: WorkerStats;
  /** True until `stop()` is called. */
  readonly running: boolean;
  /** Resolves with the stop report once the worker has stopped. */
  readonly stopped: Promise<StopReport>;
  /**
   * Stops receiving, lets running jobs (and a long poll already waiting) finish for up to
   * `timeoutSeconds`, then releases the jobs still running; flushes pending deletes. Calling it again returns the same promise, with the
   * bound shortened if the new one is sooner.
   *
   * @param timeoutSeconds @default - the worker's stopTimeoutSeconds
   */
  stop(timeoutSeconds?: number): Promise<StopReport>;
  on<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): this;
  once<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): this;
  off<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): this;
}
