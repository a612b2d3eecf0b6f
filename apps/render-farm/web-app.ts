/**
 * The render farm's web app, served by RenderFarmStack's WebTier (runtime/web-server around it).
 * Users sign up and sign in with the stack's Cognito user pool (auth.ts: the ID token is verified
 * before a session is made, and renders are owned by its `sub`); sessions live in the
 * SessionStore table (any server serves any request); renders live in the SharedStorage records
 * table, tiles and images in its bucket; tiles go to a work queue.
 *
 * GET  /                    the page
 * GET  /api/me              { username } of the signed-in user, 401 otherwise
 * POST /api/sign-up         { username, password }: creates the user in the pool and signs in (a new session id), { username }
 * POST /api/sign-in         { username, password }: signs in (a new session id), { username }
 * POST /api/sign-out        ends the session
 * POST /api/renders         fractal parameters: creates a render and sends its tile jobs, { id }
 * GET  /api/renders         the user's renders, newest first
 * GET  /api/renders/<id>    progress: tiles done, workers, backlog; the image's presigned URL once finished
 * GET  /api/renders/<id>/image  a redirect to the image's presigned URL
 *
 * A user sees only their own renders: every render carries its owner's `sub`, and another user
 * gets 404 for it (not 403: whether a render exists is not theirs to know either).
 *
 * Facing the internet, it assumes hostile clients: rate limits per address and per session on
 * sign-in, submission and reads (429 with Retry-After, before any work), a cap on renders in
 * flight per user, a work budget per render, JSON bodies read through `readJsonBody` with small
 * caps (sign-in reads at most 4 KiB before anyone is signed in), the fleet's size and backlog read
 * at most once per 5 s per server, and the page's headers: a Content-Security-Policy with
 * `frame-ancestors 'none'`, and HSTS when served over HTTPS.
 */
import { randomUUID } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { RENDER_FARM_ENV, laneFor, type RenderLane } from '../../contracts/render-farm';
import {
  JobClient, LockClient, RecordConflictError, RequestBodyError, SESSION_TABLE_ENV, SessionManager, SharedRecords, SharedStorageClient,
  currentAndPreviousSecrets, readJsonBody,
} from '../../runtime/index';
import { AuthError, UserPoolAuth } from './auth';
import { CachedReading, FLEET_STATUS_TTL_MS, readBacklog, readFleetWorkers } from './fleet-status';
import { FractalParamsError, checkRenderBudget, parseFractalParams, tileCount } from './fractal';
import { PAGE_HTML } from './page';
import { RENDER_FARM_LIMITS, RateLimiter, clientAddress, type RateLimit, type RenderFarmLimits } from './rate-limits';
import { MAX_LISTED, assembleJobId, userRecordId, type RenderData, type RenderJob, type UserData } from './renders';
import { FarmBusyError, SWEEP_EVERY_MS, addInFlight, sweepStuckRenders, type InFlightData, type SweepReport } from './sweep';

interface SessionData extends Record<string, unknown> {
  /** The signed-in user's id in the pool (from the verified token). */
  sub?: string;
  username?: string;
}

/** The most bytes of a sign-up or sign-in body (a username and a password). */
export const SIGN_IN_BODY_MAX_BYTES = 4 * 1024;
/** The most bytes of a render's parameters. */
export const RENDER_BODY_MAX_BYTES = 4 * 1024;
/** A render counts as in flight for its user while rendering, for at most this long after it was submitted. */
export const IN_FLIGHT_WINDOW_MS = 15 * 60_000;

/** The page's Content-Security-Policy: its own inline script and style, JSON from itself, images from the bucket; never in a frame. */
export const PAGE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src *; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/** HSTS, sent when the app is served over HTTPS: a year, subdomains too. */
export const HSTS = 'max-age=31536000; includeSubDomains';

/** Options of {@link createRenderFarmApp}. */
export interface RenderFarmAppOptions {
  /** Where its settings are read (RENDER_FARM_ENV and the patterns' variables). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Settings of its Auto Scaling, SQS and Cognito clients (and where the pool's JWKS is fetched
   * from, when `endpoint` is set).
   *
   * @default - the SDK's defaults (AWS_ENDPOINT_URL and the like from the environment)
   */
  readonly clientConfig?: { readonly endpoint?: string };
  /**
   * Rate limits, the cap on renders in flight, the cached fleet status and the JSON body caps.
   * Off only in the drill that shows what they prevent.
   *
   * @default true
   */
  readonly protections?: boolean;
  /** @default RENDER_FARM_LIMITS */
  readonly limits?: RenderFarmLimits;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** One server's render farm app. */
export interface RenderFarmApp {
  /** The request handler. */
  handler(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Runs the stuck-render sweep (under its lock); undefined when another server has it or it ran within 15 s. */
  sweep(): Promise<SweepReport | undefined>;
  /** Stops its clients. */
  close(): void;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set: deploy the app with RenderFarmStack, which sets it.`);
  return value;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(body));
}

function tooMany(res: ServerResponse, retryAfterSeconds: number, what: string): void {
  res.setHeader('Retry-After', String(retryAfterSeconds));
  send(res, 429, { error: `${what}: try again in ${retryAfterSeconds} s` });
}

/** The limiters of one kind of request: per address and per session. */
class Limits {
  private readonly address: RateLimiter;
  private readonly session: RateLimiter;
  constructor(perAddress: RateLimit, perSession: RateLimit, private readonly on: boolean, clock: () => number) {
    this.address = new RateLimiter(perAddress, { clock });
    this.session = new RateLimiter(perSession, { clock });
  }

  /** Seconds to wait when `address` is over its limit, else undefined (the token taken). */
  byAddress(address: string): number | undefined {
    if (!this.on) return undefined;
    const d = this.address.take(address);
    return d.ok ? undefined : d.retryAfterSeconds;
  }

  /** Seconds to wait when the session is over its limit, else undefined; a request without a session has only its address's limit. */
  bySession(sessionId: string | undefined): number | undefined {
    if (!this.on || sessionId === undefined) return undefined;
    const d = this.session.take(sessionId);
    return d.ok ? undefined : d.retryAfterSeconds;
  }
}

/**
 * Builds one server's app: reads the cookie-signing secret (its current and previous versions,
 * read again every 5 minutes and when a cookie verifies with neither, so a rotation signs no one
 * out) with the instance role, and makes the clients.
 */
export async function createRenderFarmApp(options: RenderFarmAppOptions = {}): Promise<RenderFarmApp> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? Date.now;
  const protections = options.protections ?? true;
  const limits = options.limits ?? RENDER_FARM_LIMITS;
  const config = options.clientConfig ?? {};

  const arn = required(env, RENDER_FARM_ENV.sessionSecretArn);
  const secretsManager = new SecretsManagerClient({});
  const readSecrets = () => currentAndPreviousSecrets(async (stage) =>
    (await secretsManager.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: stage }))).SecretString);
  const https = env[RENDER_FARM_ENV.plainHttp] !== 'true';
  const sessions = new SessionManager<SessionData>({
    tableName: env[SESSION_TABLE_ENV],
    secrets: await readSecrets(),
    reloadSecrets: readSecrets,
    // Without a certificate the balancer speaks plain HTTP, where browsers drop Secure cookies.
    insecureHttpForLocalDevelopment: !https,
  });

  const sqs = new SQSClient(config);
  const autoscaling = new AutoScalingClient(config);
  const cognito = new CognitoIdentityProviderClient(config);
  const lane = (url: string) => ({
    url,
    jobs: new JobClient<RenderJob>({ queueUrl: url, sqs }),
    assemble: new JobClient<RenderJob>({ queueUrl: url, sqs, jobId: (job) => assembleJobId(job.renderId) }),
  });
  const queues: Record<RenderLane, ReturnType<typeof lane>> = {
    small: lane(required(env, RENDER_FARM_ENV.smallQueueUrl)),
    large: lane(required(env, RENDER_FARM_ENV.largeQueueUrl)),
  };
  const auth = new UserPoolAuth({
    userPoolId: required(env, RENDER_FARM_ENV.userPoolId),
    clientId: required(env, RENDER_FARM_ENV.userPoolClientId),
    cognito,
    jwksEndpoint: config.endpoint,
  });
  const storage = SharedStorageClient.fromEnvironment({}, env);
  const renders = SharedRecords.fromEnvironment<RenderData>({}, env);
  const users = SharedRecords.fromEnvironment<UserData>({}, env);
  const inFlight = SharedRecords.fromEnvironment<InFlightData>({}, env);
  const locks = LockClient.fromEnvironment({}, env);
  const fleetGroup = required(env, RENDER_FARM_ENV.fleetGroupName);

  const ttl = protections ? FLEET_STATUS_TTL_MS : 0;
  const fleetWorkers = new CachedReading(() => readFleetWorkers(autoscaling, fleetGroup), ttl, clock);
  const backlogs: Record<RenderLane, CachedReading<number | null>> = {
    small: new CachedReading(() => readBacklog(sqs, queues.small.url), ttl, clock),
    large: new CachedReading(() => readBacklog(sqs, queues.large.url), ttl, clock),
  };
  const signInLimits = new Limits(limits.signInPerAddress, limits.signInPerSession, protections, clock);
  const submitLimits = new Limits(limits.submitPerAddress, limits.submitPerSession, protections, clock);
  const pollLimits = new Limits(limits.pollPerAddress, limits.pollPerSession, protections, clock);
  const bodyCap = (bytes: number) => (protections ? bytes : Number.MAX_SAFE_INTEGER);

  /** The render if `sub` owns it; undefined otherwise (the caller answers 404 either way). */
  const ownRender = async (id: string, sub: string): Promise<RenderData | undefined> => {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const record = await renders.get(id);
    return record && record.data.kind === 'render' && record.data.owner === sub ? record.data : undefined;
  };

  /** The user's renders still rendering that were submitted within the window (the list is newest first). */
  const rendersInFlight = async (sub: string): Promise<number> => {
    const list = (await users.get(userRecordId(sub)))?.data.renders ?? [];
    let count = 0;
    for (const id of list) {
      const r = (await renders.get(id))?.data;
      if (!r) continue;
      if (clock() - r.submittedAt > IN_FLIGHT_WINDOW_MS) break;
      if (r.status === 'rendering') count++;
    }
    return count;
  };

  const renderStatus = async (id: string, r: RenderData): Promise<Record<string, unknown>> => {
    const [workers, waiting] = await Promise.all([fleetWorkers.get(), backlogs[r.lane].get()]);
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
      elapsedMs: (r.finishedAt ?? clock()) - r.submittedAt,
      imageUrl: r.status === 'finished' && r.imageKey ? await storage.presignGet(r.imageKey) : undefined,
    };
  };

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (https) res.setHeader('Strict-Transport-Security', HSTS);
    if (method === 'GET' && path === '/') {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Content-Security-Policy', PAGE_CSP);
      res.setHeader('X-Frame-Options', 'DENY');
      res.end(PAGE_HTML);
      return;
    }
    if (!path.startsWith('/api/')) return send(res, 404, { error: 'not found' });
    // Every change is a JSON POST: a cross-site form cannot send one without the browser asking
    // first (CORS), and the session cookie is SameSite=Lax besides.
    if (method === 'POST' && !(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return send(res, 415, { error: 'send the body as application/json' });
    }
    const address = clientAddress(req.headers, req.socket.remoteAddress);
    const signingIn = method === 'POST' && (path === '/api/sign-in' || path === '/api/sign-up');
    const submitting = method === 'POST' && path === '/api/renders';
    const kind = signingIn ? signInLimits : submitting ? submitLimits : pollLimits;
    // The address's limit first: a request over it costs no session read, no body, no Cognito call.
    const addressWait = method === 'POST' && !signingIn && !submitting ? undefined : kind.byAddress(address);
    if (addressWait !== undefined) return tooMany(res, addressWait, 'too many requests from your address');

    try {
      const session = await sessions.load(req);
      const sessionWait = method === 'POST' && !signingIn && !submitting ? undefined : kind.bySession(session.id);
      if (sessionWait !== undefined) return tooMany(res, sessionWait, 'too many requests in this session');

      if (signingIn) {
        const body = await readJsonBody(req, { maxBytes: bodyCap(SIGN_IN_BODY_MAX_BYTES) }) as { username?: unknown; password?: unknown };
        const username = typeof body?.username === 'string' ? body.username.trim() : '';
        const password = typeof body?.password === 'string' ? body.password : '';
        const user = path === '/api/sign-up' ? await auth.signUp(username, password) : await auth.signIn(username, password);
        session.data = { sub: user.sub, username: user.username };
        // A new session id at sign-in: an id planted in the browser before it is worth nothing after.
        await sessions.regenerate(session, res, { userId: user.sub });
        return send(res, path === '/api/sign-up' ? 201 : 200, { username: user.username });
      }
      if (method === 'POST' && path === '/api/sign-out') {
        await sessions.destroy(session, res);
        return send(res, 200, {});
      }
      const sub = session.data.sub;
      if (!sub) {
        // Clears a cookie that names a dead session (a replayed one), so the browser stops sending it.
        await sessions.save(session, res);
        return send(res, 401, { error: 'sign in first' });
      }
      // Keeps the session alive (a touch at most once per interval), before any body is sent.
      await sessions.save(session, res);
      if (method === 'GET' && path === '/api/me') return send(res, 200, { username: session.data.username });

      if (submitting) {
        const params = parseFractalParams(await readJsonBody(req, { maxBytes: bodyCap(RENDER_BODY_MAX_BYTES) }));
        checkRenderBudget(params);
        if (protections && (await rendersInFlight(sub)) >= limits.rendersInFlightPerUser) {
          return tooMany(res, 10, `you have ${limits.rendersInFlightPerUser} renders in flight, the most at once: wait for one to finish`);
        }
        const id = randomUUID();
        const tiles = tileCount(params);
        const lane = laneFor(tiles);
        const submittedAt = clock();
        await renders.create({
          kind: 'render', owner: sub, params, tiles, lane, tilesDone: 0, tileKeys: {}, status: 'rendering', submittedAt,
        }, { id });
        await users.create({ kind: 'user', renders: [] }, { id: userRecordId(sub) }).catch((e: unknown) => {
          if (!(e instanceof RecordConflictError)) throw e; // the user's list exists already
        });
        await users.update(userRecordId(sub), (u) => ({ ...u, renders: [id, ...u.renders].slice(0, MAX_LISTED) }));
        await addInFlight(inFlight, id, lane, submittedAt);
        // The record first, then the jobs: a tile never arrives for a render that does not exist.
        await queues[lane].jobs.send(Array.from({ length: tiles }, (_, index) => ({ kind: 'tile' as const, renderId: id, index, params })));
        return send(res, 201, { id, tiles, lane });
      }
      if (method === 'GET' && path === '/api/renders') {
        const list = (await users.get(userRecordId(sub)))?.data.renders ?? [];
        const mine = await Promise.all(list.map(async (id) => {
          const r = await ownRender(id, sub);
          return r ? { id, status: r.status, tiles: r.tiles, tilesDone: r.tilesDone, submittedAt: r.submittedAt } : undefined;
        }));
        return send(res, 200, { renders: mine.filter(Boolean) });
      }
      const match = /^\/api\/renders\/([^/]+)(\/image)?$/.exec(path);
      if (method === 'GET' && match) {
        const render = await ownRender(match[1]!, sub);
        if (!render) return send(res, 404, { error: 'no such render' });
        if (!match[2]) return send(res, 200, await renderStatus(match[1]!, render));
        if (render.status !== 'finished' || !render.imageKey) return send(res, 404, { error: 'the render is not finished' });
        res.statusCode = 302;
        res.setHeader('Location', await storage.presignGet(render.imageKey));
        res.setHeader('Cache-Control', 'no-store');
        res.end();
        return;
      }
      return send(res, 404, { error: 'not found' });
    } catch (error) {
      if (res.headersSent) throw error;
      if (error instanceof FractalParamsError) return send(res, 400, { error: error.message });
      if (error instanceof RequestBodyError) {
        // Past the cap the rest of the body is not read: the connection is not reused.
        if (error.status === 413) res.setHeader('Connection', 'close');
        return send(res, error.status, { error: error.message });
      }
      if (error instanceof AuthError) {
        if (error.status === 429) return tooMany(res, error.retryAfterSeconds ?? 60, error.message);
        return send(res, error.status, { error: error.message });
      }
      if (error instanceof FarmBusyError) {
        res.setHeader('Retry-After', '60');
        return send(res, 503, { error: error.message });
      }
      throw error;
    }
  };

  return {
    handler,
    sweep: () => sweepStuckRenders({ locks, inFlight, renders, assemble: { small: queues.small.assemble, large: queues.large.assemble }, clock }),
    close: () => {
      for (const c of [sqs, autoscaling, cognito, secretsManager]) c.destroy();
    },
  };
}

let app: RenderFarmApp | undefined;

/**
 * The start-up hook: builds the app before the server reports ready, and sweeps for stuck renders
 * every 15 s (the sweep's lock keeps it to one server at a time, and its record to once per 15 s
 * across the servers).
 */
export async function start(): Promise<void> {
  app = await createRenderFarmApp();
  const sweeping = setInterval(() => {
    app!.sweep().catch((e: unknown) => console.warn(JSON.stringify({ level: 'WARN', message: 'the stuck-render sweep failed', error: (e as Error)?.message ?? String(e) })));
  }, SWEEP_EVERY_MS);
  sweeping.unref();
}

/** The request handler. */
export async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!app) throw new Error('the start-up hook has not run');
  return app.handler(req, res);
}
