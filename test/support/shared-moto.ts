/**
 * One moto server per jest worker, started once for the whole run (jest's globalSetup) instead
 * of once per test file: a moto takes about 2 s and over a second of CPU to start, and as much
 * again to load each service on its first request, which 35 files paid each. A worker runs one
 * file at a time, so its moto serves one file at a time; `useLocalAws` wipes it (moto's reset
 * API) before each file, so every file starts from an empty account, as with a moto of its own.
 * A file that needs a moto started its own way (test/local/moto.test.ts) calls startMoto itself.
 */
import { startMoto, type MotoServer } from '../../local/moto';

/** The environment variable through which the workers find the motos: a JSON list, one per worker. */
export const SHARED_MOTO_ENV = 'CLOUD_PATTERNS_TEST_MOTOS';

/** What a worker knows of its moto. */
export interface SharedMotoEntry {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number | undefined;
  readonly warnings: readonly string[];
}

/** The motos of this run, kept for the teardown (jest shares globals between globalSetup and globalTeardown). */
const RUNNING = Symbol.for('cdk-cloud-patterns.test.shared-motos');
type WithMotos = typeof globalThis & { [RUNNING]?: MotoServer[] };

/** Starts one moto per worker and tells the workers where they are. */
export async function startSharedMotos(workers: number): Promise<void> {
  const motos = await Promise.all(Array.from({ length: Math.max(1, workers) }, () => startMoto()));
  (globalThis as WithMotos)[RUNNING] = motos;
  const entries: SharedMotoEntry[] = motos.map((m) => ({ endpoint: m.endpoint, port: m.port, pid: m.pid, warnings: m.warnings() }));
  process.env[SHARED_MOTO_ENV] = JSON.stringify(entries);
}

/** Stops the motos {@link startSharedMotos} started. */
export async function stopSharedMotos(): Promise<void> {
  await Promise.all(((globalThis as WithMotos)[RUNNING] ?? []).map((m) => m.stop()));
}

/**
 * This worker's moto, wiped, as a MotoServer whose stop() leaves it running for the next file;
 * undefined when the run started none (a jest run without the globalSetup).
 */
export async function workerMoto(): Promise<MotoServer | undefined> {
  const raw = process.env[SHARED_MOTO_ENV];
  if (!raw) return undefined;
  const entries = JSON.parse(raw) as SharedMotoEntry[];
  const entry = entries[(Number(process.env.JEST_WORKER_ID ?? '1') - 1) % entries.length]!;
  const reset = async () => {
    const res = await fetch(`http://127.0.0.1:${entry.port}/moto-api/reset`, { method: 'POST' });
    if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
  };
  await reset();
  return {
    endpoint: entry.endpoint,
    port: entry.port,
    pid: entry.pid,
    exited: new Promise(() => undefined),
    stderrTail: () => '',
    warnings: () => entry.warnings,
    reset,
    // The next file of this worker uses it too: it is wiped then, and stopped with the run.
    stop: async () => undefined,
  };
}
