/**
 * The storage client's errors: one class per failure a caller handles differently, each with a
 * `name` to match on and the facts (key, sizes, checksums) in fields as well as in the message.
 */

/** Base class of every error the storage client throws on purpose. */
export class StorageError extends Error {
  override name = 'StorageError';
}

/** A conditional write found the target changed: an object already there, or a record at another version. */
export class PreconditionFailedError extends StorageError {
  override name = 'PreconditionFailedError';
  constructor(message: string, public readonly key: string) {
    super(message);
  }
}

/** An object or record that does not exist. */
export class NotFoundError extends StorageError {
  override name = 'NotFoundError';
  constructor(message: string, public readonly key: string) {
    super(message);
  }
}

/** Content larger than the operation allows. */
export class TooLargeError extends StorageError {
  override name = 'TooLargeError';
  constructor(message: string, public readonly bytes: number, public readonly maxBytes: number) {
    super(message);
  }
}

/** Content whose SHA-256 is not the one expected: S3 rejected it, or it was read back different. */
export class ChecksumMismatchError extends StorageError {
  override name = 'ChecksumMismatchError';
  constructor(message: string, public readonly key: string, public readonly expected: string, public readonly actual?: string) {
    super(message);
  }
}

/** A record's optimistic-concurrency write lost to other writers `attempts` times in a row. */
export class RecordConflictError extends PreconditionFailedError {
  override name = 'RecordConflictError';
  constructor(message: string, key: string, public readonly expectedVersion: number | undefined) {
    super(message, key);
  }
}

/** An upload stopped by its AbortSignal; its parts were aborted too. */
export class UploadAbortedError extends StorageError {
  override name = 'UploadAbortedError';
  constructor(message: string, public readonly key: string) {
    super(message);
  }
}

/** Bad options or arguments given to the client (names the option, the value and the fix). */
export class StorageOptionsError extends StorageError {
  override name = 'StorageOptionsError';
}
