/**
 * LockTable: the DynamoDB table that holds locks with leases and fencing tokens, for the lock
 * client (runtime/locks/). A lock must never live on an eventually consistent store: the client
 * only reads strongly consistently and writes conditionally, and this table is the one place it
 * keeps leases and counters. Grants exactly what the client calls and hands it the table's name
 * through the contract's environment variable.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LOCK_ATTRIBUTES as A, LOCK_DYNAMODB_ACTIONS, LOCK_TABLE_ENV } from '../../contracts/locks';
import { DYNAMODB_KEY_ACTIONS, DYNAMODB_KEY_READ_ACTIONS, encryptionKeyFor, resolveEncryption } from '../core/encryption';
import { SAME_CHECK, acknowledgeCheck } from '../core/nag';
import { assertProps } from '../core/validation';
import { LockTableEncryption, type ILockTable, type LockTableAttributes, type LockTableProps } from './props';
import { lockTableAttributeRules, lockTableRules } from './validation';

/** The table operations the lock client performs, for metrics. */
const OPERATIONS = [dynamodb.Operation.GET_ITEM, dynamodb.Operation.UPDATE_ITEM];

/** Grants, environment and metrics every lock table has, from its table and key. */
abstract class LockTableBase extends Construct implements ILockTable {
  public abstract readonly table: dynamodb.ITable;
  public abstract readonly encryptionKey?: kms.IKey;

  /** The environment variables the lock client reads: `CLOUD_PATTERNS_LOCK_TABLE`. */
  public get environment(): Readonly<Record<string, string>> {
    return { [LOCK_TABLE_ENV]: this.table.tableName };
  }

  /**
   * Lets `grantee` take, renew, release and inspect locks: exactly the actions the lock client
   * calls (LOCK_DYNAMODB_ACTIONS: UpdateItem, GetItem) on this table, and Decrypt, DescribeKey,
   * Encrypt and GenerateDataKey on its KMS key when there is one. No PutItem, DeleteItem, Scan,
   * Query or DescribeTable.
   */
  public grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions: [...LOCK_DYNAMODB_ACTIONS], resourceArns: [this.table.tableArn] });
    this.encryptionKey?.grant(grantee, ...DYNAMODB_KEY_ACTIONS);
    return grant;
  }

  /** Lets `grantee` inspect locks (`LockClient.inspect`): GetItem, and Decrypt and DescribeKey on a KMS key. */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey?.grant(grantee, ...DYNAMODB_KEY_READ_ACTIONS);
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem'], resourceArns: [this.table.tableArn] });
  }

  /**
   * Lets `grantee` take, renew and release locks without reading them: UpdateItem. A LockClient
   * also reads (GetItem): give it {@link grantReadWrite}.
   */
  public grantWrite(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey?.grant(grantee, ...DYNAMODB_KEY_ACTIONS);
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:UpdateItem'], resourceArns: [this.table.tableArn] });
  }

  /** Lock requests throttled, summed over the operations the client performs (5-minute sums). */
  public metricThrottledRequests(options: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return this.table.metricThrottledRequestsForOperations({ operations: OPERATIONS, period: Duration.minutes(5), ...options });
  }

  /** Conditional writes that failed (5-minute sums): acquire attempts that found the lock held, renewals that found it taken. */
  public metricConditionalCheckFailedRequests(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.table.metricConditionalCheckFailedRequests({ period: Duration.minutes(5), statistic: 'Sum', ...options });
  }

  /** Consumed write capacity of the lock table (5-minute sums): one unit per acquire, renewal or release. */
  public metricConsumedWriteCapacityUnits(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.table.metricConsumedWriteCapacityUnits({ period: Duration.minutes(5), statistic: 'Sum', ...options });
  }
}

/**
 * A DynamoDB table for locks with leases and fencing tokens: partition key `name`, on-demand,
 * encrypted, point-in-time recovery, TTL on `deleteAfter` (long-dead records go days after their
 * lease ended), retained on removal, and a grant of exactly the actions the lock client calls.
 *
 * @example
 * const locks = new LockTable(this, 'Locks');
 * locks.grantReadWrite(reportFunction);
 * // and give the function locks.environment (CLOUD_PATTERNS_LOCK_TABLE)
 */
export class LockTable extends LockTableBase {
  /**
   * A lock table made in another stack or app: no table is created; grants, environment and
   * metrics are the same as a created one's.
   *
   * @example
   * const locks = LockTable.fromLockTableAttributes(this, 'Locks', { tableName: 'shared-locks' });
   * locks.grantReadWrite(worker.function);
   */
  public static fromLockTableAttributes(scope: Construct, id: string, attrs: LockTableAttributes): ILockTable {
    return new ImportedLockTable(scope, id, attrs);
  }

  /** The lock table. */
  public readonly table: dynamodb.ITable;
  /** The table's KMS key, with `LockTableEncryption.KMS`. */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: LockTableProps = {}) {
    super(scope, id);
    const encryption = resolveEncryption(props, LockTableEncryption.KMS, LockTableEncryption.AWS_OWNED, 'LockTableEncryption');
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    assertProps(this, [...encryption.rules, ...lockTableRules(props)]);
    this.encryptionKey = encryptionKeyFor(this, encryption, props.encryptionKey, { description: `Encrypts the locks of ${this.node.path}`, removalPolicy });
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: A.name, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: encryption.kms ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.DEFAULT,
      encryptionKey: this.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      // Released and expired records stay (they keep the counters) until days later; never a held one.
      timeToLiveAttribute: A.deleteAfter,
      removalPolicy,
    });
    acknowledgeCheck(this.table, SAME_CHECK.dynamoDbInBackupPlan, 'A lock lives for a lease of seconds: a backup restored later would bring back holders long gone and older fencing counters, so tokens could repeat. The table is retained with the stack, and point-in-time recovery is on for an accidental deletion.');
  }
}

/** A lock table of another stack or app: see {@link LockTable.fromLockTableAttributes}. */
class ImportedLockTable extends LockTableBase {
  public readonly table: dynamodb.ITable;
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, attrs: LockTableAttributes) {
    super(scope, id);
    assertProps(this, lockTableAttributeRules(attrs));
    this.encryptionKey = attrs.encryptionKey;
    this.table = dynamodb.Table.fromTableAttributes(this, 'Table', {
      ...(attrs.tableArn !== undefined ? { tableArn: attrs.tableArn } : { tableName: attrs.tableName }),
      encryptionKey: attrs.encryptionKey,
    });
  }
}
