/** Back-off with jitter between retries of failed AWS requests, and a sleep that a stop can cut short. */

/**
 * Delay before retry number `attempt` (1, 2, ...): exponential up to `maxMs`, with "equal jitter"
 * (half fixed, half random) so that a fleet of agents that failed together does not retry together,
 * and no retry comes immediately.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return cap / 2 + Math.random() * (cap / 2);
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
