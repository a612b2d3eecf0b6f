/** The storage client: content-addressed objects, streaming uploads, presigned URLs, shared records. */
export { SharedStorageClient, SINGLE_PUT_MAX_BYTES, defaultS3Config } from './storage-client';
export type {
  SharedStorageClientOptions, PutContentResult, UploadOptions, UploadProgress, UploadResult, PresignedPut, PresignPutOptions, PresignedPost, PresignPostOptions,
} from './storage-client';
export { SharedRecords } from './shared-records';
export type { SharedRecord, SharedRecordsOptions, WriteOptions } from './shared-records';
export { sha256Of, sha256OfFile, parseSha256, contentKey, sha256FromKey, HashingStream } from './content';
export type { Sha256 } from './content';
export { parseObjectCreatedEvent, objectCreatedJobId } from './s3-events';
export type { CreatedObject } from './s3-events';
export {
  StorageError, PreconditionFailedError, NotFoundError, TooLargeError, ChecksumMismatchError, RecordConflictError, UploadAbortedError,
  StorageOptionsError,
} from './errors';
export {
  STORAGE_BUCKET_ENV, STORAGE_RECORDS_TABLE_ENV, STORAGE_RECORDS_TTL_ATTRIBUTE_ENV, CONTENT_ADDRESSED_PREFIX, SHA256_METADATA_KEY,
} from '../../contracts/shared-storage';
