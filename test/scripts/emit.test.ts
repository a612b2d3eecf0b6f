/**
 * scripts/emit.ts, the file-by-file emit of the runtime and the local cloud: on a package that
 * uses what theirs do (a file outside the package pulled in by an import, type-only imports,
 * re-exports, default and namespace imports, `@internal` members stripped, parameter properties with defaults, enums, classes,
 * overloads, generics, JSDoc), its files are a tsc program's, name for name and byte for byte. A
 * file whose exported value has no written type stops the emit with TypeScript's message, and
 * nothing is written.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as TS from 'typescript';
import { emitPackage, readConfig, sourceClosure } from '../../scripts/emit';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ts = require('typescript') as typeof TS;

let root: string;

function write(files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
}

const TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: 'ES2022', module: 'commonjs', moduleResolution: 'node', lib: ['ES2022'], types: [], strict: true, esModuleInterop: true,
    isolatedModules: true, outDir: 'dist', rootDir: '..', declaration: true, isolatedDeclarations: true, stripInternal: true,
  },
  include: ['.'],
  exclude: ['dist'],
});

/** Every file under `dir`, relative, with its content. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = fs.readFileSync(file, 'utf8');
  }
  return out;
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'emit-test-'));
  write({
    'pkg/tsconfig.build.json': TSCONFIG,
    'shared/contract.ts': [
      '/** A contract compiled into each package that reads it. */',
      'export interface Job { readonly id: string; readonly attempts?: number }',
      'export const MAX_ATTEMPTS = 3;',
      'export const DEFAULT_WAIT_MS: number = 20 * 1000;',
      'export const KINDS: readonly [\'a\', \'b\'] = [\'a\', \'b\'] as const;',
      'export enum Level { Low = 1, High = 2 }',
      '/** A base class from another file. */',
      'export class Emitter { protected emitted: string[] = []; public emit(event: string): boolean { this.emitted.push(event); return true; } }',
    ].join('\n'),
    'shared/types-only.ts': 'export type Handler = (job: { id: string }) => Promise<void>;\n',
    'shared/unused.ts': 'export const NOT_IMPORTED = 1;\n',
    'shared/greet.ts': 'export default function greet(name: string): string { return `hello ${name}`; }\n',
    'pkg/index.ts': [
      "export * from './worker';",
      "export { MAX_ATTEMPTS, type Job } from '../shared/contract';",
      "export type { Handler } from '../shared/types-only';",
    ].join('\n'),
    'pkg/worker.ts': [
      "import { DEFAULT_WAIT_MS, Emitter, Level, type Job } from '../shared/contract';",
      "import type { Handler } from '../shared/types-only';",
      "import * as contract from '../shared/contract';",
      "import greet from '../shared/greet';",
      '',
      'export const GREETING: string = greet(String(contract.MAX_ATTEMPTS));',
      '/** Runs jobs. */',
      'export class Worker extends Emitter {',
      '  /** @internal */',
      '  public readonly secret: string = "x";',
      '  private count = 0;',
      '  constructor(private readonly handler: Handler, public readonly waitMs: number = DEFAULT_WAIT_MS) { super(); }',
      '  /** Runs one job. */',
      '  public async run(job: Job): Promise<number> { await this.handler(job); return ++this.count; }',
      '  public level(): Level { return this.waitMs > 0 ? Level.High : Level.Low; }',
      '}',
      '',
      'export function pick(value: string): string;',
      'export function pick(value: number): number;',
      'export function pick(value: string | number): string | number { return value; }',
      '',
      'export function first<T>(items: readonly T[], fallback?: T): T | undefined { return items[0] ?? fallback; }',
      '',
      '/** @internal */',
      'export function hidden(): void {}',
    ].join('\n'),
  });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the emit file by file', () => {
  test('writes what a tsc program writes, name for name and byte for byte, for the package and the files it imports', () => {
    const config = path.join(root, 'pkg', 'tsconfig.build.json');
    // GIVEN what tsc writes for the package (a program: every file it imports, typed)
    const { options, fileNames } = readConfig(config);
    const expected: Record<string, string> = {};
    const program = ts.createProgram(fileNames, options);
    expect(ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
    program.emit(undefined, (file, text) => { expected[path.relative(path.join(root, 'pkg', 'dist'), file)] = text; });
    expect(Object.keys(expected)).toEqual(expect.arrayContaining(['shared/contract.js', 'shared/contract.d.ts', 'shared/types-only.d.ts', 'pkg/worker.d.ts']));
    expect(expected['pkg/worker.d.ts']).not.toContain('secret');

    // WHEN the package is emitted file by file
    const emitted = emitPackage(config);

    // THEN the same files, with the same text (no file it does not import: shared/unused.ts)
    expect(tree(path.join(root, 'pkg', 'dist'))).toEqual(expected);
    expect(emitted.sources.map((f) => path.relative(root, f))).toEqual(['pkg/index.ts', 'pkg/worker.ts', 'shared/contract.ts', 'shared/greet.ts', 'shared/types-only.ts']);
  });

  test('a file whose exported value has no written type stops the emit, naming the file, the line and the fix; nothing is written', () => {
    write({ 'pkg/bad.ts': "import { MAX_ATTEMPTS } from '../shared/contract';\nexport const LIMIT = MAX_ATTEMPTS * 2;\n" });
    expect(() => emitPackage(path.join(root, 'pkg', 'tsconfig.build.json'))).toThrow(/bad\.ts\(2,14\): error TS9010: Variable must have an explicit type annotation with --isolatedDeclarations/);
    expect(fs.existsSync(path.join(root, 'pkg', 'dist'))).toBe(false);
  });

  test('refuses a package whose tsconfig does not set isolatedDeclarations, saying which option to set', () => {
    write({ 'pkg/tsconfig.build.json': TSCONFIG.replace('"isolatedDeclarations":true', '"isolatedDeclarations":false') });
    expect(() => emitPackage(path.join(root, 'pkg', 'tsconfig.build.json'))).toThrow(/set "isolatedDeclarations": true in its compilerOptions/);
  });

  test('follows relative imports of every form to source files, and stops at packages and declaration files', () => {
    write({
      'pkg/a.ts': "import './side-effect';\nexport { b } from './b';\nexport const lazy = (): Promise<unknown> => import('./c');\nimport type { Pkg } from 'a-package';\nexport type P = Pkg;\n",
      'pkg/b.ts': 'export const b = 1;\n',
      'pkg/c.ts': 'export const c = 1;\n',
      'pkg/side-effect.ts': 'void 0;\n',
      // A package's TypeScript sources are its own: tsc does not emit them into this package.
      'node_modules/a-package/package.json': '{"name":"a-package","types":"index.ts"}',
      'node_modules/a-package/index.ts': 'export type Pkg = string;\n',
      'pkg/ambient.d.ts': 'declare const AMBIENT: number;\n',
      'pkg/uses-ambient.ts': "/// <reference path=\"./ambient.d.ts\" />\nimport './b';\n",
    });
    const { options } = readConfig(path.join(root, 'pkg', 'tsconfig.build.json'));
    expect(sourceClosure([path.join(root, 'pkg', 'a.ts'), path.join(root, 'pkg', 'uses-ambient.ts')], options).map((f) => path.relative(root, f)))
      .toEqual(['pkg/a.ts', 'pkg/b.ts', 'pkg/c.ts', 'pkg/side-effect.ts', 'pkg/uses-ambient.ts']);
  });
});
