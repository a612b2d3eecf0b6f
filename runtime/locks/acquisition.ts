/**
 * Taking a lock, or one of a semaphore's permits, and waiting for it: one conditional write per
 * record tried; while all are held, a short random pause that doubles up to 1 s but never
 * outlasts the earliest recorded expiry, so a release is noticed within a second and a dead
 * holder's lease is taken over the moment it ends by the table's record (no second lease waited).
 */
import { randomUUID } from 'crypto';
import { LockAcquireAbortedError, LockNotAcquiredError } from './errors';
import { HeldLock } from './held-lock';
import type { LockRecord, LockRecords } from './table';
import { MAX_RETRY_MS, MIN_RETRY_MS, type ResolvedClientOptions, type ResolvedHoldOptions } from './types';

/** What an acquisition needs. */
export interface AcquisitionContext {
  readonly records: LockRecords;
  readonly client: ResolvedClientOptions;
  readonly hold: ResolvedHoldOptions;
}

/** One record an acquisition may take: a lock's, or a permit's. */
export interface Slot {
  readonly key: string;
  readonly permit?: number;
}

/**
 * Tries each slot once, starting at a random one (so contenders for a semaphore spread over its
 * permits); the first taken becomes a HeldLock. Otherwise returns the earliest expiry seen.
 */
export async function tryEach(ctx: AcquisitionContext, name: string, slots: readonly Slot[]): Promise<HeldLock | { readonly earliest?: LockRecord }> {
  const start = Math.floor(Math.random() * slots.length);
  let earliest: LockRecord | undefined;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[(start + i) % slots.length]!;
    const owner = randomUUID();
    const sentAt = ctx.client.clock.monotonic();
    const outcome = await ctx.records.take(slot.key, owner, ctx.hold.leaseMs);
    if (outcome.taken) {
      return new HeldLock(ctx, { name, key: slot.key, permit: slot.permit, owner, token: outcome.token, expiresAt: outcome.expiresAt, sentAt });
    }
    if (outcome.current && (!earliest || outcome.current.expiresAt < earliest.expiresAt)) earliest = outcome.current;
  }
  return { earliest };
}

/** Takes one of `slots`, waiting up to `waitMs` while all are held; `signal` abandons the wait. */
export async function acquireSlot(ctx: AcquisitionContext, name: string, slots: readonly Slot[], waitMs: number, signal?: AbortSignal): Promise<HeldLock> {
  const { clock } = ctx.client;
  const started = clock.monotonic();
  let retryMs = MIN_RETRY_MS;
  for (;;) {
    if (signal?.aborted) throw new LockAcquireAbortedError(name, signal.reason);
    const attempt = await tryEach(ctx, name, slots);
    if (attempt instanceof HeldLock) {
      if (signal?.aborted) {
        // Taken as the caller gave up: hand it straight back.
        await attempt.release().catch(() => undefined);
        throw new LockAcquireAbortedError(name, signal.reason);
      }
      return attempt;
    }
    const waited = clock.monotonic() - started;
    if (waited >= waitMs) {
      const held = attempt.earliest;
      throw new LockNotAcquiredError(name, Math.round(waited), held?.holder, held && held.expiresAt > 0 ? new Date(held.expiresAt) : undefined);
    }
    const untilExpiry = attempt.earliest ? Math.max(0, attempt.earliest.expiresAt - clock.now()) : retryMs;
    const pause = Math.min(retryMs * (0.5 + Math.random() / 2), untilExpiry, waitMs - waited);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    await sleep(pause, signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the loop then throws). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
