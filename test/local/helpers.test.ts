/** The small parts of the local cloud: its command line, the ZIP reader and the progress line. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatRow } from '../../local/progress';
import { UsageError, parseArgs } from '../../local/start';
import { extractZip, readZip, writeZip } from '../../local/zip';

describe('parseArgs', () => {
  test('reads stacks and options, with defaults for the rest', () => {
    expect(parseArgs(['WorkQueueStack', '--port', '4566', '--jobs=12', '--logs'])).toEqual({
      stacks: ['WorkQueueStack'], smoke: false, port: 4566, jobs: 12, failingJob: true, checks: true, logs: true, timings: undefined, help: false,
    });
  });

  test('--smoke skips the synthesis checks', () => {
    expect(parseArgs(['--smoke'])).toEqual(expect.objectContaining({ smoke: true, checks: false }));
  });

  test('--smoke with --jobs 0 sends no demo: the workloads are what it checks', () => {
    expect(parseArgs(['--smoke', '--jobs', '0'])).toEqual(expect.objectContaining({ smoke: true, jobs: 0 }));
  });

  test.each([
    [['--port'], /--port needs a value, e.g\. --port 4566/],
    [['--port', '70000'], /--port must be a whole number from 1 to 65535, received "70000"/],
    [['--jobs', '-1'], /--jobs must be a whole number from 0 to 200, received "-1"/],
    [['--verbose'], /unknown option --verbose/],
  ])('fails on %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('zip', () => {
  test('reads back what it wrote, and extracts it', () => {
    // GIVEN an archive of two files, one in a folder
    const zip = writeZip([
      { name: 'index.mjs', data: Buffer.from('export const handler = async () => 1;\n'.repeat(50)) },
      { name: 'lib/data.json', data: Buffer.from('{"a":1}') },
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-zip-'));
    try {
      // WHEN it is read and extracted
      const entries = readZip(zip);
      const names = extractZip(zip, dir);

      // THEN the files come back as they were
      expect(entries.map((e) => [e.name, e.data.length])).toEqual([['index.mjs', 1900], ['lib/data.json', 7]]);
      expect(names).toEqual(['index.mjs', 'lib/data.json']);
      expect(fs.readFileSync(path.join(dir, 'lib', 'data.json'), 'utf8')).toBe('{"a":1}');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuses an entry that would land outside the target folder', () => {
    const zip = writeZip([{ name: '../escape.txt', data: Buffer.from('x') }]);
    expect(() => extractZip(zip, os.tmpdir())).toThrow(/refusing ZIP entry outside the target folder: \.\.\/escape\.txt/);
  });

  test('says so when the bytes are not a ZIP archive', () => {
    expect(() => readZip(Buffer.from('not a zip at all, just some text'))).toThrow(/not a ZIP archive/);
  });
});

describe('formatRow', () => {
  test('shows the queue, the work done (with the demo\'s share), the dead letters and the workers', () => {
    const row = { stackName: 'WorkQueueStack', backlog: 12, inFlight: 10, done: 9, demo: { done: 8, total: 30, kind: 'jobs' as const }, deadLettered: 0, workers: 5 };
    expect(formatRow(row, 24_130)).toBe('[ 24.1s] WorkQueueStack  backlog 12 | in flight 10 | done 9 (demo 8/30) | DLQ 0 | workers 5');
  });

  test('says when the demo is uploads or report jobs', () => {
    const row = { stackName: 'SharedStorageStack', backlog: 0, inFlight: 1, done: 4, demo: { done: 4, total: 5, kind: 'uploads' as const }, deadLettered: 0, workers: 1 };
    expect(formatRow(row, 3_000)).toBe('[  3.0s] SharedStorageStack  backlog 0 | in flight 1 | done 4 (demo uploads 4/5) | DLQ 0 | workers 1');
    const reports = { ...row, stackName: 'LockStack', demo: { done: 2, total: 5, kind: 'reports' as const } };
    expect(formatRow(reports, 3_000)).toBe('[  3.0s] LockStack  backlog 0 | in flight 1 | done 4 (demo reports 2/5) | DLQ 0 | workers 1');
  });
});
