/**
 * The runtime that keeps V8's code cache of node_modules files across a worker's test files
 * (test/support/code-cache-runtime.js, jest.config.js): a module it compiles runs as jest runs it
 * (jest's injected names, its own module object, relative requires) and its stack traces name the
 * same lines and columns as the source. It keeps the text of a node_modules file for the worker's
 * later test files, and reads the file again once it changed. It disables the AsyncLocalStorage
 * instances a test file ran when the file ends.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'code-cache-'));
  const pkg = path.join(dir, 'node_modules', 'cc-fixture');
  fs.mkdirSync(pkg, { recursive: true });
  // Line 1, column 32 of the source: where `new Error` is.
  fs.writeFileSync(path.join(pkg, 'index.js'), [
    "exports.firstLine = () => { return new Error('first').stack; };",
    "exports.thirdLine = function () {",
    "  return new Error('third').stack; };",
    "exports.injected = { jest: typeof jest, require: typeof require, filename: __filename, dirname: __dirname, self: this === module.exports };",
    "exports.helper = require('./helper').value;",
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(pkg, 'helper.js'), 'exports.value = 42;\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the runtime in use is the code-cache one', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  expect(require('../../jest.config.js').runtime).toBe('<rootDir>/test/support/code-cache-runtime.js');
});

test('a node_modules module runs with jest\'s names, its own module, and its relative requires', () => {
  const file = path.join(dir, 'node_modules', 'cc-fixture', 'index.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fixture = require(file) as { injected: Record<string, unknown>; helper: number };
  expect(fixture.injected).toEqual({ jest: 'object', require: 'function', filename: file, dirname: path.dirname(file), self: true });
  expect(fixture.helper).toBe(42);
});

test('its stack traces give the source\'s lines and columns, the first line\'s too', () => {
  const file = path.join(dir, 'node_modules', 'cc-fixture', 'index.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fixture = require(file) as { firstLine: () => string; thirdLine: () => string };
  expect(fixture.firstLine().split('\n')[1]).toContain(`${file}:1:36`);
  expect(fixture.thirdLine().split('\n')[1]).toContain(`${file}:3:10`);
});

describe('the node_modules texts a worker keeps', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { keepNodeModulesSources } = require('./code-cache-runtime.js') as { keepNodeModulesSources: (read: (f: string) => string, kept: Map<string, unknown>) => (f: string) => string };
  const counting = () => {
    const reads: string[] = [];
    return { reads, read: (f: string) => { reads.push(f); return fs.readFileSync(f, 'utf8'); } };
  };

  test('reads a node_modules file once, and gives every later reader the same text', () => {
    // GIVEN a reader that counts its reads, kept texts shared as a worker shares them
    const { reads, read } = counting();
    const kept = new Map();
    const file = path.join(dir, 'node_modules', 'cc-fixture', 'helper.js');
    // WHEN two test files' caches read the same file
    const first = keepNodeModulesSources(read, kept)(file);
    const second = keepNodeModulesSources(read, kept)(file);
    // THEN it was read once, and both have its text
    expect(reads).toEqual([file]);
    expect(second).toBe(first);
    expect(second).toBe('exports.value = 42;\n');
  });

  test('reads a file again once its size or modification time changed', () => {
    const { reads, read } = counting();
    const kept = new Map();
    const file = path.join(dir, 'node_modules', 'cc-fixture', 'changing.js');
    fs.writeFileSync(file, 'exports.value = 1;\n');
    expect(keepNodeModulesSources(read, kept)(file)).toBe('exports.value = 1;\n');
    // WHEN the file is rewritten (another size) and then touched (the same size, a later time)
    fs.writeFileSync(file, 'exports.value = 22;\n');
    expect(keepNodeModulesSources(read, kept)(file)).toBe('exports.value = 22;\n');
    fs.writeFileSync(file, 'exports.value = 33;\n');
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(file, later, later);
    // THEN each change was read
    expect(keepNodeModulesSources(read, kept)(file)).toBe('exports.value = 33;\n');
    expect(reads).toEqual([file, file, file]);
  });

  test('leaves files outside node_modules, and missing ones, to jest', () => {
    const { reads, read } = counting();
    const kept = new Map();
    const own = path.join(dir, 'own.js');
    fs.writeFileSync(own, 'exports.own = true;\n');
    keepNodeModulesSources(read, kept)(own);
    keepNodeModulesSources(read, kept)(own);
    expect(reads).toEqual([own, own]);
    const missing = path.join(dir, 'node_modules', 'cc-fixture', 'missing.js');
    expect(() => keepNodeModulesSources(read, kept)(missing)).toThrow(/ENOENT/);
    expect(kept.has(missing)).toBe(false);
  });
});

test('disables the AsyncLocalStorage instances run since the last file ended, which a later run enables again', () => {
  // GIVEN a process that loaded the runtime (outside jest: disabling this file's own would end its context)
  const script = `
    const { AsyncLocalStorage } = require('async_hooks');
    const { disableStoragesRun } = require(${JSON.stringify(path.join(__dirname, 'code-cache-runtime.js'))});
    const storage = new AsyncLocalStorage();
    const seen = {};
    // WHEN a storage is run, with a callback still to come in its context, and the file ends
    storage.run('first', () => setTimeout(() => { seen.afterEnd = storage.getStore() ?? null; storage.run('second', () => setTimeout(() => { seen.runAgain = storage.getStore(); console.log(JSON.stringify(seen)); }, 1)); }, 5));
    disableStoragesRun();
  `;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  // THEN the storage is off for what was left of it, and on again for its next run
  expect(JSON.parse(out)).toEqual({ afterEnd: null, runAgain: 'second' });
});
