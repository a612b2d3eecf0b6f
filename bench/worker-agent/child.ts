/**
 * One contender of the worker-agent benchmark in its own process, so that its CPU time is its
 * own. bench/worker-agent/contenders.ts bundles this file as FleetWorker bundles an agent program
 * (one ES module, the catalog's esbuild options) and forks the bundle: the parent sends a run
 * (which side at which settings, which queue, how many jobs), the child starts that consumer,
 * answers `started`, and once every job's message is deleted answers `done` with the delete
 * times, the send-to-done and send-to-delete latencies and its CPU time over the run (every
 * thread of the process).
 *
 * Each job's body says how long it takes (`ms`, simulated I/O: a timer), so the handler needs no
 * table and runs the same in a job thread. With job threads on, the agent's threads run this
 * bundle again: there `startWorker` serves the jobs the agent hands it (nothing else runs).
 *
 * Delete times are read from the SQS client's responses by one middleware, the same on every
 * side: a ReceiveMessage response maps each receipt handle to the job's send time (in its body),
 * and a DeleteMessage / DeleteMessageBatch response marks those jobs deleted. A job is done when
 * its handler returns (the handler notes it, from a job thread over a BroadcastChannel): what a
 * user waits for; the delete after it is bookkeeping, batched on purpose by both libraries.
 */
import { setTimeout as sleep } from 'timers/promises';
import { BroadcastChannel, isMainThread } from 'worker_threads';
import { SQSClient, type Message } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import { defineJobHandler, startWorker } from '../../runtime/index';

/** Who runs the jobs, at which settings. */
export type ContenderSpec =
  | {
    readonly kind: 'agent';
    /** startWorker's `concurrency`. */
    readonly concurrency: number;
    /** startWorker's `receiveBatchWindowMs`. @default - the agent's default */
    readonly receiveBatchWindowMs?: number;
    /** startWorker's `deleteBatchWindowMs`. @default - the agent's default */
    readonly deleteBatchWindowMs?: number;
    /** Job threads (startWorker's `jobThreads.count`): the worker program's default is one per CPU. @default - none (startWorker's default) */
    readonly jobThreads?: number;
  }
  | {
    readonly kind: 'sqs-consumer';
    /** Consumer instances in the process: sqs-consumer runs one batch at a time per instance. */
    readonly instances: number;
    readonly batchSize: number;
    /** handleMessageBatch (one DeleteMessageBatch per batch, after its slowest job) or handleMessage (a DeleteMessage per job, as it ends). */
    readonly batchHandler: boolean;
  };

/** A job's body: its number, how long it takes, and (in a stream) when it was sent. */
export interface JobBody { readonly n: number; readonly ms: number; readonly sentAt?: number }

/** A run the parent asks for. */
export interface RunRequest {
  readonly type: 'run';
  readonly id: number;
  readonly endpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  /** Jobs to wait for: the run ends when this many messages have been deleted. */
  readonly jobs: number;
  readonly contender: ContenderSpec;
  /** Give up after this long (the parent reports the run as failed). */
  readonly limitMs: number;
}

/** What the child answers when the run is over. */
export interface RunReport {
  readonly type: 'done';
  readonly id: number;
  /** Epoch ms when the consumer was started. */
  readonly startedAt: number;
  /** Epoch ms of each delete acknowledged by SQS, in order. */
  readonly deleteTimes: number[];
  /** Send-to-delete ms of each job whose body carried its send time. */
  readonly latenciesMs: number[];
  /** Send-to-done ms (its handler returned) of each job whose body carried its send time. */
  readonly doneLatenciesMs: number[];
  /** User + system CPU ms of this process (every thread) from start to the last delete. */
  readonly cpuMs: number;
  /** Minor page faults of this process over the same time: memory it touched fresh (on this project's VM each costs about 11 to 15 us of CPU, counted in cpuMs). */
  readonly minorFaults: number;
  readonly error?: string;
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Where a job thread tells the process's main thread that a job is done. */
const DONE_CHANNEL = 'bench-worker-agent-done';
/** Send-to-done ms of the current run (main thread). */
let doneLatencies: number[] = [];
const doneChannel = new BroadcastChannel(DONE_CHANNEL);
doneChannel.unref();
if (isMainThread) doneChannel.onmessage = (e) => { doneLatencies.push((e as unknown as { data: number }).data); };

/** Notes that a job (with a send time) is done: at once on the main thread, over the channel from a job thread. */
function noteDone(job: JobBody): void {
  if (job.sentAt === undefined) return;
  const ms = Date.now() - job.sentAt;
  if (isMainThread) doneLatencies.push(ms);
  else doneChannel.postMessage(ms);
}

/** The job handler of every side: the job waits its own duration. */
const handler = defineJobHandler(async (job: JobBody) => {
  await sleep(job.ms);
  noteDone(job);
});

/** Counts deletes and latencies from the client's own responses (every side pays the same for it). */
function instrument(sqs: SQSClient, onDeleted: (receiptHandles: readonly string[]) => void, sentAtByHandle: Map<string, number>): void {
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const command = context.commandName;
      const input = args.input as { ReceiptHandle?: string; Entries?: { Id?: string; ReceiptHandle?: string }[] };
      const output = out.output as { Messages?: Message[]; Successful?: { Id?: string }[] };
      if (command === 'ReceiveMessageCommand') {
        for (const m of output.Messages ?? []) {
          const sentAt = (JSON.parse(m.Body ?? '{}') as JobBody).sentAt;
          if (sentAt !== undefined && m.ReceiptHandle) sentAtByHandle.set(m.ReceiptHandle, sentAt);
        }
      } else if (command === 'DeleteMessageCommand' && input.ReceiptHandle) {
        onDeleted([input.ReceiptHandle]);
      } else if (command === 'DeleteMessageBatchCommand') {
        const ok = new Set((output.Successful ?? []).map((s) => s.Id));
        onDeleted((input.Entries ?? []).filter((e) => ok.has(e.Id) && e.ReceiptHandle).map((e) => e.ReceiptHandle!));
      }
      return out;
    },
    { step: 'initialize', name: 'benchDeleteTimes' },
  );
}

async function runOnce(req: RunRequest): Promise<RunReport> {
  const sqs = new SQSClient({ endpoint: req.endpoint, region: req.region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const sentAtByHandle = new Map<string, number>();
  doneLatencies = [];
  const deleteTimes: number[] = [];
  const latenciesMs: number[] = [];
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => { resolveAll = resolve; });
  instrument(sqs, (handles) => {
    const now = Date.now();
    for (const h of handles) {
      deleteTimes.push(now);
      const sentAt = sentAtByHandle.get(h);
      if (sentAt !== undefined) {
        latenciesMs.push(now - sentAt);
        sentAtByHandle.delete(h);
      }
    }
    if (deleteTimes.length >= req.jobs) resolveAll();
  }, sentAtByHandle);

  const cpuAtStart = process.cpuUsage();
  const faultsAtStart = process.resourceUsage().minorPageFault;
  const startedAt = Date.now();
  let stop: () => Promise<void>;
  const c = req.contender;
  if (c.kind === 'agent') {
    const worker = startWorker({
      queueUrl: req.queueUrl, handler, sqs, concurrency: c.concurrency, idempotency: false, logger: quiet,
      ...(c.receiveBatchWindowMs === undefined ? {} : { receiveBatchWindowMs: c.receiveBatchWindowMs }),
      ...(c.deleteBatchWindowMs === undefined ? {} : { deleteBatchWindowMs: c.deleteBatchWindowMs }),
      ...(c.jobThreads ? { jobThreads: { count: c.jobThreads } } : {}),
    });
    // Bound 0: every job is done; waiting for the last empty long polls would only add idle time.
    stop = async () => { await worker.stop(0); };
  } else {
    const handleOne = async (message: Message) => {
      const job = JSON.parse(message.Body ?? '{}') as JobBody;
      await sleep(job.ms);
      noteDone(job);
      return message;
    };
    // A careful setup: no pause between polls, the longest long poll, the batch size asked for.
    const consumers = Array.from({ length: c.instances }, () => Consumer.create({
      queueUrl: req.queueUrl,
      sqs,
      batchSize: c.batchSize,
      waitTimeSeconds: 20,
      pollingWaitTimeMs: 0,
      ...(c.batchHandler
        ? { handleMessageBatch: (messages: Message[]) => Promise.all(messages.map(handleOne)) }
        : { handleMessage: handleOne }),
    }));
    let stopping = false;
    for (const consumer of consumers) consumer.on('error', (e) => { if (!stopping) process.stderr.write(`sqs-consumer error: ${e.message}\n`); });
    for (const consumer of consumers) consumer.start();
    stop = async () => {
      stopping = true;
      for (const consumer of consumers) consumer.stop({ abort: true });
    };
  }
  process.send!({ type: 'started', id: req.id });

  let error: string | undefined;
  const limit = new AbortController();
  const outcome = await Promise.race([all.then(() => 'done' as const), sleep(req.limitMs, 'limit' as const, { signal: limit.signal }).catch(() => 'cancelled' as const)]);
  const used = process.cpuUsage(cpuAtStart);
  const minorFaults = process.resourceUsage().minorPageFault - faultsAtStart;
  limit.abort();
  if (outcome === 'limit') error = `only ${deleteTimes.length} of ${req.jobs} jobs deleted within ${req.limitMs} ms`;
  await stop();
  sqs.destroy();
  await sleep(50); // the last notes from job threads
  return { type: 'done', id: req.id, startedAt, deleteTimes, latenciesMs, doneLatenciesMs: doneLatencies, cpuMs: (used.user + used.system) / 1000, minorFaults, ...(error ? { error } : {}) };
}

if (!isMainThread) {
  // A job thread of the agent (this bundle run again): serve the jobs the agent hands it.
  startWorker({ queueUrl: 'served-by-the-agent-thread', handler });
} else {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.on('message', (m: RunRequest | { type: 'exit' }) => {
    if (m.type === 'exit') {
      process.disconnect();
      return;
    }
    runOnce(m).then(
      (report) => process.send!(report),
      (e: unknown) => process.send!({ type: 'done', id: m.id, startedAt: 0, deleteTimes: [], latenciesMs: [], doneLatenciesMs: [], cpuMs: 0, minorFaults: 0, error: String(e instanceof Error ? e.stack : e) }),
    );
  });
  process.send!({ type: 'ready' });
}
