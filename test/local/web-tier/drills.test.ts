/**
 * Failure drills through the local load balancer under load (autocannon): a rolling restart of
 * every server with 0 failed requests, run again with the protection off (the same app on a
 * plain http.createServer) to see the failures it prevents; and a server killed with SIGKILL:
 * failures only among the requests in flight on it, then the replacement takes traffic.
 * Timings are scaled down (checks every 200 ms) on both the balancer and the servers.
 */
import * as fs from 'fs';
import * as path from 'path';
import autocannon from 'autocannon';
import { setTimeout as sleep } from 'timers/promises';
import { READINESS_PATH, deriveWebTierTimings } from '../../../contracts/web-tier';
import { LocalLoadBalancer, type TargetState, type TargetView } from '../../../local/web-tier/load-balancer';
import { ServerPool } from '../../../local/web-tier/server-pool';
import { bundleDrillServers } from '../../lib/web-tier/fixtures/bundle';
import { REPO_ROOT } from '../../support/paths';

const BUNDLES = path.join(REPO_ROOT, '.tmp', `drill-servers-${process.pid}`);
let programs: { readonly ours: string; readonly plain: string };
beforeAll(() => { programs = bundleDrillServers(BUNDLES); });
afterAll(() => fs.rmSync(BUNDLES, { recursive: true, force: true }));
// Long enough that every connection always has a request in flight: a restart or a kill always meets some.
const DELAY_MS = 150;
const CONNECTIONS = 8;

/** The scaled-down timings: checks every 200 ms, the server's notice matching them. */
const HEALTH = { path: READINESS_PATH, intervalMs: 200, timeoutMs: 150, healthyThreshold: 2, unhealthyThreshold: 2 };
const SERVER_TIMINGS = { unreadyNoticeSeconds: 0.6, drainSeconds: 2, shutdownSeconds: 2.6 };

async function tier(program: 'drill-server.ts' | 'plain-server.ts', servers: number, onState?: (t: TargetView, previous: TargetState) => void) {
  const balancer = new LocalLoadBalancer({
    healthCheck: HEALTH, deregistrationDelayMs: 3_000, idleTimeoutMs: 60_000,
    onTargetState: (t, p) => { onState?.(t, p); pool.onTargetState(t, p); },
  });
  const pool: ServerPool = new ServerPool({
    nodeArgs: [program === 'drill-server.ts' ? programs.ours : programs.plain],
    env: { PATH: process.env.PATH, DRILL_DELAY_MS: String(DELAY_MS), DRILL_TIMINGS: JSON.stringify(SERVER_TIMINGS) },
    balancer,
    name: program.replace('.ts', ''),
    healthyTimeoutMs: 15_000,
    // The group waits this long before replacing a server that is not healthy yet (they start in well under that).
    gracePeriodMs: 2_000,
    stopTimeoutMs: 5_000,
  });
  await balancer.start();
  await pool.launchHealthy(servers);
  return { balancer, pool, stop: async () => { await pool.stop(); await balancer.stop(); } };
}

/** Load at CONNECTIONS concurrency until `during` resolves; the requests that failed. */
async function underLoad(url: string, during: () => Promise<void>): Promise<{ requests: number; failed: number }> {
  let finish!: (r: autocannon.Result) => void;
  const result = new Promise<autocannon.Result>((resolve) => { finish = resolve; });
  const run = autocannon({ url, connections: CONNECTIONS, duration: 60 }, (_err, r) => finish(r));
  await sleep(300);
  await during();
  await sleep(300);
  run.stop();
  const r = await result;
  return { requests: r.requests.total, failed: r.non2xx + r.errors + r.timeouts };
}

describe('drills through the local load balancer', () => {
  test('a rolling restart of every server under load fails no request', async () => {
    // GIVEN two servers behind the balancer, under load
    const { balancer, pool, stop } = await tier('drill-server.ts', 2);
    try {
      const before = pool.live().map((s) => s.id);
      // WHEN every server is replaced: new ones healthy first, then SIGTERM to the old ones (the balancer not told)
      const load = await underLoad(balancer.url, () => pool.rollingRestart());
      // THEN no request failed, and the new servers serve
      expect(load.requests).toBeGreaterThan(20);
      expect(load.failed).toBe(0);
      expect(balancer.stats.targetFailures).toBe(0);
      const after = pool.live().map((s) => s.id);
      expect(after.filter((id) => before.includes(id))).toEqual([]);
      expect(balancer.list().filter((t) => after.includes(t.id)).every((t) => t.requests > 0)).toBe(true);
    } finally {
      await stop();
    }
  });

  test('with the protection off (plain http.createServer, Node defaults) the same restart fails requests', async () => {
    const { balancer, pool, stop } = await tier('plain-server.ts', 2);
    try {
      const load = await underLoad(balancer.url, () => pool.rollingRestart());
      expect(load.failed).toBeGreaterThan(0);
    } finally {
      await stop();
    }
  });

  test('a server killed with SIGKILL fails only requests that were in flight on it, and its replacement takes traffic', async () => {
    // GIVEN two servers under load
    const unhealthyAt = new Map<string, number>();
    const { balancer, pool, stop } = await tier('drill-server.ts', 2, (t, previous) => {
      if (previous === 'healthy' && t.state === 'unhealthy' && !unhealthyAt.has(t.id)) unhealthyAt.set(t.id, Date.now());
    });
    try {
      const victim = pool.live()[0]!;
      let killedAt = 0;
      const load = await underLoad(balancer.url, async () => {
        // WHEN one is killed
        killedAt = Date.now();
        pool.kill(victim.id, 'SIGKILL');
        // THEN the balancer marks it unhealthy and the pool replaces it once its grace period is over
        const deadline = Date.now() + 20_000;
        while (pool.stats.replaced < 1 || pool.live().length < 2 || !pool.live().every((s) => balancer.target(s.id)?.state === 'healthy')) {
          if (Date.now() > deadline) throw new Error(`no healthy replacement: ${JSON.stringify(balancer.list())}`);
          await sleep(50);
        }
        await sleep(500);
      });
      // Every failed request had been sent to the killed server, at most one per client connection
      // (those in flight on it), and none failed once the balancer had marked it unhealthy.
      const failures = balancer.failureLog();
      expect(load.failed).toBe(failures.length);
      expect(failures.every((f) => f.target === victim.id)).toBe(true);
      expect(failures.length).toBeLessThanOrEqual(CONNECTIONS);
      expect(failures.every((f) => f.at >= killedAt && f.at <= unhealthyAt.get(victim.id)!)).toBe(true);
      // AND the replacement serves
      expect(pool.live().map((s) => s.id)).not.toContain(victim.id);
      const replacement = pool.live().find((s) => s.launchedAt > victim.launchedAt)!;
      expect(balancer.target(replacement.id)!.requests).toBeGreaterThan(0);
    } finally {
      await stop();
    }
  });

  test('the scaled-down drill timings keep the tier\'s orderings', () => {
    // The notice covers the balancer's unhealthy threshold at the drill's interval, as the derived timings do at ALB scale.
    expect(SERVER_TIMINGS.unreadyNoticeSeconds * 1000).toBeGreaterThanOrEqual(HEALTH.unhealthyThreshold * HEALTH.intervalMs + HEALTH.timeoutMs);
    const derived = deriveWebTierTimings({ requestTimeoutSeconds: 6, idleTimeoutSeconds: 60 });
    expect(derived.unreadyNoticeSeconds).toBe(derived.unhealthyThreshold * derived.healthCheckIntervalSeconds + derived.healthCheckTimeoutSeconds);
  });
});
