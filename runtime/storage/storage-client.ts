/**
 * SharedStorageClient: how code reads and writes the shared bucket. Content-addressed writes
 * (the key is the content's SHA-256, so a duplicate is never stored or sent twice), streaming
 * uploads of any size with bounded memory, and presigned URLs for browsers that S3 checks
 * (the SHA-256 of a PUT, the size and key prefix of a POST).
 */
import { createHash, randomUUID } from 'crypto';
import { open, readFile } from 'fs/promises';
import { Readable } from 'stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand,
  HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException, UploadPartCommand,
  type CompletedPart, type PutObjectCommandInput, type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { CONTENT_ADDRESSED_PREFIX, SHA256_METADATA_KEY, STORAGE_BUCKET_ENV } from '../../contracts/shared-storage';
import { contentKey, HashingStream, parseSha256, sha256FromKey, sha256Of, sha256OfFile, type Sha256 } from './content';
import {
  ChecksumMismatchError, NotFoundError, PreconditionFailedError, StorageOptionsError, TooLargeError, UploadAbortedError,
} from './errors';

/** The most a single PUT may carry (S3's limit); larger content goes in parts. */
export const SINGLE_PUT_MAX_BYTES: number = 5 * 1024 ** 3;
/** The smallest part S3 accepts (except the last). */
const MIN_PART_BYTES = 5 * 1024 ** 2;

/** Options of a {@link SharedStorageClient}. */
export interface SharedStorageClientOptions {
  /** The bucket's name. */
  readonly bucket: string;
  /**
   * The S3 client to use.
   *
   * @default - a client from the environment (path-style addressing when AWS_ENDPOINT_URL points at an emulator)
   */
  readonly s3?: S3Client;
  /**
   * Key prefix of content-addressed objects.
   *
   * @default 'sha256/'
   */
  readonly contentPrefix?: string;
  /**
   * Size of the parts of multipart uploads, in bytes (at least 5 MiB). Memory in use by an
   * upload is about `partSizeBytes * queueSize`.
   *
   * @default 8 MiB
   */
  readonly partSizeBytes?: number;
  /**
   * Parts uploaded at once.
   *
   * @default 4
   */
  readonly queueSize?: number;
  /**
   * Content of at least this many bytes (`putContent` and `putFile` alike) is checked with a
   * HEAD before it is sent, so that a duplicate is not sent at all; smaller content is sent with
   * `If-None-Match: *` straight away (one request; S3 refuses it when the object exists).
   * Measured in bench/storage.
   *
   * @default 65536
   */
  readonly headCheckFromBytes?: number;
  /**
   * Lifetime of presigned URLs, in seconds.
   *
   * @default 300
   */
  readonly presignExpiresInSeconds?: number;
}

/** What a content-addressed write did. */
export interface PutContentResult {
  /** The object's key: `<contentPrefix><sha256 hex>`. */
  readonly key: string;
  /** The content's SHA-256 (hex and base64). */
  readonly sha256: Sha256;
  /** The content's size. */
  readonly bytes: number;
  /** False when the object already existed (nothing was stored). */
  readonly created: boolean;
  /** Whether the body went over the wire (false when a HEAD found the object first). */
  readonly bodySent: boolean;
}

/** Progress of an upload. */
export interface UploadProgress {
  readonly key: string;
  /** Bytes sent so far. */
  readonly loaded: number;
  /** Total bytes, when known. */
  readonly total?: number;
  /** The part just sent (1-based), for multipart uploads. */
  readonly part?: number;
}

/** Options of {@link SharedStorageClient.upload}. */
export interface UploadOptions {
  /** The object's Content-Type. @default - none (binary/octet-stream) */
  readonly contentType?: string;
  /** User metadata (`x-amz-meta-*`). @default - none */
  readonly metadata?: Record<string, string>;
  /** Called as parts are sent. @default - no progress */
  readonly onProgress?: (progress: UploadProgress) => void;
  /** Aborts the upload; its parts are aborted too, so none are left behind. @default - not abortable */
  readonly signal?: AbortSignal;
  /**
   * The expected SHA-256 of the whole content (hex or base64): stored as `sha256` metadata and
   * checked against what is sent before the object is completed, so that on a mismatch nothing
   * is stored (no object, no part, nothing to delete) and ChecksumMismatchError is thrown.
   *
   * @default - not checked; the SHA-256 of what was sent is returned
   */
  readonly expectedSha256?: string;
}

/** What an upload did. */
export interface UploadResult {
  readonly key: string;
  /** Bytes sent. */
  readonly bytes: number;
  /** The SHA-256 of the content as it was sent, computed while streaming. */
  readonly sha256: Sha256;
  /**
   * S3's own checksum of the object: the SHA-256 of a single PUT, or for a multipart upload a
   * composite (`<base64>-<parts>`: a SHA-256 of the parts' SHA-256s), which S3 verified part by part.
   */
  readonly s3Checksum?: string;
  /** The version S3 gave the object (versioned buckets). */
  readonly versionId?: string;
}

/** A presigned request for a browser. */
export interface PresignedPut {
  readonly method: 'PUT';
  readonly url: string;
  /** The content key the body will have. */
  readonly key: string;
  /**
   * Headers the request must carry exactly (they are signed): the SHA-256 S3 checks the body
   * against, and the Content-Type. The length is signed too: the body must be exactly `bytes`
   * long (a browser's `fetch` sets Content-Length from the file itself).
   */
  readonly headers: Record<string, string>;
  /** The only length S3 accepts for the body. */
  readonly bytes: number;
  /** When the URL stops working. */
  readonly expiresAt: Date;
}

/** Options of {@link SharedStorageClient.presignPut}. */
export interface PresignPutOptions {
  /** The body's length in bytes, as the browser declares it (its file's size): signed, so S3 takes no other. */
  readonly bytes: number;
  /**
   * The largest `bytes` this URL may be made for: check the size a browser declares before anything is signed.
   *
   * @default 5368709120 (5 GiB, S3's limit for one PUT)
   */
  readonly maxBytes?: number;
  /**
   * The body's Content-Type, signed: S3 stores it and serves it back with the object.
   *
   * @default 'application/octet-stream' (never a type a browser would render, such as text/html)
   */
  readonly contentType?: string;
  /** Lifetime in seconds. @default - the client's presignExpiresInSeconds */
  readonly expiresInSeconds?: number;
}

/** A presigned browser form upload (HTML form or `FormData`, with the file as the last field). */
export interface PresignedPost {
  readonly method: 'POST';
  readonly url: string;
  /** Fields to send before the file, as they are. */
  readonly fields: Record<string, string>;
  /** Every key the form can create starts with this (`<keyPrefix><uuid>/`). */
  readonly keyPrefix: string;
  /** The largest file S3 accepts through this form. */
  readonly maxBytes: number;
  readonly expiresAt: Date;
}

/** Options of {@link SharedStorageClient.presignPost}. */
export interface PresignPostOptions {
  /** Uploaded keys start with this, then a UUID and the file's name (e.g. `incoming/`). */
  readonly keyPrefix: string;
  /** The largest file accepted, in bytes. */
  readonly maxBytes: number;
  /** The smallest file accepted, in bytes. @default 1 */
  readonly minBytes?: number;
  /** The only Content-Type accepted. @default - any */
  readonly contentType?: string;
  /** Lifetime in seconds. @default - the client's presignExpiresInSeconds */
  readonly expiresInSeconds?: number;
}

/** A client of one shared bucket. */
export class SharedStorageClient {
  /** A client of the bucket named by the `CLOUD_PATTERNS_STORAGE_BUCKET` environment variable (set by SharedStorage). */
  static fromEnvironment(options: Omit<SharedStorageClientOptions, 'bucket'> = {}, env: NodeJS.ProcessEnv = process.env): SharedStorageClient {
    const bucket = env[STORAGE_BUCKET_ENV];
    if (!bucket) {
      throw new StorageOptionsError(`${STORAGE_BUCKET_ENV} is not set: give the code that runs this client SharedStorage's \`environment\` (or pass \`bucket\`).`);
    }
    return new SharedStorageClient({ ...options, bucket });
  }

  readonly bucket: string;
  readonly s3: S3Client;
  private readonly contentPrefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly headFrom: number;
  private readonly expiresIn: number;
  /** Content writes in flight, by content key: a second caller with the same content waits for the first instead of sending it again. */
  private readonly inFlight = new Map<string, Promise<PutContentResult>>();

  constructor(options: SharedStorageClientOptions) {
    const problems: string[] = [];
    if (!options.bucket) problems.push(`bucket must be a bucket name, received ${JSON.stringify(options.bucket)}`);
    if (options.partSizeBytes !== undefined && !(Number.isInteger(options.partSizeBytes) && options.partSizeBytes >= MIN_PART_BYTES)) {
      problems.push(`partSizeBytes must be an integer of at least ${MIN_PART_BYTES} (5 MiB, S3's smallest part), received ${options.partSizeBytes}`);
    }
    if (options.queueSize !== undefined && !(Number.isInteger(options.queueSize) && options.queueSize >= 1 && options.queueSize <= 64)) {
      problems.push(`queueSize must be an integer from 1 to 64, received ${options.queueSize}`);
    }
    const expires = options.presignExpiresInSeconds;
    if (expires !== undefined && !(Number.isInteger(expires) && expires >= 1 && expires <= 604_800)) {
      problems.push(`presignExpiresInSeconds must be an integer from 1 to 604800 (7 days), received ${expires}`);
    }
    if (problems.length) throw new StorageOptionsError(`Invalid SharedStorageClient options:\n  - ${problems.join('\n  - ')}`);
    this.bucket = options.bucket;
    this.s3 = options.s3 ?? new S3Client(defaultS3Config());
    this.contentPrefix = options.contentPrefix ?? CONTENT_ADDRESSED_PREFIX;
    this.partSize = options.partSizeBytes ?? 8 * 1024 ** 2;
    this.queueSize = options.queueSize ?? 4;
    this.headFrom = options.headCheckFromBytes ?? 64 * 1024;
    this.expiresIn = expires ?? 300;
  }

  /** The key content with this SHA-256 (hex or base64) has. */
  keyFor(sha256: string): string {
    return contentKey(parseSha256(sha256), this.contentPrefix);
  }

  /**
   * Stores content under its SHA-256, once. A duplicate is detected without sending the body
   * again (a HEAD first, for content of `headCheckFromBytes` or more) or refused by S3 (the PUT
   * carries `If-None-Match: *`), and S3 verifies the body against the SHA-256 sent with it.
   * Callers of this client racing with the same content send it once: the others wait for that
   * write and get `created: false, bodySent: false`.
   */
  async putContent(body: Uint8Array | string, options: { readonly contentType?: string } = {}): Promise<PutContentResult> {
    const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    if (bytes > SINGLE_PUT_MAX_BYTES) {
      throw new TooLargeError(`putContent sends one PUT, which S3 limits to 5 GiB; received ${bytes} bytes. Use putFile() or upload(), which send parts.`, bytes, SINGLE_PUT_MAX_BYTES);
    }
    const sha256 = sha256Of(body);
    const key = contentKey(sha256, this.contentPrefix);
    return this.once(key, sha256, async () => {
      if (bytes >= this.headFrom && (await this.exists(key))) {
        return { key, sha256, bytes, created: false, bodySent: false };
      }
      const created = await this.putIfAbsent({ Key: key, Body: body, ContentType: options.contentType }, sha256);
      return { key, sha256, bytes, created, bodySent: true };
    });
  }

  /**
   * Stores a file under its SHA-256, once, whatever its size. A file smaller than one part is
   * read once into memory (as its PUT needs it) and hashed there, so the bytes sent are the bytes
   * hashed; one of `headCheckFromBytes` or more is checked with a HEAD first and not sent when it
   * exists, and it goes out as one conditional PUT (as putContent sends it). A larger file is
   * hashed as a stream, then streamed in parts (bounded memory), each verified by S3, with the full
   * SHA-256 in its `sha256` metadata; it is hashed again as it is sent, and the multipart upload
   * completed only when that matches: a file that changed meanwhile leaves nothing under its
   * content key (ChecksumMismatchError). Racing callers send it once, as with putContent.
   */
  async putFile(path: string, options: Omit<UploadOptions, 'expectedSha256' | 'metadata'> = {}): Promise<PutContentResult> {
    // One read and one hash for a file smaller than a part: reading it, hashing it and reading
    // it again to send it made a folder's upload slower than a plain PutObject loop of every
    // byte (docs/decisions.md, "putFile reads a file smaller than one part once").
    const held = await readSmallFile(path, this.partSize);
    if (held !== undefined) {
      const result = await this.putContent(held, { contentType: options.contentType });
      if (result.bodySent) options.onProgress?.({ key: result.key, loaded: result.bytes, total: result.bytes });
      return result;
    }
    // A part or more (or a file that grew as it was read, or no regular file): hashed as a stream.
    const sha256 = await sha256OfFile(path);
    const key = contentKey(sha256, this.contentPrefix);
    const bytes = sha256.bytes;
    return this.once(key, sha256, async () => {
      if (bytes >= this.headFrom && (await this.exists(key))) return { key, sha256, bytes, created: false, bodySent: false };
      if (bytes < this.partSize) {
        // Under a part after all (it shrank since it was first looked at): a conditional PUT of
        // what it holds now, which must still be the content hashed.
        const now = await readFile(path);
        const sent = sha256Of(now);
        if (sent.hex !== sha256.hex) throw this.mismatch(key, sha256, sent);
        const created = await this.putIfAbsent({ Key: key, Body: now, ContentType: options.contentType }, sha256);
        options.onProgress?.({ key, loaded: bytes, total: bytes });
        return { key, sha256, bytes, created, bodySent: true };
      }
      const { created } = await this.uploadVerified(key, partsOfFile(path, this.partSize), sha256, { ...options, total: bytes, ifAbsent: true });
      return { key, sha256, bytes, created, bodySent: true };
    });
  }

  /** Runs the write of `key` unless one is in flight in this client, whose outcome the caller then shares (as a duplicate). */
  private async once(key: string, sha256: Sha256, write: () => Promise<PutContentResult>): Promise<PutContentResult> {
    const running = this.inFlight.get(key);
    if (running) {
      const first = await running;
      return { key, sha256, bytes: first.bytes, created: false, bodySent: false };
    }
    const promise = write().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  /**
   * Streams content of any size to `key`: one PUT when it fits in a part, else a multipart
   * upload with `queueSize` parts in flight, each carrying its SHA-256 for S3 to verify. An
   * aborted or failed upload aborts its multipart upload, leaving no parts behind.
   */
  async upload(key: string, body: Readable | Uint8Array | string, options: UploadOptions = {}): Promise<UploadResult> {
    const expected = options.expectedSha256 === undefined ? undefined : parseSha256(options.expectedSha256, 'expectedSha256');
    if (expected) {
      const source = body instanceof Readable ? body : Readable.from([typeof body === 'string' ? Buffer.from(body) : Buffer.from(body)]);
      const parts = partsOf(source, this.partSize);
      try {
        const { created: _created, ...result } = await this.uploadVerified(key, parts, expected, options);
        return result;
      } finally {
        source.destroy();
      }
    }
    const hashing = new HashingStream();
    const source = body instanceof Readable ? body : Readable.from([typeof body === 'string' ? Buffer.from(body) : Buffer.from(body)]);
    source.on('error', (e) => hashing.destroy(e));
    source.pipe(hashing);
    const upload = new Upload({
      client: this.s3,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: hashing,
        ContentType: options.contentType,
        ChecksumAlgorithm: 'SHA256',
        Metadata: options.metadata,
      },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    if (options.onProgress) {
      const report = options.onProgress;
      upload.on('httpUploadProgress', (p) => report({ key, loaded: p.loaded ?? 0, total: p.total, part: p.part }));
    }
    const onAbort = () => void upload.abort();
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let out: Awaited<ReturnType<Upload['done']>>;
    try {
      out = await upload.done();
    } catch (e) {
      if (options.signal?.aborted || (e as Error).name === 'AbortError') {
        source.destroy();
        hashing.destroy();
        await this.abandon(upload, key);
        throw new UploadAbortedError(`the upload of s3://${this.bucket}/${key} was aborted after ${hashing.bytes} bytes; its multipart upload was aborted, no parts are left.`, key);
      }
      throw this.translate(e, key);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    const sha256 = hashing.digest();
    return { key, bytes: hashing.bytes, sha256, s3Checksum: out.ChecksumSHA256, versionId: out.VersionId };
  }

  /**
   * Streams `source` to `key` when its SHA-256 must be `expected`: content that fits in one part
   * is hashed first and sent as one PUT carrying that SHA-256 (S3 verifies it); larger content
   * goes in a multipart upload whose parts S3 verifies one by one, while the whole is hashed in
   * order, and the upload is completed only if the whole matches; otherwise it is aborted. So a
   * mismatch stores nothing: no delete is needed (nor granted). With `ifAbsent`, an existing
   * object is kept (`created: false`).
   */
  private async uploadVerified(
    key: string, parts: AsyncGenerator<Buffer>, expected: Sha256, options: UploadOptions & { readonly ifAbsent?: boolean; readonly total?: number },
  ): Promise<UploadResult & { readonly created: boolean }> {
    const report = options.onProgress;
    const signal = options.signal;
    const aborted = () => new UploadAbortedError(`the upload of s3://${this.bucket}/${key} was aborted; nothing was stored, no parts are left.`, key);
    let first = await parts.next();
    // One part or more: known from the size when given, else by reading one part ahead.
    const single = options.total !== undefined ? options.total <= this.partSize : undefined;
    let second: IteratorResult<Buffer> = first.done || single === true ? { done: true, value: undefined } : single === false ? { done: false, value: Buffer.alloc(0) } : await parts.next();
    const metadata = { ...options.metadata, [SHA256_METADATA_KEY]: expected.hex };
    if (second.done) {
      // One part: the body is in hand; hash it before anything is sent.
      const firstPart = first.done ? Buffer.alloc(0) : first.value;
      const sent = sha256Of(firstPart);
      if (sent.hex !== expected.hex) throw this.mismatch(key, expected, sent);
      if (signal?.aborted) throw aborted();
      try {
        const out = await this.s3.send(new PutObjectCommand({
          Bucket: this.bucket, Key: key, Body: firstPart, ContentType: options.contentType, Metadata: metadata,
          ChecksumAlgorithm: 'SHA256', ChecksumSHA256: expected.base64, ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}),
        }), { abortSignal: signal });
        report?.({ key, loaded: firstPart.length, total: options.total ?? firstPart.length });
        return { key, bytes: firstPart.length, sha256: sent, s3Checksum: out.ChecksumSHA256, versionId: out.VersionId, created: true };
      } catch (e) {
        if (options.ifAbsent && isStatus(e, 412)) return { key, bytes: firstPart.length, sha256: sent, created: false };
        if (signal?.aborted) throw aborted();
        throw this.translate(e, key, expected);
      }
    }

    const { UploadId: uploadId } = await this.s3.send(new CreateMultipartUploadCommand({
      Bucket: this.bucket, Key: key, ContentType: options.contentType, Metadata: metadata, ChecksumAlgorithm: 'SHA256',
    }));
    const hash = createHash('sha256');
    const completed: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let loaded = 0;
    let bytes = 0;
    let failure: unknown;
    const send = (body: Buffer, partNumber: number) => {
      const sending: Promise<void> = this.s3.send(new UploadPartCommand({
        Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body,
        ChecksumAlgorithm: 'SHA256', ChecksumSHA256: sha256Of(body).base64,
      }), { abortSignal: signal }).then((out) => {
        completed[partNumber - 1] = { PartNumber: partNumber, ETag: out.ETag, ChecksumSHA256: out.ChecksumSHA256 };
        loaded += body.length;
        report?.({ key, loaded, total: options.total, part: partNumber });
      }, (e: unknown) => { failure ??= e; }).finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    };
    try {
      let partNumber = 0;
      // The part read ahead (if any) is sent second; then the generator is read on. Only the queue
      // of parts to send holds them: a part sent and uploaded is no longer referenced here (the
      // first one had stayed in memory until the upload's end).
      const ahead: IteratorResult<Buffer>[] = single === undefined ? [first, second] : [first];
      first = second = { done: true, value: undefined };
      for (;;) {
        const next = ahead.shift() ?? await parts.next();
        if (next.done) break;
        if (signal?.aborted) throw aborted();
        if (failure) throw failure;
        partNumber += 1;
        hash.update(next.value);
        bytes += next.value.length;
        send(next.value, partNumber);
        while (inFlight.size >= this.queueSize) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      if (signal?.aborted) throw aborted();
      const sent = fromHash(hash);
      // The whole, hashed as it was sent, is checked before the object exists.
      if (sent.hex !== expected.hex) throw this.mismatch(key, expected, sent);
      try {
        const out = await this.s3.send(new CompleteMultipartUploadCommand({
          Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: completed },
          ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}),
        }));
        return { key, bytes, sha256: sent, s3Checksum: out.ChecksumSHA256, versionId: out.VersionId, created: true };
      } catch (e) {
        if (options.ifAbsent && isStatus(e, 412)) return { key, bytes, sha256: sent, created: false };
        throw e;
      }
    } catch (e) {
      await parts.return(undefined);
      await Promise.allSettled(inFlight);
      try {
        await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
      } catch (abortError) {
        if (!isStatus(abortError, 404)) throw abortError;
      }
      if (signal?.aborted && !(e instanceof ChecksumMismatchError)) throw aborted();
      throw e instanceof ChecksumMismatchError || e instanceof UploadAbortedError ? e : this.translate(e, key, expected);
    }
  }

  private mismatch(key: string, expected: Sha256, sent: Sha256): ChecksumMismatchError {
    return new ChecksumMismatchError(
      `the content sent to s3://${this.bucket}/${key} has SHA-256 ${sent.hex}, not the expected ${expected.hex} (did the file change while uploading?); nothing was stored.`,
      key, expected.hex, sent.hex,
    );
  }

  /**
   * Aborts what an aborted Upload leaves: its done() rejects at once while parts in flight
   * finish in the background, and it aborts the multipart upload only after them. Waiting for
   * them and aborting here means no part is left when upload() returns.
   */
  private async abandon(upload: Upload, key: string): Promise<void> {
    const internals = upload as unknown as { concurrentUploaders?: Promise<unknown>[]; uploadId?: string };
    await Promise.allSettled(internals.concurrentUploaders ?? []);
    if (!internals.uploadId) return;
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: internals.uploadId }));
    } catch (e) {
      if (!isStatus(e, 404)) throw e; // 404 NoSuchUpload: Upload aborted it first
    }
  }

  /** The object's bytes; NotFoundError when there is none. */
  async get(key: string): Promise<Uint8Array> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await out.Body!.transformToByteArray();
    } catch (e) {
      throw this.translate(e, key);
    }
  }

  /** True when an object exists at `key` (one HEAD). */
  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (e) {
      if (isStatus(e, 404)) return false;
      throw this.translate(e, key);
    }
  }

  /**
   * Reads the object back and checks its SHA-256 against the one its key names (content keys)
   * or its `sha256` metadata: the full check for objects S3 holds only a composite checksum of,
   * and for objects a browser uploaded. Returns the SHA-256; on a mismatch throws
   * ChecksumMismatchError, after deleting the object when `deleteOnMismatch` is true.
   */
  async verify(key: string, options: { readonly deleteOnMismatch?: boolean } = {}): Promise<Sha256> {
    let out;
    try {
      out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      throw this.translate(e, key);
    }
    const fromMetadata = out.Metadata?.[SHA256_METADATA_KEY];
    const expected = sha256FromKey(key, this.contentPrefix) ?? (fromMetadata ? parseSha256(fromMetadata) : undefined);
    if (!expected) {
      throw new StorageOptionsError(`s3://${this.bucket}/${key} is not a content key (${this.contentPrefix}<sha256>) and has no ${SHA256_METADATA_KEY} metadata: there is no SHA-256 to verify it against.`);
    }
    const hashing = new HashingStream();
    for await (const _ of (out.Body as Readable).pipe(hashing)) { /* drain */ }
    const actual = hashing.digest();
    if (actual.hex !== expected.hex) {
      if (options.deleteOnMismatch) await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: out.VersionId }));
      throw new ChecksumMismatchError(
        `s3://${this.bucket}/${key} holds content with SHA-256 ${actual.hex}, not ${expected.hex}${options.deleteOnMismatch ? '; it was deleted' : ''}.`,
        key, expected.hex, actual.hex,
      );
    }
    return actual;
  }

  /** A URL that GETs the object until it expires. */
  async presignGet(key: string, options: { readonly expiresInSeconds?: number } = {}): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: options.expiresInSeconds ?? this.expiresIn });
  }

  /**
   * A URL that PUTs content with the given SHA-256 to its content key. The SHA-256 travels in
   * the signed `x-amz-checksum-sha256` header, so S3 rejects any other body (BadDigest) and the
   * URL cannot be reused for other content. The browser computes the SHA-256 (WebCrypto) first.
   */
  async presignPut(sha256: string, options: PresignPutOptions): Promise<PresignedPut> {
    const digest = parseSha256(sha256);
    const maxBytes = options?.maxBytes ?? SINGLE_PUT_MAX_BYTES;
    const bytes = options?.bytes;
    const problems: string[] = [];
    if (!Number.isInteger(maxBytes) || maxBytes < 0 || maxBytes > SINGLE_PUT_MAX_BYTES) {
      problems.push(`maxBytes must be a whole number of bytes up to ${SINGLE_PUT_MAX_BYTES} (5 GiB, S3's limit for one PUT), received ${maxBytes}`);
    }
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > maxBytes) {
      problems.push(`bytes must be a whole number of bytes from 0 to maxBytes (${maxBytes}), received ${bytes}: pass the size the browser declares, after checking it`);
    }
    if (problems.length) throw new StorageOptionsError(`Invalid presignPut options:\n  - ${problems.join('\n  - ')}`);
    const key = contentKey(digest, this.contentPrefix);
    const expiresIn = options.expiresInSeconds ?? this.expiresIn;
    const contentType = options.contentType ?? 'application/octet-stream';
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, ChecksumSHA256: digest.base64, ContentType: contentType, ContentLength: bytes });
    const url = await getSignedUrl(this.s3, command, {
      expiresIn,
      // Signed as headers, not hoisted into the query string: S3 compares the body with them.
      unhoistableHeaders: new Set(['x-amz-checksum-sha256', 'content-type']),
      signableHeaders: new Set(['x-amz-checksum-sha256', 'content-type', 'content-length']),
    });
    const headers: Record<string, string> = { 'x-amz-checksum-sha256': digest.base64, 'content-type': contentType };
    return { method: 'PUT', url, key, headers, bytes, expiresAt: new Date(Date.now() + expiresIn * 1000) };
  }

  /**
   * A form upload a browser can send without credentials: S3 accepts a file of `minBytes` to
   * `maxBytes` bytes (`content-length-range`) under `<keyPrefix><uuid>/<file name>` only.
   */
  async presignPost(options: PresignPostOptions): Promise<PresignedPost> {
    const minBytes = options.minBytes ?? 1;
    const problems: string[] = [];
    if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1 || options.maxBytes > SINGLE_PUT_MAX_BYTES) {
      problems.push(`maxBytes must be an integer from 1 to ${SINGLE_PUT_MAX_BYTES} (5 GiB, S3's limit for a POST), received ${options.maxBytes}`);
    }
    if (!Number.isInteger(minBytes) || minBytes < 0 || minBytes > options.maxBytes) problems.push(`minBytes must be an integer from 0 to maxBytes (${options.maxBytes}), received ${minBytes}`);
    if (typeof options.keyPrefix !== 'string' || options.keyPrefix.startsWith('/')) problems.push(`keyPrefix must be a key prefix without a leading slash, received ${JSON.stringify(options.keyPrefix)}`);
    if (problems.length) throw new StorageOptionsError(`Invalid presignPost options:\n  - ${problems.join('\n  - ')}`);
    const expiresIn = options.expiresInSeconds ?? this.expiresIn;
    const keyPrefix = `${options.keyPrefix}${randomUUID()}/`;
    const conditions: Parameters<typeof createPresignedPost>[1]['Conditions'] = [['content-length-range', minBytes, options.maxBytes]];
    const fields: Record<string, string> = {};
    if (options.contentType) {
      conditions.push({ 'Content-Type': options.contentType });
      fields['Content-Type'] = options.contentType;
    }
    const post = await createPresignedPost(this.s3, {
      Bucket: this.bucket,
      // `${filename}` makes the library add the policy condition ["starts-with", "$key", keyPrefix].
      Key: `${keyPrefix}\${filename}`,
      Conditions: conditions,
      Fields: fields,
      Expires: expiresIn,
    });
    return { method: 'POST', url: post.url, fields: post.fields, keyPrefix, maxBytes: options.maxBytes, expiresAt: new Date(Date.now() + expiresIn * 1000) };
  }

  /** A conditional PUT with the content's SHA-256; false when the object already existed. */
  private async putIfAbsent(input: Omit<PutObjectCommandInput, 'Bucket'> & { Key: string }, sha256: Sha256): Promise<boolean> {
    try {
      const out = await this.s3.send(new PutObjectCommand({
        ...input,
        Bucket: this.bucket,
        IfNoneMatch: '*',
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: sha256.base64,
        Metadata: { [SHA256_METADATA_KEY]: sha256.hex },
      }));
      if (out.ChecksumSHA256 !== undefined && out.ChecksumSHA256 !== sha256.base64) {
        throw new ChecksumMismatchError(`S3 stored s3://${this.bucket}/${input.Key} with SHA-256 ${out.ChecksumSHA256}, not the ${sha256.base64} sent.`, input.Key, sha256.base64, out.ChecksumSHA256);
      }
      return true;
    } catch (e) {
      // 412: the object exists. The content key names the content, so it is this content.
      if (isStatus(e, 412)) return false;
      throw this.translate(e, input.Key, sha256);
    }
  }

  private translate(e: unknown, key: string, sha256?: Sha256): unknown {
    if (!(e instanceof S3ServiceException)) return e;
    const where = `s3://${this.bucket}/${key}`;
    if (e.name === 'NoSuchKey' || e.name === 'NotFound' || isStatus(e, 404)) return new NotFoundError(`no object at ${where}.`, key);
    if (e.name === 'BadDigest' || e.name === 'XAmzContentSHA256Mismatch' || /checksum/i.test(e.message) && isStatus(e, 400)) {
      return new ChecksumMismatchError(`S3 refused the body for ${where}: it does not match the SHA-256 sent (${e.name}: ${e.message}).`, key, sha256?.base64 ?? '');
    }
    if (e.name === 'EntityTooLarge') return new TooLargeError(`S3 refused ${where} as too large (${e.message}).`, NaN, SINGLE_PUT_MAX_BYTES);
    if (isStatus(e, 412) || isStatus(e, 409)) return new PreconditionFailedError(`a conditional write to ${where} failed (${e.name}): another write changed it first.`, key);
    return e;
  }
}

/**
 * A regular file's bytes when it holds fewer than `limit`, read once; undefined for a larger file,
 * one that grows past its size as it is read, or anything but a regular file (a pipe, a device),
 * which are streamed instead. Never holds more than its size and one byte.
 */
async function readSmallFile(path: string, limit: number): Promise<Buffer | undefined> {
  const file = await open(path, 'r');
  try {
    const stat = await file.stat();
    if (!stat.isFile() || stat.size >= limit) return undefined;
    const buffer = Buffer.allocUnsafe(stat.size + 1); // a byte more than its size: a file that grew is noticed
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await file.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled > stat.size ? undefined : buffer.subarray(0, filled);
  } finally {
    await file.close();
  }
}

/** The stream's bytes in buffers of `size` (the last one shorter), each filled before it is yielded. */
async function* partsOf(source: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    let data = chunk as Buffer;
    while (data.length > 0) {
      const take = Math.min(size - pendingBytes, data.length);
      pending.push(data.subarray(0, take));
      pendingBytes += take;
      data = data.subarray(take);
      if (pendingBytes === size) {
        yield Buffer.concat(pending, size);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/** A file's bytes in buffers of `size` (the last one shorter), each read straight into its own buffer. */
async function* partsOfFile(path: string, size: number): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  try {
    // Parts up to the size the file has now, each allocated at the size it will hold (a file of a
    // whole number of parts allocated one more, for the read that found its end). Had the file
    // changed since it was hashed, the hash of what was sent differs and nothing is stored.
    const end = (await file.stat()).size;
    for (let position = 0; position < end; position += size) {
      const buffer = Buffer.allocUnsafe(Math.min(size, end - position));
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await file.read(buffer, filled, buffer.length - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled > 0) yield filled === buffer.length ? buffer : buffer.subarray(0, filled);
      if (filled < buffer.length) return;
    }
  } finally {
    await file.close();
  }
}

function fromHash(hash: ReturnType<typeof createHash>): Sha256 {
  const digest = hash.digest();
  return { hex: digest.toString('hex'), base64: digest.toString('base64') };
}

/** True when `e` is an S3 error with this HTTP status. */
function isStatus(e: unknown, status: number): boolean {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === status;
}

/**
 * The default S3 client settings: path-style addressing when an endpoint is configured
 * (emulators such as moto answer on one host; `<bucket>.localhost` does not resolve everywhere).
 */
export function defaultS3Config(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  return env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3 ? { forcePathStyle: true } : {};
}
