/**
 * The render farm used in a real browser, on a running local cloud that deployed RenderFarmStack
 * (test/local/start.test.ts runs it on the one local cloud of every stack, so it pays no local
 * cloud of its own): headless Chromium (Debian's, driven by playwright-core) signs up as alice,
 * submits 16-tile renders and waits for the images: the first with the fleet held to one worker
 * (timed), the second while the drill kills a fleet worker agent in the middle of a tile and one
 * of the render farm's web servers, the third with the fleet at its maximum (timed). The second
 * image must equal the one the handler's code renders directly, pixel for pixel. Bob signs up in
 * another browser context and sees nothing of alice's: 404 on her renders' API and image URLs, an
 * empty list. The local run hides a tile for 5 s (the catalog app's choice for the local cloud),
 * so the killed agent's tile comes back within seconds, not the deployed 60 s. The drill renders the
 * page's default view at {@link DRILL_ITERATIONS} iterations instead of the default 3,000 (the
 * timed renders at {@link TIMED_ITERATIONS}): the same tiles, kills and pixel check at a fraction
 * of the CPU (timings of the default render are the render-farm benchmark's, `npm run bench --
 * render-farm`).
 *
 * Set RENDER_FARM_SCREENSHOT=docs/images/render-farm.png to refresh the README's screenshot.
 */
import * as fs from 'fs';
import * as path from 'path';
import { AutoScalingClient, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEFAULT_FRACTAL, decodePng } from '../../../apps/render-farm/fractal';
import { RENDER_FARM_OUTPUTS } from '../../../contracts/render-farm';
import { LOCAL_AWS_ENV } from '../../../local/moto';
import { exited, spawnNode } from '../../../local/processes';
import { toolReady } from '../../../scripts/test-tools';
import { waitFor } from '../../support/local-aws';
import { REPO_ROOT } from '../../support/paths';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const STACK = 'RenderFarmStack';

/**
 * The iterations of the drill's renders (the page's default is 3,000): each tile still takes over
 * 100 ms of a worker's CPU, long enough to be caught and killed mid-tile, and the four renders of
 * the drill (three through the farm and the direct one) take about 8 s of CPU instead of 20.
 */
export const DRILL_ITERATIONS = 500;
const DRILL_FRACTAL = { ...DEFAULT_FRACTAL, maxIterations: DRILL_ITERATIONS };

/**
 * The iterations of the two timed renders (1 worker, then up to 4): the same 16 tiles through the
 * same fleet, at under a third of the tiles' CPU (about 4 s of the drill's). Their timings are
 * printed for the record and asserted nowhere; the render-farm benchmark times the page's default.
 */
export const TIMED_ITERATIONS = 150;

/** Pids of live processes whose command line contains `fragment` (the local cloud's programs, by their folder). */
function pidsRunning(fragment: string): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(fragment) ? [Number(d)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

/**
 * A fleet agent that is rendering a tile of `renderId` now: the agents' log (one file per group,
 * each line prefixed with the agent's pid) shows it started the tile and has not recorded it.
 */
function agentMidTile(logDir: string, renderId: string): number | undefined {
  const file = fs.readdirSync(logDir).find((f) => f.startsWith('FleetGroup') && f.endsWith(`-${STACK}.log`));
  if (!file) return undefined;
  const open = new Map<string, number>();
  for (const line of fs.readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
    const m = /^\[(\d+)\] (\{.*\})$/.exec(line);
    if (!m) continue;
    const entry = JSON.parse(m[2]!) as { message?: string; renderId?: string; jobId?: string };
    if (entry.renderId !== renderId || !entry.jobId) continue;
    if (entry.message === 'rendering tile') open.set(entry.jobId, Number(m[1]));
    if (entry.message === 'tile recorded') open.delete(entry.jobId);
  }
  return [...open.values()].pop();
}

/** A password the pool's policy takes. */
const PASSWORD = 'Render-farm-passw0rd';

/** Signs up on the page (the user pool creates the account) and waits until it shows the user signed in. */
async function signUp(page: Page, url: string, name: string): Promise<void> {
  await page.goto(url);
  await page.fill('#username', name);
  await page.fill('#password', PASSWORD);
  await page.click('#sign-up');
  await page.waitForSelector(`#who:text-is("${name}")`);
}

/** Submits the default 16-tile render; resolves with its id and the time of the click. */
async function submit(page: Page, iterations: number): Promise<{ id: string; at: number }> {
  await page.selectOption('#tiles', '4');
  await page.fill('#iterations', String(iterations));
  const before = await page.getAttribute('#progress', 'data-render-id');
  const at = Date.now();
  await page.click('#submit');
  try {
    await waitFor('the page to show the new render', async () => {
      const now = await page.getAttribute('#progress', 'data-render-id');
      return !!now && now !== before;
    }, 30_000, 50);
  } catch (e) {
    // What the page said instead (a refusal's message is shown in #message).
    throw new Error(`${(e as Error).message}; the page says: ${JSON.stringify(await page.textContent('#message'))}`, { cause: e });
  }
  return { id: (await page.getAttribute('#progress', 'data-render-id'))!, at };
}

/** Waits until the page shows the finished image of `id` (loaded); ms since `at`. */
async function finished(page: Page, id: string, at: number, timeoutMs: number): Promise<number> {
  await page.waitForSelector(`#result[data-render-id="${id}"]`, { timeout: timeoutMs });
  return Date.now() - at;
}

/** The running local cloud the drill uses. */
export interface RenderFarmCloud {
  /** The embedded AWS's endpoint. */
  readonly endpoint: string;
  /** The local cloud's state folder (its `run/` and `logs/`). */
  readonly stateDir: string;
  /** The render farm's page, as the local cloud prints it. */
  readonly url: string;
  /** Everything the local cloud printed so far. */
  output(): string;
}

/** What the drill measured, in milliseconds. */
export interface BrowserDrillTimings {
  readonly oneMs: number;
  readonly oneRecordMs: number;
  readonly mostMs: number;
  readonly mostRecordMs: number;
  readonly drillMs: number;
  readonly drillRecordMs: number;
  readonly afterKillMs: number;
}

/** Runs the drill (jest's expect throws on the first failed check); resolves with its timings. */
export async function browserDrill(cloud: RenderFarmCloud): Promise<BrowserDrillTimings> {
  await toolReady('chromium'); // `npm test` installs it (this waits for that); a bare `npx jest` says how
  const { url, stateDir } = cloud;
  // The image the farm must produce, rendered in one process (about 2 s of CPU), meanwhile.
  const directFile = path.join(stateDir, 'direct.png');
  const directRender = spawnNode(['-r', 'esbuild-register', '-e',
    `require('fs').writeFileSync(${JSON.stringify(directFile)}, require('./apps/render-farm/fractal').renderImagePng(${JSON.stringify(DRILL_FRACTAL)}))`], { cwd: REPO_ROOT });
  const directDone = exited(directRender);
  const clientConfig = { endpoint: cloud.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY } };
  const cfn = new CloudFormationClient(clientConfig);
  const autoscaling = new AutoScalingClient(clientConfig);
  let browser: Browser | undefined;
  try {
    const outputs = (await cfn.send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!.Outputs ?? [];
    const groupName = outputs.find((o) => o.OutputKey === RENDER_FARM_OUTPUTS.fleetGroupName)!.OutputValue!;
    const agents = () => pidsRunning(path.join(stateDir, 'run', 'agents', STACK)).length;
    const maxWorkers = (n: number) => autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, MinSize: 0, MaxSize: n }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const alice = await (await browser.newContext({ viewport: { width: 900, height: 1000 } })).newPage();
    await maxWorkers(1);
    await signUp(alice, url, `alice-${process.pid}`);

    // WHEN alice renders with 1 worker
    const one = await submit(alice, TIMED_ITERATIONS);
    const oneMs = await finished(alice, one.id, one.at, 120_000);
    const oneRecord = await (await alice.request.get(`${url}/api/renders/${one.id}`)).json() as { elapsedMs: number };

    // AND renders again with up to 4, while a fleet agent is killed mid-tile and a web server killed
    await maxWorkers(4);
    const first = await submit(alice, DRILL_ITERATIONS);
    const logDir = path.join(stateDir, 'logs');
    let victim: number | undefined;
    await waitFor('a fleet agent rendering a tile, killed', () => {
      victim = agentMidTile(logDir, first.id);
      if (victim === undefined) return false;
      try {
        process.kill(victim, 'SIGKILL');
        return true;
      } catch {
        return false; // it ended meanwhile: take another
      }
    }, 60_000, 20);
    const killedAt = Date.now();
    const servers = pidsRunning(path.join(stateDir, 'run', 'web-servers', STACK));
    expect(servers.length).toBeGreaterThanOrEqual(2);
    process.kill(servers[0]!, 'SIGKILL');

    // THEN the render completes: every tile counted once, the image pixel-for-pixel the direct render
    const drillMs = await finished(alice, first.id, first.at, 120_000);
    const afterKillMs = Date.now() - killedAt;
    const status = await (await alice.request.get(`${url}/api/renders/${first.id}`)).json() as { tiles: number; tilesDone: number; imageUrl: string; elapsedMs: number };
    expect(status).toMatchObject({ tiles: 16, tilesDone: 16 });
    // A function, not a string: the page's Content-Security-Policy forbids eval. (Typed without the DOM's types.)
    const shown = await alice.$eval('#result', (img) => ({ src: (img as unknown as { src: string }).src, width: (img as unknown as { naturalWidth: number }).naturalWidth }));
    expect(shown.width).toBe(DEFAULT_FRACTAL.size);
    const served = decodePng(new Uint8Array(await (await fetch(shown.src)).arrayBuffer()));
    await directDone;
    expect(directRender.exitCode).toBe(0);
    const direct = decodePng(fs.readFileSync(directFile));
    expect([served.width, served.height]).toEqual([direct.width, direct.height]);
    expect(served.data.equals(direct.data)).toBe(true);
    expect(cloud.output()).toMatch(new RegExp(`worker agent ${victim} of FleetGroup\\w+ was killed \\(SIGKILL\\): its jobs come back after their visibility timeout \\(5 s`));
    expect(cloud.output()).toMatch(/server \S+ exited \(SIGKILL\)/);
    const screenshot = process.env.RENDER_FARM_SCREENSHOT ? path.resolve(REPO_ROOT, process.env.RENDER_FARM_SCREENSHOT) : path.join(stateDir, 'render-farm.png');
    await alice.screenshot({ path: screenshot, fullPage: true });

    // AND the third render, with up to 4 workers (the fleet grew for the second), once the balancer's
    // health checks have taken the killed server out: until then a request it routes there gets 502,
    // as an ALB's does (a fast machine finished the render above within that window)
    const killedServer = /server (\S+) exited \(SIGKILL\)/.exec(cloud.output())![1]!;
    await waitFor(`the balancer to take ${killedServer} out`, () => cloud.output().includes(`server ${killedServer} is unhealthy in the local balancer`), 30_000, 100);
    const most = await submit(alice, TIMED_ITERATIONS);
    const mostMs = await finished(alice, most.id, most.at, 120_000);
    const mostRecord = await (await alice.request.get(`${url}/api/renders/${most.id}`)).json() as { elapsedMs: number };
    expect(agents()).toBeGreaterThan(1); // the fleet did grow with the backlog

    // AND bob, signed up in another browser, sees nothing of alice's: not on the page, not through the API or the image URL
    const bob = await (await browser.newContext()).newPage();
    await signUp(bob, url, `bob-${process.pid}`);
    expect(await bob.isVisible('#result')).toBe(false);
    expect(await bob.isVisible('#progress')).toBe(false);
    for (const id of [one.id, first.id, most.id]) {
      expect((await bob.request.get(`${url}/api/renders/${id}`)).status()).toBe(404);
      expect((await bob.request.get(`${url}/api/renders/${id}/image`, { maxRedirects: 0 })).status()).toBe(404);
    }
    expect(await (await bob.request.get(`${url}/api/renders`)).json()).toEqual({ renders: [] });
    expect((await (await browser.newContext()).request.get(`${url}/api/renders/${first.id}`)).status()).toBe(401);
    expect((await alice.request.get(`${url}/api/renders/${first.id}/image`, { maxRedirects: 0 })).status()).toBe(302);
    expect(oneRecord.elapsedMs).toBeGreaterThan(0);
    expect(mostRecord.elapsedMs).toBeGreaterThan(0);
    return { oneMs, oneRecordMs: oneRecord.elapsedMs, mostMs, mostRecordMs: mostRecord.elapsedMs, drillMs, drillRecordMs: status.elapsedMs, afterKillMs };
  } finally {
    await browser?.close();
    cfn.destroy();
    autoscaling.destroy();
    if (directRender.exitCode === null) directRender.kill('SIGKILL');
  }
}

/** One line of the drill's timings, for the record. */
export function browserDrillLine(t: BrowserDrillTimings): string {
  const s = (ms: number) => (ms / 1000).toFixed(1);
  return `render farm, 16 tiles of ${DEFAULT_FRACTAL.size}x${DEFAULT_FRACTAL.size} px, submit to image: at ${TIMED_ITERATIONS} iterations 1 worker ${s(t.oneMs)} s (record ${s(t.oneRecordMs)} s), ` +
    `up to 4 workers ${s(t.mostMs)} s (record ${s(t.mostRecordMs)} s); at ${DRILL_ITERATIONS} iterations with an agent and a server killed ${s(t.drillMs)} s (record ${s(t.drillRecordMs)} s, ${s(t.afterKillMs)} s after the kill)`;
}
