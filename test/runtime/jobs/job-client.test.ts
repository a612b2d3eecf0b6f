/**
 * JobClient against a real SQS emulator (fauxqs), with the fault proxy for what it cannot
 * produce (entries SQS fails): the README's promises about sending jobs, each with its test.
 */
import { randomUUID } from 'crypto';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { JOBS_QUEUE_URL_ENV, JOB_ID_ATTRIBUTE } from '../../../contracts/work-queue';
import { JobClient, JobSendError, JobTooLargeError } from '../../../runtime/index';
import { createQueueWithDlq, useFauxqs } from '../../support/fauxqs';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy';

const aws = useFauxqs();

/** Every message of a queue, each deleted once received (a FIFO group delivers its next one only then), up to `expected`. */
async function drain(sqs: SQSClient, queueUrl: string, expected: number): Promise<Message[]> {
  const got: Message[] = [];
  for (let i = 0; i < 50 && got.length < expected; i++) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], AttributeNames: ['All'], WaitTimeSeconds: 0 }));
    for (const m of out.Messages ?? []) await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    got.push(...(out.Messages ?? []));
  }
  return got;
}

describe('JobClient', () => {
  test('sends jobs in batches of at most 10 and returns their ids in the order given, each a UUID in the jobId attribute', async () => {
    // GIVEN a queue and a client counting its requests through a proxy
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const proxy = await startFaultProxy(aws.fauxqs.endpoint);
    try {
      const client = new JobClient<{ n: number }>({ queueUrl, sqs: new SQSClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }) });
      // WHEN 25 jobs are sent
      const sent = await client.send(Array.from({ length: 25 }, (_, n) => ({ n })));
      // THEN three batch requests carried them, and the results are in the order given
      expect(proxy.seen.SendMessageBatch).toBe(3);
      expect(sent).toHaveLength(25);
      const messages = await drain(aws.sqs, queueUrl, 25);
      const byJobId = new Map(messages.map((m) => [m.MessageAttributes![JOB_ID_ATTRIBUTE]!.StringValue!, JSON.parse(m.Body!) as { n: number }]));
      expect(sent.map((s) => byJobId.get(s.jobId)!.n)).toEqual(Array.from({ length: 25 }, (_, n) => n));
      for (const s of sent) expect(s.jobId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      await proxy.stop();
    }
  });

  test('splits a batch so that no request carries more than 1 MiB', async () => {
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const proxy = await startFaultProxy(aws.fauxqs.endpoint);
    try {
      const client = new JobClient<{ pad: string }>({ queueUrl, sqs: new SQSClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }) });
      // WHEN four jobs of 300 KiB are sent (10 would fit in one batch by count, not by size)
      const sent = await client.send(Array.from({ length: 4 }, () => ({ pad: 'x'.repeat(300 * 1024) })));
      // THEN they went as 3 + 1
      expect(sent).toHaveLength(4);
      expect(proxy.seen.SendMessageBatch).toBe(2);
    } finally {
      await proxy.stop();
    }
  });

  test('a job over the size limit throws JobTooLargeError naming it, and nothing is sent', async () => {
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const client = new JobClient<{ pad: string }>({ queueUrl, sqs: aws.sqs });
    const error = await client.send([{ pad: 'ok' }, { pad: 'x'.repeat(1_048_576) }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobTooLargeError);
    expect((error as JobTooLargeError).index).toBe(1);
    expect((error as Error).message).toMatch(/job #1 is \d+ bytes as JSON, over the queue's limit of 1048576 bytes; nothing was sent/);
    expect(await drain(aws.sqs, queueUrl, 1)).toEqual([]);
  });

  test('retries the entries SQS failed, with back-off, until they are sent', async () => {
    // GIVEN SQS failing every entry of the first batch request with a server fault
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const proxy = await startFaultProxy(aws.fauxqs.endpoint);
    let failedOnce = false;
    proxy.setRule((request) => {
      if (request.action !== 'SendMessageBatch' || failedOnce) return undefined;
      failedOnce = true;
      const ids = (JSON.parse(request.body) as { Entries: { Id: string }[] }).Entries.map((e) => e.Id);
      return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify({ Successful: [], Failed: ids.map((Id) => ({ Id, SenderFault: false, Code: 'InternalError', Message: 'try again' })) }) };
    });
    try {
      const client = new JobClient<{ n: number }>({ queueUrl, retryBaseDelayMs: 5, sqs: new SQSClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }) });
      // WHEN three jobs are sent
      const sent = await client.send([{ n: 0 }, { n: 1 }, { n: 2 }]);
      // THEN the second request sent them, once each
      expect(proxy.seen.SendMessageBatch).toBe(2);
      expect(sent).toHaveLength(3);
      expect((await drain(aws.sqs, queueUrl, 3)).map((m) => JSON.parse(m.Body!).n).sort()).toEqual([0, 1, 2]);
    } finally {
      await proxy.stop();
    }
  });

  test('jobs SQS refuses for good throw JobSendError listing what was and was not sent', async () => {
    // GIVEN SQS refusing job #1 as the sender's fault (not retried), accepting the others
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const proxy: FaultProxy = await startFaultProxy(aws.fauxqs.endpoint);
    proxy.setRule((request) => {
      if (request.action !== 'SendMessageBatch') return undefined;
      const entries = (JSON.parse(request.body) as { Entries: { Id: string }[] }).Entries;
      if (!entries.some((e) => e.Id === '1')) return undefined;
      return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify({ Successful: [], Failed: entries.map((e) => ({ Id: e.Id, SenderFault: e.Id === '1', Code: e.Id === '1' ? 'InvalidMessageContents' : 'InternalError', Message: 'no' })) }) };
    });
    try {
      const client = new JobClient<{ n: number }>({ queueUrl, retryBaseDelayMs: 5, maxAttempts: 2, sqs: new SQSClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }) });
      // WHEN three jobs are sent
      const error = await client.send([{ n: 0 }, { n: 1 }, { n: 2 }]).catch((e: unknown) => e) as JobSendError;
      // THEN job #1 is reported as not sent, with its code, after one attempt (a sender fault is not retried)
      expect(error).toBeInstanceOf(JobSendError);
      expect(error.message).toMatch(/^JobClient: 1 of 3 jobs were not sent \(#1 InvalidMessageContents: no\)\.$/);
      expect(error.failed.map((f) => [f.index, f.code])).toEqual([[1, 'InvalidMessageContents']]);
      // AND the others were retried and sent, and are listed in the order given
      const received = await drain(aws.sqs, queueUrl, 2);
      const nOf = new Map(received.map((m) => [m.MessageAttributes![JOB_ID_ATTRIBUTE]!.StringValue!, JSON.parse(m.Body!).n as number]));
      expect(error.sent.map((s) => nOf.get(s.jobId))).toEqual([0, 2]);
    } finally {
      await proxy.stop();
    }
  });

  test('on a FIFO queue, sends each job in the group groupId gives it, deduplicated by its job id', async () => {
    const name = `orders-${Math.random().toString(36).slice(2, 8)}.fifo`;
    const queueUrl = (await aws.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: 'true' } }))).QueueUrl!;
    const client = new JobClient<{ account: string; n: number }>({ queueUrl, sqs: aws.sqs, groupId: (job) => job.account });
    await client.send([{ account: 'a', n: 1 }, { account: 'b', n: 1 }, { account: 'a', n: 2 }]);
    const messages = await drain(aws.sqs, queueUrl, 3);
    expect(messages.map((m) => [m.Attributes!.MessageGroupId, JSON.parse(m.Body!).n]).sort()).toEqual([['a', 1], ['a', 2], ['b', 1]]);
    expect(messages.map((m) => m.Attributes!.MessageDeduplicationId)).toEqual(messages.map((m) => m.MessageAttributes![JOB_ID_ATTRIBUTE]!.StringValue));
    expect(() => new JobClient({ queueUrl, sqs: aws.sqs })).toThrow(/groupId is required for the FIFO queue .*\.fifo/);
  });

  test('takes a job\'s own id from jobId, and refuses one that is not a UUID', async () => {
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const orderId = randomUUID();
    const client = new JobClient<{ orderId: string }>({ queueUrl, sqs: aws.sqs, jobId: (job) => job.orderId });
    expect((await client.send([{ orderId }]))[0]!.jobId).toBe(orderId);
    await expect(client.send([{ orderId: 'order-7' }])).rejects.toThrow(/the jobId of job #0 must be a UUID, received "order-7"/);
  });

  test('fromEnvironment finds the queue WorkQueue.environment names, and says which variable is missing', async () => {
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const client = JobClient.fromEnvironment<{ n: number }>({ sqs: aws.sqs }, { [JOBS_QUEUE_URL_ENV]: queueUrl });
    expect(await client.send([{ n: 1 }])).toHaveLength(1);
    expect(() => JobClient.fromEnvironment({}, {})).toThrow(/JobClient.fromEnvironment: CLOUD_PATTERNS_JOBS_QUEUE_URL is not set/);
  });
});
