/**
 * The shared-storage contract: what the SharedStorage construct (lib/), the storage client
 * (runtime/storage/) and the local cloud (local/) all read. Plain TypeScript, no aws-cdk-lib
 * and no SDK, so every tier imports the same values instead of keeping copies.
 */
import { defineWorkloadKind, type WorkloadDeclaration, type WorkloadKindContract } from './workload';

/** Environment variable holding the bucket name, set on whatever runs the client (`SharedStorage.environment`). */
export const STORAGE_BUCKET_ENV = 'CLOUD_PATTERNS_STORAGE_BUCKET';

/** Environment variable holding the shared-records table name, when the storage has one. */
export const STORAGE_RECORDS_TABLE_ENV = 'CLOUD_PATTERNS_RECORDS_TABLE';

/** Environment variable holding the name of the records' TTL attribute, when TTL is on. */
export const STORAGE_RECORDS_TTL_ATTRIBUTE_ENV = 'CLOUD_PATTERNS_RECORDS_TTL_ATTRIBUTE';

/** Key prefix of content-addressed objects: `sha256/<64 hex digits>`. */
export const CONTENT_ADDRESSED_PREFIX = 'sha256/';

/**
 * User-metadata key (`x-amz-meta-sha256`) holding the full-object SHA-256 (hex) of objects the
 * client uploads in parts: S3 then keeps only a composite checksum (a checksum of the parts'
 * checksums), which cannot be compared with the SHA-256 of the content.
 */
export const SHA256_METADATA_KEY = 'sha256';

/** Where SharedStorageStack takes uploads that become jobs. */
export const STORAGE_STACK_INCOMING_PREFIX = 'incoming/';

/** Where SharedStorageStack's worker writes what it derives from each upload. */
export const STORAGE_STACK_RESULTS_PREFIX = 'results/';

/** Where SharedStorageStack's worker writes the summary of an upload: `incoming/a/b.txt` -> `results/a/b.txt.summary.json`. */
export function storageStackResultKey(sourceKey: string): string {
  return `${STORAGE_STACK_RESULTS_PREFIX}${sourceKey.slice(STORAGE_STACK_INCOMING_PREFIX.length)}.summary.json`;
}

/** The partition key of the shared-records table (a string: a UUID unless the caller picks one). */
export const RECORD_ID_ATTRIBUTE = 'id';

/** The attribute that counts a record's writes; every write is conditional on it (optimistic concurrency). */
export const RECORD_VERSION_ATTRIBUTE = 'version';

/** The attribute that holds a record's data (a map). */
export const RECORD_DATA_ATTRIBUTE = 'data';

/**
 * The attribute that holds the id of the write that produced the record's current version: a
 * write retried after a lost response recognizes its own earlier success by it.
 */
export const RECORD_WRITE_ID_ATTRIBUTE = 'writeId';

/** The S3 actions of the client, by what a grant allows (HEAD and GET are both `s3:GetObject`). */
export const STORAGE_READ_ACTIONS = ['s3:GetObject'] as const;
/**
 * Writes: PutObject covers single PUTs, conditional PUTs and the create/upload/complete steps of
 * multipart uploads. No delete: an upload whose content is not the expected one is never
 * completed (its multipart upload is aborted), so nothing is left to delete.
 */
export const STORAGE_WRITE_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload'] as const;
/**
 * Deleting an object that fails verification (`verify(key, { deleteOnMismatch: true })`): the
 * version that was read, for good (`s3:DeleteObjectVersion`, which `s3:DeleteObject` does not
 * cover), or the object in a bucket without versioning (`s3:DeleteObject`).
 */
export const STORAGE_DELETE_ACTIONS = ['s3:DeleteObject', 's3:DeleteObjectVersion'] as const;

/** The DynamoDB actions of the records client's reads. */
export const RECORDS_READ_ACTIONS = ['dynamodb:GetItem'] as const;
/** The DynamoDB actions of the records client's writes (create and replace are conditional PutItem). */
export const RECORDS_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:DeleteItem'] as const;

/**
 * What SharedStorage declares on each bucket it creates (contracts/workload.ts), for the local
 * cloud: moto's CloudFormation applies only a bucket's encryption and tags, so the local cloud
 * reads the bucket's deployed properties from the template and applies the others through the
 * S3 API (versioning, public access block, ownership, lifecycle, logging, CORS, notifications).
 */
export interface SharedStorageBucketWorkload extends WorkloadDeclaration<'shared-storage/bucket', 1> {
  /** What the bucket holds: the storage's objects, or the server access logs of another bucket. */
  readonly role: 'objects' | 'access-logs';
}

/** The workload kind of SharedStorage's buckets. */
export const SHARED_STORAGE_BUCKET_WORKLOAD: WorkloadKindContract<SharedStorageBucketWorkload> = defineWorkloadKind<SharedStorageBucketWorkload>('shared-storage/bucket', 1);

/**
 * What SharedStorageStack declares on its shared-records table, for the local cloud's demo: a
 * few files uploaded under {@link STORAGE_STACK_INCOMING_PREFIX} of `bucketName`, each of which
 * must become one job on the queue, one summary under {@link STORAGE_STACK_RESULTS_PREFIX} and one
 * record in the table (the declaration's resource).
 */
export interface UploadDemoWorkload extends WorkloadDeclaration<'shared-storage/upload-demo', 1> {
  readonly bucketName: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

/** The workload kind of SharedStorageStack's upload demo. */
export const UPLOAD_DEMO_WORKLOAD: WorkloadKindContract<UploadDemoWorkload> = defineWorkloadKind<UploadDemoWorkload>('shared-storage/upload-demo', 1);
