/**
 * Test support for running code: a moto server on 127.0.0.1, wiped before the file's tests (this
 * jest worker's, started once for the run: test/support/shared-moto.ts; or one of the file's own
 * when the run started none), with the SDK pointed at it through the standard environment
 * variables (as the runtime code reads them in the cloud).
 */
import { CreateTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_AWS_ENV, startMoto, type MotoServer } from '../../local/moto';
import { workerMoto } from './shared-moto';

export interface LocalAws {
  readonly moto: MotoServer;
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
}

/** Starts moto for the current test file; the returned object is filled in `beforeAll`. */
export function useLocalAws(): LocalAws {
  const ctx = {} as { moto: MotoServer; sqs: SQSClient; dynamodb: DynamoDBClient };
  const saved = { ...process.env };
  beforeAll(async () => {
    ctx.moto = (await workerMoto()) ?? await startMoto();
    Object.assign(process.env, LOCAL_AWS_ENV, { AWS_ENDPOINT_URL: ctx.moto.endpoint });
    ctx.sqs = new SQSClient({});
    ctx.dynamodb = new DynamoDBClient({});
  });
  afterAll(async () => {
    ctx.sqs?.destroy();
    ctx.dynamodb?.destroy();
    await ctx.moto?.stop();
    process.env = saved;
  });
  return ctx;
}

/** A queue with a dead-letter queue, as WorkQueue makes it, with a short visibility timeout for tests. */
export async function createWorkQueue(sqs: SQSClient, opts: { name?: string; visibilityTimeout?: number; maxReceiveCount?: number; fifo?: boolean } = {}) {
  const name = opts.name ?? `jobs-${Math.random().toString(36).slice(2, 8)}`;
  const suffix = opts.fifo ? '.fifo' : '';
  const fifoAttrs: Record<string, string> = opts.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {};
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq${suffix}`, Attributes: fifoAttrs }));
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const queue = await sqs.send(new CreateQueueCommand({
    QueueName: `${name}${suffix}`,
    Attributes: {
      ...fifoAttrs,
      VisibilityTimeout: String(opts.visibilityTimeout ?? 1),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: opts.maxReceiveCount ?? 3 }),
    },
  }));
  return { queueUrl: queue.QueueUrl!, deadLetterQueueUrl: dlq.QueueUrl! };
}

/** An idempotency table laid out as LambdaWorker makes it. */
export async function createIdempotencyTable(dynamodb: DynamoDBClient, name = `idem-${Math.random().toString(36).slice(2, 8)}`): Promise<string> {
  await dynamodb.send(new CreateTableCommand({
    TableName: name,
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  return name;
}

/** Number of messages in a queue (visible and in flight). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const out = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: queueUrl,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
  }));
  return { visible: Number(out.Attributes!.ApproximateNumberOfMessages), inFlight: Number(out.Attributes!.ApproximateNumberOfMessagesNotVisible) };
}

/** Polls `check` until it returns true; fails after `timeoutMs` with `what`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000, everyMs = 200): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** All items of a table. */
export async function scanAll(dynamodb: DynamoDBClient, table: string) {
  const out = await dynamodb.send(new ScanCommand({ TableName: table }));
  return out.Items ?? [];
}
