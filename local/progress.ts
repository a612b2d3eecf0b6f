/**
 * The live progress of the local cloud: one line per stack that runs work, printed when it
 * changes (at most once a second), e.g.
 *
 *   [ 24.1s] WorkQueueStack  backlog 12 | in flight 10 | done 8 (demo 8/30) | DLQ 0 | workers 5
 *
 * Queue figures come from the embedded AWS (ApproximateNumberOfMessages...); "done" counts every
 * job the workers finished on the stack's queues since the start, whoever sent it, from SQS's
 * NumberOfMessagesDeleted in CloudWatch (local/queue-metrics.ts), with the demo's own in brackets
 * (from its results table); "workers" from the processes the workloads run now.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RunningDemo } from './demo';
import type { Inventory } from './inventory';
import { QUEUE_METRICS, queueMetricSum } from './queue-metrics';
import type { Workload } from './workloads';

/** The figures of one stack at one moment. */
export interface ProgressRow {
  readonly stackName: string;
  readonly backlog: number;
  readonly inFlight: number;
  readonly done: number;
  /** For a demo run: its good jobs done, and how many it sent. */
  readonly demo?: { readonly done: number; readonly total: number; readonly kind: RunningDemo['kind'] };
  readonly deadLettered: number;
  readonly workers: number;
}

/** `[ 24.1s] WorkQueueStack  backlog 12 | in flight 10 | done 8 (demo 8/30) | DLQ 0 | workers 5` */
export function formatRow(row: ProgressRow, elapsedMs: number): string {
  const t = `[${(elapsedMs / 1000).toFixed(1).padStart(5)}s]`;
  const done = row.demo === undefined ? `${row.done}` : `${row.done} (demo ${row.demo.kind === 'jobs' ? '' : `${row.demo.kind} `}${row.demo.done}/${row.demo.total})`;
  return `${t} ${row.stackName}  backlog ${row.backlog} | in flight ${row.inFlight} | done ${done} | DLQ ${row.deadLettered} | workers ${row.workers}`;
}

async function depth(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const a = (await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: queueUrl,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
  }))).Attributes ?? {};
  return { visible: Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

/**
 * Reads the figures of every stack that runs a queue workload; "done" counts the jobs finished
 * since `sinceMs` (epoch ms: the local cloud's start).
 */
export async function sampleProgress(
  inventory: Inventory,
  workloads: readonly Workload[],
  demos: readonly RunningDemo[],
  clients: { readonly sqs: SQSClient; readonly dynamodb: DynamoDBClient },
  sinceMs: number,
): Promise<ProgressRow[]> {
  const byStack = new Map<string, Workload[]>();
  for (const w of workloads) if (w.queueUrl) byStack.set(w.stackName, [...(byStack.get(w.stackName) ?? []), w]);
  return Promise.all([...byStack.entries()].map(async ([stackName, list]) => {
    const queueUrls = [...new Set(list.map((w) => w.queueUrl!))];
    const dlqUrls = queueUrls
      .map((url) => inventory.queues.find((q) => q.url === url)?.redrive?.deadLetterTargetArn)
      .map((arn) => inventory.queues.find((q) => q.arn === arn)?.url)
      .filter((u): u is string => !!u);
    const demo = demos.find((d) => d.stackName === stackName);
    const stats = list.map((w) => w.stats());
    const [queues, dlqs, deleted, status] = await Promise.all([
      Promise.all(queueUrls.map((u) => depth(clients.sqs, u))),
      Promise.all(dlqUrls.map((u) => depth(clients.sqs, u))),
      Promise.all(queueUrls.map((u) => queueMetricSum(inventory.endpoint, u, QUEUE_METRICS.deleted, sinceMs)))
        .then((sums) => sums.reduce((n, d) => n + d, 0))
        // A moto the metric could not be added to (it said so at start): what the workloads counted themselves.
        .catch(() => stats.reduce((n, s) => n + s.done, 0)),
      demo ? demo.progress() : undefined,
    ]);
    return {
      stackName,
      backlog: queues.reduce((n, q) => n + q.visible, 0),
      inFlight: queues.reduce((n, q) => n + q.inFlight, 0),
      // A job's result is written before its message is deleted: never fewer done than the demo's own.
      done: Math.max(deleted, status?.done ?? 0),
      ...(demo && status ? { demo: { done: status.done, total: demo.total, kind: demo.kind } } : {}),
      deadLettered: dlqs.reduce((n, q) => n + q.visible + q.inFlight, 0),
      workers: stats.reduce((n, s) => n + s.processes, 0),
    };
  }));
}

/** A running progress display. */
export interface Progress {
  /** Samples now and prints what changed; resolves to the rows. */
  tick(): Promise<ProgressRow[]>;
  stop(): void;
}

/**
 * Unchanged samples in a row after which progress is sampled at the idle interval even with jobs
 * in flight: a message waiting out its visibility timeout (a demo's job that always fails comes
 * back for minutes) or a job that runs long changes nothing for seconds at a time.
 */
export const QUIET_SAMPLES = 5;

/**
 * Samples every `intervalMs` and prints each stack's line when it changed; every `idleIntervalMs`
 * while nothing changed and every queue is empty, or while nothing changed for
 * {@link QUIET_SAMPLES} samples in a row. Each sample asks the embedded AWS a few dozen questions:
 * sampled every second, an idle local cloud kept moto busy (31 requests a second, about a tenth
 * of a core on this project's 2-core machine).
 */
export function startProgress(options: {
  readonly sample: () => Promise<ProgressRow[]>;
  readonly print: (line: string) => void;
  /** Epoch ms the elapsed time counts from. */
  readonly since: number;
  /** @default 1000 (ms) */
  readonly intervalMs?: number;
  /** @default 5000 (ms) */
  readonly idleIntervalMs?: number;
}): Progress {
  const last = new Map<string, string>();
  let stopped = false;
  let running: Promise<ProgressRow[]> | undefined;
  let idle = false;
  let unchanged = 0;
  const tick = async (): Promise<ProgressRow[]> => {
    if (running) return running;
    running = (async () => {
      try {
        const rows = await options.sample();
        let changed = false;
        for (const row of rows) {
          // Compare without the time, so an unchanged state prints nothing.
          const key = formatRow(row, 0);
          if (!stopped && last.get(row.stackName) !== key) {
            last.set(row.stackName, key);
            options.print(formatRow(row, Date.now() - options.since));
            changed = true;
          }
        }
        unchanged = changed ? 0 : unchanged + 1;
        idle = !changed && (unchanged >= QUIET_SAMPLES || rows.every((r) => r.backlog === 0 && r.inFlight === 0));
        return rows;
      } catch {
        return []; // the embedded AWS is stopping, or busy: try again next tick
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void tick().then(schedule), idle ? options.idleIntervalMs ?? 5000 : options.intervalMs ?? 1000);
  };
  schedule();
  return {
    tick,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
