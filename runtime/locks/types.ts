/**
 * The lock client's options, their defaults (and why), the clock it reads, and their
 * validation: every problem at once, each naming the option, the value received and the fix.
 */
import { performance } from 'perf_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCK_PERMIT_SEPARATOR } from '../../contracts/locks';

/**
 * A lease: how long a lock is held without a renewal. A holder that dies keeps it at most this
 * long after its last renewal; renewals every third of it cost 6 writes a minute at the default.
 */
export const DEFAULT_LEASE_SECONDS = 30;

/**
 * The most two participants' clocks may differ, in milliseconds. A holder treats its lease as
 * ending this much before the record says, so a contender whose clock is ahead by up to this
 * much still never takes a lease its holder believes valid. NTP keeps hosts within a few
 * milliseconds (Amazon Time Sync within one); 1 s is a wide margin that costs 1 s of each lease.
 */
export const DEFAULT_CLOCK_SKEW_MS = 1000;

/** How long `acquire` waits for a held lock by default: two default leases, enough to see a dead holder's lock taken over. */
export const DEFAULT_WAIT_SECONDS = 60;

/** How long a released or expired record stays before DynamoDB's TTL may delete it. */
export const DEFAULT_RECORD_RETENTION_DAYS = 30;

/** A waiter's first retry comes after 25 to 50 ms (random), then the delay doubles... */
export const MIN_RETRY_MS = 50;
/** ...up to 1 s, and never sleeps past the holder's recorded expiry, so a release is noticed within a second and an expiry at once. */
export const MAX_RETRY_MS = 1000;

/** The two clocks the client reads: tests pass a controllable one. */
export interface LockClock {
  /** Wall-clock time in epoch milliseconds: what lease expiries are written and compared in. */
  now(): number;
  /** A monotonic millisecond counter (never steps back): what a holder times its own lease with. */
  monotonic(): number;
}

/** The machine's clocks: `Date.now()` and `performance.now()`. */
export const SYSTEM_CLOCK: LockClock = { now: () => Date.now(), monotonic: () => performance.now() };

/** Options of a {@link LockClient}. */
export interface LockClientOptions {
  /** The lock table (made by the LockTable construct, or the same key schema: partition key `name`, a string). */
  readonly tableName: string;
  /**
   * The DynamoDB client.
   *
   * @default - a new client with the SDK's defaults (region, credentials and `AWS_ENDPOINT_URL` from the environment)
   */
  readonly dynamodb?: DynamoDBClient;
  /**
   * The lease of an acquisition that does not give its own `leaseSeconds`.
   *
   * @default 30
   */
  readonly leaseSeconds?: number;
  /**
   * The most any two holders' clocks may differ, in milliseconds (see {@link DEFAULT_CLOCK_SKEW_MS}).
   * A holder's lease ends this much early by its own clock; at most a third of the lease.
   *
   * @default 1000
   */
  readonly clockSkewMs?: number;
  /**
   * Who holds the locks this client takes, as shown by `inspect` and in errors.
   *
   * @default - `<host name>:<process id>`
   */
  readonly holder?: string;
  /**
   * Days a released or expired lock record is kept before DynamoDB's TTL may delete it.
   *
   * @default 30
   */
  readonly recordRetentionDays?: number;
  /**
   * The clocks (tests pass a controllable one).
   *
   * @default SYSTEM_CLOCK
   */
  readonly clock?: LockClock;
}

/** How a lock is held once acquired. */
export interface HoldOptions {
  /**
   * The lease: how long the lock stays held without a renewal. A holder that dies keeps it this
   * long after its last renewal (then anyone may take it over at once).
   *
   * @default - the client's `leaseSeconds` (30)
   */
  readonly leaseSeconds?: number;
  /**
   * Renew on a timer while held. Turn it off where timers do not run between invocations
   * (Lambda) and call `renew()` yourself, at least every `leaseSeconds` less the clock skew.
   *
   * @default true
   */
  readonly autoRenew?: boolean;
  /**
   * How often the timer renews.
   *
   * @default - a third of the lease
   */
  readonly renewEverySeconds?: number;
}

/** Options of `acquire`: how the lock is held, and how long to wait for it. */
export interface AcquireOptions extends HoldOptions {
  /**
   * How long to wait while others hold the lock, before failing with LockNotAcquiredError.
   * 0 tries once (what `tryAcquire` does, except that it resolves `undefined` instead).
   *
   * @default 60
   */
  readonly waitSeconds?: number;
  /** Abandons the wait (LockAcquireAbortedError). @default - none */
  readonly signal?: AbortSignal;
}

/** What `inspect` finds in the table about a lock, by the caller's clock. */
export interface LockState {
  readonly name: string;
  /** True while a lease runs (its expiry is after the caller's now). */
  readonly held: boolean;
  /** Who holds it, while held. */
  readonly holder?: string;
  /** The token of the latest acquisition (undefined when the lock was never taken). */
  readonly token?: number;
  /** When the current lease ends, by its holder's clock (while held). */
  readonly expiresAt?: Date;
}

/** The client's options with every default applied. */
export interface ResolvedClientOptions {
  readonly tableName: string;
  readonly dynamodb: DynamoDBClient;
  readonly leaseMs: number;
  readonly clockSkewMs: number;
  readonly holder: string;
  readonly retentionSeconds: number;
  readonly clock: LockClock;
}

/** An acquisition's settings with every default applied. */
export interface ResolvedHoldOptions {
  readonly leaseMs: number;
  readonly autoRenew: boolean;
  readonly renewEveryMs: number;
}

const finitePositive = (v: number | undefined) => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v > 0);

/** Problems of the client options, as sentences (empty when all is well). */
export function clientOptionProblems(o: Partial<LockClientOptions>): string[] {
  const problems: string[] = [];
  if (typeof o.tableName !== 'string' || o.tableName.length === 0) {
    problems.push(`tableName: must be the lock table's name, received ${JSON.stringify(o.tableName)}. Pass \`tableName\`, or use LockClient.fromEnvironment() where LockTable.environment is set.`);
  }
  if (!finitePositive(o.leaseSeconds)) problems.push(`leaseSeconds: must be a number of seconds above 0, received ${String(o.leaseSeconds)}.`);
  if (o.clockSkewMs !== undefined && !(Number.isFinite(o.clockSkewMs) && o.clockSkewMs >= 0)) {
    problems.push(`clockSkewMs: must be 0 or more milliseconds, received ${String(o.clockSkewMs)}.`);
  }
  if (!finitePositive(o.recordRetentionDays)) problems.push(`recordRetentionDays: must be a number of days above 0, received ${String(o.recordRetentionDays)}.`);
  if (o.holder !== undefined && (typeof o.holder !== 'string' || o.holder.length === 0 || o.holder.length > 256)) {
    problems.push(`holder: must be 1 to 256 characters, received ${JSON.stringify(o.holder)}.`);
  }
  return problems;
}

/** Problems of an acquisition's options against the client's clock skew. */
export function holdOptionProblems(o: AcquireOptions, clockSkewMs: number, defaultLeaseMs: number): string[] {
  const problems: string[] = [];
  if (!finitePositive(o.leaseSeconds) || (o.leaseSeconds !== undefined && o.leaseSeconds > 86_400)) {
    problems.push(`leaseSeconds: must be a number of seconds above 0 and at most 86400, received ${String(o.leaseSeconds)}.`);
  }
  const leaseMs = o.leaseSeconds !== undefined && finitePositive(o.leaseSeconds) ? o.leaseSeconds * 1000 : defaultLeaseMs;
  if (clockSkewMs * 3 > leaseMs) {
    problems.push(`leaseSeconds: must be at least 3 x clockSkewMs (${clockSkewMs} ms), received a lease of ${leaseMs} ms: the holder's lease ends clockSkewMs early by its own clock, and must leave time to renew. Lengthen the lease or lower clockSkewMs.`);
  }
  if (o.renewEverySeconds !== undefined) {
    if (!finitePositive(o.renewEverySeconds)) {
      problems.push(`renewEverySeconds: must be a number of seconds above 0, received ${String(o.renewEverySeconds)}.`);
    } else if (o.renewEverySeconds * 1000 >= leaseMs - clockSkewMs) {
      problems.push(`renewEverySeconds: must be shorter than the lease less the clock skew (${(leaseMs - clockSkewMs) / 1000} s), received ${o.renewEverySeconds}; otherwise the lease ends before the first renewal. Use a third of the lease.`);
    }
  }
  if (o.waitSeconds !== undefined && !(Number.isFinite(o.waitSeconds) && o.waitSeconds >= 0)) {
    problems.push(`waitSeconds: must be 0 or more seconds, received ${String(o.waitSeconds)}.`);
  }
  return problems;
}

/** Problems of a lock (or semaphore) name. */
export function nameProblems(name: unknown, what = 'name'): string[] {
  if (typeof name !== 'string' || name.length === 0 || name.length > 1000) {
    return [`${what}: must be 1 to 1000 characters, received ${JSON.stringify(name)}.`];
  }
  if (name.includes(LOCK_PERMIT_SEPARATOR)) {
    return [`${what}: must not contain "${LOCK_PERMIT_SEPARATOR}" (it separates a semaphore's name from its permit numbers), received ${JSON.stringify(name)}.`];
  }
  return [];
}

/** Applies the hold defaults; call after checking {@link holdOptionProblems}. */
export function resolveHoldOptions(o: HoldOptions, client: ResolvedClientOptions): ResolvedHoldOptions {
  const leaseMs = o.leaseSeconds !== undefined ? o.leaseSeconds * 1000 : client.leaseMs;
  return {
    leaseMs,
    autoRenew: o.autoRenew ?? true,
    renewEveryMs: o.renewEverySeconds !== undefined ? o.renewEverySeconds * 1000 : leaseMs / 3,
  };
}
