/**
 * Locks with leases and fencing tokens in the LockTable: LockClient (acquire, tryAcquire,
 * withLock, semaphores), the HeldLock a holder gets (its token, its lease-lost signal, renew,
 * release), and the helpers that make a protected resource refuse an older holder's writes.
 */
export { LockClient } from './client';
export { HeldLock } from './held-lock';
export { Semaphore } from './semaphore';
export type { SemaphoreOptions } from './semaphore';
export {
  DEFAULT_LEASE_SECONDS, DEFAULT_CLOCK_SKEW_MS, DEFAULT_WAIT_SECONDS, DEFAULT_RECORD_RETENTION_DAYS, SYSTEM_CLOCK,
} from './types';
export type { LockClientOptions, HoldOptions, AcquireOptions, LockState, LockClock } from './types';
export {
  LockError, LockOptionsError, LockTableUnreachableError, LockLostError, LockNotAcquiredError, LockAcquireAbortedError, FencedOutError,
} from './errors';
export type { LockLostReason } from './errors';
export { putItemFenced, updateItemFenced } from './fence-dynamodb';
export type { DynamoDBFenceOptions } from './fence-dynamodb';
export { writeRecordFenced } from './fence-records';
export type { RecordFenceOptions } from './fence-records';
export { putObjectFenced } from './fence-s3';
export type { S3FenceOptions } from './fence-s3';
export {
  LOCK_TABLE_ENV, LOCK_ATTRIBUTES, LOCK_DYNAMODB_ACTIONS, FENCING_TOKEN_ATTRIBUTE, FENCING_TOKEN_METADATA_KEY,
} from '../../contracts/locks';
