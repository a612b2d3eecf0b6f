/**
 * The test-suite benchmark (bench/test-suite.bench.ts): its count of the machine's busy CPU (every
 * state of /proc/stat's first line but idle and I/O wait, in seconds (USER_HZ 100), so that the
 * processes `times` does not see, those that outlive their parent, are counted), and its summary
 * of several runs (medians with ranges; the budget met only when every run is within it), and
 * its control: the reference tree, run alternately with ours.
 */
import { execFileSync } from 'child_process';
import { interleavedOrder, machineBusySeconds, median, REFERENCE_ON_RECORD, referenceCommit, summarize, type SuiteRun } from '../../bench/test-suite.bench';

test('counts user, nice, system, irq, softirq and steal, not idle nor I/O wait', () => {
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const stat = 'cpu  1000 200 300 90000 500 10 20 30 0 0\ncpu0 500 100 150 45000 250 5 10 15 0 0\n';
  expect(machineBusySeconds(() => stat)).toBe((1000 + 200 + 300 + 10 + 20 + 30) / 100);
});

test('is undefined without /proc/stat', () => {
  expect(machineBusySeconds(() => { throw new Error('ENOENT'); })).toBeUndefined();
});

test('reads this machine\'s /proc/stat, which only grows', () => {
  const a = machineBusySeconds();
  const b = machineBusySeconds();
  expect(a).toEqual(expect.any(Number));
  expect(b!).toBeGreaterThanOrEqual(a!);
});

describe('the reference tree, the control', () => {
  /** A repository that has two commits, deadbee and the one on record. */
  const resolve = (ref: string) => {
    if (ref === 'deadbee' || ref === REFERENCE_ON_RECORD.commit) return `${ref}0123456789abcdef0123456789abcdef0`;
    throw new Error('fatal: Needed a single revision\nmore');
  };

  test('is the commit on record when unset or empty, and none when asked', () => {
    expect(referenceCommit(undefined, resolve)).toBe(`${REFERENCE_ON_RECORD.commit}0123456789abcdef0123456789abcdef0`);
    expect(referenceCommit('  ', resolve)).toBe(`${REFERENCE_ON_RECORD.commit}0123456789abcdef0123456789abcdef0`);
    expect(referenceCommit('none', resolve)).toBeUndefined();
    expect(referenceCommit(' deadbee ', resolve)).toBe('deadbee0123456789abcdef0123456789abcdef0');
  });

  test('refuses what is not a commit, naming the variable, the value and the way out', () => {
    expect(() => referenceCommit('nosuch', resolve)).toThrow('BENCH_TEST_SUITE_REFERENCE must name a commit of this repository, or be none (no reference runs); received "nosuch": fatal: Needed a single revision');
  });

  test('asks git for the full hash, as the benchmark does (HEAD here: a clone of any depth has it)', () => {
    const git = (ref: string) => execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    expect(referenceCommit('HEAD', git)).toBe(execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim());
    expect(() => referenceCommit('no-such-commit-here', git)).toThrow(/received "no-such-commit-here": Command failed/);
  });

  test('alternates with ours, which goes first flipped every pair', () => {
    expect(interleavedOrder(3)).toEqual(['ours', 'reference', 'reference', 'ours', 'ours', 'reference']);
    expect(interleavedOrder(1)).toEqual(['ours', 'reference']);
  });
});

describe('the summary of several runs', () => {
  const run = (wallSeconds: number, extra: Partial<SuiteRun> = {}): SuiteRun => ({
    installSeconds: 20, wallSeconds, cpuSeconds: wallSeconds * 1.8, busySeconds: wallSeconds * 1.9, loadBefore: 1, loadAfter: 8, status: 0,
    summary: '1008 of 1008 tests passed in 92 files', jestSeconds: wallSeconds - 7, files: 92, passed: 1008, failed: 0,
    slowest: [{ file: `test/slow-${wallSeconds}.test.ts`, seconds: wallSeconds / 2 }],
    ...extra,
  });

  test('takes medians (the middle two\'s mean for an even count)', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  test('meets the budget only when every run passed within it, and says how many did, in the order run', () => {
    const { figures, goal, middle } = summarize([run(185.2), run(176.4), run(179.9)], 180);
    expect(figures['npm test wall, median (s)']).toBe(179.9);
    expect(figures['npm test wall, fastest run (s)']).toBe(176.4);
    expect(figures['npm test wall, slowest run (s)']).toBe(185.2);
    expect(figures['runs that passed within 180 s']).toBe(2);
    expect(goal.met).toBe(false);
    expect(goal.measured).toMatch(/^2 of 3 runs passed within 180 s: 185\.2 s, 176\.4 s, 179\.9 s in the order run \(median 179\.9 s\)/);
    // the slowest files are the median run's
    expect(middle.wallSeconds).toBe(179.9);
    expect(Object.keys(figures)).toContain('slowest file of the median run: test/slow-179.9.test.ts (s)');

    expect(summarize([run(170), run(175), run(179)], 180).goal.met).toBe(true);
  });

  test('does not count a failed run as within the budget, and sums the failures', () => {
    const failed = run(150, { status: 1, failed: 2, passed: 1006, summary: '1006 of 1008 tests passed in 92 files; failing: test/a.test.ts' });
    const { figures, goal } = summarize([run(170), failed, run(172)], 180);
    expect(goal.met).toBe(false);
    expect(figures['runs that passed within 180 s']).toBe(2);
    expect(figures['tests failed, all runs']).toBe(2);
    expect(figures['tests passed, fewest in a run']).toBe(1006);
    expect(goal.measured).toMatch(/failing: test\/a\.test\.ts/);
  });

  test('leaves out the machine\'s busy CPU when a run could not read it', () => {
    expect(summarize([run(170), run(171, { busySeconds: undefined })], 180).figures).not.toHaveProperty(['machine CPU busy during npm test, median (s)']);
  });
});
