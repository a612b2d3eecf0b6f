/**
 * The test-suite benchmark (bench/test-suite.bench.ts): its count of the machine's busy CPU (every
 * state of /proc/stat's first line but idle and I/O wait, in seconds (USER_HZ 100), so that the
 * processes `times` does not see, those that outlive their parent, are counted), and its summary
 * of several runs (medians with ranges; the budget met only when every run is within it), and
 * the fixed loop that tells the machine's speed before each run.
 */
import { calibrationSeconds, machineBusySeconds, median, summarize, type SuiteRun } from '../../bench/test-suite.bench';

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

test('times a fixed loop in a fresh Node process: CPU seconds, the loop alone', () => {
  // (a short loop: what is checked is the measurement, never a speed)
  const seconds = calibrationSeconds(1_000_000);
  expect(Number.isFinite(seconds)).toBe(true);
  expect(seconds).toBeGreaterThanOrEqual(0);
  // Node's own start (tens of ms of CPU) is not in it: an empty loop measures next to nothing
  expect(calibrationSeconds(0)).toBeLessThan(0.05);
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

  test('gives the median of the fixed loop before each run, and leaves it out when a run has none', () => {
    const timed = [run(170, { calibrationBefore: 3.61 }), run(175, { calibrationBefore: 3.4 }), run(179, { calibrationBefore: 3.9 })];
    expect(summarize(timed, 180).figures['a fixed CPU loop before each run, median (s; lower is a faster machine)']).toBe(3.61);
    expect(Object.keys(summarize([run(170), ...timed], 180).figures).filter((k) => k.startsWith('a fixed CPU loop'))).toEqual([]);
  });

  test('leaves out the machine\'s busy CPU when a run could not read it', () => {
    expect(summarize([run(170), run(171, { busySeconds: undefined })], 180).figures).not.toHaveProperty(['machine CPU busy during npm test, median (s)']);
  });
});
