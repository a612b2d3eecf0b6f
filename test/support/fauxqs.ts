/**
 * fauxqs, a fast SQS emulator, for tests and benchmarks: started in a child process bound to
 * 127.0.0.1 on a free port, counting the requests it serves by action, and dying with the
 * process that started it. No jest globals at import time, so benchmarks can use it too.
 *
 * Checked against fauxqs 1.9.2 before relying on it: long polling, visibility timeouts,
 * ChangeMessageVisibility(Batch), DeleteMessageBatch, message attributes, ApproximateReceiveCount,
 * and redrive to a dead-letter queue after maxReceiveCount all behave as SQS does.
 */
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_AWS_ENV } from '../../local/moto';

/** A running fauxqs. */
export interface Fauxqs {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /**
   * SQS requests served so far, by action (`ReceiveMessage`, `DeleteMessageBatch`, ...): all of
   * them, or those naming the queue called `queueName`.
   */
  requestCounts(queueName?: string): Promise<Record<string, number>>;
  /** An SQS client pointed at it, with the local dummy credentials. */
  client(): SQSClient;
  stop(): Promise<void>;
}

const SERVER = path.join(__dirname, 'fauxqs-server.mjs');

/** Starts fauxqs in a child process and resolves once it listens. */
export async function startFauxqs(timeoutMs = 15_000): Promise<Fauxqs> {
  // No inherited execArgv: jest's or esbuild-register's flags mean nothing to an .mjs program.
  const child: ChildProcess = fork(SERVER, [], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`fauxqs did not start within ${timeoutMs} ms:\n${stderr}`)); }, timeoutMs);
    child.on('message', (m: { type?: string; address?: string }) => {
      if (m.type === 'ready') { clearTimeout(timer); resolve(m.address!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`fauxqs exited with ${code} while starting:\n${stderr}`)); });
  });

  let nextId = 0;
  const clients: SQSClient[] = [];
  return {
    endpoint: address,
    requestCounts(queueName?: string) {
      const id = nextId++;
      return new Promise((resolve) => {
        const onMessage = (m: { type?: string; id?: number; counts?: Record<string, number> }) => {
          if (m.type === 'counts' && m.id === id) { child.off('message', onMessage); resolve(m.counts!); }
        };
        child.on('message', onMessage);
        child.send({ type: 'counts', id, queue: queueName });
      });
    },
    client() {
      const client = new SQSClient({ endpoint: address, region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const c of clients) c.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Sum of request counts, optionally of the actions named. */
export function totalRequests(counts: Record<string, number>, actions?: readonly string[]): number {
  return Object.entries(counts).filter(([a]) => !actions || actions.includes(a)).reduce((s, [, n]) => s + n, 0);
}

/** Starts fauxqs for the current test file (jest); fields are filled in `beforeAll`. */
export function useFauxqs(): { fauxqs: Fauxqs; sqs: SQSClient } {
  const ctx = {} as { fauxqs: Fauxqs; sqs: SQSClient };
  beforeAll(async () => {
    ctx.fauxqs = await startFauxqs();
    ctx.sqs = ctx.fauxqs.client();
  });
  afterAll(async () => {
    await ctx.fauxqs?.stop();
  });
  return ctx;
}

/** A queue and its dead-letter queue, as WorkQueue makes them, with short timeouts for tests. */
export async function createQueueWithDlq(
  sqs: SQSClient,
  opts: { name?: string; visibilityTimeout?: number; maxReceiveCount?: number } = {},
): Promise<{ queueUrl: string; deadLetterQueueUrl: string }> {
  const name = opts.name ?? `jobs-${Math.random().toString(36).slice(2, 8)}`;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const queue = await sqs.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: {
      VisibilityTimeout: String(opts.visibilityTimeout ?? 30),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: opts.maxReceiveCount ?? 3 }),
    },
  }));
  return { queueUrl: queue.QueueUrl!, deadLetterQueueUrl: dlq.QueueUrl! };
}
