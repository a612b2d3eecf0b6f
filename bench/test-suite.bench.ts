/**
 * `npm test` on fresh clones, as the budget is stated (three runs by default): each time the tree
 * cloned into a temporary folder, `npm ci` there (timed apart, from npm's cache), then `npm test`
 * (the test tools, then the type-check and the lint beside jest): wall and CPU time, the jest
 * summary, and the slowest test files (from jest's JSON report), so that the suite's budget of 3
 * minutes can be watched as patterns are added. No caches of an earlier run (tsc's incremental
 * build info, the packed packages) are in a fresh clone. Uncommitted changes are not in the clone:
 * commit first.
 *
 * The control: this machine's speed for this work moves by up to half from one hour to the next
 * (the same tree took 360 CPU seconds at 16:00 and 519 at 22:10 on 2026-12-06), so each run of the
 * committed tree is paired with a run of a reference tree, an older commit whose runs in a quiet
 * hour are on record (REFERENCE_ON_RECORD), alternately, the order flipped every pair. The peer
 * column is that tree in the same hour: it tells a slow hour from a slower suite.
 *
 * Knobs: BENCH_TEST_SUITE_ARGS (extra arguments for jest, e.g. a path, to run the benchmark on a
 * part of the suite; the result then says so, and judges no goal of the whole suite) and
 * BENCH_TEST_SUITE_BUDGET_S (the budget of that part in seconds of jest time, e.g. 60 for
 * test/local, when it has one); BENCH_TEST_SUITE_RUNS (runs of each tree, 1 to 10, default 3);
 * BENCH_TEST_SUITE_REFERENCE (the reference commit, default REFERENCE_ON_RECORD's; `none` for
 * no control, which halves the benchmark's time).
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
/** Runs of `npm test` (BENCH_TEST_SUITE_RUNS): one run says little on a machine whose speed varies by a tenth. */
const DEFAULT_RUNS = 3;

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

/** The reference tree's runs on record, in a quiet hour (bench/results/test-suite.json of 08d5612). */
export const REFERENCE_ON_RECORD = {
  commit: '8eee7c2',
  when: '2026-12-06 at 16:00 UTC',
  wallSeconds: [198.5, 193.5, 172.7],
  cpuMedianSeconds: 360,
} as const;

/**
 * The reference commit from BENCH_TEST_SUITE_REFERENCE: undefined for `none`, REFERENCE_ON_RECORD's
 * when unset, else the value, which must name a commit of this repository (`resolve` asks git for
 * its full hash and throws when there is none).
 */
export function referenceCommit(value: string | undefined, resolve: (ref: string) => string): string | undefined {
  const ref = value === undefined || value.trim() === '' ? REFERENCE_ON_RECORD.commit : value.trim();
  if (ref === 'none') return undefined;
  try {
    return resolve(ref);
  } catch (e) {
    throw new Error(`BENCH_TEST_SUITE_REFERENCE must name a commit of this repository, or be none (no reference runs); received "${ref}": ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

/** Which tree each run is, in the order run: pairs alternate which goes first (ours first in the first pair). */
export function interleavedOrder(pairs: number): ('ours' | 'reference')[] {
  const order: ('ours' | 'reference')[] = [];
  for (let i = 0; i < pairs; i++) order.push(...(i % 2 === 0 ? ['ours', 'reference'] as const : ['reference', 'ours'] as const));
  return order;
}

/** One `npm test` on a fresh clone. */
export interface SuiteRun {
  readonly installSeconds: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  /** The machine's busy CPU seconds over the run (undefined without /proc/stat). */
  readonly busySeconds?: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
  readonly status: number | null;
  readonly summary: string;
  /** Jest's own time: from its start to the end of its last file (undefined without a report). */
  readonly jestSeconds?: number;
  readonly files: number;
  readonly passed: number;
  readonly failed: number;
  /** Each file's seconds, longest first. */
  readonly slowest: readonly { readonly file: string; readonly seconds: number }[];
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The figures and the goal of `runs` (in the order they ran): medians with their ranges, and the
 * budget met only when every run passed within it, since one run on this machine says little (the
 * same tree's runs differ by about a tenth from one hour to the next).
 */
export function summarize(runs: readonly SuiteRun[], budgetSeconds = BUDGET_S): { figures: Record<string, number>; goal: { goal: string; measured: string; met: boolean }; middle: SuiteRun } {
  const walls = runs.map((r) => r.wallSeconds);
  const middle = [...runs].sort((a, b) => a.wallSeconds - b.wallSeconds)[Math.floor((runs.length - 1) / 2)]!;
  const within = runs.filter((r) => r.wallSeconds <= budgetSeconds && r.status === 0).length;
  const figures: Record<string, number> = {
    'npm ci in the clone, not part of npm test, median (s)': s1(median(runs.map((r) => r.installSeconds))),
    'npm test wall, median (s)': s1(median(walls)),
    'npm test wall, fastest run (s)': s1(Math.min(...walls)),
    'npm test wall, slowest run (s)': s1(Math.max(...walls)),
    [`runs that passed within ${budgetSeconds} s`]: within,
    'npm test CPU, median (s)': s1(median(runs.map((r) => r.cpuSeconds))),
  };
  const busy = runs.map((r) => r.busySeconds).filter((b): b is number => b !== undefined);
  if (busy.length === runs.length) figures['machine CPU busy during npm test, median (s)'] = s1(median(busy));
  figures['1-minute load average at start, median'] = Math.round(median(runs.map((r) => r.loadBefore)) * 100) / 100;
  figures['1-minute load average at end, median'] = Math.round(median(runs.map((r) => r.loadAfter)) * 100) / 100;
  const jest = runs.map((r) => r.jestSeconds).filter((j): j is number => j !== undefined);
  if (jest.length > 0) figures['jest time, median (s)'] = s1(median(jest));
  figures['test files'] = middle.files;
  figures['tests passed, fewest in a run'] = Math.min(...runs.map((r) => r.passed));
  figures['tests failed, all runs'] = runs.reduce((n, r) => n + r.failed, 0);
  for (const f of middle.slowest.slice(0, SLOWEST)) figures[`slowest file of the median run: ${f.file} (s)`] = s1(f.seconds);
  return {
    figures,
    middle,
    goal: {
      goal: `\`npm test\` within ${budgetSeconds / 60} minutes on this 2-core machine, every run`,
      measured: `${within} of ${runs.length} runs passed within ${budgetSeconds} s: ${walls.map((w) => `${w.toFixed(1)} s`).join(', ')} in the order run (median ${median(walls).toFixed(1)} s); ${runs.map((r) => r.summary).filter((v, i, all) => all.indexOf(v) === i).join('; ')}`,
      met: within === runs.length,
    },
  };
}

/** `npm ci`, then `npm test`, on a fresh clone of `commit` (a full hash or HEAD's short one). */
function runOnce(commit: string, extra: string, logFile: string, label = commit): SuiteRun {
  const reportFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tests-')), 'jest.json');
  const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tests-clone-'));
  execFileSync('git', ['clone', '-q', ROOT, clone]);
  execFileSync('git', ['checkout', '-q', commit], { cwd: clone });
  const install = runTimed('npm ci --no-audit --no-fund --prefer-offline', { cwd: clone, env: process.env });
  if (install.status !== 0) throw new Error(`npm ci failed in the fresh clone: ${install.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  console.log(`  fresh clone of ${label}: npm ci ${install.seconds.toFixed(1)} s`);
  const loadBefore = Math.round(os.loadavg()[0]! * 100) / 100;
  const busyBefore = machineBusySeconds();
  const r = runTimed(`npm test -- --json --outputFile='${reportFile}' ${extra}`, { cwd: clone, env: { ...process.env, CI: 'true' } });
  const busyAfter = machineBusySeconds();
  fs.rmSync(clone, { recursive: true, force: true });
  const loadAfter = Math.round(os.loadavg()[0]! * 100) / 100;
  const text = `${r.stdout}\n${r.stderr}`;
  fs.appendFileSync(logFile, `=== run of ${label} at ${new Date().toISOString()}\n${text}\n`);
  let report: JestReport | undefined;
  if (fs.existsSync(reportFile)) report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as JestReport;
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
  const slowest = (report?.testResults ?? [])
    .map((t) => ({ file: path.relative(clone, t.name), seconds: (t.endTime - t.startTime) / 1000 }))
    .sort((a, b) => b.seconds - a.seconds);
  console.log(`  npm test of ${label}: ${r.seconds.toFixed(1)} s, ${summary}`);
  return {
    installSeconds: install.seconds,
    wallSeconds: r.seconds,
    cpuSeconds: r.cpuSeconds,
    busySeconds: busyBefore !== undefined && busyAfter !== undefined ? busyAfter - busyBefore : undefined,
    loadBefore,
    loadAfter,
    status: r.status,
    summary,
    jestSeconds: report && report.testResults.length > 0 ? s1((Math.max(...report.testResults.map((t) => t.endTime)) - report.startTime) / 1000) : undefined,
    files: report?.numTotalTestSuites ?? 0,
    passed: report?.numPassedTests ?? 0,
    failed: report?.numFailedTests ?? 0,
    slowest,
  };
}

export async function run(): Promise<BenchOutcome> {
  const extra = process.env.BENCH_TEST_SUITE_ARGS ?? '';
  const partBudget = process.env.BENCH_TEST_SUITE_BUDGET_S ? Number(process.env.BENCH_TEST_SUITE_BUDGET_S) : undefined;
  const runs = Number(process.env.BENCH_TEST_SUITE_RUNS ?? DEFAULT_RUNS);
  if (!(Number.isInteger(runs) && runs >= 1 && runs <= 10)) throw new Error(`BENCH_TEST_SUITE_RUNS must be a whole number from 1 to 10, received "${process.env.BENCH_TEST_SUITE_RUNS}"`);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const commit = git('rev-parse', '--short', 'HEAD');
  const reference = referenceCommit(process.env.BENCH_TEST_SUITE_REFERENCE, (ref) => git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`));
  const referenceShort = reference === undefined ? undefined : git('rev-parse', '--short', reference);
  // The runs' whole output, for a failure's details (the result keeps only the summary).
  const logFile = path.join(ROOT, '.tmp', 'bench-test-suite.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.writeFileSync(logFile, '');
  const ours: SuiteRun[] = [];
  const theirs: SuiteRun[] = [];
  const order = reference === undefined ? Array.from({ length: runs }, () => 'ours' as const) : interleavedOrder(runs);
  for (const which of order) {
    if (which === 'ours') ours.push(runOnce(commit, extra, logFile));
    else theirs.push(runOnce(reference!, extra, logFile, referenceShort));
  }
  const { figures, goal, middle } = summarize(ours);
  const control = theirs.length > 0 ? summarize(theirs) : undefined;
  const slowest = middle.slowest.slice(0, SLOWEST);
  const jestSeconds = figures['jest time, median (s)'];
  const ratioOf = (key: string) => (control?.figures[key] ? Math.round((figures[key]! / control.figures[key]!) * 100) / 100 : undefined);
  const ratios: Record<string, number> = {};
  for (const key of ['npm test wall, median (s)', 'npm test CPU, median (s)', 'machine CPU busy during npm test, median (s)']) {
    const r = ratioOf(key);
    if (r !== undefined) ratios[key] = r;
  }
  const record = REFERENCE_ON_RECORD;
  const onRecord = control && referenceShort !== undefined && reference!.startsWith(record.commit) && !extra
    ? `The reference tree in a quiet hour (${record.when}): ${record.wallSeconds.map((w) => `${w} s`).join(', ')}, ${record.cpuMedianSeconds} CPU s (median); in these runs: ${theirs.map((r) => `${r.wallSeconds.toFixed(1)} s`).join(', ')}, ${control.figures['npm test CPU, median (s)']} CPU s (median), ${Math.round((control.figures['npm test CPU, median (s)']! / record.cpuMedianSeconds) * 100) / 100}x the CPU of that hour for the same work. The goal is judged on this hour's runs all the same.`
    : undefined;
  return {
    title: extra ? `\`npm test -- ${extra}\`: a part of the suite on this 2-core machine` : '`npm test`: the whole suite on this 2-core machine',
    method:
      `\`npm test\` ${runs} times on fresh clones of commit ${commit}${referenceShort ? `, alternating with ${runs} on fresh clones of the reference commit ${referenceShort} (the control: the same benchmark on an older tree in the same hour)` : ''} (\`git clone\`, then \`npm ci\` from npm's cache, timed apart): the test tools, then the type-check (TypeScript 7's tsc --noEmit) and ESLint beside jest (at a lower CPU priority) with jest's configured workers, emulators included; CI=true, timed from the shell: wall seconds, and CPU seconds of the processes npm test waited for (bash's \`times\`: a process that outlives its parent, such as a jest worker's moto server, which ends with the worker, is not counted); the machine's busy CPU seconds over the run (/proc/stat) count those too, and anything else the machine ran meanwhile. ` +
      `Figures are medians of each tree's runs, with the fastest and the slowest wall time; the budget counts as met only when every run of ours passed within it. Per-file times are jest's own (start to end of each file, with files running in parallel on the workers), from its JSON report of the median run; "jest time" is from jest's start to its last file's end.${extra ? ` Run on a part of the suite only: jest ${extra}.` : ''}`,
    ours: { label: `npm test at ${commit}`, figures },
    ...(control && referenceShort ? { peer: { label: `reference: npm test at ${referenceShort}`, figures: control.figures } } : {}),
    ratios,
    ...(control ? { ratioNote: 'ours / reference, same hour (below 1: ours costs less)' } : {}),
    repetitions: runs,
    order: referenceShort
      ? `${runs} pair${runs === 1 ? '' : 's'} of runs, each on its own fresh clone, in the order ${order.map((w) => (w === 'ours' ? commit : referenceShort)).join(', ')}: the reference tree and ours alternately, which goes first flipped every pair (the type-check and the lint beside jest, whose workers run files side by side)`
      : `${runs} runs of \`npm test${extra ? ` -- ${extra}` : ''}\` one after another, each on its own fresh clone (the type-check and the lint beside jest, whose workers run files side by side); no reference tree (BENCH_TEST_SUITE_REFERENCE=none), nothing interleaved`,
    goals: extra
      ? (partBudget !== undefined && jestSeconds !== undefined
        ? [{ goal: `\`jest ${extra}\` within ${partBudget} s of jest time on this 2-core machine (median of ${runs})`, measured: `${jestSeconds} s (${middle.summary}; load average ${middle.loadBefore} at start)`, met: jestSeconds <= partBudget && ours.every((r) => r.status === 0) }]
        : [])
      : [goal],
    notes: [
      referenceShort
        ? `The peer is no other tool (there is no other test setup of this project): it is this suite at commit ${referenceShort}, run alternately with ours in the same hour, so that a slow hour shows in both columns and a slower suite only in ours.`
        : 'No peer and no reference tree: BENCH_TEST_SUITE_REFERENCE=none.',
      ...(onRecord ? [onRecord] : []),
      ...(control ? [`Reference runs: ${control.goal.measured.replace(/^\d+ of \d+ runs passed within \d+ s: /, '')}.`] : []),
      'The whole output of the runs is written to .tmp/bench-test-suite.log (not committed).',
      `The slowest files of our median run, longest first: ${slowest.map((f) => `${f.file} ${s1(f.seconds)} s`).join('; ') || 'none (no report)'}.`,
      `1-minute load average before each of our runs (other work on the machine): ${ours.map((r) => r.loadBefore.toFixed(1)).join(', ')}; at each run's end, which counts the suite's own processes (jest's workers, the emulators, the programs the drills start): ${ours.map((r) => r.loadAfter.toFixed(1)).join(', ')}. A file's time includes waiting for a core.`,
      `BENCH_TEST_SUITE_RUNS sets the runs of each tree (default 3; each takes about 4 to 5 minutes with its npm ci); BENCH_TEST_SUITE_REFERENCE the reference commit (default ${record.commit}; none for no control).`,
      `One benchmark is its runs in one hour: this machine's speed for this work moves by a tenth to a half from hour to hour (\`npm ci\`, timed apart, shows it too: ${figures['npm ci in the clone, not part of npm test, median (s)']} s in these runs, 17.7 s in a quiet hour), so a budget met in one hour is not met in every hour. A fixed integer loop timed before each run did not follow it (3.53 s before each tree's run on 2026-12-06 at 22:10 UTC, when the reference took 1.44x the CPU of 16:00): the reference tree is the control. Runs in other hours are in docs/decisions.md ("Where the 180 s budget stands" and the paragraphs after it).`,
    ],
  };
}
