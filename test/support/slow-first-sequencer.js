/**
 * Jest's test order, slowest files first, on a fresh clone too. Jest orders files by the
 * durations it cached on earlier runs; a fresh clone has no cache, so a long file could start
 * last and keep one worker busy alone at the end. The files known to be slow (test/slow-files.json,
 * seconds of jest time on this 2-core machine, from `npm run bench -- test-suite`) start first;
 * the rest follow in jest's own order.
 */
const path = require('path');
const Sequencer = require('@jest/test-sequencer').default;
const slow = require('../slow-files.json');

const ROOT = path.join(__dirname, '..', '..');

class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const ordered = super.sort(tests);
    const weight = (test) => slow.seconds[path.relative(ROOT, test.path).split(path.sep).join('/')] ?? 0;
    // Array.prototype.sort is stable: files of equal weight keep jest's order.
    return [...ordered].sort((a, b) => weight(b) - weight(a));
  }
}

module.exports = SlowFirstSequencer;
