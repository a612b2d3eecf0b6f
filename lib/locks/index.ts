/**
 * Locks: a lock table for locks with leases and fencing tokens (the lock client is in
 * `@cdk-cloud-patterns/runtime`). The public API of the pattern; everything else in this folder is
 * internal.
 *
 * @module locks
 */
export { LockTable } from './lock-table';
export { LockTableEncryption } from './props';
export type { ILockTable, LockTableAttributes, LockTableProps } from './props';
