/**
 * The test-suite benchmark's count of the machine's busy CPU (bench/test-suite.bench.ts): every
 * state of /proc/stat's first line but idle and I/O wait, in seconds (USER_HZ 100), so that the
 * processes `times` does not see (those that outlive their parent) are counted.
 */
import { machineBusySeconds } from '../../bench/test-suite.bench';

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
