/**
 * Jest's test order (test/support/slow-first-sequencer.js): the files known to be slow first, and
 * the files that install the packed packages placed where they start once the pack (started in
 * the background at the start of the run) is likely done, so that no jest worker waits for it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../support/paths';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Sequencer = require('../support/slow-first-sequencer.js') as {
  new (options: { globalConfig: { maxWorkers: number } }): { sort(tests: { path: string }[]): { path: string }[]; startPack(): string };
  PACK_SECONDS: number;
  PACK_DIR_ENV: string;
};
const slow = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'slow-files.json'), 'utf8')) as { seconds: Record<string, number> };

// What jest's own order reads of a test: its context's file sizes and timing cache (none here).
const context = { config: { rootDir: REPO_ROOT, cacheDirectory: path.join(os.tmpdir(), 'sequencer-test-no-cache'), id: 'sequencer-test' }, hasteFS: { getSize: () => 1 } };
const file = (relative: string) => ({ path: path.join(REPO_ROOT, relative), context, duration: undefined });
const names = (tests: { path: string }[]) => tests.map((t) => path.relative(REPO_ROOT, t.path));

/** A sequencer that records the packs it would start instead of starting them. */
function sequencer(workers: number) {
  const packs: string[] = [];
  const s = new Sequencer({ globalConfig: { maxWorkers: workers } });
  s.startPack = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequencer-test-pack-'));
    packs.push(dir);
    return dir;
  };
  return { s, packs };
}

// The known slow files that install no package, and the packaging files.
const knownSlow = Object.keys(slow.seconds).filter((f) => !f.startsWith('test/package/')).sort((a, b) => slow.seconds[b]! - slow.seconds[a]!);
const packaging = ['test/package/jsii.test.ts', 'test/package/packed.test.ts'];
const others = ['test/lib/core/validation.test.ts', 'test/runtime/jobs/parse-job.test.ts'];

let saved: string | undefined;
beforeEach(() => {
  // This jest run's own pack folder (when it has one) is not this test's business.
  saved = process.env[Sequencer.PACK_DIR_ENV];
  delete process.env[Sequencer.PACK_DIR_ENV];
});
afterEach(() => {
  if (saved === undefined) delete process.env[Sequencer.PACK_DIR_ENV];
  else process.env[Sequencer.PACK_DIR_ENV] = saved;
});

describe('jest\'s test order', () => {
  test('starts the known slow files first, slowest first, and starts no pack when no file installs the packages', () => {
    const { s, packs } = sequencer(3);
    const order = names(s.sort([...others, ...knownSlow].reverse().map(file)));
    expect(order.slice(0, knownSlow.length)).toEqual(knownSlow);
    expect(order.slice(knownSlow.length).sort()).toEqual([...others].sort());
    expect(packs).toEqual([]);
    expect(process.env[Sequencer.PACK_DIR_ENV]).toBeUndefined();
  });

  test('starts the pack once and places the packaging files where, by the known durations, the pack is done', () => {
    // GIVEN a run of every known slow file, the packaging files and two quick ones, on 3 workers
    const { s, packs } = sequencer(3);
    const order = names(s.sort([...packaging, ...others, ...knownSlow].map(file)));

    // THEN one pack started, and its folder is in the environment the workers inherit
    expect(packs).toHaveLength(1);
    expect(process.env[Sequencer.PACK_DIR_ENV]).toBe(packs[0]);
    // AND the packaging files come together, after files that keep the 3 workers busy for a while
    const first = Math.min(...packaging.map((f) => order.indexOf(f)));
    expect(order.slice(first, first + packaging.length).sort()).toEqual([...packaging].sort());
    const before = order.slice(0, first).map((f) => slow.seconds[f] ?? 3);
    expect(before.reduce((a, b) => a + b, 0) / 3).toBeGreaterThanOrEqual(Sequencer.PACK_SECONDS / 2);
    expect(first).toBeGreaterThanOrEqual(3);
    // AND a second sort in the same run (jest's watch mode) starts no second pack
    s.sort([...packaging].map(file));
    expect(packs).toHaveLength(1);
    for (const dir of packs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('runs the packaging files first when nothing else is in the run', () => {
    const { s, packs } = sequencer(3);
    expect(names(s.sort(packaging.map(file))).sort()).toEqual([...packaging].sort());
    expect(packs).toHaveLength(1);
    for (const dir of packs) fs.rmSync(dir, { recursive: true, force: true });
  });
});
