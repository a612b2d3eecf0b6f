/**
 * The smoke check of a web tier running in the local cloud (`npm start -- --smoke`): the page
 * through the local balancer, an answer from every server, the per-visitor counter shared by
 * all of them (for WebTierStack's demo app; another app's page is fetched from each server
 * instead), and a rolling restart of every server under light load with no failed request.
 */
import type autocannonType from 'autocannon';
import type { WebTierWorkloadRun } from '../workloads/web-tier';

type Autocannon = typeof autocannonType;

/**
 * The load generator of the rolling-restart check, loaded only for it: an optional peer of the
 * package (`cdk-cloud-patterns local` without `--smoke` does not need it).
 */
function loadAutocannon(): Autocannon | string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('autocannon') as Autocannon;
  } catch {
    return 'the web tier smoke check needs the load generator autocannon: npm i -D autocannon';
  }
}

/** Light load: the app writes to the embedded AWS on every request. */
const LOAD = { connections: 2, overallRate: 20 };

/** Checks one web tier; returns its problems (empty when all is well) and a line saying what was checked. */
export async function smokeWebTier(tier: WebTierWorkloadRun, print: (line: string) => void): Promise<{ problems: string[]; summary: string }> {
  const problems: string[] = [];
  const page = await fetch(`${tier.url}/`);
  const html = await page.text();
  // Another app on a WebTier (RenderFarmStack's) has no visit counter: its page must answer from every server.
  const probe = await fetch(`${tier.url}/api/visit`);
  await probe.arrayBuffer();
  // The demo answers every visitor; another app may want a sign-in (401) or have no such path (404).
  const demo = probe.status === 200;
  if (page.status !== 200 || (demo && !html.includes('Served by'))) problems.push(`GET ${tier.url}/ answered ${page.status}, not the ${demo ? 'demo ' : ''}page`);
  if (!demo) {
    const live = tier.pool.live();
    for (const server of live) {
      const res = await fetch(`${server.url}/`);
      await res.arrayBuffer();
      if (res.status !== 200) problems.push(`GET / on server ${server.id} answered ${res.status}`);
    }
    print(`  web tier ${tier.stackName}/${tier.resources[0]}: its page from each of ${live.length} servers (${live.map((s) => s.id).join(', ')}) and through the balancer (an app without the demo's visit counter).`);
  }

  // A page from every server, as one visitor: the counter goes up by one each time, whichever server answers.
  const servers = new Set(demo ? tier.pool.live().map((s) => s.id) : []);
  const seen = new Set<string>();
  let cookie = '';
  let visits = 0;
  for (let i = 0; i < 10 * servers.size && seen.size < servers.size; i++) {
    const res = await fetch(`${tier.url}/api/visit`, { headers: cookie ? { cookie } : {} });
    if (res.status !== 200) {
      problems.push(`GET /api/visit answered ${res.status}`);
      break;
    }
    cookie ||= (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    const body = await res.json() as { server: string; visits: number };
    seen.add(body.server);
    if (body.visits !== visits + 1) problems.push(`visit ${visits + 1} was counted as ${body.visits} by ${body.server}: the counter is not shared`);
    visits = body.visits;
  }
  const missing = [...servers].filter((s) => !seen.has(s));
  if (missing.length > 0) problems.push(`no page from ${missing.join(', ')} in ${10 * servers.size} requests`);
  if (demo) print(`  web tier ${tier.stackName}/${tier.resources[0]}: a page from each of ${seen.size} servers (${[...seen].join(', ')}), visit counter shared (${visits}).`);

  // A rolling restart of every server under load: no request may fail.
  const autocannon = loadAutocannon();
  if (typeof autocannon === 'string') return { problems: [...problems, autocannon], summary: `web tier ${tier.stackName}/${tier.resources[0]}: not checked under load` };
  print(`  web tier ${tier.stackName}/${tier.resources[0]}: rolling restart of every server under load (${LOAD.overallRate} requests/s)...`);
  const started = Date.now();
  let finish!: (r: autocannonType.Result) => void;
  const result = new Promise<autocannonType.Result>((resolve) => { finish = resolve; });
  const run = autocannon({ url: `${tier.url}/`, ...LOAD, duration: 600 }, (_e, r) => finish(r));
  const before = new Set(tier.pool.live().map((s) => s.id));
  try {
    await tier.rollingRestart();
  } finally {
    run.stop();
  }
  const r = await result;
  const failed = r.non2xx + r.errors + r.timeouts;
  const after = tier.pool.live().map((s) => s.id);
  if (after.some((s) => before.has(s))) problems.push(`the rolling restart left old servers: ${after.join(', ')}`);
  if (failed > 0) problems.push(`${failed} of ${r.requests.total} requests failed during the rolling restart (non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts})`);
  const summary = `web tier ${tier.stackName}/${tier.resources[0]}: every server answered, and a rolling restart of ${before.size} servers under load ` +
    `took ${((Date.now() - started) / 1000).toFixed(0)} s with ${failed} failed of ${r.requests.total} requests.`;
  return { problems, summary };
}
