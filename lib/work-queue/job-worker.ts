/**
 * What every job worker (LambdaWorker, FleetWorker) has in common: the queue it takes jobs from,
 * how it remembers finished jobs, and how long it keeps its logs. One definition, so the props,
 * their docs and their checks cannot drift apart between the two.
 */
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS, IDEMPOTENCY_TABLE_ENV, IDEMPOTENCY_TTL_ENV } from '../../contracts/work-queue';
import { outsideInt, type PropRule } from '../core/validation';
import { newIdempotencyTable } from './idempotency';
import type { IWorkQueue } from './work-queue';

/** Properties every job worker takes. */
export interface JobWorkerProps {
  /**
   * The queue to take jobs from: a {@link WorkQueue}, or a queue of another stack or app
   * imported with `WorkQueue.fromQueueAttributes`.
   */
  readonly workQueue: IWorkQueue;

  /**
   * Remember finished jobs in a DynamoDB table so that a job delivered twice, even at the same
   * time, applies its effect once. LambdaWorker and FleetWorker keep the same records, so they
   * may share a table.
   *
   * @default false
   */
  readonly idempotency?: boolean;

  /**
   * An existing table for idempotency records (partition key `id` as a string, TTL on
   * `expiration`), e.g. the one another worker on the same queue uses. Requires `idempotency: true`.
   *
   * @default - a new table when `idempotency` is true
   */
  readonly idempotencyTable?: dynamodb.ITable;

  /**
   * How long a finished job is remembered: a duplicate that arrives later runs again.
   *
   * @default Duration.days(1)
   */
  readonly idempotencyTtl?: Duration;

  /**
   * How long the worker's logs are kept (in the log group the worker creates).
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * A log group of your own for the worker's logs, used as it is (its retention and encryption
   * are yours): `logRetention` and `logEncryptionKey` cannot be set with it.
   *
   * @default - a new log group, kept for `logRetention` and retained when the stack is deleted
   */
  readonly logGroup?: logs.ILogGroup;

  /**
   * Encrypt the log group the worker creates with this KMS key (CloudWatch Logs is allowed to use
   * it for the log groups of this account and region).
   *
   * @default - encrypted by CloudWatch Logs with its own keys
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Put the permissions of the role the worker creates in a customer-managed policy instead of an
   * inline one, for rules that forbid inline policies (cdk-nag's IAMNoInlinePolicy in the HIPAA,
   * NIST and PCI packs). Later `grant...(worker)` calls land there too.
   *
   * @default false
   */
  readonly customerManagedPolicies?: boolean;
}

/** The checks of {@link JobWorkerProps} that every worker runs. */
export function jobWorkerRules(props: JobWorkerProps): PropRule[] {
  const ttlSeconds = (props.idempotencyTtl ?? Duration.seconds(DEFAULT_IDEMPOTENCY_TTL_SECONDS)).toSeconds();
  return [
    {
      failed: props.idempotencyTable !== undefined && !(props.idempotency ?? false),
      prop: 'idempotencyTable',
      message: 'is only used with `idempotency: true`. Set `idempotency: true` or remove `idempotencyTable`.',
    },
    {
      failed: outsideInt(ttlSeconds, 60, 31_536_000),
      prop: 'idempotencyTtl',
      message: `must be from 1 minute to 365 days, received ${ttlSeconds} seconds.`,
    },
    ...logGroupRules(props),
  ];
}

/** The checks of a construct that creates a log group unless it is given one. */
export function logGroupRules(props: { readonly logGroup?: logs.ILogGroup; readonly logRetention?: logs.RetentionDays; readonly logEncryptionKey?: kms.IKey }): PropRule[] {
  const conflicts = (['logRetention', 'logEncryptionKey'] as const).filter((k) => props[k] !== undefined);
  return [
    {
      failed: props.logGroup !== undefined && conflicts.length > 0,
      prop: `logGroup + ${conflicts.join(', ')}`,
      message: `an existing log group keeps its own retention and encryption, so ${conflicts.join(' and ')} cannot be set with it; received both. Remove ${conflicts.length === 1 ? 'it' : 'them'}, or remove \`logGroup\` to let the construct create one.`,
    },
  ];
}

/**
 * The idempotency table of a worker (the given one, or a new one under `scope`) and the
 * environment that tells the runtime to use it; none when idempotency is off.
 */
export function workerIdempotency(scope: Construct, props: JobWorkerProps): { readonly table?: dynamodb.ITable; readonly environment: Record<string, string> } {
  if (!(props.idempotency ?? false)) return { environment: {} };
  const table = props.idempotencyTable ?? newIdempotencyTable(scope, 'IdempotencyTable');
  const ttl = props.idempotencyTtl ?? Duration.seconds(DEFAULT_IDEMPOTENCY_TTL_SECONDS);
  return { table, environment: { [IDEMPOTENCY_TABLE_ENV]: table.tableName, [IDEMPOTENCY_TTL_ENV]: String(ttl.toSeconds()) } };
}
