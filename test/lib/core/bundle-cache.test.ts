/**
 * The bundle cache (lib/core/bundle-cache.ts), with the real esbuild counted: with
 * CDK_CLOUD_PATTERNS_BUNDLE_CACHE set, a program is bundled once and copied while every file
 * esbuild read is unchanged; a changed input or other options bundle again; unset, nothing is cached.
 * The catalog's Lambda handlers (lib/stacks/catalog-code.ts) go through it too.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as esbuild from 'esbuild';
import { BUNDLE_CACHE_ENV, cachedBuildSync } from '../../../lib/core/bundle-cache';
import { CATALOG_BUNDLE_FILE, bundleHandler } from '../../../lib/stacks/catalog-code';
import { REPO_ROOT } from '../../support/paths';

let dir: string;
let saved: string | undefined;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-cache-test-'));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'greeting.ts'), "export const greeting = 'hello';\n");
  saved = process.env[BUNDLE_CACHE_ENV];
});
afterEach(() => {
  if (saved === undefined) delete process.env[BUNDLE_CACHE_ENV];
  else process.env[BUNDLE_CACHE_ENV] = saved;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** esbuild, counting its builds. */
function countingEsbuild() {
  const counter = { builds: 0, version: esbuild.version, buildSync: ((options: esbuild.BuildOptions) => {
    counter.builds++;
    return esbuild.buildSync(options);
  }) as typeof esbuild.buildSync };
  return counter;
}

/** Bundles a program whose generated entry imports src/greeting.ts, into a new folder; returns its text. */
function bundle(counter: ReturnType<typeof countingEsbuild>, n: number, options: esbuild.BuildOptions = {}): string {
  const out = path.join(dir, `out-${n}`);
  cachedBuildSync(counter, {
    bundle: true, platform: 'node', format: 'esm', ...options,
    stdin: { contents: "import { greeting } from './src/greeting';\nconsole.log(greeting);\n", resolveDir: dir, sourcefile: 'main.mjs', loader: 'js' },
    outfile: path.join(out, 'index.mjs'),
  }, out);
  return fs.readFileSync(path.join(out, 'index.mjs'), 'utf8');
}

describe('the bundle cache', () => {
  test('bundles once, then copies the same bundle while every input is unchanged', () => {
    process.env[BUNDLE_CACHE_ENV] = path.join(dir, 'cache');
    const counter = countingEsbuild();
    const first = bundle(counter, 1);
    const second = bundle(counter, 2);
    expect(counter.builds).toBe(1);
    expect(second).toBe(first);
    expect(first).toContain('hello');
  });

  test('bundles again when a file esbuild read changed, and the bundle has the change', () => {
    process.env[BUNDLE_CACHE_ENV] = path.join(dir, 'cache');
    const counter = countingEsbuild();
    bundle(counter, 1);
    fs.writeFileSync(path.join(dir, 'src', 'greeting.ts'), "export const greeting = 'goodbye';\n");
    const changed = bundle(counter, 2);
    expect(counter.builds).toBe(2);
    expect(changed).toContain('goodbye');
    // AND the changed program is cached in turn
    expect(bundle(counter, 3)).toBe(changed);
    expect(counter.builds).toBe(2);
  });

  test('bundles again for other options (minified, say)', () => {
    process.env[BUNDLE_CACHE_ENV] = path.join(dir, 'cache');
    const counter = countingEsbuild();
    const plain = bundle(counter, 1);
    const minified = bundle(counter, 2, { minify: true });
    expect(counter.builds).toBe(2);
    expect(minified).not.toBe(plain);
  });

  test('caches nothing when the variable is unset', () => {
    delete process.env[BUNDLE_CACHE_ENV];
    const counter = countingEsbuild();
    bundle(counter, 1);
    bundle(counter, 2);
    expect(counter.builds).toBe(2);
    expect(fs.readdirSync(dir).sort()).toEqual(['out-1', 'out-2', 'src']);
  });

  test('serves the catalog\'s Lambda handlers too: a second synthesis copies the cached bundle', () => {
    // GIVEN a catalog handler bundled once through the cache
    process.env[BUNDLE_CACHE_ENV] = path.join(dir, 'cache');
    const entry = path.join(REPO_ROOT, 'lambda', 'work-queue', 'demo-job.ts');
    bundleHandler(entry, path.join(dir, 'first'));
    const entries = fs.readdirSync(path.join(dir, 'cache')).filter((e) => !e.startsWith('.'));
    expect(entries).toHaveLength(1);
    const cached = path.join(dir, 'cache', entries[0]!, 'out', CATALOG_BUNDLE_FILE);
    expect(fs.readFileSync(cached, 'utf8')).toBe(fs.readFileSync(path.join(dir, 'first', CATALOG_BUNDLE_FILE), 'utf8'));
    // WHEN it is bundled again (the cached copy marked, to tell it from a new bundle)
    fs.appendFileSync(cached, '\n// from the cache\n');
    bundleHandler(entry, path.join(dir, 'second'));
    // THEN the bundle is the cached one
    expect(fs.readFileSync(path.join(dir, 'second', CATALOG_BUNDLE_FILE), 'utf8')).toMatch(/\/\/ from the cache\n$/);
  });
});
