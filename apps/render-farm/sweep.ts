/**
 * The stuck-render sweep. A render is stuck when every tile is recorded and no image came: the
 * worker of the last tile died between its commit and sending the assemble job (idempotency
 * cannot help there: a second delivery of that tile is skipped as done). The sweep sends the
 * assemble job again, under the render's own job id (renders.ts `assembleJobId`), so however often
 * it is sent, idempotency runs it once.
 *
 * Any web server (or a schedule) may run it; it runs under the lock `render-farm/sweep` of the
 * stack's LockTable, so at most one server sweeps at a time, and not more than once per
 * {@link SWEEP_EVERY_MS} (the time of the last sweep is kept with the list). The lock is about
 * work, not correctness: two sweeps at once would only send a job that runs once anyway, and every
 * write of the list is conditional on its version.
 *
 * It needs to know which renders may be stuck without scanning the table: the web app adds each
 * render it accepts to one record, the list of renders in flight (`farm/in-flight`), and the sweep
 * takes finished and vanished ones off it, and ones older than {@link FORGET_AFTER_MS} (a tile
 * that was dead-lettered never finishes; its render is given up, not swept forever).
 */
import type { RenderLane } from '../../contracts/render-farm';
import { LockNotAcquiredError, RecordConflictError, type JobClient, type LockClient, type SharedRecords } from '../../runtime/index';
import type { RenderData, RenderJob } from './renders';

/** The lock a sweep holds. */
export const SWEEP_LOCK = 'render-farm/sweep';
/** The record id of the list of renders in flight (render records have UUIDs, which never look like this). */
export const IN_FLIGHT_RECORD_ID = 'farm/in-flight';
/** How often a sweep runs, at most, whichever server starts it. */
export const SWEEP_EVERY_MS = 15_000;
/** A render with every tile done is stuck when its last tile was recorded this long ago and it has no image. */
export const STUCK_AFTER_MS = 15_000;
/** A render still rendering this long after it was submitted is taken off the list (given up). */
export const FORGET_AFTER_MS = 60 * 60_000;
/** The most renders the list holds: beyond it, the farm refuses new renders until some finish (a DynamoDB item holds 400 KB). */
export const MAX_IN_FLIGHT = 2_000;

/** The list of renders in flight, as stored in its record's `data`. */
export interface InFlightData extends Record<string, unknown> {
  readonly kind: 'in-flight';
  /** Render id -> its lane (where its assemble job goes) and when it was submitted. */
  readonly renders: Readonly<Record<string, { readonly lane: RenderLane; readonly submittedAt: number }>>;
  /** When the last sweep ran (epoch ms). */
  readonly sweptAt?: number;
}

/** Thrown when the list of renders in flight is full. */
export class FarmBusyError extends Error {
  override readonly name = 'FarmBusyError';
}

/** Adds a render to the list of renders in flight (creating the list the first time). */
export async function addInFlight(records: SharedRecords<InFlightData>, id: string, lane: RenderLane, submittedAt: number): Promise<void> {
  await records.create({ kind: 'in-flight', renders: {} }, { id: IN_FLIGHT_RECORD_ID }).catch((e: unknown) => {
    if (!(e instanceof RecordConflictError)) throw e; // it exists
  });
  await records.update(IN_FLIGHT_RECORD_ID, (list) => {
    if (Object.keys(list.renders).length >= MAX_IN_FLIGHT) {
      throw new FarmBusyError(`the farm has ${MAX_IN_FLIGHT} renders in flight, its most: try again in a minute`);
    }
    return { ...list, renders: { ...list.renders, [id]: { lane, submittedAt } } };
  });
}

/** What a sweep did. */
export interface SweepReport {
  /** Renders on the list when it started. */
  readonly checked: number;
  /** Stuck renders whose assemble job was sent again. */
  readonly resent: readonly string[];
  /** Renders taken off the list: finished, gone, or given up. */
  readonly removed: number;
}

/** What a sweep uses. */
export interface SweepContext {
  readonly locks: LockClient;
  readonly inFlight: SharedRecords<InFlightData>;
  readonly renders: SharedRecords<RenderData>;
  /** The assemble job senders, by lane (each sends with the render's derived job id). */
  readonly assemble: Readonly<Record<RenderLane, JobClient<RenderJob>>>;
  readonly clock?: () => number;
}

/**
 * Sweeps, holding the lock `render-farm/sweep` (without waiting for it): undefined when another
 * server holds it or the last sweep was less than {@link SWEEP_EVERY_MS} ago.
 */
export async function sweepStuckRenders(ctx: SweepContext): Promise<SweepReport | undefined> {
  const clock = ctx.clock ?? Date.now;
  try {
    return await ctx.locks.withLock(SWEEP_LOCK, async (lock) => {
      const list = await ctx.inFlight.get(IN_FLIGHT_RECORD_ID);
      const now = clock();
      if (!list || now - (list.data.sweptAt ?? 0) < SWEEP_EVERY_MS) return undefined;
      const entries = Object.entries(list.data.renders);
      const remove = new Set<string>();
      const resent: string[] = [];
      for (const [id, entry] of entries) {
        if (lock.signal.aborted) break; // the lease was lost: another server may sweep now
        const render = (await ctx.renders.get(id))?.data;
        if (!render || render.kind !== 'render' || render.status === 'finished' || now - entry.submittedAt > FORGET_AFTER_MS) {
          remove.add(id);
        } else if (render.tilesDone >= render.tiles && now - (render.lastTileAt ?? 0) > STUCK_AFTER_MS) {
          await ctx.assemble[entry.lane].send([{ kind: 'assemble', renderId: id }]);
          resent.push(id);
        }
      }
      await ctx.inFlight.update(IN_FLIGHT_RECORD_ID, (current) => ({
        ...current,
        renders: Object.fromEntries(Object.entries(current.renders).filter(([id]) => !remove.has(id))),
        sweptAt: now,
      }));
      return { checked: entries.length, resent, removed: remove.size };
    }, { waitSeconds: 0 });
  } catch (e) {
    if (e instanceof LockNotAcquiredError) return undefined; // another server is sweeping
    throw e;
  }
}
