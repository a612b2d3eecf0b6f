/**
 * The job's idempotency record as a lease, on top of Powertools' DynamoDB persistence layer.
 *
 * Powertools writes an "in progress" record when a delivery starts and "completed" when it
 * returns; a record in progress blocks other deliveries until its in-progress expiry. Three things
 * are added here, each the smallest override of Powertools' protected methods:
 *
 * - The in-progress expiry is a short lease (the agent's visibility timeout), renewed while the job
 *   runs ({@link JobRecordStore.renew}), so the job of a dead worker can run again about one lease
 *   later rather than at the end of the job timeout. The lease's exact expiry doubles as the
 *   holder's token: renewals, deletes and commits are conditional on it, so a delivery that lost
 *   its lease (another one took the job over) can neither extend, delete nor complete the record.
 * - {@link JobRecordStore.commit}: the job's own DynamoDB writes and the record's "completed" in one
 *   TransactWriteItems, so that a worker killed between its effect and its completion cannot leave
 *   an effect that a later delivery applies again.
 * - {@link JobRecordStore.release}: a stop that hands a running job back also deletes its record,
 *   so the next worker need not wait for the lease to lapse.
 *
 * Two faults DynamoDB produces and the SDK does not retry are handled here: a commit cancelled
 * only because another transaction held one of its items (`TransactionConflict`: every tile of a
 * render commits to the same render record) is retried with jittered back-off while the lease
 * holds; and a renewal whose reply was lost (the SDK sends it again, and the retry's condition,
 * on the lease as it was, fails) recognizes its own earlier success in the item the failure returns.
 *
 * Which delivery a Powertools call belongs to is carried by AsyncLocalStorage: Powertools calls
 * the store from within the delivery's own async context, and two deliveries of one job can run
 * in the same process at once. One AsyncLocalStorage serves every store of the process (each
 * delivery's context names its store): Node keeps each AsyncLocalStorage ever run in a list it
 * walks for every promise and callback the process creates, so one per store made every promise
 * dearer with each store a process made (one process running the tests of runtime/ made 15).
 */
import { AsyncLocalStorage } from 'async_hooks';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  TransactWriteItemsCommand,
  TransactionCanceledException,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';

/** Powertools' default attribute names, which the catalog's tables use. */
const STATUS = 'status';
const IN_PROGRESS_EXPIRY = 'in_progress_expiration';
const EXPIRY = 'expiration';
const IN_PROGRESS = 'INPROGRESS';
const COMPLETED = 'COMPLETED';

/** A commit retried after a TransactionConflict waits about this long at first, doubling each time... */
const CONFLICT_BACKOFF_BASE_MS = 50;
/** ...up to this. */
const CONFLICT_BACKOFF_MAX_MS = 1000;
/** A retry is not started when the lease would end within this long of it. */
const LEASE_MARGIN_MS = 50;

/** One delivery's hold on its job's record. */
export interface JobLease {
  /** How long the lease lasts from each write or renewal, in ms. */
  readonly leaseMs: number;
  /** The record's key, once this delivery wrote it. */
  key?: Record<string, AttributeValue>;
  /** Epoch ms the lease ends at, as written in the record: the holder's token. */
  until?: number;
  /** When another delivery holds the record: epoch ms its lease ends at. */
  heldElsewhereUntil?: number;
  /** The record is no longer this delivery's (completed by commit, released, or taken over). */
  ended: boolean;
  /** This delivery's commit completed the record. */
  committed?: boolean;
  /** A renewal or commit in flight: they are serialized, both being conditional on `until`. */
  chain: Promise<unknown>;
}

/** What {@link JobRecordStore.commit} did. */
export type CommitOutcome = 'committed' | 'alreadyCompleted';

/** The delivery's lease was taken over by another delivery: nothing was written. */
export class JobLeaseLostError extends Error {
  override readonly name = 'JobLeaseLostError';
}

/** The delivery a call runs for, and the store it holds its lease in (one for the process: see above). */
const deliveries = new AsyncLocalStorage<{ readonly store: JobRecordStore; readonly lease: JobLease }>();

/** Powertools' DynamoDB persistence layer with leases, transactional completion and release. */
export class JobRecordStore extends DynamoDBPersistenceLayer {
  constructor(
    private readonly table: string,
    private readonly dynamodb: DynamoDBClient,
    /** How long a finished job is remembered, in seconds. */
    private readonly ttlSeconds: number,
  ) {
    super({ tableName: table, awsSdkV3Client: dynamodb });
  }

  /** Runs `fn` (a Powertools-wrapped call) as the delivery holding `lease`. */
  public within<V>(lease: JobLease, fn: () => Promise<V>): Promise<V> {
    return deliveries.run({ store: this, lease }, fn);
  }

  /** The lease of the delivery this call runs for, when that delivery holds it in this store. */
  private currentLease(): JobLease | undefined {
    const delivery = deliveries.getStore();
    return delivery?.store === this ? delivery.lease : undefined;
  }

  protected override async _putRecord(record: IdempotencyRecord): Promise<void> {
    const lease = this.currentLease();
    if (!lease) return super._putRecord(record);
    const until = Date.now() + lease.leaseMs;
    record.inProgressExpiryTimestamp = until;
    try {
      await super._putRecord(record);
    } catch (error) {
      const existing = (error as { existingRecord?: IdempotencyRecord }).existingRecord;
      if (existing?.getStatus() === IN_PROGRESS) lease.heldElsewhereUntil = existing.inProgressExpiryTimestamp;
      throw error;
    }
    lease.key = this.getKey(record.idempotencyKey);
    lease.until = until;
  }

  /** The commit wrote "completed" already; Powertools' own write would only cost a request. */
  protected override async _updateRecord(record: IdempotencyRecord): Promise<void> {
    if (this.currentLease()?.committed) return;
    return super._updateRecord(record);
  }

  /** Powertools deletes the record when the job fails: only while it is still this delivery's. */
  protected override async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    const lease = this.currentLease();
    if (!lease) return super._deleteRecord(record);
    await this.deleteIfHeld(lease);
  }

  /**
   * Extends the lease by `leaseMs` from now: `renewed`; `lost` when another delivery took the
   * record over; `ended` when this delivery no longer holds one (committed, released, or none yet).
   */
  public renew(lease: JobLease): Promise<'renewed' | 'lost' | 'ended'> {
    return this.serialize(lease, async () => {
      if (lease.ended || !lease.key || lease.until === undefined) return 'ended';
      const until = Date.now() + lease.leaseMs;
      try {
        await this.dynamodb.send(new UpdateItemCommand({
          TableName: this.table,
          Key: lease.key,
          UpdateExpression: 'SET #ipe = :until',
          ConditionExpression: '#status = :inprogress AND #ipe = :mine',
          ExpressionAttributeNames: { '#status': STATUS, '#ipe': IN_PROGRESS_EXPIRY },
          ExpressionAttributeValues: { ':until': { N: String(until) }, ':inprogress': { S: IN_PROGRESS }, ':mine': { N: String(lease.until) } },
          // The record as it is comes back with a failed condition: see below.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }));
        lease.until = until;
        return 'renewed';
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          // A reply lost on the way back: the SDK sent the renewal again, and the retry found the
          // record already renewed by the first attempt. Still this delivery's lease.
          const item = error.Item;
          if (item?.[STATUS]?.S === IN_PROGRESS && item[IN_PROGRESS_EXPIRY]?.N === String(until)) {
            lease.until = until;
            return 'renewed';
          }
          lease.ended = true;
          return 'lost';
        }
        throw error;
      }
    });
  }

  /**
   * Writes `writes` and the record's "completed" in one transaction, conditional on the lease
   * still being this delivery's. `alreadyCompleted` when another delivery committed the job
   * first (nothing written); JobLeaseLostError when another delivery holds it now.
   */
  public commit(lease: JobLease, writes: readonly TransactWriteItem[]): Promise<CommitOutcome> {
    return this.serialize(lease, async () => {
      if (!lease.key || lease.until === undefined) throw new JobLeaseLostError('the job has no in-progress record of this delivery to complete');
      if (writes.length > 99) throw new RangeError(`commit: at most 99 writes go with the completion record in one transaction (DynamoDB's limit is 100), received ${writes.length}.`);
      const completion: TransactWriteItem = {
        Update: {
          TableName: this.table,
          Key: lease.key,
          UpdateExpression: 'SET #status = :completed, #exp = :exp',
          ConditionExpression: '#status = :inprogress AND #ipe = :mine',
          ExpressionAttributeNames: { '#status': STATUS, '#ipe': IN_PROGRESS_EXPIRY, '#exp': EXPIRY },
          ExpressionAttributeValues: {
            ':completed': { S: COMPLETED },
            ':inprogress': { S: IN_PROGRESS },
            ':mine': { N: String(lease.until) },
            ':exp': { N: String(Math.round(Date.now() / 1000) + this.ttlSeconds) },
          },
        },
      };
      for (let attempt = 1; ; attempt++) {
        try {
          await this.dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [...writes, completion] }));
          break;
        } catch (error) {
          const reasons = error instanceof TransactionCanceledException ? error.CancellationReasons ?? [] : [];
          if (!onlyConflicts(reasons)) return this.commitRefused(lease, writes, error, reasons);
          // Another transaction held one of the items: nothing was written, so try again, while
          // the lease holds (renewals wait for the commit: the lease is not extended meanwhile).
          const delay = conflictBackoff(attempt);
          if (Date.now() + delay + LEASE_MARGIN_MS >= lease.until) throw error;
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
      lease.ended = true;
      lease.committed = true;
      return 'committed';
    });
  }

  /** A commit DynamoDB cancelled for another reason than a conflict: the lease lost, the job completed elsewhere, or the handler's own condition. */
  private async commitRefused(lease: JobLease, writes: readonly TransactWriteItem[], error: unknown, reasons: readonly { Code?: string }[]): Promise<CommitOutcome> {
    if (reasons[writes.length]?.Code !== 'ConditionalCheckFailed') throw error;
    lease.ended = true;
    const status = (await this.dynamodb.send(new GetItemCommand({ TableName: this.table, Key: lease.key!, ConsistentRead: true }))).Item?.[STATUS]?.S;
    if (status === COMPLETED) return 'alreadyCompleted';
    throw new JobLeaseLostError('another delivery of this job holds its in-progress record now (this one outlived its lease): nothing was written');
  }

  /** Deletes the record if it is still this delivery's, so another worker can run the job at once. */
  public release(lease: JobLease): Promise<void> {
    return this.serialize(lease, () => this.deleteIfHeld(lease));
  }

  private async deleteIfHeld(lease: JobLease): Promise<void> {
    if (lease.ended || !lease.key || lease.until === undefined) return;
    lease.ended = true;
    try {
      await this.dynamodb.send(new DeleteItemCommand({
        TableName: this.table,
        Key: lease.key,
        ConditionExpression: '#status = :inprogress AND #ipe = :mine',
        ExpressionAttributeNames: { '#status': STATUS, '#ipe': IN_PROGRESS_EXPIRY },
        ExpressionAttributeValues: { ':inprogress': { S: IN_PROGRESS }, ':mine': { N: String(lease.until) } },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private serialize<V>(lease: JobLease, fn: () => Promise<V>): Promise<V> {
    const next = lease.chain.then(fn, fn);
    lease.chain = next.catch(() => undefined);
    return next;
  }
}

/** True when DynamoDB cancelled a transaction only because another one held some of its items. */
function onlyConflicts(reasons: readonly { Code?: string }[]): boolean {
  return reasons.some((r) => r.Code === 'TransactionConflict') && reasons.every((r) => r.Code === 'TransactionConflict' || r.Code === 'None' || r.Code === undefined);
}

/** The wait before retry `attempt` (1, 2, ...): half the doubling cap plus a random half, so that conflicting commits spread out. */
function conflictBackoff(attempt: number): number {
  const cap = Math.min(CONFLICT_BACKOFF_MAX_MS, CONFLICT_BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return cap / 2 + Math.random() * (cap / 2);
}

/** A new lease of `leaseMs`. */
export function newLease(leaseMs: number): JobLease {
  return { leaseMs, ended: false, chain: Promise.resolve() };
}
