/**
 * The render farm's web app in process against moto (its real clients: Secrets Manager, the
 * session table, the records table, the bucket, two queues, a Cognito user pool, the lock table):
 * sign-up and sign-in through the pool with a new session id, renders owned by the user's `sub`
 * and sent to the queue their tile count picks, bad parameters and over-budget renders refused
 * naming the field and the limit, another user's render a 404; rate limits per address and per
 * session (429 with Retry-After), renders in flight capped per user, the fleet's size and backlog
 * read at most once per 5 s per server (counted through the fault proxy, in front of moto), capped
 * JSON bodies, a secret rotation that signs no one out, the page's security headers, and the
 * stuck-render sweep under its lock.
 */
import * as http from 'http';
import { AdminGetUserCommand, CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LOCK_TABLE_ENV } from '../../../contracts/locks';
import { RENDER_FARM_ENV, TILE_WORK_BUDGET } from '../../../contracts/render-farm';
import { STORAGE_RECORDS_TABLE_ENV } from '../../../contracts/shared-storage';
import { LockClient, SharedRecords } from '../../../runtime/index';
import { DEFAULT_FRACTAL } from '../../../apps/render-farm/fractal';
import { RENDER_FARM_LIMITS } from '../../../apps/render-farm/rate-limits';
import { assembleJobId, type RenderData } from '../../../apps/render-farm/renders';
import { IN_FLIGHT_RECORD_ID, SWEEP_LOCK, type InFlightData } from '../../../apps/render-farm/sweep';
import { HSTS, SIGN_IN_BODY_MAX_BYTES } from '../../../apps/render-farm/web-app';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy';
import { useLocalAws } from '../../support/local-aws';
import { jobsOn, renderFarmResources, serveApp, username, visitor, type ServedApp } from './support';

const aws = useLocalAws();
let env: NodeJS.ProcessEnv;
let secretArn: string;
let userPoolId: string;
let served: ServedApp;
let records: SharedRecords<RenderData>;
const others: ServedApp[] = [];

/** Another server of the app (its own limits and caches), stopped after the tests. */
async function another(options: Parameters<typeof serveApp>[0] = {}): Promise<ServedApp> {
  const s = await serveApp({ env, ...options });
  others.push(s);
  return s;
}

beforeAll(async () => {
  ({ env, secretArn, userPoolId } = await renderFarmResources(aws));
  records = new SharedRecords<RenderData>({ tableName: env[STORAGE_RECORDS_TABLE_ENV]!, dynamodb: aws.dynamodb });
  // The session library warns once about plain-HTTP cookies (what the app asks for without a certificate).
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  served = await serveApp({ env });
});
afterAll(async () => {
  await Promise.all([served, ...others].map((s) => s?.close()));
});

describe('the render farm web app: users', () => {
  test('signs a user up and in through the user pool, with a new session id, and owns their renders by the pool\'s sub', async () => {
    // GIVEN a visitor with a session (signed in before, as someone else)
    const alice = visitor(served.url);
    const name = username('alice');
    expect((await alice.call('/api/me')).status).toBe(401);
    await alice.signUp(username('mallory'));
    const before = alice.cookie();

    // WHEN they sign up as alice, sign out, sign in again, and submit a 4-tile render
    expect(await alice.signUp(name)).toMatchObject({ status: 201, json: { username: name } });
    await alice.call('/api/sign-out', {});
    const me = await alice.signIn(name);
    const submitted = await alice.call('/api/renders', { ...DEFAULT_FRACTAL, size: 128, tilesPerSide: 2 });

    // THEN the session id changed and the old one is refused; the render is owned by alice's sub in the pool, its 4 tile jobs on the small queue
    expect(me).toMatchObject({ status: 200, json: { username: name } });
    expect(alice.cookie()).not.toBe(before);
    expect((await fetch(`${served.url}/api/me`, { headers: { cookie: before } })).status).toBe(401);
    expect((await alice.call('/api/me')).json).toEqual({ username: name });
    expect(submitted).toMatchObject({ status: 201, json: { tiles: 4, lane: 'small' } });
    const id = submitted.json.id as string;
    const cognito = new CognitoIdentityProviderClient({});
    const sub = (await cognito.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: name }))).UserAttributes!.find((a) => a.Name === 'sub')!.Value;
    cognito.destroy();
    expect((await records.get(id))!.data).toMatchObject({ owner: sub, tiles: 4, tilesDone: 0, status: 'rendering' });
    const jobs = await jobsOn(aws.sqs, env[RENDER_FARM_ENV.smallQueueUrl]!);
    expect(jobs.filter((j) => j.body.renderId === id).map((j) => j.body.index).sort()).toEqual([0, 1, 2, 3]);
    expect((await alice.call('/api/renders')).json).toEqual({ renders: [expect.objectContaining({ id, status: 'rendering' })] });
  });

  test('signs nobody in on a claimed name: a wrong password is a 401 and makes no session; a taken name a 409; a weak password a 400 naming the policy', async () => {
    // GIVEN bob, signed up
    const name = username('bob');
    await visitor(served.url).signUp(name);

    // WHEN someone claims bob's name with another password, signs up as bob again, or with a weak password
    const claimer = visitor(served.url, '203.0.113.20');
    const wrong = await claimer.signIn(name, 'Not-bobs-passw0rd');
    const taken = await claimer.signUp(name);
    const weak = await claimer.signUp(username('carol'), 'short');

    // THEN none of them is signed in
    expect(wrong).toMatchObject({ status: 401, json: { error: 'wrong username or password' } });
    expect(claimer.cookie()).toBe('');
    expect(taken).toMatchObject({ status: 409, json: { error: expect.stringMatching(/username is taken/) } });
    expect(weak.status).toBe(400);
    expect(weak.json.error).toMatch(/password does not meet the pool's policy \(at least 12 characters/);
    expect((await claimer.call('/api/me')).status).toBe(401);
  });

  test('shows a render to its owner only: 404 for another user (API and image), an empty list, 401 without a session', async () => {
    const alice = visitor(served.url);
    await alice.signUp(username('alice'));
    const id = (await alice.call('/api/renders', DEFAULT_FRACTAL)).json.id as string;
    const bob = visitor(served.url, '203.0.113.30');
    await bob.signUp(username('bob'));

    expect((await alice.call(`/api/renders/${id}`)).json).toMatchObject({ id, tiles: 16, lane: 'large', tilesDone: 0 });
    expect((await bob.call(`/api/renders/${id}`)).status).toBe(404);
    expect((await bob.call(`/api/renders/${id}/image`)).status).toBe(404);
    expect((await bob.call('/api/renders')).json).toEqual({ renders: [] });
    expect((await visitor(served.url).call(`/api/renders/${id}`)).status).toBe(401);
  });

  test('keeps everyone signed in through a rotation of the cookie secret, on servers started before and after it', async () => {
    // GIVEN a server started before the rotation, and alice signed in (her cookie signed with the current secret)
    const before = await another();
    const alice = visitor(before.url, '203.0.113.40');
    await alice.signUp(username('alice'));

    // WHEN the secret rotates (a new current version; the old one becomes the previous) and a new server starts
    const secrets = new SecretsManagerClient({});
    await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: 'the-rotated-key-that-signs-the-session-cookies-987' }));
    secrets.destroy();
    const after = await another();

    // THEN alice is still signed in on both; a sign-in on the new server (new secret) is taken by the old one too
    expect((await alice.call('/api/me', undefined, after.url)).status).toBe(200);
    expect((await alice.call('/api/me', undefined, before.url)).status).toBe(200);
    const bob = visitor(after.url, '203.0.113.41');
    await bob.signUp(username('bob'));
    expect((await bob.call('/api/me', undefined, before.url)).status).toBe(200);
  });
});

describe('the render farm web app: input', () => {
  test('fails when a render\'s parameters are bad, naming the field and the value, or when a body is not JSON', async () => {
    const alice = visitor(served.url, '203.0.113.50');
    await alice.signUp(username('alice'));
    const bad = await alice.call('/api/renders', { ...DEFAULT_FRACTAL, tilesPerSide: 9 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/tilesPerSide must be an integer from 1 to 8, received 9/);
    expect((await visitor(served.url, '203.0.113.51').call('/api/sign-in', { username: '', password: 'x' })).json.error).toMatch(/username must be 3 to 40 .*received ""/);
    const form = await fetch(`${served.url}/api/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=eve' });
    expect(form.status).toBe(415);
  });

  test('fails when a render\'s work is over its budget, naming the limit and the value received, and sends nothing', async () => {
    // GIVEN alice
    const alice = visitor(served.url, '203.0.113.52');
    await alice.signUp(username('alice'));

    // WHEN she asks for one 1,024-pixel tile at 20,000 iterations (about 21 billion pixel-iterations: minutes of CPU)
    const answer = await alice.call('/api/renders', { ...DEFAULT_FRACTAL, size: 1024, tilesPerSide: 1, maxIterations: 20_000 });

    // THEN it is refused with the limit and the value, and no render exists for her
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(new RegExp(`1024² x 20,000 = 20,971,520,000 pixel-iterations, is over its limit of ${TILE_WORK_BUDGET.toLocaleString('en-US')}`));
    expect((await alice.call('/api/renders')).json).toEqual({ renders: [] });
  });

  test('reads at most 4 KiB of a sign-in body, before anyone is signed in: a longer one, chunked, is a 413 while it is still being sent', async () => {
    // GIVEN a sign-in body sent in chunks (no Content-Length), 1 MiB in all, slowly
    const url = new URL(served.url);
    const answer = await new Promise<{ status: number; sentWhenAnswered: number }>((resolve, reject) => {
      let sent = 0;
      const req = http.request({ host: url.hostname, port: url.port, path: '/api/sign-in', method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.53' } });
      req.on('response', (res) => {
        resolve({ status: res.statusCode!, sentWhenAnswered: sent });
        res.resume();
        req.destroy();
      });
      req.on('error', (e) => {
        if (sent === 0) reject(e); // after the answer, the connection is cut on purpose
      });
      const chunk = Buffer.alloc(16 * 1024, 'a');
      const pump = () => {
        if (req.destroyed || sent >= 1024 * 1024) {
          req.end();
          return;
        }
        sent += chunk.length;
        req.write(chunk);
        setTimeout(pump, 5);
      };
      req.write('{"username":"');
      pump();
    });

    // THEN 413, answered long before the client was done (the app stopped reading at its cap)
    expect(answer.status).toBe(413);
    expect(answer.sentWhenAnswered).toBeLessThan(512 * 1024);
    expect(SIGN_IN_BODY_MAX_BYTES).toBe(4096);
  });
});

describe('the render farm web app: limits', () => {
  test('answers a burst of sign-ins from one address with 429 and Retry-After past its limit, without asking the user pool, and another address still gets in', async () => {
    // GIVEN a server whose Cognito calls go through a counting proxy, on a clock that stands still (no token comes back meanwhile), and a user
    const proxy = await startFaultProxy(aws.moto.endpoint);
    const frozen = Date.now();
    try {
      const s = await another({ clientConfig: { endpoint: proxy.endpoint }, clock: () => frozen });
      const name = username('dave');
      await visitor(s.url, '198.51.100.1').signUp(name);
      const calls = () => proxy.seen.InitiateAuth ?? 0;
      const start = calls();

      // WHEN one address tries 20 sign-ins at once
      const attacker = '198.51.100.66';
      const answers = await Promise.all(Array.from({ length: 20 }, () => visitor(s.url, attacker).signIn(name, 'Guessing-passw0rd')));

      // THEN at most its burst reached the pool; the rest got 429 with Retry-After; another address signs in
      const limited = answers.filter((a) => a.status === 429);
      expect(limited.length).toBe(20 - RENDER_FARM_LIMITS.signInPerAddress.burst);
      expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(calls() - start).toBe(RENDER_FARM_LIMITS.signInPerAddress.burst);
      expect((await visitor(s.url, '198.51.100.2').signIn(name)).status).toBe(200);
    } finally {
      await proxy.stop();
    }
  });

  test('limits sign-ins per session too: one cookie from many addresses gets 429 past the session\'s limit', async () => {
    // GIVEN erin, signed up (her session cookie), on a server whose clock stands still
    const frozen = Date.now();
    const s = await another({ clock: () => frozen });
    const name = username('erin');
    const first = visitor(s.url, '198.51.100.10');
    await first.signUp(name);
    const cookie = first.cookie();
    const statuses: number[] = [];
    // WHEN the cookie of that session comes with wrong passwords from a new address each time (a failed sign-in keeps the session)
    for (let i = 0; i < RENDER_FARM_LIMITS.signInPerSession.burst + 2; i++) {
      const v = visitor(s.url, `198.51.100.${20 + i}`);
      v.setCookie(cookie);
      statuses.push((await v.signIn(name, 'Wrong-passw0rd-x')).status);
    }
    // THEN the session's burst reaches the pool (the sign-up came without a session, so it took none), then 429
    expect(statuses.slice(0, RENDER_FARM_LIMITS.signInPerSession.burst)).toEqual(Array(RENDER_FARM_LIMITS.signInPerSession.burst).fill(401));
    expect(statuses.slice(RENDER_FARM_LIMITS.signInPerSession.burst)).toEqual([429, 429]);
  });

  test('limits polling per session (429 with Retry-After) while another session from the same address is answered', async () => {
    // GIVEN a server on a clock that stands still (no token comes back meanwhile), and alice with a render
    const frozen = Date.now();
    const s = await another({ clock: () => frozen });
    const address = '198.51.100.77';
    const alice = visitor(s.url, address);
    await alice.signUp(username('alice'));
    const id = (await alice.call('/api/renders', { ...DEFAULT_FRACTAL, size: 64, tilesPerSide: 1 })).json.id as string;

    // WHEN her page polls 30 times at once
    const answers = await Promise.all(Array.from({ length: 30 }, () => alice.call(`/api/renders/${id}`)));

    // THEN the session's burst is answered and the rest get 429 with Retry-After; bob, from the same address, is answered
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBe(30 - RENDER_FARM_LIMITS.pollPerSession.burst);
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const bob = visitor(s.url, address);
    await bob.signUp(username('bob'));
    expect((await bob.call('/api/renders')).status).toBe(200);
  });

  test('limits submissions per session, and caps a user\'s renders in flight, naming the limit', async () => {
    // GIVEN a server with a higher submission rate, so that the cap on renders in flight shows
    const s = await another({ limits: { ...RENDER_FARM_LIMITS, submitPerSession: { perMinute: 60, burst: 10 } } });
    const alice = visitor(s.url, '198.51.100.88');
    await alice.signUp(username('alice'));
    const small = { ...DEFAULT_FRACTAL, size: 64, tilesPerSide: 1 };

    // WHEN she submits one render more than the cap while the others are still rendering
    const answers = [];
    for (let i = 0; i <= RENDER_FARM_LIMITS.rendersInFlightPerUser; i++) answers.push(await alice.call('/api/renders', small));

    // THEN the last is refused with 429, naming the cap
    expect(answers.slice(0, -1).map((a) => a.status)).toEqual(Array(RENDER_FARM_LIMITS.rendersInFlightPerUser).fill(201));
    expect(answers.at(-1)).toMatchObject({ status: 429, json: { error: expect.stringMatching(/you have 3 renders in flight, the most at once/) } });

    // AND on the default server, a session past its submission burst gets 429 too (each refused before it counts as in flight)
    const bob = visitor(served.url, '198.51.100.89');
    await bob.signUp(username('bob'));
    const burst = RENDER_FARM_LIMITS.submitPerSession.burst;
    const statuses = [];
    for (let i = 0; i <= burst; i++) statuses.push((await bob.call('/api/renders', { ...small, tilesPerSide: 9 })).status);
    expect(statuses).toEqual([...Array(burst).fill(400), 429]);
  });

  test('reads the fleet\'s size and the backlog at most once per 5 s per server, whatever the number of open pages', async () => {
    // GIVEN two servers whose SQS and Auto Scaling calls go through a counting proxy, on a clock the test moves
    const proxy: FaultProxy = await startFaultProxy(aws.moto.endpoint);
    let now = Date.now();
    const clock = () => now;
    try {
      const one = await another({ clientConfig: { endpoint: proxy.endpoint }, clock });
      const two = await another({ clientConfig: { endpoint: proxy.endpoint }, clock });
      const pages = await Promise.all(Array.from({ length: 5 }, async (_, i) => {
        const v = visitor(one.url, `198.51.100.${100 + i}`);
        await v.signUp(username('page'));
        const id = (await v.call('/api/renders', DEFAULT_FRACTAL)).json.id as string;
        return { v, id };
      }));
      const count = () => ({ describe: proxy.seen.DescribeAutoScalingGroups ?? 0, depth: proxy.seen.GetQueueAttributes ?? 0 });
      const start = count();

      // WHEN five pages poll four times each within 5 s on server one, and once each on server two
      for (let round = 0; round < 4; round++) {
        await Promise.all(pages.map(({ v, id }) => v.call(`/api/renders/${id}`)));
        now += 1_000;
      }
      await Promise.all(pages.map(({ v, id }) => v.call(`/api/renders/${id}`, undefined, two.url)));
      const within = count();
      // AND once more after 5 s have passed
      now += 1_500;
      await Promise.all(pages.map(({ v, id }) => v.call(`/api/renders/${id}`)));
      const after = count();

      // THEN one read of each per server in the first 5 s (the large queue only: the pages' renders are large), then one more each
      expect(within.describe - start.describe).toBe(2);
      expect(within.depth - start.depth).toBe(2);
      expect(after.describe - within.describe).toBe(1);
      expect(after.depth - within.depth).toBe(1);
      expect((await pages[0]!.v.call(`/api/renders/${pages[0]!.id}`)).json).toMatchObject({ workers: null, backlog: expect.any(Number) });
    } finally {
      await proxy.stop();
    }
  });
});

describe('the render farm web app: headers', () => {
  test('forbids framing the page (frame-ancestors \'none\'), and sends HSTS only when served over HTTPS', async () => {
    const plain = await fetch(`${served.url}/`);
    expect(plain.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(plain.headers.get('x-frame-options')).toBe('DENY');
    expect(plain.headers.get('strict-transport-security')).toBeNull();

    const https = await another({ env: { ...env, [RENDER_FARM_ENV.plainHttp]: 'false' } });
    const page = await fetch(`${https.url}/`);
    expect(page.headers.get('strict-transport-security')).toBe(HSTS);
    expect((await fetch(`${https.url}/api/me`)).headers.get('strict-transport-security')).toBe(HSTS);
  });
});

describe('the render farm web app: the stuck-render sweep', () => {
  test('sends a stuck render\'s assemble job once, under its own job id and the sweep\'s lock, however many servers sweep at once, and takes finished renders off the list', async () => {
    // GIVEN a render whose tiles were all recorded 20 s ago and no assemble job anywhere, and a finished one
    const alice = visitor(served.url, '198.51.100.150');
    await alice.signUp(username('alice'));
    const small = { ...DEFAULT_FRACTAL, size: 64, tilesPerSide: 1 };
    const stuck = (await alice.call('/api/renders', small)).json.id as string;
    const done = (await alice.call('/api/renders', small)).json.id as string;
    await jobsOn(aws.sqs, env[RENDER_FARM_ENV.smallQueueUrl]!); // their tile jobs, taken
    await records.update(stuck, (r) => ({ ...r, tilesDone: 1, tileKeys: { 0: 'sha256/x' }, lastTileAt: Date.now() - 20_000 }));
    await records.update(done, (r) => ({ ...r, tilesDone: 1, tileKeys: { 0: 'sha256/x' }, status: 'finished', imageKey: 'sha256/y', finishedAt: Date.now() }));
    const inFlight = new SharedRecords<InFlightData>({ tableName: env[STORAGE_RECORDS_TABLE_ENV]!, dynamodb: aws.dynamodb });
    await inFlight.update(IN_FLIGHT_RECORD_ID, (l) => ({ ...l, sweptAt: 0 }));
    const locks = new LockClient({ tableName: env[LOCK_TABLE_ENV]!, dynamodb: aws.dynamodb });
    const tokenBefore = (await locks.inspect(SWEEP_LOCK)).token ?? 0;

    // WHEN three servers sweep at once, then sweep again
    const [a, b] = [await another(), await another()];
    const reports = await Promise.all([served.app.sweep(), a.app.sweep(), b.app.sweep()]);
    const again = await served.app.sweep();

    // THEN one sweep ran (the others found the lock held, or the list just swept), holding the lock; one assemble job, with the derived id
    const ran = reports.filter((r) => r !== undefined);
    expect(ran).toHaveLength(1);
    expect(ran[0]!.resent).toEqual([stuck]);
    expect(again).toBeUndefined();
    expect((await locks.inspect(SWEEP_LOCK)).token).toBeGreaterThan(tokenBefore);
    const jobs = (await jobsOn(aws.sqs, env[RENDER_FARM_ENV.smallQueueUrl]!)).filter((j) => j.body.kind === 'assemble');
    expect(jobs).toEqual([{ body: { kind: 'assemble', renderId: stuck }, jobId: assembleJobId(stuck) }]);
    // AND the finished render left the list; the stuck one stays on it until it finishes
    const list = (await inFlight.get(IN_FLIGHT_RECORD_ID))!.data.renders;
    expect(Object.keys(list)).toContain(stuck);
    expect(Object.keys(list)).not.toContain(done);
  });

  test('sends nothing when polled: a page polling a stuck render no longer re-sends its assemble job (the sweep does)', async () => {
    const alice = visitor(served.url, '198.51.100.151');
    await alice.signUp(username('alice'));
    const id = (await alice.call('/api/renders', { ...DEFAULT_FRACTAL, size: 64, tilesPerSide: 1 })).json.id as string;
    await jobsOn(aws.sqs, env[RENDER_FARM_ENV.smallQueueUrl]!);
    await records.update(id, (r) => ({ ...r, tilesDone: 1, tileKeys: { 0: 'sha256/x' }, lastTileAt: Date.now() - 20_000 }));
    await alice.call(`/api/renders/${id}`);
    expect((await jobsOn(aws.sqs, env[RENDER_FARM_ENV.smallQueueUrl]!)).filter((j) => j.body.renderId === id)).toEqual([]);
  });
});
