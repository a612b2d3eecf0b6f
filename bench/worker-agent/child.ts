/**
 * One contender of the worker-agent benchmark in its own process (forked by
 * bench/worker-agent.bench.ts with esbuild-register), so that its CPU time is its own: the
 * parent sends a run (which side, which queue, how many jobs, each job's duration), the child
 * starts that consumer, answers `started`, and once every job's message is deleted answers
 * `done` with the delete times, the send-to-delete latencies and its CPU time over the run.
 *
 * Latency and delete times are read from the SQS client's responses by one middleware, the same
 * on both sides: a ReceiveMessage response maps each receipt handle to the job's send time (in
 * its body), and a DeleteMessage / DeleteMessageBatch response marks those jobs done.
 */
import { setTimeout as sleep } from 'timers/promises';
import { SQSClient, type Message } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import { defineJobHandler } from '../../runtime/jobs/define-job-handler';
import { startWorker } from '../../runtime/worker-agent/worker';

/** Who runs the jobs. */
export type ContenderSpec =
  | { readonly kind: 'agent'; readonly concurrency: number }
  | {
    readonly kind: 'sqs-consumer';
    /** Consumer instances in the process: sqs-consumer runs one batch at a time per instance. */
    readonly instances: number;
    readonly batchSize: number;
    /** handleMessageBatch (one DeleteMessageBatch per batch, after its slowest job) or handleMessage (a DeleteMessage per job, as it ends). */
    readonly batchHandler: boolean;
  };

/** A run the parent asks for. */
export interface RunRequest {
  readonly type: 'run';
  readonly id: number;
  readonly endpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  /** Jobs to wait for: the run ends when this many messages have been deleted. */
  readonly jobs: number;
  /** Job n waits durationsMs[n] ms (simulated I/O). */
  readonly durationsMs: readonly number[];
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
  /** User + system CPU ms of this process from start to the last delete. */
  readonly cpuMs: number;
  readonly error?: string;
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface JobBody { readonly n: number; readonly sentAt?: number }

/** Counts deletes and latencies from the client's own responses (both sides pay the same for it). */
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
  const durations = req.durationsMs;
  const work = (n: number) => sleep(durations[n % durations.length]!);

  const cpuAtStart = process.cpuUsage();
  const startedAt = Date.now();
  let stop: () => Promise<void>;
  const c = req.contender;
  if (c.kind === 'agent') {
    const handler = defineJobHandler(async (job: JobBody) => { await work(job.n); });
    const worker = startWorker({ queueUrl: req.queueUrl, handler, sqs, concurrency: c.concurrency, idempotency: false, logger: quiet });
    // Bound 0: every job is done; waiting for the last empty long polls would only add idle time.
    stop = async () => { await worker.stop(0); };
  } else {
    const handleOne = async (message: Message) => {
      await work((JSON.parse(message.Body ?? '{}') as JobBody).n);
      return message;
    };
    // A careful setup: no pause between polls, the longest long poll, the largest batch asked for.
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
  limit.abort();
  if (outcome === 'limit') error = `only ${deleteTimes.length} of ${req.jobs} jobs deleted within ${req.limitMs} ms`;
  await stop();
  sqs.destroy();
  return { type: 'done', id: req.id, startedAt, deleteTimes, latenciesMs, cpuMs: (used.user + used.system) / 1000, ...(error ? { error } : {}) };
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.on('message', (m: RunRequest | { type: 'exit' }) => {
  if (m.type === 'exit') {
    process.disconnect();
    return;
  }
  runOnce(m).then(
    (report) => process.send!(report),
    (e: unknown) => process.send!({ type: 'done', id: m.id, startedAt: 0, deleteTimes: [], latenciesMs: [], cpuMs: 0, error: String(e instanceof Error ? e.stack : e) }),
  );
});
process.send!({ type: 'ready' });
