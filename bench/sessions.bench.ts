/**
 * The session store against connect-dynamodb, the DynamoDB store express-session users pick:
 * the same express app with express-session, once with DynamoSessionStore and once with
 * connect-dynamodb (3.0.5, on an existing table as its README and types say: `table`, `client`,
 * `initialized: true`), on the same moto, through a counting proxy each. A scripted mix of page
 * views from concurrent visitors, repeated, the contenders interleaved: DynamoDB requests per 100
 * page views, and p50/p99 milliseconds per page view.
 */
import { performance } from 'perf_hooks';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import connectDynamoDB from 'connect-dynamodb';
import session, { type Store } from 'express-session';
import { LOCAL_AWS_ENV, startMoto } from '../local/moto';
import { DynamoSessionStore, expressSessionOptions } from '../runtime/index';
import { createSessionTable } from '../test/support/session-table';
import type { BenchOutcome, BenchSide } from './lib/results';
import { startApp } from './sessions/app';
import { startFaultProxy, type FaultProxy } from '../test/support/fault-proxy';

const VISITORS = 10;
const VIEWS_PER_VISITOR = 50;
const REPS = 4;
/** The mix after a visitor's first two views (anonymous page, then the first cart write): reads, writes, sign-ins. */
const MIX = { read: 0.9, write: 0.08, login: 0.02 };
const SECRET = 'benchmark-secret-for-both-contenders-0123456789';

type View = 'anonymous' | 'read' | 'write' | 'login';

/** The same scripted visit for both contenders: a seeded generator, so rep r of each side sends the same views. */
function script(seed: number): View[][] {
  let s = seed >>> 0;
  const random = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: VISITORS }, () => {
    const views: View[] = ['anonymous', 'write'];
    while (views.length < VIEWS_PER_VISITOR) {
      const x = random();
      views.push(x < MIX.read ? 'read' : x < MIX.read + MIX.write ? 'write' : 'login');
    }
    return views;
  });
}

interface Contender {
  readonly label: string;
  readonly proxy: FaultProxy;
  readonly url: string;
  readonly latencies: number[];
  requests: number;
  views: number;
  readonly byOperation: Record<string, number>;
}

async function visit(url: string, views: View[], latencies: number[]): Promise<void> {
  let cookie: string | undefined;
  for (const view of views) {
    const [method, path] = view === 'write' ? ['POST', '/cart'] : view === 'login' ? ['POST', '/login'] : ['GET', '/page'];
    const started = performance.now();
    const res = await fetch(`${url}${path}`, { method, headers: view !== 'anonymous' && cookie ? { cookie } : {} });
    await res.arrayBuffer();
    latencies.push(performance.now() - started);
    if (!res.ok) throw new Error(`${url}${path}: HTTP ${res.status}`);
    const set = res.headers.getSetCookie()[0];
    if (set) cookie = set.split(';')[0];
  }
}

async function rep(c: Contender, visits: View[][]): Promise<void> {
  c.proxy.reset();
  await Promise.all(visits.map((views) => visit(c.url, views, c.latencies)));
  const counts = { ...c.proxy.seen }; // by operation (X-Amz-Target)
  for (const [op, n] of Object.entries(counts)) c.byOperation[op] = (c.byOperation[op] ?? 0) + n;
  c.requests += Object.values(counts).reduce((a, b) => a + b, 0);
  c.views += visits.flat().length;
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

function side(c: Contender): BenchSide {
  const r = (n: number) => Number(n.toFixed(2));
  const writes = (c.byOperation.PutItem ?? 0) + (c.byOperation.UpdateItem ?? 0) + (c.byOperation.DeleteItem ?? 0);
  return {
    label: c.label,
    figures: {
      'DynamoDB requests per 100 page views': r((c.requests / c.views) * 100),
      'p50 ms per page view': r(percentile(c.latencies, 50)),
      'p99 ms per page view': r(percentile(c.latencies, 99)),
      'GetItem per 100 page views': r(((c.byOperation.GetItem ?? 0) / c.views) * 100),
      'writes per 100 page views (Put, Update, Delete)': r((writes / c.views) * 100),
      // On-demand DynamoDB bills a write request unit at 5x a read request unit; every item here is under 1 KB.
      'billed request units per 100 page views (a write counted as 5 reads)': r((((c.byOperation.GetItem ?? 0) + (c.byOperation.Query ?? 0) + 5 * writes) / c.views) * 100),
    },
  };
}

export async function run(): Promise<BenchOutcome> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const moto = await startMoto();
  Object.assign(process.env, LOCAL_AWS_ENV);
  const stops: (() => Promise<void>)[] = [];
  try {
    const setup = new DynamoDBClient({ endpoint: moto.endpoint });
    const oursTable = await createSessionTable(setup, 'bench-ours');
    const peerTable = 'bench-connect-dynamodb';
    // connect-dynamodb's own layout (hash key `id`), as its createSessionsTable would make it, on demand like ours
    await setup.send(new CreateTableCommand({
      TableName: peerTable, KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
    }));

    const oursProxy = await startFaultProxy(moto.endpoint);
    const peerProxy = await startFaultProxy(moto.endpoint);
    stops.push(() => oursProxy.stop(), () => peerProxy.stop());

    // The same express-session options for both (our defaults, over plain HTTP on loopback); only the store differs.
    const warn = console.warn;
    console.warn = () => undefined; // the insecure-cookie warning is expected here
    const ourStore = new DynamoSessionStore({ tableName: oursTable, client: new DynamoDBClient({ endpoint: oursProxy.endpoint }) });
    const options = expressSessionOptions({ store: ourStore, secrets: [SECRET], insecureHttpForLocalDevelopment: true });
    console.warn = warn;
    const PeerStore = connectDynamoDB(session) as unknown as new (o: connectDynamoDB.DynamoDBStoreOptions) => Store;
    const peerStore = new PeerStore({ table: peerTable, client: new DynamoDBClient({ endpoint: peerProxy.endpoint }), initialized: true });

    const oursApp = await startApp({ ...options, cookie: { ...options.cookie } });
    const peerApp = await startApp({ ...options, cookie: { ...options.cookie }, store: peerStore });
    stops.push(oursApp.stop, peerApp.stop);

    const ours: Contender = { label: 'DynamoSessionStore (this library)', proxy: oursProxy, url: oursApp.url, latencies: [], requests: 0, views: 0, byOperation: {} };
    const peer: Contender = { label: 'connect-dynamodb 3.0.5', proxy: peerProxy, url: peerApp.url, latencies: [], requests: 0, views: 0, byOperation: {} };

    // Warm-up (JIT, connections), not counted
    const warm = script(999).slice(0, 2);
    await rep(ours, warm);
    await rep(peer, warm);
    for (const c of [ours, peer]) { c.latencies.length = 0; c.requests = 0; c.views = 0; for (const k of Object.keys(c.byOperation)) delete c.byOperation[k]; }

    for (let r = 0; r < REPS; r++) {
      const visits = script(r + 1);
      const order = r % 2 === 0 ? [ours, peer] : [peer, ours];
      for (const c of order) await rep(c, visits);
      console.log(`  rep ${r + 1}: ours ${((ours.requests / ours.views) * 100).toFixed(1)}, peer ${((peer.requests / peer.views) * 100).toFixed(1)} requests per 100 views so far`);
    }

    const o = side(ours);
    const p = side(peer);
    const ratio = (k: string) => Number((o.figures[k]! / p.figures[k]!).toFixed(3));
    const requestRatio = ratio('DynamoDB requests per 100 page views');
    const p99Ratio = ratio('p99 ms per page view');
    return {
      title: 'Session store vs connect-dynamodb: DynamoDB requests and latency per page view (express-session)',
      method:
        `One express app with express-session (resave false, saveUninitialized false), run twice in one process with only the Store differing, on one moto server, ` +
        `each store's DynamoDB client behind its own counting proxy. ${VISITORS} concurrent visitors x ${VIEWS_PER_VISITOR} page views, ${REPS} repetitions, the contenders ` +
        `interleaved (order alternating), the same seeded script for both: an anonymous page, a first cart write, then ${MIX.read * 100}% reads, ${MIX.write * 100}% cart writes, ` +
        `${MIX.login * 100}% sign-ins (regenerate keeping data). Latency is per page view, measured by the client.`,
      repetitions: REPS,
      order: `interleaved, the order alternating every repetition (${Array.from({ length: REPS }, (_, r) => (r % 2 === 0 ? 'ours, peer' : 'peer, ours')).join('; ')}), after one untimed warm-up visit each; each repetition sends the same seeded script to both`,
      ours: o,
      peer: p,
      ratios: Object.fromEntries(Object.keys(o.figures).map((k) => [k, ratio(k)])),
      goals: [
        { goal: 'at most half the DynamoDB requests of connect-dynamodb', measured: `${requestRatio}x (${o.figures['DynamoDB requests per 100 page views']} vs ${p.figures['DynamoDB requests per 100 page views']} per 100 page views)`, met: requestRatio <= 0.5 },
        { goal: 'p99 per page view no worse than connect-dynamodb', measured: `${o.figures['p99 ms per page view']} vs ${p.figures['p99 ms per page view']} ms (${p99Ratio}x)`, met: p99Ratio <= 1 },
      ],
      notes: [
        'Lower is better for every figure.',
        `Requests by operation, all repetitions: ours ${JSON.stringify(ours.byOperation)}; connect-dynamodb ${JSON.stringify(peer.byOperation)}.`,
        'Where the difference comes from: express-session calls the store\'s touch on every unchanged page view; connect-dynamodb writes each time (UpdateItem), ours only once per touch interval (5 minutes by default, so never within this run). ' +
          'A read is one GetItem on both sides; a changed session is one GetItem plus one write on both; a sign-in is a read, a DeleteItem of the old id and a PutItem on both.',
        'So the floor of the ratio is 0.5, reached only when every page view is an unchanged read: writes and sign-ins cost the same on both sides. With this mix the expected ratio is about 0.55.',
        'connect-dynamodb: `initialized: true` (documented in its types for an existing table) so it sends no DescribeTable, and it is never granted CreateTable; no reapInterval (its README recommends TTL instead of its Scan-based reaper).',
        'DynamoDB on-demand pricing bills a write request unit at 5 times a read request unit (us-east-1 list prices at the time of writing: $1.25 and $0.25 per million); the billed-units figure weights them so, for items under 1 KB as here. It is a cost indication, not a goal.',
        'moto answers an UpdateItem with ReturnValues UPDATED_NEW without the attribute when its value did not change (two touches in one second); connect-dynamodb\'s touch then fails reading `Attributes.expires` and reports the error to express after the response went out. The request was made and counted and the page view succeeded; DynamoDB itself returns the attribute.',
        'Ours also does more per request than connect-dynamodb: expiry checks on read, version-conditioned writes, consistent reads on both.',
        'Both apps, both proxies, moto and the client share the machine\'s 2 cores with other work; p99 on a loaded machine is noisy.',
      ],
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
    await moto.stop();
  }
}
