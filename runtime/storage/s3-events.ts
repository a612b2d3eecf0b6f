/**
 * Object-created events as a job handler receives them: the body of each SQS message S3 sends
 * to the work queue (an S3 event notification), parsed into the objects it names. S3 also sends
 * one `s3:TestEvent` when the notification is configured: it names no object.
 */

/** One object an event says was created. */
export interface CreatedObject {
  readonly bucket: string;
  /** The key, decoded (S3 sends it URL-encoded, spaces as `+`). */
  readonly key: string;
  readonly size: number;
  readonly eTag?: string;
  readonly versionId?: string;
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
    const r = record as { eventName?: string; s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number; eTag?: string; versionId?: string } } };
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
      eventName: r.eventName,
    };
  });
}
