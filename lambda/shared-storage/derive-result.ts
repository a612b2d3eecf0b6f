/**
 * The worker of SharedStorageStack: every upload under `incoming/` arrives as a job (the S3
 * event S3 sent to the work queue). It reads the upload, derives a summary of it (size, SHA-256,
 * lines, words), writes the summary under `results/` and records it in the shared-records table,
 * all before the job's message is deleted, so a worker that dies mid-job loses nothing.
 *
 * The job's id is derived from the object (bucket, key and version: objectCreatedJobId), not
 * from the SQS message: S3 delivers events at least once, and an emulator sends two for one
 * multipart upload, so a duplicate event is the same job, which idempotency skips. A rerun (a
 * redelivered message) writes the same summary again and finds its record already there: the
 * record is created once, under the job's id.
 */
import { createHash } from 'crypto';
import { STORAGE_STACK_INCOMING_PREFIX, storageStackResultKey } from '../../contracts/shared-storage';
import { defineJobHandler } from '../../runtime/jobs/define-job-handler';
import { objectCreatedJobId, parseObjectCreatedEvent, RecordConflictError, SharedRecords, SharedStorageClient, type CreatedObject } from '../../runtime/storage';

/** What the worker records for each upload. */
export interface UploadSummary extends Record<string, unknown> {
  readonly source: string;
  readonly result: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly lines: number;
  readonly words: number;
  readonly jobId: string;
}

let clients: { storage: SharedStorageClient; records: SharedRecords<UploadSummary> } | undefined;

/** The clients, made on first use from the environment SharedStorage set (so a bad one fails the job, not the import). */
function connect() {
  clients ??= { storage: SharedStorageClient.fromEnvironment(), records: SharedRecords.fromEnvironment<UploadSummary>() };
  return clients;
}

/** Where the summary of an upload goes (the contract's rule, which the local cloud's demo checks). */
export const resultKeyFor = storageStackResultKey;

export const handler = defineJobHandler<CreatedObject[], { results: string[] }>(
  async (objects, { jobId, log }) => {
    const { storage, records } = connect();
    const results: string[] = [];
    for (const [i, object] of objects.entries()) {
      if (!object.key.startsWith(STORAGE_STACK_INCOMING_PREFIX)) {
        log.warn('not an upload under incoming/: skipped', { key: object.key });
        continue;
      }
      const body = Buffer.from(await storage.get(object.key));
      const text = body.toString('utf8');
      const result = resultKeyFor(object.key);
      const summary: UploadSummary = {
        source: object.key,
        result,
        bytes: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
        lines: text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0),
        words: text.split(/\s+/).filter(Boolean).length,
        jobId,
      };
      await storage.upload(result, JSON.stringify(summary, null, 2), { contentType: 'application/json' });
      try {
        await records.create(summary, { id: i === 0 ? jobId : `${jobId}-${i}` });
      } catch (e) {
        if (!(e instanceof RecordConflictError)) throw e;
        log.warn('already recorded by an earlier attempt; its record stands', { key: object.key });
      }
      log.info('derived', { source: object.key, result, bytes: summary.bytes });
      results.push(result);
    }
    return { results };
  },
  { schema: parseObjectCreatedEvent, jobIdFrom: objectCreatedJobId },
);
