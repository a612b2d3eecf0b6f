/**
 * Faults moto cannot make, through the fault proxy (test/support/fault-proxy.ts) in front of it:
 * "the table could not be reached" (server errors, a closed port) is LockTableUnreachableError
 * and leaves a holder's lease running to its deadline; "the lock was lost" is LockLostError; and
 * replies lost after DynamoDB applied a write (an acquire, a renewal, a release) are recognized
 * for what they did instead of being reported wrongly.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { LOCK_ATTRIBUTES } from '../../../contracts/locks';
import { LockClient, LockLostError, LockTableUnreachableError, type LockClientOptions } from '../../../runtime';
import { startFaultProxy, type FaultProxy, type FaultResponse, type ProxiedRequest } from '../../support/fault-proxy';
import { useLocalAws } from '../../support/local-aws';
import { createLockTable, sleep } from './support';

const aws = useLocalAws();
let table: string;
let proxy: FaultProxy;
let viaProxy: DynamoDBClient;

beforeAll(async () => {
  table = await createLockTable(aws.dynamodb);
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

const client = (holder: string, options: Partial<LockClientOptions> = {}) => new LockClient({ tableName: table, dynamodb: viaProxy, holder, clockSkewMs: 0, leaseSeconds: 1.2, ...options });
let n = 0;
const lockName = () => `fault-${++n}`;
const expiresAtInTable = async (name: string) => Number((await aws.dynamodb.send(new GetItemCommand({ TableName: table, Key: { [LOCK_ATTRIBUTES.name]: { S: name } }, ConsistentRead: true }))).Item![LOCK_ATTRIBUTES.expiresAt]!.N);

describe('the lock table unreachable, apart from the lock lost', () => {
  test('an acquire that cannot reach the table fails with LockTableUnreachableError, not as "held by another"', async () => {
    // GIVEN a table answering every request with a server error (after the SDK's retries)
    proxy.setRule(() => dynamodbError('InternalServerError', 500));
    // WHEN a lock is asked for THEN the error says the table could not be reached
    const attempt = client('a').acquire(lockName(), { waitSeconds: 5 });
    await expect(attempt).rejects.toBeInstanceOf(LockTableUnreachableError);
    await expect(attempt).rejects.toThrow(/could not reach the lock table to acquire lock "fault-\d+" \(InternalServerError: injected InternalServerError\)/);
    // and so does a closed port
    const closed = new LockClient({ tableName: table, dynamodb: new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }), clockSkewMs: 0 });
    await expect(closed.tryAcquire(lockName())).rejects.toMatchObject({ name: 'LockTableUnreachableError', operation: 'acquire' });
  });

  test('a renewal that cannot reach the table leaves the lease running to its deadline, then the signal fires with the cause', async () => {
    // GIVEN a holder (lease 1.2 s, no timer) and a table that stops answering renewals
    const lock = await client('a').acquire(lockName(), { autoRenew: false });
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
    const name = lockName();
    const a = await client('a', { leaseSeconds: 5 }).acquire(name, { autoRenew: false });
    await client('b', { clock: { now: () => Date.now() + 60_000, monotonic: () => performance.now() } }).acquire(name, { waitSeconds: 0 });
    await expect(a.renew()).rejects.toMatchObject({ name: 'LockLostError', reason: 'taken' });
  });
});

describe('lost replies', () => {
  test('an acquire whose reply was lost after DynamoDB applied it is recognized as taken (the SDK\'s retry finds our own record)', async () => {
    // GIVEN a table that applies the first acquire and loses its reply
    let lost = 0;
    proxy.setRule((r) => (kind(r) === 'acquire' && lost++ === 0 ? dynamodbError('InternalServerError', 500, true) : undefined));
    // WHEN a lock is acquired THEN it is ours, with the token the applied write gave
    const name = lockName();
    const lock = await client('a').acquire(name);
    expect(lost).toBe(2); // the lost one, and the SDK's retry that found our record
    expect(await client('b').inspect(name)).toMatchObject({ held: true, holder: 'a', token: lock.token });
    await lock.release();
  });

  test('a renewal whose replies were lost extended the lease in the table; the holder keeps its own deadline until a renewal is confirmed', async () => {
    // GIVEN a holder and a table that applies every renewal and loses every reply
    const name = lockName();
    const lock = await client('a').acquire(name, { autoRenew: false });
    const before = await expiresAtInTable(name);
    const remaining = lock.remainingMs;
    await sleep(100);
    proxy.setRule((r) => (kind(r) === 'renew' ? dynamodbError('InternalServerError', 500, true) : undefined));
    // WHEN it renews THEN it is told the table could not be reached...
    await expect(lock.renew()).rejects.toBeInstanceOf(LockTableUnreachableError);
    // ...though the table took the renewal (each retry of the SDK too), and no one else can take the lock
    expect(await expiresAtInTable(name)).toBeGreaterThan(before);
    expect(await client('b').tryAcquire(name)).toBeUndefined();
    // and the holder did not count on it: its deadline did not move
    expect(lock.remainingMs).toBeLessThan(remaining);
    // WHEN the replies come back THEN the next renewal is confirmed, and the lock held on
    proxy.setRule(undefined);
    await lock.renew();
    expect(lock.remainingMs).toBeGreaterThan(remaining - 100);
    expect(await lock.release()).toBe(true);
  });

  test('a release whose reply was lost is recognized as released when the SDK retries it', async () => {
    const name = lockName();
    const lock = await client('a').acquire(name);
    let lost = 0;
    proxy.setRule((r) => (kind(r) === 'release' && lost++ === 0 ? dynamodbError('InternalServerError', 500, true) : undefined));
    expect(await lock.release()).toBe(true);
    expect(lost).toBe(2); // the lost one, and the SDK's retry that found it released
    expect((await client('b').inspect(name)).held).toBe(false);
  });
});
