/**
 * Worker programs as child processes, for the agent's kill -9 and SIGTERM drills: each runs
 * test/runtime/worker-agent/fixtures/worker-agent-process.ts (runWorkerFromEnv with a reporting handler) and
 * exits when its IPC channel to the test closes, so none outlives the test process.
 */
import { fork, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as esbuild from 'esbuild';
import { cachedBuildSync } from '../../lib/core/bundle-cache';
import { AGENT_ESBUILD_OPTIONS } from '../../lib/core/bundling';
import { LOCAL_AWS_ENV } from '../../local/moto';

const FIXTURE = path.join(__dirname, '..', 'runtime', 'worker-agent', 'fixtures', 'worker-agent-process.ts');

/** What the fixture's handler reports. */
export interface JobReport {
  readonly type: 'started' | 'done';
  readonly jobId: string;
  readonly n: number;
  readonly attempt: number;
  readonly pid: number;
  /** What context.commit resolved to, when the job's effect is a committed counter. */
  readonly outcome?: 'committed' | 'alreadyCompleted';
  /** The thread the handler ran on (0: the agent's main thread; job threads count up from 1). */
  readonly thread: number;
  /** Epoch ms of the report. */
  readonly at: number;
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the handler reported, in order. */
  readonly reports: JobReport[];
  /** stdout and stderr (JSON log lines), for assertions and failure messages. */
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Every process started by this module, so that a test can kill what it leaves behind. */
const started = new Set<WorkerProcess>();

/**
 * Starts a worker program with `env` on top of the local AWS settings: `script`, the fixture
 * bundled beforehand (see bundleWorkerFixture), as FleetWorker bundles an agent; it starts in a
 * fraction of the time the fixture took through esbuild-register.
 */
export function startWorkerProcess(env: Record<string, string>, script: string): WorkerProcess {
  const child = fork(script, [], {
    execArgv: [], // not the jest worker's flags
    env: { PATH: process.env.PATH ?? '', ...LOCAL_AWS_ENV, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const reports: JobReport[] = [];
  child.on('message', (m: JobReport) => reports.push(m));
  const worker: WorkerProcess = {
    child,
    pid: child.pid!,
    reports,
    output: () => output,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  started.add(worker);
  void worker.exited.then(() => started.delete(worker));
  return worker;
}

/**
 * Bundles the fixture program into `outfile` (an `.mjs` file) with the options FleetWorker bundles
 * an agent program with (AGENT_ESBUILD_OPTIONS: one minified ES module, the SDK's ES modules),
 * through the suite's bundle cache (lib/core/bundle-cache.ts, set by jest's global setup): four
 * test files run this program, and it is bundled once a run. Minified, it is a quarter of the
 * size of a plain CommonJS bundle and a process starts with about a third less CPU (0.22 against
 * 0.34 s here, job thread included); the drills start dozens.
 */
export async function bundleWorkerFixture(outfile: string): Promise<string> {
  if (path.extname(outfile) !== '.mjs') throw new Error(`bundleWorkerFixture: outfile must end in .mjs (an ES module), received ${outfile}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-fixture-'));
  try {
    const bundled = path.join(dir, 'worker.mjs');
    cachedBuildSync(esbuild, { ...AGENT_ESBUILD_OPTIONS, entryPoints: [FIXTURE], outfile: bundled, logLevel: 'error' }, dir);
    fs.mkdirSync(path.dirname(outfile), { recursive: true });
    fs.copyFileSync(bundled, outfile);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return outfile;
}

/** Kills (SIGKILL) every worker process still running; for afterEach. */
export async function killWorkerProcesses(): Promise<void> {
  const running = [...started];
  for (const w of running) w.child.kill('SIGKILL');
  await Promise.all(running.map((w) => w.exited));
}
