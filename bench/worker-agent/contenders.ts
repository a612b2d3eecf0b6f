/**
 * The two sides of the worker-agent benchmark, each running the same job (20 ms of simulated
 * I/O) until a given number of jobs has been handled: our agent (startWorker) and sqs-consumer,
 * the library Node users pick, in the configurations the benchmark compares.
 */
import { setTimeout as sleep } from 'timers/promises';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import { defineJobHandler } from '../../runtime/jobs/define-job-handler';
import { startWorker } from '../../runtime/worker-agent/worker';

/** The simulated job: 20 ms of waiting on I/O. */
export const JOB_MS = 20;

/** How a contender's run went. */
export interface ContenderRun {
  /** From start to the last job handled, in ms. */
  readonly ms: number;
  readonly handled: number;
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Runs the agent until `jobs` have been handled, then stops it (deletes flushed). */
export async function runAgent(sqs: SQSClient, queueUrl: string, jobs: number, concurrency: number): Promise<ContenderRun> {
  let handled = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => { resolveAll = resolve; });
  const handler = defineJobHandler(async () => {
    await sleep(JOB_MS);
    if (++handled === jobs) resolveAll();
  });
  const startedAt = Date.now();
  const worker = startWorker({ queueUrl, handler, sqs, concurrency, idempotency: false, logger: quiet });
  await all;
  const ms = Date.now() - startedAt;
  // The last handlers have returned; let the worker settle them (queue their deletes) before
  // stopping, or a stop with bound 0 would release them instead.
  while (worker.stats.jobsSucceeded < jobs) await sleep(1);
  // Bound 0: nothing is running; waiting for the last empty long polls would only add idle time.
  await worker.stop(0);
  const { messagesDeleted, jobsReleased } = worker.stats;
  if (messagesDeleted !== jobs || jobsReleased !== 0) throw new Error(`agent: ${messagesDeleted} deleted and ${jobsReleased} released of ${jobs}`);
  return { ms, handled };
}

/** The sqs-consumer configurations tried: its options, and whether it acknowledges per message or per batch. */
export interface ConsumerSetup {
  readonly label: string;
  readonly batchSize: number;
  /** handleMessageBatch (one DeleteMessageBatch per batch) rather than handleMessage (one DeleteMessage per message). */
  readonly batchHandler: boolean;
  /** Consumer instances in the process (a deployment choice, not a setting of the library). */
  readonly instances: number;
}

/** Runs sqs-consumer until `jobs` have been handled, then stops it. */
export async function runSqsConsumer(sqs: SQSClient, queueUrl: string, jobs: number, setup: ConsumerSetup): Promise<ContenderRun> {
  let handled = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => { resolveAll = resolve; });
  const handleOne = async (message: Message) => {
    JSON.parse(message.Body ?? 'null'); // as the agent parses each job
    await sleep(JOB_MS);
    if (++handled === jobs) resolveAll();
    return message;
  };
  const consumers = Array.from({ length: setup.instances }, () => Consumer.create({
    queueUrl,
    sqs,
    batchSize: setup.batchSize,
    waitTimeSeconds: 20,
    pollingWaitTimeMs: 0,
    ...(setup.batchHandler
      ? { handleMessageBatch: (messages: Message[]) => Promise.all(messages.map(handleOne)) }
      : { handleMessage: handleOne }),
  }));
  let stopping = false;
  for (const c of consumers) c.on('error', (e) => { if (!stopping) console.error(`sqs-consumer error: ${e.message}`); });
  const startedAt = Date.now();
  for (const c of consumers) c.start();
  await all;
  const ms = Date.now() - startedAt;
  // Its deletes follow the handler; give the last ones a moment, then stop and cancel idle polls.
  await sleep(200);
  stopping = true;
  for (const c of consumers) c.stop({ abort: true });
  return { ms, handled };
}

/** Starts an idle agent or sqs-consumer on an empty queue; returns a function that stops it. */
export function startIdle(kind: 'agent' | 'sqs-consumer', sqs: SQSClient, queueUrl: string): () => Promise<void> {
  if (kind === 'agent') {
    const worker = startWorker({ queueUrl, handler: defineJobHandler(() => undefined), sqs, idempotency: false, logger: quiet });
    return async () => { await worker.stop(0); };
  }
  const consumer = Consumer.create({ queueUrl, sqs, batchSize: 10, waitTimeSeconds: 20, handleMessage: async (m: Message) => m });
  consumer.on('error', () => undefined); // its aborted poll at stop
  consumer.start();
  return async () => { consumer.stop({ abort: true }); };
}
