/**
 * The edges of a lease, with clocks the test moves by hand (no timers, no waiting), against
 * moto's DynamoDB: a contender takes over exactly when the record's expiry is reached by its
 * clock; the holder's own deadline is the clock-skew bound earlier; a contender whose clock is
 * ahead by the bound takes over at that deadline and never before; one ahead by more would
 * overlap (why the bound is stated); a renewal moves both edges; tokens keep growing across a
 * record removed by TTL.
 */
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { LOCK_ATTRIBUTES } from '../../../contracts/locks';
import { LockClient, type HeldLock } from '../../../runtime';
import { useLocalAws } from '../../support/local-aws';
import { ManualTime, createLockTable } from './support';

const aws = useLocalAws();
let table: string;
beforeAll(async () => { table = await createLockTable(aws.dynamodb); });

const LEASE_MS = 10_000;
const SKEW_MS = 1_000;
const held: HeldLock[] = [];
afterEach(async () => { await Promise.all(held.splice(0).map((l) => l.release().catch(() => undefined))); });

/** A participant with its own clock, `skewMs` ahead of true time; the bound every participant states is SKEW_MS. */
function participant(time: ManualTime, holder: string, skewMs = 0): LockClient {
  return new LockClient({ tableName: table, dynamodb: aws.dynamodb, holder, leaseSeconds: LEASE_MS / 1000, clockSkewMs: SKEW_MS, clock: time.clock(skewMs) });
}
let n = 0;
const lockName = () => `edge-${++n}`;
const take = async (c: LockClient, name: string) => {
  const lock = await c.tryAcquire(name, { autoRenew: false });
  if (lock) held.push(lock);
  return lock;
};

describe('lease edges, by controllable clocks', () => {
  test('a contender takes over exactly when the record\'s expiry is reached by its clock, not a millisecond before', async () => {
    // GIVEN a lock taken at T with a lease of 10 s (expiry T + 10,000 ms in the record)
    const time = new ManualTime();
    const name = lockName();
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
    const a = (await take(participant(time, 'a'), lockName()))!;
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
    const name = lockName();
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
    const name = lockName();
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
    const name = lockName();
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
    const name = lockName();
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
