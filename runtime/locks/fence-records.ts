/**
 * Fencing a SharedRecords record (runtime/storage/shared-records.ts), without changing it: the
 * record's data carries the token of its latest writer in a field, and a fenced write reads the
 * record, refuses (FencedOutError) when that token is higher than the writer's, and otherwise
 * writes with SharedRecords' own optimistic concurrency. The write is conditional on the version
 * it read, so a newer holder that wrote in between makes it re-read, and then refuse: the check
 * and the write are one atomic step as far as other writers can tell.
 *
 * Holds when every writer of the record goes through this helper (`update`, `replace` or
 * `create` of SharedRecords itself can drop or lower the field).
 */
import { FENCING_TOKEN_ATTRIBUTE } from '../../contracts/locks';
import { NotFoundError, RecordConflictError } from '../storage/errors';
import type { SharedRecord, SharedRecords, WriteOptions } from '../storage/shared-records';
import { FencedOutError, LockOptionsError } from './errors';

/** Options of {@link writeRecordFenced}. */
export interface RecordFenceOptions extends WriteOptions {
  /**
   * The data field that keeps the token of the record's latest writer.
   *
   * @default "fencingToken"
   */
  readonly field?: string;
  /**
   * How many times to start over when a creation races another (updates retry inside SharedRecords).
   *
   * @default 5
   */
  readonly maxAttempts?: number;
}

/**
 * Writes record `id` under fencing token `token`: `change` gets the current data (undefined when
 * there is no record yet) and returns the new data, which is stored with the token in its
 * `field`. FencedOutError when the record holds a write made under a higher token. `change` may
 * run more than once (after a lost race), so it must only compute.
 */
export async function writeRecordFenced<T extends Record<string, unknown>>(
  records: SharedRecords<T>,
  id: string,
  token: number,
  change: (current: T | undefined) => T,
  options: RecordFenceOptions = {},
): Promise<SharedRecord<T>> {
  if (!Number.isSafeInteger(token) || token < 1) throw new LockOptionsError([`token: must be a lock's fencing token (a positive whole number), received ${String(token)}.`]);
  const field = options.field ?? FENCING_TOKEN_ATTRIBUTE;
  const { maxAttempts = 5, field: _field, ...writeOptions } = options;
  void _field;
  const stamped = (current: T | undefined): T => {
    const stored = current?.[field];
    if (typeof stored === 'number' && stored > token) throw new FencedOutError(`record ${id} of ${records.tableName}`, token, stored);
    return { ...change(current), [field]: token };
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await records.update(id, stamped, writeOptions);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    try {
      return await records.create(stamped(undefined), { ...writeOptions, id });
    } catch (e) {
      // Created by another writer since we looked: read it and decide again.
      if (!(e instanceof RecordConflictError) || attempt >= maxAttempts) throw e;
    }
  }
}
