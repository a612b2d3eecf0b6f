/**
 * Effects that must apply once: context.commit writes the job's DynamoDB effect and its
 * completion record in one TransactWriteItems. Against moto (which supports transactions),
 * through JobRunner, the code both the Lambda adapter and the worker agent run.
 */
import { randomUUID } from 'crypto';
import { setTimeout as sleep } from 'timers/promises';
import { CreateTableCommand, GetItemCommand, UpdateItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { JobLeaseLostError, defineJobHandler } from '../../../runtime/index';
import { JobRunner } from '../../../runtime/jobs/job-runner';
import type { JobMessage } from '../../../runtime/jobs/types';
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
