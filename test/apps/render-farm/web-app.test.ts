/**
 * The render farm's web app in-process against moto (its real clients: Secrets Manager, the
 * session table, the records table, the bucket, two queues): sign-in with a new session id,
 * renders sent to the queue their tile count picks, bad parameters refused naming the field,
 * another user's render a 404, and the assemble job sent again when a render has waited with
 * every tile done (a worker died between its last commit and the send).
 */
import * as http from 'http';
import { randomUUID } from 'crypto';
import type { AddressInfo } from 'net';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { RENDER_FARM_ENV } from '../../../contracts/render-farm';
import { STORAGE_BUCKET_ENV, STORAGE_RECORDS_TABLE_ENV } from '../../../contracts/shared-storage';
import { SharedRecords } from '../../../runtime/storage';
import { DEFAULT_FRACTAL } from '../../../apps/render-farm/fractal';
import { assembleJobId, type RenderData } from '../../../apps/render-farm/renders';
import { handler, start } from '../../../apps/render-farm/web-app';
import { createWorkQueue, useLocalAws } from '../../support/local-aws';
import { createBucket, createRecordsTable } from '../../support/storage-stack';
import { createSessionTable } from '../../support/session-table';

const aws = useLocalAws();
let server: http.Server;
let url: string;
let records: SharedRecords<RenderData>;
let queues: { small: string; large: string };

beforeAll(async () => {
  const recordsTable = await createRecordsTable(aws.dynamodb);
  const bucket = await createBucket(`renders-${randomUUID().slice(0, 8)}`);
  const secrets = new SecretsManagerClient({});
  const secret = await secrets.send(new CreateSecretCommand({ Name: `cookie-key-${randomUUID().slice(0, 8)}`, SecretString: 'a-test-key-that-signs-the-session-cookies-0123456789' }));
  secrets.destroy();
  queues = { small: (await createWorkQueue(aws.sqs)).queueUrl, large: (await createWorkQueue(aws.sqs)).queueUrl };
  Object.assign(process.env, {
    SESSION_TABLE_NAME: await createSessionTable(aws.dynamodb),
    [STORAGE_BUCKET_ENV]: bucket,
    [STORAGE_RECORDS_TABLE_ENV]: recordsTable,
    [RENDER_FARM_ENV.sessionSecretArn]: secret.ARN,
    [RENDER_FARM_ENV.plainHttp]: 'true',
    [RENDER_FARM_ENV.smallQueueUrl]: queues.small,
    [RENDER_FARM_ENV.largeQueueUrl]: queues.large,
    [RENDER_FARM_ENV.fleetGroupName]: 'no-such-group',
  });
  records = new SharedRecords<RenderData>({ tableName: recordsTable, dynamodb: aws.dynamodb });
  // The session library warns once about plain-HTTP cookies (what the app asks for without a certificate).
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  await start();
  server = http.createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((e: Error) => {
      res.statusCode = 500;
      res.end(e.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

/** A visitor: a cookie jar of one session cookie. */
function visitor() {
  let cookie = '';
  const call = async (path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { ...(cookie ? { cookie } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0]!;
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) as Record<string, unknown> : {}, cookie };
  };
  return { call, cookie: () => cookie };
}

async function jobsOn(queueUrl: string) {
  const out = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 1, VisibilityTimeout: 30 }));
  return (out.Messages ?? []).map((m) => ({ body: JSON.parse(m.Body!) as Record<string, unknown>, jobId: m.MessageAttributes?.jobId?.StringValue }));
}

describe('the render farm web app', () => {
  test('signs in with a new session id, and sends a small render\'s tiles to the small queue', async () => {
    // GIVEN a visitor with a session (signed in before, as someone else)
    const alice = visitor();
    expect((await alice.call('/api/me')).status).toBe(401);
    await alice.call('/api/sign-in', { name: 'mallory' });
    const before = alice.cookie();

    // WHEN they sign in and submit a 4-tile render
    const me = await alice.call('/api/sign-in', { name: 'alice' });
    const submitted = await alice.call('/api/renders', { ...DEFAULT_FRACTAL, size: 128, tilesPerSide: 2 });

    // THEN the session id changed and the old one is refused, and 4 tile jobs wait on the small queue for a render alice owns
    expect(me).toMatchObject({ status: 200, json: { name: 'alice' } });
    expect(me.cookie).not.toBe(before);
    const old = await fetch(`${url}/api/me`, { headers: { cookie: before } });
    expect(old.status).toBe(401);
    expect(submitted).toMatchObject({ status: 201, json: { tiles: 4, lane: 'small' } });
    const id = submitted.json.id as string;
    const jobs = await jobsOn(queues.small);
    expect(jobs.map((j) => j.body.index).sort()).toEqual([0, 1, 2, 3]);
    expect(jobs.every((j) => j.body.kind === 'tile' && j.body.renderId === id)).toBe(true);
    expect((await records.get(id))!.data).toMatchObject({ owner: 'alice', tiles: 4, tilesDone: 0, status: 'rendering' });
    expect((await alice.call('/api/renders')).json).toEqual({ renders: [expect.objectContaining({ id, status: 'rendering' })] });
  });

  test('shows a render to its owner only: 404 for another user, 401 without a session', async () => {
    const alice = visitor();
    await alice.call('/api/sign-in', { name: 'alice2' });
    const id = (await alice.call('/api/renders', DEFAULT_FRACTAL)).json.id as string;
    const bob = visitor();
    await bob.call('/api/sign-in', { name: 'bob' });

    expect((await alice.call(`/api/renders/${id}`)).json).toMatchObject({ id, tiles: 16, lane: 'large', tilesDone: 0 });
    expect((await bob.call(`/api/renders/${id}`)).status).toBe(404);
    expect((await bob.call(`/api/renders/${id}/image`)).status).toBe(404);
    expect((await bob.call('/api/renders')).json).toEqual({ renders: [] });
    expect((await visitor().call(`/api/renders/${id}`)).status).toBe(401);
  });

  test('fails when a render\'s parameters are bad, naming the field and the value, or when a body is not JSON', async () => {
    const alice = visitor();
    await alice.call('/api/sign-in', { name: 'alice3' });
    const bad = await alice.call('/api/renders', { ...DEFAULT_FRACTAL, tilesPerSide: 9 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/tilesPerSide must be an integer from 1 to 8, received 9/);
    expect((await visitor().call('/api/sign-in', { name: '' })).json.error).toMatch(/name must be 1 to 40 .*received ""/);
    const form = await fetch(`${url}/api/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=eve' });
    expect(form.status).toBe(415);
  });

  test('sends the assemble job again, under the render\'s own job id, when every tile is done and no image came', async () => {
    // GIVEN a render whose tiles were all recorded 20 s ago, and no assemble job anywhere
    const alice = visitor();
    await alice.call('/api/sign-in', { name: 'alice4' });
    const id = (await alice.call('/api/renders', { ...DEFAULT_FRACTAL, size: 64, tilesPerSide: 1 })).json.id as string;
    await jobsOn(queues.small); // the tile job, taken
    await records.update(id, (r) => ({ ...r, tilesDone: 1, tileKeys: { 0: 'sha256/x' }, lastTileAt: Date.now() - 20_000 }));

    // WHEN the page polls it, twice
    await alice.call(`/api/renders/${id}`);
    await alice.call(`/api/renders/${id}`);

    // THEN one assemble job was sent (the second poll is within the interval), with the derived id
    const jobs = await jobsOn(queues.small);
    expect(jobs).toEqual([{ body: { kind: 'assemble', renderId: id }, jobId: assembleJobId(id) }]);
  });
});
