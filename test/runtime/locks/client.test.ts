/**
 * The lock client against moto's DynamoDB (one moto for the file):
 * - exclusion, fencing tokens that only grow, releases that never touch another holder's lock,
 *   waiting for a release or an expiry, the lease-lost signal, renewal by timer, withLock,
 *   semaphores, inspect, the environment, option errors, and the IAM contract (every command
 *   the client sends is in LOCK_DYNAMODB_ACTIONS, and back);
 * - the edges of a lease with clocks the test moves by hand (no timers, no waiting): takeover
 *   exactly at the record's expiry, the holder's deadline the clock-skew bound earlier, a
 *   contender ahead by the bound and by more, renewal, tokens across a TTL removal;
 * - faults moto cannot make, through the fault proxy: an unreachable table
 *   (LockTableUnreachableError) apart from a lost lock (LockLostError), and replies lost after
 *   DynamoDB applied an acquire, a renewal or a release.
 */
import { DeleteItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { LOCK_ATTRIBUTES, LOCK_DYNAMODB_ACTIONS, LOCK_TABLE_ENV } from '../../../contracts/locks';
import {
  LockAcquireAbortedError, LockClient, LockLostError, LockNotAcquiredError, LockOptionsError, LockTableUnreachableError,
  type HeldLock, type LockClientOptions,
} from '../../../runtime/index';
import { startFaultProxy, type FaultProxy, type FaultResponse, type ProxiedRequest } from '../../support/fault-proxy';
import { useLocalAws } from '../../support/local-aws';
import { ManualTime, createLockTable, sleep } from './support';

const aws = useLocalAws();
let table: string;
const commands = new Set<string>();
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  table = await createLockTable(aws.dynamodb);
  dynamodb = new DynamoDBClient({});
  dynamodb.middlewareStack.add((next, context) => async (args) => {
    commands.add(context.commandName ?? '?');
    return next(args);
  }, { step: 'initialize', name: 'recordCommands' });
});
afterAll(() => dynamodb?.destroy());

/** A client as a separate process would have it (its own holder name), with test-sized leases. */
const client = (holder: string, options: Partial<LockClientOptions> = {}) => new LockClient({ tableName: table, dynamodb, holder, clockSkewMs: 0, leaseSeconds: 2, ...options });
let n = 0;
const lockName = () => `lock-${++n}`;

describe('LockClient', () => {
  test('one holder at a time: a second acquirer is refused while the lock is held, and takes it once released', async () => {
    // GIVEN a held lock
    const name = lockName();
    const a = await client('a').acquire(name);
    // WHEN another tries THEN it is refused, until the holder releases
    expect(await client('b').tryAcquire(name)).toBeUndefined();
    expect(await a.release()).toBe(true);
    const b = await client('b').tryAcquire(name);
    expect(b?.isHeld).toBe(true);
    await b!.release();
  });

  test('every acquisition gets a larger fencing token than all earlier ones of the name: a counter, not a random id', async () => {
    // GIVEN a lock taken, released and taken again, by two clients
    const name = lockName();
    const tokens: number[] = [];
    for (const who of ['a', 'b', 'a', 'b']) {
      const lock = await client(who).acquire(name);
      tokens.push(lock.token);
      await lock.release();
    }
    // THEN each is the one before plus 1, and the record keeps the latest after release
    expect(tokens.slice(1).map((t, i) => t - tokens[i]!)).toEqual([1, 1, 1]);
    expect((await client('c').inspect(name)).token).toBe(tokens[3]);
    // and the first starts from the clock (epoch ms), so a record TTL removed still restarts above its old tokens
    expect(tokens[0]! - Date.now()).toBeLessThanOrEqual(1);
    expect(tokens[0]).toBeGreaterThan(Date.now() - 60_000);
  });

  test('release never releases another holder\'s lock: a holder whose lease ran out finds it taken and leaves it', async () => {
    // GIVEN a holder without renewals whose lease ended, and a second holder that took over
    const name = lockName();
    const a = await client('a', { leaseSeconds: 0.3 }).acquire(name, { autoRenew: false });
    await sleep(350);
    const b = await client('b').acquire(name, { waitSeconds: 0 });
    expect(b.token).toBe(a.token + 1);
    // WHEN the first releases THEN nothing is released, and the second still holds it
    expect(await a.release()).toBe(false);
    expect(await client('c').inspect(name)).toMatchObject({ held: true, holder: 'b', token: b.token });
    expect(await b.release()).toBe(true);
    expect(await b.release()).toBe(false);
  });

  test('acquire waits: a release is noticed within a second, an expiry as soon as the record says', async () => {
    const name = lockName();
    // GIVEN a lock released 300 ms after a contender starts waiting
    const a = await client('a').acquire(name);
    setTimeout(() => void a.release(), 300);
    const started = Date.now();
    const b = await client('b').acquire(name, { waitSeconds: 5 });
    // THEN the contender got it after the release, well before the lease of 2 s ended
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1900);
    await b.release();

    // GIVEN a holder that stops renewing (lease 0.5 s)
    const c = await client('c', { leaseSeconds: 0.5 }).acquire(name, { autoRenew: false });
    const d = await client('d').acquire(name, { waitSeconds: 5 });
    // THEN the contender took over when the lease ended by the record
    expect(Date.now()).toBeGreaterThanOrEqual(c.expiresAt.getTime());
    expect(d.token).toBe(c.token + 1);
    await d.release();
  });

  test('acquire gives up after waitSeconds naming the holder, and stops waiting when its signal aborts', async () => {
    const name = lockName();
    const a = await client('holder-a').acquire(name);
    await expect(client('b').acquire(name, { waitSeconds: 0.3 })).rejects.toThrow(/lock "lock-\d+" was not acquired within \d+ ms: held by holder-a until/);
    await expect(client('b').acquire(name, { waitSeconds: 0.3 })).rejects.toBeInstanceOf(LockNotAcquiredError);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 200);
    await expect(client('b').acquire(name, { waitSeconds: 10, signal: controller.signal })).rejects.toBeInstanceOf(LockAcquireAbortedError);
    await a.release();
  });

  test('a holder that missed its renewals: its signal fired at its deadline, and renew() and assertHeld() throw LockLostError', async () => {
    // GIVEN a holder that missed its renewals and a contender that took over
    const name = lockName();
    const a = await client('a', { leaseSeconds: 0.3 }).acquire(name, { autoRenew: false });
    await sleep(350);
    const b = await client('b').acquire(name, { waitSeconds: 0 });
    // WHEN the first renews THEN it learns it lost the lock to another acquisition
    const renewal = a.renew().catch((e: unknown) => e);
    expect(await renewal).toBeInstanceOf(LockLostError);
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toMatchObject({ name: 'LockLostError', reason: 'expired' });
    expect(() => a.assertHeld()).toThrow(/lock "lock-\d+" \(token \d+\) was lost: its lease ran out/);
    await b.release();
  });

  test('a renewal that finds another holder ends the lease at once, reason "taken"', async () => {
    // GIVEN a holder whose lease (by its own clock) still runs, and a contender whose clock is far ahead
    const name = lockName();
    const a = await client('a', { leaseSeconds: 5 }).acquire(name, { autoRenew: false });
    const ahead = client('b', { clock: { now: () => Date.now() + 60_000, monotonic: () => performance.now() } });
    const b = await ahead.acquire(name, { waitSeconds: 0 });
    // WHEN the first renews THEN the table says another acquisition holds it
    await expect(a.renew()).rejects.toMatchObject({ name: 'LockLostError', reason: 'taken', message: expect.stringMatching(/another acquisition holds it now \(token \d+, by b\)/) });
    expect(a.signal.reason).toMatchObject({ reason: 'taken' });
    expect(await a.release()).toBe(false);
    await b.release();
  });

  test('the renewal timer keeps a lock past its lease; without it the signal fires at the deadline', async () => {
    const name = lockName();
    // GIVEN a lease of 0.4 s renewed every 0.12 s, held for 1 s
    const a = await client('a', { leaseSeconds: 0.4 }).acquire(name, { renewEverySeconds: 0.12 });
    await sleep(1000);
    // THEN it is still held, and nobody else can take it
    expect(a.isHeld).toBe(true);
    expect(await client('b').tryAcquire(name)).toBeUndefined();
    await a.release();
    expect(a.signal.reason).toMatchObject({ reason: 'released' });

    // GIVEN the same without renewals WHEN the lease runs out THEN the signal fires by itself
    const c = await client('c', { leaseSeconds: 0.3 }).acquire(name, { autoRenew: false });
    const fired = await new Promise<number>((resolve) => c.signal.addEventListener('abort', () => resolve(Date.now())));
    // (not before its lease ended: with no clock skew allowed here, its deadline is the record's expiry)
    expect(fired).toBeGreaterThanOrEqual(c.expiresAt.getTime() - 5);
    expect(c.signal.reason).toMatchObject({ reason: 'expired' });
    expect(c.isHeld).toBe(false);
    expect(await c.release()).toBe(true); // the record still named it: released for the next one
  });

  test('withLock runs the function holding the lock and releases it, also when it throws', async () => {
    const name = lockName();
    const seen = await client('a').withLock(name, async (lock) => {
      expect(await client('b').tryAcquire(name)).toBeUndefined();
      return lock.token;
    });
    expect(typeof seen).toBe('number');
    await expect(client('a').withLock(name, () => { throw new Error('report failed'); })).rejects.toThrow('report failed');
    expect((await client('c').inspect(name)).held).toBe(false);
  });

  test('withLock rejects with LockLostError when the lease was lost while the function ran', async () => {
    const name = lockName();
    await expect(client('a', { leaseSeconds: 0.3 }).withLock(name, () => sleep(400), { autoRenew: false }))
      .rejects.toMatchObject({ name: 'LockLostError', reason: 'expired' });
  });

  test('a semaphore admits N holders at once, each permit with its own token, and the next when one leaves', async () => {
    // GIVEN a semaphore of 3 permits, held 3 times
    const name = lockName();
    const licences = client('a').semaphore(name, { permits: 3 });
    const held = await Promise.all([licences.acquire(), licences.acquire(), licences.acquire()]);
    expect(new Set(held.map((p) => p.permit))).toEqual(new Set([0, 1, 2]));
    // WHEN a fourth asks THEN it is refused, until one is released
    expect(await client('b').semaphore(name, { permits: 3 }).tryAcquire()).toBeUndefined();
    await held[1]!.release();
    const fourth = await client('b').semaphore(name, { permits: 3 }).acquire({ waitSeconds: 2 });
    expect(fourth.permit).toBe(held[1]!.permit);
    expect(fourth.token).toBe(held[1]!.token + 1);
    const inside = await client('c').semaphore(name, { permits: 3 }).withPermit(async () => 'ran', { waitSeconds: 0 }).catch((e: Error) => e.name);
    expect(inside).toBe('LockNotAcquiredError');
    await Promise.all([held[0]!.release(), held[2]!.release(), fourth.release()]);
  });

  test('inspect reads the lock strongly consistently: holder, token and expiry while held', async () => {
    const name = lockName();
    expect(await client('a').inspect(name)).toEqual({ name, held: false });
    const a = await client('holder-a').acquire(name);
    expect(await client('b').inspect(name)).toEqual({ name, held: true, holder: 'holder-a', token: a.token, expiresAt: a.expiresAt });
    await a.release();
    expect(await client('b').inspect(name)).toEqual({ name, held: false, token: a.token });
    // The record keeps its counter after release, with a TTL days ahead for cleanup
    const item = (await aws.dynamodb.send(new GetItemCommand({ TableName: table, Key: { [LOCK_ATTRIBUTES.name]: { S: name } } }))).Item!;
    expect(item[LOCK_ATTRIBUTES.owner]).toBeUndefined();
    expect(Number(item[LOCK_ATTRIBUTES.deleteAfter]!.N) - Date.now() / 1000).toBeGreaterThan(29 * 86_400);
  });

  test('fromEnvironment reads the table the LockTable construct names, and says which variable is missing', async () => {
    const fromEnv = LockClient.fromEnvironment({ dynamodb, clockSkewMs: 0 }, { [LOCK_TABLE_ENV]: table });
    expect(fromEnv.tableName).toBe(table);
    const lock = await fromEnv.acquire(lockName(), { leaseSeconds: 1 });
    await lock.release();
    expect(() => LockClient.fromEnvironment({}, {})).toThrow(/tableName: CLOUD_PATTERNS_LOCK_TABLE is not set/);
  });

  test('calls exactly the DynamoDB actions of the contract, which the construct grants', () => {
    // Every test above went through the recording client: all the client's paths were taken.
    const actions = [...commands].map((c) => `dynamodb:${c.replace(/Command$/, '')}`).sort();
    expect(actions).toEqual([...LOCK_DYNAMODB_ACTIONS].sort());
  });
});

const LEASE_MS = 10_000;
const SKEW_MS = 1_000;
const held: HeldLock[] = [];
afterEach(async () => { await Promise.all(held.splice(0).map((l) => l.release().catch(() => undefined))); });

/** A participant with its own clock, `skewMs` ahead of true time; the bound every participant states is SKEW_MS. */
function participant(time: ManualTime, holder: string, skewMs = 0): LockClient {
  return new LockClient({ tableName: table, dynamodb: aws.dynamodb, holder, leaseSeconds: LEASE_MS / 1000, clockSkewMs: SKEW_MS, clock: time.clock(skewMs) });
}
const edgeName = () => `edge-${++n}`;
const take = async (c: LockClient, name: string) => {
  const lock = await c.tryAcquire(name, { autoRenew: false });
  if (lock) held.push(lock);
  return lock;
};

describe('lease edges, by controllable clocks', () => {
  test('a contender takes over exactly when the record\'s expiry is reached by its clock, not a millisecond before', async () => {
    // GIVEN a lock taken at T with a lease of 10 s (expiry T + 10,000 ms in the record)
    const time = new ManualTime();
    const name = edgeName();
    const a = (await take(participant(time, 'a'), name))!;
    expect(a.expiresAt.getTime()).toBe(time.ms + LEASE_MS);
    // WHEN a contender with the same clock tries 1 ms before the expiry THEN it is refused
    time.advance(LEASE_MS - 1);
    expect(await take(participant(time, 'b'), name)).toBeUndefined();
    // WHEN it tries at the expiry THEN it takes over, with the next token
    time.advance(1);
    const b = await take(participant(time, 'b'), name);
    expect(b?.token).toBe(a.token + 1);
  });

  test('the holder\'s own lease ends the clock-skew bound before the record\'s expiry, and its signal fires then', async () => {
    const time = new ManualTime();
    const a = (await take(participant(time, 'a'), edgeName()))!;
    time.advance(LEASE_MS - SKEW_MS - 1);
    expect(a.isHeld).toBe(true);
    expect(a.remainingMs).toBe(1);
    time.advance(1);
    expect(a.isHeld).toBe(false);
    expect(a.signal.reason).toMatchObject({ name: 'LockLostError', reason: 'expired' });
  });

  test('a contender whose clock is ahead by the stated bound takes over at the holder\'s deadline, never while the holder believes it holds', async () => {
    // GIVEN a holder on true time and a contender whose clock is SKEW_MS ahead
    const time = new ManualTime();
    const name = edgeName();
    const a = (await take(participant(time, 'a'), name))!;
    const contender = participant(time, 'b', SKEW_MS);
    // WHEN it tries 1 ms before the holder's deadline THEN it is refused, and the holder still holds
    time.advance(LEASE_MS - SKEW_MS - 1);
    expect(await take(contender, name)).toBeUndefined();
    expect(a.isHeld).toBe(true);
    // WHEN it tries at the holder's deadline THEN it takes over, and the holder no longer holds
    time.advance(1);
    expect(await take(contender, name)).toBeDefined();
    expect(a.isHeld).toBe(false);
  });

  test('a contender whose clock is ahead by more than the bound could overlap the holder: the bound is a stated assumption', async () => {
    // GIVEN a contender 1 ms further ahead than the bound allows
    const time = new ManualTime();
    const name = edgeName();
    const a = (await take(participant(time, 'a'), name))!;
    time.advance(LEASE_MS - SKEW_MS - 1);
    // WHEN it tries 1 ms before the holder's deadline THEN it takes over while the holder still holds:
    // exclusion rests on the bound (and the fence on the resource is what still refuses the older writer)
    const b = await take(participant(time, 'b', SKEW_MS + 1), name);
    expect(b).toBeDefined();
    expect(a.isHeld).toBe(true);
    expect(b!.token).toBeGreaterThan(a.token);
  });

  test('a renewal moves both edges: the record\'s expiry and the holder\'s deadline, from when it was sent', async () => {
    const time = new ManualTime();
    const name = edgeName();
    const a = (await take(participant(time, 'a'), name))!;
    time.advance(5_000);
    await a.renew();
    expect(a.expiresAt.getTime()).toBe(time.ms + LEASE_MS);
    time.advance(LEASE_MS - SKEW_MS - 1);
    expect(a.isHeld).toBe(true);
    expect(await take(participant(time, 'b'), name)).toBeUndefined();
    time.advance(SKEW_MS);
    expect(a.isHeld).toBe(false);
    expect(await take(participant(time, 'b'), name)).toBeUndefined();
    time.advance(1);
    expect(await take(participant(time, 'b'), name)).toBeDefined();
  });

  test('tokens keep growing when TTL removed a long-dead record: the counter restarts from the clock, above every earlier token', async () => {
    // GIVEN a name taken 5 times, then its record removed 30 days later (as DynamoDB's TTL would)
    const time = new ManualTime();
    const name = edgeName();
    let last = 0;
    for (let i = 0; i < 5; i++) {
      const lock = (await take(participant(time, 'a'), name))!;
      last = lock.token;
      await lock.release();
      time.advance(1);
    }
    time.advance(30 * 86_400_000);
    await aws.dynamodb.send(new DeleteItemCommand({ TableName: table, Key: { [LOCK_ATTRIBUTES.name]: { S: name } } }));
    // WHEN it is taken again THEN its token is larger than every earlier one
    const again = (await take(participant(time, 'b'), name))!;
    expect(again.token).toBeGreaterThan(last);
  });
});

let proxy: FaultProxy;
let viaProxy: DynamoDBClient;

beforeAll(async () => {
  proxy = await startFaultProxy(aws.moto.endpoint);
  viaProxy = new DynamoDBClient({ endpoint: proxy.endpoint });
});
afterEach(() => proxy.setRule(undefined));
afterAll(async () => {
  viaProxy?.destroy();
  await proxy?.stop();
});

/** A DynamoDB error in its JSON protocol. */
function dynamodbError(code: string, status: number, afterForwarding = false): FaultResponse {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${code}`, message: `injected ${code}` }),
    afterForwarding,
  };
}

/** Which lock call a request is, by its update expression. */
function kind(r: ProxiedRequest): 'acquire' | 'renew' | 'release' | 'other' {
  if (r.action !== 'UpdateItem') return 'other';
  if (r.body.includes('if_not_exists')) return 'acquire';
  return r.body.includes('REMOVE') ? 'release' : 'renew';
}

const proxied = (holder: string, options: Partial<LockClientOptions> = {}) => new LockClient({ tableName: table, dynamodb: viaProxy, holder, clockSkewMs: 0, leaseSeconds: 0.8, ...options });
const faultName = () => `fault-${++n}`;
const expiresAtInTable = async (name: string) => Number((await aws.dynamodb.send(new GetItemCommand({ TableName: table, Key: { [LOCK_ATTRIBUTES.name]: { S: name } }, ConsistentRead: true }))).Item![LOCK_ATTRIBUTES.expiresAt]!.N);

describe('the lock table unreachable, apart from the lock lost', () => {
  test('an acquire that cannot reach the table fails with LockTableUnreachableError, not as "held by another"', async () => {
    // GIVEN a table answering every request with a server error (after the SDK's retries)
    proxy.setRule(() => dynamodbError('InternalServerError', 500));
    // WHEN a lock is asked for THEN the error says the table could not be reached
    const attempt = proxied('a').acquire(faultName(), { waitSeconds: 5 });
    await expect(attempt).rejects.toBeInstanceOf(LockTableUnreachableError);
    await expect(attempt).rejects.toThrow(/could not reach the lock table to acquire lock "fault-\d+" \(InternalServerError: injected InternalServerError\)/);
    // and so does a closed port
    const closed = new LockClient({ tableName: table, dynamodb: new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }), clockSkewMs: 0 });
    await expect(closed.tryAcquire(faultName())).rejects.toMatchObject({ name: 'LockTableUnreachableError', operation: 'acquire' });
  });

  test('a renewal that cannot reach the table leaves the lease running to its deadline, then the signal fires with the cause', async () => {
    // GIVEN a holder (lease 0.8 s, no timer) and a table that stops answering renewals
    const lock = await proxied('a').acquire(faultName(), { autoRenew: false });
    proxy.setRule((r) => (kind(r) === 'renew' ? dynamodbError('ServiceUnavailable', 503) : undefined));
    // WHEN it renews THEN it hears the table could not be reached, and still holds the lock
    await expect(lock.renew()).rejects.toBeInstanceOf(LockTableUnreachableError);
    expect(lock.isHeld).toBe(true);
    expect(lock.signal.aborted).toBe(false);
    // WHEN the lease runs out THEN the signal fires: lost, by expiry, caused by the unreachable table
    const reason = await new Promise<unknown>((resolve) => lock.signal.addEventListener('abort', () => resolve(lock.signal.reason)));
    expect(reason).toBeInstanceOf(LockLostError);
    expect(reason).toMatchObject({ reason: 'expired', message: expect.stringMatching(/lease ran out while the lock table could not be reached/) });
    expect((reason as Error).cause).toBeInstanceOf(LockTableUnreachableError);
  });

  test('a renewal that reaches the table and finds another holder is LockLostError ("taken"), not unreachable', async () => {
    const name = faultName();
    const a = await proxied('a', { leaseSeconds: 5 }).acquire(name, { autoRenew: false });
    const b = await proxied('b', { clock: { now: () => Date.now() + 60_000, monotonic: () => performance.now() } }).acquire(name, { waitSeconds: 0, autoRenew: false });
    await expect(a.renew()).rejects.toMatchObject({ name: 'LockLostError', reason: 'taken' });
    await b.release(); // else it would go on renewing through the proxy after the file ends
  });
});

describe('lost replies', () => {
  test('an acquire whose reply was lost after DynamoDB applied it is recognized as taken (the SDK\'s retry finds our own record)', async () => {
    // GIVEN a table that applies the first acquire and loses its reply
    let lost = 0;
    proxy.setRule((r) => (kind(r) === 'acquire' && lost++ === 0 ? dynamodbError('InternalServerError', 500, true) : undefined));
    // WHEN a lock is acquired THEN it is ours, with the token the applied write gave
    const name = faultName();
    const lock = await proxied('a').acquire(name);
    expect(lost).toBe(2); // the lost one, and the SDK's retry that found our record
    expect(await proxied('b').inspect(name)).toMatchObject({ held: true, holder: 'a', token: lock.token });
    await lock.release();
  });

  test('a renewal whose replies were lost extended the lease in the table; the holder keeps its own deadline until a renewal is confirmed', async () => {
    // GIVEN a holder and a table that applies every renewal and loses every reply
    const name = faultName();
    const lock = await proxied('a').acquire(name, { autoRenew: false });
    const before = await expiresAtInTable(name);
    const remaining = lock.remainingMs;
    await sleep(100);
    proxy.setRule((r) => (kind(r) === 'renew' ? dynamodbError('InternalServerError', 500, true) : undefined));
    // WHEN it renews THEN it is told the table could not be reached...
    await expect(lock.renew()).rejects.toBeInstanceOf(LockTableUnreachableError);
    // ...though the table took the renewal (each retry of the SDK too), and no one else can take the lock
    expect(await expiresAtInTable(name)).toBeGreaterThan(before);
    expect(await proxied('b').tryAcquire(name)).toBeUndefined();
    // and the holder did not count on it: its deadline did not move
    expect(lock.remainingMs).toBeLessThan(remaining);
    // WHEN the replies come back THEN the next renewal is confirmed, and the lock held on
    proxy.setRule(undefined);
    await lock.renew();
    expect(lock.remainingMs).toBeGreaterThan(remaining - 100);
    expect(await lock.release()).toBe(true);
  });

  test('a release whose reply was lost is recognized as released when the SDK retries it', async () => {
    const name = faultName();
    const lock = await proxied('a').acquire(name);
    let lost = 0;
    proxy.setRule((r) => (kind(r) === 'release' && lost++ === 0 ? dynamodbError('InternalServerError', 500, true) : undefined));
    expect(await lock.release()).toBe(true);
    expect(lost).toBe(2); // the lost one, and the SDK's retry that found it released
    expect((await proxied('b').inspect(name)).held).toBe(false);
  });
});

describe('LockClient options', () => {
  test('fails when the table name is missing, naming the option and the fix', () => {
    expect(() => new LockClient({ tableName: '' })).toThrow(/tableName: must be the lock table's name, received ""/);
  });

  test('fails when leaseSeconds is not a positive number, or shorter than 3 x clockSkewMs', async () => {
    expect(() => client('a', { leaseSeconds: 0 })).toThrow(/leaseSeconds: must be a number of seconds above 0, received 0/);
    expect(() => client('a', { leaseSeconds: 2, clockSkewMs: 1000 })).toThrow(/leaseSeconds: must be at least 3 x clockSkewMs \(1000 ms\), received a lease of 2000 ms/);
    await expect(client('a').acquire('x', { leaseSeconds: -1 })).rejects.toThrow(/leaseSeconds: must be a number of seconds above 0 and at most 86400, received -1/);
  });

  test('fails when renewEverySeconds would not renew before the lease ends', async () => {
    await expect(client('a').acquire('x', { leaseSeconds: 1, renewEverySeconds: 1 })).rejects.toThrow(/renewEverySeconds: must be shorter than the lease less the clock skew \(1 s\), received 1/);
  });

  test('fails when clockSkewMs, waitSeconds or recordRetentionDays are negative, or holder is empty', async () => {
    expect(() => client('a', { clockSkewMs: -1 })).toThrow(/clockSkewMs: must be 0 or more milliseconds, received -1/);
    expect(() => client('a', { recordRetentionDays: 0 })).toThrow(/recordRetentionDays: must be a number of days above 0, received 0/);
    expect(() => client('')).toThrow(/holder: must be 1 to 256 characters, received ""/);
    await expect(client('a').acquire('x', { waitSeconds: -5 })).rejects.toThrow(/waitSeconds: must be 0 or more seconds, received -5/);
  });

  test('fails when a name is empty or contains the permit separator, or permits is not 1 to 1000', async () => {
    await expect(client('a').acquire('')).rejects.toThrow(/name: must be 1 to 1000 characters, received ""/);
    await expect(client('a').tryAcquire('a#1')).rejects.toThrow(/name: must not contain "#"/);
    expect(() => client('a').semaphore('s', { permits: 0 })).toThrow(/permits: must be a whole number from 1 to 1000, received 0/);
    expect(() => client('a').semaphore('s', { permits: 2.5 })).toThrow(LockOptionsError);
  });
});
