/**
 * What every job worker (LambdaWorker, FleetWorker) has in common: the queue it takes jobs from,
 * how it remembers finished jobs, and how long it keeps its logs. One definition, so the props,
 * their docs and their checks cannot drift apart between the two.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib/core';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS, IDEMPOTENCY_TABLE_ENV, IDEMPOTENCY_TTL_ENV } from '../../contracts/work-queue';
import type { ComputeProps } from '../core/log-groups';
import { outsideInt, type PropRule } from '../core/validation';
import { newIdempotencyTable } from './idempotency';
import type { IWorkQueue } from './work-queue';

/** Properties every job worker takes (with the logs and role props of every construct that runs code). */
export interface JobWorkerProps extends ComputeProps {
  /**
   * The queue to take jobs from: a {@link WorkQueue}, or a queue of another stack or app
   * imported with `WorkQueue.fromWorkQueueAttributes`.
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
   * What happens to the idempotency table the worker creates when it leaves the stack. Its records
   * are a memory of finished jobs for `idempotencyTtl`: retain it when a redeployment that
   * replaces the worker must not run recent jobs again.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

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
      failed: props.removalPolicy !== undefined && (!(props.idempotency ?? false) || props.idempotencyTable !== undefined),
      prop: 'removalPolicy',
      message: `applies to the idempotency table the worker creates, and this worker creates none (${props.idempotencyTable !== undefined ? 'it is given `idempotencyTable`' : 'idempotency is off'}). Remove \`removalPolicy\`.`,
    },
    {
      failed: outsideInt(ttlSeconds, 60, 31_536_000),
      prop: 'idempotencyTtl',
      message: `must be from 1 minute to 365 days, received ${ttlSeconds} seconds.`,
    },
  ];
}

/**
 * The idempotency table of a worker (the given one, or a new one under `scope`) and the
 * environment that tells the runtime to use it; none when idempotency is off.
 */
export function workerIdempotency(scope: Construct, props: JobWorkerProps): { readonly table?: dynamodb.ITable; readonly environment: Record<string, string> } {
  if (!(props.idempotency ?? false)) return { environment: {} };
  const table = props.idempotencyTable ?? newIdempotencyTable(scope, 'IdempotencyTable', props.removalPolicy);
  const ttl = props.idempotencyTtl ?? Duration.seconds(DEFAULT_IDEMPOTENCY_TTL_SECONDS);
  return { table, environment: { [IDEMPOTENCY_TABLE_ENV]: table.tableName, [IDEMPOTENCY_TTL_ENV]: String(ttl.toSeconds()) } };
}
