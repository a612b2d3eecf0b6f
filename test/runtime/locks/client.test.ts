/**
 * The lock client against moto's DynamoDB: exclusion, fencing tokens that only grow, releases
 * that never touch another holder's lock, waiting for a release or an expiry, the lease-lost
 * signal, renewal by timer, withLock, semaphores, inspect, the environment, option errors, and
 * the IAM contract (every command the client sends is in LOCK_DYNAMODB_ACTIONS, and back).
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { LOCK_ATTRIBUTES, LOCK_DYNAMODB_ACTIONS, LOCK_TABLE_ENV } from '../../../contracts/locks';
import {
  LockAcquireAbortedError, LockClient, LockLostError, LockNotAcquiredError, LockOptionsError, type LockClientOptions,
} from '../../../runtime';
import { useLocalAws } from '../../support/local-aws';
import { createLockTable, sleep } from './support';

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
    // GIVEN a lease of 0.6 s renewed every 0.2 s
    const a = await client('a', { leaseSeconds: 0.6 }).acquire(name, { renewEverySeconds: 0.2 });
    await sleep(1500);
    // THEN it is still held, and nobody else can take it
    expect(a.isHeld).toBe(true);
    expect(await client('b').tryAcquire(name)).toBeUndefined();
    await a.release();
    expect(a.signal.reason).toMatchObject({ reason: 'released' });

    // GIVEN the same without renewals WHEN the lease runs out THEN the signal fires by itself
    const c = await client('c', { leaseSeconds: 0.4 }).acquire(name, { autoRenew: false });
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
