/**
 * The local cloud from the command to work done: `npm start` (synthesis with cdk-nag, as a
 * user runs it) and `npm start -- --smoke` (checks skipped), each
 * run as a user would, in a child process. The local cloud writes the epoch time of each
 * milestone (--timings); this measures them from the moment it spawned `npm`, so npm's and
 * Node's start-up count too. `npm start` keeps running until Ctrl-C: it gets SIGINT once its
 * demo jobs are done, and the time it takes to stop is measured too.
 *
 * No peer: nothing else deploys CDK templates with the real CLI and runs their Lambda
 * functions locally without Docker (LocalStack needs Docker, SAM local runs functions only).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BenchOutcome } from './lib/results';

const ROOT = path.join(__dirname, '..');
const RUNS = Number(process.env.LOCAL_CLOUD_BENCH_RUNS ?? 2);
const GOAL_FIRST_JOB_S = 60;
/** Bounds one run: a start that has not finished by then is stopped and the run fails. */
const RUN_LIMIT_MS = 240_000;

interface Timings {
  /** Seconds from spawning npm to each milestone. */
  readonly motoReady: number;
  readonly synthesized: number;
  readonly bootstrapped: number;
  readonly deployed: number;
  readonly firstDone: number;
  readonly allDone: number;
  /** Seconds from SIGINT (or the end of the smoke check) to the process's exit. */
  readonly exitAfter: number;
}

/** Runs `npm start -- <args>` once; with `interrupt`, sends SIGINT once every demo job is done. */
async function runOnce(args: readonly string[], interrupt: boolean): Promise<Timings> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-bench-'));
  const timingsFile = path.join(dir, 'timings.json');
  const spawnedAt = Date.now();
  const child = spawn('npm', ['start', '--', ...args, '--timings', timingsFile], {
    cwd: ROOT,
    env: { ...process.env, LOCAL_CLOUD_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, like a command in a terminal: Ctrl-C is SIGINT to the whole group.
    detached: true,
  });
  const ctrlC = () => {
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      // already gone
    }
  };
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const limit = setTimeout(ctrlC, RUN_LIMIT_MS);
  const read = (): Record<string, number> => {
    try {
      return JSON.parse(fs.readFileSync(timingsFile, 'utf8')) as Record<string, number>;
    } catch {
      return {}; // not written yet
    }
  };
  let stopAt = 0;
  try {
    if (interrupt) {
      while (read().allDone === undefined && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
      stopAt = Date.now();
      ctrlC();
    }
    const code = await exited;
    const t = read();
    if (!interrupt) stopAt = t.allDone ?? Date.now();
    if ((!interrupt && code !== 0) || t.allDone === undefined) {
      throw new Error(`npm start ${args.join(' ')} failed (exit ${code}):\n${output.slice(-3000)}`);
    }
    const s = (at: number | undefined) => Math.round(((at ?? NaN) - spawnedAt) / 100) / 10;
    return {
      motoReady: s(t.moto),
      synthesized: s(t.synth),
      bootstrapped: s(t.bootstrap),
      deployed: s(t.deploy),
      firstDone: s(t.firstDone),
      allDone: s(t.allDone),
      exitAfter: Math.round((Date.now() - stopAt) / 100) / 10,
    };
  } finally {
    clearTimeout(limit);
    if (child.exitCode === null && child.signalCode === null) {
      ctrlC();
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const mean = (xs: readonly number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;
const max = (xs: readonly number[]) => Math.max(...xs);

export async function run(): Promise<BenchOutcome> {
  const full: Timings[] = [];
  const smoke: Timings[] = [];
  const loadBefore = os.loadavg()[0]!;
  for (let i = 0; i < RUNS; i++) {
    full.push(await runOnce([], true));
    console.log(`  npm start #${i + 1}: ${JSON.stringify(full[i])}`);
    smoke.push(await runOnce(['--smoke'], false));
    console.log(`  npm start -- --smoke #${i + 1}: ${JSON.stringify(smoke[i])}`);
  }
  const loadAfter = os.loadavg()[0]!;
  const figures = (label: string, runs: readonly Timings[]) => ({
    [`${label}: to embedded AWS ready, mean (s)`]: mean(runs.map((r) => r.motoReady)),
    [`${label}: to app synthesized, mean (s)`]: mean(runs.map((r) => r.synthesized)),
    [`${label}: to bootstrapped, mean (s)`]: mean(runs.map((r) => r.bootstrapped)),
    [`${label}: to stacks deployed, mean (s)`]: mean(runs.map((r) => r.deployed)),
    [`${label}: to first demo job done, mean (s)`]: mean(runs.map((r) => r.firstDone)),
    [`${label}: to first demo job done, worst (s)`]: max(runs.map((r) => r.firstDone)),
    [`${label}: to all demo jobs done, mean (s)`]: mean(runs.map((r) => r.allDone)),
    [`${label}: exit after ${label === 'npm start' ? 'Ctrl-C' : 'the check'}, mean (s)`]: mean(runs.map((r) => r.exitAfter)),
  });
  const worstFirst = max(full.map((r) => r.firstDone));
  return {
    title: 'Local cloud: from `npm start` to demo jobs done',
    method:
      `From spawning \`npm start\` to the milestones the local cloud records (--timings): moto answering, the app synthesized, ` +
      'moto bootstrapped (both side by side), every stack of the app deployed by the CDK CLI, and the first and the last demo job ' +
      'done (30 per stack that takes them: WorkQueueStack by its Lambda worker, FleetWorkerStack by its worker agents, which start ' +
      `at zero). ${RUNS} runs of each, alternating: \`npm start\` (synthesis with cdk-nag, as the app runs by default; SIGINT to ` +
      'its process group once the jobs are done) and `npm start -- --smoke` (cdk-nag and CDK template validation skipped).',
    ours: { label: 'ours: npm start (local cloud)', figures: { ...figures('npm start', full), ...figures('--smoke', smoke) } },
    ratios: {},
    goals: [{ goal: `first demo job done within ${GOAL_FIRST_JOB_S} s of \`npm start\``, measured: `${worstFirst} s (worst of ${RUNS})`, met: worstFirst <= GOAL_FIRST_JOB_S }],
    notes: [
      'No peer: nothing else deploys CDK templates with the real CLI and runs their Lambda functions locally without Docker (LocalStack needs Docker; SAM local runs functions, not the deployed wiring).',
      'Most of the time is start-up, not work: moto loading its services, synthesis (the critical path with validation and cdk-nag), and the CDK CLI starting twice (bootstrap, deploy). The jobs themselves take 1 to 3 s.',
      `The machine is shared (2 cores): its 1-minute load average was ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after this run; figures move by several seconds with it.`,
    ],
  };
}
