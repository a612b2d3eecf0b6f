/**
 * The locks contract: what the LockTable construct (lib/locks/), the lock client
 * (runtime/locks/) and the local cloud read. Plain TypeScript, no CDK or SDK imports, so every
 * tier imports the same values instead of keeping copies.
 */
import { defineWorkloadKind, type WorkloadDeclaration, type WorkloadKindContract } from './workload';

/** Environment variable holding the lock table's name (set by `LockTable.environment`). */
export const LOCK_TABLE_ENV = 'CLOUD_PATTERNS_LOCK_TABLE';

/** Attribute names of a lock record (one item per lock name, or per permit of a semaphore). */
export const LOCK_ATTRIBUTES = {
  /** Partition key: the lock's name (a string); a semaphore's permit `i` is `<name>#<i>`. */
  name: 'name',
  /**
   * The fencing counter: the token of the latest acquisition. Every acquisition adds 1 in the
   * same conditional write that takes the lock; a release keeps it, so tokens only grow. The
   * first acquisition of a name starts from the writer's clock in epoch milliseconds, so a
   * name whose record TTL removed after long disuse still starts above every token it gave.
   */
  token: 'token',
  /** The current acquisition's id (a random UUID per acquire); absent once released. */
  owner: 'owner',
  /** Who holds it, for people (host and process by default); absent once released. */
  holder: 'holder',
  /** Epoch milliseconds, by the holder's clock, at which the lease ends; 0 once released. */
  expiresAt: 'expiresAt',
  /** The lease the holder asked for, in milliseconds (for people and metrics; the client reads `expiresAt`). */
  leaseMs: 'leaseMs',
  /** Epoch seconds after which DynamoDB's TTL may delete a long-dead record (days after its lease ended). */
  deleteAfter: 'deleteAfter',
} as const;

/** Separator between a semaphore's name and a permit's number in its record key (so lock names may not contain it). */
export const LOCK_PERMIT_SEPARATOR = '#';

/**
 * Exactly the DynamoDB actions the lock client calls on the lock table: UpdateItem for acquire,
 * renew and release (all conditional), GetItem for `inspect` (strongly consistent). No PutItem,
 * DeleteItem, Scan or Query: a contract test records every command the client sends and
 * compares them with this list.
 */
export const LOCK_DYNAMODB_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'] as const;

/**
 * The attribute (DynamoDB helpers) or data field (SharedRecords helper) where a fenced write
 * stores the token of the lock it was written under.
 */
export const FENCING_TOKEN_ATTRIBUTE = 'fencingToken';

/** User-metadata key (`x-amz-meta-fencing-token`) where the S3 fencing helper stores the token of an object's writer. */
export const FENCING_TOKEN_METADATA_KEY = 'fencing-token';

/** The lock LockStack's report worker takes (lambda/locks/nightly-report.ts). */
export const LOCK_STACK_REPORT_LOCK = 'nightly-report';

/** Environment variable naming the table LockStack's report worker writes reports to. */
export const LOCK_STACK_REPORTS_TABLE_ENV = 'REPORTS_TABLE';

/**
 * What LockStack declares on its reports table, for the local cloud's demo: a few report jobs
 * for one day sent to `queueUrl` at once. Each must take lock `lockName` of `lockTableName` in
 * turn (the lock's fencing token goes up by one per job), the stored report (the declaration's
 * resource, keyed by `id` = the day) must carry the latest token, the lock must end free and
 * nothing may be dead-lettered.
 */
export interface ReportDemoWorkload extends WorkloadDeclaration<'locks/report-demo', 1> {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly lockTableName: string;
  readonly lockName: string;
}

/** The workload kind of LockStack's report demo. */
export const REPORT_DEMO_WORKLOAD: WorkloadKindContract<ReportDemoWorkload> = defineWorkloadKind<ReportDemoWorkload>('locks/report-demo', 1);
