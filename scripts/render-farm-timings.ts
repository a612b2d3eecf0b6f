/**
 * `node -r esbuild-register scripts/render-farm-timings.ts [pairs]`: how long a 16-tile render
 * takes in the local cloud from submit to finished, with the fleet held to 1 worker and allowed
 * its maximum (4), `pairs` times each (default 5), the two settings alternating and which goes
 * first alternating too, and the medians with their ranges. Through the web app's API (as the
 * page calls it), without a browser; the browser test measures one of each. Starts `npm start --
 * RenderFarmStack` in its own state folder and stops it at the end. `npm run bench --
 * render-farm` runs the same (renderFarmTimings) and writes bench/results/render-farm.json.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AutoScalingClient, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DEFAULT_FRACTAL } from '../apps/render-farm/fractal';
import { freePort } from '../local/moto';
import { eachLine, exited, spawnNode, stopChild } from '../local/processes';

const ROOT = path.join(__dirname, '..');

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function agentsRunning(stateDir: string): number {
  const dir = path.join(stateDir, 'run', 'agents');
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(dir);
    } catch {
      return false;
    }
  }).length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** What {@link renderFarmTimings} measured: submit-to-finished ms per fleet maximum, in the order run. */
export interface RenderFarmTimings {
  readonly times: { readonly 1: number[]; readonly 4: number[] };
  /** The order of the renders, e.g. `1, 4; 4, 1; ...`. */
  readonly order: string[];
  readonly tiles: number;
  readonly size: number;
}

/** Times `pairs` renders with the fleet held to 1 worker and `pairs` with up to 4, alternating. */
export async function renderFarmTimings(pairs: number, log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<RenderFarmTimings> {
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 20) throw new Error(`pairs must be a whole number from 1 to 20, received ${pairs}`);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'render-farm-timings-'));
  const port = await freePort();
  const child = spawnNode(['-r', 'esbuild-register', path.join(ROOT, 'local', 'start.ts'), 'RenderFarmStack', '--skip-checks', '--port', String(port)], {
    cwd: ROOT, env: { ...process.env, LOCAL_CLOUD_DIR: stateDir },
  });
  let out = '';
  eachLine(child.stdout, (l) => { out += `${l}\n`; });
  eachLine(child.stderr, (l) => { out += `${l}\n`; });
  const autoscaling = new AutoScalingClient({ endpoint: `http://localhost:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  try {
    await until('the local cloud', () => (out.includes('Ctrl-C stops everything.') ? true : child.exitCode !== null ? Promise.reject(new Error(out)) : undefined), 300_000, 500);
    const url = /Open (http:\/\/127\.0\.0\.1:\d+)\/ in a browser: the RenderFarmStack/.exec(out)![1]!;
    const group = /FleetGroupName = (\S+)/.exec(out)![1]!;
    // A user of the pool (the local cloud's Cognito), as the page signs up.
    const signIn = await fetch(`${url}/api/sign-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: `timer-${process.pid}`, password: 'Render-farm-passw0rd' }) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const times: { 1: number[]; 4: number[] } = { 1: [], 4: [] };
    const order: string[] = [];
    for (let i = 0; i < pairs; i++) {
      // Which setting goes first alternates, so that neither always follows the other.
      const settings = i % 2 === 0 ? ([1, 4] as const) : ([4, 1] as const);
      order.push(settings.join(', '));
      for (const maxSize of settings) {
        await autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: group, MinSize: 0, MaxSize: maxSize }));
        await until(`at most ${maxSize} agents`, () => (agentsRunning(stateDir) <= maxSize ? true : undefined), 120_000, 500);
        const submitted = await (await fetch(`${url}/api/renders`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(DEFAULT_FRACTAL) })).json() as { id: string };
        const done = await until('the render', async () => {
          const r = await (await fetch(`${url}/api/renders/${submitted.id}`, { headers: { cookie } })).json() as { status: string; elapsedMs: number };
          return r.status === 'finished' ? r.elapsedMs : undefined;
        }, 300_000, 500); // twice the page's pace, within a session's polling limit
        times[maxSize].push(done);
        log(`pair ${i + 1}, max ${maxSize} worker${maxSize > 1 ? 's' : ''}: ${(done / 1000).toFixed(1)} s`);
      }
    }
    return { times, order, tiles: 16, size: DEFAULT_FRACTAL.size };
  } finally {
    autoscaling.destroy();
    child.kill('SIGINT');
    await Promise.race([exited(child), new Promise((r) => setTimeout(r, 30_000))]);
    await stopChild(child, 1000);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const pairs = Number(process.argv[2] ?? 5);
  const { times, size } = await renderFarmTimings(pairs);
  const range = (xs: number[]) => `${(Math.min(...xs) / 1000).toFixed(1)}-${(Math.max(...xs) / 1000).toFixed(1)} s`;
  process.stdout.write(`16 tiles of ${size}x${size} px, submitted to finished (median of ${pairs}): ` +
    `1 worker ${(median(times[1]) / 1000).toFixed(1)} s (${range(times[1])}), up to 4 workers ${(median(times[4]) / 1000).toFixed(1)} s (${range(times[4])}); ${os.cpus().length} CPUs\n`);
}

if (require.main === module) {
  main().then(() => process.exit(0), (e: Error) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
}
