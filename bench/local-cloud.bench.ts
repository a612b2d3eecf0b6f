/**
 * The local cloud from the command to work done: `npm start` (every stack, synthesis with cdk-nag,
 * as a user runs it) and `npm start -- --smoke` (checks skipped), each run as a user would, in a
 * child process. The local cloud writes the epoch time of each milestone (--timings); this
 * measures them from the moment it spawned `npm`, so npm's and Node's start-up count too.
 * `npm start` keeps running until Ctrl-C: it gets SIGINT once its demo jobs are done, and the
 * time it takes to stop is measured too.
 *
 * No peer: nothing else deploys CDK templates with the real CLI and runs their Lambda functions,
 * fleets, web tiers and instances locally without Docker (LocalStack needs Docker, SAM local runs
 * functions only). So nothing is interleaved: the two commands alternate, RUNS times each.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadAverage, type BenchOutcome } from './lib/results';

const ROOT = path.join(__dirname, '..');
const RUNS = Number(process.env.LOCAL_CLOUD_BENCH_RUNS ?? 3);
const GOAL_FIRST_JOB_S = 15;
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
  /** Every workload of every stack running (the web tiers' servers healthy, the instances booted). */
  readonly workloads: number;
  /** Seconds from SIGINT (or the end of the smoke check) to the process's exit. */
  readonly exitAfter: number;
  /** 1-minute load average when the run started. */
  readonly load: number;
}

/** Runs `npm start -- <args>` once; with `interrupt`, sends SIGINT once every demo job is done and every workload runs. */
async function runOnce(args: readonly string[], interrupt: boolean): Promise<Timings> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-bench-'));
  const timingsFile = path.join(dir, 'timings.json');
  const load = loadAverage()[0]!;
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
      while ((read().allDone === undefined || read().workers === undefined) && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
      stopAt = Date.now();
      ctrlC();
    }
    const code = await exited;
    const t = read();
    if (!interrupt) stopAt = Math.max(t.allDone ?? 0, t.workers ?? 0) || Date.now();
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
      workloads: s(t.workers),
      exitAfter: Math.round((Date.now() - stopAt) / 100) / 10,
      load,
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

const round1 = (n: number) => Math.round(n * 10) / 10;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return round1(s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2);
};
const max = (xs: readonly number[]) => Math.max(...xs);
const min = (xs: readonly number[]) => Math.min(...xs);

export async function run(): Promise<BenchOutcome> {
  const full: Timings[] = [];
  const smoke: Timings[] = [];
  const order: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    full.push(await runOnce([], true));
    order.push('npm start');
    console.log(`  npm start #${i + 1}: ${JSON.stringify(full[i])}`);
    smoke.push(await runOnce(['--smoke'], false));
    order.push('npm start -- --smoke');
    console.log(`  npm start -- --smoke #${i + 1}: ${JSON.stringify(smoke[i])}`);
  }
  const figures = (label: string, runs: readonly Timings[]) => ({
    [`${label}: to embedded AWS ready, median (s)`]: median(runs.map((r) => r.motoReady)),
    [`${label}: to app synthesized, median (s)`]: median(runs.map((r) => r.synthesized)),
    [`${label}: to bootstrapped, median (s)`]: median(runs.map((r) => r.bootstrapped)),
    [`${label}: to stacks deployed, median (s)`]: median(runs.map((r) => r.deployed)),
    [`${label}: to first demo job done, median (s)`]: median(runs.map((r) => r.firstDone)),
    [`${label}: to first demo job done, best (s)`]: min(runs.map((r) => r.firstDone)),
    [`${label}: to first demo job done, worst (s)`]: max(runs.map((r) => r.firstDone)),
    [`${label}: to all demo jobs done, median (s)`]: median(runs.map((r) => r.allDone)),
    [`${label}: to every workload running, median (s)`]: median(runs.map((r) => r.workloads)),
    [`${label}: exit after ${label === 'npm start' ? 'Ctrl-C' : 'the check'}, median (s)`]: median(runs.map((r) => r.exitAfter)),
    [`${label}: 1-minute load average at the run's start, median`]: median(runs.map((r) => r.load)),
  });
  const worstFirst = max(full.map((r) => r.firstDone));
  const medianFirst = median(full.map((r) => r.firstDone));
  const loads = [...full, ...smoke].map((r) => r.load);
  return {
    title: 'Local cloud: from `npm start` to demo jobs done',
    summary:
      `\`npm start\` with every stack had its first demo job done ${medianFirst} s after the command (median of ${RUNS}; worst ${worstFirst} s), ` +
      `${worstFirst <= GOAL_FIRST_JOB_S ? 'within' : 'past'} the ${GOAL_FIRST_JOB_S} s goal; 1-minute load average ${min(loads)} to ${max(loads)} during the runs.`,
    method:
      `From spawning \`npm start\` (npm's own start-up included) to the milestones the local cloud records (--timings): moto answering, the app synthesized, ` +
      'moto bootstrapped (both side by side), every stack of the app deployed by the CDK CLI, the first and the last demo job done ' +
      '(30 per stack that takes them, and one that always fails: WorkQueueStack by its Lambda worker, FleetWorkerStack by its worker agents, which start at zero; and ' +
      'SharedStorageStack\'s 5 uploads; a demo starts once its own worker runs), and every workload of every stack running (the web tiers\' servers ' +
      `healthy, ImageBootstrapStack's instance booted). ${RUNS} runs of each command, one after the other, alternating (nothing to interleave: no peer): ` +
      '`npm start` (synthesis with cdk-nag, as the app runs by default; SIGINT to its process group once the demos are done and every workload runs) and ' +
      '`npm start -- --smoke` (cdk-nag skipped; the check of every workload). The first demo job is read every 200 ms.',
    ours: { label: 'ours: npm start (local cloud)', figures: { ...figures('npm start', full), ...figures('--smoke', smoke) } },
    ratios: {},
    repetitions: RUNS,
    order: order.join(', '),
    goals: [{
      goal: `first demo job done within ${GOAL_FIRST_JOB_S} s of \`npm start\` (every stack, with cdk-nag), in every run`,
      measured: `${worstFirst} s worst of ${RUNS} (median ${medianFirst} s; load average ${median(full.map((r) => r.load))} at the runs' start)`,
      met: worstFirst <= GOAL_FIRST_JOB_S,
    }],
    notes: [
      'No peer: nothing else deploys CDK templates with the real CLI and runs their Lambda functions, fleets, web tiers and instances locally without Docker (LocalStack needs Docker; SAM local runs functions, not the deployed wiring).',
      'Most of the time to the first job is start-up, not work: synthesis (the critical path, with cdk-nag), the CDK CLI starting twice (bootstrap while the app synthesizes, then deploy), and moto loading its services. The web tiers become healthy later (two health checks 5 s apart), but no demo waits for them.',
      `The machine is shared (2 cores): the 1-minute load average at each run's start is in the figures (${loads.join(', ')}, in run order); figures move by seconds with it.`,
    ],
  };
}
