/**
 * A cache of instance programs (FleetWorker's agent, WebTier's server) for synthesizing the same
 * program many times in one session: set CDK_CLOUD_PATTERNS_BUNDLE_CACHE to a folder, and a
 * program is bundled with esbuild once; each later synthesis of it copies the cached bundle when
 * every file esbuild read for it (its metafile's inputs: the user's module, the runtime, the AWS
 * SDK) still has the same content, and the build options (the generated entry included) and
 * esbuild's version are the same. The test suite sets it for each run, where a program is
 * synthesized by a dozen test files; unset, every synthesis bundles, as before.
 *
 * What it cannot see: a file esbuild did not read that would now be resolved first (a new
 * `foo.ts` next to an imported `foo.js`, a package installed higher in node_modules). A session
 * that changes what resolves where clears the folder (or leaves the variable unset).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** The environment variable naming the cache's folder; unset, nothing is cached. */
export const BUNDLE_CACHE_ENV = 'CDK_CLOUD_PATTERNS_BUNDLE_CACHE';

const INPUTS_FILE = 'inputs.json';
const OUT_DIR = 'out';

/** The part of esbuild's API the cache uses. */
type Esbuild = Pick<typeof import('esbuild'), 'version' | 'buildSync'>;
type BuildOptions = import('esbuild').BuildOptions;

const sha256 = (data: string | Buffer) => crypto.createHash('sha256').update(data).digest('hex');

function fileHash(file: string): string | undefined {
  try {
    return sha256(fs.readFileSync(file));
  } catch {
    return undefined;
  }
}

/** The cache entry's folder for these options (the output file's folder left out: the same program, bundled anywhere). */
function entryFolder(cacheDir: string, esbuild: Esbuild, options: BuildOptions): string {
  const { outfile, ...rest } = options;
  const key = sha256(JSON.stringify({ esbuild: esbuild.version, outfile: path.basename(String(outfile)), options: rest }));
  return path.join(cacheDir, key);
}

/** Whether the entry exists and every input it recorded still has the content it had. */
function fresh(entry: string): boolean {
  let inputs: Record<string, string>;
  try {
    inputs = JSON.parse(fs.readFileSync(path.join(entry, INPUTS_FILE), 'utf8')) as Record<string, string>;
  } catch {
    return false;
  }
  return Object.entries(inputs).every(([file, hash]) => fileHash(file) === hash);
}

/**
 * `esbuild.buildSync(options)` into `outDir` (the folder of `options.outfile`, which the caller
 * emptied), through the cache when {@link BUNDLE_CACHE_ENV} is set.
 */
export function cachedBuildSync(esbuild: Esbuild, options: BuildOptions, outDir: string): void {
  const cacheDir = process.env[BUNDLE_CACHE_ENV];
  if (!cacheDir) {
    esbuild.buildSync(options);
    return;
  }
  const entry = entryFolder(cacheDir, esbuild, options);
  if (fresh(entry)) {
    fs.cpSync(path.join(entry, OUT_DIR), outDir, { recursive: true });
    return;
  }
  const result = esbuild.buildSync({ ...options, metafile: true });
  // esbuild names its inputs relative to its working folder, the generated entry (stdin) by its
  // sourcefile in its resolveDir: that one is in the options, so in the key.
  const workingDir = options.absWorkingDir ?? process.cwd();
  const stdin = options.stdin ? path.resolve(options.stdin.resolveDir ?? workingDir, options.stdin.sourcefile ?? '<stdin>') : undefined;
  const files = Object.keys(result.metafile?.inputs ?? {}).map((i) => path.resolve(workingDir, i)).filter((f) => f !== stdin);
  const inputs: Record<string, string> = {};
  for (const file of files) {
    const hash = fileHash(file);
    if (hash === undefined) return; // an input that is not a file: not cached
    inputs[file] = hash;
  }
  // Written beside, then renamed into place: a concurrent synthesis sees a whole entry or none.
  fs.mkdirSync(cacheDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(cacheDir, '.staging-'));
  try {
    fs.cpSync(outDir, path.join(staging, OUT_DIR), { recursive: true });
    fs.writeFileSync(path.join(staging, INPUTS_FILE), JSON.stringify(inputs));
    if (fs.existsSync(entry) && !fresh(entry)) fs.rmSync(entry, { recursive: true, force: true });
    fs.renameSync(staging, entry); // fails when another process wrote a fresh entry meanwhile
  } catch {
    // another process wrote the entry meanwhile, or the folder is not writable: the bundle is made, the cache skipped
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
