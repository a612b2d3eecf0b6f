/**
 * Errors of the lock client, one class per thing a caller does differently; each sets `name`
 * so logs and `instanceof` both tell them apart. The two a holder must never confuse:
 * LockTableUnreachableError (we could not ask the table; the lease may still be ours) and
 * LockLostError (the lease is not ours any more, or can no longer be known to be).
 */

/** Base class of every error the lock client throws on purpose. */
export class LockError extends Error {
  override name = 'LockError';
}

/** Bad options or arguments: names the option, the value received and the fix. */
export class LockOptionsError extends LockError {
  override name = 'LockOptionsError';
  /** Every problem found, one line each. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid lock options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/**
 * The lock table could not be reached: a network error, a timeout, throttling or a server error
 * that outlasted the SDK's retries, or a refusal such as AccessDenied. Nothing is known about
 * the lock from it: an acquire may or may not have been written (an unconfirmed lock frees
 * itself when its lease ends), and a holder's lease is still valid until its deadline.
 */
export class LockTableUnreachableError extends LockError {
  override name = 'LockTableUnreachableError';
  /** The call that failed: `acquire`, `renew`, `release` or `inspect`. */
  readonly operation: string;
  constructor(operation: string, lockName: string, cause: unknown) {
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`could not reach the lock table to ${operation} lock "${lockName}" (${why})`, { cause });
    this.operation = operation;
  }
}

/** Why a held lock was lost. */
export type LockLostReason =
  /** Another acquisition holds it now (the table says so: its token or owner changed). */
  | 'taken'
  /** The lease ran out before a renewal was confirmed (the table may have been unreachable: see `cause`). */
  | 'expired'
  /** It was released by this holder. */
  | 'released';

/**
 * The lease is not ours any more (or can no longer be known to be ours): stop touching what the
 * lock protects. The holder's AbortSignal fires with this error as its reason. Writes made with
 * the lock's fencing token are refused by a resource that checks it once a newer holder wrote.
 */
export class LockLostError extends LockError {
  override name = 'LockLostError';
  readonly lockName: string;
  readonly token: number;
  readonly reason: LockLostReason;
  constructor(lockName: string, token: number, reason: LockLostReason, detail: string, cause?: unknown) {
    super(`lock "${lockName}" (token ${token}) was lost: ${detail}`, cause === undefined ? undefined : { cause });
    this.lockName = lockName;
    this.token = token;
    this.reason = reason;
  }
}

/** `acquire` waited `waitSeconds` and the lock (or every permit) stayed held by others. */
export class LockNotAcquiredError extends LockError {
  override name = 'LockNotAcquiredError';
  readonly lockName: string;
  /** The holder the last attempt found, when one did, and when its lease ends (by its clock). */
  readonly heldBy?: string;
  readonly heldUntil?: Date;
  constructor(lockName: string, waitedMs: number, heldBy?: string, heldUntil?: Date) {
    super(`lock "${lockName}" was not acquired within ${waitedMs} ms${heldBy ? `: held by ${heldBy}${heldUntil ? ` until ${heldUntil.toISOString()}` : ''}` : ''}`);
    this.lockName = lockName;
    this.heldBy = heldBy;
    this.heldUntil = heldUntil;
  }
}

/** `acquire` was abandoned through its AbortSignal while waiting. */
export class LockAcquireAbortedError extends LockError {
  override name = 'LockAcquireAbortedError';
  constructor(lockName: string, cause: unknown) {
    super(`acquiring lock "${lockName}" was aborted`, { cause });
  }
}

/**
 * A fenced write was refused: the resource already holds a write made under a newer token, so
 * this writer's lock was lost (and taken by another holder) before it wrote.
 */
export class FencedOutError extends LockError {
  override name = 'FencedOutError';
  /** The token this write carried. */
  readonly token: number;
  /** The newer token the resource holds. */
  readonly storedToken: number;
  constructor(resource: string, token: number, storedToken: number) {
    super(`refused a write to ${resource} with fencing token ${token}: it already holds a write made under token ${storedToken}, so this writer's lock was lost before it wrote`);
    this.token = token;
    this.storedToken = storedToken;
  }
}
