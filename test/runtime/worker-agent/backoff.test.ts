/** The worker agent's back-off and its stoppable sleep, without an emulator. */
import { backoffDelay, sleep } from '../../../runtime/worker-agent/backoff';

describe('backoffDelay', () => {
  test('grows exponentially from base to the cap, with equal jitter: half fixed, half random', () => {
    for (let i = 0; i < 200; i++) {
      for (const [attempt, cap] of [[1, 100], [2, 200], [3, 400], [10, 5000], [100, 5000]] as const) {
        const delay = backoffDelay(attempt, 100, 5000);
        expect(delay).toBeGreaterThanOrEqual(cap / 2);
        expect(delay).toBeLessThanOrEqual(cap);
      }
    }
  });

  test('spreads a fleet\'s retries: delays of one attempt differ', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, 100, 5000)));
    expect(delays.size).toBeGreaterThan(40);
  });
});

describe('sleep', () => {
  test('resolves at once when the signal aborts, and never rejects', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await expect(slept).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('resolves at once with a signal already aborted', async () => {
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBeUndefined();
  });
});
