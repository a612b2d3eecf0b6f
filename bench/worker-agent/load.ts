/** Fills a benchmark queue with jobs, sent as a producer would: JobClient batches of 10, a few batches in parallel. */
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { JobClient } from '../../runtime/jobs/job-client';

/** Creates a fresh queue (30 s visibility timeout) and returns its URL and name. */
export async function createQueue(sqs: SQSClient, prefix: string): Promise<{ queueUrl: string; name: string }> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '30' } }));
  return { queueUrl: out.QueueUrl!, name };
}

/** Sends `count` jobs ({ n }) to the queue. */
export async function fillQueue(sqs: SQSClient, queueUrl: string, count: number): Promise<void> {
  const client = new JobClient<{ n: number }>({ queueUrl, sqs });
  const lanes = 8;
  const perLane = Math.ceil(count / lanes);
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    const from = lane * perLane;
    const to = Math.min(count, from + perLane);
    // JobClient batches by 10; sending 100 at a time keeps each lane's calls sequential.
    for (let i = from; i < to; i += 100) {
      await client.send(Array.from({ length: Math.min(100, to - i) }, (_, k) => ({ n: i + k })));
    }
  }));
}
