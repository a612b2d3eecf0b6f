/**
 * Effects that must apply once: context.commit writes the job's DynamoDB effect and its
 * completion record in one TransactWriteItems. Against moto (which supports transactions),
 * through JobRunner, the code both the Lambda adapter and the worker agent run; the fault proxy
 * adds what moto never does: a transaction cancelled for a conflict, and a reply lost on the way back.
 */
import { randomUUID } from 'crypto';
import { setTimeout as sleep } from 'timers/promises';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, UpdateItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { JobLeaseLostError, defineJobHandler } from '../../../runtime/index';
import { JobRunner } from '../../../runtime/jobs/job-runner';
import type { JobMessage } from '../../../runtime/jobs/types';
import { DROP_REPLY, startFaultProxy, transactionConflict, type FaultProxy, type FaultRule } from '../../support/fault-proxy';
import { createIdempotencyTable, useLocalAws } from '../../support/local-aws';

const aws = useLocalAws();

let counters: string;
let idempotencyTable: string;

beforeAll(async () => {
  counters = `counters-${randomUUID().slice(0, 8)}`;
  await aws.dynamodb.send(new CreateTableCommand({
    TableName: counters,
    KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'jobId', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  idempotencyTable = await createIdempotencyTable(aws.dynamodb);
});

beforeEach(() => {
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

/** A delivery of `job` under `jobId`. */
function delivery(jobId: string, job: unknown, receiveCount = 1): JobMessage {
  return { messageId: randomUUID(), body: JSON.stringify(job), receiveCount, jobIdAttribute: jobId };
}

/** The counter write of a job: not idempotent by itself. */
function increment(jobId: string): TransactWriteItem {
  return { Update: { TableName: counters, Key: { jobId: { S: jobId } }, UpdateExpression: 'ADD applied :one', ExpressionAttributeValues: { ':one': { N: '1' } } } };
}

async function applied(jobId: string): Promise<number> {
  const out = await aws.dynamodb.send(new GetItemCommand({ TableName: counters, Key: { jobId: { S: jobId } }, ConsistentRead: true }));
  return Number(out.Item?.applied?.N ?? 0);
}

const idempotency = () => ({ tableName: idempotencyTable, ttlSeconds: 3600, client: aws.dynamodb });

describe('committing a job\'s effect with its completion', () => {
  test('an effect committed with context.commit applies once even when the worker fails right after it; a plain write applies twice', async () => {
    // GIVEN two handlers that fail right after their effect, as a worker killed there would:
    // one commits the effect with the completion record, the other writes it on its own
    const committed = defineJobHandler<{ n: number }>(async (_job, { jobId, commit }) => {
      await commit([increment(jobId)]);
      throw new Error('the worker died after its effect');
    });
    const plain = defineJobHandler<{ n: number }>(async (_job, { jobId }) => {
      await aws.dynamodb.send(new UpdateItemCommand(increment(jobId).Update!));
      throw new Error('the worker died after its effect');
    });
    const withCommit = new JobRunner(committed.definition, idempotency());
    const withoutCommit = new JobRunner(plain.definition, idempotency());
    const a = randomUUID();
    const b = randomUUID();

    // WHEN each job is delivered again after the failure
    const firstA = await withCommit.run(delivery(a, { n: 1 }), Date.now() + 5000);
    const againA = await withCommit.run(delivery(a, { n: 1 }, 2), Date.now() + 5000);
    await withoutCommit.run(delivery(b, { n: 1 }), Date.now() + 5000);
    await withoutCommit.run(delivery(b, { n: 1 }, 2), Date.now() + 5000);

    // THEN the committed effect applied once (the retry found the job completed and was
    // skipped), while idempotency alone let the plain effect apply twice
    expect(firstA.ok).toBe(false);
    expect(againA.ok).toBe(true);
    expect(await applied(a)).toBe(1);
    expect(await applied(b)).toBe(2);
  });

  test('a delivery that outlived its lease cannot commit while another delivery holds the job, and the job applies once', async () => {
    // GIVEN a job whose first delivery runs past its 300 ms lease before committing, and a
    // second delivery that takes the job over once that lease has lapsed
    const jobId = randomUUID();
    const outcomes: string[] = [];
    const handler = defineJobHandler<{ waitMs: number }>(async (job, { commit }) => {
      await sleep(job.waitMs);
      try {
        outcomes.push(await commit([increment(jobId)]));
      } catch (error) {
        outcomes.push((error as Error).name);
        throw error;
      }
    });
    const runner = new JobRunner(handler.definition, idempotency());

    // WHEN the first commits at 900 ms, while the second (from 500 ms) commits at 1,500 ms
    const first = runner.run(delivery(jobId, { waitMs: 900 }), Date.now() + 300);
    await sleep(500);
    const second = runner.run(delivery(jobId, { waitMs: 1000 }, 2), Date.now() + 5000);
    const [one, two] = await Promise.all([first, second]);

    // THEN the first was refused (nothing written), the second committed, and the effect applied once
    expect(outcomes).toEqual(['JobLeaseLostError', 'committed']);
    expect(one).toMatchObject({ ok: false, error: expect.any(JobLeaseLostError) });
    expect(two.ok).toBe(true);
    expect(await applied(jobId)).toBe(1);
  });

  test('a late delivery that commits after the job was completed writes nothing and is told so', async () => {
    // GIVEN a job completed by one delivery
    const jobId = randomUUID();
    const outcomes: string[] = [];
    const handler = defineJobHandler<{ waitMs: number }>(async (job, { commit }) => {
      await sleep(job.waitMs);
      outcomes.push(await commit([increment(jobId)]));
    });
    const runner = new JobRunner(handler.definition, idempotency());

    // WHEN a delivery whose lease lapsed commits after another took over and completed the job
    const late = runner.run(delivery(jobId, { waitMs: 1200 }), Date.now() + 300);
    await sleep(500);
    const quick = await runner.run(delivery(jobId, { waitMs: 0 }, 2), Date.now() + 5000);
    const lateOutcome = await late;

    // THEN the late one resolved alreadyCompleted without writing, and the effect applied once
    expect(quick.ok).toBe(true);
    expect(lateOutcome.ok).toBe(true);
    expect(outcomes).toEqual(['committed', 'alreadyCompleted']);
    expect(await applied(jobId)).toBe(1);
  });
});

describe('committing through faults moto cannot produce', () => {
  let proxy: FaultProxy;
  let client: DynamoDBClient;
  beforeAll(async () => {
    proxy = await startFaultProxy(aws.moto.endpoint);
    client = new DynamoDBClient({ endpoint: proxy.endpoint });
  });
  afterAll(async () => {
    client.destroy();
    await proxy.stop();
  });
  beforeEach(() => {
    for (const counts of [proxy.seen, proxy.injected]) for (const action of Object.keys(counts)) delete counts[action];
  });
  afterEach(() => proxy.setRule(undefined));

  /** A runner whose idempotency client goes through the proxy. */
  const runnerOf = (handler: ReturnType<typeof defineJobHandler<{ n: number }>>) => new JobRunner(handler.definition, { ...idempotency(), client });
  const commitIncrement = () => defineJobHandler<{ n: number }>(async (_job, { jobId, commit }) => commit([increment(jobId)]));

  test('a commit cancelled for a transaction conflict is retried, and applies once', async () => {
    // GIVEN a job whose commit DynamoDB cancels twice with TransactionConflict (another job's
    // transaction holds the same item), as tiles committing to one render record do
    const jobId = randomUUID();
    let conflicts = 0;
    proxy.setRule((r) => (r.action === 'TransactWriteItems' && conflicts++ < 2 ? transactionConflict(2, [0]) : undefined));

    // WHEN it runs
    const outcome = await runnerOf(commitIncrement()).run(delivery(jobId, { n: 1 }), Date.now() + 10_000);

    // THEN the commit was retried past the conflicts, committed, and the effect applied once
    expect(outcome).toEqual({ ok: true, result: 'committed' });
    expect(proxy.injected.TransactWriteItems).toBe(2);
    expect(await applied(jobId)).toBe(1);
  });

  test('a commit that keeps conflicting gives up before its lease ends, and writes nothing', async () => {
    // GIVEN conflicts on every commit, and a 1.5 s lease (the job's deadline)
    const jobId = randomUUID();
    const attempts: number[] = [];
    proxy.setRule((r) => {
      if (r.action !== 'TransactWriteItems') return undefined;
      attempts.push(Date.now());
      return transactionConflict(2, [0, 1]);
    });
    const started = Date.now();

    // WHEN it runs
    const outcome = await runnerOf(commitIncrement()).run(delivery(jobId, { n: 1 }), started + 1_500);

    // THEN it tried several times, every attempt sent while the lease held, failed with
    // DynamoDB's error, and wrote nothing. (A last attempt may start as late as the 50 ms margin
    // before the lease ends, and its reply come after it on a loaded machine: the bound is on when
    // each attempt was sent, which is what the runner controls.)
    expect(outcome).toMatchObject({ ok: false, error: expect.objectContaining({ name: 'TransactionCanceledException' }) });
    expect(proxy.injected.TransactWriteItems).toBeGreaterThan(1);
    expect(attempts).toHaveLength(proxy.injected.TransactWriteItems!);
    expect(Math.max(...attempts)).toBeLessThan(started + 1_500);
    expect(await applied(jobId)).toBe(0);
  });

  test('a commit cancelled by the handler\'s own condition is not retried', async () => {
    // GIVEN a commit DynamoDB cancels for a ConditionalCheckFailed on the handler's write
    const jobId = randomUUID();
    proxy.setRule((r) => (r.action === 'TransactWriteItems' ? {
      ...transactionConflict(2),
      body: JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        Message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]',
        CancellationReasons: [{ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }, { Code: 'None' }],
      }),
    } : undefined));

    // WHEN it runs THEN it fails at the first answer
    const outcome = await runnerOf(commitIncrement()).run(delivery(jobId, { n: 1 }), Date.now() + 10_000);
    expect(outcome).toMatchObject({ ok: false, error: expect.objectContaining({ name: 'TransactionCanceledException' }) });
    expect(proxy.injected.TransactWriteItems).toBe(1);
  });

  test('a lease renewal whose reply was lost is recognized as its own success: the job still commits', async () => {
    // GIVEN a job that runs past several renewals of its 400 ms lease, and the reply of the
    // first renewal lost on the way back (DynamoDB applied it; the SDK sends it again, and the
    // retry's condition, on the lease as it was, fails)
    const jobId = randomUUID();
    let dropped = 0;
    const dropFirstRenewal: FaultRule = (r) => (r.action === 'UpdateItem' && r.body.includes('in_progress_expiration') && dropped++ === 0 ? DROP_REPLY : undefined);
    proxy.setRule(dropFirstRenewal);
    const handler = defineJobHandler<{ n: number }>(async (_job, { jobId: id, commit }) => {
      await sleep(900);
      return commit([increment(id)]);
    });

    // WHEN it runs, renewing its lease as the agent does
    const outcome = await runnerOf(handler).run(delivery(jobId, { n: 1 }), Date.now() + 10_000, { leaseMs: 400 });

    // THEN the renewal's reply was lost once, yet the job kept its lease and committed once
    expect(dropped).toBeGreaterThan(0);
    expect(proxy.injected.UpdateItem).toBe(1);
    expect(outcome).toEqual({ ok: true, result: 'committed' });
    expect(await applied(jobId)).toBe(1);
  });
});
