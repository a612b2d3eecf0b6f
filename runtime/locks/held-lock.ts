/**
 * A held lock (or semaphore permit): its fencing token, an AbortSignal that fires when the lease
 * is lost, renewal on a timer or by `renew()`, and a release that never touches another holder's
 * record.
 *
 * The holder times its lease with its own monotonic clock, from the moment it sent the write
 * that took or renewed it, and treats it as ending `clockSkewMs` before the record's expiry:
 * a contender takes the lock over once its wall clock passes the recorded expiry, and with
 * clocks at most `clockSkewMs` apart that is never before this holder's own deadline.
 */
import { LockLostError, LockTableUnreachableError, type LockLostReason } from './errors';
import type { LockRecords } from './table';
import type { ResolvedClientOptions, ResolvedHoldOptions } from './types';

/** What a held lock needs from its client. @internal */
export interface HeldLockContext {
  readonly records: LockRecords;
  readonly client: ResolvedClientOptions;
  readonly hold: ResolvedHoldOptions;
}

/** How an acquisition was granted. @internal */
export interface Grant {
  /** The lock's (or semaphore's) name. */
  readonly name: string;
  /** The record's key: the name, or `<name>#<permit>`. */
  readonly key: string;
  readonly permit?: number;
  readonly owner: string;
  readonly token: number;
  /** Epoch ms of the lease's end, as written. */
  readonly expiresAt: number;
  /** The monotonic time at which the write that took it was sent. */
  readonly sentAt: number;
}

type State = 'held' | 'lost' | 'released';

/** A lock (or a semaphore's permit) this process holds. */
export class HeldLock {
  /** The lock's name (a semaphore's name for a permit). */
  public readonly name: string;
  /** The permit's number, for a semaphore's permit. */
  public readonly permit?: number;
  /**
   * The fencing token: larger than every earlier acquisition's of this name (or permit). Write it
   * with every change to what the lock protects, through a fencing helper, so the resource refuses
   * a write from a holder whose lease was lost.
   */
  public readonly token: number;
  /** Fires when the lease is lost, or the lock released; its reason is a LockLostError. */
  public readonly signal: AbortSignal;

  private readonly controller = new AbortController();
  private readonly key: string;
  private readonly owner: string;
  private state: State = 'held';
  private lost?: LockLostError;
  private deadline: number;
  private recordExpiresAt: number;
  private renewTimer?: NodeJS.Timeout;
  private deadlineTimer?: NodeJS.Timeout;
  private renewing?: Promise<void>;
  private lastRenewError?: unknown;

  /** @internal */
  constructor(private readonly ctx: HeldLockContext, grant: Grant) {
    this.name = grant.name;
    this.permit = grant.permit;
    this.key = grant.key;
    this.owner = grant.owner;
    this.token = grant.token;
    this.signal = this.controller.signal;
    this.recordExpiresAt = grant.expiresAt;
    this.deadline = grant.sentAt + ctx.hold.leaseMs - ctx.client.clockSkewMs;
    this.armDeadline();
    if (ctx.hold.autoRenew) this.scheduleRenewal(ctx.hold.renewEveryMs);
  }

  /** True while the lease runs by this holder's clock and the lock was neither lost nor released. */
  get isHeld(): boolean {
    this.checkDeadline();
    return this.state === 'held';
  }

  /** When the lease ends by the record (the holder's own deadline is `clockSkewMs` earlier). */
  get expiresAt(): Date {
    return new Date(this.recordExpiresAt);
  }

  /** Milliseconds left of the lease by this holder's clock (0 once lost or released). */
  get remainingMs(): number {
    return this.isHeld ? Math.max(0, this.deadline - this.ctx.client.clock.monotonic()) : 0;
  }

  /** Throws the LockLostError when the lock is not held any more; call it before each step of the protected work. */
  assertHeld(): void {
    if (!this.isHeld) throw this.lost!;
  }

  /**
   * Extends the lease by `leaseSeconds` from now. LockLostError when the lease already ended or
   * another acquisition holds the lock (the signal fires too); LockTableUnreachableError when the
   * table could not be reached (the lease stays valid until its deadline: try again). Concurrent
   * calls share one request.
   */
  renew(): Promise<void> {
    if (!this.isHeld) return Promise.reject(this.lost!);
    this.renewing ??= this.sendRenewal().finally(() => { this.renewing = undefined; });
    return this.renewing;
  }

  /**
   * Releases the lock: the record's lease ends now (its fencing counter stays), so the next
   * acquirer takes it at once. Only this acquisition's record is touched: a lock lost to another
   * holder is left alone. Resolves true when it released, false when the lock was no longer ours;
   * LockTableUnreachableError when the table could not be reached (the lease then ends by itself
   * within `leaseSeconds`). Renewals stop first, and one in flight is waited for.
   */
  async release(): Promise<boolean> {
    if (this.state === 'released') return false;
    const wasTaken = this.state === 'lost' && this.lost?.reason === 'taken';
    this.end('released', 'it was released by its holder');
    await this.renewing?.catch(() => undefined);
    if (wasTaken) return false;
    return this.ctx.records.release(this.key, this.owner, this.token);
  }

  private async sendRenewal(): Promise<void> {
    const sentAt = this.ctx.client.clock.monotonic();
    let outcome: Awaited<ReturnType<LockRecords['renew']>>;
    try {
      outcome = await this.ctx.records.renew(this.key, this.owner, this.token, this.ctx.hold.leaseMs);
    } catch (e) {
      this.lastRenewError = e;
      this.checkDeadline();
      if (this.state !== 'held') throw this.lost!;
      throw e instanceof LockTableUnreachableError ? e : new LockTableUnreachableError('renew', this.key, e);
    }
    if (!outcome.renewed) {
      const by = outcome.current?.owner ? `another acquisition holds it now (token ${outcome.current.token}${outcome.current.holder ? `, by ${outcome.current.holder}` : ''})` : 'its record was released or removed';
      this.end('lost', by, 'taken');
      throw this.lost!;
    }
    if (this.state !== 'held') {
      // Lost by our own clock while the renewal was in flight: the record is ours again, so free it.
      if (this.lost?.reason === 'expired') void this.ctx.records.release(this.key, this.owner, this.token).catch(() => undefined);
      throw this.lost!;
    }
    this.lastRenewError = undefined;
    this.recordExpiresAt = outcome.expiresAt;
    this.deadline = sentAt + this.ctx.hold.leaseMs - this.ctx.client.clockSkewMs;
    this.armDeadline();
  }

  /** The timer: renew every `renewEveryMs`; after a failure to reach the table, retry sooner. */
  private scheduleRenewal(delayMs: number): void {
    clearTimeout(this.renewTimer);
    if (this.state !== 'held') return;
    this.renewTimer = setTimeout(() => {
      this.renew().then(
        () => this.scheduleRenewal(this.ctx.hold.renewEveryMs),
        () => {
          if (this.state !== 'held') return;
          const left = this.deadline - this.ctx.client.clock.monotonic();
          this.scheduleRenewal(Math.min(this.ctx.hold.renewEveryMs, Math.max(50, left / 3)));
        },
      );
    }, delayMs);
    this.renewTimer.unref();
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    if (this.state !== 'held') return;
    const left = this.deadline - this.ctx.client.clock.monotonic();
    // A controllable clock may not move with real time: re-check at least every second.
    this.deadlineTimer = setTimeout(() => this.checkDeadline(true), Math.max(0, Math.min(left, 1000)));
    this.deadlineTimer.unref();
  }

  private checkDeadline(rearm = false): void {
    if (this.state !== 'held') return;
    if (this.ctx.client.clock.monotonic() >= this.deadline) {
      const cause = this.lastRenewError;
      this.end('lost', cause ? 'its lease ran out while the lock table could not be reached to renew it' : 'its lease ran out before it was renewed', 'expired', cause);
    } else if (rearm) {
      this.armDeadline();
    }
  }

  private end(state: Exclude<State, 'held'>, detail: string, reason: LockLostReason = 'released', cause?: unknown): void {
    if (this.state !== 'held') {
      this.state = state === 'released' ? 'released' : this.state;
      return;
    }
    this.state = state;
    clearTimeout(this.renewTimer);
    clearTimeout(this.deadlineTimer);
    this.lost = new LockLostError(this.name, this.token, reason, detail, cause);
    this.controller.abort(this.lost);
  }
}

/** Runs `fn` with `lock`, releases it, and reports a loss during `fn` (see LockClient.withLock). */
export async function runHolding<T>(lock: HeldLock, fn: (lock: HeldLock) => Promise<T> | T): Promise<T> {
  let result: T;
  try {
    result = await fn(lock);
    // Lost while fn ran: its work was not exclusive (fenced writes after the loss were refused).
    lock.assertHeld();
  } finally {
    await lock.release().catch(() => undefined);
  }
  return result;
}
