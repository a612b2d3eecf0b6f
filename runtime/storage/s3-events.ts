/**
 * Object-created events as a job handler receives them: the body of each SQS message S3 sends
 * to the work queue (an S3 event notification), parsed into the objects it names. S3 also sends
 * one `s3:TestEvent` when the notification is configured: it names no object.
 *
 * S3 delivers events at least once, each in its own SQS message, so the message id is no job id:
 * {@link objectCreatedJobId} derives one from the object itself (bucket, key and version), so
 * that a duplicate event, or an emulator's extra event for one multipart upload, is the same job.
 */
import { createHash } from 'crypto';


/** One object an event says was created. */
export interface CreatedObject {
  readonly bucket: string;
  /** The key, decoded (S3 sends it URL-encoded, spaces as `+`). */
  readonly key: string;
  readonly size: number;
  readonly eTag?: string;
  readonly versionId?: string;
  /**
   * S3's sequencer of the event: equal for deliveries of one event, increasing with each write
   * of the key. Absent from some emulators' events (moto's).
   */
  readonly sequencer?: string;
  /** E.g. `ObjectCreated:Put`, `ObjectCreated:CompleteMultipartUpload`. */
  readonly eventName: string;
}

/**
 * The objects an S3 event notification names: none for S3's test event; throws (naming the
 * field) for a body that is not an S3 event, so a stray message goes to the dead-letter queue.
 */
export function parseObjectCreatedEvent(raw: unknown): CreatedObject[] {
  const body = raw as { Event?: string; Records?: unknown } | null;
  if (typeof body !== 'object' || body === null) throw new Error(`an S3 event notification is an object, received ${JSON.stringify(raw)}`);
  if (body.Event === 's3:TestEvent') return [];
  if (!Array.isArray(body.Records)) throw new Error(`an S3 event notification has a Records array, received ${JSON.stringify(raw).slice(0, 200)}`);
  return body.Records.map((record: unknown, i: number) => {
    const r = record as { eventName?: string; s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number; eTag?: string; versionId?: string; sequencer?: string } } };
    const key = r.s3?.object?.key;
    const bucket = r.s3?.bucket?.name;
    if (typeof key !== 'string' || typeof bucket !== 'string') throw new Error(`Records[${i}].s3 must name a bucket and an object key, received ${JSON.stringify(r.s3)}`);
    if (typeof r.eventName !== 'string' || !r.eventName.startsWith('ObjectCreated:')) throw new Error(`Records[${i}].eventName must be ObjectCreated:*, received ${JSON.stringify(r.eventName)}`);
    return {
      bucket,
      key: decodeURIComponent(key.replace(/\+/g, ' ')),
      size: r.s3?.object?.size ?? 0,
      eTag: r.s3?.object?.eTag,
      versionId: r.s3?.object?.versionId,
      sequencer: r.s3?.object?.sequencer,
      eventName: r.eventName,
    };
  });
}

/**
 * The job id of an object-created event: a UUID derived from what it names, each object's bucket,
 * key and version: its version id (the buckets SharedStorage makes are versioned), else the
 * event's sequencer, else its ETag (an emulator's event may carry neither). A duplicate delivery
 * of the event, or a second event for the same write, gets the same id; a new write of the key
 * (a new version) gets another. Undefined for S3's test event (no object): its message id then.
 * Give it to `defineJobHandler` as `jobIdFrom`, with `parseObjectCreatedEvent` as the schema.
 */
export function objectCreatedJobId(objects: readonly CreatedObject[]): string | undefined {
  if (objects.length === 0) return undefined;
  const names = objects.map((o) => JSON.stringify([o.bucket, o.key, o.versionId ?? (o.sequencer ? `sequencer:${o.sequencer}` : `etag:${o.eTag ?? ''}`)])).sort();
  const bytes = createHash('sha256').update(`s3-object-created\n${names.join('\n')}`).digest().subarray(0, 16);
  // A name-based UUID (RFC 9562 version 8: the layout is the caller's; the hash here is SHA-256).
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
