/**
 * Jest's test order, slowest files first, on a fresh clone too; and the packages packed in the
 * background for the files that install them.
 *
 * - Jest orders files by the durations it cached on earlier runs; a fresh clone has no cache, so a
 *   long file could start last and keep one worker busy alone at the end. The files known to be
 *   slow (test/slow-files.json, seconds of jest time on this 2-core machine, from
 *   `npm run bench -- test-suite`) start first; the rest follow in jest's own order.
 * - The files that install the packed packages (they import test/support/packed-package.ts) need
 *   `npm pack` of the three packages first (about 25 s alone, 40 to 60 s beside the other files).
 *   When the run includes one, the pack starts now, in the background (scripts/pack.ts, into the
 *   folder named in CDK_CLOUD_PATTERNS_PACK_DIR, which jest's workers inherit), and those files are
 *   placed where, by the known durations, they start once it is likely done: no worker is held
 *   waiting for it. (They still wait for it if it is not done.)
 */
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Sequencer = require('@jest/test-sequencer').default;
const slow = require('../slow-files.json');

const ROOT = path.join(__dirname, '..', '..');
/** Seconds of the pack beside the run's first files, on this 2-core machine (scripts/pack.ts alone: about 25 s). */
const PACK_SECONDS = 50;
/** Seconds assumed for a file test/slow-files.json does not list. */
const OTHER_FILE_SECONDS = 3;
/** The environment variable naming the run's pack folder (test/support/packed-package.ts reads it). */
const PACK_DIR_ENV = 'CDK_CLOUD_PATTERNS_PACK_DIR';
/** Names the pack folder this sequencer made (jest's globalTeardown removes it: test/support/run-scratch.ts). */
const PACK_DIR_MADE_ENV = 'CDK_CLOUD_PATTERNS_PACK_DIR_MADE';

const relative = (test) => path.relative(ROOT, test.path).split(path.sep).join('/');
const seconds = (test) => slow.seconds[relative(test)];
const needsPack = (test) => fs.readFileSync(test.path, 'utf8').includes('support/packed-package');

/** When each file of `order` starts, by the known durations, with `workers` jest workers taking the next file as they free up. */
function startTimes(order, workers) {
  const free = Array.from({ length: Math.max(1, workers) }, () => 0);
  return order.map((test) => {
    const i = free.indexOf(Math.min(...free));
    const at = free[i];
    free[i] += seconds(test) ?? OTHER_FILE_SECONDS;
    return at;
  });
}

/** Starts scripts/pack.ts into a new folder for this run, in the background; returns the folder. */
function startPackInBackground() {
  // Made here, so that the test files wait for this pack instead of packing (packed-package.ts).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cloud-patterns-pack-'));
  process.env[PACK_DIR_MADE_ENV] = dir;
  const child = spawn(process.execPath, ['-r', 'esbuild-register', path.join(ROOT, 'scripts', 'pack.ts'), dir], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  // Neither the child nor its channel keeps jest running; the channel's end stops the pack (scripts/pack.ts).
  child.unref();
  child.channel?.unref();
  return dir;
}

class SlowFirstSequencer extends Sequencer {
  constructor(options) {
    super(options);
    this.workers = options?.globalConfig?.maxWorkers ?? 1;
  }

  /** Starts the pack for this run's packaging files; returns its folder. (A test replaces it.) */
  startPack() {
    return startPackInBackground();
  }

  sort(tests) {
    // Array.prototype.sort is stable: files of equal weight keep jest's order.
    const ordered = [...super.sort(tests)].sort((a, b) => (seconds(b) ?? 0) - (seconds(a) ?? 0));
    const packing = ordered.filter(needsPack);
    if (packing.length === 0 || process.env[PACK_DIR_ENV]) return ordered;
    process.env[PACK_DIR_ENV] = this.startPack();
    const rest = ordered.filter((t) => !packing.includes(t));
    const starts = startTimes(rest, this.workers);
    const at = starts.findIndex((s) => s >= PACK_SECONDS);
    const position = at < 0 ? rest.length : at;
    return [...rest.slice(0, position), ...packing, ...rest.slice(position)];
  }
}

module.exports = SlowFirstSequencer;
module.exports.PACK_SECONDS = PACK_SECONDS;
module.exports.PACK_DIR_ENV = PACK_DIR_ENV;
