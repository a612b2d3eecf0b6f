/**
 * The Lambda path of the job runtime, running for real against moto's SQS and DynamoDB: the
 * handler from defineJobHandler, fed by the local SQS event source exactly as Lambda feeds it.
 */
import { randomUUID } from 'crypto';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { JobClient, defineJobHandler, type JobHandler } from '../../../runtime/index';
import { IDEMPOTENCY_TABLE_ENV } from '../../../runtime/jobs/environment';
import { lambdaContext, startSqsEventSource, toRecord, type InvocationOutcome } from '../../../local/sqs-event-source';
import { createIdempotencyTable, createWorkQueue, queueDepth, useLocalAws, waitFor } from '../../support/local-aws';

const aws = useLocalAws();

interface Job { readonly n: number; readonly poison?: boolean }

/** Runs `handler` on `queueUrl` until `done()` holds, then stops the event source. */
async function work(queueUrl: string, handler: JobHandler<Job>, done: () => Promise<boolean>, outcomes: InvocationOutcome[] = []) {
  const source = startSqsEventSource({
    sqs: aws.sqs,
    queueUrl,
    invoke: (event, context) => handler(event, context),
    batchSize: 10,
    // No batching window: the jobs are queued before polling starts, so one receive takes them all,
    // and a window would eat into the short visibility timeouts these tests use.
    maxBatchingWindowSeconds: 0,
    maxConcurrency: 2,
    onInvoke: (o) => outcomes.push(o),
  });
  try {
    await waitFor('the queue to drain', done, 30_000);
  } finally {
    await source.stop();
  }
  return outcomes;
}

async function drained(queueUrl: string) {
  const d = await queueDepth(aws.sqs, queueUrl);
  return d.visible === 0 && d.inFlight === 0;
}

describe('a Lambda job worker', () => {
  beforeEach(() => {
    delete process.env[IDEMPOTENCY_TABLE_ENV];
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  test('reports only the failed message of a batch, and only that one comes back', async () => {
    // GIVEN a queue with five jobs, one of which fails on its first attempt
    const { queueUrl, deadLetterQueueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 2 });
    const calls = new Map<number, number>();
    const handler = defineJobHandler<Job>(async (job, { attempt }) => {
      calls.set(job.n, (calls.get(job.n) ?? 0) + 1);
      if (job.n === 3 && attempt === 1) throw new Error('transient failure');
    });
    await new JobClient<Job>({ queueUrl }).send([0, 1, 2, 3, 4].map((n) => ({ n })));

    // WHEN the worker runs until the queue is empty
    const outcomes = await work(queueUrl, handler, () => drained(queueUrl));

    // THEN the failing job ran twice, every other job once, and nothing was dead-lettered
    expect(Object.fromEntries(calls)).toEqual({ 0: 1, 1: 1, 2: 1, 3: 2, 4: 1 });
    const firstFailure = outcomes.find((o) => o.failed > 0)!;
    expect(firstFailure.failed).toBe(1);
    expect(firstFailure.deleted).toBe(firstFailure.records - 1);
    expect(await queueDepth(aws.sqs, deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('returns the failed message ids in batchItemFailures', async () => {
    // GIVEN a batch of three records, the second of which fails
    const handler = defineJobHandler<Job>((job) => {
      if (job.n === 1) throw new Error('boom');
    });
    const records = [0, 1, 2].map((n) => toRecord({ MessageId: randomUUID(), ReceiptHandle: 'r', Body: JSON.stringify({ n }) }, 'arn:aws:sqs:us-east-1:123456789012:jobs', 'us-east-1'));

    // WHEN Lambda invokes the handler
    const response = await handler({ Records: records }, lambdaContext('fn', () => 30_000));

    // THEN only the second record is reported
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.messageId }] });
  });

  test('runs the messages of a batch in parallel, one call each', async () => {
    // GIVEN a handler whose calls each wait until all three have started (or 2 s, were they run one by one)
    let running = 0;
    let most = 0;
    let allStarted!: () => void;
    const gate = new Promise<void>((resolve) => {
      allStarted = resolve;
    });
    const fallback = setTimeout(() => allStarted(), 2000);
    const calls: number[] = [];
    const handler = defineJobHandler<Job>(async (job) => {
      calls.push(job.n);
      running++;
      most = Math.max(most, running);
      if (running === 3) allStarted();
      await gate;
      running--;
    });
    const records = [0, 1, 2].map((n) => toRecord({ MessageId: randomUUID(), ReceiptHandle: 'r', Body: JSON.stringify({ n }) }, 'arn:aws:sqs:us-east-1:123456789012:jobs', 'us-east-1'));

    // WHEN Lambda invokes the handler with the batch
    try {
      const response = await handler({ Records: records }, lambdaContext('fn', () => 30_000));

      // THEN the three ran at once, each once, and none failed
      expect(most).toBe(3);
      expect(calls.sort()).toEqual([0, 1, 2]);
      expect(response).toEqual({ batchItemFailures: [] });
    } finally {
      clearTimeout(fallback);
    }
  });

  test('moves a poison message to the dead-letter queue after maxReceiveCount, and the others are done', async () => {
    // GIVEN a queue with maxReceiveCount 3 and a job that always fails
    const { queueUrl, deadLetterQueueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 2, maxReceiveCount: 3 });
    const calls = new Map<number, number>();
    const handler = defineJobHandler<Job>(async (job) => {
      calls.set(job.n, (calls.get(job.n) ?? 0) + 1);
      if (job.poison) throw new Error('this job can never succeed');
    });
    await new JobClient<Job>({ queueUrl }).send([{ n: 0 }, { n: 1, poison: true }, { n: 2 }]);

    // WHEN the worker runs until the job reaches the dead-letter queue
    await work(queueUrl, handler, async () => (await queueDepth(aws.sqs, deadLetterQueueUrl)).visible === 1 && drained(queueUrl));

    // THEN the poison job was tried exactly maxReceiveCount times and waits in the DLQ
    expect(Object.fromEntries(calls)).toEqual({ 0: 1, 1: 3, 2: 1 });
    const dead = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageAttributeNames: ['All'] }));
    expect(JSON.parse(dead.Messages![0]!.Body!)).toEqual({ n: 1, poison: true });
  });

  test('sends malformed JSON to the dead-letter queue without calling the handler, and keeps working', async () => {
    // GIVEN a queue holding a body that is not JSON between two good jobs
    const { queueUrl, deadLetterQueueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 2, maxReceiveCount: 2 });
    const seen: number[] = [];
    const handler = defineJobHandler<Job>((job) => { seen.push(job.n); });
    const client = new JobClient<Job>({ queueUrl });
    await client.send([{ n: 1 }]);
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"n": 2,' }));
    await client.send([{ n: 3 }]);
    const errors = jest.mocked(console.error);

    // WHEN the worker runs until the bad message is dead-lettered
    await work(queueUrl, handler, async () => (await queueDepth(aws.sqs, deadLetterQueueUrl)).visible === 1 && drained(queueUrl));

    // THEN the good jobs were done, the bad one is in the DLQ, and the log says why
    expect(seen.sort()).toEqual([1, 3]);
    const dead = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl }));
    expect(dead.Messages![0]!.Body).toBe('{"n": 2,');
    const logged = errors.mock.calls.map((c) => JSON.parse(String(c[0])));
    expect(logged).toContainEqual(expect.objectContaining({ errorName: 'MalformedJobError', errorMessage: expect.stringMatching(/the body is not JSON/) }));
  });

  test('sends a job that fails its schema to the dead-letter queue, naming the field', async () => {
    // GIVEN a handler with a schema and a job whose n is a string
    const { queueUrl, deadLetterQueueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 1, maxReceiveCount: 1 });
    const { z } = await import('zod');
    const run = jest.fn();
    const handler = defineJobHandler(run, { schema: z.object({ n: z.number() }) });
    await new JobClient({ queueUrl }).send([{ n: 'seven' }]);
    const errors = jest.mocked(console.error);

    // WHEN the worker runs
    await work(queueUrl, handler as JobHandler<Job>, async () => (await queueDepth(aws.sqs, deadLetterQueueUrl)).visible === 1);

    // THEN the handler never saw it and the log names the field
    expect(run).not.toHaveBeenCalled();
    const logged = errors.mock.calls.map((c) => JSON.parse(String(c[0])));
    expect(logged).toContainEqual(expect.objectContaining({ errorMessage: expect.stringMatching(/does not match its schema: n: /) }));
  });

  describe('with idempotency', () => {
    let effects: Map<string, number>;
    let handler: JobHandler<Job>;

    beforeEach(async () => {
      process.env[IDEMPOTENCY_TABLE_ENV] = await createIdempotencyTable(aws.dynamodb);
      effects = new Map();
      handler = defineJobHandler<Job>(async (_job, { jobId }) => {
        await new Promise((r) => setTimeout(r, 300)); // long enough for the duplicate to overlap
        effects.set(jobId, (effects.get(jobId) ?? 0) + 1);
        return { ok: true };
      });
    });

    test('applies a job sent twice with the same id once, even when both deliveries run at the same time', async () => {
      // GIVEN the same job twice in the queue, with one job id
      const { queueUrl, deadLetterQueueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 2 });
      const jobId = randomUUID();
      await new JobClient<Job>({ queueUrl, jobId: () => jobId }).send([{ n: 7 }, { n: 7 }]);

      // WHEN the worker takes both in one batch (they run in parallel) until the queue drains
      await work(queueUrl, handler, () => drained(queueUrl));

      // THEN the effect happened once, and both messages were consumed without dead-lettering
      expect(Object.fromEntries(effects)).toEqual({ [jobId]: 1 });
      expect(await queueDepth(aws.sqs, deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
    });

    test('applies the same message delivered to two invocations at once only once', async () => {
      // GIVEN one message, delivered twice (SQS is at-least-once)
      const record = toRecord({ MessageId: randomUUID(), ReceiptHandle: 'r', Body: '{"n":1}' }, 'arn:aws:sqs:us-east-1:123456789012:jobs', 'us-east-1');
      const invoke = () => handler({ Records: [record] }, lambdaContext('fn', () => 30_000)).catch((e: Error) => e);

      // WHEN both deliveries run concurrently, and the one that lost is retried later
      const [a, b] = await Promise.all([invoke(), invoke()]);
      const retry = await invoke();

      // THEN the handler ran once; one delivery failed as in progress; the retry succeeds from the record
      expect(effects.get(record.messageId)).toBe(1);
      const results = [a, b].map((r) => (r instanceof Error ? 'failed' : 'ok')).sort();
      expect(results).toEqual(['failed', 'ok']);
      expect(retry).toEqual({ batchItemFailures: [] });
      expect(effects.get(record.messageId)).toBe(1);
    });
  });
});
