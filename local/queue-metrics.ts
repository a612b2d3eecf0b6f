/**
 * What a queue's consumers did, as CloudWatch tells it: the embedded AWS publishes SQS's
 * `NumberOfMessagesDeleted` (a worker deletes a job's message once the job is done, whoever sent
 * it) and, of its own, `ReceiveMessageCalls` (each ReceiveMessage as it starts: a worker polling)
 * (local/moto_launcher.py). Read with CloudWatch's GetMetricStatistics in one Query call, as the
 * account is read from STS (local/aws-query.ts): the package has no CloudWatch client.
 */
import { queryCall } from './aws-query';

/** A metric of one queue, and its namespace. */
export const QUEUE_METRICS = {
  /** SQS's own: messages deleted (jobs finished), per queue. */
  deleted: { namespace: 'AWS/SQS', name: 'NumberOfMessagesDeleted' },
  /** The local cloud's: ReceiveMessage calls started on the queue (long polls included). */
  receiveCalls: { namespace: 'cdk-cloud-patterns/local-cloud', name: 'ReceiveMessageCalls' },
} as const;

/** The queue name of a queue URL (its last path segment). */
export function queueNameOf(queueUrl: string): string {
  return queueUrl.split('/').pop()!;
}

/**
 * The sum of `metric` for the queue at `queueUrl` since `sinceMs` (epoch ms), from the embedded
 * AWS at `endpoint`. Throws when the embedded AWS does not answer 200.
 */
export async function queueMetricSum(endpoint: string, queueUrl: string, metric: (typeof QUEUE_METRICS)[keyof typeof QUEUE_METRICS], sinceMs: number): Promise<number> {
  const minute = 60_000;
  const params: Record<string, string> = {
    Action: 'GetMetricStatistics',
    Version: '2010-08-01',
    Namespace: metric.namespace,
    MetricName: metric.name,
    'Dimensions.member.1.Name': 'QueueName',
    'Dimensions.member.1.Value': queueNameOf(queueUrl),
    // Whole seconds (CloudWatch drops the milliseconds): a second earlier, so nothing since is left out.
    StartTime: new Date(Math.floor(sinceMs / 1000) * 1000 - 1000).toISOString(),
    EndTime: new Date(Date.now() + minute).toISOString(),
    Period: '60',
    'Statistics.member.1': 'Sum',
  };
  const { status, xml: body } = await queryCall(endpoint, 'monitoring', params);
  if (status !== 200) throw new Error(`CloudWatch GetMetricStatistics of ${metric.name} answered ${status}: ${body.slice(0, 200)}`);
  return [...body.matchAll(/<Sum>([^<]+)<\/Sum>/g)].reduce((n, m) => n + Number(m[1]), 0);
}
