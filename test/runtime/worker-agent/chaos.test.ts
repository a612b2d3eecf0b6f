/**
 * The chaos drill: several worker programs (runWorkerFromEnv, as a fleet runs them) work through
 * 500 jobs whose effect is NOT idempotent by itself, an atomic counter per job id written with
 * context.commit, while the drill kills one at work about every half second, ten times, with
 * SIGKILL and SIGTERM, and starts replacements. Each kill lands on up to 16 jobs in flight; the
 * jobs are what keeps the workers busy through the kills (the drill ran 1,000 jobs with a kill a
 * second until 2026-12-06: the same ten kills, twice the jobs to run and check). The blind check
 * keeps 400 jobs and a kill about every 600 ms. Malformed messages are mixed in. Then: no job
 * lost, none applied twice, only the malformed messages in the dead-letter queue, and no worker
 * died of its own accord. The same drill with idempotency off must see double applications, so
 * the drill is known not to be blind.
 *
 * SQS is fauxqs (fast with a thousand messages queued); DynamoDB is moto (it has transactions).
 * The worker fixture is bundled once with esbuild so a restarted worker is up in well under a second.
 * Figures are printed (DRILL ...) for the record: `npx jest test/runtime/worker-agent/chaos.test.ts`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { setTimeout as sleep } from 'timers/promises';
import { CreateTableCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { JobClient } from '../../../runtime/index';
import { CONCURRENCY_ENV, IDEMPOTENCY_TABLE_ENV, JOB_THREADS_ENV, QUEUE_URL_ENV, VISIBILITY_TIMEOUT_ENV } from '../../../runtime/jobs/environment';
import { STOP_TIMEOUT_ENV } from '../../../runtime/worker-agent/environment';
import { createQueueWithDlq, startFauxqs, type Fauxqs } from '../../support/fauxqs';
import { createIdempotencyTable, queueDepth, useLocalAws, waitFor } from '../../support/local-aws';
import { bundleWorkerFixture, killWorkerProcesses, startWorkerProcess, type WorkerProcess } from '../../support/worker-process';
import { REPO_ROOT } from '../../support/paths';

const aws = useLocalAws();
let fauxqs: Fauxqs;
let script: string;

beforeAll(async () => {
  [fauxqs, script] = await Promise.all([
    startFauxqs(),
    bundleWorkerFixture(path.join(REPO_ROOT, '.tmp', `chaos-worker-${process.pid}.mjs`)),
  ]);
});
afterAll(async () => {
  await killWorkerProcesses();
  await fauxqs?.stop();
  if (script) fs.rmSync(script, { force: true });
});
afterEach(() => killWorkerProcesses());

interface DrillResult {
  readonly jobs: number;
  readonly kills: { readonly SIGKILL: number; readonly SIGTERM: number };
  readonly lost: number;
  readonly doubled: number;
  readonly deadLettered: number;
  readonly malformedSent: number;
  /** Exits not caused by the drill's signals (a worker that died of a message, say). */
  readonly unexpectedExits: string[];
  readonly seconds: number;
}

async function counterTable(dynamodb: DynamoDBClient): Promise<string> {
  const name = `applied-${randomUUID().slice(0, 8)}`;
  await dynamodb.send(new CreateTableCommand({
    TableName: name,
    KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'jobId', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  return name;
}

async function appliedCounts(dynamodb: DynamoDBClient, table: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let start: Record<string, never> | undefined;
  do {
    const out = await dynamodb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of out.Items ?? []) counts.set(item.jobId!.S!, Number(item.applied!.N));
    start = out.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return counts;
}

/**
 * Runs the drill: `workers` programs, one of those at work killed at random about every
 * `killEveryMs` (SIGKILL, SIGKILL, SIGTERM, and again; a replacement started at once), `kills`
 * times or until 90% of the jobs are applied; then the workers finish the queue.
 */
async function drill(options: { jobs: number; workers: number; idempotent: boolean; killEveryMs: number; kills: number }): Promise<DrillResult> {
  const startedAt = Date.now();
  const sqs = fauxqs.client();
  const { queueUrl, deadLetterQueueUrl } = await createQueueWithDlq(sqs, { visibilityTimeout: VISIBILITY_SECONDS, maxReceiveCount: MAX_RECEIVE_COUNT });
  // The counters in one table: the embedded AWS rolls a transaction back by its items (local/moto_launcher.py),
  // so a commit costs the same however many counters the table holds.
  const counters = await Promise.all([counterTable(aws.dynamodb)]);
  const env: Record<string, string> = {
    AWS_ENDPOINT_URL_SQS: fauxqs.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: aws.moto.endpoint,
    [QUEUE_URL_ENV]: queueUrl,
    [CONCURRENCY_ENV]: '16',
    [VISIBILITY_TIMEOUT_ENV]: String(VISIBILITY_SECONDS),
    [STOP_TIMEOUT_ENV]: '1',
    // One job thread per agent: the jobs wait on I/O, and each thread is one more start-up per replacement.
    [JOB_THREADS_ENV]: '1',
    TEST_COUNTER_TABLE: counters.join(','),
    TEST_JOB_MS: '20',
    TEST_JOB_MS_MAX: '120',
    ...(options.idempotent ? { [IDEMPOTENCY_TABLE_ENV]: await createIdempotencyTable(aws.dynamodb) } : {}),
  };

  // Jobs, and malformed messages mixed in: a body that is not JSON, and a job id that is not a UUID.
  const sent = await new JobClient<{ n: number }>({ queueUrl, sqs }).send(Array.from({ length: options.jobs }, (_, n) => ({ n })));
  const malformed = [
    ...Array.from({ length: 5 }, (_, i) => ({ Id: `json${i}`, MessageBody: `{"n": ${i},` })),
    ...Array.from({ length: 5 }, (_, i) => ({ Id: `id${i}`, MessageBody: `{"n": ${i}}`, MessageAttributes: { jobId: { DataType: 'String', StringValue: `job-${i}` } } })),
  ];
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: malformed }));

  const unexpectedExits: string[] = [];
  const signalled = new Set<WorkerProcess>();
  const live = new Set<WorkerProcess>();
  const spawn = () => {
    const w = startWorkerProcess(env, script);
    live.add(w);
    void w.exited.then((exit) => {
      live.delete(w);
      if (!signalled.has(w)) unexpectedExits.push(`${w.pid}: ${JSON.stringify(exit)} ${w.output().slice(-500)}`);
      else if (exit.signal !== 'SIGKILL' && exit.code !== 0) unexpectedExits.push(`${w.pid} after SIGTERM: ${JSON.stringify(exit)} ${w.output().slice(-500)}`);
    });
  };
  for (let i = 0; i < options.workers; i++) spawn();

  const kills = { SIGKILL: 0, SIGTERM: 0 };
  let applied = new Map<string, number>();
  let refreshedAt = 0;
  const refresh = async () => {
    applied = new Map((await Promise.all(counters.map((t) => appliedCounts(aws.dynamodb, t)))).flatMap((m) => [...m]));
    refreshedAt = Date.now();
  };
  // Kill only workers that are working (they have started jobs), so that every kill lands mid-work.
  while (kills.SIGKILL + kills.SIGTERM < options.kills && applied.size < options.jobs * 0.9 && Date.now() - startedAt < 120_000) {
    await sleep(options.killEveryMs * (0.5 + Math.random()));
    const working = [...live].filter((w) => !signalled.has(w) && w.reports.length > 0);
    const victim = working[Math.floor(Math.random() * working.length)];
    if (victim) {
      // Every third kill a SIGTERM, the others SIGKILL (K, K, T, K, K, T...): SIGKILLs are the kills
      // that can apply a job twice, and a short run (the drill stops at 90% applied) has made both
      // kinds by its fourth kill. (The signals were random once; a run that ended after its first
      // SIGKILLs then had no SIGTERM.)
      const signal = (kills.SIGKILL + kills.SIGTERM) % 3 === 2 ? 'SIGTERM' : 'SIGKILL';
      signalled.add(victim);
      victim.child.kill(signal);
      kills[signal] += 1;
      spawn();
    }
    // The 90% check reads the whole counter table (moto serializes every item): every 2 s is enough for it.
    if (Date.now() - refreshedAt >= 2000) await refresh();
    if (process.env.DRILL_DEBUG) process.stdout.write(`drill t=${Date.now() - startedAt} applied=${applied.size} live=${live.size} kills=${JSON.stringify(kills)}\n`);
  }

  // Let the workers finish: every job applied, the queue empty, the malformed ones dead-lettered.
  await waitFor('the queue to drain', async () => {
    const [q, dlq] = await Promise.all([queueDepth(sqs, queueUrl), queueDepth(sqs, deadLetterQueueUrl)]);
    if (process.env.DRILL_DEBUG) process.stdout.write(`drain t=${Date.now() - startedAt} q=${JSON.stringify(q)} dlq=${JSON.stringify(dlq)} live=${live.size} reports=${[...live].map((w) => w.reports.length)}\n`);
    return q.visible === 0 && q.inFlight === 0 && dlq.visible >= malformed.length;
  }, 300_000, 1000);
  await refresh();
  const dead = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }));
    if (!out.Messages?.length) break;
    dead.push(...out.Messages.map((m) => m.Body));
  }
  for (const w of live) signalled.add(w);
  await killWorkerProcesses();

  const result: DrillResult = {
    jobs: sent.length,
    kills,
    lost: sent.filter((s) => !applied.has(s.jobId)).length,
    doubled: [...applied.values()].filter((n) => n > 1).length,
    deadLettered: dead.length,
    malformedSent: malformed.length,
    unexpectedExits,
    seconds: Math.round((Date.now() - startedAt) / 100) / 10,
  };
  // A job dead-lettered is named (its body), apart from the malformed messages that belong there.
  const malformedBodies = malformed.map((m) => m.MessageBody);
  expect({ jobsDeadLettered: dead.filter((b) => !malformedBodies.includes(b!)) }).toEqual({ jobsDeadLettered: [] });
  expect(dead.sort()).toEqual([...malformedBodies].sort());
  process.stdout.write(`DRILL ${options.idempotent ? 'idempotency on ' : 'idempotency off'} ${JSON.stringify(result)}\n`);
  return result;
}

/** The queue's and the agents' visibility timeout: a killed agent's jobs come back this long after. */
const VISIBILITY_SECONDS = 2;

/**
 * Receives before SQS dead-letters a message. A job is received again when a kill returns it, and
 * when its in-progress record is held by an agent that a loaded machine slows past the 2 s
 * visibility (the next receiver finds the record and leaves the job for later); 6 leaves room for
 * both on a machine shared with other test files. The malformed messages fail every receive, so
 * they still end in the dead-letter queue, 6 receives later.
 */
const MAX_RECEIVE_COUNT = 6;

/**
 * Room for a busy machine: moto's DynamoDB (two requests a job: the in-progress record, then the
 * commit) sets the pace, and on a 2-core machine shared by many jobs it serves a few dozen a second.
 */
const DRILL_TIMEOUT_MS = 480_000;

describe('the chaos drill', () => {
  test('worker programs killed at random (SIGKILL and SIGTERM) ten times over 500 jobs lose none and apply none twice; malformed messages end in the DLQ', async () => {
    const result = await drill({ jobs: 500, workers: 3, idempotent: true, killEveryMs: 500, kills: 10 });

    expect(result.kills.SIGKILL).toBeGreaterThanOrEqual(3);
    expect(result.kills.SIGTERM).toBeGreaterThanOrEqual(1);
    expect(result.lost).toBe(0);
    expect(result.doubled).toBe(0);
    expect(result.deadLettered).toBe(result.malformedSent);
    expect(result.unexpectedExits).toEqual([]);
  }, DRILL_TIMEOUT_MS);

  test('the same drill with idempotency off sees jobs applied twice, so it is not blind', async () => {
    // A job is applied twice only when a SIGKILL lands between its effect and its delete: a short
    // run can miss that window (on a quiet machine 400 jobs are 90% applied after 2 SIGKILLs, and
    // one such run saw none; so did one of 250 jobs under load). Up to three runs: the drill is
    // blind only if none sees a double. Every run must still lose nothing and see no stray exit.
    const runs: DrillResult[] = [];
    do {
      const result = await drill({ jobs: 400, workers: 3, idempotent: false, killEveryMs: 600, kills: 6 });
      expect(result.kills.SIGKILL).toBeGreaterThanOrEqual(2);
      expect(result.lost).toBe(0);
      expect(result.unexpectedExits).toEqual([]);
      runs.push(result);
    } while (runs.at(-1)!.doubled === 0 && runs.length < 3);

    expect(Math.max(...runs.map((r) => r.doubled))).toBeGreaterThan(0);
  }, DRILL_TIMEOUT_MS);
});
