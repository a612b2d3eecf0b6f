/** The small parts of the local cloud: its command line, the ZIP reader and the progress line. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { QUIET_SAMPLES, formatRow, startProgress, type ProgressRow } from '../../local/progress';
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

describe('startProgress', () => {
  afterEach(() => jest.useRealTimers());

  /** Starts it on a sample that returns `rowAt(n)` for its n-th call; counts the calls and the lines. */
  function run(rowAt: (n: number) => ProgressRow) {
    jest.useFakeTimers();
    const seen = { samples: 0, lines: [] as string[] };
    const progress = startProgress({
      sample: async () => [rowAt(++seen.samples)],
      print: (line) => seen.lines.push(line),
      since: Date.now(),
      intervalMs: 1000,
      idleIntervalMs: 5000,
    });
    return { seen, progress };
  }
  const row = (inFlight: number, done: number): ProgressRow => ({ stackName: 'FleetWorkerStack', backlog: 0, inFlight, done, deadLettered: 0, workers: 1 });

  test('samples every second while the figures change, and every 5 s once the queues are empty and nothing changed', async () => {
    // GIVEN jobs finishing for 3 samples, then an empty queue
    const { seen, progress } = run((n) => (n <= 3 ? row(3 - n, n) : row(0, 3)));
    // WHEN 10 s pass
    await jest.advanceTimersByTimeAsync(10_000);
    progress.stop();
    // THEN 4 samples a second apart (the 4th unchanged and empty), then one at 9 s
    expect(seen.samples).toBe(5);
    expect(seen.lines).toHaveLength(3);
  });

  test('falls back to every 5 s after 5 unchanged samples even with a job in flight, and back to every second when it changes', async () => {
    // GIVEN a job in flight that changes nothing (a message waiting out its visibility timeout) until the 9th sample
    const { seen, progress } = run((n) => (n < 9 ? row(1, 0) : row(0, 1)));
    // WHEN 6 s pass THEN the first sample and QUIET_SAMPLES unchanged ones, a second apart
    await jest.advanceTimersByTimeAsync(6_000);
    expect(seen.samples).toBe(1 + QUIET_SAMPLES);
    // AND then one every 5 s: the 7th at 11 s, the 8th at 16 s
    await jest.advanceTimersByTimeAsync(10_000);
    expect(seen.samples).toBe(1 + QUIET_SAMPLES + 2);
    // WHEN the 9th sample (at 21 s) sees the job done THEN it prints it, and the next sample comes a second later
    await jest.advanceTimersByTimeAsync(5_000);
    expect(seen.samples).toBe(9);
    expect(seen.lines.at(-1)).toMatch(/in flight 0 \| done 1 /);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(seen.samples).toBe(10);
    progress.stop();
  });
});
