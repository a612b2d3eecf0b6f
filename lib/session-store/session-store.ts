/**
 * SessionStore: the shared table that keeps web sessions, so any server can serve any request
 * and servers can come and go. Grants exactly what the session library (runtime/sessions/)
 * calls, and hands its settings to that library through the contract's environment variables.
 */
import { Duration, type RemovalPolicy, Token } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, type IConstruct } from 'constructs';
import {
  SESSION_ATTRIBUTES as A, SESSION_DYNAMODB_ACTIONS, SESSION_READ_ACTIONS, SESSION_TABLE_ENV, SESSION_USER_INDEX_ENV, SESSION_USER_INDEX_NAME, SESSION_USER_INDEX_PROJECTION,
  SESSION_WRITE_ACTIONS,
} from '../../contracts/session-store';
import { DYNAMODB_KEY_ACTIONS, DYNAMODB_KEY_READ_ACTIONS, encryptionKeyFor, resolveEncryption } from '../core/encryption';
import { SAME_CHECK, acknowledgeCheck } from '../core/nag';
import { existingResourceRule } from '../core/rules';
import { assertProps, outsideInt } from '../core/validation';

/** How a SessionStore's table is encrypted at rest (it always is). */
export enum SessionStoreEncryption {
  /** DynamoDB's default: a key AWS owns, at no cost and with no key policy to keep. */
  AWS_OWNED = 'AWS_OWNED',
  /** A customer-managed KMS key (`encryptionKey`, or a new one with rotation on), for key control and CloudTrail records of its use. */
  KMS = 'KMS',
}

/** Properties of a {@link SessionStore}. */
export interface SessionStoreProps {
  /**
   * An existing table to keep sessions in (partition key `id`, a string; TTL on `expiresAt`).
   * It is used as it is: none of the table-shaping props (`tableName`, `encryption`,
   * `encryptionKey`, `pointInTimeRecovery`, `removalPolicy`) may be set with it.
   *
   * @default - a new table with the secure defaults below
   */
  readonly table?: dynamodb.ITable;

  /**
   * An index of sessions by user id, for "list my sessions" and "sign out everywhere". It is
   * sparse (only signed-in sessions are in it). With an existing `table`, true declares that
   * the table has this index under the name `byUserId`.
   *
   * @default - true for a new table, false for an existing one
   */
  readonly userIndex?: boolean;

  /**
   * A name for the table.
   *
   * @default - a name CloudFormation generates
   */
  readonly tableName?: string;

  /**
   * How the table is encrypted at rest.
   *
   * @default - `SessionStoreEncryption.KMS` when `encryptionKey` is given, else `SessionStoreEncryption.AWS_OWNED`
   */
  readonly encryption?: SessionStoreEncryption;

  /**
   * The KMS key of the table. Giving a key means KMS encryption, as it does for `sqs.Queue`:
   * `encryption` may then be left out (or set to `KMS`).
   *
   * @default - a new key with rotation on, when `encryption` is `KMS`
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Point-in-time recovery of the table.
   *
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;

  /**
   * What happens to the table when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN (CDK's default for tables)
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * The throttle alarm fires when this many session requests are throttled in 5 minutes
   * (throttled requests fail page views).
   *
   * @default 1
   */
  readonly throttleAlarmThreshold?: number;

  /**
   * An SNS topic to notify when the alarm fires.
   *
   * @default - the alarm has no action
   */
  readonly alarmTopic?: sns.ITopic;
}


/** The table operations the session library performs, for metrics. */
const OPERATIONS = [
  dynamodb.Operation.GET_ITEM, dynamodb.Operation.PUT_ITEM, dynamodb.Operation.UPDATE_ITEM, dynamodb.Operation.DELETE_ITEM, dynamodb.Operation.QUERY,
];

/**
 * A session store as the servers use it: the table, its user index, its key, the environment the
 * session library reads, grants and metrics. A {@link SessionStore} is one; so is the store of
 * another stack or app imported with {@link SessionStore.fromSessionStoreAttributes}.
 */
export interface ISessionStore extends IConstruct {
  /** The session table. */
  readonly table: dynamodb.ITable;
  /** The user index's name, when the table has one. */
  readonly userIndexName?: string;
  /** The KMS key of the table, when it uses one. */
  readonly encryptionKey?: kms.IKey;
  /** The environment variables the session library reads (`SessionManager.fromEnvironment()`): table and index names. */
  readonly environment: { readonly [name: string]: string };
  /** Lets `grantee` load sessions and list a user's sessions (GetItem, Query), and decrypt them. */
  grantRead(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` save, touch and destroy sessions (PutItem, UpdateItem, DeleteItem), and encrypt them. */
  grantWrite(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` use sessions: exactly the actions the session library calls. */
  grantReadWrite(grantee: iam.IGrantable): iam.Grant;
  /** Session requests throttled, summed over the operations the library performs (5-minute sums). */
  metricThrottledRequests(options?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** Consumed read capacity of the session table (5-minute sums). */
  metricConsumedReadCapacityUnits(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Consumed write capacity of the session table (5-minute sums). */
  metricConsumedWriteCapacityUnits(options?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** What {@link SessionStore.fromSessionStoreAttributes} needs to know of a session store made elsewhere. */
export interface SessionStoreAttributes {
  /** The session table's name (give it or `tableArn`). @default - from `tableArn` */
  readonly tableName?: string;
  /** The session table's ARN (give it or `tableName`). @default - from `tableName`, in this stack's account and region */
  readonly tableArn?: string;
  /** Whether the table has the index by user (`byUserId`). @default false */
  readonly userIndex?: boolean;
  /** The table's KMS key, when it uses one: grants include what DynamoDB asks of the caller for it. @default - not encrypted with a customer-managed key */
  readonly encryptionKey?: kms.IKey;
}

/** Grants, environment and metrics every session store has, from its table. */
abstract class SessionStoreBase extends Construct implements ISessionStore {
  public abstract readonly table: dynamodb.ITable;
  public abstract readonly userIndexName?: string;
  public abstract readonly encryptionKey?: kms.IKey;

  /** `SESSION_TABLE_NAME` and, with a user index, `SESSION_USER_INDEX_NAME` (contracts/session-store.ts). */
  public get environment(): { readonly [name: string]: string } {
    return {
      [SESSION_TABLE_ENV]: this.table.tableName,
      ...(this.userIndexName ? { [SESSION_USER_INDEX_ENV]: this.userIndexName } : {}),
    };
  }

  /** Lets `grantee` load sessions and list a user's sessions: GetItem and Query (SESSION_READ_ACTIONS), and Decrypt and DescribeKey on a KMS key. */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey?.grant(grantee, ...DYNAMODB_KEY_READ_ACTIONS);
    return iam.Grant.addToPrincipal({ grantee, actions: [...SESSION_READ_ACTIONS], resourceArns: this.resourceArns() });
  }

  /** Lets `grantee` save, touch and destroy sessions: PutItem, UpdateItem, DeleteItem (SESSION_WRITE_ACTIONS), and what DynamoDB asks of a KMS key. */
  public grantWrite(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey?.grant(grantee, ...DYNAMODB_KEY_ACTIONS);
    return iam.Grant.addToPrincipal({ grantee, actions: [...SESSION_WRITE_ACTIONS], resourceArns: [this.table.tableArn] });
  }

  /**
   * Lets `grantee` use sessions: exactly the actions the session library calls
   * (SESSION_DYNAMODB_ACTIONS: GetItem, PutItem, UpdateItem, DeleteItem, Query) on the table
   * and its user index, and Decrypt, DescribeKey, Encrypt and GenerateDataKey on the KMS key when there is one. No Scan, CreateTable or DescribeTable.
   */
  public grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions: [...SESSION_DYNAMODB_ACTIONS], resourceArns: this.resourceArns() });
    // What DynamoDB asks of the caller for a table under a customer-managed key (it decrypts the
    // table key with the caller's permission); no ReEncrypt* or GenerateDataKey* wildcards.
    this.encryptionKey?.grant(grantee, ...DYNAMODB_KEY_ACTIONS);
    return grant;
  }

  /** Session requests throttled, summed over the operations the library performs (5-minute sums). */
  public metricThrottledRequests(options: cloudwatch.MetricOptions = {}): cloudwatch.IMetric {
    return this.table.metricThrottledRequestsForOperations({ operations: OPERATIONS, period: Duration.minutes(5), ...options });
  }

  /** Consumed read capacity of the session table (5-minute sums): one unit per consistent read of a session up to 4 KB. */
  public metricConsumedReadCapacityUnits(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.table.metricConsumedReadCapacityUnits({ period: Duration.minutes(5), statistic: 'Sum', ...options });
  }

  /** Consumed write capacity of the session table (5-minute sums). */
  public metricConsumedWriteCapacityUnits(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.table.metricConsumedWriteCapacityUnits({ period: Duration.minutes(5), statistic: 'Sum', ...options });
  }

  private resourceArns(): string[] {
    return [this.table.tableArn, ...(this.userIndexName ? [`${this.table.tableArn}/index/${this.userIndexName}`] : [])];
  }
}

/**
 * A DynamoDB table for web sessions: on-demand, encrypted, point-in-time recovery, TTL on
 * `expiresAt`, an optional index by user, an alarm on throttling, and a grant of exactly the
 * actions the session library calls.
 *
 * @example
 * const sessions = new SessionStore(this, 'Sessions');
 * sessions.grantReadWrite(webServerRole);
 * // and give the servers sessions.environment (SESSION_TABLE_NAME, SESSION_USER_INDEX_NAME)
 */
export class SessionStore extends SessionStoreBase {
  /**
   * A session store made in another stack or app, with the same grants and environment: no table
   * and no alarm is created (its own app keeps those).
   *
   * @example
   * const sessions = SessionStore.fromSessionStoreAttributes(this, 'Sessions', { tableName: 'sessions', userIndex: true });
   * sessions.grantReadWrite(web);
   */
  public static fromSessionStoreAttributes(scope: Construct, id: string, attrs: SessionStoreAttributes): ISessionStore {
    return new ImportedSessionStore(scope, id, attrs);
  }

  /** The session table. */
  public readonly table: dynamodb.ITable;
  /** The user index's name, when the table has one. */
  public readonly userIndexName?: string;
  /** The KMS key of the table, when it uses one this construct knows. */
  public readonly encryptionKey?: kms.IKey;
  /** True when this construct created the table. */
  public readonly createdTable: boolean;
  /** Fires when session requests are throttled. */
  public readonly throttleAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: SessionStoreProps = {}) {
    super(scope, id);

    const byo = props.table !== undefined;
    const encryption = resolveEncryption(props, SessionStoreEncryption.KMS, SessionStoreEncryption.AWS_OWNED, 'SessionStoreEncryption');
    const userIndex = props.userIndex ?? !byo;
    const threshold = props.throttleAlarmThreshold ?? 1;

    assertProps(this, [
      existingResourceRule('table', props, ['tableName', 'encryption', 'encryptionKey', 'pointInTimeRecovery', 'removalPolicy'], 'SessionStore'),
      ...encryption.rules,
      {
        failed: outsideInt(props.throttleAlarmThreshold, 1, 1_000_000),
        prop: 'throttleAlarmThreshold',
        message: `must be a whole number from 1 to 1,000,000, received ${props.throttleAlarmThreshold}.`,
      },
      {
        failed: props.tableName !== undefined && !Token.isUnresolved(props.tableName) && !/^[A-Za-z0-9_.-]{3,255}$/.test(props.tableName),
        prop: 'tableName',
        message: `must be 3 to 255 letters, digits, underscores, hyphens or dots, received "${props.tableName}".`,
      },
    ]);

    this.createdTable = !byo;
    this.userIndexName = userIndex ? SESSION_USER_INDEX_NAME : undefined;

    if (props.table) {
      this.table = props.table;
      this.encryptionKey = props.table.encryptionKey;
    } else {
      this.encryptionKey = encryptionKeyFor(this, encryption, props.encryptionKey, { description: `Encrypts the sessions of ${this.node.path}`, removalPolicy: props.removalPolicy });
      const table = new dynamodb.Table(this, 'Table', {
        tableName: props.tableName,
        partitionKey: { name: A.key, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: encryption.kms ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.DEFAULT,
        encryptionKey: this.encryptionKey,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
        // TTL deletes dead sessions eventually (within days); the library refuses them on read at once.
        timeToLiveAttribute: A.expiresAt,
        removalPolicy: props.removalPolicy,
      });
      if (userIndex) {
        table.addGlobalSecondaryIndex({
          indexName: SESSION_USER_INDEX_NAME,
          partitionKey: { name: A.userId, type: dynamodb.AttributeType.STRING },
          sortKey: { name: A.createdAt, type: dynamodb.AttributeType.NUMBER },
          projectionType: dynamodb.ProjectionType.INCLUDE,
          nonKeyAttributes: [...SESSION_USER_INDEX_PROJECTION],
        });
      }
      acknowledgeCheck(table, SAME_CHECK.dynamoDbInBackupPlan, 'Sessions live hours at most (idle and absolute timeouts, then TTL): a backup restored later could only bring back sessions that expired or were signed out, which must stay dead. Point-in-time recovery is on for mistakes within the day.');
      this.table = table;
    }

    this.throttleAlarm = new cloudwatch.Alarm(this, 'ThrottleAlarm', {
      alarmDescription: `Session requests to ${this.node.path} are throttled: page views fail or slow down. Check the table's capacity and hot keys.`,
      metric: this.metricThrottledRequests(),
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) this.throttleAlarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
  }
}

/** A session store of another stack or app: see {@link SessionStore.fromSessionStoreAttributes}. */
class ImportedSessionStore extends SessionStoreBase {
  public readonly table: dynamodb.ITable;
  public readonly userIndexName?: string;
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, attrs: SessionStoreAttributes) {
    super(scope, id);
    assertProps(this, [{
      failed: (attrs.tableName === undefined) === (attrs.tableArn === undefined),
      prop: 'tableName, tableArn',
      message: `give exactly one of them, received ${attrs.tableName === undefined ? 'neither' : 'both'}.`,
    }]);
    this.encryptionKey = attrs.encryptionKey;
    this.userIndexName = attrs.userIndex ? SESSION_USER_INDEX_NAME : undefined;
    this.table = attrs.tableArn !== undefined
      ? dynamodb.Table.fromTableAttributes(this, 'Table', { tableArn: attrs.tableArn, encryptionKey: attrs.encryptionKey })
      : dynamodb.Table.fromTableAttributes(this, 'Table', { tableName: attrs.tableName, encryptionKey: attrs.encryptionKey });
  }
}
