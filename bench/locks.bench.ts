/**
 * The lock client against dynamodb-lock-client (0.7.3, FailOpen: the npm library a user would
 * pick, with heartbeats and fencing tokens), at equal lease and heartbeat settings, on one moto,
 * each side's DynamoDB requests through its own counting proxy (test/support/fault-proxy.ts),
 * the sides interleaved with the order rotating every repetition:
 * - takeover after a crash: a holder process is killed with SIGKILL; a contender already waiting
 *   (and, separately, one that arrives after the lease has ended) takes the lock over: time from
 *   the kill (or the arrival) to holding it;
 * - DynamoDB requests per held minute: one holder, renewing, for a fixed time; and requests per
 *   minute of a contender waiting meanwhile (reported, not a goal);
 * - acquire latency under contention of 2, 8 and 32 contenders, each taking the lock, holding
 *   it 20 ms and releasing it, over a fixed window.
 * The peer runs twice: with its defaults (`trustLocalTime: false`) and with `trustLocalTime: true`,
 * and the ratio is against the better of the two.
 *
 * Run as a child process with LOCK_BENCH_HOLDER set, this file is the holder that gets killed.
 */
import { fork, type ChildProcess } from 'child_process';
import { performance } from 'perf_hooks';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_AWS_ENV, startMoto, type MotoServer } from '../local/moto';
import { LockClient, type HeldLock } from '../runtime/locks';
import { startCountingProxy, type CountingProxy } from '../test/support/fault-proxy';
import type { BenchOutcome, BenchSide } from './lib/results';

const LEASE_MS = 3000;
const HEARTBEAT_MS = 1000;
const REPS = Number(process.env.LOCK_BENCH_REPS ?? 3);
const HELD_MS = Number(process.env.LOCK_BENCH_HELD_MS ?? 15_000);
const CONTENTION = [2, 8, 32] as const;
const CONTENTION_WINDOW_MS = 6000;
const HOLD_MS = 20;
const THINK_MS = 100;

// --- the peer, typed as much as we use it --------------------------------------------------

interface PeerLock { readonly fencingToken: number; release(callback: (error?: Error) => void): void; on(event: 'error', f: (e: Error) => void): void }
interface PeerClient { acquireLock(id: string, callback: (error: Error | undefined, lock: PeerLock) => void): void }
interface PeerModule { FailOpen: new (config: Record<string, unknown>) => PeerClient }

function peerModule(): PeerModule {
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('dynamodb-lock-client') as PeerModule;
}

/** The peer's DocumentClient: aws-sdk v2, its declared peer dependency (it reads `error.code`, which SDK v3 errors lack). */
function peerDocumentClient(endpoint: string): unknown {
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const AWS = require('aws-sdk') as { DynamoDB: { new (o: object): unknown; DocumentClient: new (o: object) => unknown } };
  return new AWS.DynamoDB.DocumentClient({ service: new AWS.DynamoDB({ endpoint, region: process.env.AWS_REGION ?? 'us-east-1' }) });
}

const PEER_TABLE = 'bench-dynamodb-lock-client';
const OURS_TABLE = 'bench-lock-table';

/** A side of the comparison: how it takes and releases a lock, through its own proxy. */
interface Side {
  readonly label: string;
  readonly kind: 'ours' | 'peer' | 'peer-trust';
  acquire(name: string): Promise<() => Promise<void>>;
  readonly proxy: CountingProxy;
}

function ourSide(proxy: CountingProxy): Side {
  const client = new LockClient({ tableName: OURS_TABLE, dynamodb: new DynamoDBClient({ endpoint: proxy.endpoint }), leaseSeconds: LEASE_MS / 1000 });
  return {
    label: 'LockClient (this library)',
    kind: 'ours',
    proxy,
    acquire: async (name) => {
      const lock: HeldLock = await client.acquire(name, { waitSeconds: 120, renewEverySeconds: HEARTBEAT_MS / 1000 });
      return async () => { await lock.release(); };
    },
  };
}

function peerSide(proxy: CountingProxy, trustLocalTime: boolean): Side {
  const client = new (peerModule().FailOpen)({
    dynamodb: peerDocumentClient(proxy.endpoint), lockTable: PEER_TABLE, partitionKey: 'id',
    leaseDurationMs: LEASE_MS, heartbeatPeriodMs: HEARTBEAT_MS, retryCount: 1_000_000, trustLocalTime,
  });
  return {
    label: trustLocalTime ? 'dynamodb-lock-client 0.7.3 (trustLocalTime: true)' : 'dynamodb-lock-client 0.7.3 (defaults)',
    kind: trustLocalTime ? 'peer-trust' : 'peer',
    proxy,
    acquire: (name) => new Promise((resolve, reject) => client.acquireLock(name, (error, lock) => {
      if (error) return reject(error);
      lock.on('error', () => undefined); // a heartbeat after the lock was taken over: expected in a takeover
      resolve(() => new Promise<void>((done, fail) => lock.release((e) => (e ? fail(e) : done()))));
    })),
  };
}

// --- the holder that gets killed -----------------------------------------------------------

async function holderProcess(): Promise<void> {
  const { kind, name, endpoint } = JSON.parse(process.env.LOCK_BENCH_HOLDER!) as { kind: Side['kind']; name: string; endpoint: string };
  const proxyLike = { endpoint } as CountingProxy;
  const side = kind === 'ours' ? ourSide(proxyLike) : peerSide(proxyLike, kind === 'peer-trust');
  await side.acquire(name);
  process.send!('acquired');
  process.on('disconnect', () => process.exit(0));
}

function startHolder(kind: Side['kind'], name: string, endpoint: string): Promise<ChildProcess> {
  const child = fork(__filename, [], {
    execArgv: ['-r', 'esbuild-register'],
    env: { ...process.env, LOCK_BENCH_HOLDER: JSON.stringify({ kind, name, endpoint }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`holder exited with ${code} before acquiring`)));
  });
}

// --- measurements ----------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let names = 0;
const freshName = (what: string) => `${what}-${++names}-${Date.now()}`;

/** Kill the holder with a contender waiting (at a random point of its heartbeat), or arrive after its lease ended: ms until held. */
async function takeover(side: Side, moto: MotoServer, arriveLate: boolean): Promise<number> {
  const name = freshName('takeover');
  const holder = await startHolder(side.kind, name, moto.endpoint);
  let waiting: Promise<() => Promise<void>> | undefined;
  if (!arriveLate) {
    waiting = side.acquire(name);
    await sleep(HEARTBEAT_MS + Math.random() * HEARTBEAT_MS);
  }
  const killedAt = performance.now();
  holder.kill('SIGKILL');
  let from = killedAt;
  if (arriveLate) {
    await sleep(LEASE_MS + 500);
    from = performance.now();
    waiting = side.acquire(name);
  }
  const release = await waiting!;
  const ms = performance.now() - from;
  await release();
  return ms;
}

/** Requests per minute of one holder renewing for HELD_MS, and of one contender waiting meanwhile (its own proxy). */
async function heldMinute(side: Side, waiterSide: Side): Promise<{ holder: number; waiter: number }> {
  const name = freshName('held');
  side.proxy.reset();
  const started = performance.now();
  const release = await side.acquire(name);
  waiterSide.proxy.reset();
  const waiter = waiterSide.acquire(name);
  await sleep(HELD_MS);
  const waiterRequests = waiterSide.proxy.counts.requests;
  await release();
  const heldMs = performance.now() - started;
  const holderRequests = side.proxy.counts.requests;
  await (await waiter)(); // it gets the lock at last; release it
  return { holder: (holderRequests / heldMs) * 60_000, waiter: (waiterRequests / HELD_MS) * 60_000 };
}

/**
 * C contenders taking, holding 20 ms and releasing one lock for a window: acquire latencies (an
 * unfinished wait counts as its length so far). Waits still open two leases after the window are
 * left to finish in the background (each then releases at once): the side's contention client has
 * a proxy of its own, so they never count in another measurement's requests.
 */
async function contention(side: Side, contenders: number): Promise<{ latencies: number[]; acquisitions: number; served: number }> {
  const name = freshName(`contention-${contenders}`);
  const latencies: number[] = [];
  const pending = new Set<number>();
  let acquisitions = 0;
  const servedBy = new Set<number>();
  const endAt = performance.now() + CONTENTION_WINDOW_MS;
  await Promise.all(Array.from({ length: contenders }, async (_, who) => {
    // Each contender comes back after some work of its own (0 to 100 ms), not the instant it released.
    await sleep(Math.random() * THINK_MS);
    while (performance.now() < endAt) {
      const asked = performance.now();
      pending.add(asked);
      const release = await side.acquire(name);
      pending.delete(asked);
      const got = performance.now();
      // A wait that outlasted the window counts up to the window's end, like one still open.
      latencies.push(Math.min(got, endAt) - asked);
      if (got <= endAt) {
        acquisitions++;
        servedBy.add(who);
      }
      await sleep(HOLD_MS);
      await release();
      await sleep(Math.random() * THINK_MS);
    }
  }).map((p) => Promise.race([p, sleep(CONTENTION_WINDOW_MS + LEASE_MS * 2)])));
  // A wait still open when the window closed counts as its length up to then (a lower bound).
  for (const asked of pending) latencies.push(Math.max(0, endAt - asked));
  return { latencies, acquisitions, served: servedBy.size };
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const median = (xs: number[]) => percentile(xs, 50);
const r1 = (n: number) => Math.round(n * 10) / 10;

export async function run(): Promise<BenchOutcome> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const moto = await startMoto();
  Object.assign(process.env, LOCAL_AWS_ENV);
  const proxies: CountingProxy[] = [];
  try {
    const setup = new DynamoDBClient({ endpoint: moto.endpoint });
    await setup.send(new CreateTableCommand({ TableName: OURS_TABLE, KeySchema: [{ AttributeName: 'name', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'name', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }));
    // The peer's layout as its README's CloudFormation template makes it (partition key `id`), on demand like ours.
    await setup.send(new CreateTableCommand({ TableName: PEER_TABLE, KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }));
    const proxy = async () => { const p = await startCountingProxy(moto.endpoint); proxies.push(p); return p; };
    const sides: Side[] = [ourSide(await proxy()), peerSide(await proxy(), false), peerSide(await proxy(), true)];
    const waiters: Record<string, Side> = { ours: ourSide(await proxy()), peer: peerSide(await proxy(), false), 'peer-trust': peerSide(await proxy(), true) };
    const contenders: Record<string, Side> = { ours: ourSide(await proxy()), peer: peerSide(await proxy(), false), 'peer-trust': peerSide(await proxy(), true) };
    const figures: Record<string, Record<string, number[]>> = { ours: {}, peer: {}, 'peer-trust': {} };
    const add = (side: Side, figure: string, value: number) => { (figures[side.kind]![figure] ??= []).push(value); };
    const orders: string[] = [];

    for (let rep = 0; rep < REPS; rep++) {
      const order = sides.map((_, i) => sides[(i + rep) % sides.length]!);
      orders.push(order.map((s) => s.kind).join(', '));
      for (const side of order) {
        add(side, 'takeover after a crash, contender waiting (ms, median)', await takeover(side, moto, false));
        add(side, 'takeover after a crash, contender arriving after the lease ended (ms, median)', await takeover(side, moto, true));
        if (rep < 2) {
          const held = await heldMinute(side, waiters[side.kind]!);
          add(side, 'DynamoDB requests per held minute (one holder)', held.holder);
          add(side, 'DynamoDB requests per minute of a contender waiting (median)', held.waiter);
        }
        for (const c of CONTENTION) {
          const { latencies, acquisitions, served } = await contention(contenders[side.kind]!, c);
          add(side, `acquire latency p50, ${c} contenders (ms)`, median(latencies));
          add(side, `acquire latency p95, ${c} contenders (ms)`, percentile(latencies, 95));
          add(side, `longest wait, ${c} contenders (ms)`, Math.max(...latencies));
          add(side, `acquisitions per second, ${c} contenders`, acquisitions / (CONTENTION_WINDOW_MS / 1000));
          add(side, `contenders served at least once, ${c} contenders (%)`, (served / c) * 100);
        }
        console.log(`  rep ${rep + 1} ${side.kind}: takeover ${r1(figures[side.kind]!['takeover after a crash, contender waiting (ms, median)']!.at(-1)!)} ms`);
      }
    }

    const summarize = (kind: string, label: string): BenchSide => ({
      label,
      figures: Object.fromEntries(Object.entries(figures[kind]!).map(([k, v]) => [k, r1(median(v))])),
    });
    const ours = summarize('ours', sides[0]!.label);
    const peer = summarize('peer', sides[1]!.label);
    const trust = summarize('peer-trust', sides[2]!.label);
    // Every figure here is better lower, except acquisitions per second.
    const higherBetter = (k: string) => k.startsWith('acquisitions') || k.startsWith('contenders served');
    const better = (k: string) => {
      const a = peer.figures[k]!;
      const b = trust.figures[k]!;
      return higherBetter(k) ? Math.max(a, b) : Math.min(a, b);
    };
    const ratios = Object.fromEntries(Object.keys(ours.figures).map((k) => [k, Number((ours.figures[k]! / better(k)).toFixed(3))]));
    const TAKE = 'takeover after a crash, contender waiting (ms, median)';
    const LATE = 'takeover after a crash, contender arriving after the lease ended (ms, median)';
    const HELD = 'DynamoDB requests per held minute (one holder)';
    const speedup = (k: string, against: BenchSide) => Number((against.figures[k]! / ours.figures[k]!).toFixed(2));
    return {
      title: 'Locks vs dynamodb-lock-client: takeover after a crash, requests per held minute, acquire latency under contention',
      method:
        `Both clients on one moto, each side's DynamoDB client behind its own counting proxy, lease ${LEASE_MS / 1000} s and heartbeat (renewal) every ${HEARTBEAT_MS / 1000} s on both, ` +
        `dynamodb-lock-client as FailOpen (the client with leases, heartbeats and fencing tokens) on aws-sdk v2's DocumentClient (its declared peer dependency), retryCount 1,000,000 so it keeps waiting; ours with its default clock-skew bound (1 s). ` +
        `Takeover: a holder process (one per run) is killed with SIGKILL, with a contender already waiting (the kill lands 1 to 2 heartbeats after it began, at random), or with one arriving ${LEASE_MS / 1000 + 0.5} s after the kill; ` +
        `time from the kill (or the arrival) to holding the lock. Requests per held minute: one holder for ${HELD_MS / 1000} s, requests counted from its acquire to its release; a second client waits for the same lock meanwhile, counted apart. ` +
        `Contention: ${CONTENTION.join(', ')} contenders in one process, each taking the lock, holding it ${HOLD_MS} ms, releasing it and coming back 0 to ${THINK_MS} ms later, for ${CONTENTION_WINDOW_MS / 1000} s; a wait still open when the window closes counts as its length up to then. ` +
        `${REPS} repetitions (requests per held minute: 2), interleaved, the order rotating every repetition; medians over repetitions.`,
      ours,
      peer: trust.figures[TAKE]! <= peer.figures[TAKE]! ? trust : peer,
      otherPeers: [trust.figures[TAKE]! <= peer.figures[TAKE]! ? peer : trust],
      ratios,
      ratioNote: 'ratio (ours / the better of the two peer settings)',
      repetitions: REPS,
      order: `interleaved, the order of the three sides rotating every repetition: ${orders.map((o, i) => `${i + 1}: ${o}`).join('; ')}`,
      summary:
        `Against dynamodb-lock-client with its defaults, a killed holder's lock is taken over ${speedup(TAKE, peer)}x faster by a contender already waiting and ${speedup(LATE, peer)}x faster by one arriving after the lease ended (it waits a full lease first). ` +
        `With trustLocalTime (no clock-skew margin) the peer takes over as fast as ours (${speedup(TAKE, trust)}x and ${speedup(LATE, trust)}x), so the 2x goal is missed against its better setting. ` +
        `Requests per held minute: ${(ours.figures[HELD]! / Math.min(peer.figures[HELD]!, trust.figures[HELD]!)).toFixed(2)}x the peer's (goal met). A waiting contender of ours costs more requests (it retries within a second so that it notices a release); see the contention rows for what that buys.`,
      goals: [
        {
          goal: 'takeover after a crash at least 2x faster than dynamodb-lock-client, at its better setting (both scenarios)',
          measured: `contender waiting: ${ours.figures[TAKE]} ms vs ${peer.figures[TAKE]} ms with its defaults (${speedup(TAKE, peer)}x) and ${trust.figures[TAKE]} ms with trustLocalTime (${speedup(TAKE, trust)}x); ` +
            `arriving after the lease ended: ${ours.figures[LATE]} ms vs ${peer.figures[LATE]} ms (${speedup(LATE, peer)}x) and ${trust.figures[LATE]} ms (${speedup(LATE, trust)}x)`,
          met: Math.min(speedup(TAKE, peer), speedup(TAKE, trust), speedup(LATE, peer), speedup(LATE, trust)) >= 2,
        },
        {
          goal: 'no more DynamoDB requests per held minute than dynamodb-lock-client',
          measured: `${ours.figures[HELD]} vs ${peer.figures[HELD]} (defaults) and ${trust.figures[HELD]} (trustLocalTime)`,
          met: ours.figures[HELD]! <= Math.min(peer.figures[HELD]!, trust.figures[HELD]!),
        },
      ],
      notes: [
        'Lower is better for every figure but acquisitions per second and contenders served.',
        `Order of the sides in each repetition: ${orders.map((o, i) => `${i + 1}: ${o}`).join('; ')}.`,
        'How each takes over: ours writes the lease\'s end into the record and a contender\'s conditional write succeeds once its clock passes it (the holder stops 1 s, the clock-skew bound, earlier by its own clock); a waiting contender sleeps at most until that end. ' +
          'dynamodb-lock-client with its defaults reads the lock and sleeps a full lease before a conditional write on the guid it read; every heartbeat changes the guid, so a contender waiting while the holder lived fails once and sleeps a full lease again after the last heartbeat. ' +
          'With trustLocalTime it sleeps until the lease it read ends, by local time with no skew margin, which takes over as fast as ours.',
        "Reading the contention rows: the peer's median wait is low because the contender that just released usually takes the lock again at once, while the others sleep out the lease they read and miss the release (its longest wait and the share of contenders served show that starvation); ours retries within a second, so the lock passes between contenders (every one served at 2 and 8 contenders, most at 32) at a higher median wait and a higher throughput. Neither side queues its waiters, so neither is fair.",
        'Waiting costs more requests with ours: a contender retries every 50 ms to 1 s (doubling), so that a release is noticed within a second; the peer\'s contender makes two requests per lease. That is the price of the contention rows.',
        'A holder of ours learns that its lease is lost (its signal fires at its own deadline); the peer\'s lock emits an error only when a heartbeat write fails, and its README warns that a paused holder goes on "assuming it still has a lock". Not measured here: see the drills in test/runtime/locks/drills.test.ts.',
        'Both sides share the machine\'s 2 cores with moto, the proxies and other work; the holder processes start through esbuild-register before each takeover run, outside the timed part.',
      ],
    };
  } finally {
    for (const p of proxies) await p.close();
    await moto.stop();
  }
}

if (process.env.LOCK_BENCH_HOLDER) {
  holderProcess().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
