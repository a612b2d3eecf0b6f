/**
 * The render farm's records, in the SharedStorage records table (runtime/storage SharedRecords
 * layout: `id`, `version`, `data`): one per render, one per user listing their renders. The web
 * app creates and reads them with SharedRecords; the workers change a render with the writes
 * below, sent through `context.commit` so that each applies together with its job's completion,
 * and each also conditional on its own, so that it applies once even without idempotency.
 */
import { createHash } from 'crypto';
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { RECORD_DATA_ATTRIBUTE, RECORD_ID_ATTRIBUTE, RECORD_VERSION_ATTRIBUTE } from '../../contracts/shared-storage';
import type { RenderLane } from '../../contracts/render-farm';
import type { FractalParams } from './fractal';

/** A render, as stored in its record's `data`. */
export interface RenderData extends Record<string, unknown> {
  readonly kind: 'render';
  /** The `sub` (the user pool's id) of the user who submitted it: the only one who may see it. */
  readonly owner: string;
  readonly params: FractalParams;
  readonly tiles: number;
  readonly lane: RenderLane;
  /** Tiles rendered and stored; counted once per tile (see {@link tileDoneWrite}). */
  readonly tilesDone: number;
  /** Content key of each rendered tile, by tile index. */
  readonly tileKeys: Readonly<Record<string, string>>;
  readonly status: 'rendering' | 'finished';
  /** Epoch ms: submitted, last tile stored, finished. */
  readonly submittedAt: number;
  readonly lastTileAt?: number;
  readonly finishedAt?: number;
  /** Content key of the finished image. */
  readonly imageKey?: string;
}

/** The list of a user's renders, newest first (at most {@link MAX_LISTED}). */
export interface UserData extends Record<string, unknown> {
  readonly kind: 'user';
  readonly renders: readonly string[];
}

/** Renders kept in a user's list. */
export const MAX_LISTED = 20;

/** The record id of a user's list, by their `sub` (render records have UUIDs, which never start like this). */
export function userRecordId(sub: string): string {
  return `user/${sub}`;
}

/** A job of the farm: render one tile, or put a finished render's tiles together. */
export type RenderJob =
  | { readonly kind: 'tile'; readonly renderId: string; readonly index: number; readonly params: FractalParams }
  | { readonly kind: 'assemble'; readonly renderId: string };

/**
 * The job id of a render's assemble job: a UUID derived from the render's id, so that however
 * many times it is sent (by the worker of the last tile, by the stuck-render sweep when that worker
 * died before sending it) the idempotency layer runs it once.
 */
export function assembleJobId(renderId: string): string {
  const h = createHash('sha256').update(`assemble:${renderId}`).digest('hex');
  // The layout of a version-5 (name-based) UUID, so that it passes as a UUID everywhere.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The write that records tile `index` of a render as done: its key in `tileKeys`, one more in
 * `tilesDone` and the record's version (SharedRecords' optimistic concurrency sees the change),
 * conditional on the tile not being recorded yet. Sent with `commit`, it applies once: a second
 * delivery is skipped by idempotency, and were it not, this condition would cancel it.
 */
export function tileDoneWrite(tableName: string, renderId: string, index: number, key: string, now: number): TransactWriteItem {
  return {
    Update: {
      TableName: tableName,
      Key: { [RECORD_ID_ATTRIBUTE]: { S: renderId } },
      UpdateExpression: 'SET #d.#keys.#i = :key, #d.#done = #d.#done + :one, #d.#last = :now, #v = #v + :one',
      ConditionExpression: 'attribute_exists(#d) AND attribute_not_exists(#d.#keys.#i)',
      ExpressionAttributeNames: {
        '#d': RECORD_DATA_ATTRIBUTE, '#keys': 'tileKeys', '#i': String(index), '#done': 'tilesDone', '#last': 'lastTileAt', '#v': RECORD_VERSION_ATTRIBUTE,
      },
      ExpressionAttributeValues: { ':key': { S: key }, ':one': { N: '1' }, ':now': { N: String(now) } },
    },
  };
}

/** The write that marks a render finished with its image, conditional on it still rendering. */
export function finishedWrite(tableName: string, renderId: string, imageKey: string, now: number): TransactWriteItem {
  return {
    Update: {
      TableName: tableName,
      Key: { [RECORD_ID_ATTRIBUTE]: { S: renderId } },
      UpdateExpression: 'SET #d.#status = :finished, #d.#image = :key, #d.#at = :now, #v = #v + :one',
      ConditionExpression: '#d.#status = :rendering',
      ExpressionAttributeNames: { '#d': RECORD_DATA_ATTRIBUTE, '#status': 'status', '#image': 'imageKey', '#at': 'finishedAt', '#v': RECORD_VERSION_ATTRIBUTE },
      ExpressionAttributeValues: { ':finished': { S: 'finished' }, ':rendering': { S: 'rendering' }, ':key': { S: imageKey }, ':now': { N: String(now) }, ':one': { N: '1' } },
    },
  };
}

/** True when a TransactWriteItems failed only because the first write's own condition did (it had applied before). */
export function firstConditionFailed(error: unknown): boolean {
  const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
  return e?.name === 'TransactionCanceledException' && e.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed';
}
