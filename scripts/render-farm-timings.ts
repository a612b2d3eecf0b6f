/**
 * `node -r esbuild-register scripts/render-farm-timings.ts [pairs]`: how long a 16-tile render
 * takes in the local cloud from submit to finished, with the fleet held to 1 worker and allowed
 * its maximum (4), alternating, `pairs` times each (default 5), and the medians. Through the web
 * app's API (as the page calls it), without a browser; the browser test measures one of each.
 * Starts `npm start -- RenderFarmStack` in its own state folder and stops it at the end.
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

async function main(): Promise<void> {
  const pairs = Number(process.argv[2] ?? 5);
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 20) throw new Error(`pairs must be a whole number from 1 to 20, received ${process.argv[2]}`);
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
    const times: Record<number, number[]> = { 1: [], 4: [] };
    for (let i = 0; i < pairs; i++) {
      for (const maxSize of [1, 4]) {
        await autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: group, MinSize: 0, MaxSize: maxSize }));
        await until(`at most ${maxSize} agents`, () => (agentsRunning(stateDir) <= maxSize ? true : undefined), 120_000, 500);
        const submitted = await (await fetch(`${url}/api/renders`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(DEFAULT_FRACTAL) })).json() as { id: string };
        const done = await until('the render', async () => {
          const r = await (await fetch(`${url}/api/renders/${submitted.id}`, { headers: { cookie } })).json() as { status: string; elapsedMs: number };
          return r.status === 'finished' ? r.elapsedMs : undefined;
        }, 300_000, 500); // twice the page's pace, within a session's polling limit
        times[maxSize]!.push(done);
        process.stdout.write(`pair ${i + 1}, max ${maxSize} worker${maxSize > 1 ? 's' : ''}: ${(done / 1000).toFixed(1)} s\n`);
      }
    }
    process.stdout.write(`16 tiles of ${DEFAULT_FRACTAL.size}x${DEFAULT_FRACTAL.size} px, submitted to finished (median of ${pairs}): ` +
      `1 worker ${(median(times[1]!) / 1000).toFixed(1)} s, up to 4 workers ${(median(times[4]!) / 1000).toFixed(1)} s; ${os.cpus().length} CPUs\n`);
  } finally {
    autoscaling.destroy();
    child.kill('SIGINT');
    await Promise.race([exited(child), new Promise((r) => setTimeout(r, 30_000))]);
    await stopChild(child, 1000);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e: Error) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
