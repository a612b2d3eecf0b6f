/**
 * The render farm used in a real browser: `npm start -- RenderFarmStack` in a child process (its
 * own state folder and port: the real CDK CLI, the real templates, moto, the user pool the local
 * cloud completes through moto's Cognito API), then headless Chromium (Debian's, driven by
 * playwright-core) signs up as alice, submits 16-tile renders and waits for the images: the first
 * with the fleet held to one worker (timed), the second while the test kills a fleet worker agent
 * in the middle of a tile and one web server, the third with the fleet at its maximum (timed). The
 * second image must equal the one the handler's code renders directly, pixel for pixel. Bob signs
 * up in another browser context and sees nothing of alice's: 404 on her renders' API and image
 * URLs, an empty list. The local run hides a tile for 5 s (the catalog app's choice for the local
 * cloud), so the killed agent's tile comes back within seconds, not the deployed 60 s.
 *
 * Set RENDER_FARM_SCREENSHOT=docs/images/render-farm.png to refresh the README's screenshot.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ChildProcess } from 'child_process';
import { AutoScalingClient, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEFAULT_FRACTAL, decodePng } from '../../../apps/render-farm/fractal';
import { freePort } from '../../../local/moto';
import { eachLine, exited, spawnNode, stopChild } from '../../../local/processes';
import { requireTool } from '../../../scripts/test-tools';
import { waitFor } from '../../support/local-aws';
import { REPO_ROOT } from '../../support/paths';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

interface LocalCloudRun {
  readonly child: ChildProcess;
  readonly out: { stdout: string; stderr: string };
  readonly done: Promise<number | null>;
}

function startLocalCloud(args: readonly string[], stateDir: string): LocalCloudRun {
  // spawnNode: the child exits if this test process dies, and takes its own children with it.
  const child = spawnNode(['-r', 'esbuild-register', path.join(REPO_ROOT, 'local', 'start.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOCAL_CLOUD_DIR: stateDir },
  });
  const out = { stdout: '', stderr: '' };
  eachLine(child.stdout, (l) => { out.stdout += `${l}\n`; });
  eachLine(child.stderr, (l) => { out.stderr += `${l}\n`; });
  return { child, out, done: exited(child).then(() => child.exitCode) };
}

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
  const file = fs.readdirSync(logDir).find((f) => f.startsWith('FleetGroup'));
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
async function submit(page: Page, iterations = DEFAULT_FRACTAL.maxIterations): Promise<{ id: string; at: number }> {
  await page.selectOption('#tiles', '4');
  await page.fill('#iterations', String(iterations));
  const before = await page.getAttribute('#progress', 'data-render-id');
  const at = Date.now();
  await page.click('#submit');
  await waitFor('the page to show the new render', async () => {
    const now = await page.getAttribute('#progress', 'data-render-id');
    return !!now && now !== before;
  }, 30_000, 50);
  return { id: (await page.getAttribute('#progress', 'data-render-id'))!, at };
}

/** Waits until the page shows the finished image of `id` (loaded); ms since `at`. */
async function finished(page: Page, id: string, at: number, timeoutMs: number): Promise<number> {
  await page.waitForSelector(`#result[data-render-id="${id}"]`, { timeout: timeoutMs });
  return Date.now() - at;
}

describe('the render farm in a browser', () => {
  let stateDir: string;
  let cloud: LocalCloudRun | undefined;
  let browser: Browser | undefined;

  beforeAll(() => {
    requireTool('chromium'); // `npm test` installs it; a bare `npx jest` says how
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'render-farm-'));
  });
  afterAll(async () => {
    await browser?.close();
    if (cloud) await stopChild(cloud.child, 30_000);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('renders 16 tiles with 1 worker (timed), then through a killed worker and a killed web server, pixel-exact, then with up to 4 (timed); another user sees none of it', async () => {
    // GIVEN the render farm in the local cloud, its fleet held to 1 worker, and a browser where alice signs up
    const t0 = Date.now();
    // The image the farm must produce, rendered in one process (about 6 s of CPU), meanwhile.
    const directFile = path.join(stateDir, 'direct.png');
    const directRender = spawnNode(['-r', 'esbuild-register', '-e',
      `require('fs').writeFileSync(${JSON.stringify(directFile)}, require('./apps/render-farm/fractal').renderImagePng(require('./apps/render-farm/fractal').DEFAULT_FRACTAL))`], { cwd: REPO_ROOT });
    const directDone = exited(directRender);
    const port = await freePort();
    cloud = startLocalCloud(['RenderFarmStack', '--skip-checks', '--port', String(port)], stateDir);
    const run = cloud;
    await waitFor('the local cloud to serve the render farm', () => run.out.stdout.includes('Ctrl-C stops everything.') || run.child.exitCode !== null, 240_000, 250);
    const url = /Open (http:\/\/127\.0\.0\.1:\d+)\/ in a browser: the RenderFarmStack demo page/.exec(run.out.stdout)?.[1];
    if (!url) throw new Error(`the local cloud printed no URL for RenderFarmStack\n--- stderr:\n${run.out.stderr}\n--- stdout:\n${run.out.stdout.slice(-6000)}`);
    const started = Date.now() - t0;
    const groupName = /FleetGroupName = (\S+)/.exec(run.out.stdout)![1]!;
    expect(run.out.stdout).toMatch(/Users\w+ \(AWS::Cognito::UserPool\) = us-east-1_\w+: created by the local cloud through the Cognito API/);
    const autoscaling = new AutoScalingClient({ endpoint: `http://localhost:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const agents = () => pidsRunning(path.join(stateDir, 'run', 'agents')).length;
    const maxWorkers = (n: number) => autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: groupName, MinSize: 0, MaxSize: n }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const alice = await (await browser.newContext({ viewport: { width: 900, height: 1000 } })).newPage();
    const aliceName = `alice-${process.pid}`;
    try {
      await maxWorkers(1);
      await signUp(alice, url, aliceName);
      const signedUp = Date.now() - t0;

      // WHEN alice renders with 1 worker
      const one = await submit(alice);
      const oneMs = await finished(alice, one.id, one.at, 120_000);
      const oneRecord = await (await alice.request.get(`${url}/api/renders/${one.id}`)).json() as { elapsedMs: number };

      // AND renders again with up to 4, while a fleet agent is killed mid-tile and a web server killed
      await maxWorkers(4);
      const first = await submit(alice);
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
      const servers = pidsRunning(path.join(stateDir, 'run', 'web-servers'));
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
      expect(run.out.stdout).toMatch(new RegExp(`worker agent ${victim} of FleetGroup\\w+ was killed \\(SIGKILL\\): its jobs come back after their visibility timeout \\(5 s`));
      expect(run.out.stdout).toMatch(new RegExp(`server \\S+ exited \\(SIGKILL\\)`));
      const screenshot = process.env.RENDER_FARM_SCREENSHOT ? path.resolve(REPO_ROOT, process.env.RENDER_FARM_SCREENSHOT) : path.join(stateDir, 'render-farm.png');
      await alice.screenshot({ path: screenshot, fullPage: true });

      // AND the third render, with up to 4 workers (the fleet grew for the second)
      const most = await submit(alice);
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

      const line = `render farm, 16 tiles of ${DEFAULT_FRACTAL.size}x${DEFAULT_FRACTAL.size} px, submit to image: 1 worker ${(oneMs / 1000).toFixed(1)} s ` +
        `(record ${(oneRecord.elapsedMs / 1000).toFixed(1)} s), up to 4 workers ${(mostMs / 1000).toFixed(1)} s (record ${(mostRecord.elapsedMs / 1000).toFixed(1)} s); ` +
        `with an agent and a server killed ${(drillMs / 1000).toFixed(1)} s (record ${(status.elapsedMs / 1000).toFixed(1)} s, ${(afterKillMs / 1000).toFixed(1)} s after the kill); ` +
        `local cloud ready in ${(started / 1000).toFixed(1)} s, alice signed up at ${(signedUp / 1000).toFixed(1)} s, all checked at ${((Date.now() - t0) / 1000).toFixed(1)} s`;
      process.stdout.write(`${line}\n`);
      fs.writeFileSync(path.join(stateDir, 'timings.json'), JSON.stringify({ oneMs, mostMs, drillMs, afterKillMs, started }));
      expect(oneRecord.elapsedMs).toBeGreaterThan(0);
      expect(mostRecord.elapsedMs).toBeGreaterThan(0);
    } finally {
      autoscaling.destroy();
    }

    // AND the local cloud stops cleanly on Ctrl-C
    const stopAt = Date.now();
    run.child.kill('SIGINT');
    expect(await run.done).toBe(0);
    expect(run.out.stdout).toMatch(/Stopped: no process of the local cloud is left running\./);
    process.stdout.write(`render farm browser test: ${((Date.now() - t0) / 1000).toFixed(1)} s from the start of the local cloud to its stop (the stop ${((Date.now() - stopAt) / 1000).toFixed(1)} s)\n`);
  }, 600_000);
});
