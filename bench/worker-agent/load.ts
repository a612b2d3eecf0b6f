/**
 * The jobs of the worker-agent benchmark, sent as a producer would (JobClient, batches of 10):
 * a backlog filled before a consumer starts (throughput), or a steady stream at a fixed rate
 * (latency), each job's body carrying its number, its duration and, for the stream, its send time.
 * Also the job durations: fixed, or long-tailed from a seeded generator so both sides get the same.
 */
import { setTimeout as sleep } from 'timers/promises';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { JobClient } from '../../runtime/index';
import type { JobBody } from './child';

/** Creates a fresh queue (30 s visibility timeout) and returns its URL and name. */
export async function createQueue(sqs: SQSClient, prefix: string): Promise<{ queueUrl: string; name: string }> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '30' } }));
  return { queueUrl: out.QueueUrl!, name };
}

/** Sends jobs 0..count-1 ({ n, ms: durationsMs[n] }) to the queue, a few batches in parallel. */
export async function fillQueue(sqs: SQSClient, queueUrl: string, count: number, durationsMs: readonly number[]): Promise<void> {
  const client = new JobClient<JobBody>({ queueUrl, sqs });
  const lanes = 8;
  const perLane = Math.ceil(count / lanes);
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    const from = lane * perLane;
    const to = Math.min(count, from + perLane);
    // JobClient batches by 10; sending 100 at a time keeps each lane's calls sequential.
    for (let i = from; i < to; i += 100) {
      await client.send(Array.from({ length: Math.min(100, to - i) }, (_, k) => ({ n: i + k, ms: durationsMs[(i + k) % durationsMs.length]! })));
    }
  }));
}

/**
 * Sends `count` jobs ({ n, ms, sentAt }) at `perSecond`, in ticks of 100 ms, and resolves when the
 * last is sent. A tick's jobs go out in one JobClient call (batches of 10), stamped just before it.
 */
export async function streamJobs(sqs: SQSClient, queueUrl: string, count: number, perSecond: number, durationsMs: readonly number[]): Promise<void> {
  const client = new JobClient<JobBody>({ queueUrl, sqs });
  const tickMs = 100;
  const startedAt = Date.now();
  const sends: Promise<unknown>[] = [];
  let sent = 0;
  for (let tick = 1; sent < count; tick++) {
    // Due by the end of this tick, so a slow tick is caught up rather than the rate drifting.
    const due = Math.min(count, Math.round((tick * tickMs * perSecond) / 1000));
    if (due > sent) {
      const now = Date.now();
      sends.push(client.send(Array.from({ length: due - sent }, (_, k) => ({ n: sent + k, ms: durationsMs[(sent + k) % durationsMs.length]!, sentAt: now }))));
      sent = due;
    }
    const wait = startedAt + tick * tickMs - Date.now();
    if (wait > 0) await sleep(wait);
  }
  await Promise.all(sends);
}

/** mulberry32: a small seeded generator, so the job durations are the same on every run and side. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` durations in ms, log-uniform between `minMs` and `maxMs` (as likely 5-50 ms as
 * 50-500 ms: most jobs short, a long tail to the bound; the limit of a bounded Pareto as its
 * shape goes to 0), rounded to whole ms, seeded.
 */
export function longTailedDurations(count: number, minMs: number, maxMs: number, seed: number): number[] {
  const random = seeded(seed);
  return Array.from({ length: count }, () => Math.round(minMs * (maxMs / minMs) ** random()));
}

/** Percentile (0-100) of samples, nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
