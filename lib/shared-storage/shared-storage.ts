/**
 * SharedStorage: where data that must outlive an instance goes. Large shared objects in an S3
 * bucket with every secure default on, small shared records in an optional DynamoDB table, and
 * uploads that become jobs on a WorkQueue, through the bucket's own notification configuration
 * (no Lambda-backed custom resource).
 */
import { Annotations, Aws, Duration, Names, RemovalPolicy, Token, Validations } from 'aws-cdk-lib/core';
import * as backupLib from 'aws-cdk-lib/aws-backup';
import type * as backup from 'aws-cdk-lib/aws-backup';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import {
  RECORD_DATA_ATTRIBUTE, RECORD_ID_ATTRIBUTE, RECORD_VERSION_ATTRIBUTE, RECORD_WRITE_ID_ATTRIBUTE, RECORDS_READ_ACTIONS, RECORDS_WRITE_ACTIONS, SHARED_STORAGE_BUCKET_WORKLOAD,
  STORAGE_BUCKET_ENV, STORAGE_DELETE_ACTIONS, STORAGE_READ_ACTIONS, STORAGE_RECORDS_TABLE_ENV, STORAGE_RECORDS_TTL_ATTRIBUTE_ENV,
  STORAGE_WRITE_ACTIONS,
} from '../../contracts/shared-storage';
import { declareWorkload } from '../core/workload';
import { DYNAMODB_KEY_ACTIONS, encryptionKeyFor, resolveEncryption, type ResolvedEncryption } from '../core/encryption';
import { SAME_CHECK, acknowledgeCheck, acknowledgeWildcardResources } from '../core/nag';
import { existingResourceRule } from '../core/rules';
import { newRole } from '../core/roles';
import { assertProps, isKnown, type PropRule } from '../core/validation';
import type { IWorkQueue } from '../work-queue/work-queue';

/** How a SharedStorage bucket encrypts objects at rest. */
export enum SharedStorageEncryption {
  /** SSE-S3: keys S3 owns and manages (no KMS cost or key policy; server access logs need it). */
  S3_MANAGED = 'S3_MANAGED',
  /** SSE-KMS with a customer-managed key (`encryptionKey`, or a new one with rotation on) and an S3 Bucket Key. */
  KMS = 'KMS',
}

/**
 * Uploads that become jobs: object-created events of matching keys sent to a work queue.
 *
 * S3 delivers each event at least once, in a message of its own, so the message id is no job id:
 * give the worker's `defineJobHandler` `{ schema: parseObjectCreatedEvent, jobIdFrom:
 * objectCreatedJobId }` (from `@cdk-cloud-patterns/runtime`), and the job id is derived from the
 * object: bucket, key and version id (this bucket is versioned, so every event names one). A
 * duplicate event is then the same job, which idempotency applies once.
 */
export interface ObjectCreatedJobs {
  /**
   * The queue the events go to, one SQS message per created object (a standard queue: S3 cannot
   * send to FIFO queues). A queue of another stack (`WorkQueue.fromWorkQueueAttributes`) must already
   * let S3 send to it: its policy cannot be changed here (a warning says so).
   */
  readonly workQueue: IWorkQueue;
  /**
   * Only keys that start with this.
   *
   * @default - every key
   */
  readonly prefix?: string;
  /**
   * Only keys that end with this (e.g. `.jpg`).
   *
   * @default - every key
   */
  readonly suffix?: string;
}

/** Properties of a {@link SharedStorage}. */
export interface SharedStorageProps {
  /**
   * An existing bucket to use instead of creating one. It is used as it is: none of the
   * bucket-shaping props (`encryption`, `encryptionKey`, `noncurrentVersionExpiration`,
   * `abortIncompleteUploadsAfter`, `accessLogsBucket`, `accessLogsRetention`, `corsOrigins`,
   * `minimumTlsVersion`, `requestMetrics`, `objectCreatedJobs`, `removalPolicy`) may be set with it.
   *
   * @default - a new bucket with the secure defaults below
   */
  readonly bucket?: s3.IBucket;

  /**
   * How objects are encrypted at rest.
   *
   * @default - `SharedStorageEncryption.KMS` when `encryptionKey` is given, else `SharedStorageEncryption.S3_MANAGED`
   */
  readonly encryption?: SharedStorageEncryption;

  /**
   * The KMS key of the bucket (also used for the records table). Giving a key means KMS
   * encryption, as it does for `s3.Bucket`: `encryption` may then be left out (or set to `KMS`).
   *
   * @default - a new key with rotation on, when `encryption` is `KMS`
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * The lowest TLS version the bucket accepts (requests without TLS are always denied).
   *
   * @default 1.2
   */
  readonly minimumTlsVersion?: number;

  /**
   * Versioning is on; an overwritten or deleted object's old version is deleted this long after.
   *
   * @default Duration.days(30)
   */
  readonly noncurrentVersionExpiration?: Duration;

  /**
   * Parts of multipart uploads that were never completed or aborted are deleted this long after
   * the upload started (S3 bills them until then). Whole days.
   *
   * @default Duration.days(1)
   */
  readonly abortIncompleteUploadsAfter?: Duration;

  /**
   * Where server access logs go.
   *
   * @default - a new log bucket: SSE-S3, TLS only, no public access, logs deleted after `accessLogsRetention`
   */
  readonly accessLogsBucket?: s3.IBucket;

  /**
   * How long a new log bucket keeps access logs (whole days).
   *
   * @default Duration.days(90)
   */
  readonly accessLogsRetention?: Duration;

  /**
   * Origins of web pages allowed to upload (PUT, POST) and download (GET, HEAD) from a browser
   * with presigned URLs, e.g. `['https://app.example.com']`. No wildcards.
   *
   * @default - none: no CORS, browsers cannot call the bucket
   */
  readonly corsOrigins?: string[];

  /**
   * Turn on S3 request metrics for the whole bucket (CloudWatch bills them), which
   * `metricClientErrors` and `metricServerErrors` read.
   *
   * @default false
   */
  readonly requestMetrics?: boolean;

  /**
   * Send object-created events of matching keys to a work queue, so that an upload becomes a job.
   *
   * @default - no events
   */
  readonly objectCreatedJobs?: ObjectCreatedJobs;

  /**
   * Create a table for small shared records (partition key `id`, on-demand, encrypted,
   * point-in-time recovery).
   *
   * @default - true when `recordsTable` or `recordsTimeToLiveAttribute` is given, else false
   */
  readonly records?: boolean;

  /**
   * An existing records table (partition key `id` as a string) instead of a new one.
   *
   * @default - a new table when `records` is true
   */
  readonly recordsTable?: dynamodb.ITable;

  /**
   * The attribute by which DynamoDB deletes expired records (epoch seconds) in a new table.
   *
   * @default - no TTL
   */
  readonly recordsTimeToLiveAttribute?: string;

  /**
   * What happens to the bucket and the records table when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Replicate every object to a bucket of yours (in another region, say), for recovery from the
   * loss of a region or of the bucket. The destination must be versioned; with KMS encryption,
   * give its key too.
   *
   * @default - no replication
   */
  readonly replication?: SharedStorageReplication;

  /**
   * Back the records table up with this AWS Backup plan (a selection of the table is added to it).
   *
   * @default - no backup plan (point-in-time recovery is on either way)
   */
  readonly backupPlan?: backup.IBackupPlan;

  /**
   * Lock new objects against deletion and overwrite for this long (S3 Object Lock, default
   * retention). GOVERNANCE mode lets a role with `s3:BypassGovernanceRetention` delete early;
   * COMPLIANCE mode lets no one. Content-addressed objects suit it (a key's content never
   * changes); `verify(key, { deleteOnMismatch: true })` then fails on a locked version.
   *
   * @default - no object lock
   */
  readonly objectLockDefaultRetention?: s3.ObjectLockRetention;
}

/** Where a {@link SharedStorage} bucket replicates its objects. */
export interface SharedStorageReplication {
  /** The destination bucket (versioned). */
  readonly destination: s3.IBucket;

  /**
   * The destination's KMS key, to encrypt replicas with: needed when the storage uses KMS.
   *
   * @default - replicas encrypted as the destination bucket's default says
   */
  readonly destinationKey?: kms.IKey;
}

/**
 * Shared storage as its users take it: the bucket, the records table, the key, the environment
 * the storage clients read, grants and metrics. A {@link SharedStorage} is one; so is the storage
 * of another stack or app imported with {@link SharedStorage.fromSharedStorageAttributes}.
 */
export interface ISharedStorage extends IConstruct {
  /** The bucket. */
  readonly bucket: s3.IBucket;
  /** The KMS key of the bucket (and records), when it uses one. */
  readonly encryptionKey?: kms.IKey;
  /** The table of shared records, when there is one. */
  readonly recordsTable?: dynamodb.ITable;
  /** The TTL attribute of the records table, when TTL is on. */
  readonly recordsTimeToLiveAttribute?: string;
  /** The environment variables the storage clients read (`SharedStorageClient.fromEnvironment()`, `SharedRecords.fromEnvironment()`). */
  readonly environment: { readonly [name: string]: string };
  /** Lets `grantee` read objects under `prefix` (the whole bucket by default) and, with a records table, records. */
  grantRead(grantee: iam.IGrantable, prefix?: string): iam.Grant;
  /** Lets `grantee` write objects under `prefix` (the whole bucket by default) and, with a records table, records. */
  grantWrite(grantee: iam.IGrantable, prefix?: string): iam.Grant;
  /** Both {@link grantRead} and {@link grantWrite}. */
  grantReadWrite(grantee: iam.IGrantable, prefix?: string): iam.Grant;
  /** Lets `grantee` read (GET, HEAD) objects whose key starts with `prefix`. */
  grantReadPrefix(grantee: iam.IGrantable, prefix: string): iam.Grant;
  /** Lets `grantee` write objects under `prefix` as the client does. */
  grantWritePrefix(grantee: iam.IGrantable, prefix: string): iam.Grant;
  /** Lets `grantee` delete objects under `prefix` as the client does (`verify`'s `deleteOnMismatch`). */
  grantDeletePrefix(grantee: iam.IGrantable, prefix: string): iam.Grant;
  /** Lets `grantee` read records. Throws without a records table. */
  grantReadRecords(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` read and write records as `SharedRecords` does. Throws without a records table. */
  grantReadWriteRecords(grantee: iam.IGrantable): iam.Grant;
  /** Bytes stored in the bucket's standard storage (daily, maximum). */
  metricBucketSizeBytes(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Objects in the bucket, every version counted (daily, maximum). */
  metricNumberOfObjects(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** What {@link SharedStorage.fromSharedStorageAttributes} needs to know of storage made elsewhere. */
export interface SharedStorageAttributes {
  /** The bucket's name. */
  readonly bucketName: string;
  /** The bucket's KMS key, when it uses one. @default - not encrypted with a customer-managed key */
  readonly encryptionKey?: kms.IKey;
  /** The records table's name, when the storage has one. @default - no records table */
  readonly recordsTableName?: string;
  /** The records table's TTL attribute, when TTL is on. @default - no TTL */
  readonly recordsTimeToLiveAttribute?: string;
}

/** Default: old versions kept 30 days. */
const DEFAULT_NONCURRENT_EXPIRATION = Duration.days(30);
/** Default: incomplete multipart uploads deleted after one day. */
const DEFAULT_ABORT_INCOMPLETE = Duration.days(1);
/** Default: access logs kept 90 days. */
const DEFAULT_LOG_RETENTION = Duration.days(90);
/** The id of the request-metrics configuration (the `FilterId` dimension of the metrics). */
const REQUEST_METRICS_ID = 'EntireBucket';
/** An origin: scheme, host, optional port, nothing else. */
const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i;

/** Attributes the records client writes itself. */
const RESERVED_RECORD_ATTRIBUTES = [RECORD_ID_ATTRIBUTE, RECORD_VERSION_ATTRIBUTE, RECORD_DATA_ATTRIBUTE, RECORD_WRITE_ID_ATTRIBUTE];

const BUCKET_SHAPING: (keyof SharedStorageProps)[] = [
  'encryption', 'encryptionKey', 'minimumTlsVersion', 'noncurrentVersionExpiration', 'abortIncompleteUploadsAfter',
  'accessLogsBucket', 'accessLogsRetention', 'corsOrigins', 'requestMetrics', 'objectCreatedJobs', 'removalPolicy', 'replication',
  'objectLockDefaultRetention',
];

/** Grants, environment and metrics every shared storage has, from its bucket and records table. */
abstract class SharedStorageBase extends Construct implements ISharedStorage {
  public abstract readonly bucket: s3.IBucket;
  public abstract readonly encryptionKey?: kms.IKey;
  public abstract readonly recordsTable?: dynamodb.ITable;
  public abstract readonly recordsTimeToLiveAttribute?: string;
  /** True when this construct created the bucket (and so controls its settings). */
  public abstract readonly createdBucket: boolean;
  /** Whether request metrics (4xx, 5xx) are on. */
  public abstract readonly requestMetrics: boolean;

  /**
   * Lets `grantee` read objects under `prefix` (the whole bucket by default) and, when there is a
   * records table, records: {@link grantReadPrefix} and {@link grantReadRecords}.
   */
  public grantRead(grantee: iam.IGrantable, prefix = ''): iam.Grant {
    const grant = this.grantReadPrefix(grantee, prefix);
    return this.recordsTable ? grant.combine(this.grantReadRecords(grantee)) : grant;
  }

  /**
   * Lets `grantee` write objects under `prefix` (the whole bucket by default) and, when there is a
   * records table, records: {@link grantWritePrefix} and {@link grantReadWriteRecords} (a
   * record's conditional write reads it first).
   */
  public grantWrite(grantee: iam.IGrantable, prefix = ''): iam.Grant {
    const grant = this.grantWritePrefix(grantee, prefix);
    return this.recordsTable ? grant.combine(this.grantReadWriteRecords(grantee)) : grant;
  }

  /** Both {@link grantRead} and {@link grantWrite}. */
  public grantReadWrite(grantee: iam.IGrantable, prefix = ''): iam.Grant {
    return this.grantRead(grantee, prefix).combine(this.grantWrite(grantee, prefix));
  }

  /**
   * The environment variables through which the storage client finds this storage
   * (`SharedStorageClient.fromEnvironment()`, `SharedRecords.fromEnvironment()`).
   */
  public get environment(): { readonly [name: string]: string } {
    const env: Record<string, string> = { [STORAGE_BUCKET_ENV]: this.bucket.bucketName };
    if (this.recordsTable) env[STORAGE_RECORDS_TABLE_ENV] = this.recordsTable.tableName;
    if (this.recordsTimeToLiveAttribute) env[STORAGE_RECORDS_TTL_ATTRIBUTE_ENV] = this.recordsTimeToLiveAttribute;
    return env;
  }

  /**
   * Lets `grantee` read (GET, HEAD) objects whose key starts with `prefix`, and decrypt them.
   *
   * @param prefix a key prefix such as `incoming/`; `''` for the whole bucket
   */
  public grantReadPrefix(grantee: iam.IGrantable, prefix: string): iam.Grant {
    this.encryptionKey?.grantDecrypt(grantee);
    return this.grantObjects(grantee, STORAGE_READ_ACTIONS, prefix);
  }

  /**
   * Lets `grantee` write objects under `prefix` as the client does: PUT (also conditional and
   * multipart) and abort its own multipart uploads, with the key to encrypt them. Nothing else:
   * no delete (an upload whose content is not the expected one is aborted before it completes,
   * so there is nothing to delete), no ACLs, no tagging.
   */
  public grantWritePrefix(grantee: iam.IGrantable, prefix: string): iam.Grant {
    // Multipart uploads to SSE-KMS need Decrypt as well: S3 decrypts parts to assemble them.
    this.encryptionKey?.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
    return this.grantObjects(grantee, STORAGE_WRITE_ACTIONS, prefix);
  }

  /**
   * Lets `grantee` delete objects under `prefix` as the client does, for
   * `verify(key, { deleteOnMismatch: true })`: the version it read, for good
   * (`s3:DeleteObjectVersion`; `s3:DeleteObject` alone would only add a delete marker over it),
   * or the object in a bucket without versioning (`s3:DeleteObject`).
   */
  public grantDeletePrefix(grantee: iam.IGrantable, prefix: string): iam.Grant {
    return this.grantObjects(grantee, STORAGE_DELETE_ACTIONS, prefix);
  }

  /** Lets `grantee` read records (`SharedRecords.get`). Throws without a records table. */
  public grantReadRecords(grantee: iam.IGrantable): iam.Grant {
    const table = this.requireTable('grantReadRecords');
    table.encryptionKey?.grantDecrypt(grantee);
    return iam.Grant.addToPrincipal({ grantee, actions: [...RECORDS_READ_ACTIONS], resourceArns: [table.tableArn] });
  }

  /**
   * Lets `grantee` read and write records as `SharedRecords` does: get, conditional put and
   * delete. Throws without a records table.
   */
  public grantReadWriteRecords(grantee: iam.IGrantable): iam.Grant {
    const table = this.requireTable('grantReadWriteRecords');
    table.encryptionKey?.grant(grantee, ...DYNAMODB_KEY_ACTIONS);
    return iam.Grant.addToPrincipal({ grantee, actions: [...RECORDS_READ_ACTIONS, ...RECORDS_WRITE_ACTIONS], resourceArns: [table.tableArn] });
  }

  /** Bytes stored in the bucket's standard storage (daily, maximum). */
  public metricBucketSizeBytes(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.storageMetric('BucketSizeBytes', 'StandardStorage', props);
  }

  /** Objects in the bucket, every version counted (daily, maximum). */
  public metricNumberOfObjects(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.storageMetric('NumberOfObjects', 'AllStorageTypes', props);
  }

  /** Requests answered with a 4xx status (sum over 5 minutes). Needs `requestMetrics: true`. */
  public metricClientErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.requestMetric('4xxErrors', 'metricClientErrors', props);
  }

  /** Requests answered with a 5xx status (sum over 5 minutes). Needs `requestMetrics: true`. */
  public metricServerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.requestMetric('5xxErrors', 'metricServerErrors', props);
  }

  private grantObjects(grantee: iam.IGrantable, actions: readonly string[], prefix: string): iam.Grant {
    if (!Token.isUnresolved(prefix) && /[*?]/.test(prefix)) {
      throw new Error(`${this.node.path}: the prefix of a grant is a literal key prefix, received "${prefix}". Remove the wildcard (a grant on "incoming/" covers every key under it).`);
    }
    const objects = this.bucket.arnForObjects(`${prefix}*`);
    const grant = iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [objects] });
    // The wildcard is the key prefix itself: acknowledged for this finding only, with the prefix in its id.
    const principal = grantee.grantPrincipal;
    if (principal instanceof Construct) {
      acknowledgeWildcardResources(principal, [objects],
        `SharedStorage grants ${actions.join(', ')} on the keys under "${prefix}" of its bucket: the wildcard is that key prefix, and nothing outside it is granted.`);
    }
    return grant;
  }

  private requireTable(method: string): dynamodb.ITable {
    if (!this.recordsTable) {
      throw new Error(`${this.node.path}: ${method} needs a records table, and this storage has none. Set \`records: true\` (or pass \`recordsTable\`).`);
    }
    return this.recordsTable;
  }

  private storageMetric(metricName: string, storageType: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/S3',
      metricName,
      dimensionsMap: { BucketName: this.bucket.bucketName, StorageType: storageType },
      statistic: 'Maximum',
      period: Duration.days(1),
      ...props,
    });
  }

  private requestMetric(metricName: string, method: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!this.requestMetrics) {
      throw new Error(`${this.node.path}: ${method} reads S3 request metrics, which are off. Set \`requestMetrics: true\` on a bucket SharedStorage creates.`);
    }
    return new cloudwatch.Metric({
      namespace: 'AWS/S3',
      metricName,
      dimensionsMap: { BucketName: this.bucket.bucketName, FilterId: REQUEST_METRICS_ID },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }

}

/**
 * A bucket for shared objects, with an optional table for shared records, secure by default:
 * encrypted, TLS only (1.2 or later), no public access, no ACLs, versioned, server access logs,
 * incomplete uploads cleaned up.
 *
 * @example
 * const jobs = new WorkQueue(this, 'Jobs');
 * const storage = new SharedStorage(this, 'Storage', {
 *   records: true,
 *   objectCreatedJobs: { workQueue: jobs, prefix: 'incoming/' },
 * });
 * storage.grantReadPrefix(worker, 'incoming/');
 * storage.grantWritePrefix(worker, 'results/');
 */
export class SharedStorage extends SharedStorageBase {
  /**
   * Shared storage made in another stack or app, with the same grants and environment: nothing is
   * created (its own app keeps the bucket, its logs and alarms).
   *
   * @example
   * const storage = SharedStorage.fromSharedStorageAttributes(this, 'Storage', { bucketName: 'shared-objects', recordsTableName: 'shared-records' });
   * storage.grantRead(worker, 'incoming/');
   */
  public static fromSharedStorageAttributes(scope: Construct, id: string, attrs: SharedStorageAttributes): ISharedStorage {
    return new ImportedSharedStorage(scope, id, attrs);
  }

  /** The bucket. */
  public readonly bucket: s3.IBucket;
  /** Where server access logs go; undefined for an existing bucket. */
  public readonly accessLogsBucket?: s3.IBucket;
  /** The KMS key of the bucket, when it uses one. */
  public readonly encryptionKey?: kms.IKey;
  /** The table of shared records, when there is one. */
  public readonly recordsTable?: dynamodb.ITable;
  /** The TTL attribute of the records table, when TTL is on. */
  public readonly recordsTimeToLiveAttribute?: string;
  /** True when this construct created the bucket (and so controls its settings). */
  public readonly createdBucket: boolean;
  /** Whether request metrics (4xx, 5xx) are on. */
  public readonly requestMetrics: boolean;

  constructor(scope: Construct, id: string, props: SharedStorageProps = {}) {
    super(scope, id);
    // Server access logs reach the log bucket through its bucket policy, not ACLs, which
    // object ownership "bucket owner enforced" turns off (CDK's flag is off in an app without it).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);

    const byo = props.bucket !== undefined;
    const encryption = resolveEncryption(props, SharedStorageEncryption.KMS, SharedStorageEncryption.S3_MANAGED, 'SharedStorageEncryption');
    const minimumTlsVersion = props.minimumTlsVersion ?? 1.2;
    const noncurrent = props.noncurrentVersionExpiration ?? DEFAULT_NONCURRENT_EXPIRATION;
    const abortAfter = props.abortIncompleteUploadsAfter ?? DEFAULT_ABORT_INCOMPLETE;
    const logRetention = props.accessLogsRetention ?? DEFAULT_LOG_RETENTION;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const records = props.records ?? (props.recordsTable !== undefined || props.recordsTimeToLiveAttribute !== undefined);

    assertProps(this, sharedStorageRules(props, { noncurrent, abortAfter, logRetention, minimumTlsVersion, records, encryption }));

    this.createdBucket = !byo;
    this.requestMetrics = !byo && (props.requestMetrics ?? false);

    if (props.bucket) {
      this.bucket = props.bucket;
      this.encryptionKey = props.bucket.encryptionKey;
    } else {
      this.encryptionKey = encryptionKeyFor(this, encryption, props.encryptionKey, { description: `Encrypts the objects and records of ${this.node.path}`, removalPolicy });

      this.accessLogsBucket = props.accessLogsBucket ?? this.newLogBucket(logRetention);
      // Made here, not by s3.Bucket, so that its permissions go to a customer-managed policy (no
      // inline policy for the strict packs) and its wildcards are acknowledged with their reason.
      const replicationRole = props.replication ? newRole(this, 'ReplicationRole', {
        assumedBy: new iam.ServicePrincipal('s3.amazonaws.com'),
        description: `Replicates the objects of ${this.node.path}`,
        customerManagedPolicies: true,
      }) : undefined;
      const bucket = new s3.Bucket(this, 'Bucket', {
        ...(encryption.kms
          ? { encryption: s3.BucketEncryption.KMS, encryptionKey: this.encryptionKey, bucketKeyEnabled: true }
          : { encryption: s3.BucketEncryption.S3_MANAGED }),
        enforceSSL: true,
        minimumTLSVersion: minimumTlsVersion,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned: true,
        // A log bucket of the user's is wired below, by its policy whatever the app's feature flags.
        serverAccessLogsBucket: props.accessLogsBucket ? undefined : this.accessLogsBucket,
        lifecycleRules: [
          { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: abortAfter },
          { id: 'ExpireNoncurrentVersions', noncurrentVersionExpiration: noncurrent },
          // A delete marker with no versions behind it is clutter that slows listings.
          { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
        ],
        cors: props.corsOrigins?.length
          ? [{
            allowedOrigins: props.corsOrigins,
            allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.HEAD, s3.HttpMethods.PUT, s3.HttpMethods.POST],
            allowedHeaders: ['content-type', 'content-length', 'x-amz-checksum-sha256', 'x-amz-sdk-checksum-algorithm'],
            exposedHeaders: ['etag', 'x-amz-checksum-sha256', 'x-amz-version-id'],
            maxAge: 3000,
          }]
          : undefined,
        metrics: this.requestMetrics ? [{ id: REQUEST_METRICS_ID }] : undefined,
        objectLockDefaultRetention: props.objectLockDefaultRetention,
        ...(props.replication ? { replicationRole: replicationRole!, replicationRules: [replicationRule(props.replication, encryption.kms)] } : {}),
        removalPolicy,
      });
      if (props.replication) this.grantReplication(bucket, replicationRole!, props.replication);
      if (props.accessLogsBucket) this.logTo(bucket, props.accessLogsBucket, `${this.node.path.replace(/\//g, '-')}/`);
      this.bucket = bucket;
      if (props.objectCreatedJobs) this.sendObjectCreatedEvents(bucket, props.objectCreatedJobs);
    }

    if (records) {
      this.recordsTimeToLiveAttribute = props.recordsTimeToLiveAttribute;
      this.recordsTable = props.recordsTable ?? new dynamodb.Table(this, 'Records', {
        partitionKey: { name: RECORD_ID_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        ...(this.encryptionKey && this.createdBucket
          ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: this.encryptionKey }
          : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
        timeToLiveAttribute: props.recordsTimeToLiveAttribute,
        removalPolicy,
      });
      if (props.backupPlan) this.backUpRecords(props.backupPlan, this.recordsTable);
    }

    if (this.createdBucket) {
      declareWorkload(this.bucket.node.defaultChild as s3.CfnBucket, SHARED_STORAGE_BUCKET_WORKLOAD.declare({ role: 'objects' }));
      const logs = this.accessLogsBucket?.node.defaultChild;
      if (!props.accessLogsBucket && logs instanceof s3.CfnBucket) declareWorkload(logs, SHARED_STORAGE_BUCKET_WORKLOAD.declare({ role: 'access-logs' }));
    }
  }

  private newLogBucket(retention: Duration): s3.Bucket {
    const logs = new s3.Bucket(this, 'AccessLogs', {
      // Server access logs can only be delivered to an SSE-S3 bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Versioned like the web tier's log bucket: a log deleted by mistake stays a day.
      versioned: true,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: retention, noncurrentVersionExpiration: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgeCheck(logs, SAME_CHECK.s3BucketLogging, 'This is the server access log bucket of the storage bucket; logging its own access would write a log record for every log record.');
    acknowledgeCheck(logs, SAME_CHECK.s3DefaultEncryptionKms, 'S3 delivers server access logs only to buckets encrypted with SSE-S3, not SSE-KMS: AWS offers no way to put them under a KMS key. Pass `accessLogsBucket` to log to a bucket of your own.');
    return logs;
  }

  /**
   * What S3 replication calls, as AWS's replication guide lists it, in the role's managed policy:
   * read the source's replication configuration and object versions, write replicas to the
   * destination, decrypt with the source's key and encrypt with the destination's. No action
   * wildcard (CDK's grantReplicationPermission asks for kms:GenerateDataKey* and kms:ReEncrypt*);
   * the resource wildcards are the objects of the two buckets, acknowledged as exactly those.
   */
  private grantReplication(bucket: s3.Bucket, role: iam.Role, replication: SharedStorageReplication): void {
    const sourceObjects = bucket.arnForObjects('*');
    const destinationObjects = replication.destination.arnForObjects('*');
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'], resources: [bucket.bucketArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'], resources: [sourceObjects],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'], resources: [destinationObjects] }));
    this.encryptionKey?.grant(role, 'kms:Decrypt');
    replication.destinationKey?.grant(role, 'kms:Encrypt');
    acknowledgeWildcardResources(role, [sourceObjects, destinationObjects],
      'S3 replication reads every object version of the source bucket and writes replicas of them to the destination: the wildcard is the objects of that bucket, nothing else.');
  }

  /**
   * Server access logs to a bucket of the user's, delivered by its bucket policy (as S3 advises
   * for buckets with ACLs off), not by an ACL: CDK would choose the ACL unless the app turns on its
   * `serverAccessLogsUseBucketPolicy` flag, and a bucket that enforces its owner refuses ACLs. An
   * imported bucket's policy is not ours to change: a warning says what it must allow.
   */
  private logTo(bucket: s3.Bucket, logs: s3.IBucket, prefix: string): void {
    (bucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = { destinationBucketName: logs.bucketName, logFilePrefix: prefix };
    const added = logs.addToResourcePolicy(new iam.PolicyStatement({
      sid: `S3ServerAccessLogs${Names.uniqueId(this).slice(-24)}`,
      principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
      actions: ['s3:PutObject'],
      resources: [logs.arnForObjects(`${prefix}*`)],
      conditions: { ArnLike: { 'aws:SourceArn': bucket.bucketArn }, StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }));
    if (!added.statementAdded) {
      Annotations.of(this).addWarningV2('cdk-cloud-patterns:access-logs-bucket-policy',
        `accessLogsBucket is imported, so its policy cannot be changed here: it must let logging.s3.amazonaws.com s3:PutObject to ${prefix}* from this storage's bucket, or no access log is delivered.`);
    }
  }

  /** Adds the records table to the user's backup plan, with a role of managed policies. */
  private backUpRecords(plan: backup.IBackupPlan, table: dynamodb.ITable): void {
    const role = newRole(this, 'BackupRole', {
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
      description: `Backs up the records of ${this.node.path}`,
      customerManagedPolicies: true,
    });
    role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSBackupServiceRolePolicyForBackup'));
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason: 'AWS Backup\'s own service role policy, which AWS keeps current with the actions a backup of DynamoDB calls; AWS Backup documents it for this role.',
    });
    new backupLib.BackupSelection(this, 'RecordsBackup', {
      backupPlan: plan,
      resources: [backupLib.BackupResource.fromDynamoDbTable(table)],
      role,
    });
  }

  /**
   * Object-created events to the work queue through the bucket's own NotificationConfiguration
   * (CDK's addEventNotification would add a Lambda-backed custom resource). S3 checks that it may
   * send to the queue when the bucket is created, so the queue policy comes first, and it cannot
   * name the bucket's ARN (the bucket would depend on it both ways): it allows S3 on behalf of
   * buckets of this account only. See docs/decisions.md.
   */
  private sendObjectCreatedEvents(bucket: s3.Bucket, jobs: ObjectCreatedJobs): void {
    const queue = jobs.workQueue.queue;
    const fromOurBuckets = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:s3:::*` },
    };
    const s3Service = new iam.ServicePrincipal('s3.amazonaws.com');
    const added = queue.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'ObjectCreatedEventsFromS3',
      principals: [s3Service],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      conditions: fromOurBuckets,
    }));
    if (added.policyDependable) bucket.node.addDependency(added.policyDependable);
    if (!added.statementAdded) {
      Annotations.of(this).addWarningV2(
        'cdk-cloud-patterns:object-created-queue-policy',
        `The queue of objectCreatedJobs is not in this app, so its policy cannot be extended: make sure it allows s3.amazonaws.com to sqs:SendMessage from buckets of this account, or the bucket's creation fails (S3 checks it).`,
      );
    }
    (jobs.workQueue.encryptionKey ?? queue.encryptionMasterKey)?.addToResourcePolicy(new iam.PolicyStatement({
      principals: [s3Service],
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: ['*'],
      conditions: fromOurBuckets,
    }));
    const rules: s3.CfnBucket.FilterRuleProperty[] = [];
    if (jobs.prefix) rules.push({ name: 'prefix', value: jobs.prefix });
    if (jobs.suffix) rules.push({ name: 'suffix', value: jobs.suffix });
    const cfn = bucket.node.defaultChild as s3.CfnBucket;
    cfn.notificationConfiguration = {
      queueConfigurations: [{
        event: 's3:ObjectCreated:*',
        queue: queue.queueArn,
        filter: rules.length ? { s3Key: { rules } } : undefined,
      }],
    };
  }
}

/** Shared storage of another stack or app: see {@link SharedStorage.fromSharedStorageAttributes}. */
class ImportedSharedStorage extends SharedStorageBase {
  public readonly bucket: s3.IBucket;
  public readonly encryptionKey?: kms.IKey;
  public readonly recordsTable?: dynamodb.ITable;
  public readonly recordsTimeToLiveAttribute?: string;
  public readonly createdBucket = false;
  public readonly requestMetrics = false;

  constructor(scope: Construct, id: string, attrs: SharedStorageAttributes) {
    super(scope, id);
    this.encryptionKey = attrs.encryptionKey;
    this.bucket = s3.Bucket.fromBucketAttributes(this, 'Bucket', { bucketName: attrs.bucketName, encryptionKey: attrs.encryptionKey });
    this.recordsTable = attrs.recordsTableName === undefined
      ? undefined
      : dynamodb.Table.fromTableAttributes(this, 'Records', { tableName: attrs.recordsTableName, encryptionKey: attrs.encryptionKey });
    this.recordsTimeToLiveAttribute = attrs.recordsTimeToLiveAttribute;
  }
}

/** The bucket's one replication rule: every object, replicas encrypted with the destination's key when the source uses KMS. */
function replicationRule(replication: SharedStorageReplication, kms: boolean): s3.ReplicationRule {
  return {
    destination: replication.destination,
    kmsKey: replication.destinationKey,
    sseKmsEncryptedObjects: kms ? true : undefined,
    deleteMarkerReplication: true,
  };
}

/** The validation rules of {@link SharedStorageProps}, with the defaults resolved. */
function sharedStorageRules(
  props: SharedStorageProps,
  d: { noncurrent: Duration; abortAfter: Duration; logRetention: Duration; minimumTlsVersion: number; records: boolean; encryption: ResolvedEncryption<SharedStorageEncryption> },
): PropRule[] {
  const byo = props.bucket !== undefined;
  const days = (duration: Duration) => duration.toHours() / 24;
  const wholeDays = (duration: Duration, min: number, max: number) => {
    const n = days(duration);
    return isKnown(n) && (!Number.isInteger(n) || n < min || n > max);
  };
  const origins = props.corsOrigins ?? [];
  const badOrigins = origins.filter((o) => !Token.isUnresolved(o) && !ORIGIN.test(o));
  const jobs = props.objectCreatedJobs;
  const ttl = props.recordsTimeToLiveAttribute;
  return [
    existingResourceRule('bucket', props, BUCKET_SHAPING, 'SharedStorage', {
      objectCreatedJobs: 'events to a queue need the bucket\'s own notification configuration: configure it where the bucket is defined',
    }),
    ...d.encryption.rules,
    {
      failed: props.replication !== undefined && d.encryption.kms && props.replication.destinationKey === undefined,
      prop: 'replication.destinationKey',
      message: 'is needed with KMS encryption: S3 replicates SSE-KMS objects only when told which key encrypts the replicas, received none. Give the destination bucket\'s key.',
    },
    {
      failed: props.backupPlan !== undefined && !d.records,
      prop: 'backupPlan',
      message: 'backs up the records table, and this storage has none (records is off). Set `records: true` or remove `backupPlan`.',
    },
    {
      failed: props.backupPlan !== undefined && props.recordsTable !== undefined,
      prop: 'backupPlan + recordsTable',
      message: 'an existing records table is backed up (or not) where it is defined; received both. Add it to your plan there, or remove `recordsTable` to let SharedStorage create one.',
    },
    {
      failed: !byo && isKnown(d.minimumTlsVersion) && d.minimumTlsVersion !== 1.2 && d.minimumTlsVersion !== 1.3,
      prop: 'minimumTlsVersion',
      message: `must be 1.2 or 1.3 (S3 no longer accepts older TLS versions), received ${d.minimumTlsVersion}.`,
    },
    {
      failed: wholeDays(d.noncurrent, 1, 36_500),
      prop: 'noncurrentVersionExpiration',
      message: `must be whole days from 1 to 36,500, received ${days(d.noncurrent)} days.`,
    },
    {
      failed: wholeDays(d.abortAfter, 1, 36_500),
      prop: 'abortIncompleteUploadsAfter',
      message: `must be whole days from 1 to 36,500 (S3 counts lifecycle in days), received ${days(d.abortAfter)} days.`,
    },
    {
      failed: wholeDays(d.logRetention, 1, 36_500),
      prop: 'accessLogsRetention',
      message: `must be whole days from 1 to 36,500, received ${days(d.logRetention)} days.`,
    },
    {
      failed: props.accessLogsRetention !== undefined && props.accessLogsBucket !== undefined,
      prop: 'accessLogsRetention',
      message: 'only applies to the log bucket SharedStorage creates; `accessLogsBucket` keeps its own retention. Remove one of them.',
    },
    {
      failed: badOrigins.length > 0,
      prop: 'corsOrigins',
      message: `must be origins like "https://app.example.com" (scheme, host, optional port; no wildcard, path or trailing slash), received ${badOrigins.map((o) => JSON.stringify(o)).join(', ')}.`,
    },
    {
      failed: jobs !== undefined && jobs.workQueue.fifo,
      prop: 'objectCreatedJobs.workQueue',
      message: 'is a FIFO queue, and S3 sends events to standard queues only. Use a standard WorkQueue (fifo: false).',
    },
    {
      failed: jobs?.prefix !== undefined && !Token.isUnresolved(jobs.prefix) && (jobs.prefix.startsWith('/') || /[*?]/.test(jobs.prefix)),
      prop: 'objectCreatedJobs.prefix',
      message: `is a literal key prefix without a leading slash or wildcards (e.g. "incoming/"), received ${JSON.stringify(jobs?.prefix)}.`,
    },
    {
      failed: jobs?.suffix !== undefined && !Token.isUnresolved(jobs.suffix) && /[*?]/.test(jobs.suffix),
      prop: 'objectCreatedJobs.suffix',
      message: `is a literal key suffix without wildcards (e.g. ".jpg"), received ${JSON.stringify(jobs?.suffix)}.`,
    },
    {
      failed: props.records === false && (props.recordsTable !== undefined || ttl !== undefined),
      prop: 'records',
      message: `is false, yet ${props.recordsTable !== undefined ? '`recordsTable`' : '`recordsTimeToLiveAttribute`'} is set. Remove it, or set \`records: true\`.`,
    },
    {
      failed: props.recordsTable !== undefined && ttl !== undefined,
      prop: 'recordsTable + recordsTimeToLiveAttribute',
      message: 'an existing table keeps its own TTL setting. Remove `recordsTimeToLiveAttribute`, and set TTL where the table is defined.',
    },
    {
      failed: ttl !== undefined && !Token.isUnresolved(ttl) && (!/^[A-Za-z0-9_.-]{1,255}$/.test(ttl) || RESERVED_RECORD_ATTRIBUTES.includes(ttl)),
      prop: 'recordsTimeToLiveAttribute',
      message: `must be an attribute name (letters, digits, _ . -) other than the client's own ${RESERVED_RECORD_ATTRIBUTES.join(', ')}, received ${JSON.stringify(ttl)}.`,
    },
  ];
}
