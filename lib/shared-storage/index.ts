/** Shared storage: a secure bucket for shared objects and a table for shared records. */
export { SharedStorage, SharedStorageEncryption } from './shared-storage';
export type { SharedStorageProps, ObjectCreatedJobs } from './shared-storage';
