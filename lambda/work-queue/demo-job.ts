/**
 * The demo worker of WorkQueueStack and FleetWorkerStack: "renders" a job (hashes its text a
 * number of times) and pushes the result to the results table before the message is deleted.
 *
 * The write is the job's effect, and it is idempotent by itself: it only creates the job's item
 * (`doneCount = 1`). Idempotency records skip a job that already finished; the conditional write
 * covers the one gap they leave, a worker that died after writing but before the record said
 * "finished". The run that finds the item adds 1 to `reruns` instead, so reruns stay visible.
 */
import { createHash } from 'crypto';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { defineJobHandler } from '../../runtime/jobs/define-job-handler';

/** A demo job. */
export interface DemoJob {
  /** What to render. */
  readonly text: string;
  /** How many rounds of hashing (1 to 100,000): a stand-in for CPU work. */
  readonly rounds: number;
  /** When true the job throws: shows a failing job retried, then dead-lettered. */
  readonly fail?: boolean;
}

const dynamodb = new DynamoDBClient({});

function parseDemoJob(raw: unknown): DemoJob {
  const job = raw as Partial<DemoJob> | null;
  if (typeof job !== 'object' || job === null) throw new Error(`a demo job is an object, received ${JSON.stringify(raw)}`);
  if (typeof job.text !== 'string' || job.text.length === 0) throw new Error(`text must be a non-empty string, received ${JSON.stringify(job.text)}`);
  const rounds = job.rounds ?? 1;
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100_000) throw new Error(`rounds must be an integer from 1 to 100000, received ${JSON.stringify(job.rounds)}`);
  return { text: job.text, rounds, fail: job.fail === true };
}

export const handler = defineJobHandler<DemoJob, { digest: string }>(
  async (job, { jobId, attempt, log }) => {
    if (job.fail) throw new Error(`demo job ${jobId} was asked to fail (attempt ${attempt})`);
    let digest = job.text;
    for (let i = 0; i < job.rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
    const table = process.env.RESULTS_TABLE;
    if (!table) throw new Error('RESULTS_TABLE is not set: deploy the worker with WorkQueueStack, which sets it.');
    try {
      await dynamodb.send(new UpdateItemCommand({
        TableName: table,
        Key: { jobId: { S: jobId } },
        UpdateExpression: 'SET digest = :d, finishedAt = :t, doneCount = :one',
        ConditionExpression: 'attribute_not_exists(jobId)',
        ExpressionAttributeValues: { ':d': { S: digest }, ':t': { S: new Date().toISOString() }, ':one': { N: '1' } },
      }));
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
      // An earlier attempt wrote the result and died before it was recorded: the effect stands.
      await dynamodb.send(new UpdateItemCommand({
        TableName: table,
        Key: { jobId: { S: jobId } },
        UpdateExpression: 'ADD reruns :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }));
      log.warn('already rendered by an earlier attempt; its result stands', { attempt });
      return { digest };
    }
    log.info('rendered', { rounds: job.rounds });
    return { digest };
  },
  { schema: parseDemoJob },
);
