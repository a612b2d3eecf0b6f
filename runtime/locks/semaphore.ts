/**
 * A semaphore of N permits in the lock table: permit i is the lock record `<name>#<i>`, so each
 * permit has a lease, a renewal and a fencing token like a lock. Taking one tries the permits
 * from a random one on (one conditional write each) until one is free; a full semaphore costs
 * up to N writes per round of waiting, so it suits a few to a few dozen permits.
 */
import { LOCK_PERMIT_SEPARATOR } from '../../contracts/locks';
import { acquireSlot, tryEach, type AcquisitionContext, type Slot } from './acquisition';
import { LockOptionsError } from './errors';
import { HeldLock, runHolding } from './held-lock';
import { DEFAULT_WAIT_SECONDS, type AcquireOptions, type HoldOptions } from './types';

/** Options of a {@link Semaphore}. */
export interface SemaphoreOptions {
  /** How many holders at once: 1 to 1000. Every user of the semaphore must give the same number. */
  readonly permits: number;
}

/** Up to `permits` holders at once; each holds a permit like a lock. */
export class Semaphore {
  /** The semaphore's name. */
  public readonly name: string;
  /** How many holders it admits at once. */
  public readonly permits: number;
  private readonly slots: readonly Slot[];

  /** @internal */
  constructor(name: string, options: SemaphoreOptions, private readonly context: (options: AcquireOptions) => AcquisitionContext) {
    const permits = options?.permits;
    if (!Number.isInteger(permits) || permits < 1 || permits > 1000) {
      throw new LockOptionsError([`permits: must be a whole number from 1 to 1000, received ${String(permits)}.`]);
    }
    this.name = name;
    this.permits = permits;
    this.slots = Array.from({ length: permits }, (_, i) => ({ key: `${name}${LOCK_PERMIT_SEPARATOR}${i}`, permit: i }));
  }

  /** Takes a permit, waiting up to `waitSeconds` (60) while all are held (errors as LockClient.acquire's). */
  async acquire(options: AcquireOptions = {}): Promise<HeldLock> {
    return acquireSlot(this.context(options), this.name, this.slots, (options.waitSeconds ?? DEFAULT_WAIT_SECONDS) * 1000, options.signal);
  }

  /** Takes a permit if one is free now (up to `permits` requests); `undefined` when all are held. */
  async tryAcquire(options: HoldOptions = {}): Promise<HeldLock | undefined> {
    const attempt = await tryEach(this.context(options), this.name, this.slots);
    return attempt instanceof HeldLock ? attempt : undefined;
  }

  /** Runs `fn` holding a permit, then releases it (as LockClient.withLock). */
  async withPermit<T>(fn: (permit: HeldLock) => Promise<T> | T, options: AcquireOptions = {}): Promise<T> {
    return runHolding(await this.acquire(options), fn);
  }
}
