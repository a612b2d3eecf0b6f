/**
 * Job threads: the agent runs its handlers in worker threads, off its own event loop, so that a
 * handler that computes (a render tile, an image resize) cannot hold up the heartbeats that keep
 * its message hidden, nor the renewals of its lease; and so that `concurrency: 2` on a 2-vCPU
 * instance computes two jobs at once instead of one after the other on one thread.
 *
 * The agent keeps everything but the user's function: receiving, heartbeats, idempotency and the
 * lease, `commit`, deletes. A thread gets the parsed job and a context whose `commit` asks the
 * agent to commit (with the lease the agent holds) and whose `signal` the agent aborts.
 *
 * How a thread finds the handler: it runs the agent's own program again (the cluster module's
 * model). There, `runWorkerFromEnv(handler)` or `startWorker({ handler, ... })` sees that it runs
 * in a job thread and serves the jobs the agent hands it instead of polling SQS. A FleetWorker
 * program is one bundled file whose entry is just `runWorkerFromEnv(handler)`, so nothing else
 * runs twice; the same handler module still runs unchanged in Lambda.
 */
import { threadId, Worker as Thread, isMainThread, parentPort, workerData } from 'worker_threads';
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { JobHandler } from '../jobs/define-job-handler';
import { JobLeaseLostError } from '../jobs/job-record-store';
import { createLogger, errorFields } from '../jobs/logger';
import type { JobContext, JobLogger } from '../jobs/types';
import type { StopReport, Worker, WorkerStats } from './types';

/** The mark in a job thread's workerData. */
const THREAD_MARK = 'cdkCloudPatternsJobThread';

/** How long a new thread may take to load the program and call runWorkerFromEnv/startWorker. */
const READY_TIMEOUT_MS = 30_000;

/** Threads in a row that die (or never get ready) before serving a job: the pool gives up. */
const START_FAILURES_TO_GIVE_UP = 3;

/** True in a thread the agent started to run jobs in. */
export function isJobThread(): boolean {
  return !isMainThread && parentPort !== null && (workerData as Record<string, unknown> | null)?.[THREAD_MARK] === true;
}

/** An error as it crosses between threads: its name, message and stack, and its own cloneable fields (`CancellationReasons`, `$metadata`...). */
interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly fields?: Record<string, unknown>;
}

type ToThread =
  | { readonly type: 'run'; readonly id: number; readonly job: unknown; readonly context: ThreadJobContext }
  | { readonly type: 'abort'; readonly id: number; readonly reason: SerializedError }
  | { readonly type: 'committed'; readonly callId: number; readonly ok: true; readonly value: 'committed' | 'alreadyCompleted' }
  | { readonly type: 'committed'; readonly callId: number; readonly ok: false; readonly error: SerializedError };

type FromThread =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'done'; readonly id: number; readonly ok: false; readonly error: SerializedError }
  | { readonly type: 'commit'; readonly id: number; readonly callId: number; readonly writes: readonly TransactWriteItem[] };

/** The plain part of a job's context (the rest is rebuilt in the thread). */
interface ThreadJobContext {
  readonly jobId: string;
  readonly messageId: string;
  readonly attempt: number;
  readonly deadline: number;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: typeof error === 'object' && error !== null ? 'Error' : typeof error, message: String(error) };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    try {
      fields[key] = structuredClone(value);
    } catch {
      // not cloneable (a response stream, a function): left out
    }
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

export function reviveError(serialized: SerializedError): Error {
  // The runtime's own error keeps its class, so `instanceof JobLeaseLostError` holds in a thread too.
  const error = serialized.name === 'JobLeaseLostError' ? new JobLeaseLostError(serialized.message) : new Error(serialized.message);
  if (error.name !== serialized.name) Object.defineProperty(error, 'name', { value: serialized.name, configurable: true, writable: true, enumerable: false });
  if (serialized.stack) error.stack = serialized.stack;
  return Object.assign(error, serialized.fields);
}

// --- The agent's side ---

/** Options of a {@link JobThreadPool}. */
export interface JobThreadPoolOptions {
  /** The program the threads run (see the file's comment). */
  readonly entry: string;
  readonly count: number;
  readonly logger: JobLogger;
  /** Called once when threads keep dying before they serve a job: the agent cannot run jobs. */
  readonly onBroken: (error: Error) => void;
}

interface PendingJob {
  readonly id: number;
  readonly messageId: string;
  readonly context: JobContext;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly onAbort: () => void;
  /** Posted to its thread: an abort goes there only after the job (a thread drops an abort for a job it does not know). */
  handed: boolean;
}

interface Slot {
  readonly index: number;
  thread: Thread;
  ready: boolean;
  /** Jobs handed to the thread (or waiting for it to be ready), by id. */
  readonly jobs: Map<number, PendingJob>;
  /** Jobs waiting for the thread to be ready. */
  queued: Array<{ job: unknown; pending: PendingJob }>;
  readyTimer?: NodeJS.Timeout;
  /** Why the thread is being ended (the reason its jobs fail with). */
  endReason?: string;
  /** The last uncaught error of the thread. */
  lastError?: Error;
}

/** Threads that run the agent's jobs; each job goes to the thread running the fewest. */
export class JobThreadPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private startFailures = 0;
  private restarts = 0;
  private closing = false;
  private broken: Error | undefined;

  constructor(private readonly o: JobThreadPoolOptions) {
    for (let i = 0; i < o.count; i++) this.slots.push(this.start(i));
  }

  /** Threads started to replace ones that died. */
  public get threadRestarts(): number {
    return this.restarts;
  }

  /** Runs the user's function for `job` in a thread; settles as the function does there. */
  public run<R>(job: unknown, context: JobContext): Promise<R> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closing) return Promise.reject(new Error('the job threads are closed: the worker stopped'));
    const slot = this.slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      // While the job waits for its thread to start, an abort waits with it: hand() passes it on.
      const onAbort = () => {
        if (pending.handed) this.post(slot, { type: 'abort', id, reason: serializeError(context.signal.reason) });
      };
      const pending: PendingJob = { id, messageId: context.messageId, context, resolve: resolve as (r: unknown) => void, reject, onAbort, handed: false };
      slot.jobs.set(id, pending);
      context.signal.addEventListener('abort', onAbort, { once: true });
      if (slot.ready) this.hand(slot, job, pending);
      else slot.queued.push({ job, pending });
    });
  }

  /**
   * Ends the thread running the job of `messageId` (a hung job: a thread, unlike the event
   * loop, can be stopped from outside). Its other jobs fail and come back for another delivery.
   * False when no thread runs it.
   */
  public terminateJob(messageId: string, why: string): boolean {
    const slot = this.slots.find((s) => [...s.jobs.values()].some((j) => j.messageId === messageId));
    if (!slot) return false;
    slot.endReason = why;
    void slot.thread.terminate();
    return true;
  }

  /** Ends every thread (jobs still running fail). */
  public async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((slot) => {
      slot.endReason ??= 'the worker stopped';
      if (slot.readyTimer) clearTimeout(slot.readyTimer);
      return slot.thread.terminate();
    }));
  }

  private start(index: number): Slot {
    const slot: Slot = { index, thread: this.spawn(), ready: false, jobs: new Map(), queued: [] };
    this.watch(slot);
    return slot;
  }

  private spawn(): Thread {
    const data = { [THREAD_MARK]: true };
    // TypeScript entries (run through a require hook such as esbuild-register, which threads
    // inherit with the process's execArgv) load through require; JavaScript ones as they are.
    return /\.[cm]?tsx?$/.test(this.o.entry)
      ? new Thread(`require(${JSON.stringify(this.o.entry)});`, { eval: true, workerData: data })
      : new Thread(this.o.entry, { workerData: data });
  }

  private watch(slot: Slot): void {
    const thread = slot.thread;
    slot.readyTimer = setTimeout(() => {
      slot.endReason = `the job thread did not start serving within ${READY_TIMEOUT_MS / 1000} s: its program (${this.o.entry}) must call runWorkerFromEnv or startWorker with the handler`;
      void thread.terminate();
    }, READY_TIMEOUT_MS);
    slot.readyTimer.unref();
    thread.on('message', (message: FromThread) => this.onMessage(slot, message));
    thread.on('error', (error) => {
      slot.lastError = error;
      this.o.logger.error('a job thread failed with an uncaught error; it is replaced', { thread: slot.index, ...errorFields(error) });
    });
    thread.once('exit', (code) => this.onExit(slot, thread, code));
  }

  private onMessage(slot: Slot, message: FromThread): void {
    if (message.type === 'ready') {
      slot.ready = true;
      this.startFailures = 0;
      if (slot.readyTimer) clearTimeout(slot.readyTimer);
      const queued = slot.queued;
      slot.queued = [];
      for (const { job, pending } of queued) this.hand(slot, job, pending);
      return;
    }
    const pending = slot.jobs.get(message.id);
    if (!pending) return;
    if (message.type === 'commit') {
      pending.context.commit(message.writes).then(
        (value) => this.post(slot, { type: 'committed', callId: message.callId, ok: true, value }),
        (error: unknown) => this.post(slot, { type: 'committed', callId: message.callId, ok: false, error: serializeError(error) }),
      );
      return;
    }
    this.settle(slot, pending);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(reviveError(message.error));
  }

  private hand(slot: Slot, job: unknown, pending: PendingJob): void {
    const { jobId, messageId, attempt, deadline } = pending.context;
    try {
      slot.thread.postMessage({ type: 'run', id: pending.id, job, context: { jobId, messageId, attempt, deadline } } satisfies ToThread);
    } catch (error) {
      this.settle(slot, pending);
      pending.reject(new Error(`the job cannot be handed to a job thread (${(error as Error).message}): a job thread gets a copy of the job, so the schema's output must be plain data`));
      return;
    }
    pending.handed = true;
    // Aborted before it got here (its deadline passed while the thread started, or before run()
    // was called): the abort follows the job, on the same port, so the thread sees it after it.
    if (pending.context.signal.aborted) this.post(slot, { type: 'abort', id: pending.id, reason: serializeError(pending.context.signal.reason) });
  }

  private settle(slot: Slot, pending: PendingJob): void {
    slot.jobs.delete(pending.id);
    pending.context.signal.removeEventListener('abort', pending.onAbort);
  }

  private post(slot: Slot, message: ToThread): void {
    try {
      slot.thread.postMessage(message);
    } catch (error) {
      this.o.logger.warn('could not pass a message to a job thread', { thread: slot.index, type: message.type, ...errorFields(error) });
    }
  }

  private onExit(slot: Slot, thread: Thread, code: number): void {
    if (slot.thread !== thread) return;
    if (slot.readyTimer) clearTimeout(slot.readyTimer);
    const why = slot.endReason ?? `the job thread exited (code ${code})${slot.lastError ? `: ${slot.lastError.name}: ${slot.lastError.message}` : ''}`;
    // Jobs the thread ran fail (their messages come back); jobs still waiting for it go to its replacement.
    const waiting = new Set(slot.queued.map((q) => q.pending));
    const failed = [...slot.jobs.values()].filter((p) => !waiting.has(p));
    for (const pending of failed) {
      this.settle(slot, pending);
      pending.reject(new Error(`${why}, while it ran this job; its message comes back for another delivery`));
    }
    if (!this.closing && !slot.ready) this.startFailures += 1;
    if (!this.closing && this.startFailures >= START_FAILURES_TO_GIVE_UP) {
      this.broken = new Error(`${START_FAILURES_TO_GIVE_UP} job threads in a row ended before serving a job; the last: ${why}. Check that the program ${this.o.entry} starts the worker with its handler, or turn job threads off.`);
      this.o.logger.error('the job threads cannot start: the worker cannot run jobs', { errorMessage: this.broken.message });
      this.o.onBroken(this.broken);
    }
    if (this.closing || this.broken) {
      const error = this.broken ?? new Error('the job threads are closed: the worker stopped');
      for (const { pending } of slot.queued) {
        this.settle(slot, pending);
        pending.reject(error);
      }
      slot.queued = [];
      return;
    }
    this.restarts += 1;
    this.o.logger.warn('a job thread ended; starting another', { thread: slot.index, reason: why, failedJobs: failed.length });
    slot.thread = this.spawn();
    slot.ready = false;
    slot.endReason = undefined;
    slot.lastError = undefined;
    this.watch(slot);
  }
}

// --- The thread's side ---

/**
 * Serves, in a job thread, the jobs the agent hands it with `handler`; returns the Worker a
 * program's `startWorker` call gets there: it takes nothing from SQS, emits no events, counts
 * this thread's jobs, and stops when the agent ends the thread (or `stop()` is called).
 */
export function serveJobThread<T, R>(handler: JobHandler<T, R>): Worker {
  const port = parentPort!;
  const controllers = new Map<number, AbortController>();
  const calls = new Map<number, { resolve: (v: 'committed' | 'alreadyCompleted') => void; reject: (e: unknown) => void }>();
  let nextCall = 1;
  let running = true;
  let inFlight = 0;
  let succeeded = 0;
  let failed = 0;
  let resolveStopped!: (report: StopReport) => void;
  const stopped = new Promise<StopReport>((resolve) => { resolveStopped = resolve; });
  const idle: Array<() => void> = [];

  const commit = (id: number, writes: readonly TransactWriteItem[]) => new Promise<'committed' | 'alreadyCompleted'>((resolve, reject) => {
    const callId = nextCall++;
    calls.set(callId, { resolve, reject });
    port.postMessage({ type: 'commit', id, callId, writes: [...writes] } satisfies FromThread);
  });

  const runOne = async (id: number, job: T, plain: ThreadJobContext) => {
    const controller = new AbortController();
    controllers.set(id, controller);
    inFlight += 1;
    const context: JobContext = {
      ...plain,
      signal: controller.signal,
      log: createLogger({ jobId: plain.jobId, messageId: plain.messageId, attempt: plain.attempt, jobThread: threadId }),
      commit: (writes) => commit(id, writes),
    };
    let reply: FromThread;
    try {
      reply = { type: 'done', id, ok: true, result: await handler.definition.run(job, context) };
      succeeded += 1;
    } catch (error) {
      reply = { type: 'done', id, ok: false, error: serializeError(error) };
      failed += 1;
    } finally {
      controllers.delete(id);
      inFlight -= 1;
    }
    try {
      port.postMessage(reply);
    } catch (error) {
      port.postMessage({
        type: 'done', id, ok: false,
        error: serializeError(new Error(`the job's result cannot be passed back from its job thread (${(error as Error).message}): return plain data (what JSON can hold)`)),
      } satisfies FromThread);
    }
    if (inFlight === 0) idle.splice(0).forEach((f) => f());
  };

  port.on('message', (message: ToThread) => {
    if (message.type === 'run') void runOne(message.id, message.job as T, message.context);
    else if (message.type === 'abort') controllers.get(message.id)?.abort(reviveError(message.reason));
    else {
      const call = calls.get(message.callId);
      calls.delete(message.callId);
      if (message.ok) call?.resolve(message.value);
      else call?.reject(reviveError(message.error));
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromThread);

  const stats = (): WorkerStats => ({
    jobsSucceeded: succeeded, jobsFailed: failed, jobsMalformed: 0, jobsTimedOut: 0, jobsAbandoned: 0, hung: 0, jobsReleased: 0, jobsPostponed: 0,
    inFlight, messagesReceived: 0, messagesDeleted: 0, deletesFailed: 0, sqsErrors: 0, eventLoopBlocks: 0, eventLoopDelayMaxMs: 0, jobThreadRestarts: 0,
    requests: { ReceiveMessage: 0, DeleteMessageBatch: 0, ChangeMessageVisibilityBatch: 0 },
  });
  const worker: Worker = {
    get stats() { return stats(); },
    get running() { return running; },
    stopped,
    stop: async () => {
      if (running) {
        running = false;
        const startedAt = Date.now();
        const finished = inFlight;
        if (inFlight > 0) await new Promise<void>((resolve) => idle.push(resolve));
        port.close();
        resolveStopped({ finished, released: 0, clean: true, durationMs: Date.now() - startedAt });
      }
      return stopped;
    },
    on() { return worker; },
    once() { return worker; },
    off() { return worker; },
  };
  return worker;
}
