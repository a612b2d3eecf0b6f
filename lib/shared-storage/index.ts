/**
 * Shared storage: a secure bucket for shared objects and a table for shared records.
 *
 * @module shared-storage
 */
export { SharedStorage, SharedStorageEncryption } from './shared-storage';
export type { ISharedStorage, ObjectCreatedJobs, SharedStorageAttributes, SharedStorageProps, SharedStorageReplication } from './shared-storage';
