/**
 * What the page shows of the farm, fleet workers (the group's desired capacity) and backlog (jobs
 * waiting or running on a queue), read at most once per {@link FLEET_STATUS_TTL_MS} per server
 * whatever the number of open pages: each reading is cached for that long and shared by the
 * requests that arrive while it is being read. DescribeAutoScalingGroups and GetQueueAttributes
 * have account-wide rate limits that the fleet's own agents share (scale-in protection), so a page
 * polling every second must not turn into a call per poll.
 */
import { DescribeAutoScalingGroupsCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** How long a reading is reused, per server. */
export const FLEET_STATUS_TTL_MS = 5_000;

/** A value read at most once per `ttlMs`; concurrent callers share the read in progress. */
export class CachedReading<T> {
  private value?: { readonly at: number; readonly value: T };
  private reading?: Promise<T>;

  constructor(private readonly read: () => Promise<T>, private readonly ttlMs: number, private readonly clock: () => number = Date.now) {}

  get(): Promise<T> {
    if (this.value && this.clock() - this.value.at < this.ttlMs) return Promise.resolve(this.value.value);
    this.reading ??= this.read().then((value) => {
      this.value = { at: this.clock(), value };
      return value;
    }).finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }
}

/** Fleet workers now (the group's desired capacity), or null when the group cannot be described. */
export async function readFleetWorkers(autoscaling: AutoScalingClient, groupName: string): Promise<number | null> {
  const out = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] })).catch(() => undefined);
  return out?.AutoScalingGroups?.[0]?.DesiredCapacity ?? null;
}

/** Jobs waiting or running on a queue, or null when it cannot be read. */
export async function readBacklog(sqs: SQSClient, queueUrl: string): Promise<number | null> {
  const out = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: queueUrl,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
  })).catch(() => undefined);
  if (!out?.Attributes) return null;
  return Number(out.Attributes.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}
