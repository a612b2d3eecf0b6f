/**
 * Fencing an S3 object the lock protects, with S3's conditional writes: the object carries its
 * writer's token in metadata (`x-amz-meta-fencing-token`), and a fenced PUT reads it (HEAD),
 * refuses (FencedOutError) when it is higher than the writer's, and otherwise writes with
 * `If-Match: <the ETag it read>` (`If-None-Match: *` when there is no object), so S3 refuses the
 * write if anyone wrote in between; it then reads again and decides again.
 *
 * When it holds:
 * - every writer of the key goes through this helper (a plain PUT carries no token);
 * - S3 enforces the condition atomically, as AWS S3 does (conditional PUTs, general purpose
 *   buckets, since 2024). moto 5.2.1 checks `If-Match` and `If-None-Match: *` on PutObject but
 *   not atomically with the write, so two racing writes can both pass there; the refusal of an
 *   older holder that writes after a newer one (the case fencing is for) holds in both;
 * - an ETag names one write: it is the MD5 of the content (of a single PUT without SSE-KMS), so a
 *   newer holder that rewrites the very bytes already stored between an older holder's HEAD and
 *   PUT leaves the ETag unchanged, and the older write passes. Where that matters, make each
 *   write's bytes differ (a version or timestamp in the content), or fence in DynamoDB
 *   (putItemFenced) and keep only immutable, content-addressed objects in S3.
 */
import {
  HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput, type PutObjectCommandOutput, type S3Client,
} from '@aws-sdk/client-s3';
import { FENCING_TOKEN_METADATA_KEY } from '../../contracts/locks';
import { FencedOutError, LockOptionsError } from './errors';

/** Options of {@link putObjectFenced}. */
export interface S3FenceOptions {
  /**
   * How many times to read again and retry after another writer's PUT won the race.
   *
   * @default 5
   */
  readonly maxAttempts?: number;
}

const status = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/**
 * PutObject under fencing token `token` (see the module's comment for when it holds). The body
 * must be a string, Buffer or Uint8Array: it may be sent more than once.
 */
export async function putObjectFenced(s3: S3Client, input: PutObjectCommandInput, token: number, options: S3FenceOptions = {}): Promise<PutObjectCommandOutput> {
  if (!Number.isSafeInteger(token) || token < 1) throw new LockOptionsError([`token: must be a lock's fencing token (a positive whole number), received ${String(token)}.`]);
  if (input.Body !== undefined && typeof input.Body !== 'string' && !(input.Body instanceof Uint8Array)) {
    throw new LockOptionsError(['Body: must be a string, Buffer or Uint8Array (a fenced PUT may be sent more than once), received a stream. Read it into a Buffer first.']);
  }
  const maxAttempts = options.maxAttempts ?? 5;
  const resource = `s3://${input.Bucket}/${input.Key}`;
  for (let attempt = 1; ; attempt++) {
    let etag: string | undefined;
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: input.Bucket, Key: input.Key }));
      const stored = Number(head.Metadata?.[FENCING_TOKEN_METADATA_KEY]);
      if (Number.isFinite(stored) && stored > token) throw new FencedOutError(resource, token, stored);
      etag = head.ETag;
    } catch (e) {
      if (e instanceof FencedOutError || status(e) !== 404) throw e;
    }
    try {
      return await s3.send(new PutObjectCommand({
        ...input,
        Metadata: { ...input.Metadata, [FENCING_TOKEN_METADATA_KEY]: String(token) },
        ...(etag ? { IfMatch: etag } : { IfNoneMatch: '*' }),
      }));
    } catch (e) {
      // 412: written (or created) since our HEAD; 409: a concurrent conditional write is in progress.
      const code = status(e);
      if ((code !== 412 && code !== 409) || attempt >= maxAttempts) throw e;
    }
  }
}
