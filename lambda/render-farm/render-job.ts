/**
 * The render farm's job handler, one module for both kinds of worker: RenderFarmStack's
 * LambdaWorker runs it for small renders and its FleetWorker's agents (EC2) for large ones.
 *
 * - `tile` (map): renders one tile, stores it content-addressed in the shared bucket, then
 *   records it in the render's record with `commit` (the record's change and the job's
 *   completion in one transaction, the change also conditional on the tile not being recorded),
 *   so a tile is counted once however often it is delivered or whichever worker dies when. Only
 *   then does the job end and its message go. The worker that finds every tile done sends the
 *   render's assemble job.
 * - `assemble` (reduce): reads the tiles, puts them together into the image, stores it and
 *   marks the render finished (conditional on it still rendering).
 *
 * The assemble job's id is derived from the render's id (renders.ts), so a second sending of it
 * (the web app's stuck-render sweep sends it again when a worker died between recording the last
 * tile and sending it: apps/render-farm/sweep.ts) is skipped by the idempotency layer. Neither job
 * takes a lock: each write is conditional (the tile not yet recorded; the render still rendering)
 * and applied with the job's completion, so two workers on the same job cannot both count it.
 */
import { STORAGE_RECORDS_TABLE_ENV } from '../../contracts/shared-storage';
import { RENDER_FARM_ENV } from '../../contracts/render-farm';
import { isUuid } from '../../runtime/jobs/parse-job';
import { JobClient } from '../../runtime/jobs/job-client';
import { defineJobHandler } from '../../runtime/jobs/define-job-handler';
import { SharedRecords, SharedStorageClient } from '../../runtime/storage';
import { assembleTiles, parseFractalParams, renderTilePng, tileCount } from '../../apps/render-farm/fractal';
import { assembleJobId, finishedWrite, firstConditionFailed, tileDoneWrite, type RenderData, type RenderJob } from '../../apps/render-farm/renders';

/** Checks a job's shape; a malformed job fails on every delivery and is dead-lettered. */
export function parseRenderJob(raw: unknown): RenderJob {
  const job = raw as Partial<Record<string, unknown>> | null;
  if (typeof job !== 'object' || job === null) throw new Error(`a render job is an object, received ${JSON.stringify(raw)}`);
  if (typeof job.renderId !== 'string' || !isUuid(job.renderId)) throw new Error(`renderId must be a UUID, received ${JSON.stringify(job.renderId)}`);
  if (job.kind === 'assemble') return { kind: 'assemble', renderId: job.renderId };
  if (job.kind !== 'tile') throw new Error(`kind must be "tile" or "assemble", received ${JSON.stringify(job.kind)}`);
  const params = parseFractalParams(job.params);
  const index = job.index;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= tileCount(params)) {
    throw new Error(`index must be an integer from 0 to ${tileCount(params) - 1} (the render has ${tileCount(params)} tiles), received ${JSON.stringify(index)}`);
  }
  return { kind: 'tile', renderId: job.renderId, index, params };
}

// Clients are made on first use: a module import must not fail on a missing variable.
let clients: { storage: SharedStorageClient; records: SharedRecords<RenderData>; tableName: string; assemble: JobClient<RenderJob> } | undefined;
function farm() {
  if (clients) return clients;
  const tableName = process.env[STORAGE_RECORDS_TABLE_ENV];
  const queueUrl = process.env[RENDER_FARM_ENV.assembleQueueUrl];
  if (!tableName || !queueUrl) {
    throw new Error(`${STORAGE_RECORDS_TABLE_ENV} and ${RENDER_FARM_ENV.assembleQueueUrl} must be set: deploy the worker with RenderFarmStack, which sets them.`);
  }
  clients = {
    storage: SharedStorageClient.fromEnvironment(),
    records: SharedRecords.fromEnvironment<RenderData>(),
    tableName,
    assemble: new JobClient<RenderJob>({ queueUrl, jobId: (job) => assembleJobId(job.renderId) }),
  };
  return clients;
}

/** What a job returns (kept by the idempotency layer). */
export interface RenderJobResult {
  readonly key?: string;
}

export const handler = defineJobHandler<RenderJob, RenderJobResult>(
  async (job, { commit, log }) => {
    const { storage, records, tableName, assemble } = farm();
    if (job.kind === 'tile') {
      log.info('rendering tile', { renderId: job.renderId, index: job.index, pid: process.pid });
      const started = Date.now();
      const stored = await storage.putContent(renderTilePng(job.params, job.index), { contentType: 'image/png' });
      try {
        await commit([tileDoneWrite(tableName, job.renderId, job.index, stored.key, Date.now())]);
      } catch (error) {
        if (!firstConditionFailed(error)) throw error;
        // Recorded before (a delivery whose completion was lost), or the render is gone.
        log.warn('tile already recorded (or its render is gone); not counted again', { renderId: job.renderId, index: job.index });
      }
      log.info('tile recorded', { renderId: job.renderId, index: job.index, key: stored.key, ms: Date.now() - started });
      const render = await records.get(job.renderId);
      if (render && render.data.status === 'rendering' && render.data.tilesDone >= render.data.tiles) {
        await assemble.send([{ kind: 'assemble', renderId: job.renderId }]);
        log.info('every tile done: assemble job sent', { renderId: job.renderId });
      }
      return { key: stored.key };
    }

    const render = await records.get(job.renderId);
    if (!render) {
      log.warn('render is gone; nothing to assemble', { renderId: job.renderId });
      return {};
    }
    if (render.data.status === 'finished') return { key: render.data.imageKey };
    const { params, tiles, tileKeys } = render.data;
    const keys = Array.from({ length: tiles }, (_, i) => tileKeys[String(i)]);
    const missing = keys.flatMap((k, i) => (k === undefined ? [i] : []));
    // Sent only once every tile is recorded; retried (then dead-lettered) if that ever is not so.
    if (missing.length > 0) throw new Error(`render ${job.renderId} lacks tiles ${missing.join(', ')}: it cannot be assembled yet`);
    const image = assembleTiles(params, await Promise.all(keys.map((k) => storage.get(k!))));
    const stored = await storage.putContent(image, { contentType: 'image/png' });
    try {
      await commit([finishedWrite(tableName, job.renderId, stored.key, Date.now())]);
    } catch (error) {
      if (!firstConditionFailed(error)) throw error;
      log.warn('render already finished', { renderId: job.renderId });
    }
    log.info('render finished', { renderId: job.renderId, key: stored.key, tiles });
    return { key: stored.key };
  },
  { schema: parseRenderJob },
);
