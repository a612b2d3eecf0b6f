/**
 * The check of a web tier running in the local cloud (`npm start -- --smoke`): the readiness path
 * answers 200 through the local balancer, every server is healthy in it, and the page answers:
 * for WebTierStack's demo app (its /api/visit answers 200), a page from every server with the
 * per-visitor counter shared by all of them (the session store at work); for another app (the
 * render farm's wants a sign-in there), its page from each server. A rolling restart under load is
 * a drill of its own (test/local/web-tier/drills.test.ts), not a health check.
 */
import type { WorkloadCheck } from '../workloads/types';
import type { LocalLoadBalancer } from './load-balancer';
import type { ServerPool } from './server-pool';

/** What the check needs of a running tier. */
export interface CheckedTier {
  readonly stackName: string;
  readonly logicalId: string;
  /** The balancer's URL. */
  readonly url: string;
  /** The deployed health check's path. */
  readonly readinessPath: string;
  readonly balancer: LocalLoadBalancer;
  readonly pool: ServerPool;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; cookie: string }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text(), cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]! };
}

/** Checks one web tier: its problems (none when all is well) and a line saying what was checked. */
export async function checkWebTier(tier: CheckedTier): Promise<WorkloadCheck> {
  const where = `${tier.stackName}/${tier.logicalId}`;
  const problems: string[] = [];
  const live = tier.pool.live();
  const ready = await get(`${tier.url}${tier.readinessPath}`).catch((e: Error) => ({ status: 0, text: e.message, cookie: '' }));
  if (ready.status !== 200) problems.push(`${where}: ${tier.readinessPath} answered ${ready.status || ready.text} through the balancer`);
  const unhealthy = live.filter((s) => tier.balancer.target(s.id)?.state !== 'healthy');
  if (unhealthy.length > 0) problems.push(`${where}: not healthy in the balancer: ${unhealthy.map((s) => `${s.id} (${tier.balancer.target(s.id)?.state ?? 'gone'})`).join(', ')}`);

  const page = await get(`${tier.url}/`);
  const probe = await get(`${tier.url}/api/visit`);
  // The demo answers every visitor; another app may want a sign-in (401) or have no such path (404).
  const demo = probe.status === 200;
  if (page.status !== 200 || (demo && !page.text.includes('Served by'))) problems.push(`${where}: GET / answered ${page.status}, not the ${demo ? 'demo ' : ''}page`);
  let detail: string;
  if (!demo) {
    for (const server of live) {
      const res = await get(`${server.url}/`);
      if (res.status !== 200) problems.push(`${where}: GET / on server ${server.id} answered ${res.status}`);
    }
    detail = `its page from each of ${live.length} servers and through the balancer`;
  } else {
    // A page from every server, as one visitor: the counter goes up by one each time, whichever server answers.
    const servers = new Set(live.map((s) => s.id));
    const seen = new Set<string>();
    let cookie = '';
    let visits = 0;
    for (let i = 0; i < 10 * servers.size && seen.size < servers.size; i++) {
      const res = await get(`${tier.url}/api/visit`, cookie ? { cookie } : {});
      if (res.status !== 200) {
        problems.push(`${where}: GET /api/visit answered ${res.status}`);
        break;
      }
      cookie ||= res.cookie;
      const body = JSON.parse(res.text) as { server: string; visits: number };
      seen.add(body.server);
      if (body.visits !== visits + 1) problems.push(`${where}: visit ${visits + 1} was counted as ${body.visits} by ${body.server}: the counter is not shared`);
      visits = body.visits;
    }
    const missing = [...servers].filter((s) => !seen.has(s));
    if (missing.length > 0) problems.push(`${where}: no page from ${missing.join(', ')} in ${10 * servers.size} requests`);
    detail = `a page from each of ${seen.size} servers (${[...seen].join(', ')}), the visit counter shared (${visits})`;
  }
  return {
    summary: `web tier ${where}: ${tier.readinessPath} answered ${ready.status} through the balancer, ${live.length - unhealthy.length} of ${live.length} servers healthy in it; ${detail}`,
    problems,
  };
}
