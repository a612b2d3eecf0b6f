/**
 * Test support for running code: a moto server on 127.0.0.1, wiped before the file's tests (this
 * jest worker's, started once for the run: test/support/shared-moto.ts; or one of the file's own
 * when the run started none), with the SDK pointed at it through the standard environment
 * variables (as the runtime code reads them in the cloud).
 */
import * as fs from 'fs';
import * as net from 'net';
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

/** The lowest port of the system's ephemeral range (Linux), where listen(0) and client sockets take theirs. */
function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 21_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** True when this process can bind 127.0.0.1:port now (it closes it again at once). */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port on 127.0.0.1 for a process started later to bind (`--port`, a moto the local cloud
 * starts seconds afterwards). Picked below the system's ephemeral range and checked by binding it:
 * there, none of the suite's other servers (listen(0)) or client sockets is given it meanwhile.
 * freePort() picks inside that range, so the port it freed could go to another server first (a
 * command line run once found "port ... is already in use" that way).
 */
export async function portForChild(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * (low - 20_000));
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port found from 20000 to ${low - 1} on 127.0.0.1 in 100 tries`);
}
