/**
 * The render farm's job handler against moto (the code both its Lambda worker and its fleet
 * agents run, through JobRunner): tiles counted once however often delivered, the last tile
 * sending the assemble job under the render's own job id, and the assembled image equal to the
 * image rendered in one piece. Bad jobs are refused naming the field.
 */
import { randomUUID } from 'crypto';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { RENDER_FARM_ENV } from '../../../contracts/render-farm';
import { STORAGE_BUCKET_ENV, STORAGE_RECORDS_TABLE_ENV } from '../../../contracts/shared-storage';
import { JobRunner } from '../../../runtime/jobs/job-runner';
import type { JobMessage } from '../../../runtime/jobs/types';
import { SharedRecords, SharedStorageClient } from '../../../runtime/storage';
import { renderImagePng, type FractalParams } from '../../../apps/render-farm/fractal';
import { assembleJobId, type RenderData } from '../../../apps/render-farm/renders';
import { handler, parseRenderJob } from '../../../lambda/render-farm/render-job';
import { createWorkQueue, useLocalAws } from '../../support/local-aws';
import { createBucket, createRecordsTable } from '../../support/storage-stack';

const aws = useLocalAws();
/** A small, quick render: 4 tiles of 32 pixels. */
const PARAMS: FractalParams = { size: 64, tilesPerSide: 2, centerX: -0.5, centerY: 0, width: 3, maxIterations: 60 };

let records: SharedRecords<RenderData>;
let storage: SharedStorageClient;
let queueUrl: string;

beforeAll(async () => {
  const table = await createRecordsTable(aws.dynamodb);
  const bucket = await createBucket(`tiles-${randomUUID().slice(0, 8)}`);
  queueUrl = (await createWorkQueue(aws.sqs)).queueUrl;
  Object.assign(process.env, { [STORAGE_BUCKET_ENV]: bucket, [STORAGE_RECORDS_TABLE_ENV]: table, [RENDER_FARM_ENV.assembleQueueUrl]: queueUrl });
  records = new SharedRecords<RenderData>({ tableName: table, dynamodb: aws.dynamodb });
  storage = new SharedStorageClient({ bucket });
});

beforeEach(() => {
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

async function newRender(): Promise<string> {
  const id = randomUUID();
  await records.create({ kind: 'render', owner: 'alice', params: PARAMS, tiles: 4, lane: 'small', tilesDone: 0, tileKeys: {}, status: 'rendering', submittedAt: Date.now() }, { id });
  return id;
}

function delivery(job: unknown, jobId: string = randomUUID()): JobMessage {
  return { messageId: randomUUID(), body: JSON.stringify(job), receiveCount: 1, jobIdAttribute: jobId };
}

/** Without idempotency: only the handler's own conditional writes stand between a duplicate and a double count. */
const runner = new JobRunner(handler.definition, undefined);
const deadline = () => Date.now() + 30_000;

describe('the render job handler', () => {
  test('counts a tile once when it is delivered twice (the record write is conditional on the tile), and sends the assemble job after the last', async () => {
    // GIVEN a render of 4 tiles
    const id = await newRender();

    // WHEN every tile is delivered twice, under the same job id each time
    for (let index = 0; index < 4; index++) {
      const jobId = randomUUID();
      for (let copy = 0; copy < 2; copy++) {
        const outcome = await runner.run(delivery({ kind: 'tile', renderId: id, index, params: PARAMS }, jobId), deadline());
        expect(outcome.ok).toBe(true);
      }
    }

    // THEN 4 tiles are counted, each with its content key, and the assemble job waits under the render's own id
    const render = (await records.get(id))!;
    expect(render.data.tilesDone).toBe(4);
    expect(Object.keys(render.data.tileKeys).sort()).toEqual(['0', '1', '2', '3']);
    expect(render.version).toBe(5); // created, then once per tile
    const sent = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }));
    const assembles = (sent.Messages ?? []).filter((m) => JSON.parse(m.Body!).renderId === id);
    expect(assembles.length).toBeGreaterThanOrEqual(1);
    for (const m of assembles) {
      expect(JSON.parse(m.Body!)).toEqual({ kind: 'assemble', renderId: id });
      expect(m.MessageAttributes?.jobId?.StringValue).toBe(assembleJobId(id));
    }
  });

  test('assembles the tiles into the image rendered in one piece, and marks the render finished once', async () => {
    // GIVEN a render whose tiles are all done
    const id = await newRender();
    for (let index = 0; index < 4; index++) {
      expect((await runner.run(delivery({ kind: 'tile', renderId: id, index, params: PARAMS }), deadline())).ok).toBe(true);
    }

    // WHEN its assemble job runs, twice
    for (let copy = 0; copy < 2; copy++) {
      expect((await runner.run(delivery({ kind: 'assemble', renderId: id }, assembleJobId(id)), deadline())).ok).toBe(true);
    }

    // THEN the render is finished, its image byte for byte the direct render
    const render = (await records.get(id))!;
    expect(render.data.status).toBe('finished');
    expect(render.version).toBe(6);
    expect(Buffer.from(await storage.get(render.data.imageKey!)).equals(renderImagePng(PARAMS))).toBe(true);
  });

  test('fails an assemble job whose render lacks tiles (it is retried), naming them', async () => {
    const id = await newRender();
    const outcome = await runner.run(delivery({ kind: 'assemble', renderId: id }), deadline());
    expect(outcome.ok).toBe(false);
    expect(String((outcome as { error: Error }).error.message)).toMatch(/lacks tiles 0, 1, 2, 3/);
  });

  test.each([
    [{ kind: 'tile', renderId: 'x', index: 0, params: PARAMS }, /renderId must be a UUID, received "x"/],
    [{ kind: 'paint', renderId: randomUUID() }, /kind must be "tile" or "assemble", received "paint"/],
    [{ kind: 'tile', renderId: randomUUID(), index: 4, params: PARAMS }, /index must be an integer from 0 to 3 \(the render has 4 tiles\), received 4/],
    [{ kind: 'tile', renderId: randomUUID(), index: 0, params: { ...PARAMS, size: 65 } }, /size must be a multiple of tilesPerSide \(2\).*received 65: use 64/],
    [{ kind: 'tile', renderId: randomUUID(), index: 0, params: { ...PARAMS, maxIterations: 0 } }, /maxIterations must be an integer from 10 to 20000, received 0/],
  ])('fails when a job is malformed: %j', (job, message) => {
    expect(() => parseRenderJob(job)).toThrow(message);
  });

  test('derives the assemble job id from the render id: a UUID, the same every time, different per render', () => {
    const a = randomUUID();
    expect(assembleJobId(a)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(assembleJobId(a)).toBe(assembleJobId(a));
    expect(assembleJobId(a)).not.toBe(assembleJobId(randomUUID()));
  });
});
