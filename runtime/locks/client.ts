/**
 * LockClient: locks with leases and fencing tokens in the LockTable (DynamoDB, strongly
 * consistent reads and conditional writes only):
 *
 *   const locks = LockClient.fromEnvironment();
 *   await locks.withLock('nightly-report', async (lock) => {
 *     await buildReport({ signal: lock.signal, fencingToken: lock.token });
 *   });
 *
 * A lock whose holder dies is free once its lease ends by the table's record; a holder learns
 * through `signal` when its lease is lost; every acquisition carries a fencing token larger than
 * all earlier ones, for the protected resource to refuse an older holder's writes.
 */
import * as os from 'os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCK_TABLE_ENV } from '../../contracts/locks';
import { acquireSlot, tryEach, type AcquisitionContext } from './acquisition';
import { LockOptionsError } from './errors';
import { HeldLock, runHolding } from './held-lock';
import { Semaphore, type SemaphoreOptions } from './semaphore';
import { LockRecords } from './table';
import {
  DEFAULT_CLOCK_SKEW_MS, DEFAULT_LEASE_SECONDS, DEFAULT_RECORD_RETENTION_DAYS, DEFAULT_WAIT_SECONDS, SYSTEM_CLOCK,
  clientOptionProblems, holdOptionProblems, nameProblems, resolveHoldOptions,
  type AcquireOptions, type HoldOptions, type LockClientOptions, type LockState, type ResolvedClientOptions,
} from './types';

/** Throws one LockOptionsError listing every problem; does nothing when there is none. */
export function assertNoLockProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new LockOptionsError(problems);
}

/** Takes, renews and releases locks and semaphore permits kept in a lock table. */
export class LockClient {
  /**
   * A client of the table named by the environment LockTable sets on the code that runs it
   * (`CLOUD_PATTERNS_LOCK_TABLE`).
   */
  static fromEnvironment(options: Omit<LockClientOptions, 'tableName'> = {}, env: NodeJS.ProcessEnv = process.env): LockClient {
    const tableName = env[LOCK_TABLE_ENV];
    if (!tableName) {
      throw new LockOptionsError([`tableName: ${LOCK_TABLE_ENV} is not set. Create a LockTable and give this code its \`environment\` (and \`grantReadWrite\`), or pass \`tableName\` to new LockClient(...).`]);
    }
    return new LockClient({ ...options, tableName });
  }

  /** The lock table's name. */
  public readonly tableName: string;
  private readonly options: ResolvedClientOptions;
  private readonly records: LockRecords;

  constructor(options: LockClientOptions) {
    assertNoLockProblems(clientOptionProblems(options ?? {}));
    const clockSkewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
    const leaseMs = (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
    assertNoLockProblems(holdOptionProblems({}, clockSkewMs, leaseMs));
    this.options = {
      tableName: options.tableName,
      dynamodb: options.dynamodb ?? new DynamoDBClient({}),
      leaseMs,
      clockSkewMs,
      holder: options.holder ?? `${os.hostname()}:${process.pid}`,
      retentionSeconds: Math.round((options.recordRetentionDays ?? DEFAULT_RECORD_RETENTION_DAYS) * 86_400),
      clock: options.clock ?? SYSTEM_CLOCK,
    };
    this.tableName = options.tableName;
    this.records = new LockRecords(this.options);
  }

  /**
   * Takes the lock, waiting up to `waitSeconds` (60) while another holder has it: a released
   * lock is noticed within a second, a dead holder's lease is taken over as soon as it ends by
   * the table's record. LockNotAcquiredError after the wait, LockAcquireAbortedError when
   * `signal` aborts, LockTableUnreachableError when the table cannot be reached.
   */
  async acquire(name: string, options: AcquireOptions = {}): Promise<HeldLock> {
    const ctx = this.context(name, options);
    return acquireSlot(ctx, name, [{ key: name }], (options.waitSeconds ?? DEFAULT_WAIT_SECONDS) * 1000, options.signal);
  }

  /** Takes the lock if it is free now (one request); `undefined` when another holder has it. */
  async tryAcquire(name: string, options: HoldOptions = {}): Promise<HeldLock | undefined> {
    const ctx = this.context(name, options);
    const attempt = await tryEach(ctx, name, [{ key: name }]);
    return attempt instanceof HeldLock ? attempt : undefined;
  }

  /**
   * Runs `fn` holding the lock, then releases it. `fn` gets the lock: pass `lock.signal` to what
   * it calls and `lock.token` to every write a fencing helper makes. When the lease was lost
   * before `fn` finished, withLock rejects with the LockLostError even if `fn` succeeded (its
   * fenced writes after the loss were refused). The release is best-effort: a table it cannot
   * reach lets the lease end by itself.
   */
  async withLock<T>(name: string, fn: (lock: HeldLock) => Promise<T> | T, options: AcquireOptions = {}): Promise<T> {
    return runHolding(await this.acquire(name, options), fn);
  }

  /**
   * A semaphore: up to `permits` holders at once (N licences of a paid API, N heavy jobs), each
   * permit a lock record of its own, `<name>#0` to `<name>#<permits - 1>`, with its own token.
   * Every user of a semaphore must give it the same number of permits.
   */
  semaphore(name: string, options: SemaphoreOptions): Semaphore {
    assertNoLockProblems(nameProblems(name));
    return new Semaphore(name, options, (holdOptions) => this.context(name, holdOptions));
  }

  /** The lock as the table holds it now (a strongly consistent read). */
  async inspect(name: string): Promise<LockState> {
    assertNoLockProblems(nameProblems(name));
    const record = await this.records.read(name);
    const held = record !== undefined && record.owner !== undefined && record.expiresAt > this.options.clock.now();
    return {
      name,
      held,
      ...(record?.token !== undefined ? { token: record.token } : {}),
      ...(held && record?.holder ? { holder: record.holder } : {}),
      ...(held ? { expiresAt: new Date(record!.expiresAt) } : {}),
    };
  }

  private context(name: string, options: AcquireOptions): AcquisitionContext {
    assertNoLockProblems([...nameProblems(name), ...holdOptionProblems(options, this.options.clockSkewMs, this.options.leaseMs)]);
    return { records: this.records, client: this.options, hold: resolveHoldOptions(options, this.options) };
  }
}
