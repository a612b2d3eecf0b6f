/**
 * The runtime that keeps V8's code cache of node_modules files across a worker's test files
 * (test/support/code-cache-runtime.js, jest.config.js): a module it compiles runs as jest runs it
 * (jest's injected names, its own module object, relative requires) and its stack traces name the
 * same lines and columns as the source.
 */
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
