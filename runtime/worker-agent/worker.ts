/**
 * The worker agent: takes jobs from an SQS queue and runs them with the same JobRunner as the
 * Lambda path (same idempotency, same poison-message handling), many at a time.
 *
 * - Receives long-poll (20 s) for up to 10 messages, and only into free slots: a receive reserves
 *   the slots it asks for, so the concurrency limit always holds, and slots are refilled as jobs
 *   end rather than a batch at a time (a free slot waits up to receiveBatchWindowMs for others to
 *   free, so that one receive fills several). Extra pollers run while receives come back full.
 * - A finished job's message is deleted in a batch (deleter.ts); a failed or malformed one is left
 *   alone: it comes back after its visibility timeout and, after the queue's maxReceiveCount, goes
 *   to the dead-letter queue, exactly as on Lambda. Failed jobs are not released early on purpose:
 *   the visibility timeout is the retry delay, so a downstream outage does not burn every job's
 *   receives (and send it to the DLQ) in a tight loop.
 * - Running jobs' messages are kept hidden by heartbeats (heartbeat.ts). With job threads
 *   (job-threads.ts) handlers run off the agent's event loop, so nothing a handler does can delay
 *   them; without, a handler that holds the loop is reported (loop-monitor.ts).
 * - SQS errors are retried with exponential back-off and jitter (backoff.ts).
 * - stop() sends no more receives, lets running jobs (and long polls already waiting) finish within
 *   a bound, releases what is still running and what late polls return, and flushes deletes.
 */
import { EventEmitter, setMaxListeners } from 'events';
import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { isJobHandler } from '../jobs/define-job-handler';
import { JobRunner } from '../jobs/job-runner';
import { errorFields } from '../jobs/logger';
import { backoffDelay, sleep } from './backoff';
import { BatchDeleter } from './deleter';
import { SqsRequestError, WorkerFatalError, isPermanentSqsError, sqsErrorCode, type SqsRequestKind } from './errors';
import { VisibilityKeeper, type KeptMessage } from './heartbeat';
import { JobThreadPool, isJobThread, serveJobThread } from './job-threads';
import { EventLoopMonitor } from './loop-monitor';
import { RECEIVE_ATTRIBUTES, messageFromSqs } from './message';
import { SQS_MAX_BATCH, SQS_MAX_VISIBILITY_SECONDS, resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './options';
import { SqsSender } from './sqs-sender';
import type { JobEvent, StopReport, Worker, WorkerEvents, WorkerStats } from './types';

/**
 * Starts a worker that runs `handler` on the jobs of `queueUrl` until `stop()`.
 *
 * @example
 * import { startWorker } from '@cdk-cloud-patterns/runtime';
 * import { handler } from './resize-job'; // export const handler = defineJobHandler(...)
 *
 * const worker = startWorker({ queueUrl: process.env.JOBS_QUEUE_URL!, handler, concurrency: 50 });
 * worker.on('jobFailed', ({ messageId, malformed }) => metrics.count('failed', { malformed }));
 * process.once('SIGTERM', () => void worker.stop().then(() => process.exit(0)));
 */
export function startWorker<T, R>(options: WorkerOptions<T, R>): Worker {
  // In one of an agent's job threads (which run the program again): serve the agent's jobs.
  if (isJobThread() && isJobHandler(options?.handler)) return serveJobThread(options.handler);
  return new QueueWorker(resolveWorkerOptions(options));
}

interface RunningJob {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly kept: KeptMessage;
  /** The job's id, once its message was parsed. */
  jobId?: string;
  /** Set at a stop's bound: the job's message was handed back, so its outcome must not delete it. */
  released: boolean;
  /** Set when it outlived its timeout and grace: its slot was freed and its outcome is ignored. */
  abandoned: boolean;
}

/** Past the end of another delivery's lease, to allow for clock skew between instances. */
const LEASE_MARGIN_SECONDS = 1;

/** Consecutive receives failing with a permanent error before the agent gives up (a queue just created can take a moment to appear). */
const PERMANENT_ERROR_RECEIVES = 3;

/** How long polls still waiting at a stop's bound may take to return released messages. */
const POLL_GRACE_MS = 250;

/** How long past a stop's bound deletes still failing are retried. */
const DELETE_FLUSH_GRACE_MS = 5000;

type Counters = {
  -readonly [K in Exclude<keyof WorkerStats, 'inFlight' | 'hung' | 'requests' | 'eventLoopBlocks' | 'eventLoopDelayMaxMs' | 'jobThreadRestarts'>]: number
};

class QueueWorker<T, R> implements Worker {
  private readonly events = new EventEmitter();
  private readonly runner: JobRunner<T, R>;
  private readonly sender: SqsSender;
  private readonly deleter: BatchDeleter;
  private readonly keeper: VisibilityKeeper;
  /** The job threads handlers run in, when on. */
  private readonly pool?: JobThreadPool;
  private readonly loopMonitor: EventLoopMonitor;
  /** Jobs whose handlers ran on the event loop since the monitor last looked (the suspects of a block). */
  private readonly onLoopSinceCheck = new Set<RunningJob>();
  private readonly inFlight = new Set<RunningJob>();
  /** Jobs that outlived their timeout and grace and still have not settled. */
  private readonly hung = new Set<RunningJob>();
  private fatal: WorkerFatalError | undefined;
  private readonly pollers = new Set<Promise<void>>();
  /** Slots promised to receives in flight. */
  private reserved = 0;
  private isRunning = true;
  /** Aborted when stop() is called: ends back-off sleeps. */
  private readonly stopAbort = new AbortController();
  /** Aborted at a stop's bound: cancels long polls still waiting. */
  private readonly pollAbort = new AbortController();
  /** Aborts running jobs' signals at a stop's bound. */
  private readonly jobsAbort = new AbortController();
  /** When a slot first stood free while a receive waited for more (receiveBatchWindowMs). */
  private slotFreeSince?: number;
  /** Called, and cleared, whenever a slot frees up or the stop's bound moves. */
  private wakers: (() => void)[] = [];
  private stopping: Promise<StopReport> | undefined;
  private stopBoundAt = Infinity;
  private resolveStopped!: (report: StopReport) => void;
  private readonly counters: Counters = {
    jobsSucceeded: 0, jobsFailed: 0, jobsMalformed: 0, jobsTimedOut: 0, jobsAbandoned: 0, jobsReleased: 0, jobsPostponed: 0,
    messagesReceived: 0, messagesDeleted: 0, deletesFailed: 0, sqsErrors: 0,
  };
  public readonly stopped: Promise<StopReport>;

  constructor(private readonly o: ResolvedWorkerOptions<T, R>) {
    this.stopped = new Promise((resolve) => { this.resolveStopped = resolve; });
    if (o.jobThreads) {
      this.pool = new JobThreadPool({
        ...o.jobThreads,
        logger: o.logger,
        onBroken: (error) => this.fail(new WorkerFatalError(`the worker's job threads cannot run jobs: ${error.message}`, 'jobThreads', error)),
      });
      const pool = this.pool;
      this.runner = new JobRunner(o.handler.definition, o.idempotency, (job, context) => pool.run<R>(job, context));
    } else {
      this.runner = new JobRunner(o.handler.definition, o.idempotency);
    }
    this.loopMonitor = new EventLoopMonitor((blockedMs) => this.reportBlockedLoop(blockedMs));
    this.sender = new SqsSender(o.sqs);
    // Every running job listens to this one signal.
    setMaxListeners(o.concurrency + 10, this.jobsAbort.signal);
    this.deleter = new BatchDeleter({
      sender: this.sender,
      queueUrl: o.queueUrl,
      windowMs: o.deleteBatchWindowMs,
      backoffBaseMs: o.backoffBaseMs,
      backoffMaxMs: o.backoffMaxMs,
      logger: o.logger,
      onDeleted: (n) => { this.counters.messagesDeleted += n; },
      onGivenUp: (n) => { this.counters.deletesFailed += n; },
      onError: (error) => this.reportSqsError('DeleteMessageBatch', error),
    });
    this.keeper = new VisibilityKeeper({
      sender: this.sender,
      queueUrl: o.queueUrl,
      visibilityTimeoutSeconds: o.visibilityTimeoutSeconds,
      logger: o.logger,
      onError: (error) => this.reportSqsError('ChangeMessageVisibilityBatch', error),
    });
    o.logger.info('worker started', {
      queueUrl: o.queueUrl,
      concurrency: o.concurrency,
      visibilityTimeoutSeconds: o.visibilityTimeoutSeconds,
      jobTimeoutSeconds: o.jobTimeoutSeconds,
      idempotent: this.runner.isIdempotent,
      jobThreads: o.jobThreads?.count ?? 0,
    });
    this.startPoller(true);
  }

  public get running(): boolean {
    return this.isRunning;
  }

  public get stats(): WorkerStats {
    return {
      ...this.counters,
      inFlight: this.inFlight.size,
      hung: this.hung.size,
      requests: { ...this.sender.counts },
      eventLoopBlocks: this.loopMonitor.blockCount,
      eventLoopDelayMaxMs: this.loopMonitor.maxDelayMs,
      jobThreadRestarts: this.pool?.threadRestarts ?? 0,
    };
  }

  public on<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): this {
    this.events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  public once<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): this {
    this.events.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  public off<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): this {
    this.events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  public stop(timeoutSeconds: number = this.o.stopTimeoutSeconds): Promise<StopReport> {
    if (!(typeof timeoutSeconds === 'number' && timeoutSeconds >= 0)) {
      return Promise.reject(new RangeError(`stop: timeoutSeconds must be a number of seconds, 0 or more, received ${timeoutSeconds}.`));
    }
    const boundAt = Date.now() + timeoutSeconds * 1000;
    if (boundAt < this.stopBoundAt) {
      this.stopBoundAt = boundAt;
      this.wake();
    }
    if (!this.stopping) {
      this.isRunning = false;
      this.fire('stopping');
      this.stopAbort.abort();
      this.wake();
      this.stopping = this.drain();
    }
    return this.stopping;
  }

  // --- receiving ---

  private startPoller(primary: boolean): void {
    const poller: Promise<void> = this.poll(primary)
      .catch((error) => this.o.logger.error('a poller of the worker crashed', errorFields(error)))
      .finally(() => {
        this.pollers.delete(poller);
        this.wake();
      });
    this.pollers.add(poller);
  }

  private async poll(primary: boolean): Promise<void> {
    let failures = 0;
    let permanentFailures = 0;
    while (this.isRunning) {
      const free = this.o.concurrency - this.inFlight.size - this.reserved;
      if (free < this.o.receiveThreshold) {
        await this.nextWake();
        continue;
      }
      // Fewer than a full batch free: wait a little for more, so that one receive fills them.
      if (free < Math.min(SQS_MAX_BATCH, this.o.concurrency) && this.o.receiveBatchWindowMs > 0) {
        this.slotFreeSince ??= Date.now();
        const left = this.slotFreeSince + this.o.receiveBatchWindowMs - Date.now();
        if (left > 0) {
          await this.nextWake(left);
          continue;
        }
      }
      this.slotFreeSince = undefined;
      const wanted = Math.min(SQS_MAX_BATCH, free);
      this.reserved += wanted;
      // Visibility counts from when SQS hands a message out, which is after this instant.
      const sentAt = Date.now();
      let messages: Message[];
      try {
        const out = await this.sender.send('ReceiveMessage', new ReceiveMessageCommand({
          QueueUrl: this.o.queueUrl,
          MaxNumberOfMessages: wanted,
          WaitTimeSeconds: this.o.waitTimeSeconds,
          VisibilityTimeout: this.o.visibilityTimeoutSeconds,
          ...RECEIVE_ATTRIBUTES,
        }), this.pollAbort.signal);
        messages = out.Messages ?? [];
        failures = 0;
        permanentFailures = 0;
      } catch (error) {
        this.reserved -= wanted;
        if (!this.isRunning) return; // the stop's bound aborted the long poll
        failures += 1;
        this.reportSqsError('ReceiveMessage', error);
        permanentFailures = isPermanentSqsError(error) ? permanentFailures + 1 : 0;
        if (permanentFailures >= PERMANENT_ERROR_RECEIVES) {
          this.fail(new WorkerFatalError(
            `SQS refuses to serve the queue ${this.o.queueUrl}: ${sqsErrorCode(error)}: ${(error as Error).message}. ` +
              'Check the queue URL and its region, that the queue exists, and that the role may receive from it (AGENT_SQS_ACTIONS).',
            'permanentSqsError',
            error,
          ));
          return;
        }
        await sleep(backoffDelay(failures, this.o.backoffBaseMs, this.o.backoffMaxMs), this.stopAbort.signal);
        continue;
      }
      this.reserved -= wanted;
      this.counters.messagesReceived += messages.length;
      if (!this.isRunning) {
        // Received while stopping: hand them straight back.
        this.counters.jobsReleased += await this.keeper.release(messages.map((m) => ({ messageId: m.MessageId ?? '', receiptHandle: m.ReceiptHandle ?? '' })));
        return;
      }
      for (const message of messages) this.startJob(message, sentAt);
      if (messages.length === 0 && !primary) return;
      if (messages.length === SQS_MAX_BATCH && this.pollers.size < this.o.maxPollers) this.startPoller(false);
    }
  }

  // --- running jobs ---

  private startJob(message: Message, receivedAt: number): void {
    if (!message.ReceiptHandle || !message.MessageId) {
      this.o.logger.error('SQS returned a message without a receipt handle or id; skipped', { messageId: message.MessageId });
      return;
    }
    const job: RunningJob = {
      messageId: message.MessageId,
      receiptHandle: message.ReceiptHandle,
      kept: this.keeper.track(message.MessageId, message.ReceiptHandle, receivedAt),
      released: false,
      abandoned: false,
    };
    this.inFlight.add(job);
    if (!this.pool) this.onLoopSinceCheck.add(job);
    if (this.inFlight.size === 1) this.fire('busy');
    void this.runJob(job, message, receivedAt).catch((error) => this.o.logger.error('the worker failed to settle a job', errorFields(error)));
  }

  private async runJob(job: RunningJob, message: Message, receivedAt: number): Promise<void> {
    const startedAt = Date.now();
    const jobMessage = messageFromSqs(message);
    const deadline = receivedAt + this.o.jobTimeoutSeconds * 1000;
    const event = () => ({ messageId: job.messageId, jobId: job.jobId, attempt: jobMessage.receiveCount, durationMs: Date.now() - startedAt });
    // JobRunner aborts the job's signal at the deadline; the agent also stops the heartbeats, so
    // that the message of a job that ignores its signal comes back. The two timers share the
    // deadline but not an order: when the abort comes first and the job settles on it before this
    // timer runs, the job is still counted as timed out, once, when it settles (below).
    let timedOut = false;
    const onDeadline = () => {
      if (timedOut) return;
      timedOut = true;
      this.keeper.untrack(job.kept);
      this.counters.jobsTimedOut += 1;
      this.o.logger.error('job passed its timeout: its signal is aborted, and its message is no longer kept hidden and will come back', {
        jobId: job.jobId,
        messageId: job.messageId,
        jobTimeoutSeconds: this.o.jobTimeoutSeconds,
        abandonedInSeconds: this.o.hungJobGraceSeconds,
      });
      this.fireJob('jobTimedOut', event);
    };
    // One timer at a time: the deadline's, then (a handler that ignores its signal never settles)
    // the grace's, past which the job stops counting as held.
    let timer = setTimeout(() => {
      onDeadline();
      timer = setTimeout(() => this.abandon(job, event()), Math.max(deadline + this.o.hungJobGraceSeconds * 1000 - Date.now(), 0));
      timer.unref();
    }, Math.max(deadline - Date.now(), 0));
    // A job released at a stop may never settle: its timers must not keep a stopped worker's process alive.
    timer.unref();

    const outcome = await this.runner.run(jobMessage, deadline, {
      stop: this.jobsAbort.signal,
      leaseMs: this.o.visibilityTimeoutSeconds * 1000,
      onJobId: (jobId) => { job.jobId = jobId; },
    });
    clearTimeout(timer);
    if (Date.now() >= deadline) onDeadline();
    if (job.abandoned) {
      this.hung.delete(job);
      this.o.logger.warn('an abandoned job settled at last; its outcome is ignored (its message came back for another delivery)', { ...event(), ok: outcome.ok });
      return;
    }
    if (job.released) {
      this.keeper.untrack(job.kept);
      return; // counted, and handed back, at the stop's bound
    }

    if (outcome.ok) {
      // Even past its deadline: the work is done, and running it again would only be skipped.
      // The message stays hidden (heartbeats go on) until SQS confirms the delete.
      void this.deleter.delete(job.receiptHandle, job.messageId, () => !job.kept.lost).finally(() => this.keeper.untrack(job.kept));
      this.counters.jobsSucceeded += 1;
      this.finish(job);
      this.fireJob('jobSucceeded', event);
    } else {
      this.keeper.untrack(job.kept);
      this.counters.jobsFailed += 1;
      if (outcome.malformed) this.counters.jobsMalformed += 1;
      if (isInProgressElsewhere(outcome.error)) await this.postponeDuplicate(job, outcome.heldElsewhereForMs);
      this.finish(job);
      this.fireJob('jobFailed', () => ({ ...event(), error: outcome.error, malformed: outcome.malformed }));
    }
  }

  /**
   * The job outlived its timeout and grace without settling (a handler that ignores its signal):
   * its slot is freed so that the worker can go idle (and its instance be scaled in) and take
   * other jobs. Its message already came back (heartbeats stopped at the timeout) and its
   * in-progress record's lease lapsed with them, so another delivery runs it. Enough hung jobs
   * mean the process is unhealthy: the worker stops with an error, and the program exits non-zero.
   */
  private abandon(job: RunningJob, event: JobEvent): void {
    if (!this.inFlight.has(job)) return;
    job.abandoned = true;
    this.counters.jobsAbandoned += 1;
    // In a job thread a hung handler can be stopped: its thread is ended (and replaced), which
    // settles the job, so it does not count as hung. On the event loop it cannot be.
    const ended = this.pool?.terminateJob(job.messageId, `the job thread was ended to stop job ${job.jobId ?? job.messageId}, hung past its timeout`) ?? false;
    if (!ended) this.hung.add(job);
    this.o.logger.error(
      ended
        ? 'job did not settle within its timeout and grace: its job thread was ended (and is replaced; other jobs it ran fail and come back)'
        : 'job did not settle within its timeout and grace: its slot is freed and its outcome will be ignored',
      { ...event, hungJobs: this.hung.size, maxHungJobs: this.o.maxHungJobs },
    );
    this.fire('jobAbandoned', event);
    this.finish(job);
    if (this.hung.size >= this.o.maxHungJobs) {
      this.fail(new WorkerFatalError(
        `${this.hung.size} jobs ignored their signal past jobTimeoutSeconds (${this.o.jobTimeoutSeconds} s) and are still running; ` +
          `at ${this.o.maxHungJobs} the process is restarted rather than trusted. Make the handler honour context.signal.`,
        'hungJobs',
      ));
    }
  }


  /**
   * Another delivery holds the job's in-progress record: a duplicate runs elsewhere, or a worker
   * died running it and its lease (one visibility timeout, renewed while the job runs) has not
   * lapsed yet. Retrying after the usual visibility timeout could come too early and spend the
   * message's receives; so it comes back just after that lease ends (then, a live duplicate has
   * renewed it, or completed and the retry is skipped).
   */
  private async postponeDuplicate(job: RunningJob, heldElsewhereForMs: number | undefined): Promise<void> {
    const leaseSeconds = heldElsewhereForMs === undefined ? this.o.visibilityTimeoutSeconds : Math.ceil(heldElsewhereForMs / 1000);
    const seconds = Math.min(Math.max(leaseSeconds, 0) + LEASE_MARGIN_SECONDS, SQS_MAX_VISIBILITY_SECONDS);
    this.counters.jobsPostponed += await this.keeper.postpone([job], seconds);
    this.o.logger.info('job in progress elsewhere (or on a worker that died): retrying once that delivery\'s lease has ended', {
      jobId: job.jobId,
      messageId: job.messageId,
      retryInSeconds: seconds,
    });
  }

  /** Stops the worker for good: logged, reported as the `fatal` event and in the stop report. */
  private fail(error: WorkerFatalError): void {
    if (this.fatal) return;
    this.fatal = error;
    this.o.logger.error('the worker cannot go on and is stopping', { reason: error.reason, errorMessage: error.message });
    this.fire('fatal', error);
    void this.stop();
  }

  private finish(job: RunningJob): void {
    // A handler that held the loop is measured at the next tick, which may come after its job
    // ended: it stays a suspect until then.
    if (this.onLoopSinceCheck.has(job)) setTimeout(() => this.onLoopSinceCheck.delete(job), 0).unref();
    this.inFlight.delete(job);
    if (this.inFlight.size === 0) this.fire('idle');
    this.wake();
  }

  // --- stopping ---

  private async drain(): Promise<StopReport> {
    const startedAt = Date.now();
    const runningAtStop = this.inFlight.size;
    this.o.logger.info('worker stopping: no more receives; waiting for running jobs', {
      running: runningAtStop,
      boundSeconds: Math.max(0, Math.round((this.stopBoundAt - startedAt) / 1000)),
    });
    // Long polls in flight are waited for, not cancelled: SQS (and emulators) may hand messages
    // to a poll whose client has gone, hiding them for a visibility timeout. What they return
    // is released at once.
    while ((this.inFlight.size > 0 || this.pollers.size > 0) && Date.now() < this.stopBoundAt) {
      await this.nextWake(this.stopBoundAt - Date.now());
    }

    const left = [...this.inFlight];
    if (left.length > 0) {
      for (const job of left) {
        job.released = true;
        this.keeper.untrack(job.kept);
        this.inFlight.delete(job);
      }
      this.counters.jobsReleased += left.length;
      this.jobsAbort.abort(new Error('the worker is stopping'));
      const released = await this.keeper.release(left);
      this.o.logger.warn('jobs still running at the stop bound were released for another worker', { released: left.length, acknowledged: released });
      this.fire('idle');
    }
    if (this.pollers.size > 0) {
      // Released messages may land in our own polls still waiting; those return them at once and
      // release them again, so give them a moment before cancelling what is left.
      await Promise.race([Promise.all(this.pollers), sleep(POLL_GRACE_MS)]);
      if (this.pollers.size > 0) {
        this.o.logger.warn('long polls still waiting at the stop bound were cancelled; a message SQS hands to one comes back after its visibility timeout', { polls: this.pollers.size });
        this.pollAbort.abort();
      }
    }
    await Promise.all(this.pollers);
    // Deletes retried past the bound would hold up the exit: they get a short grace, then their
    // messages come back after the visibility timeout (skipped by idempotency when on).
    await this.deleter.flush(Math.max(this.stopBoundAt, Date.now()) + DELETE_FLUSH_GRACE_MS);
    this.keeper.stop();
    // Released and abandoned jobs may still run in threads: ending the threads ends them.
    await this.pool?.close();
    this.loopMonitor.tick();
    this.loopMonitor.stop();
    if (this.o.ownsSqsClient) this.o.sqs.destroy();

    const report: StopReport = {
      finished: runningAtStop - left.length,
      released: left.length,
      clean: left.length === 0,
      durationMs: Date.now() - startedAt,
      ...(this.fatal ? { error: this.fatal } : {}),
    };
    this.o.logger.info('worker stopped', { ...report, ...this.counters });
    this.fire('stopped', report);
    this.resolveStopped(report);
    return report;
  }

  // --- plumbing ---

  /** Resolves at the next freed slot, stop or bound change, or after `timeoutMs`. */
  private nextWake(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(resolve, timeoutMs);
      this.wakers.push(() => {
        if (timer) clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const w of wakers) w();
  }

  /** The event loop was held: heartbeats and lease renewals were late by as much; say which handlers ran on it. */
  private reportBlockedLoop(blockedMs: number): void {
    const suspects = [...this.onLoopSinceCheck].map((j) => j.jobId ?? j.messageId);
    this.o.logger.warn(
      this.pool
        ? 'the agent\'s event loop was held (not by a handler: they run in job threads); heartbeats and lease renewals were late'
        : 'the agent\'s event loop was held, most likely by a handler computing on it: heartbeats and lease renewals were late, and a message can come back to the queue while its job runs. Run such handlers in job threads (jobThreads; on by default in the worker program)',
      { blockedMs, jobIds: suspects.slice(0, 20), visibilityTimeoutSeconds: this.o.visibilityTimeoutSeconds },
    );
    this.fire('eventLoopBlocked', { blockedMs, jobIds: suspects });
  }

  private reportSqsError(kind: SqsRequestKind, cause: unknown): void {
    this.counters.sqsErrors += 1;
    const message = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const error = new SqsRequestError(`${kind} failed: ${message}`, kind, cause);
    this.o.logger.warn('SQS request failed; backing off', { kind, errorName: cause instanceof Error ? cause.name : typeof cause, errorMessage: message });
    this.fire('sqsError', error);
  }

  /** A job's event, its fields made only when someone listens (most workers have no listener). */
  private fireJob<E extends 'jobTimedOut' | 'jobSucceeded' | 'jobFailed'>(event: E, make: () => WorkerEvents[E][0]): void {
    if (this.events.listenerCount(event) > 0) this.fire(event, ...([make()] as WorkerEvents[E]));
  }

  /** Emits an event; a listener that throws is logged and does not break the worker. */
  private fire<E extends keyof WorkerEvents>(event: E, ...args: WorkerEvents[E]): void {
    try {
      this.events.emit(event, ...args);
    } catch (error) {
      this.o.logger.error(`a listener of the worker's "${event}" event threw`, errorFields(error));
    }
  }
}

/** JobRunner's outcome when the job's idempotency record is IN_PROGRESS (Powertools' error, matched by name as JobRunner does). */
function isInProgressElsewhere(error: unknown): boolean {
  return error instanceof Error && error.name === 'IdempotencyAlreadyInProgressError';
}
