/**
 * Object-created jobs get their id from the object, not from the SQS message: S3 delivers events
 * at least once, each in its own message, and moto sends two events for one multipart upload.
 * SharedStorageStack's worker on moto, with idempotency on as the stack deploys it, behind the
 * local SQS event source as Lambda would run it (its own file: the worker keeps its clients, made
 * from the environment, for the life of the module).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { handler, resultKeyFor, type UploadSummary } from '../../../lambda/shared-storage/derive-result';
import { startSqsEventSource, type InvocationOutcome } from '../../../local/sqs-event-source';
import { IDEMPOTENCY_TABLE_ENV } from '../../../runtime/jobs/environment';
import { SharedStorageClient, objectCreatedJobId, parseObjectCreatedEvent } from '../../../runtime/storage';
import { createIdempotencyTable, queueDepth, scanAll, useLocalAws, waitFor } from '../../support/local-aws';
import { createStorageStackResources } from '../../support/storage-stack';

const aws = useLocalAws();

beforeAll(async () => {
  // As SharedStorageStack deploys its worker (idempotency: true).
  process.env[IDEMPOTENCY_TABLE_ENV] = await createIdempotencyTable(aws.dynamodb);
});

/** An S3 event notification body, as S3 sends one per message. */
function event(eventName: string, object: Record<string, unknown>, bucket = 'photos') {
  return { Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', eventName, s3: { bucket: { name: bucket }, object: { size: 3, eTag: 'abc', ...object } } }] };
}

describe('the job id of an object-created event', () => {
  test('is the same for a duplicate delivery and for a second event of the same write; another version, key or bucket is another job', () => {
    const id = (body: unknown) => objectCreatedJobId(parseObjectCreatedEvent(body));
    const put = id(event('ObjectCreated:Put', { key: 'incoming/a.jpg', versionId: 'v1', sequencer: '0055' }));
    expect(put).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id(event('ObjectCreated:Put', { key: 'incoming/a.jpg', versionId: 'v1', sequencer: '0055' }))).toBe(put);
    expect(id(event('ObjectCreated:CompleteMultipartUpload', { key: 'incoming/a.jpg', versionId: 'v1', sequencer: '0055' }))).toBe(put);
    expect(new Set([
      put,
      id(event('ObjectCreated:Put', { key: 'incoming/a.jpg', versionId: 'v2', sequencer: '0066' })),
      id(event('ObjectCreated:Put', { key: 'incoming/b.jpg', versionId: 'v1', sequencer: '0055' })),
      id(event('ObjectCreated:Put', { key: 'incoming/a.jpg', versionId: 'v1', sequencer: '0055' }, 'other')),
    ]).size).toBe(4);
    // without a version (an unversioned bucket), the sequencer tells writes apart
    expect(id(event('ObjectCreated:Put', { key: 'k', sequencer: '01' }))).not.toBe(id(event('ObjectCreated:Put', { key: 'k', sequencer: '02' })));
    // S3's test event names no object: its message id stays the job id
    expect(objectCreatedJobId(parseObjectCreatedEvent({ Service: 'Amazon S3', Event: 's3:TestEvent' }))).toBeUndefined();
  });
});

test('a multipart upload with the aws CLI, and a duplicated event, are one job: one run, one result, one record', async () => {
  // GIVEN the stack's resources, and a 20 MiB file (the CLI uploads it in parts from 8 MiB)
  const logs = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const { s3, bucket, table, queueUrl, deadLetterQueueUrl } = await createStorageStackResources(aws, 'derive-multipart', { visibilityTimeout: 2, maxReceiveCount: 5 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'multipart-'));
  const file = path.join(dir, 'big.bin');
  fs.writeFileSync(file, Buffer.alloc(20 * 1024 * 1024, 'multipart '));

  // WHEN the real aws CLI copies it under incoming/ (moto then sends two object-created events,
  // ObjectCreated:Put and ObjectCreated:CompleteMultipartUpload), and S3 delivers one of them twice
  execFileSync('aws', ['s3', 'cp', file, `s3://${bucket}/incoming/big.bin`, '--endpoint-url', aws.moto.endpoint, '--only-show-errors'], { env: process.env });
  const events: string[] = [];
  await waitFor('the upload\'s events', async () => {
    const out = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 0 }));
    for (const m of out.Messages ?? []) if (!events.includes(m.Body!) && m.Body!.includes('big.bin')) events.push(m.Body!);
    return events.length >= 2;
  }, 15_000);
  await aws.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: events[0] }));
  const outcomes: InvocationOutcome[] = [];
  const source = startSqsEventSource({ sqs: aws.sqs, queueUrl, invoke: (event, context) => handler(event, context), maxConcurrency: 1, onInvoke: (o) => outcomes.push(o) });
  try {
    await waitFor('the upload to be recorded and the queue to drain', async () => {
      const recorded = (await scanAll(aws.dynamodb, table)).length > 0;
      const d = await queueDepth(aws.sqs, queueUrl);
      return recorded && d.visible === 0 && d.inFlight === 0;
    }, 30_000);
  } finally {
    await source.stop();
  }

  // THEN the three messages were one job: its work ran once (a duplicate running at the same time
  // was retried after its visibility timeout and then skipped), and the upload has one record
  const runs = logs.mock.calls.map((c) => String(c[0])).filter((line) => line.includes('"derived"') && line.includes('incoming/big.bin'));
  const records = (await scanAll(aws.dynamodb, table)).filter((i) => i.data.M!.source.S === 'incoming/big.bin');
  expect({ events: events.length + 1, runs: runs.length, records: records.length }).toEqual({ events: 3, runs: 1, records: 1 });
  expect(await queueDepth(aws.sqs, deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  const summary = JSON.parse(Buffer.from(await new SharedStorageClient({ bucket, s3 }).get(resultKeyFor('incoming/big.bin'))).toString()) as UploadSummary;
  expect(summary.bytes).toBe(20 * 1024 * 1024);
  fs.rmSync(dir, { recursive: true, force: true });
  s3.destroy();
}, 60_000);
