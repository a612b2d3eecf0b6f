/**
 * `npm test`'s runner (scripts/test.ts), with small Node programs standing in for tsc, ESLint and
 * jest: the checks beside jest decide the exit code as jest does, their output is held and shown
 * only when they fail, nothing starts when the test tools are missing, and an install of them runs
 * beside the rest, its failure failing the run. Jest gets a scratch folder (a run started without
 * npm test, one from its globalSetup), and the folder of the tests' Python ahead of a version
 * manager's shims.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { binOf, SUITE_TYPE_CHECK_FLAGS, typeChecker } from '../../scripts/bins';
import { REPO_ROOT } from '../support/paths';
import { memoryScratchDir, pythonFirstPath, runTestCommand, SCRATCH_PREFIX, type SideCheck } from '../../scripts/test';
import { startInstall, TOOL_INSTALL_ENV } from '../../scripts/test-tools';
import { PACK_DIR_MADE_ENV, removeRunScratch, useRunScratch } from '../support/run-scratch';

let dir: string;
let marker: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-command-'));
  marker = path.join(dir, 'started');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A program that appends its name to the marker file, prints a line and exits with `code`. */
function program(name: string, code: number): string {
  const file = path.join(dir, `${name}.js`);
  fs.writeFileSync(file, `require('fs').appendFileSync(${JSON.stringify(marker)}, ${JSON.stringify(`${name}\n`)}); console.log('${name} says hello'); process.exit(${code});`);
  return file;
}

async function runWith(codes: { tsc: number; eslint: number; jest: number }, tools = 0) {
  fs.rmSync(marker, { force: true });
  const lines: string[] = [];
  const errors: string[] = [];
  const sideChecks = (): SideCheck[] => [
    { name: 'type-check', script: program('tsc', codes.tsc), args: [] },
    { name: 'lint', script: program('eslint', codes.eslint), args: [] },
  ];
  const code = await runTestCommand({ tools: () => tools, sideChecks, jest: { script: program('jest', codes.jest), args: [] }, log: (l) => lines.push(l), error: (l) => errors.push(l) });
  const started = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim().split('\n').sort() : [];
  return { code, lines, errors, started };
}

describe('npm test', () => {
  test('passes when jest and both checks pass, saying so for each check', async () => {
    const r = await runWith({ tsc: 0, eslint: 0, jest: 0 });
    expect(r.code).toBe(0);
    expect(r.started).toEqual(['eslint', 'jest', 'tsc']);
    expect(r.lines).toEqual([expect.stringMatching(/^type-check: passed \(\d+\.\d s\)$/), expect.stringMatching(/^lint: passed \(\d+\.\d s\)$/)]);
    expect(r.errors).toEqual([]);
  });

  test('fails when the type-check fails though jest passed, showing its output', async () => {
    const r = await runWith({ tsc: 2, eslint: 0, jest: 0 });
    expect(r.code).toBe(1);
    expect(r.errors).toEqual(['type-check: FAILED (exit code 2)\ntsc says hello']);
  });

  test('fails when the lint or jest fails', async () => {
    expect((await runWith({ tsc: 0, eslint: 1, jest: 0 })).code).toBe(1);
    expect((await runWith({ tsc: 0, eslint: 0, jest: 1 })).code).toBe(1);
  });

  test('starts nothing when the test tools are missing', async () => {
    const r = await runWith({ tsc: 0, eslint: 0, jest: 0 }, 1);
    expect(r.code).toBe(1);
    expect(r.started).toEqual([]);
  });

  test.each([
    [true, 0],
    [false, 1],
  ])('runs everything beside an install of the tools (install ok: %s), tells jest where its outcome goes, prints its line and fails when it failed', async (ok, exitCode) => {
    // GIVEN an install that ends once jest has started, and a jest that records where the outcome goes
    const statusFile = path.join(dir, 'tool-install.json');
    const seen = path.join(dir, 'jest-env');
    const jest = path.join(dir, 'jest-env.js');
    fs.writeFileSync(jest, `require('fs').writeFileSync(${JSON.stringify(seen)}, String(process.env.${TOOL_INSTALL_ENV}));`);
    const line = ok ? 'test tools: installed chromium 150 with apt-get in 9.0 s' : 'npm test cannot run: missing chromium (needed by the browser drill): apt-get install -y chromium [apt-get failed: E: boom]';
    const install = startInstall([], statusFile, async () => {
      while (!fs.existsSync(seen)) await new Promise((r) => setTimeout(r, 20));
      if (!ok) throw new Error(line);
      return line;
    });
    const lines: string[] = [];
    const errors: string[] = [];

    // WHEN npm test runs
    const code = await runTestCommand({ tools: () => install, sideChecks: () => [], jest: { script: jest, args: [] }, log: (l) => lines.push(l), error: (l) => errors.push(l) });

    // THEN jest ran while the install went on, knowing where its outcome goes; the line is printed; the file is removed
    expect(fs.readFileSync(seen, 'utf8')).toBe(statusFile);
    expect(ok ? lines : errors).toEqual([line]);
    expect(code).toBe(exitCode);
    expect(fs.existsSync(statusFile)).toBe(false);
    fs.rmSync(seen);
  });
});

describe('the programs npm test runs', () => {
  // jest's and eslint's `exports` do not list their bin files: resolving `jest/bin/jest.js` as a
  // subpath fails on a fresh install (it did, in CI), so the path comes from package.json `bin`.
  test.each([
    ['jest', 'jest', 'jest/bin/jest.js'],
    ['eslint', 'eslint', 'eslint/bin/eslint.js'],
    ['typescript', 'tsc', 'typescript/bin/tsc'],
    ['typescript-7', 'tsc', 'typescript-7/bin/tsc'],
  ])('%s %s is its package.json bin and exists', (pkg, command, tail) => {
    const file = binOf(pkg, command);
    expect(file.endsWith(path.join('node_modules', ...tail.split('/')))).toBe(true);
    expect(fs.existsSync(file)).toBe(true);
  });

  test('the type-check is TypeScript 7\'s tsc, with the repository\'s options: it fails on a type error, naming the file and line', () => {
    // GIVEN the type-checker npm test (with its flags) and the packages' builds run, and a project with one type error
    const manifest = JSON.parse(fs.readFileSync(path.join(path.dirname(typeChecker()), '..', 'package.json'), 'utf8')) as { name: string; version: string };
    expect(manifest).toEqual(expect.objectContaining({ name: 'typescript', version: expect.stringMatching(/^7\./) }));
    const project = fs.mkdtempSync(path.join(dir, 'typed-'));
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ extends: path.join(REPO_ROOT, 'tsconfig.json'), compilerOptions: { types: [], incremental: false }, include: ['*.ts'] }));
    fs.writeFileSync(path.join(project, 'ok.ts'), 'export const n: number = 1;\n');
    fs.writeFileSync(path.join(project, 'bad.ts'), 'import { n } from \'./ok\';\nexport const s: string = n;\n');

    // WHEN it checks the project THEN it exits non-zero with TypeScript's message at bad.ts line 2
    const run = () => spawnSync(process.execPath, [typeChecker(), '--noEmit', '-p', project, ...SUITE_TYPE_CHECK_FLAGS], { encoding: 'utf8' });
    const failed = run();
    expect(failed.status).not.toBe(0);
    expect(failed.stdout).toMatch(/bad\.ts\(2,14\): error TS2322: Type 'number' is not assignable to type 'string'/);
    // AND without the error it passes
    fs.writeFileSync(path.join(project, 'bad.ts'), 'import { n } from \'./ok\';\nexport const s: string = String(n);\n');
    expect(run()).toEqual(expect.objectContaining({ status: 0, stdout: '' }));
  });

  test('a command the package does not have is named in the error', () => {
    expect(() => binOf('typescript', 'nope')).toThrow('typescript has no "nope" command in its package.json bin');
  });
});

describe('jest\'s scratch folder', () => {
  test('is a new folder in the memory-backed file system, named in TMPDIR for jest, and gone when jest ends', async () => {
    // GIVEN a stand-in for /dev/shm holding a folder of a run killed two days ago
    const shm = fs.mkdtempSync(path.join(dir, 'shm-'));
    const killed = path.join(shm, `${SCRATCH_PREFIX}old`);
    fs.mkdirSync(killed);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    fs.utimesSync(killed, twoDaysAgo, twoDaysAgo);
    const seen = path.join(dir, 'jest-tmpdir');
    const jest = path.join(dir, 'jest-tmpdir.js');
    fs.writeFileSync(jest, `const fs = require('fs'), t = require('os').tmpdir(); fs.writeFileSync(${JSON.stringify(seen)}, [t, fs.existsSync(t), (fs.statSync(t).mode & 0o7777).toString(8)].join('\\n'));`);
    let made: string | undefined;

    // WHEN npm test runs jest with it
    const code = await runTestCommand({
      tools: () => 0, sideChecks: () => [], jest: { script: jest, args: [] }, log: () => undefined,
      scratchDir: () => (made = memoryScratchDir(shm, 0)),
    });

    // THEN jest's temporary folder was the new folder, which existed while jest ran (open to every
    // user, as /tmp is) and is gone now, and the killed run's folder is gone too
    expect(code).toBe(0);
    expect(made).toMatch(new RegExp(`^${shm}/${SCRATCH_PREFIX}`));
    expect(fs.readFileSync(seen, 'utf8').split('\n')).toEqual([made, 'true', '1777']);
    expect(fs.existsSync(made!)).toBe(false);
    expect(fs.readdirSync(shm)).toEqual([]);
  });

  test('is none (the system\'s temporary folder) without the file system, or without room in it', () => {
    expect(memoryScratchDir(path.join(dir, 'no-such-shm'))).toBeUndefined();
    expect(memoryScratchDir(dir, Number.MAX_SAFE_INTEGER)).toBeUndefined();
  });
});

describe('jest\'s PATH', () => {
  test('has the folder of the Python that python3 runs just before the folder python3 was found in (pyenv\'s shims), the rest in order', () => {
    // GIVEN a PATH whose python3 is a shim, and the Python's own folder
    const [tools, shims, real] = ['tools', 'shims', 'real'].map((d) => fs.mkdtempSync(path.join(dir, `${d}-`)));
    fs.writeFileSync(path.join(shims!, 'python3'), '');
    const PATH = [tools, shims, '/usr/bin'].join(path.delimiter);
    // THEN
    expect(pythonFirstPath(PATH, () => real)).toBe([tools, real, shims, '/usr/bin'].join(path.delimiter));
    // AND it is unchanged when python3 already runs from its own folder, or cannot be asked
    expect(pythonFirstPath(PATH, () => shims)).toBe(PATH);
    expect(pythonFirstPath(PATH, () => undefined)).toBe(PATH);
    expect(pythonFirstPath(PATH, () => 'relative/bin')).toBe(PATH);
  });

  test('runs the same Python and moto as before, from the folder Python says it runs from', () => {
    const PATH = process.env.PATH ?? '';
    const now = pythonFirstPath(PATH);
    // The interpreter, and where its moto is installed (found, not imported: an import of moto is a second of CPU).
    const executable = (p: string) => execFileSync('python3', ['-c', 'import sys, importlib.util; print(sys.executable, importlib.util.find_spec("moto").origin)'], { encoding: 'utf8', env: { ...process.env, PATH: p } }).trim();
    const found = executable(now);
    expect(found).toBe(executable(PATH));
    expect(found).toMatch(/ \/\S+\/moto\/__init__\.py$/);
    const pythonDir = path.dirname(found.split(' ')[0]!);
    expect(now.split(path.delimiter)).toContain(pythonDir);
  });

  test('is the one npm test gives jest', async () => {
    const seen = path.join(dir, 'jest-path');
    const jest = path.join(dir, 'jest-path.js');
    fs.writeFileSync(jest, `require('fs').writeFileSync(${JSON.stringify(seen)}, process.env.PATH);`);
    const code = await runTestCommand({ tools: () => 0, sideChecks: () => [], jest: { script: jest, args: [] }, log: () => undefined, jestPath: (PATH) => `/python/bin${path.delimiter}${PATH}` });
    expect(code).toBe(0);
    expect(fs.readFileSync(seen, 'utf8')).toBe(`/python/bin${path.delimiter}${process.env.PATH}`);
  });
});

describe('a jest run started without npm test (npx jest <path>)', () => {
  test('gets a temporary folder of its own from globalSetup, which every worker and child uses and the teardown removes', () => {
    // GIVEN a system temporary folder (a stand-in for /tmp)
    const system = fs.mkdtempSync(path.join(dir, 'system-tmp-'));
    const env: NodeJS.ProcessEnv = { TMPDIR: system };

    // WHEN the run's globalSetup names a folder for it
    const made = useRunScratch(env);

    // THEN TMPDIR names that new folder, open to every user as /tmp is
    expect(made).toMatch(new RegExp(`^${system}/${SCRATCH_PREFIX}`));
    expect(env.TMPDIR).toBe(made);
    expect((fs.statSync(made!).mode & 0o7777).toString(8)).toBe('1777');
    // AND a run that already has one (npm test's) gets no second one
    expect(useRunScratch(env)).toBeUndefined();
    expect(env.TMPDIR).toBe(made);

    // WHEN the teardown runs, after a test left an assembly folder in it (as `new App()` does),
    // and jest's sequencer (which runs before globalSetup) made its pack folder in the system's
    fs.mkdirSync(path.join(made!, 'cdk.outAbc123'));
    env[PACK_DIR_MADE_ENV] = fs.mkdtempSync(path.join(system, 'cdk-cloud-patterns-pack-'));
    removeRunScratch(env);

    // THEN the system folder holds nothing of the run, and TMPDIR is back
    expect(fs.readdirSync(system)).toEqual([]);
    expect(env.TMPDIR).toBe(system);
  });

  test('leaves npm test\'s folder to npm test', () => {
    // GIVEN TMPDIR naming npm test's scratch folder
    const npmTests = fs.mkdtempSync(path.join(dir, SCRATCH_PREFIX));
    const env: NodeJS.ProcessEnv = { TMPDIR: npmTests };

    // WHEN the run's setup and teardown run
    expect(useRunScratch(env)).toBeUndefined();
    removeRunScratch(env);

    // THEN the folder is still there (npm test removes it when jest ends)
    expect(fs.existsSync(npmTests)).toBe(true);
    expect(env.TMPDIR).toBe(npmTests);
  });
});
