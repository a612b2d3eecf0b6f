/**
 * The express-session Store end to end: a real express app with express-session on real HTTP
 * servers (two of them, as behind a load balancer), sessions in moto's DynamoDB.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import express from 'express';
import session from 'express-session';
import { SESSION_DYNAMODB_ACTIONS } from '../../../contracts/session-store';
import { DynamoSessionStore, expressSessionOptions, regenerateKeepingData } from '../../../runtime/index';
import { iamActionOf } from '../../../runtime/worker-agent/iam';
import { useLocalAws } from '../../support/local-aws';
import { createSessionTable, manualClock, recordingClient } from '../../support/session-table';

declare module 'express-session' {
  interface SessionData { views?: number; cart?: string[]; theme?: string; userId?: string }
}

const SECRETS = ['express-test-secret-'.padEnd(44, 'k'), 'an-older-secret-still-verifying-'.padEnd(40, 'o')];

describe('DynamoSessionStore with express-session', () => {
  const aws = useLocalAws();
  const commands: string[] = [];
  const clock = manualClock();
  const servers: http.Server[] = [];
  let tableName: string;

  beforeAll(async () => {
    tableName = await createSessionTable(aws.dynamodb);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => { s.closeAllConnections(); s.close(resolve); })));
  });

  /** One web server: its own store and DynamoDB client, as on its own machine. */
  async function startServer(absoluteTimeoutSeconds?: number): Promise<{ url: string; store: DynamoSessionStore; server: http.Server }> {
    const store = new DynamoSessionStore({ tableName, userIndexName: 'byUserId', client: recordingClient(commands), clock: clock.now, idleTimeoutSeconds: 600, touchIntervalSeconds: 60, absoluteTimeoutSeconds });
    const app = express();
    app.set('trust proxy', 1); // TLS ends at the balancer, which says so in X-Forwarded-Proto
    app.use(session(expressSessionOptions({ store, secrets: SECRETS })));
    app.get('/views', (req, res) => { req.session.views = (req.session.views ?? 0) + 1; res.json({ views: req.session.views }); });
    app.get('/peek', (req, res) => { res.json({ views: req.session.views ?? null, userId: req.session.userId ?? null, cart: req.session.cart ?? null, theme: req.session.theme ?? null }); });
    app.get('/cart', (req, res) => { req.session.cart = ['book']; res.json({}); });
    app.get('/theme', (req, res) => { req.session.theme = 'dark'; res.json({}); });
    app.post('/login', (req, res, next) => { regenerateKeepingData(req, { userId: 'user-1' }).then(() => res.json({}), next); });
    app.post('/elevate', (req, res, next) => { regenerateKeepingData(req).then(() => res.json({}), next); });
    app.post('/logout', (req, res, next) => { req.session.destroy((err) => (err ? next(err) : res.json({}))); });
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, store, server };
  }

  async function call(url: string, path: string, cookie?: string, method = 'GET') {
    const res = await fetch(`${url}${path}`, { method, headers: { 'x-forwarded-proto': 'https', ...(cookie ? { cookie } : {}) } });
    const setCookie = res.headers.getSetCookie();
    return { body: await res.json() as Record<string, unknown>, setCookie, cookie: setCookie[0]?.split(';')[0] ?? cookie };
  }

  const since = (from: number) => commands.slice(from);

  test('a session started on one server continues on another after the first is gone, with the secure cookie defaults', async () => {
    // GIVEN two servers behind a balancer
    const a = await startServer();
    const b = await startServer();

    // WHEN a visitor counts two views on A, A goes away, and the next view reaches B
    const first = await call(a.url, '/views');
    await call(a.url, '/views', first.cookie);
    await new Promise((resolve) => { a.server.closeAllConnections(); a.server.close(resolve); });
    const third = await call(b.url, '/views', first.cookie);

    // THEN B continues the count, and the cookie was __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, without expiry
    expect(third.body).toEqual({ views: 3 });
    expect(first.setCookie).toEqual([expect.stringMatching(/^__Host-sid=s%3A[A-Za-z0-9_-]{43}\.[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/)]);
  });

  test('an unchanged page view costs one GetItem, and a touch comes once per interval', async () => {
    // GIVEN a session
    const { url } = await startServer();
    const { cookie } = await call(url, '/views');
    const from = commands.length;

    // WHEN ten unchanged page views come 10 seconds apart (100 s, touch interval 60 s)
    for (let i = 0; i < 10; i++) {
      clock.advance(10_000);
      await call(url, '/peek', cookie);
    }

    // THEN ten reads and one touch
    expect(since(from).filter((c) => c === 'GetItemCommand')).toHaveLength(10);
    expect(since(from).filter((c) => c === 'UpdateItemCommand')).toHaveLength(1);
    expect(since(from)).toHaveLength(11);
  });

  test('tampered cookies open no session and cost no read', async () => {
    const { url } = await startServer();
    const { cookie } = await call(url, '/views');
    const value = decodeURIComponent(cookie!.split('=')[1]!);
    const from = commands.length;
    const tampered = [...value].map((ch, i) => (i < 2 || ch === '.' ? null : `${value.slice(0, i)}${ch === 'A' ? 'B' : 'A'}${value.slice(i + 1)}`)).filter((v): v is string => v !== null);
    for (const forged of tampered) {
      const res = await call(url, '/peek', `__Host-sid=${encodeURIComponent(forged)}`);
      expect(res.body.views).toBeNull();
    }
    expect(tampered).toHaveLength(value.length - 3); // every character of id and signature
    expect(since(from)).toEqual([]);
    expect((await call(url, '/peek', cookie)).body.views).toBe(1); // not blind
  });

  test('sign-in regenerates: the data stays, the old id is refused, the user is indexed; sign out everywhere ends it', async () => {
    const { url, store } = await startServer();
    const anonymous = await call(url, '/cart');
    const signedIn = await call(url, '/login', anonymous.cookie, 'POST');
    expect(signedIn.cookie).not.toBe(anonymous.cookie);
    expect((await call(url, '/peek', signedIn.cookie)).body).toMatchObject({ cart: ['book'], userId: 'user-1' });
    expect((await call(url, '/peek', anonymous.cookie)).body).toMatchObject({ cart: null, userId: null });
    expect(await store.listUserSessions('user-1')).toHaveLength(1);
    expect(await store.signOutEverywhere('user-1')).toBe(1);
    expect((await call(url, '/peek', signedIn.cookie)).body.userId).toBeNull();
  });

  test('a regeneration that is not a new sign-in keeps the session\'s start: the absolute timeout still ends it', async () => {
    // GIVEN a 1-hour absolute timeout, a visitor who signed in and stays active for 50 minutes
    const { url } = await startServer(3600);
    let { cookie } = await call(url, '/views');
    ({ cookie } = await call(url, '/login', cookie, 'POST'));
    for (let minute = 5; minute <= 50; minute += 5) {
      clock.advance(5 * 60_000);
      ({ cookie } = await call(url, '/views', cookie));
    }

    // WHEN the same user changes privilege (a regeneration without a new user)
    ({ cookie } = await call(url, '/elevate', cookie, 'POST'));

    // THEN the session still ends an hour after the sign-in
    clock.advance(9 * 60_000);
    expect((await call(url, '/peek', cookie)).body.userId).toBe('user-1');
    clock.advance(60_000);
    expect((await call(url, '/peek', cookie)).body).toMatchObject({ userId: null, views: null });
  });

  test('the idle timeout ends a session on read', async () => {
    const { url } = await startServer();
    const { cookie } = await call(url, '/views');
    clock.advance(599_000);
    expect((await call(url, '/peek', cookie)).body.views).toBe(1);
    clock.advance(600_000);
    expect((await call(url, '/peek', cookie)).body.views).toBeNull();
  });

  test('two requests of one session on two servers at once, changing different keys: both kept', async () => {
    const a = await startServer();
    const b = await startServer();
    const { cookie } = await call(a.url, '/views');
    await Promise.all([call(a.url, '/cart', cookie), call(b.url, '/theme', cookie)]);
    expect((await call(a.url, '/peek', cookie)).body).toMatchObject({ views: 1, cart: ['book'], theme: 'dark' });
  });

  test('sign-out destroys the session', async () => {
    const { url } = await startServer();
    const { cookie } = await call(url, '/views');
    await call(url, '/logout', cookie, 'POST');
    expect((await call(url, '/peek', cookie)).body.views).toBeNull();
  });

  test('IAM contract: express-session drives only SESSION_DYNAMODB_ACTIONS', () => {
    const called = [...new Set(commands.map((c) => iamActionOf('dynamodb', c)))].sort();
    expect(called.every((a) => (SESSION_DYNAMODB_ACTIONS as readonly string[]).includes(a))).toBe(true);
    expect(called).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query']));
  });
});
