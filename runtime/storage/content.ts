/** SHA-256 helpers of content-addressed storage: digests, their encodings, and content keys. */
import { createHash } from 'crypto';
import { createReadStream } from 'fs';
import { Transform, type TransformCallback } from 'stream';
import { CONTENT_ADDRESSED_PREFIX } from '../../contracts/shared-storage';
import { StorageOptionsError } from './errors';

/** The SHA-256 of some content, in the two encodings S3 and keys use. */
export interface Sha256 {
  /** 64 lowercase hex digits: the content key's last part and the `sha256` metadata. */
  readonly hex: string;
  /** Base64: what S3's `x-amz-checksum-sha256` carries. */
  readonly base64: string;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** The SHA-256 of bytes or a UTF-8 string. */
export function sha256Of(body: Uint8Array | string): Sha256 {
  return fromDigest(createHash('sha256').update(body).digest());
}

/** The SHA-256 of a file, read as a stream (memory stays flat whatever its size). */
export async function sha256OfFile(path: string): Promise<Sha256 & { readonly bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { ...fromDigest(hash.digest()), bytes };
}

/** A SHA-256 given as 64 hex digits or as base64 of 32 bytes, in both encodings; throws on anything else. */
export function parseSha256(value: string, what = 'sha256'): Sha256 {
  if (HEX_SHA256.test(value.toLowerCase())) return fromDigest(Buffer.from(value, 'hex'));
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 32 && bytes.toString('base64') === value) return fromDigest(bytes);
  throw new StorageOptionsError(`${what} must be a SHA-256 as 64 hex digits or 44 base64 characters, received ${JSON.stringify(value)}.`);
}

/** The key of content with this SHA-256 under `prefix`. */
export function contentKey(sha256: Sha256, prefix: string = CONTENT_ADDRESSED_PREFIX): string {
  return `${prefix}${sha256.hex}`;
}

/** The SHA-256 a content key names, or undefined for a key that is not a content key under `prefix`. */
export function sha256FromKey(key: string, prefix: string = CONTENT_ADDRESSED_PREFIX): Sha256 | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const hex = key.slice(prefix.length);
  return HEX_SHA256.test(hex) ? fromDigest(Buffer.from(hex, 'hex')) : undefined;
}

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  private count = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    done(null, chunk);
  }

  /** Bytes that went through so far. */
  get bytes(): number {
    return this.count;
  }

  /** The SHA-256 of everything that went through; call once, after the stream ended. */
  digest(): Sha256 {
    return fromDigest(this.hash.digest());
  }
}

function fromDigest(digest: Buffer): Sha256 {
  return { hex: digest.toString('hex'), base64: digest.toString('base64') };
}
