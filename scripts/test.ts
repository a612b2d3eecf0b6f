/**
 * `npm test`: the programs the tests need first (scripts/test-tools.ts: when one cannot be
 * installed here, one line at once saying what to install and nothing else starts; a missing
 * Debian package is installed with apt-get beside the rest, the tests that run it waiting for it),
 * then the type-check (TypeScript 7's `tsc --noEmit`: scripts/bins.ts), the lint (ESLint) and jest
 * side by side. Jest's files spend much of their time waiting on emulators and child processes;
 * the type-check and the lint (about 5 and 10 CPU seconds on a fresh clone) fill that time at a
 * lower CPU priority instead of adding to the run's length. Their output is held until they end,
 * so it does not cut into jest's; a failure of either fails the run, as a failed test does, and so
 * does a failed install.
 *
 * Jest and everything it starts write their scratch files (scratch CDK apps with their
 * node_modules, synthesized assemblies, the local clouds' state) under a folder of their own in
 * /dev/shm when the machine has that memory-backed file system with room (TMPDIR points there):
 * on this project's 2-core machine an `npm install` of aws-cdk-lib took 11 CPU seconds on disk and
 * 5 there. The folder is removed when jest ends (and any left by a killed run, a day later).
 *
 * Arguments go to jest: `npm test -- test/lib --ci`.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { binOf, SUITE_TYPE_CHECK_FLAGS, typeChecker } from './bins';
import { startTools, TOOL_INSTALL_ENV, type ToolInstall } from './test-tools';

const ROOT = path.resolve(__dirname, '..');

/** A check that runs beside jest. */
export interface SideCheck {
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
}

/** Resolved once the test tools are there (nothing is looked up before). */
const sideChecks = (): SideCheck[] => [
  { name: 'type-check (tsc --noEmit, TypeScript 7)', script: typeChecker(), args: ['--noEmit', '-p', 'tsconfig.json', ...SUITE_TYPE_CHECK_FLAGS] },
  { name: 'lint (eslint .)', script: binOf('eslint'), args: ['.'] },
];

/** Runs `node <script> <args>`; resolves with its exit code and, when `hold`, its output. */
function run(script: string, args: readonly string[], hold: boolean, priority?: number, env?: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: hold ? ['ignore', 'pipe', 'pipe'] : 'inherit', env: env ?? process.env });
    if (priority !== undefined && child.pid !== undefined) {
      try {
        os.setPriority(child.pid, priority);
      } catch {
        // not allowed here: it runs at the same priority, which is only slower
      }
    }
    let output = '';
    child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('error', (e) => resolve({ code: 1, output: `${output}${e.message}\n` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

/** The prefix of the scratch folders `npm test` makes in a memory-backed file system. */
export const SCRATCH_PREFIX = 'cdk-cloud-patterns-tests-';

/**
 * A new scratch folder for jest under `shm` (a memory-backed file system) when it exists, is
 * writable and has `minFreeBytes` free; else undefined (jest uses the system's temporary folder).
 * Folders of earlier runs older than a day are removed first.
 */
export function memoryScratchDir(shm = '/dev/shm', minFreeBytes = 4 * 1024 ** 3): string | undefined {
  try {
    const stats = fs.statfsSync(shm);
    if (stats.bavail * stats.bsize < minFreeBytes) return undefined;
    for (const old of fs.readdirSync(shm).filter((d) => d.startsWith(SCRATCH_PREFIX))) {
      const dir = path.join(shm, old);
      if (Date.now() - fs.statSync(dir).mtimeMs > 86_400_000) fs.rmSync(dir, { recursive: true, force: true });
    }
    const dir = fs.mkdtempSync(path.join(shm, SCRATCH_PREFIX));
    // As the system's temporary folder is (mkdtemp makes it the owner's only): a test that runs a
    // program as another user (test-tools.test.ts) reaches its files.
    fs.chmodSync(dir, 0o1777);
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * `PATH` with the folder of the Python that `python3` runs (sys.executable's: moto's server, the
 * aws CLI and cfn-lint are installed beside it) placed just before the entry `python3` is found in
 * now, so each command resolves as before. With pyenv that entry is its shims folder, whose
 * wrapper scripts cost about 70 ms of CPU a call (the tests call Python about 50 times). Unchanged
 * when `python3` runs from its own folder, or cannot be asked.
 */
export function pythonFirstPath(PATH: string, ask = (): string | undefined => {
  const probe = spawnSync('python3', ['-c', 'import os, sys; print(os.path.dirname(sys.executable))'], { encoding: 'utf8', env: { ...process.env, PATH } });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}): string {
  const dir = ask();
  if (!dir || !path.isAbsolute(dir)) return PATH;
  const entries = PATH.split(path.delimiter);
  const at = entries.findIndex((e) => e !== '' && fs.existsSync(path.join(e, 'python3')));
  if (at < 0 || entries[at] === dir) return PATH;
  return [...entries.slice(0, at), dir, ...entries.slice(at)].join(path.delimiter);
}

/** The program that runs jest, and its arguments. */
export interface JestCommand {
  readonly script: string;
  readonly args: readonly string[];
}

/** What `npm test` runs: the test tools' check, the checks beside jest, and jest. */
export interface TestCommand {
  /** 0 when every tool is there, non-zero to stop at once, or an install the run goes on beside (scripts/test-tools.ts, startTools). */
  readonly tools: () => number | ToolInstall;
  readonly sideChecks: () => readonly SideCheck[];
  /** Jest's program and arguments (a function: looked up only once the tools are there). */
  readonly jest: JestCommand | (() => JestCommand);
  /** The folder jest's scratch files go in (TMPDIR), removed when jest ends. @default the system's */
  readonly scratchDir?: () => string | undefined;
  /** jest's PATH, from this process's. @default the same */
  readonly jestPath?: (PATH: string) => string;
  readonly log?: (line: string) => void;
  readonly error?: (line: string) => void;
}

/** Runs it: exit code 0 only when the tools are there, jest passes and every side check passes. */
export async function runTestCommand(command: TestCommand): Promise<number> {
  const log = command.log ?? ((l: string) => console.log(l));
  const error = command.error ?? ((l: string) => console.error(l));
  const tools = command.tools();
  if (typeof tools === 'number' && tools !== 0) return 1;
  const install = typeof tools === 'number' ? undefined : tools;
  // Its line is printed when it ends: a failure at once (the tests that run those tools fail with the same line).
  const installed = install?.done.then((outcome) => {
    (outcome.ok ? log : error)(outcome.line);
    return outcome.ok;
  });
  const started = Date.now();
  const checks = command.sideChecks().map(async (check) => {
    const result = await run(check.script, check.args, true, 10);
    return { ...check, ...result, seconds: (Date.now() - started) / 1000 };
  });
  const scratch = command.scratchDir?.();
  let jest: { code: number };
  try {
    const env = {
      ...process.env,
      ...(scratch ? { TMPDIR: scratch } : {}),
      ...(command.jestPath ? { PATH: command.jestPath(process.env.PATH ?? '') } : {}),
      ...(install ? { [TOOL_INSTALL_ENV]: install.statusFile } : {}),
    };
    const jestCommand = typeof command.jest === 'function' ? command.jest() : command.jest;
    jest = await run(jestCommand.script, jestCommand.args, false, undefined, env);
  } finally {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
  const done = await Promise.all(checks);
  const toolsInstalled = installed ? await installed : true;
  if (install) fs.rmSync(install.statusFile, { force: true });
  for (const check of done) {
    if (check.code === 0) log(`${check.name}: passed (${check.seconds.toFixed(1)} s)`);
    else error(`${check.name}: FAILED (exit code ${check.code})\n${check.output.trimEnd()}`);
  }
  return jest.code !== 0 || !toolsInstalled || done.some((c) => c.code !== 0) ? 1 : 0;
}

if (require.main === module) {
  const toolStatus = path.join(os.tmpdir(), `cdk-cloud-patterns-tool-install-${process.pid}.json`);
  runTestCommand({ tools: () => startTools(toolStatus), sideChecks, jest: () => ({ script: binOf('jest'), args: process.argv.slice(2) }), scratchDir: memoryScratchDir, jestPath: (PATH) => pythonFirstPath(PATH) }).then((code) => process.exit(code), (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  });
}
