/**
 * `npm test` once on a fresh clone, as the budget is stated: the committed tree cloned into a
 * temporary folder, `npm ci` there (timed apart, from npm's cache), then `npm test` (the test
 * tools, then the type-check and the lint beside jest): wall and CPU time, the jest summary, and
 * the slowest test files (from jest's JSON report), so that the suite's budget of 3 minutes can be
 * watched as patterns are added. No caches of an earlier run (tsc's incremental build info, the
 * packed packages) are in a fresh clone. No peer: there is no other test setup of this project to
 * compare with. Uncommitted changes are not in the clone: commit first.
 *
 * Knobs: BENCH_TEST_SUITE_ARGS (extra arguments for jest, e.g. a path, to run the benchmark on a
 * part of the suite; the result then says so, and judges no goal of the whole suite) and
 * BENCH_TEST_SUITE_BUDGET_S (the budget of that part in seconds of jest time, e.g. 60 for
 * test/local, when it has one).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BenchOutcome } from './lib/results';
import { runTimed } from './toolchain/timing';

const ROOT = path.join(__dirname, '..');
const BUDGET_S = 180;
const SLOWEST = 6;

interface JestReport {
  startTime: number;
  numPassedTests: number;
  numFailedTests: number;
  numTotalTests: number;
  numPassedTestSuites: number;
  numTotalTestSuites: number;
  testResults: { name: string; status: string; startTime: number; endTime: number; perfStats?: { runtime?: number } }[];
}

const s1 = (n: number) => Math.round(n * 10) / 10;

/**
 * Seconds of CPU the whole machine has been busy since boot (/proc/stat: every state but idle and
 * I/O wait, over all cores); undefined where there is no /proc/stat.
 */
export function machineBusySeconds(stat = (): string => fs.readFileSync('/proc/stat', 'utf8')): number | undefined {
  try {
    const fields = stat().split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    return (user + nice + system + irq + softirq + steal) / 100; // USER_HZ: 100 on Linux
  } catch {
    return undefined;
  }
}

export async function run(): Promise<BenchOutcome> {
  const extra = process.env.BENCH_TEST_SUITE_ARGS ?? '';
  const partBudget = process.env.BENCH_TEST_SUITE_BUDGET_S ? Number(process.env.BENCH_TEST_SUITE_BUDGET_S) : undefined;
  const reportFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tests-')), 'jest.json');
  const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tests-clone-'));
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  execFileSync('git', ['clone', '-q', ROOT, clone]);
  const install = runTimed('npm ci --no-audit --no-fund --prefer-offline', { cwd: clone, env: process.env });
  if (install.status !== 0) throw new Error(`npm ci failed in the fresh clone: ${install.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  console.log(`  fresh clone of ${commit}: npm ci ${install.seconds.toFixed(1)} s`);
  const loadBefore = Math.round(os.loadavg()[0]! * 100) / 100;
  const busyBefore = machineBusySeconds();
  const r = runTimed(`npm test -- --json --outputFile='${reportFile}' ${extra}`, { cwd: clone, env: { ...process.env, CI: 'true' } });
  const busyAfter = machineBusySeconds();
  fs.rmSync(clone, { recursive: true, force: true });
  const loadAfter = Math.round(os.loadavg()[0]! * 100) / 100;
  const text = `${r.stdout}\n${r.stderr}`;
  // The run's whole output, for a failure's details (the result keeps only the summary).
  const logFile = path.join(ROOT, '.tmp', 'bench-test-suite.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.writeFileSync(logFile, text);
  let report: JestReport | undefined;
  if (fs.existsSync(reportFile)) report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as JestReport & { startTime: number };
  fs.rmSync(path.dirname(reportFile), { recursive: true, force: true });

  let summary: string;
  if (report) {
    const failing = report.testResults.filter((t) => t.status !== 'passed').map((t) => path.relative(clone, t.name));
    summary = `${report.numPassedTests} of ${report.numTotalTests} tests passed in ${report.numTotalTestSuites} files${failing.length > 0 ? `; failing: ${failing.join(', ')}` : ''}`;
  } else {
    const tsErrors = text.split('\n').filter((l) => /error TS\d+/.test(l));
    summary = tsErrors.length > 0
      ? `typecheck failed before jest ran (${tsErrors.length} error(s), first: ${tsErrors[0]!.trim().slice(0, 200)})`
      : `no jest report (exit ${r.status}): ${text.trim().split('\n').slice(-3).join(' / ').slice(0, 300)}`;
  }
  const files = (report?.testResults ?? [])
    .map((t) => ({ file: path.relative(clone, t.name), seconds: (t.endTime - t.startTime) / 1000 }))
    .sort((a, b) => b.seconds - a.seconds);
  console.log(`  npm test: ${r.seconds.toFixed(1)} s, ${summary}`);

  const figures: Record<string, number> = {
    'npm ci in the clone, not part of npm test (s)': s1(install.seconds),
    'npm test wall (s)': s1(r.seconds),
    'npm test CPU (s)': s1(r.cpuSeconds),
    ...(busyBefore !== undefined && busyAfter !== undefined ? { 'machine CPU busy during npm test (s)': s1(busyAfter - busyBefore) } : {}),
    '1-minute load average at start': loadBefore,
    '1-minute load average at end': loadAfter,
  };
  // Jest's own time: from its start to the end of its last file (what jest prints as Time).
  const jestSeconds = report && report.testResults.length > 0 ? s1((Math.max(...report.testResults.map((t) => t.endTime)) - report.startTime) / 1000) : undefined;
  if (report) {
    if (jestSeconds !== undefined) figures['jest time (s)'] = jestSeconds;
    figures['test files'] = report.numTotalTestSuites;
    figures['tests passed'] = report.numPassedTests;
    figures['tests failed'] = report.numFailedTests;
    for (const f of files.slice(0, SLOWEST)) figures[`slowest file: ${f.file} (s)`] = s1(f.seconds);
  }
  return {
    title: extra ? `\`npm test -- ${extra}\`: a part of the suite on this 2-core machine` : '`npm test`: the whole suite on this 2-core machine',
    method:
      `\`npm test\` once on a fresh clone of commit ${commit} (\`git clone\`, then \`npm ci\` from npm's cache, timed apart): the test tools, then tsc --noEmit and ESLint beside jest (at a lower CPU priority) with jest's configured workers, emulators included; CI=true, timed from the shell: wall seconds, and CPU seconds of the processes npm test waited for (bash's \`times\`: a process that outlives its parent, such as a jest worker's moto server, which ends with the worker, is not counted); the machine's busy CPU seconds over the run (/proc/stat) count those too, and anything else the machine ran meanwhile. ` +
      `Per-file times are jest's own (start to end of each file, with files running in parallel on the workers), from its JSON report; "jest time" is from jest's start to its last file's end.${extra ? ` Run on a part of the suite only: jest ${extra}.` : ''}`,
    ours: { label: 'npm test', figures },
    ratios: {},
    repetitions: 1,
    order: `one run of \`npm test${extra ? ` -- ${extra}` : ''}\` on a fresh clone (the type-check and the lint beside jest, whose workers run files side by side); no peer, nothing interleaved`,
    goals: extra
      ? (partBudget !== undefined && jestSeconds !== undefined
        ? [{ goal: `\`jest ${extra}\` within ${partBudget} s of jest time on this 2-core machine`, measured: `${jestSeconds} s (${summary}; load average ${loadBefore} at start)`, met: jestSeconds <= partBudget && r.status === 0 }]
        : [])
      : [{ goal: `\`npm test\` under ${BUDGET_S / 60} minutes on this 2-core machine`, measured: `${r.seconds.toFixed(1)} s (${summary}, exit ${r.status}; load average ${loadBefore} at start)`, met: r.seconds < BUDGET_S && r.status === 0 }],
    notes: [
      'No peer: there is no other test setup of this project to compare with.',
      'The whole output of the run is written to .tmp/bench-test-suite.log (not committed).',
      `The slowest files, longest first: ${files.slice(0, SLOWEST).map((f) => `${f.file} ${s1(f.seconds)} s`).join('; ') || 'none (no report)'}.`,
      `1-minute load average ${loadBefore.toFixed(1)} before the run (other work on the machine) and ${loadAfter.toFixed(1)} at its end, which counts the suite's own processes (jest's workers, the emulators, the programs the drills start). A file's time includes waiting for a core.`,
    ],
  };
}
