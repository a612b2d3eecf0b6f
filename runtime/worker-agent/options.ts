/**
 * The options of startWorker, each with its default, and their validation: defaults are
 * resolved once, every check is a row of a table so that a check and its message cannot
 * drift apart, and all problems are reported together.
 */
import { existsSync } from 'fs';
import { availableParallelism } from 'os';
import { SQSClient } from '@aws-sdk/client-sqs';
import { isJobHandler, type JobHandler } from '../jobs/define-job-handler';
import { idempotencyFromEnv, type IdempotencySettings } from '../jobs/job-runner';
import { createLogger } from '../jobs/logger';
import type { JobLogger } from '../jobs/types';
import { WorkerOptionsError } from './errors';

/** SQS's limits, which bound several options. */
export const SQS_MAX_BATCH = 10;
export const SQS_MAX_WAIT_SECONDS = 20;
/** SQS never keeps a message hidden for more than 12 hours after it was received. */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/** The most job threads an agent starts. */
export const MAX_JOB_THREADS = 256;

/**
 * Job threads: handlers run in worker threads, off the agent's event loop (see job-threads.ts).
 * Each thread runs the program again; there, `startWorker` (or `runWorkerFromEnv`) serves the
 * jobs the agent hands it and takes nothing from SQS. So the program should do little else at
 * its top level (guard other work with `isMainThread` from `worker_threads`).
 */
export interface JobThreadsOptions {
  /**
   * Threads. Each job goes to the thread running the fewest; a thread runs several jobs at once
   * when concurrency is higher (they share its CPU, as jobs share the agent's thread without threads).
   *
   * @default - one per CPU (`os.availableParallelism()`)
   */
  readonly count?: number;
  /**
   * The program file each thread runs: the one that starts the worker with this handler.
   *
   * @default - this program's entry (`process.argv[1]`)
   */
  readonly entry?: string;
}

/** Options of {@link startWorker}. */
export interface WorkerOptions<T = unknown, R = unknown> {
  /** URL of the work queue. */
  readonly queueUrl: string;

  /**
   * The job handler: what `defineJobHandler` returns, the same module a LambdaWorker runs.
   */
  readonly handler: JobHandler<T, R>;

  /**
   * Jobs run at once. Slots are refilled as jobs end, not a batch at a time. Use about one per
   * core for CPU-bound jobs, and tens to hundreds for jobs that mostly wait on I/O.
   *
   * @default 10
   */
  readonly concurrency?: number;

  /**
   * The SQS client.
   *
   * @default - a client from the environment's settings (AWS_REGION, AWS_ENDPOINT_URL locally)
   */
  readonly sqs?: SQSClient;

  /**
   * How long a received message stays hidden from other workers, in seconds. The agent asks for
   * it on every receive (so the queue's own setting does not matter to it) and extends it with
   * heartbeats while a job runs; if the agent dies, its jobs come back after at most this long.
   *
   * @default 30
   */
  readonly visibilityTimeoutSeconds?: number;

  /**
   * The longest a job may run, in seconds. At that point its `signal` aborts and heartbeats stop,
   * so that its message comes back and is retried (or dead-lettered) as a failed one. With
   * idempotency on, it is also how long a job's in-progress record blocks a duplicate.
   *
   * @default 900 (Lambda's limit: a handler that fits a LambdaWorker fits here)
   */
  readonly jobTimeoutSeconds?: number;

  /**
   * How long past jobTimeoutSeconds a job whose handler ignores its aborted `signal` is still
   * counted as running, in seconds. Then its slot is freed and it no longer keeps the instance
   * protected from scale-in; its outcome, if it ever settles, is ignored. With job threads, its
   * thread is ended then (its other jobs fail and come back) and a new one started.
   *
   * @default 10
   */
  readonly hungJobGraceSeconds?: number;

  /**
   * How many abandoned jobs (see hungJobGraceSeconds) may still be running before the worker
   * stops itself with a `fatal` error (the worker program then exits 1 for systemd to restart a
   * clean process): hung handlers hold memory, sockets and CPU that the process cannot reclaim.
   * A hung job in a job thread does not count: its thread is ended, which stops it.
   *
   * @default - half the slots, at least 1
   */
  readonly maxHungJobs?: number;

  /**
   * The long-poll wait of a receive, in seconds. 20 (SQS's maximum) keeps an idle agent at three
   * requests a minute.
   *
   * @default 20
   */
  readonly waitTimeSeconds?: number;

  /**
   * Receive requests in flight at once while the queue has a backlog. One poller always runs;
   * another starts each time a receive comes back full, and retires when a receive comes back
   * empty, so an idle agent makes one long poll at a time.
   *
   * @default - ceil(concurrency / 10), at most 10
   */
  readonly maxPollers?: number;

  /**
   * How long a finished job's delete waits for others to share a DeleteMessageBatch, in ms.
   * A batch is sent as soon as it holds 10.
   *
   * @default 100
   */
  readonly deleteBatchWindowMs?: number;

  /**
   * How long a free slot waits for others to free before a receive fills them together, in ms.
   * A receive goes at once when it can ask for a full batch (10, or every slot when there are
   * fewer); otherwise it waits up to this long for more slots. Fewer, fuller receives cost
   * each slot at most this much idle time; 0 receives for every slot as it frees.
   *
   * @default 100
   */
  readonly receiveBatchWindowMs?: number;

  /**
   * Idempotency: finished jobs are remembered in a DynamoDB table and a duplicate is skipped.
   * `false` turns it off whatever the environment says.
   *
   * @default - from the environment (CLOUD_PATTERNS_IDEMPOTENCY_TABLE), off when it is unset
   */
  readonly idempotency?: IdempotencySettings | false;

  /**
   * First delay after a failed SQS request, in ms; it doubles (with jitter) on each failure
   * in a row, up to `backoffMaxMs`.
   *
   * @default 100
   */
  readonly backoffBaseMs?: number;

  /**
   * Longest delay between retries of a failing SQS request, in ms.
   *
   * @default 20000 (an agent facing a broken queue makes about as many requests as an idle one)
   */
  readonly backoffMaxMs?: number;

  /**
   * How long `stop()` lets running jobs finish, in seconds, before it releases them (visibility 0,
   * so another worker takes them at once) and aborts their `signal`. A stop also waits, within
   * this bound, for a long poll already in flight (up to waitTimeSeconds) rather than cancel it,
   * because SQS may hand messages to a cancelled poll and hide them for a visibility timeout.
   *
   * @default 30 (below systemd's default TimeoutStopSec of 90 s)
   */
  readonly stopTimeoutSeconds?: number;

  /**
   * Runs handlers in worker threads, off the agent's event loop, so that a handler that computes
   * (or blocks) cannot delay the heartbeats and lease renewals of any job, and jobs compute on
   * several CPUs at once. The worker program (`runWorkerFromEnv`, what FleetWorker runs) turns
   * them on by default (CLOUD_PATTERNS_JOB_THREADS). Results and the job cross threads as copies:
   * plain data only.
   *
   * @default - none: handlers run on the agent's event loop (a handler that blocks it is reported: `eventLoopBlocked`)
   */
  readonly jobThreads?: JobThreadsOptions;

  /**
   * Where the agent's own log lines go (jobs log through their context).
   *
   * @default - JSON lines on stdout/stderr
   */
  readonly logger?: JobLogger;
}

/** Options with every default applied. */
export interface ResolvedWorkerOptions<T, R> {
  readonly queueUrl: string;
  readonly handler: JobHandler<T, R>;
  readonly concurrency: number;
  readonly sqs: SQSClient;
  readonly ownsSqsClient: boolean;
  readonly visibilityTimeoutSeconds: number;
  readonly jobTimeoutSeconds: number;
  readonly waitTimeSeconds: number;
  readonly maxPollers: number;
  readonly deleteBatchWindowMs: number;
  readonly receiveBatchWindowMs: number;
  readonly idempotency: IdempotencySettings | undefined;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly stopTimeoutSeconds: number;
  readonly hungJobGraceSeconds: number;
  readonly maxHungJobs: number;
  readonly logger: JobLogger;
  /** Job threads, when on. */
  readonly jobThreads?: { readonly count: number; readonly entry: string };
  /** Free slots a receive waits for, so that receives stay full without idling many slots. */
  readonly receiveThreshold: number;
}

const isWhole = (v: number, min: number, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(v) && v >= min && v <= max;
const isNumber = (v: number, min: number) => typeof v === 'number' && Number.isFinite(v) && v >= min;

/** Applies defaults and checks every option; throws WorkerOptionsError listing all problems. */
export function resolveWorkerOptions<T, R>(options: WorkerOptions<T, R>): ResolvedWorkerOptions<T, R> {
  if (options === null || typeof options !== 'object') {
    throw new WorkerOptionsError([`the options must be an object { queueUrl, handler, ... }, received ${String(options)}.`]);
  }
  const concurrency = options.concurrency ?? 10;
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 30;
  const jobTimeoutSeconds = options.jobTimeoutSeconds ?? 900;
  const waitTimeSeconds = options.waitTimeSeconds ?? SQS_MAX_WAIT_SECONDS;
  const maxPollers = options.maxPollers ?? (isWhole(concurrency, 1) ? Math.min(10, Math.ceil(concurrency / SQS_MAX_BATCH)) : 1);
  const deleteBatchWindowMs = options.deleteBatchWindowMs ?? 100;
  const receiveBatchWindowMs = options.receiveBatchWindowMs ?? 100;
  const backoffBaseMs = options.backoffBaseMs ?? 100;
  const backoffMaxMs = options.backoffMaxMs ?? 20_000;
  const stopTimeoutSeconds = options.stopTimeoutSeconds ?? 30;
  const hungJobGraceSeconds = options.hungJobGraceSeconds ?? 10;
  const maxHungJobs = options.maxHungJobs ?? (isWhole(concurrency, 1) ? Math.max(1, Math.floor(concurrency / 2)) : 1);
  const threads = options.jobThreads;
  const threadCount = threads?.count ?? availableParallelism();
  const threadEntry = threads?.entry ?? process.argv[1];

  const rows: { readonly bad: boolean; readonly message: string }[] = [
    { bad: typeof options.queueUrl !== 'string' || options.queueUrl.length === 0, message: `queueUrl must be the URL of an SQS queue, received ${JSON.stringify(options.queueUrl)}.` },
    {
      bad: !isJobHandler(options.handler),
      message: `handler must be what defineJobHandler(...) returns (the module a LambdaWorker runs), received ${describe(options.handler)}. Wrap your function: defineJobHandler(async (job, context) => { ... }).`,
    },
    { bad: !isWhole(concurrency, 1, 10_000), message: `concurrency must be a whole number from 1 to 10000, received ${concurrency}.` },
    {
      bad: !isWhole(visibilityTimeoutSeconds, 1, SQS_MAX_VISIBILITY_SECONDS),
      message: `visibilityTimeoutSeconds must be a whole number of seconds from 1 to ${SQS_MAX_VISIBILITY_SECONDS} (SQS's limit), received ${visibilityTimeoutSeconds}.`,
    },
    {
      bad: !isWhole(jobTimeoutSeconds, 1, SQS_MAX_VISIBILITY_SECONDS),
      message: `jobTimeoutSeconds must be a whole number of seconds from 1 to ${SQS_MAX_VISIBILITY_SECONDS} (SQS hides a message for 12 hours at most), received ${jobTimeoutSeconds}.`,
    },
    { bad: !isWhole(waitTimeSeconds, 0, SQS_MAX_WAIT_SECONDS), message: `waitTimeSeconds must be a whole number from 0 to 20 (SQS's limit), received ${waitTimeSeconds}.` },
    { bad: !isWhole(maxPollers, 1, 100), message: `maxPollers must be a whole number from 1 to 100, received ${maxPollers}.` },
    { bad: !isNumber(deleteBatchWindowMs, 0), message: `deleteBatchWindowMs must be a number of milliseconds, 0 or more, received ${deleteBatchWindowMs}.` },
    { bad: !isNumber(receiveBatchWindowMs, 0), message: `receiveBatchWindowMs must be a number of milliseconds, 0 or more, received ${receiveBatchWindowMs}.` },
    { bad: !isNumber(backoffBaseMs, 1), message: `backoffBaseMs must be a number of milliseconds, 1 or more, received ${backoffBaseMs}.` },
    { bad: !isNumber(backoffMaxMs, 1) || backoffMaxMs < backoffBaseMs, message: `backoffMaxMs must be at least backoffBaseMs (${backoffBaseMs}), received ${backoffMaxMs}.` },
    { bad: !isNumber(stopTimeoutSeconds, 0), message: `stopTimeoutSeconds must be a number of seconds, 0 or more, received ${stopTimeoutSeconds}.` },
    { bad: !isNumber(hungJobGraceSeconds, 0), message: `hungJobGraceSeconds must be a number of seconds, 0 or more, received ${hungJobGraceSeconds}.` },
    { bad: !isWhole(maxHungJobs, 1), message: `maxHungJobs must be a whole number, 1 or more, received ${maxHungJobs}.` },
    {
      bad: threads !== undefined && !isWhole(threadCount, 1, MAX_JOB_THREADS),
      message: `jobThreads.count must be a whole number from 1 to ${MAX_JOB_THREADS}, received ${threadCount}. Leave it out for one thread per CPU, or leave jobThreads out to run handlers on the agent's event loop.`,
    },
    {
      bad: threads !== undefined && (typeof threadEntry !== 'string' || !existsSync(threadEntry)),
      message: `jobThreads.entry must be the file of the program that starts this worker (each job thread runs it), received ${JSON.stringify(threadEntry)}${typeof threadEntry === 'string' ? ' (no such file)' : ''}.`,
    },
  ];
  const problems = rows.filter((r) => r.bad).map((r) => r.message);
  if (problems.length > 0) throw new WorkerOptionsError(problems);

  return {
    queueUrl: options.queueUrl,
    handler: options.handler,
    concurrency,
    sqs: options.sqs ?? new SQSClient({}),
    ownsSqsClient: options.sqs === undefined,
    visibilityTimeoutSeconds,
    jobTimeoutSeconds,
    waitTimeSeconds,
    maxPollers,
    deleteBatchWindowMs,
    receiveBatchWindowMs,
    idempotency: options.idempotency === false ? undefined : (options.idempotency ?? idempotencyFromEnv()),
    backoffBaseMs,
    backoffMaxMs,
    stopTimeoutSeconds,
    hungJobGraceSeconds,
    maxHungJobs,
    logger: options.logger ?? createLogger({ component: 'worker-agent' }),
    ...(threads ? { jobThreads: { count: threadCount, entry: threadEntry! } } : {}),
    // At most a tenth of the slots wait idle for a full batch of 10: full receives (fewer
    // requests per job) at large concurrency, and no waiting at all at concurrency 10 or less.
    receiveThreshold: Math.min(SQS_MAX_BATCH, Math.max(1, Math.floor(concurrency / 10))),
  };
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `a plain function (${value.name || 'anonymous'})`;
  if (value === null) return 'null';
  return typeof value;
}
