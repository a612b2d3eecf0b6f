/**
 * The repository's three packages packed once per test run (scripts/pack.ts: `npm pack` of every
 * workspace and the root, each prepack building its package), shared by the test files that
 * install them into scratch projects, in one folder per run (runPackDir). Jest's test sequencer
 * (slow-first-sequencer.js) starts the pack in the background when the run includes a file that
 * needs it, and places those files later in the run, so no jest worker sits waiting for it; a
 * file run some other way packs itself (whoever makes the folder packs, the others wait for its
 * tarballs). Folders of earlier runs older than a day go.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FAILED_FILE, packInto, TARBALLS_FILE, type PackedPackages } from '../../scripts/pack';

export type { PackedPackages } from '../../scripts/pack';

/** Where a run's tarballs go: one folder per jest run (the sequencer's copy of this rule is in slow-first-sequencer.js). */
export const PACK_DIR_PREFIX = 'cdk-cloud-patterns-pack-';

/**
 * This run's folder: the one jest's sequencer named when it started the pack, or else one named
 * after jest's main process (the parent of every jest worker).
 */
export function runPackDir(): string {
  return process.env.CDK_CLOUD_PATTERNS_PACK_DIR ?? path.join(os.tmpdir(), `${PACK_DIR_PREFIX}${process.ppid}`);
}

/** This run's packed tarballs, packing them first if nobody has started to. */
export async function packedPackages(timeoutMs = 600_000): Promise<PackedPackages> {
  for (const old of fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith(PACK_DIR_PREFIX))) {
    const dir = path.join(os.tmpdir(), old);
    if (Date.now() - fs.statSync(dir).mtimeMs > 86_400_000) fs.rmSync(dir, { recursive: true, force: true });
  }
  const dir = runPackDir();
  const done = path.join(dir, TARBALLS_FILE);
  const failed = path.join(dir, FAILED_FILE);
  let mine = false;
  try {
    fs.mkdirSync(dir);
    mine = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (mine) return packInto(dir);
  const until = Date.now() + timeoutMs;
  while (!fs.existsSync(done)) {
    if (fs.existsSync(failed)) throw new Error(`npm pack failed (started by another test file or jest's sequencer): ${fs.readFileSync(failed, 'utf8')}`);
    if (Date.now() > until) throw new Error(`npm pack (started by another test file or jest's sequencer) did not finish within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return JSON.parse(fs.readFileSync(done, 'utf8')) as PackedPackages;
}
