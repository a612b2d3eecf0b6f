/**
 * The render farm's web app, served by RenderFarmStack's WebTier (runtime/web-server around it).
 * Sessions live in the SessionStore table (any server serves any request); renders live in the
 * SharedStorage records table, tiles and images in its bucket; tiles go to a work queue.
 *
 * GET  /                    the page
 * GET  /api/me              { name } of the signed-in user, 401 otherwise
 * POST /api/sign-in         { name }: signs in (any name; a new session id), { name }
 * POST /api/sign-out        ends the session
 * POST /api/renders         fractal parameters: creates a render and sends its tile jobs, { id }
 * GET  /api/renders         the user's renders, newest first
 * GET  /api/renders/<id>    progress: tiles done, workers, backlog; the image's presigned URL once finished
 * GET  /api/renders/<id>/image  a redirect to the image's presigned URL
 *
 * A user sees only their own renders: every render carries its owner, and another user gets
 * 404 for it (not 403: whether a render exists is not theirs to know either).
 */
import { randomUUID } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { RENDER_FARM_ENV, laneFor, type RenderLane } from '../../contracts/render-farm';
import { JobClient } from '../../runtime/jobs/job-client';
import { SessionManager } from '../../runtime/sessions';
import { RecordConflictError, SharedRecords, SharedStorageClient } from '../../runtime/storage';
import { FractalParamsError, parseFractalParams, tileCount } from './fractal';
import { PAGE_HTML } from './page';
import { MAX_LISTED, assembleJobId, userRecordId, type RenderData, type RenderJob, type UserData } from './renders';

interface SessionData extends Record<string, unknown> { name?: string }

/** After this long with every tile recorded and no image, the web app sends the assemble job again. */
const ASSEMBLE_RESEND_AFTER_MS = 15_000;
/** A user's name: what the page shows and what renders are owned by. */
const NAME = /^[\p{L}\p{N} ._-]{1,40}$/u;

interface App {
  sessions: SessionManager<SessionData>;
  storage: SharedStorageClient;
  renders: SharedRecords<RenderData>;
  users: SharedRecords<UserData>;
  queues: Record<RenderLane, { url: string; jobs: JobClient<RenderJob>; assemble: JobClient<RenderJob> }>;
  sqs: SQSClient;
  autoscaling: AutoScalingClient;
  fleetGroup: string;
}
let app: App | undefined;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: deploy the app with RenderFarmStack, which sets it.`);
  return value;
}

/**
 * The start-up hook: reads the cookie-signing secret with the instance role (never in the
 * template or user data) and makes the clients, before the server reports ready.
 */
export async function start(): Promise<void> {
  const arn = required(RENDER_FARM_ENV.sessionSecretArn);
  const secretsManager = new SecretsManagerClient({});
  let secret: string;
  try {
    const out = await secretsManager.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!out.SecretString) throw new Error(`the secret ${arn} has no string value`);
    secret = out.SecretString;
  } finally {
    secretsManager.destroy();
  }
  const sqs = new SQSClient({});
  const lane = (url: string) => ({
    url,
    jobs: new JobClient<RenderJob>({ queueUrl: url, sqs }),
    assemble: new JobClient<RenderJob>({ queueUrl: url, sqs, jobId: (job) => assembleJobId(job.renderId) }),
  });
  app = {
    sessions: new SessionManager<SessionData>({
      secrets: [secret],
      // Without a certificate the balancer speaks plain HTTP, where browsers drop Secure cookies.
      insecureHttpForLocalDevelopment: process.env[RENDER_FARM_ENV.plainHttp] === 'true',
    }),
    storage: SharedStorageClient.fromEnvironment(),
    renders: SharedRecords.fromEnvironment<RenderData>(),
    users: SharedRecords.fromEnvironment<UserData>(),
    queues: { small: lane(required(RENDER_FARM_ENV.smallQueueUrl)), large: lane(required(RENDER_FARM_ENV.largeQueueUrl)) },
    sqs,
    autoscaling: new AutoScalingClient({}),
    fleetGroup: required(RENDER_FARM_ENV.fleetGroupName),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new FractalParamsError('the body is not JSON');
  }
}

/** Fleet workers now (the group's desired capacity), or null when the group cannot be described. */
async function fleetWorkers(a: App): Promise<number | null> {
  const out = await a.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [a.fleetGroup] })).catch(() => undefined);
  const group = out?.AutoScalingGroups?.[0];
  return group?.DesiredCapacity ?? null;
}

/** Jobs waiting or running on a queue, or null when it cannot be read. */
async function backlog(a: App, lane: RenderLane): Promise<number | null> {
  const out = await a.sqs.send(new GetQueueAttributesCommand({
    QueueUrl: a.queues[lane].url,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
  })).catch(() => undefined);
  if (!out?.Attributes) return null;
  return Number(out.Attributes.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** The render if `name` owns it; undefined otherwise (the caller answers 404 either way). */
async function ownRender(a: App, id: string, name: string): Promise<RenderData | undefined> {
  if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
  const record = await a.renders.get(id);
  return record && record.data.kind === 'render' && record.data.owner === name ? record.data : undefined;
}

/** When this server last sent a render's assemble job again, so that polls do not flood the queue. */
const resentAt = new Map<string, number>();

async function renderStatus(a: App, id: string, r: RenderData): Promise<Record<string, unknown>> {
  const now = Date.now();
  if (r.status === 'rendering' && r.tilesDone >= r.tiles && now - (r.lastTileAt ?? 0) > ASSEMBLE_RESEND_AFTER_MS
    && now - (resentAt.get(id) ?? 0) > ASSEMBLE_RESEND_AFTER_MS) {
    // The worker of the last tile died before sending the assemble job: send it (again; its id
    // makes a duplicate a no-op), at most once per interval from this server.
    resentAt.set(id, now);
    for (const [key, at] of resentAt) if (now - at > 10 * ASSEMBLE_RESEND_AFTER_MS) resentAt.delete(key);
    await a.queues[r.lane].assemble.send([{ kind: 'assemble', renderId: id }]);
  }
  const [workers, waiting] = await Promise.all([fleetWorkers(a), backlog(a, r.lane)]);
  return {
    id,
    status: r.status,
    tiles: r.tiles,
    tilesDone: r.tilesDone,
    lane: r.lane,
    params: r.params,
    workers,
    backlog: waiting,
    submittedAt: r.submittedAt,
    elapsedMs: (r.finishedAt ?? Date.now()) - r.submittedAt,
    imageUrl: r.status === 'finished' && r.imageKey ? await a.storage.presignGet(r.imageKey) : undefined,
  };
}

/** The request handler. */
export async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!app) throw new Error('the start-up hook has not run');
  const a = app;
  const path = (req.url ?? '/').split('?')[0]!;
  const method = req.method ?? 'GET';
  if (method === 'GET' && path === '/') {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src *");
    res.end(PAGE_HTML);
    return;
  }
  if (!path.startsWith('/api/')) return send(res, 404, { error: 'not found' });
  // Every change is a JSON POST: a cross-site form cannot send one without the browser asking
  // first (CORS), and the session cookie is SameSite=Lax besides.
  if (method === 'POST' && !(req.headers['content-type'] ?? '').startsWith('application/json')) {
    return send(res, 415, { error: 'send the body as application/json' });
  }

  const session = await a.sessions.load(req);
  try {
    if (method === 'POST' && path === '/api/sign-in') {
      const body = await readJson(req) as { name?: unknown };
      const name = typeof body.name === 'string' ? body.name.trim() : '';
      if (!NAME.test(name)) return send(res, 400, { error: `name must be 1 to 40 letters, digits, spaces, dots, dashes or underscores, received ${JSON.stringify(body.name)}` });
      session.data.name = name;
      // A new session id at sign-in: an id planted in the browser before it is worth nothing after.
      await a.sessions.regenerate(session, res, { userId: name });
      return send(res, 200, { name });
    }
    const name = session.data.name;
    if (method === 'POST' && path === '/api/sign-out') {
      await a.sessions.destroy(session, res);
      return send(res, 200, {});
    }
    if (!name) return send(res, 401, { error: 'sign in first' });
    // Keeps the session alive (a touch at most once per interval), before any body is sent.
    await a.sessions.save(session, res);
    if (method === 'GET' && path === '/api/me') return send(res, 200, { name });

    if (method === 'POST' && path === '/api/renders') {
      const params = parseFractalParams(await readJson(req));
      const id = randomUUID();
      const tiles = tileCount(params);
      const lane = laneFor(tiles);
      await a.renders.create({
        kind: 'render', owner: name, params, tiles, lane, tilesDone: 0, tileKeys: {}, status: 'rendering', submittedAt: Date.now(),
      }, { id });
      await a.users.create({ kind: 'user', renders: [] }, { id: userRecordId(name) }).catch((e: unknown) => {
        if (!(e instanceof RecordConflictError)) throw e; // the user's list exists already
      });
      await a.users.update(userRecordId(name), (u) => ({ ...u, renders: [id, ...u.renders].slice(0, MAX_LISTED) }));
      // The record first, then the jobs: a tile never arrives for a render that does not exist.
      await a.queues[lane].jobs.send(Array.from({ length: tiles }, (_, index) => ({ kind: 'tile' as const, renderId: id, index, params })));
      return send(res, 201, { id, tiles, lane });
    }
    if (method === 'GET' && path === '/api/renders') {
      const list = (await a.users.get(userRecordId(name)))?.data.renders ?? [];
      const renders = await Promise.all(list.map(async (id) => {
        const r = await ownRender(a, id, name);
        return r ? { id, status: r.status, tiles: r.tiles, tilesDone: r.tilesDone, submittedAt: r.submittedAt } : undefined;
      }));
      return send(res, 200, { renders: renders.filter(Boolean) });
    }
    const match = /^\/api\/renders\/([^/]+)(\/image)?$/.exec(path);
    if (method === 'GET' && match) {
      const render = await ownRender(a, match[1]!, name);
      if (!render) return send(res, 404, { error: 'no such render' });
      if (!match[2]) return send(res, 200, await renderStatus(a, match[1]!, render));
      if (render.status !== 'finished' || !render.imageKey) return send(res, 404, { error: 'the render is not finished' });
      res.statusCode = 302;
      res.setHeader('Location', await a.storage.presignGet(render.imageKey));
      res.setHeader('Cache-Control', 'no-store');
      res.end();
      return;
    }
    return send(res, 404, { error: 'not found' });
  } catch (error) {
    if (error instanceof FractalParamsError) return send(res, 400, { error: error.message });
    throw error;
  }
}
