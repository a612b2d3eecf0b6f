/**
 * SharedStorageStack's worker on moto: uploads under incoming/ become S3 events on the work
 * queue (configured as the stack deploys them), the handler runs behind the local SQS event
 * source as Lambda would run it, with idempotency on as the stack deploys it, and each upload
 * ends as one result object and one record (a duplicated event: object-created-jobs.test.ts).
 */
import { handler, resultKeyFor, type UploadSummary } from '../../../lambda/shared-storage/derive-result';
import { startSqsEventSource, type InvocationOutcome } from '../../../local/sqs-event-source';
import { IDEMPOTENCY_TABLE_ENV } from '../../../runtime/jobs/environment';
import { SharedStorageClient } from '../../../runtime/storage';
import { createIdempotencyTable, queueDepth, scanAll, useLocalAws, waitFor } from '../../support/local-aws';
import { createStorageStackResources } from '../../support/storage-stack';

const aws = useLocalAws();

beforeAll(async () => {
  // As SharedStorageStack deploys its worker (idempotency: true).
  process.env[IDEMPOTENCY_TABLE_ENV] = await createIdempotencyTable(aws.dynamodb);
});

test('each upload under incoming/ becomes exactly one job, one result object and one record', async () => {
  // GIVEN the bucket, records table and work queue, with object-created events of incoming/ sent to the queue
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const { s3, bucket: BUCKET, table: TABLE, queueUrl, deadLetterQueueUrl } = await createStorageStackResources(aws, 'derive-result-test');

  // WHEN two files are uploaded under incoming/ (and one elsewhere), and the worker runs
  const storage = new SharedStorageClient({ bucket: BUCKET, s3 });
  await storage.upload('incoming/notes/a.txt', 'one two three\nfour five\n');
  await storage.upload('incoming/b.txt', 'six');
  await storage.upload('elsewhere/c.txt', 'not a job');
  const outcomes: InvocationOutcome[] = [];
  const source = startSqsEventSource({ sqs: aws.sqs, queueUrl, invoke: (event, context) => handler(event, context), maxConcurrency: 2, onInvoke: (o) => outcomes.push(o) });
  try {
    await waitFor('the worker to record both uploads', async () => (await scanAll(aws.dynamodb, TABLE)).length >= 2, 30_000);
    await waitFor('the queue to drain', async () => {
      const d = await queueDepth(aws.sqs, queueUrl);
      return d.visible === 0 && d.inFlight === 0;
    }, 15_000);
  } finally {
    await source.stop();
  }

  // THEN each upload has one result, with its summary, and one record under its job's id
  const summary = JSON.parse(Buffer.from(await storage.get(resultKeyFor('incoming/notes/a.txt'))).toString()) as UploadSummary;
  expect(summary).toMatchObject({ source: 'incoming/notes/a.txt', result: 'results/notes/a.txt.summary.json', bytes: 24, lines: 2, words: 5 });
  const items = await scanAll(aws.dynamodb, TABLE);
  expect(items.map((i) => i.data.M!.source.S).sort()).toEqual(['incoming/b.txt', 'incoming/notes/a.txt']);
  expect(items.every((i) => i.id.S === i.data.M!.jobId.S && i.version.N === '1')).toBe(true);
  // AND nothing failed (S3's test event was taken as a job with no object), nothing was dead-lettered
  expect(outcomes.reduce((n, o) => n + o.failed + (o.error ? 1 : 0), 0)).toBe(0);
  expect(await queueDepth(aws.sqs, deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  await expect(storage.exists('results/c.txt.summary.json')).resolves.toBe(false);
  s3.destroy();
});
