/**
 * The local cloud's upload demo (local/upload-demo.ts) against moto and SharedStorageStack's real
 * worker: the uploads it sends become jobs, summaries and records, and its check passes; then
 * the check fails, naming the upload, when a summary is wrong or a second record names one.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { storageStackResultKey } from '../../contracts/shared-storage';
import { handler } from '../../lambda/shared-storage/derive-result';
import { startSqsEventSource } from '../../local/sqs-event-source';
import { demoFileContent, sendDemoUploads, uploadDemo, uploadDemoStatus, type UploadDemoTarget } from '../../local/upload-demo';
import { SharedRecords } from '../../runtime/storage';
import { queueDepth, useLocalAws, waitFor } from '../support/local-aws';
import { createStorageStackResources } from '../support/storage-stack';

const aws = useLocalAws();

test('the uploads become summaries and one record each, and the check finds a wrong summary or a second record', async () => {
  // GIVEN SharedStorageStack's resources and its worker behind the local SQS event source
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const r = await createStorageStackResources(aws, 'upload-demo');
  const target: UploadDemoTarget = { stackName: 'SharedStorageStack', bucketName: r.bucket, recordsTable: r.table, queueUrl: r.queueUrl, deadLetterQueueUrl: r.deadLetterQueueUrl };
  const clients = { s3: r.s3, dynamodb: aws.dynamodb, sqs: aws.sqs };
  const source = startSqsEventSource({ sqs: aws.sqs, queueUrl: r.queueUrl, invoke: (event, context) => handler(event, context), maxConcurrency: 2 });
  try {
    // WHEN the demo uploads 3 files
    const run = await sendDemoUploads(target, r.s3, 3);
    const demo = uploadDemo(run, clients);
    expect(run.uploads.map((u) => u.key)).toEqual([1, 2, 3].map((i) => expect.stringMatching(new RegExp(`^incoming/demo-\\d+/file-${i}\\.txt$`))));
    expect(run.uploads[2]!.bytes).toBe(Buffer.byteLength(demoFileContent(3, 3)));

    // THEN each becomes a summary and a record, and the check is clean
    await waitFor('every upload done', async () => (await demo.progress()).done === 3, 30_000);
    await waitFor('the queue to drain', async () => {
      const d = await queueDepth(aws.sqs, r.queueUrl);
      return d.visible === 0 && d.inFlight === 0;
    }, 15_000);
    expect(await demo.progress()).toEqual({ done: 3 });
    expect(await demo.problems()).toEqual([]);
    await source.stop();

    // AND WHEN one summary is wrong and a second record names another upload
    const [first, second] = run.uploads;
    await r.s3.send(new PutObjectCommand({ Bucket: r.bucket, Key: storageStackResultKey(first!.key), Body: JSON.stringify({ sha256: '0'.repeat(64), bytes: first!.bytes }) }));
    await new SharedRecords({ tableName: r.table, dynamodb: aws.dynamodb }).create({ source: second!.key });

    // THEN the check names both, and the progress no longer counts them
    const problems = await demo.problems();
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^SharedStorageStack: ${first!.key}: its summary says \\d+ bytes, SHA-256 0{64}; it was \\d+ bytes, [0-9a-f]{64}$`)),
      `SharedStorageStack: ${second!.key}: 2 records name it, not 1`,
    ]);
    expect((await uploadDemoStatus(run, clients)).done).toBe(1);
  } finally {
    await source.stop();
    r.s3.destroy();
  }
});
