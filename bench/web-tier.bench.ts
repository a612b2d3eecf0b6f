/**
 * The web tier through the local load balancer (local/web-tier), load from autocannon in its own
 * process, in one run, interleaved, several repetitions:
 *
 * 1. Failed requests during a rolling restart of 2 servers under load (new servers healthy
 *    first, then SIGTERM to the old ones, the balancer not told): ours (runWebServerFromEnv:
 *    readiness flip, notice, drain) vs the same app on a plain `http.createServer` with Node's
 *    defaults, behind the same balancer. Timings scaled down on both sides alike (health checks
 *    every 200 ms, the server's notice 0.6 s), as in the drills.
 * 2. Requests/s and p99 latency of the app served directly (one server, ours) vs through the
 *    balancer to 1 and to 2 servers: the balancer's cost.
 */
import { spawn } from 'child_process';
import * as path from 'path';
import { setTimeout as sleep } from 'timers/promises';
import { READINESS_PATH } from '../contracts/web-tier';
import { freePort } from '../local/moto';
import { exited, spawnNode } from '../local/processes';
import { LocalLoadBalancer } from '../local/web-tier/load-balancer';
import { ServerPool } from '../local/web-tier/server-pool';
import { bundleDrillServers } from '../test/lib/web-tier/fixtures/bundle';
import type { BenchGoal, BenchOutcome } from './lib/results';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, '.tmp', 'bench-web-tier');
const REPS = 3;
const RESTART_CONNECTIONS = 10;
const RESTART_LOAD_SECONDS = 12;
const THROUGHPUT_CONNECTIONS = 20;
const THROUGHPUT_SECONDS = 5;
const HEALTH = { path: READINESS_PATH, intervalMs: 200, timeoutMs: 150, healthyThreshold: 2, unhealthyThreshold: 2 };
const SERVER_TIMINGS = { unreadyNoticeSeconds: 0.6, drainSeconds: 2, shutdownSeconds: 2.6 };

interface Load { readonly requests: number; readonly failed: number; readonly rps: number; readonly p99: number }

/** autocannon in its own process, so that it does not share the balancer's event loop. */
async function loadFor(url: string, connections: number, seconds: number): Promise<Load> {
  const child = spawn(process.execPath, [require.resolve('autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(seconds), url], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => { out += c; });
  await new Promise((resolve) => child.once('exit', resolve));
  const r = JSON.parse(out) as { requests: { total: number; average: number }; non2xx: number; errors: number; timeouts: number; latency: { p99: number } };
  return { requests: r.requests.total, failed: r.non2xx + r.errors + r.timeouts, rps: r.requests.average, p99: r.latency.p99 };
}

async function tier(program: string, servers: number, delayMs: number) {
  const balancer = new LocalLoadBalancer({ healthCheck: HEALTH, deregistrationDelayMs: 3_000, idleTimeoutMs: 60_000, onTargetState: (t, p) => pool.onTargetState(t, p) });
  const pool: ServerPool = new ServerPool({
    nodeArgs: [program],
    env: { PATH: process.env.PATH, DRILL_DELAY_MS: String(delayMs), DRILL_TIMINGS: JSON.stringify(SERVER_TIMINGS) },
    balancer, name: path.basename(program, '.mjs'), healthyTimeoutMs: 15_000, gracePeriodMs: 5_000, stopTimeoutMs: 5_000,
  });
  await balancer.start();
  await pool.launchHealthy(servers);
  return { balancer, pool, stop: async () => { await pool.stop(); await balancer.stop(); } };
}

/** Failed requests while both servers are replaced under load. */
async function restartFailures(program: string): Promise<{ failed: number; requests: number; restartMs: number }> {
  const t = await tier(program, 2, 20);
  try {
    const load = loadFor(t.balancer.url, RESTART_CONNECTIONS, RESTART_LOAD_SECONDS);
    await sleep(1_500);
    const started = Date.now();
    await t.pool.rollingRestart();
    const restartMs = Date.now() - started;
    const r = await load;
    if (restartMs > (RESTART_LOAD_SECONDS - 2) * 1000) throw new Error(`the restart took ${restartMs} ms, longer than the load ran`);
    return { failed: r.failed, requests: r.requests, restartMs };
  } finally {
    await t.stop();
  }
}

/** The app served directly by one server of ours, on its own port. */
async function direct(program: string): Promise<Load> {
  const port = await freePort();
  const child = spawnNode([program], { env: { PATH: process.env.PATH, DRILL_DELAY_MS: '0', WEB_TIER_PORT: String(port), WEB_TIER_HOST: '127.0.0.1' } });
  try {
    const deadline = Date.now() + 15_000;
    while ((await fetch(`http://127.0.0.1:${port}${READINESS_PATH}`).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error('the direct server did not get ready');
      await sleep(50);
    }
    return await loadFor(`http://127.0.0.1:${port}/`, THROUGHPUT_CONNECTIONS, THROUGHPUT_SECONDS);
  } finally {
    child.kill('SIGKILL');
    await exited(child);
  }
}

async function balanced(program: string, servers: number): Promise<Load> {
  const t = await tier(program, servers, 0);
  try {
    return await loadFor(t.balancer.url, THROUGHPUT_CONNECTIONS, THROUGHPUT_SECONDS);
  } finally {
    await t.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<BenchOutcome> {
  const programs = bundleDrillServers(OUT);

  // 1. Rolling restarts, interleaved.
  const ours: Array<{ failed: number; requests: number; restartMs: number }> = [];
  const plain: typeof ours = [];
  for (let i = 0; i < REPS; i++) {
    ours.push(await restartFailures(programs.ours));
    plain.push(await restartFailures(programs.plain));
    console.log(`  restart ${i + 1}: ours ${ours[i]!.failed} failed of ${ours[i]!.requests}, plain ${plain[i]!.failed} failed of ${plain[i]!.requests}`);
  }

  // 2. Throughput, interleaved.
  const d: Load[] = [];
  const b1: Load[] = [];
  const b2: Load[] = [];
  for (let i = 0; i < REPS; i++) {
    d.push(await direct(programs.ours));
    b1.push(await balanced(programs.ours, 1));
    b2.push(await balanced(programs.ours, 2));
    console.log(`  throughput ${i + 1}: direct ${d[i]!.rps} req/s, balancer+1 ${b1[i]!.rps}, balancer+2 ${b2[i]!.rps}`);
  }

  const sum = (xs: Array<{ failed: number }>) => xs.reduce((n, x) => n + x.failed, 0);
  const directRps = median(d.map((x) => x.rps));
  const b1Rps = median(b1.map((x) => x.rps));
  const b2Rps = median(b2.map((x) => x.rps));
  const cost1 = 1 - b1Rps / directRps;
  const cost2 = 1 - b2Rps / directRps;
  const goals: BenchGoal[] = [
    { goal: `0 failed requests during rolling restarts under load (ours, ${REPS} restarts of 2 servers)`, measured: `${sum(ours)} failed of ${ours.reduce((n, x) => n + x.requests, 0)}`, met: sum(ours) === 0 },
    { goal: 'the local balancer costs under 20% of the throughput (1 server behind it vs served directly)', measured: `${(cost1 * 100).toFixed(0)}% (${b1Rps} vs ${directRps} req/s)`, met: cost1 < 0.2 },
  ];
  return {
    title: 'Web tier: rolling restarts and the local balancer',
    method: `Rolling restart of 2 servers under load (${RESTART_CONNECTIONS} connections, 20 ms per request, autocannon in its own process) through the local balancer, ` +
      `${REPS} times each, interleaved: the catalog's web server vs the same app on a plain http.createServer with Node's defaults. ` +
      `Then requests/s and p99 latency (${THROUGHPUT_CONNECTIONS} connections, ${THROUGHPUT_SECONDS} s, medians of ${REPS}) of the app (no delay) served directly and through the balancer to 1 and 2 servers.`,
    ours: {
      label: 'catalog web server',
      figures: {
        'failed requests in 3 rolling restarts': sum(ours),
        'requests during the restarts': ours.reduce((n, x) => n + x.requests, 0),
        'restart duration, s (median)': median(ours.map((x) => x.restartMs)) / 1000,
        'req/s served directly': directRps,
        'req/s via balancer, 1 server': b1Rps,
        'req/s via balancer, 2 servers': b2Rps,
        'p99 ms served directly': median(d.map((x) => x.p99)),
        'p99 ms via balancer, 1 server': median(b1.map((x) => x.p99)),
        'p99 ms via balancer, 2 servers': median(b2.map((x) => x.p99)),
      },
    },
    peer: {
      label: 'plain http.createServer (Node defaults)',
      figures: {
        'failed requests in 3 rolling restarts': sum(plain),
        'requests during the restarts': plain.reduce((n, x) => n + x.requests, 0),
        'restart duration, s (median)': median(plain.map((x) => x.restartMs)) / 1000,
      },
    },
    ratios: {},
    goals,
    notes: [
      'Lower is better for failed requests and p99; the throughput rows compare the balancer with the app served directly (ours on both sides), not ours with the peer.',
      `The balancer's cost: ${(cost1 * 100).toFixed(0)}% of the throughput with 1 server, ${(cost2 * 100).toFixed(0)}% with 2 (negative: more than direct). ` +
        'On this machine the balancer, the servers and autocannon share 2 cores with the other engineers\' jobs: a proxy that parses and re-sends every request costs about as much CPU as the app it fronts, and with 2 cores there is no idle core for it.',
      'The peer\'s failures are the requests in flight when SIGTERM ends its process at once (no readiness flip, no drain); the balancer sends new requests elsewhere once a connection is refused, as a request never sent is safe to send again.',
    ],
  };
}
