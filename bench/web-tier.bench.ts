/**
 * The web tier through the local load balancer (local/web-tier), every process of its own (the
 * servers, the load from autocannon, and in part 2 the balancer), in one run, interleaved:
 *
 * 1. Failed requests during a rolling restart of 2 servers under load (new servers healthy
 *    first, then SIGTERM to the old ones, the balancer not told), at the timings the README
 *    derives from the defaults (health checks every 10 s, 5 s timeout, 2 to be healthy or
 *    unhealthy; the server's notice 25 s, drain 30 s; deregistration delay 35 s): ours
 *    (runWebServerFromEnv: readiness flip, notice, drain) against the same app on a plain
 *    `http.createServer` with a careful user's SIGTERM handling (`server.close()`, a drain), and
 *    with Node's defaults (no SIGTERM handling), behind the same balancer. The order of the three
 *    rotates every repetition.
 * 2. The balancer's cost: requests/s of the app (ours, no delay) served directly and through
 *    the balancer (in its own process) to the same server, and through a minimal forwarding
 *    proxy (the floor of any Node.js proxy), in short runs back to back with the order rotating,
 *    many repetitions: the cost of each repetition against the direct run next to it, its median
 *    and spread; and the CPU per request of each process, read from /proc.
 *
 * Knobs: BENCH_WEB_TIER_RESTARTS (default 3), BENCH_WEB_TIER_PAIRS (default 12).
 */
import { fork, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { setTimeout as sleep } from 'timers/promises';
import { READINESS_PATH, deriveWebTierTimings } from '../contracts/web-tier';
import { freePort } from '../local/moto';
import { exited, spawnNode } from '../local/processes';
import { LocalLoadBalancer } from '../local/web-tier/load-balancer';
import { ServerPool } from '../local/web-tier/server-pool';
import { localGracePeriodSeconds } from '../local/workloads/web-tier';
import { AGENT_ESBUILD_OPTIONS } from '../lib/core/bundling';
import { bundleDrillServers } from '../test/lib/web-tier/fixtures/bundle';
import type { BenchGoal, BenchOutcome } from './lib/results';
import { describeSpread, median, spread, verdict } from './lib/stats';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, '.tmp', 'bench-web-tier');
const RESTARTS = Number(process.env.BENCH_WEB_TIER_RESTARTS ?? 3);
const PAIRS = Number(process.env.BENCH_WEB_TIER_PAIRS ?? 12);
const RESTART_CONNECTIONS = 10;
const RESTART_DELAY_MS = 20;
const THROUGHPUT_CONNECTIONS = 20;
const THROUGHPUT_SECONDS = 3;
/** Untimed load on each path before the repetitions. */
const WARMUP_SECONDS = 3;
const GOAL_COST = 0.2;
/** The README's derived timings at the defaults (requestTimeout 30 s, idleTimeout 60 s), as WebTier deploys them. */
const T = deriveWebTierTimings({ requestTimeoutSeconds: 30, idleTimeoutSeconds: 60 });
const HEALTH = { path: READINESS_PATH, intervalMs: T.healthCheckIntervalSeconds * 1000, timeoutMs: T.healthCheckTimeoutSeconds * 1000, healthyThreshold: T.healthyThreshold, unhealthyThreshold: T.unhealthyThreshold };

interface Load { readonly requests: number; readonly failed: number; readonly rps: number; readonly p50: number; readonly p99: number; readonly cpuMs: number; readonly durationMs: number }

/** Starts autocannon in its own process; `stop()` ends it early; `result` is its figures. */
function startLoad(url: string, connections: number, seconds: number): { stop(): void; result: Promise<Load> } {
  const child = fork(path.join(__dirname, 'web-tier', 'load-child.ts'), [url, String(connections), String(seconds)], { execArgv: ['-r', 'esbuild-register'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const result = new Promise<Load>((resolve, reject) => {
    child.once('message', (m: Load & { type: string; message?: string }) => (m.type === 'result' ? resolve(m) : reject(new Error(`autocannon: ${m.message}`))));
    child.once('exit', (code) => reject(new Error(`the load process exited (${code}) without a result`)));
  });
  return { stop: () => { if (child.connected) child.send({ type: 'stop' }); }, result };
}

/** CPU ms (user + system) a process has used so far, from /proc. */
function cpuMsOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

/** The careful peer, bundled as the drill servers are. */
function bundleCarefulServer(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const out = path.join(OUT, 'careful-server.mjs');
  esbuild.buildSync({ ...AGENT_ESBUILD_OPTIONS, entryPoints: [path.join(__dirname, 'web-tier', 'careful-server.ts')], outfile: out });
  return out;
}

// --- 1. rolling restarts ---

interface Restart { readonly failed: number; readonly requests: number; readonly restartMs: number; readonly balancerFailures: number; readonly rerouted: number }

async function restartFailures(program: string): Promise<Restart> {
  const balancer = new LocalLoadBalancer({
    healthCheck: HEALTH, deregistrationDelayMs: T.deregistrationDelaySeconds * 1000, idleTimeoutMs: T.idleTimeoutSeconds * 1000,
    onTargetState: (t, p) => pool.onTargetState(t, p),
  });
  const grace = localGracePeriodSeconds({ gracePeriodSeconds: T.gracePeriodSeconds, healthCheckIntervalSeconds: T.healthCheckIntervalSeconds, healthyThreshold: T.healthyThreshold });
  const pool: ServerPool = new ServerPool({
    nodeArgs: [program],
    env: { PATH: process.env.PATH, DRILL_DELAY_MS: String(RESTART_DELAY_MS) },
    balancer, name: path.basename(program, '.mjs'), healthyTimeoutMs: grace * 1000, gracePeriodMs: grace * 1000, stopTimeoutMs: T.stopTimeoutSeconds * 1000,
  });
  await balancer.start();
  try {
    await pool.launchHealthy(2);
    const load = startLoad(balancer.url, RESTART_CONNECTIONS, 600);
    await sleep(2_000);
    const started = Date.now();
    await pool.rollingRestart();
    const restartMs = Date.now() - started;
    await sleep(2_000);
    load.stop();
    const r = await load.result;
    return { failed: r.failed, requests: r.requests, restartMs, balancerFailures: balancer.stats.targetFailures, rerouted: balancer.stats.rerouted };
  } finally {
    // The measurement is over: no need to wait out our servers' notice again.
    for (const s of pool.live()) pool.kill(s.id, 'SIGKILL');
    await pool.stop();
    await balancer.stop();
  }
}

// --- 2. the balancer's cost ---

/** The balancer (or the floor proxy) in its own process, forwarding to `target`. */
async function startProxy(kind: 'balancer' | 'floor', target: string): Promise<{ url: string; pid: number; child: ChildProcess }> {
  const child = fork(path.join(__dirname, 'web-tier', 'balancer-child.ts'), kind === 'floor' ? ['floor'] : [], { execArgv: ['-r', 'esbuild-register'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { url?: string; error?: string }) => (m.url ? resolve(m.url) : reject(new Error(`${kind}: ${m.error}`))));
    child.once('exit', (code) => reject(new Error(`the ${kind} process exited (${code})`)));
    child.send({ targets: [target] });
  });
  return { url, pid: child.pid!, child };
}

interface PathRun extends Load { readonly proxyCpuUsPerRequest: number; readonly serverCpuUsPerRequest: number; readonly loadCpuUsPerRequest: number }

export async function run(): Promise<BenchOutcome> {
  const programs = { ...bundleDrillServers(OUT), careful: bundleCarefulServer() };

  // 1. Rolling restarts, the order of the three servers rotating every repetition.
  const restartSides = [
    { key: 'ours', program: programs.ours },
    { key: 'careful', program: programs.careful },
    { key: 'plain', program: programs.plain },
  ] as const;
  const restarts: Record<string, Restart[]> = { ours: [], careful: [], plain: [] };
  const orders: string[] = [];
  for (let i = 0; i < RESTARTS; i++) {
    const order = restartSides.map((_, k) => restartSides[(k + i) % restartSides.length]!);
    orders.push(`restart ${i + 1}: ${order.map((s) => s.key).join(', ')}`);
    for (const side of order) {
      const r = await restartFailures(side.program);
      restarts[side.key]!.push(r);
      console.log(`  restart ${i + 1} ${side.key}: ${r.failed} failed of ${r.requests} (${(r.restartMs / 1000).toFixed(1)} s; balancer 502/504 ${r.balancerFailures}, rerouted ${r.rerouted})`);
    }
  }

  // 2. The balancer's cost: one server of ours (no delay), reached directly, through the balancer, through the floor proxy.
  const port = await freePort();
  const server = spawnNode([programs.ours], { env: { PATH: process.env.PATH, DRILL_DELAY_MS: '0', WEB_TIER_PORT: String(port), WEB_TIER_HOST: '127.0.0.1' } });
  const proxies: Awaited<ReturnType<typeof startProxy>>[] = [];
  const runs: Record<'direct' | 'balancer' | 'floor', PathRun[]> = { direct: [], balancer: [], floor: [] };
  try {
    const deadline = Date.now() + 15_000;
    while ((await fetch(`http://127.0.0.1:${port}${READINESS_PATH}`).then((r) => r.status, () => 0)) !== 200) {
      if (Date.now() > deadline) throw new Error('the direct server did not get ready');
      await sleep(50);
    }
    const target = `http://127.0.0.1:${port}`;
    const lb = await startProxy('balancer', target);
    const floor = await startProxy('floor', target);
    proxies.push(lb, floor);
    const paths = [
      { key: 'direct', url: `${target}/`, pid: undefined },
      { key: 'balancer', url: `${lb.url}/`, pid: lb.pid },
      { key: 'floor', url: `${floor.url}/`, pid: floor.pid },
    ] as const;
    const measure = async (p: (typeof paths)[number], seconds: number): Promise<PathRun> => {
      const before = { server: cpuMsOf(server.pid!), proxy: p.pid ? cpuMsOf(p.pid) : 0 };
      const load = startLoad(p.url, THROUGHPUT_CONNECTIONS, seconds);
      const r = await load.result;
      const per = (ms: number) => Math.round(((ms * 1000) / Math.max(1, r.requests)) * 10) / 10;
      return {
        ...r,
        serverCpuUsPerRequest: per(cpuMsOf(server.pid!) - before.server),
        proxyCpuUsPerRequest: p.pid ? per(cpuMsOf(p.pid) - before.proxy) : 0,
        loadCpuUsPerRequest: per(r.cpuMs),
      };
    };
    // Untimed, the same for each path: each process's hot code compiled, its connections open.
    for (const p of paths) await measure(p, WARMUP_SECONDS);
    for (let i = 0; i < PAIRS; i++) {
      const order = paths.map((_, k) => paths[(k + i) % paths.length]!);
      orders.push(`throughput ${i + 1}: ${order.map((p) => p.key).join(', ')}`);
      for (const p of order) runs[p.key].push(await measure(p, THROUGHPUT_SECONDS));
      console.log(`  throughput ${i + 1}: direct ${runs.direct[i]!.rps} req/s, balancer ${runs.balancer[i]!.rps} (${runs.balancer[i]!.proxyCpuUsPerRequest} us CPU/request), floor proxy ${runs.floor[i]!.rps} (${runs.floor[i]!.proxyCpuUsPerRequest} us)`);
    }
  } finally {
    for (const p of proxies) p.child.kill('SIGKILL');
    await Promise.all(proxies.map((p) => exited(p.child)));
    server.kill('SIGKILL');
    await exited(server);
  }

  // --- figures ---
  const sum = (xs: readonly Restart[], f: (r: Restart) => number) => xs.reduce((n, x) => n + f(x), 0);
  const restartFigures = (key: string): Record<string, number> => ({
    [`failed requests in ${RESTARTS} rolling restarts of 2 servers`]: sum(restarts[key]!, (r) => r.failed),
    'requests during the restarts': sum(restarts[key]!, (r) => r.requests),
    'restart duration, s (median)': Math.round(median(restarts[key]!.map((r) => r.restartMs)) / 100) / 10,
    'balancer 502/504 answers (target failed)': sum(restarts[key]!, (r) => r.balancerFailures),
    'requests rerouted (connection refused, never sent)': sum(restarts[key]!, (r) => r.rerouted),
  });
  const cost = (key: 'balancer' | 'floor') => runs[key].map((r, i) => 1 - r.rps / runs.direct[i]!.rps);
  const lbCost = spread(cost('balancer'));
  const floorCost = spread(cost('floor'));
  const pct = (x: number) => Math.round(x * 1000) / 10;
  const lbVerdict = verdict(lbCost, GOAL_COST, 'below');
  const med = (key: keyof typeof runs, f: (r: PathRun) => number) => Math.round(median(runs[key].map(f)) * 10) / 10;
  const rpsSpread = (key: keyof typeof runs) => spread(runs[key].map((r) => r.rps));
  const oursFailed = sum(restarts.ours!, (r) => r.failed);
  const carefulFailed = sum(restarts.careful!, (r) => r.failed);

  const goals: BenchGoal[] = [
    {
      goal: `0 failed requests during rolling restarts under load (ours, ${RESTARTS} restarts of 2 servers, at the README's derived timings)`,
      measured: `${oursFailed} failed of ${sum(restarts.ours!, (r) => r.requests)} (the careful peer: ${carefulFailed} of ${sum(restarts.careful!, (r) => r.requests)}; Node's defaults: ${sum(restarts.plain!, (r) => r.failed)} of ${sum(restarts.plain!, (r) => r.requests)})`,
      met: oursFailed === 0,
    },
    {
      goal: `the local balancer costs under ${GOAL_COST * 100}% of direct throughput (median of ${PAIRS} interleaved repetitions, judged on its middle half)`,
      measured: `${describeSpread({ ...lbCost, min: pct(lbCost.min), q1: pct(lbCost.q1), median: pct(lbCost.median), q3: pct(lbCost.q3), max: pct(lbCost.max) }, 0, '%')}: ${
        lbVerdict === 'met' ? 'under 20% across the middle half' : lbVerdict === 'missed' ? 'over 20% across the middle half' : 'the middle half straddles 20%: this spread cannot say'}`,
      met: lbVerdict === 'met',
    },
  ];
  const directRps = median(runs.direct.map((r) => r.rps));
  const lbCpu = med('balancer', (r) => r.proxyCpuUsPerRequest);
  const floorCpu = med('floor', (r) => r.proxyCpuUsPerRequest);
  const serverCpu = med('direct', (r) => r.serverCpuUsPerRequest);
  return {
    title: 'Web tier: rolling restarts at the deployed timings, and the local balancer\'s cost',
    summary:
      `During rolling restarts under load at the timings the README derives, our server failed ${oursFailed} requests, the careful peer (\`server.close()\` and a drain) ${carefulFailed}, Node's defaults ${sum(restarts.plain!, (r) => r.failed)}. ` +
      `The local balancer costs ${pct(lbCost.median)}% of direct throughput (median of ${PAIRS}; middle half ${pct(lbCost.q1)}-${pct(lbCost.q3)}%): goal ${lbVerdict === 'met' ? 'met' : lbVerdict === 'missed' ? '**missed**' : 'not shown (the spread straddles it)'}. ` +
      `It spends ${lbCpu} us of CPU per request against ${serverCpu} us for the server itself and ${floorCpu} us for the least a Node.js proxy on the same parts does (Node's HTTP server and undici's dispatch), whose cost is ${pct(floorCost.median)}%.`,
    method:
      `1. Rolling restarts: 2 servers behind the local balancer (in the benchmark's process, as the local cloud runs it), load from autocannon in its own process (${RESTART_CONNECTIONS} connections, ${RESTART_DELAY_MS} ms per request) from 2 s before the restart to 2 s after it; the restart launches 2 new servers, waits until the balancer finds them healthy, then sends the old ones SIGTERM without telling the balancer. ` +
      `Timings as the README derives them from the defaults (requestTimeout 30 s, idleTimeout 60 s): health checks every ${T.healthCheckIntervalSeconds} s with a ${T.healthCheckTimeoutSeconds} s timeout, ${T.healthyThreshold} to be healthy and ${T.unhealthyThreshold} to be unhealthy, deregistration delay ${T.deregistrationDelaySeconds} s, idle timeout ${T.idleTimeoutSeconds} s; our server's own (notice ${T.unreadyNoticeSeconds} s, drain ${T.drainSeconds} s). ` +
      `Three servers, ${RESTARTS} restarts each: ours (runWebServerFromEnv), the careful peer (bench/web-tier/careful-server.ts: \`http.createServer\`, keep-alive 65 s, on SIGTERM \`server.close()\`, idle connections closed, \`Connection: close\` on what is in flight, exit when every connection is closed or after a 30 s drain) and Node's defaults (no SIGTERM handling: the process ends at once). ` +
      `2. The balancer's cost: one server of ours (no delay, no access log: the cheapest request, the worst case for a proxy) reached directly, through the local balancer in a process of its own, and through a minimal proxy (Node's HTTP server and undici's dispatch over a keep-alive pool) in a process of its own; autocannon in its own process, ${THROUGHPUT_CONNECTIONS} connections, ${THROUGHPUT_SECONDS} s per run, ${PAIRS} repetitions of the three back to back, after ${WARMUP_SECONDS} s of untimed load on each. ` +
      'The cost of a repetition is 1 - its req/s through the proxy / its req/s direct; the goal is judged on the middle half of those costs: met only when all of it is under 20%, missed when all of it is over. CPU per request of each process from /proc.',
    repetitions: RESTARTS,
    order: `interleaved: rolling restarts with the order of the three servers rotating every repetition (${RESTARTS} each), then ${PAIRS} repetitions of the three throughput paths, the order rotating. The orders: ${orders.join('; ')}.`,
    ours: { label: 'catalog web server (runWebServerFromEnv)', figures: restartFigures('ours') },
    peer: { label: 'careful peer: http.createServer + server.close() and a drain', figures: restartFigures('careful') },
    otherPeers: [{ label: 'http.createServer, Node\'s defaults', figures: restartFigures('plain') }],
    ratios: {},
    tables: [{
      caption: `**The local balancer's cost** (${PAIRS} repetitions of ${THROUGHPUT_SECONDS} s each path, back to back, the order rotating; medians, and the cost's middle half and range over the repetitions):`,
      header: ['path', 'req/s', 'req/s lowest-highest', 'cost vs direct', 'cost, middle half', 'cost, lowest-highest', 'proxy CPU us per request', 'server CPU us per request', 'autocannon CPU us per request', 'p99 ms'],
      rows: [
        ['served directly', Math.round(directRps), `${Math.round(rpsSpread('direct').min)}-${Math.round(rpsSpread('direct').max)}`, '-', '-', '-', '-', serverCpu, med('direct', (r) => r.loadCpuUsPerRequest), med('direct', (r) => r.p99)],
        ['through the local balancer', Math.round(rpsSpread('balancer').median), `${Math.round(rpsSpread('balancer').min)}-${Math.round(rpsSpread('balancer').max)}`, `${pct(lbCost.median)}%`, `${pct(lbCost.q1)}-${pct(lbCost.q3)}%`, `${pct(lbCost.min)}-${pct(lbCost.max)}%`, lbCpu, med('balancer', (r) => r.serverCpuUsPerRequest), med('balancer', (r) => r.loadCpuUsPerRequest), med('balancer', (r) => r.p99)],
        ['through a minimal Node.js proxy (the floor)', Math.round(rpsSpread('floor').median), `${Math.round(rpsSpread('floor').min)}-${Math.round(rpsSpread('floor').max)}`, `${pct(floorCost.median)}%`, `${pct(floorCost.q1)}-${pct(floorCost.q3)}%`, `${pct(floorCost.min)}-${pct(floorCost.max)}%`, floorCpu, med('floor', (r) => r.serverCpuUsPerRequest), med('floor', (r) => r.loadCpuUsPerRequest), med('floor', (r) => r.p99)],
      ],
    }],
    goals,
    notes: [
      'Lower is better for failed requests. The restart rows compare servers behind the same balancer; the cost table compares paths to the same server process (ours on every path), not ours with a peer.',
      'Where a failed request comes from: the balancer answers 502 when a target drops a request it was sent (the ALB does not retry those), and sends elsewhere a request whose connection was refused, since it was never sent. ' +
        `The careful peer stops accepting at once (new connections are refused and go to another server: ${sum(restarts.careful!, (r) => r.rerouted)} rerouted here) and closes its idle kept-alive connections; a request sent on one of them just as it closes is dropped, which happened ${carefulFailed} times in these restarts. ` +
        `Node's defaults end the process with requests in flight (${sum(restarts.plain!, (r) => r.failed)} failed). Ours keeps serving, answering its readiness check 503, until the balancer has stopped sending to it (the notice), and only then closes, so the balancer sends it nothing while it closes; it takes ${T.unreadyNoticeSeconds} s longer to leave.`,
      `What the spread allows: over ${PAIRS} repetitions the balancer's cost ranged ${pct(lbCost.min)}-${pct(lbCost.max)}%, its middle half ${pct(lbCost.q1)}-${pct(lbCost.q3)}%. ` +
        'On 2 shared cores the load generator, the proxy and the server (three busy processes) compete for two cores with the other engineers\' work, so each repetition\'s throughput depends on what else ran; pairing each proxied run with the direct run next to it, and the median of many, keeps the drift out of the cost. CPU per request does not depend on who else runs nearly as much, and says where the cost is.',
      `The balancer spends ${lbCpu} us of CPU per request, ${serverCpu > 0 ? `${(lbCpu / serverCpu).toFixed(1)}x` : '-'} what the server spends on the same request; the minimal proxy spends ${floorCpu} us and costs ${pct(floorCost.median)}% of direct throughput (middle half ${pct(floorCost.q1)}-${pct(floorCost.q3)}%: ${verdict(floorCost, GOAL_COST, 'below') === 'met' ? 'under 20%' : verdict(floorCost, GOAL_COST, 'below') === 'missed' ? 'over 20%' : 'straddling 20%'}). ` +
        'The difference between the two is the balancer\'s own per-request work beyond forwarding (local/web-tier/load-balancer.ts: target selection, the trace id, the headers, the accounting).',
    ],
  };
}
