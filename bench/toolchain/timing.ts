/**
 * Timing helpers of the benchmarks: run a shell command and measure its wall and CPU time, and
 * summarize samples (median, min, max).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';

export interface Timed {
  readonly status: number;
  readonly seconds: number;
  /** User + system CPU seconds of the command's whole process tree (bash `times`). */
  readonly cpuSeconds: number;
  readonly stdout: string;
  readonly stderr: string;
}

const bashSeconds = (s: string) => {
  const m = s.match(/^(\d+)m([\d.]+)s$/);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
};

/**
 * Runs `command` in bash (as the CDK CLI runs an app command: through a shell) and times it.
 * The CPU time comes from bash's `times` (its waited-for children, recursively).
 */
export function runTimed(command: string, options: { cwd: string; env: NodeJS.ProcessEnv }): Timed {
  const timesFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-times-')), 'times');
  const script = `${command}\n__rc=$?\ntimes > "${timesFile}"\nexit $__rc`;
  const start = performance.now();
  const r = spawnSync('bash', ['-c', script], { cwd: options.cwd, env: options.env, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  const seconds = (performance.now() - start) / 1000;
  let cpuSeconds = NaN;
  if (fs.existsSync(timesFile)) {
    const lines = fs.readFileSync(timesFile, 'utf8').trim().split('\n');
    const [user = '', sys = ''] = (lines[1] ?? '').trim().split(/\s+/);
    cpuSeconds = bashSeconds(user) + bashSeconds(sys);
  }
  fs.rmSync(path.dirname(timesFile), { recursive: true, force: true });
  return { status: r.status ?? 1, seconds, cpuSeconds, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}
