/**
 * Drill: a hostile client floods a local web server (serveWebApp with a SessionManager on moto's
 * DynamoDB, as the web tier's demo app is) with forged session cookies (random ones, well-formed
 * ones signed with unknown keys, a genuine one tampered with) and with replayed cookies of
 * sessions that were signed out, while a normal user keeps their session and is answered within
 * the request timeout throughout. Forged cookies cost no table read, a replayed cookie costs its
 * server one read and then none, and its cookie is cleared.
 *
 * Also run with the protection off (a handler that trusts the id in the cookie, as a store
 * without signed ids does): every hostile request then costs a read, so the drill is not blind.
 * Figures on one line each (DRILL ...): `npx jest test/runtime/web-server/hostile-cookies.test.ts`.
 */
import { randomBytes } from 'crypto';
import * as http from 'http';
import type { IncomingMessage, ServerResponse } from 'http';
import { Socket } from 'net';
import { setTimeout as sleep } from 'timers/promises';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SESSION_ATTRIBUTES as A } from '../../../contracts/session-store';
import { SessionManager } from '../../../runtime/index';
import { generateSessionId, sessionKeyOf, signSessionId } from '../../../runtime/sessions/ids';
import { serveWebApp, type WebServer } from '../../../runtime/web-server';
import { useLocalAws } from '../../support/local-aws';
import { createSessionTable, recordingClient } from '../../support/session-table';

const aws = useLocalAws();
const SECRET = randomBytes(48).toString('base64');
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
let tableName: string;
let server: WebServer | undefined;

beforeAll(async () => {
  tableName = await createSessionTable(aws.dynamodb);
});
afterEach(async () => {
  await server?.shutdown();
  server = undefined;
});

interface Reply { readonly status: number; readonly body: string; readonly setCookie: string[]; readonly ms: number }

async function get(url: string, cookie?: string): Promise<Reply> {
  const started = Date.now();
  const res = await fetch(url, { headers: cookie ? { cookie } : {}, signal: AbortSignal.timeout(1000) });
  return { status: res.status, body: await res.text(), setCookie: res.headers.getSetCookie(), ms: Date.now() - started };
}

interface DrillFigures {
  readonly hostileRequests: number;
  readonly replayedCookies: number;
  /** Table reads the hostile requests caused. */
  readonly hostileReads: number;
  readonly replaysCleared: number;
  readonly normalRequests: number;
  readonly normalFailed: number;
  readonly normalSlowestMs: number;
  /** The normal user's visit count at the end (their session held throughout). */
  readonly normalVisits: number;
}

/**
 * Serves an API that needs a signed-in session, with the session library (or, protection off, a
 * lookup of whatever id the cookie carries); a signed-in user makes a request every 100 ms while
 * 4 hostile loops send forged and replayed cookies for `ms`.
 */
async function drill(protectionOn: boolean, ms: number): Promise<DrillFigures> {
  const commands: string[] = [];
  const client = recordingClient(commands);
  const sessions = new SessionManager<{ visits?: number; name?: string }>({ tableName, client, secrets: [SECRET] });
  // An API as the render farm's: sign in, then requests that need the session (401 without one).
  const handler = protectionOn
    ? async (req: IncomingMessage, res: ServerResponse) => {
      const session = await sessions.load(req);
      if (req.method === 'POST') {
        session.data.name = 'ada';
        await sessions.regenerate(session, res, { userId: 'ada' });
        return void res.end('0');
      }
      if (!session.data.name) {
        await sessions.save(session, res); // stores nothing; clears a dead session's cookie
        res.statusCode = 401;
        return void res.end('sign in first');
      }
      session.data.visits = (session.data.visits ?? 0) + 1;
      await sessions.save(session, res);
      res.end(String(session.data.visits));
    }
    // Protection off: the id in the cookie is trusted and looked up, signed or not.
    : async (req: IncomingMessage, res: ServerResponse) => {
      const id = /__Host-sid=([^;.]*)/.exec(req.headers.cookie ?? '')?.[1];
      if (id) await client.send(new GetItemCommand({ TableName: tableName, Key: { [A.key]: { S: sessionKeyOf(id) } }, ConsistentRead: true }));
      res.end('0');
    };
  server = await serveWebApp(handler, { port: 0, host: '127.0.0.1', logger: quiet, requestTimeoutSeconds: 1, idleTimeoutSeconds: 1, timings: { keepAliveTimeoutSeconds: 1.5, headersTimeoutSeconds: 2, unreadyNoticeSeconds: 0, drainSeconds: 1, shutdownSeconds: 1 } });
  await server.started;
  const url = server.url;

  // Cookies of sessions that were signed out on another server (stolen before, replayed after).
  const replayed: string[] = [];
  for (let i = 0; i < 10; i++) replayed.push(cookieOf(await newSessionSetCookie(sessions)));
  await Promise.all(replayed.map((cookie) => signOutElsewhere(cookie)));
  const genuine = cookieOf(await newSessionSetCookie(sessions));
  const [id, mac] = genuine.split('=')[1]!.split('.') as [string, string];

  // The normal user: signs in, then a request every 100 ms with their cookie.
  const signIn = await fetch(url, { method: 'POST' });
  const mine = protectionOn ? signIn.headers.getSetCookie()[0]!.split(';')[0]! : '__Host-sid=none';
  let normalRequests = 0;
  let normalFailed = 0;
  let normalSlowestMs = 0;
  let normalVisits = 0;
  let running = true;
  const user = (async () => {
    while (running) {
      normalRequests += 1;
      try {
        const reply = await get(url, mine);
        normalSlowestMs = Math.max(normalSlowestMs, reply.ms);
        if (reply.status !== 200) normalFailed += 1;
        else normalVisits = Number(reply.body);
      } catch {
        normalFailed += 1;
      }
      await sleep(100);
    }
  })();

  const readsBefore = commands.length;
  let hostileRequests = 0;
  let replaysCleared = 0;
  const forged = (n: number): string => {
    switch (n % 4) {
      case 0: return `__Host-sid=${randomBytes(1 + (n % 90)).toString('base64url')}`;
      case 1: return `__Host-sid=${signSessionId(generateSessionId(), [randomBytes(32).toString('hex')])}`;
      case 2: return `__Host-sid=${generateSessionId()}.${mac}`;
      default: return `__Host-sid=${id}.${randomBytes(32).toString('base64url')}`;
    }
  };
  const until = Date.now() + ms;
  await Promise.all(Array.from({ length: 4 }, async (_, loop) => {
    for (let n = loop; Date.now() < until; n += 4) {
      const replay = n % 3 === 0;
      const cookie = replay ? replayed[n % replayed.length]! : forged(n);
      hostileRequests += 1;
      const reply = await get(url, cookie).catch(() => undefined);
      if (replay && reply?.setCookie.some((c) => /^__Host-sid=; Max-Age=0/.test(c))) replaysCleared += 1;
    }
  }));
  running = false;
  await user;
  const reads = commands.slice(readsBefore).filter((c) => c === 'GetItemCommand').length;
  // Each of the normal user's requests reads their own session once.
  const hostileReads = reads - normalRequests;
  client.destroy();
  return {
    hostileRequests, replayedCookies: replayed.length, hostileReads: Math.max(0, hostileReads), replaysCleared,
    normalRequests, normalFailed, normalSlowestMs, normalVisits,
  };
}

/** A request and response with no socket traffic, for making and ending sessions outside the server. */
function exchange(cookie?: string): { req: IncomingMessage; res: ServerResponse } {
  const req = new http.IncomingMessage(new Socket());
  if (cookie) req.headers.cookie = cookie;
  return { req, res: new http.ServerResponse(req) };
}

/** A new session with data on `sessions`; its Set-Cookie line. */
async function newSessionSetCookie(sessions: SessionManager<{ visits?: number; name?: string }>): Promise<string> {
  const { req, res } = exchange();
  const session = await sessions.load(req);
  (session.data as Record<string, unknown>).name = 'mallory';
  await sessions.save(session, res);
  return ([] as string[]).concat(res.getHeader('set-cookie') as string[])[0]!;
}

/** `name=value` of a Set-Cookie line. */
function cookieOf(setCookie: string): string {
  return setCookie.split(';')[0]!;
}

/** Signs out the session of `cookie` on another server (so the drill's server has not seen it end). */
async function signOutElsewhere(cookie: string): Promise<void> {
  const other = new SessionManager({ tableName, client: aws.dynamodb, secrets: [SECRET] });
  const { req, res } = exchange(cookie);
  await other.destroy(await other.load(req), res);
}

describe('hostile session cookies against the web server', () => {
  test('forged cookies cost no read, a replayed signed-out cookie costs one read and is cleared, and a normal user keeps their session throughout', async () => {
    const figures = await drill(true, 2_000);
    process.stdout.write(`DRILL forged and replayed cookies ${JSON.stringify(figures)}\n`);

    expect(figures.hostileRequests).toBeGreaterThan(100);
    expect(figures.hostileReads).toBeLessThanOrEqual(figures.replayedCookies);
    expect(figures.replaysCleared).toBeGreaterThan(0);
    expect(figures.normalFailed).toBe(0);
    expect(figures.normalVisits).toBe(figures.normalRequests);
  });

  test('with a handler that trusts the id in the cookie, every hostile request costs a read, so the drill is not blind', async () => {
    const figures = await drill(false, 500);
    process.stdout.write(`DRILL forged and replayed cookies, unsigned ids ${JSON.stringify(figures)}\n`);

    expect(figures.hostileReads).toBe(figures.hostileRequests);
    expect(figures.normalFailed).toBe(0);
  });
});
