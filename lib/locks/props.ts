/**
 * What a LockTable takes and what it is: its props (each with its default), its encryption
 * choice, the attributes of one made elsewhere, and ILockTable, the interface both a created and
 * an imported lock table implement (grants, environment, metrics).
 */
import type { RemovalPolicy } from 'aws-cdk-lib/core';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';

/** How a LockTable's table is encrypted at rest (it always is). */
export enum LockTableEncryption {
  /** DynamoDB's default: a key AWS owns, at no cost and with no key policy to keep. */
  AWS_OWNED = 'AWS_OWNED',
  /** A customer-managed KMS key (`encryptionKey`, or a new one with rotation on), for key control and CloudTrail records of its use. */
  KMS = 'KMS',
}

/** Properties of a {@link LockTable}. */
export interface LockTableProps {
  /**
   * A name for the table.
   *
   * @default - a name CloudFormation generates
   */
  readonly tableName?: string;

  /**
   * How the table is encrypted at rest.
   *
   * @default - `LockTableEncryption.KMS` when `encryptionKey` is given, else `LockTableEncryption.AWS_OWNED`
   */
  readonly encryption?: LockTableEncryption;

  /**
   * The KMS key of the table. Giving a key means KMS encryption: `encryption` may then be left
   * out (or set to `KMS`).
   *
   * @default - a new key with rotation on, when `encryption` is `KMS`
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Point-in-time recovery of the table, as cdk-nag's AwsSolutions-DDB3 asks. The records are
   * small (leases and fencing counters) so it costs little; no lock depends on it, since a name
   * whose record is lost restarts its tokens above every earlier one.
   *
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;

  /**
   * What happens to the table when it leaves the stack. Retained by default: the fencing
   * counters must outlive a stack that is removed and deployed again.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** What {@link LockTable.fromLockTableAttributes} needs to know of a lock table made elsewhere. */
export interface LockTableAttributes {
  /**
   * The table's ARN. Give this or `tableName`.
   *
   * @default - derived from `tableName` in this stack's account and region
   */
  readonly tableArn?: string;

  /**
   * The table's name. Give this or `tableArn`.
   *
   * @default - derived from `tableArn`
   */
  readonly tableName?: string;

  /**
   * The table's KMS key, when it uses a customer-managed one: grants then cover it.
   *
   * @default - encrypted with a key AWS owns or manages (nothing to grant)
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A lock table as the code that takes locks uses it: a LockTable, or one of another stack or app
 * imported with {@link LockTable.fromLockTableAttributes}.
 */
export interface ILockTable extends IConstruct {
  /** The DynamoDB table. */
  readonly table: dynamodb.ITable;
  /** The table's KMS key, when it uses a customer-managed one this construct knows. */
  readonly encryptionKey?: kms.IKey;
  /** The environment variables the lock client reads (`LockClient.fromEnvironment()`): the table's name. */
  readonly environment: Readonly<Record<string, string>>;

  /** Lets `grantee` take, renew, release and inspect locks: exactly the actions the lock client calls. */
  grantReadWrite(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` inspect locks (GetItem). */
  grantRead(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` take, renew and release locks without reading them (UpdateItem). */
  grantWrite(grantee: iam.IGrantable): iam.Grant;
  /** Lock requests throttled (renewals that fail this way can cost a holder its lease). */
  metricThrottledRequests(options?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** Conditional writes that failed: attempts that found a lock held (contention), and renewals that found it taken. */
  metricConditionalCheckFailedRequests(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Write capacity the locks consume (every acquire, renewal and release is one write). */
  metricConsumedWriteCapacityUnits(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
}
