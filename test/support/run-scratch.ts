/**
 * A temporary folder for the whole jest run, removed when it ends, so a run leaves nothing in the
 * system's temporary folder: the CDK writes an assembly to a new folder there for every `new App()`
 * without an `outdir`, and the tests make their scratch apps and state folders there too. `npm test`
 * already points TMPDIR at a folder of its own (scripts/test.ts, {@link SCRATCH_PREFIX}) and removes
 * it; a run started another way (`npx jest <path>`, or `npm test` on a machine without /dev/shm)
 * gets one here, from jest's globalSetup, which jest's workers and the programs they start inherit.
 * Jest's sequencer runs before globalSetup: the pack folder it makes in the system's temporary
 * folder ({@link PACK_DIR_MADE_ENV}) is removed at the end too.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SCRATCH_PREFIX } from '../../scripts/test';

/** Set when the run's folder was made here (and is this run's to remove): its path. */
export const RUN_SCRATCH_ENV = 'CDK_CLOUD_PATTERNS_RUN_SCRATCH';
/** Set by test/support/slow-first-sequencer.js to the pack folder it made for the run: its path. */
export const PACK_DIR_MADE_ENV = 'CDK_CLOUD_PATTERNS_PACK_DIR_MADE';

/** Points `env.TMPDIR` at a new folder of the run unless it already names one; returns the folder made, if any. */
export function useRunScratch(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const tmp = env.TMPDIR || os.tmpdir();
  if (path.basename(tmp).startsWith(SCRATCH_PREFIX)) return undefined;
  const dir = fs.mkdtempSync(path.join(tmp, SCRATCH_PREFIX));
  fs.chmodSync(dir, 0o1777); // as npm test's folder and /tmp: a test that runs a program as another user reaches its files
  env.TMPDIR = dir;
  env[RUN_SCRATCH_ENV] = dir;
  return dir;
}

/**
 * Removes the folder {@link useRunScratch} made (and nothing when it made none), and points TMPDIR
 * back at its parent; and the pack folder the sequencer made, if it did.
 */
export function removeRunScratch(env: NodeJS.ProcessEnv = process.env): void {
  const pack = env[PACK_DIR_MADE_ENV];
  if (pack) {
    fs.rmSync(pack, { recursive: true, force: true });
    delete env[PACK_DIR_MADE_ENV];
  }
  const dir = env[RUN_SCRATCH_ENV];
  if (!dir || env.TMPDIR !== dir) return;
  fs.rmSync(dir, { recursive: true, force: true });
  env.TMPDIR = path.dirname(dir);
  delete env[RUN_SCRATCH_ENV];
}
