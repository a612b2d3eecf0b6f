/**
 * What happens when two requests of one session save at once (two tabs, two servers): a
 * three-way merge by top-level key. A key only one side changed takes that side's value; a key
 * both changed to the same value keeps it; a key both changed to different values is a
 * conflict, and the later save fails with SessionConflictError instead of silently dropping
 * either value.
 */
import { SessionConflictError } from './errors';

export type SessionRecord = Record<string, unknown>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Merges `ours` (this request's data, loaded as `base`) onto `theirs` (what the table holds now).
 * Keys in `oursWins` never conflict (express-session's `cookie`, which each request rewrites).
 */
export function mergeSessionData(base: SessionRecord, ours: SessionRecord, theirs: SessionRecord, oursWins: readonly string[] = []): SessionRecord {
  const merged: SessionRecord = {};
  const conflicts: string[] = [];
  for (const key of new Set([...Object.keys(base), ...Object.keys(ours), ...Object.keys(theirs)])) {
    const weChanged = !same(base[key], ours[key]);
    const theyChanged = !same(base[key], theirs[key]);
    let value: unknown;
    if (!weChanged) value = theirs[key];
    else if (!theyChanged || same(ours[key], theirs[key]) || oursWins.includes(key)) value = ours[key];
    else { conflicts.push(key); continue; }
    if (value !== undefined) merged[key] = value;
  }
  if (conflicts.length > 0) throw new SessionConflictError(conflicts);
  return merged;
}
