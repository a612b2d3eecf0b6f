/**
 * The plain session API (SessionManager) against moto's DynamoDB: cookies that are refused when
 * forged or tampered, expiry enforced on read with a controllable clock, regeneration, concurrent
 * writers, touches at most once per interval, sign-out everywhere, and the IAM contract (the
 * commands the library sends are exactly SESSION_DYNAMODB_ACTIONS).
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { IncomingMessage, ServerResponse } from 'http';
import { Socket } from 'net';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SESSION_ATTRIBUTES as A, SESSION_DYNAMODB_ACTIONS, SESSION_TABLE_ENV, SESSION_USER_INDEX_ENV } from '../../../contracts/session-store';
import { SessionConflictError, SessionGoneError, SessionManager, SessionOptionsError, type SessionManagerOptions } from '../../../runtime/index';
import { generateSessionId, sessionKeyOf, signSessionId, verifySignedSessionId } from '../../../runtime/sessions/ids';
import { iamActionOf } from '../../../runtime/worker-agent/iam';
import { useLocalAws } from '../../support/local-aws';
import { createSessionTable, manualClock, recordingClient } from '../../support/session-table';
import { REPO_ROOT } from '../../support/paths';

const SECRET = 'a'.repeat(16) + randomBytes(24).toString('base64url');
const OLD_SECRET = 'old-secret-'.padEnd(40, 'x');
const MINUTE = 60_000;

describe('SessionManager', () => {
  const aws = useLocalAws();
  const commands: string[] = [];
  let tableName: string;
  const clock = manualClock();

  beforeAll(async () => {
    tableName = await createSessionTable(aws.dynamodb);
  });

  function manager(options: Partial<SessionManagerOptions> = {}) {
    return new SessionManager({ tableName, userIndexName: 'byUserId', secrets: [SECRET, OLD_SECRET], client: recordingClient(commands), clock: clock.now, ...options });
  }

  /** A request with the given cookie header, and a response to collect Set-Cookie (real http objects, no socket traffic). */
  function exchange(cookie?: string) {
    const req = new IncomingMessage(new Socket());
    if (cookie !== undefined) req.headers.cookie = cookie;
    const res = new ServerResponse(req);
    const setCookies = () => ([] as string[]).concat((res.getHeader('set-cookie') as string[] | undefined) ?? []);
    return { req, res, setCookies };
  }

  /** The `name=value` of the session cookie a response set. */
  function cookieFrom(setCookies: string[], name = '__Host-sid'): string {
    const line = setCookies.find((c) => c.startsWith(`${name}=`));
    if (!line) throw new Error(`no ${name} cookie in ${JSON.stringify(setCookies)}`);
    return line.split(';')[0]!;
  }

  test('fromEnvironment finds the table and index a SessionStore\'s environment names, and says which variable is missing', async () => {
    // GIVEN the environment SessionStore.environment hands a server
    const env = { [SESSION_TABLE_ENV]: tableName, [SESSION_USER_INDEX_ENV]: 'byUserId' };
    // WHEN a manager is made from it, a session saved and listed by user
    const sessions = SessionManager.fromEnvironment({ secrets: [SECRET], client: recordingClient(commands), clock: clock.now }, env);
    const { req, res } = exchange();
    const session = await sessions.load(req);
    session.userId = 'env-user';
    await sessions.save(session, res);
    // THEN it used that table and index
    expect((await sessions.listUserSessions('env-user')).length).toBe(1);
    expect(() => SessionManager.fromEnvironment({ secrets: [SECRET] }, {})).toThrow(/tableName: no table given and SESSION_TABLE_NAME is not set/);
  });

  /** Starts a session holding `data`; returns its cookie. */
  async function started(sessions: SessionManager, data: Record<string, unknown>, userId?: string): Promise<string> {
    const { req, res, setCookies } = exchange();
    const session = await sessions.load(req);
    Object.assign(session.data, data);
    if (userId) session.userId = userId;
    await sessions.save(session, res);
    return cookieFrom(setCookies());
  }

  /** A visit every 5 minutes for 50 minutes (the clock advanced), so the session never idles out. */
  async function activeFor50Minutes(sessions: SessionManager, cookie: string): Promise<void> {
    for (let minute = 5; minute <= 50; minute += 5) {
      clock.advance(5 * MINUTE);
      const { req, res } = exchange(cookie);
      await sessions.save(await sessions.load(req), res);
    }
  }

  const countOf = (name: string, from = 0) => commands.slice(from).filter((c) => c === name).length;

  test('a new visitor with data gets a __Host-, Secure, HttpOnly, SameSite=Lax, Path=/ session cookie with no expiry, after one write', async () => {
    // GIVEN a visitor without a cookie
    const sessions = manager();
    const { req, res, setCookies } = exchange();
    const session = await sessions.load(req);
    expect(session.isNew).toBe(true);
    const before = commands.length;

    // WHEN the handler stores something and saves
    session.data.cart = ['book'];
    await sessions.save(session, res);

    // THEN one PutItem created it, and the cookie has every protective attribute
    expect(commands.slice(before)).toEqual(['PutItemCommand']);
    const [line] = setCookies();
    expect(line).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(session.id).toHaveLength(43);
    // AND the table holds the id's hash, never the id
    const raw = await aws.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { [A.key]: { S: sessionKeyOf(session.id!) } } }));
    expect(raw.Item?.[A.data]?.S).toBe('{"cart":["book"]}');
    expect(JSON.stringify(raw.Item)).not.toContain(session.id);
  });

  test('a new visitor without data costs no write and gets no cookie', async () => {
    const sessions = manager();
    const { req, res, setCookies } = exchange();
    const before = commands.length;
    await sessions.save(await sessions.load(req), res);
    expect(commands.length).toBe(before);
    expect(setCookies()).toEqual([]);
  });

  test('a returning visitor reads the session with one GetItem, and an unchanged save writes nothing', async () => {
    // GIVEN a session
    const sessions = manager();
    const cookie = await started(sessions, { theme: 'dark' });
    const before = commands.length;

    // WHEN the next request loads it and saves it unchanged
    const { req, res, setCookies } = exchange(`other=1; ${cookie}`);
    const session = await sessions.load(req);
    await sessions.save(session, res);

    // THEN it had the data, and only one request went to DynamoDB
    expect(session.data).toEqual({ theme: 'dark' });
    expect(session.isNew).toBe(false);
    expect(commands.slice(before)).toEqual(['GetItemCommand']);
    expect(setCookies()).toEqual([]);
  });

  test('10,000 forged or tampered cookies: none accepted, and none costs a read', async () => {
    // GIVEN a genuine session, and the ways an attacker would make cookies from it or from nothing
    const sessions = manager();
    const genuine = (await started(sessions, { role: 'admin' })).split('=')[1]!;
    const [id, mac] = genuine.split('.') as [string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const flip = (s: string, i: number) => s.slice(0, i) + alphabet[(alphabet.indexOf(s[i]!) + 1 + (i % 63)) % 64] + s.slice(i + 1);
    const forged: string[] = [];
    for (let i = 0; i < genuine.length; i++) if (genuine[i] !== '.') forged.push(flip(genuine, i)); // every character changed
    for (const c of alphabet) if (c !== mac[42]) forged.push(`${id}.${mac.slice(0, 42)}${c}`); // the signature's last character, incl. spellings of the same bytes
    forged.push(`${id}.${mac}x`, `${id}.${mac.slice(0, 42)}`, `${id}${mac}`, `${id}:${mac}`, `${id}.${mac}.${mac}`, id, '', '.', `s:${genuine}`, `${genuine}.`, `${genuine}\u0000`, encodeURIComponent(`${id}.${mac}=`));
    forged.push(signSessionId(id, ['an-unknown-secret'.padEnd(40, '!')])); // signed with a secret the server does not hold
    while (forged.length < 10_000) {
      const k = forged.length % 4;
      const otherId = generateSessionId();
      if (k === 0) forged.push(`${otherId}.${mac}`); // another id with the genuine signature
      else if (k === 1) forged.push(`${id}.${randomBytes(32).toString('base64url')}`); // the genuine id with a random signature
      else if (k === 2) forged.push(signSessionId(otherId, [randomBytes(32).toString('hex')])); // well-formed, wrong key
      else forged.push(randomBytes(1 + (forged.length % 120)).toString(forged.length % 3 ? 'base64url' : 'latin1')); // noise
    }
    expect(forged).toHaveLength(10_000);
    expect(forged).not.toContain(genuine);
    const before = commands.length;

    // WHEN each is presented
    let accepted = 0;
    for (const value of forged) {
      const session = await sessions.load(exchange(`__Host-sid=${value}`).req);
      if (!session.isNew || Object.keys(session.data).length > 0) accepted++;
    }

    // THEN none opened a session, and the table was never asked
    expect(accepted).toBe(0);
    expect(commands.length).toBe(before);
    // AND the genuine cookie still works (the check is not blind)
    expect((await sessions.load(exchange(`__Host-sid=${genuine}`).req)).data).toEqual({ role: 'admin' });
  });

  test('secrets rotate: a cookie signed with an older secret still verifies; one signed with a dropped secret does not', async () => {
    // GIVEN a session signed while OLD_SECRET was the newest
    const before = manager({ secrets: [OLD_SECRET] });
    const cookie = await started(before, { n: 1 });

    // WHEN the new secret is put first, and later the old one is dropped
    const rotated = manager({ secrets: [SECRET, OLD_SECRET] });
    const dropped = manager({ secrets: [SECRET] });

    // THEN the rotated server accepts it, the one without the old secret refuses it
    expect((await rotated.load(exchange(cookie).req)).data).toEqual({ n: 1 });
    expect((await dropped.load(exchange(cookie).req)).isNew).toBe(true);
  });

  describe('rotating the cookie secret', () => {
    /** The secret store: the current version first, then the previous one (what Secrets Manager's AWSCURRENT and AWSPREVIOUS hold). */
    const NEW_SECRET = 'new-secret-'.padEnd(40, 'n');

    test('a rotation signs no one out: a server that still holds the old secret learns the new one from the first cookie it cannot verify', async () => {
      // GIVEN a server started before the rotation, holding only the old secret, and a store it can re-read
      let store: string[] = [OLD_SECRET];
      let reads = 0;
      const reloadSecrets = async () => { reads += 1; return store; };
      const before = manager({ secrets: [OLD_SECRET], reloadSecrets });
      const oldUser = await started(before, { who: 'old' });

      // WHEN the secret rotates and a server started after it signs a new visitor in with the new secret
      store = [NEW_SECRET, OLD_SECRET];
      const after = manager({ secrets: store, reloadSecrets });
      const newUser = await started(after, { who: 'new' });

      // THEN both servers serve both visitors: the new one verifies the old cookie with the
      // previous secret, and the old one re-reads the store (once) to verify the new cookie
      expect((await after.load(exchange(oldUser).req)).data).toEqual({ who: 'old' });
      expect((await before.load(exchange(newUser).req)).data).toEqual({ who: 'new' });
      expect((await before.load(exchange(oldUser).req)).data).toEqual({ who: 'old' });
      expect(reads).toBe(1);
      // AND from then on the old server signs with the new secret
      const later = (await started(before, { who: 'later' })).split('=')[1];
      expect(verifySignedSessionId(later, [NEW_SECRET])).toBeDefined();
    });

    test('forged cookies cannot make a server re-read its secrets more than once per interval', async () => {
      // GIVEN a server that can re-read its secrets
      let reads = 0;
      const sessions = manager({ secrets: [SECRET], reloadSecrets: async () => { reads += 1; return [SECRET]; } });

      // WHEN 500 well-formed cookies signed with unknown keys arrive
      for (let i = 0; i < 500; i++) await sessions.load(exchange(`__Host-sid=${signSessionId(generateSessionId(), [randomBytes(32).toString('hex')])}`).req);

      // THEN the store was read at most once, and none of them opened a session
      expect(reads).toBe(1);
    });

    test('fails when reloadSecretsEverySeconds is not a positive whole number, naming it', () => {
      expect(() => manager({ reloadSecrets: async () => [SECRET], reloadSecretsEverySeconds: 0 })).toThrow(/reloadSecretsEverySeconds: must be a positive whole number of seconds, received 0/);
    });
  });

  test('the idle timeout ends a session on read, although the item is still in the table (TTL deletes late)', async () => {
    // GIVEN a session with a 10-minute idle timeout, last seen now
    const sessions = manager({ idleTimeoutSeconds: 600, touchIntervalSeconds: 60 });
    const cookie = await started(sessions, { n: 1 });
    const key = sessionKeyOf(cookie.split('=')[1]!.split('.')[0]!);

    // WHEN 9:59 pass it is alive; then 10:00 pass without a request
    clock.advance(599_000);
    expect((await sessions.load(exchange(cookie).req)).isNew).toBe(false);
    clock.advance(1_000);
    const session = await sessions.load(exchange(cookie).req);

    // THEN it is refused, while its item (and its TTL attribute) is still there
    expect(session.isNew).toBe(true);
    expect(session.data).toEqual({});
    const raw = await aws.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { [A.key]: { S: key } } }));
    expect(Number(raw.Item?.[A.expiresAt]?.N)).toBe(Math.ceil((clock.now() - 599_000 - 1_000 + 600_000) / 1000));
  });

  test('activity keeps a session alive until the absolute timeout, which ends it however active', async () => {
    // GIVEN idle 10 minutes, absolute 1 hour, touches every minute
    const sessions = manager({ idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 3600, touchIntervalSeconds: 60 });
    const cookie = await started(sessions, { n: 1 });

    // WHEN the visitor makes a request every 5 minutes for 55 minutes, it stays alive
    for (let minute = 5; minute <= 55; minute += 5) {
      clock.advance(5 * MINUTE);
      const { req, res } = exchange(cookie);
      const session = await sessions.load(req);
      expect({ minute, isNew: session.isNew }).toEqual({ minute, isNew: false });
      await sessions.save(session, res);
    }

    // THEN at 60 minutes it is dead although last seen 5 minutes ago
    clock.advance(5 * MINUTE);
    expect((await sessions.load(exchange(cookie).req)).isNew).toBe(true);
  });

  test('an unchanged session is touched at most once per touch interval', async () => {
    // GIVEN a 5-minute touch interval
    const sessions = manager({ idleTimeoutSeconds: 1800, touchIntervalSeconds: 300 });
    const cookie = await started(sessions, { n: 1 });
    const before = commands.length;

    // WHEN 60 unchanged requests come 20 seconds apart (20 minutes)
    for (let i = 0; i < 60; i++) {
      clock.advance(20_000);
      const { req, res } = exchange(cookie);
      await sessions.save(await sessions.load(req), res);
    }

    // THEN 60 reads and 4 touches (at 5, 10, 15 and 20 minutes), nothing else
    expect(countOf('GetItemCommand', before)).toBe(60);
    expect(countOf('UpdateItemCommand', before)).toBe(4);
    expect(commands.length - before).toBe(64);
  });

  test('regenerate on sign-in keeps the data under a new id and the old id is refused', async () => {
    // GIVEN an anonymous session with a cart
    const sessions = manager();
    const oldCookie = await started(sessions, { cart: ['pen'] });
    const { req, res, setCookies } = exchange(oldCookie);
    const session = await sessions.load(req);

    // WHEN the visitor signs in
    await sessions.regenerate(session, res, { userId: 'user-1' });

    // THEN a new cookie carries the same data and the user; the old cookie opens nothing
    const newCookie = cookieFrom(setCookies());
    expect(newCookie).not.toBe(oldCookie);
    const next = await sessions.load(exchange(newCookie).req);
    expect(next.data).toEqual({ cart: ['pen'] });
    expect(next.userId).toBe('user-1');
    expect((await sessions.load(exchange(oldCookie).req)).isNew).toBe(true);
  });

  test('regenerate for a change of privilege keeps the session\'s start: the absolute timeout still ends it', async () => {
    // GIVEN a signed-in session 50 minutes into a 1-hour absolute timeout, kept active
    const sessions = manager({ idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 3600, touchIntervalSeconds: 60 });
    let cookie = await started(sessions, { n: 1 }, 'user-1');
    await activeFor50Minutes(sessions, cookie);

    // WHEN the same user changes privilege (a new id, same user), as often as it likes
    const { req, res, setCookies } = exchange(cookie);
    const session = await sessions.load(req);
    const createdAt = session.createdAt!.getTime();
    await sessions.regenerate(session, res, { userId: 'user-1' });
    cookie = cookieFrom(setCookies());
    expect(session.createdAt!.getTime()).toBe(createdAt);

    // THEN the session still ends one hour after it began, not one hour after the regeneration
    clock.advance(9 * MINUTE);
    expect((await sessions.load(exchange(cookie).req)).isNew).toBe(false);
    clock.advance(1 * MINUTE);
    expect((await sessions.load(exchange(cookie).req)).isNew).toBe(true);
  });

  test('regenerate for a new sign-in starts the absolute timeout anew', async () => {
    // GIVEN an anonymous session 50 minutes old
    const sessions = manager({ idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 3600, touchIntervalSeconds: 60 });
    const cookie = await started(sessions, { cart: ['pen'] });
    await activeFor50Minutes(sessions, cookie);

    // WHEN a user signs in on it
    const { req, res, setCookies } = exchange(cookie);
    const session = await sessions.load(req);
    await sessions.regenerate(session, res, { userId: 'user-2' });
    const signedIn = cookieFrom(setCookies());

    // THEN the signed-in session lives an hour from the sign-in (kept active), well past the
    // anonymous session's end 10 minutes later
    expect(session.createdAt!.getTime()).toBe(clock.now());
    for (let minute = 5; minute <= 55; minute += 5) {
      clock.advance(5 * MINUTE);
      const { req: nextReq, res: nextRes } = exchange(signedIn);
      const later = await sessions.load(nextReq);
      expect({ minute, isNew: later.isNew, cart: later.data.cart }).toEqual({ minute, isNew: false, cart: ['pen'] });
      await sessions.save(later, nextRes);
    }
  });

  test('a cookie of a session that no longer exists is cleared, and a server reads such a session once', async () => {
    // GIVEN a session destroyed elsewhere (signed out on another device, say)
    const sessions = manager();
    const cookie = await started(sessions, { n: 1 }, 'user-3');
    await sessions.signOutEverywhere('user-3');
    const before = commands.length;

    // WHEN its cookie comes back, and the request stores nothing
    const { req, res, setCookies } = exchange(cookie);
    const session = await sessions.load(req);
    await sessions.save(session, res);

    // THEN the response clears the cookie
    expect(session.isNew).toBe(true);
    expect(setCookies()).toEqual([expect.stringMatching(/^__Host-sid=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970/)]);
    // AND the same cookie replayed costs this server no more reads (the id can never come back)
    for (let i = 0; i < 20; i++) await sessions.load(exchange(cookie).req);
    expect(countOf('GetItemCommand', before)).toBe(1);
  });

  test('requests that carry one cookie at once share one read: a replayed cookie costs one read, a live one loads for each', async () => {
    // GIVEN a session destroyed elsewhere, and a live one
    const sessions = manager();
    const dead = await started(sessions, { n: 1 }, 'user-4');
    await sessions.signOutEverywhere('user-4');
    const live = await started(sessions, { cart: ['pen'] }, 'user-5');
    const before = commands.length;

    // WHEN each cookie comes in 20 requests at once
    const [deadLoads, liveLoads] = await Promise.all([dead, live].map((cookie) => Promise.all(Array.from({ length: 20 }, () => sessions.load(exchange(cookie).req)))));

    // THEN each cookie cost one read: the dead one's requests all get new sessions, the live one's
    // each its own copy of the session
    expect(countOf('GetItemCommand', before)).toBe(2);
    expect(deadLoads!.every((s) => s.isNew)).toBe(true);
    expect(liveLoads!.map((s) => [s.isNew, s.data.cart])).toEqual(Array.from({ length: 20 }, () => [false, ['pen']]));
    (liveLoads![0]!.data as { cart: string[] }).cart.push('ink');
    expect(liveLoads![1]!.data.cart).toEqual(['pen']);
    // AND a later request reads the live session again (only reads at once are shared)
    await sessions.load(exchange(live).req);
    expect(countOf('GetItemCommand', before)).toBe(3);
  });

  test('destroy signs out: the session is deleted and the cookie cleared', async () => {
    const sessions = manager();
    const cookie = await started(sessions, { n: 1 });
    const { req, res, setCookies } = exchange(cookie);
    await sessions.destroy(await sessions.load(req), res);
    expect(setCookies()[0]).toMatch(/^__Host-sid=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/);
    expect((await sessions.load(exchange(cookie).req)).isNew).toBe(true);
  });

  describe('two requests of one session on two servers', () => {
    test('changing different keys at once: both changes are kept', async () => {
      // GIVEN two servers and a session both load
      const serverA = manager();
      const serverB = manager();
      const cookie = await started(serverA, { cart: [], theme: 'light' });
      const a = await serverA.load(exchange(cookie).req);
      const b = await serverB.load(exchange(cookie).req);

      // WHEN each changes its own key and both save at the same time
      a.data.cart = ['book'];
      b.data.theme = 'dark';
      await Promise.all([serverA.save(a, exchange().res), serverB.save(b, exchange().res)]);

      // THEN neither change is lost
      expect((await serverA.load(exchange(cookie).req)).data).toEqual({ cart: ['book'], theme: 'dark' });
    });

    test('changing the same key differently: one save fails with SessionConflictError, the other value stands', async () => {
      const serverA = manager();
      const serverB = manager();
      const cookie = await started(serverA, { step: 1 });
      const a = await serverA.load(exchange(cookie).req);
      const b = await serverB.load(exchange(cookie).req);
      a.data.step = 2;
      b.data.step = 3;

      const outcomes = await Promise.allSettled([serverA.save(a, exchange().res), serverB.save(b, exchange().res)]);

      const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(failed).toHaveLength(1);
      expect(failed[0]!.reason).toBeInstanceOf(SessionConflictError);
      expect(failed[0]!.reason.keys).toEqual(['step']);
      const winner = outcomes[0]!.status === 'fulfilled' ? 2 : 3;
      expect((await serverA.load(exchange(cookie).req)).data).toEqual({ step: winner });
    });

    test('eight writers of eight keys at once: all eight kept', async () => {
      const servers = Array.from({ length: 8 }, () => manager());
      const cookie = await started(servers[0]!, { start: true });
      const loaded = await Promise.all(servers.map((s) => s.load(exchange(cookie).req)));
      loaded.forEach((session, i) => { session.data[`k${i}`] = i; });
      await Promise.all(loaded.map((session, i) => servers[i]!.save(session, exchange().res)));
      expect((await servers[0]!.load(exchange(cookie).req)).data).toEqual({ start: true, k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7 });
    });

    test('without the version check the same race loses an update (the drill is not blind)', async () => {
      // GIVEN the same two reads, written back with plain PutItem (last writer wins), as a store without versions does
      const sessions = manager();
      const cookie = await started(sessions, { cart: [], theme: 'light' });
      const key = sessionKeyOf(cookie.split('=')[1]!.split('.')[0]!);
      const read = async () => (await aws.dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { [A.key]: { S: key } }, ConsistentRead: true }))).Item!;
      const [a, b] = [await read(), await read()];
      const withData = (item: typeof a, change: Record<string, unknown>) => ({ ...item, [A.data]: { S: JSON.stringify({ ...JSON.parse(item[A.data]!.S!), ...change }) } });
      await aws.dynamodb.send(new PutItemCommand({ TableName: tableName, Item: withData(a, { cart: ['book'] }) }));
      await aws.dynamodb.send(new PutItemCommand({ TableName: tableName, Item: withData(b, { theme: 'dark' }) }));

      // THEN the cart is gone
      expect((await sessions.load(exchange(cookie).req)).data).toEqual({ cart: [], theme: 'dark' });
    });

    test('a save after the session was destroyed elsewhere fails with SessionGoneError and does not bring it back', async () => {
      const serverA = manager();
      const serverB = manager();
      const cookie = await started(serverA, { n: 1 });
      const a = await serverA.load(exchange(cookie).req);
      await serverB.destroy(await serverB.load(exchange(cookie).req), exchange().res);
      a.data.n = 2;
      await expect(serverA.save(a, exchange().res)).rejects.toBeInstanceOf(SessionGoneError);
      expect((await serverA.load(exchange(cookie).req)).isNew).toBe(true);
    });
  });

  test('sign out everywhere ends every session of a user, on every device, and only theirs', async () => {
    // GIVEN three devices signed in as user-9 and one as someone else
    const sessions = manager();
    const devices = [await started(sessions, { d: 1 }, 'user-9'), await started(sessions, { d: 2 }, 'user-9'), await started(sessions, { d: 3 }, 'user-9')];
    const other = await started(sessions, { d: 4 }, 'user-10');
    expect(await sessions.listUserSessions('user-9')).toHaveLength(3);

    // WHEN user-9 signs out everywhere
    const ended = await sessions.signOutEverywhere('user-9');

    // THEN all three are refused and the other user's session lives
    expect(ended).toBe(3);
    for (const cookie of devices) expect((await sessions.load(exchange(cookie).req)).isNew).toBe(true);
    expect((await sessions.load(exchange(other).req)).userId).toBe('user-10');
    expect(await sessions.listUserSessions('user-9')).toEqual([]);
  });

  test('fails when a user\'s sessions are asked for without the user index, naming userIndexName', async () => {
    const sessions = manager({ userIndexName: undefined });
    await expect(sessions.signOutEverywhere('user-9')).rejects.toThrow(/userIndexName: listing or ending a user's sessions needs the user index/);
  });

  test('fails when options are invalid, naming each option and the value received', () => {
    expect(() => new SessionManager({ tableName: 't', secrets: [] })).toThrow(/secrets: none given/);
    expect(() => new SessionManager({ tableName: 't', secrets: ['short'] })).toThrow(/secrets\[0\]: must be a string of at least 32 characters, received one of 5 characters/);
    expect(() => new SessionManager({ tableName: 't', secrets: [SECRET], cookieName: 'sid' })).toThrow(/cookieName: must start with "__Host-".*received "sid"/);
    expect(() => new SessionManager({ tableName: 't', secrets: [SECRET], idleTimeoutSeconds: 60, touchIntervalSeconds: 60 })).toThrow(/touchIntervalSeconds: must be shorter than idleTimeoutSeconds \(60\), received 60/);
    expect(() => new SessionManager({ tableName: 't', secrets: [SECRET], idleTimeoutSeconds: 0 })).toThrow(/idleTimeoutSeconds: must be a positive whole number of seconds, received 0/);
    expect(() => new SessionManager({ secrets: [SECRET] }, )).toThrow(SessionOptionsError);
    expect(() => new SessionManager({ tableName: 't', secrets: [42 as unknown as string] })).toThrow(/secrets\[0\]: must be a string of at least 32 characters, received a number/);
    // every problem at once
    expect(() => new SessionManager({ secrets: [], absoluteTimeoutSeconds: 10 })).toThrow(/tableName[\s\S]*absoluteTimeoutSeconds[\s\S]*secrets/);
  });

  test('the local-development switch drops Secure and the __Host- prefix, and says so', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const sessions = manager({ insecureHttpForLocalDevelopment: true });
    const { req, res, setCookies } = exchange();
    const session = await sessions.load(req);
    session.data.n = 1;
    await sessions.save(session, res);
    expect(setCookies()[0]).toMatch(/^sid=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/plain HTTP.*Never use this outside local development/));
    warn.mockRestore();
  });

  test('the plain API loads neither express nor express-session (they are the express users\' own)', () => {
    const loaded = execFileSync(process.execPath, ['-r', 'esbuild-register', '-e',
      "require('./runtime/index'); console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('node_modules/express'))))"],
    { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(JSON.parse(loaded)).toEqual([]);
  });

  test('IAM contract: the commands sent are exactly SESSION_DYNAMODB_ACTIONS (no Scan, CreateTable or DescribeTable)', () => {
    // After every test above: what the library called, as IAM actions
    const called = [...new Set(commands.map((c) => iamActionOf('dynamodb', c)))].sort();
    expect(called).toEqual([...SESSION_DYNAMODB_ACTIONS].sort());
  });
});
