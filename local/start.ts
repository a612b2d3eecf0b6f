/**
 * `npm start [-- options] [Stack ...]`: the command line of the local cloud (local/cloud.ts), for
 * the catalog's app; the package's `cdk-cloud-patterns local` (local/cli.ts) runs the same for a
 * user's app.
 * Checks its input before it starts anything (options, moto installed, port free, no other
 * local cloud running in this checkout), then starts, shows progress, and runs until Ctrl-C;
 * with --smoke it checks what the app has (local/smoke.ts) and exits 0 or 1 instead.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LocalCloud, type Milestone } from './cloud';
import { DeployError, PROJECT_ROOT, QUIET_SDK_ENV } from './deploy';
import { LocalCloudLock, LocalCloudRunningError } from './lock';
import { MotoMissingError, findMotoPython, motoVersion, motoVersionWarning, portInUse } from './moto';
import { stopAll } from './processes';

/** How the local cloud was started: the catalog's `npm start`, or the package's command in a user's app. */
export interface StartSetup {
  /** The command, as the user typed it (in messages and the usage). */
  readonly command: string;
  /** The CDK app's folder (its cdk.json). @default - the catalog's own */
  readonly projectDir?: string;
}

/** The catalog's own `npm start`. */
export const CATALOG_START: StartSetup = { command: 'npm start' };

function usage(setup: StartSetup): string {
  const what = setup.projectDir === undefined
    ? `Usage: npm start [-- [options] [Stack ...]]

Deploys the catalog's stacks (all, or the ones named) into an embedded AWS (moto) on this`
    : `Usage: ${setup.command} [options] [Stack ...]

Deploys your CDK app's stacks (cdk.json in this folder; all, or the ones named) into an
embedded AWS (moto) on this`;
  return `${what}
machine with the real CDK CLI, runs the catalog's workloads it finds (LambdaWorkers behind
their event source mappings, FleetWorker agents as the backlog asks, WebTier servers behind a
local balancer, BootstrappedImage instances booted from their steps), sends demo jobs to the
catalog's demo stacks and shows their progress. Ctrl-C stops everything.
${USAGE_OPTIONS}`;
}

const USAGE_OPTIONS = `
Options:
  --smoke            check what the app has, then stop (exit 0 or 1): every demo job and upload
                     done exactly once, every declared workload running and healthy (web
                     servers ready through the balancer, workers polling, functions loading,
                     instances booted with their services running)
  --port <n>         port of the embedded AWS (default: a free port)
  --jobs <n>         demo jobs per stack, 0 to 200 (default: 30); 0 also means no demo uploads
  --no-failing-job   do not send the demo job that always fails
  --skip-checks      skip cdk-nag (and CDK's template validation) in the synthesis (--smoke does)
  --logs             also print the functions' logs (always in .local-cloud/logs/)
  --timings <file>   write the start's milestones (epoch ms) to a JSON file
  -h, --help         show this help
`;

/** Parsed command line. */
export interface StartArgs {
  readonly stacks: string[];
  readonly smoke: boolean;
  readonly port?: number;
  readonly jobs: number;
  readonly failingJob: boolean;
  readonly checks: boolean;
  readonly logs: boolean;
  readonly timings?: string;
  readonly help: boolean;
}

/** Thrown for a bad command line; the message says what and how to fix it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses the arguments after `npm start --`. */
export function parseArgs(argv: readonly string[]): StartArgs {
  const stacks: string[] = [];
  let smoke = false;
  let port: number | undefined;
  let jobs = 30;
  let failingJob = true;
  let skipChecks = false;
  let logs = false;
  let timings: string | undefined;
  let help = false;
  const value = (i: number, name: string) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value, e.g. ${name} ${name === '--port' ? '4566' : name === '--jobs' ? '30' : 'timings.json'}`);
    return v;
  };
  const integer = (v: string, name: string, min: number, max: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, received ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const take = () => (inline !== undefined ? inline : value(i++, flag));
    switch (flag) {
      case '--smoke': smoke = true; break;
      case '--port': port = integer(take(), '--port', 1, 65_535); break;
      case '--jobs': jobs = integer(take(), '--jobs', 0, 200); break;
      case '--no-failing-job': failingJob = false; break;
      case '--skip-checks': skipChecks = true; break;
      case '--logs': logs = true; break;
      case '--timings': timings = take(); break;
      case '-h': case '--help': help = true; break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
        stacks.push(a);
    }
  }
  return { stacks, smoke, port, jobs, failingJob, checks: !(skipChecks || smoke), logs, timings, help };
}

/** The state folder: .local-cloud/ in the project (git-ignored), or LOCAL_CLOUD_DIR. */
export function stateDir(projectDir: string = PROJECT_ROOT): string {
  return path.resolve(process.env.LOCAL_CLOUD_DIR ?? path.join(projectDir, '.local-cloud'));
}

const DEMO_GRACE_MS = 15_000;

/** Runs the local cloud's command line; resolves with the exit code. */
export async function main(argv: readonly string[], setup: StartSetup = CATALOG_START): Promise<number> {
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const name = setup.command;
  const fail = (line: string) => process.stderr.write(`${line}\n`);
  const USAGE = usage(setup);

  // 1. Everything that can be checked before starting anything.
  let args: StartArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    fail(`${name}: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    print(USAGE);
    return 0;
  }
  try {
    const warning = motoVersionWarning(motoVersion(findMotoPython()));
    if (warning) fail(`${name}: warning: ${warning}`);
  } catch (e) {
    if (!(e instanceof MotoMissingError)) throw e;
    fail(`${name}: ${e.message}`);
    return 1;
  }
  if (args.port !== undefined && (await portInUse(args.port))) {
    fail(`${name}: port ${args.port} is already in use on 127.0.0.1. Choose another with --port, or leave --port out to use a free one.`);
    return 1;
  }
  if (setup.projectDir !== undefined && !fs.existsSync(path.join(setup.projectDir, 'cdk.json'))) {
    fail(`${name}: there is no cdk.json in ${setup.projectDir}: run it in your CDK app's folder, where \`npx cdk synth\` works.`);
    return 1;
  }
  const dir = stateDir(setup.projectDir);
  const lock = new LocalCloudLock(dir);
  try {
    lock.acquire();
  } catch (e) {
    if (!(e instanceof LocalCloudRunningError)) throw e;
    fail(`${name}: ${e.message}`);
    return 1;
  }
  process.once('exit', () => lock.release());

  // 2. Start; Ctrl-C (or SIGTERM) stops everything, a second one stops at once.
  const milestones: Record<string, number> = { command: Math.round(performance.timeOrigin) };
  let onFatal: (message: string) => void = () => undefined;
  const cloud = new LocalCloud({
    stacks: args.stacks,
    port: args.port,
    checks: args.checks,
    jobs: args.jobs,
    failingJob: args.failingJob,
    echoLogs: args.logs,
    stateDir: dir,
    projectDir: setup.projectDir,
    print,
    onFatal: (message) => onFatal(message),
    onMilestone: (m: Milestone, at: number) => {
      milestones[m] = at;
      if (m === 'moto') lock.update(cloud.aws?.endpoint ?? '');
      if (args.timings) {
        // Written whole, then renamed, so that a reader never sees half a file.
        fs.writeFileSync(`${args.timings}.tmp`, JSON.stringify(milestones, null, 2));
        fs.renameSync(`${args.timings}.tmp`, args.timings);
      }
    },
  });
  let interrupted = false;
  let fatal = false;
  const stopped = new Promise<void>((resolve) => {
    onFatal = (message) => {
      fatal = true;
      fail(`\n${name}: ${message}\nStopping everything else.`);
      void cloud.stop().then(resolve, resolve);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupted) {
        fail(`\n${signal} again: stopping at once.`);
        void stopAll(0).finally(() => process.exit(130));
        return;
      }
      interrupted = true;
      print(`\n${signal}: stopping the workers and the embedded AWS...`);
      void cloud.stop().then(resolve, resolve);
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  });

  try {
    await cloud.start();
  } catch (e) {
    if (!cloud.isStopping) {
      fail(`\n${name}: ${(e as Error).message}`);
      if (e instanceof DeployError) for (const line of e.details) fail(`  ${line}`);
      else if (!(e instanceof Error) || !/moto|port/.test(e.message)) fail(String((e as Error).stack ?? e));
    }
    await cloud.stop();
    report(cloud, print, fail);
    return interrupted ? 0 : 1;
  }

  if (args.smoke) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { smokeCheck } = require('./smoke') as typeof import('./smoke');
    const { problems, passed } = await smokeCheck(cloud, { failingJob: args.failingJob });
    print(cloud.summary());
    await cloud.stop();
    const clean = report(cloud, print, fail);
    if (problems.length > 0 || !clean) {
      fail(`\nsmoke: FAILED\n${problems.map((p) => `  - ${p}`).join('\n')}`);
      return 1;
    }
    print('');
    for (const line of passed) print(`smoke: OK: ${line}`);
    return 0;
  }

  // Say how to go on once the demo is done (or has had a while), not in the middle of its progress.
  await cloud.waitForDemo(DEMO_GRACE_MS);
  if (!cloud.isStopping) {
    print('');
    for (const line of cloud.howToUse()) print(line);
  }
  await stopped;
  report(cloud, print, fail);
  return fatal ? 1 : 0;
}

/** Says what was stopped; false when a child process is still running (a bug). */
function report(cloud: LocalCloud, print: (l: string) => void, fail: (l: string) => void): boolean {
  const left = cloud.leftovers();
  if (left.length > 0) {
    fail(`still running after the stop: pids ${left.join(' ')}`);
    return false;
  }
  print('Stopped: no process of the local cloud is left running.');
  return true;
}

/** Runs {@link main} as the process's command and exits with its code. */
export function runMain(argv: readonly string[], setup: StartSetup = CATALOG_START): void {
  Object.assign(process.env, QUIET_SDK_ENV);
  main(argv, setup).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${setup.command}: unexpected error: ${(e as Error).stack ?? e}\n`);
      void stopAll(0).finally(() => process.exit(1));
    },
  );
}

if (require.main === module) runMain(process.argv.slice(2));
