/**
 * `npm test`'s first step (scripts/test-tools.ts): what it decides for each kind of machine, the
 * install beside the tests (apt-get stood in for) that the tests needing a tool wait for, and,
 * run for real on a machine that lacks the tools, the one line it stops with.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildSync } from 'esbuild';
import { TEST_TOOLS, TOOL_INSTALL_ENV, installWithAptGet, planTools, startInstall, startTools, toolReady, type TestTool, type ToolHost } from '../../scripts/test-tools';
import { REPO_ROOT } from '../support/paths';

const SHELLCHECK: TestTool = { command: 'shellcheck', debianPackage: 'shellcheck', neededBy: 'boot script tests' };
const MOTO: TestTool = { command: 'moto_server', installHint: 'pip install "moto[server]>=5.2.1,<5.3"', neededBy: 'running code' };

const host = (present: string[], isRoot: boolean): ToolHost => ({ has: (c) => present.includes(c), isRoot });

describe('planTools', () => {
  test('does nothing when every tool is on the PATH', () => {
    expect(planTools([SHELLCHECK, MOTO], host(['shellcheck', 'moto_server'], false))).toEqual({ kind: 'ready' });
  });

  test('installs the missing Debian packages as root with apt-get', () => {
    expect(planTools([SHELLCHECK, MOTO], host(['moto_server', 'apt-get'], true))).toEqual({ kind: 'install', tools: [SHELLCHECK] });
  });

  test('stops with one line naming the apt-get command when not root', () => {
    // WHEN
    const plan = planTools([SHELLCHECK, MOTO], host(['moto_server', 'apt-get'], false));
    // THEN
    expect(plan).toEqual({ kind: 'stop', message: expect.stringMatching(/^npm test cannot run: missing shellcheck \(needed by boot script tests\): apt-get install -y shellcheck \[not root/) });
    expect((plan as { message: string }).message).not.toContain('\n');
  });

  test('stops when there is no apt-get, even as root', () => {
    expect(planTools([SHELLCHECK], host([], true))).toEqual({ kind: 'stop', message: expect.stringMatching(/no apt-get/) });
  });

  test('installs nothing when a tool without a Debian package is missing too, and names both', () => {
    // WHEN
    const plan = planTools([SHELLCHECK, MOTO], host(['apt-get'], true));
    // THEN
    expect(plan).toEqual({ kind: 'stop', message: expect.stringMatching(/shellcheck .*apt-get install -y shellcheck; moto_server .*pip install "moto\[server\]>=5\.2\.1,<5\.3"$/) });
  });
});

describe('the first step of npm test', () => {
  test('is what `npm test` runs (scripts/test.ts), before the type-check, the lint and jest', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.test).toBe('node -r esbuild-register scripts/test.ts');
  });

  test('lists the boot script\'s shellcheck as a Debian package to install', () => {
    expect(TEST_TOOLS).toEqual(expect.arrayContaining([expect.objectContaining({ command: 'shellcheck', debianPackage: 'shellcheck' })]));
  });

  test('stops at once with one line saying what to install on a machine without the tools, not as root, starting nothing else', () => {
    // GIVEN a PATH with node only, and (when we are root) a user that is not root, who runs
    // `npm test`'s script bundled into a folder it can read (the checkout may sit in a folder only
    // root can enter, as in a `mktemp -d` clone), where neither TypeScript, ESLint nor jest is
    // found: had it started any before checking the tools, it would fail otherwise
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'test-tools-path-'));
    fs.chmodSync(bin, 0o755);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const script = path.join(bin, 'test.js');
    buildSync({ entryPoints: [path.join(REPO_ROOT, 'scripts', 'test.ts')], bundle: true, platform: 'node', outfile: script, logLevel: 'silent' });
    fs.chmodSync(script, 0o644);
    const node = [process.execPath, script];
    const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((f) => fs.existsSync(f)) ?? 'setpriv';
    const command = process.getuid?.() === 0 ? [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node;
    try {
      // WHEN
      const result = spawnSync(command[0], command.slice(1), { cwd: bin, encoding: 'utf8', env: { PATH: bin, HOME: os.tmpdir() }, timeout: 20_000 });
      // THEN
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      for (const tool of TEST_TOOLS) expect(lines[0]).toContain(`${tool.command} (needed by ${tool.neededBy})`);
      expect(lines[0]).toContain('apt-get install -y shellcheck');
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('the install beside the tests', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tool-install-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A PATH folder without the tool, and the environment of a test run while `npm test` installs. */
  function runEnv() {
    const bin = fs.mkdtempSync(path.join(dir, 'bin-'));
    return { bin, statusFile: path.join(dir, 'status.json'), env: { PATH: bin, [TOOL_INSTALL_ENV]: path.join(dir, 'status.json') } };
  }
  const settled = (p: Promise<unknown>) => {
    const state = { settled: false };
    p.then(() => { state.settled = true; }, () => { state.settled = true; });
    return state;
  };

  test('a test that runs the tool waits until the install ends, then runs it', async () => {
    // GIVEN an install of shellcheck that has not ended
    const { bin, statusFile, env } = runEnv();
    let finish!: (line: string) => void;
    const install = startInstall([SHELLCHECK], statusFile, () => new Promise<string>((resolve) => { finish = resolve; }));
    // WHEN a test asks for shellcheck THEN it waits
    const ready = toolReady('shellcheck', { env, pollMs: 10 });
    const state = settled(ready);
    await new Promise((r) => setTimeout(r, 200));
    expect(state.settled).toBe(false);
    // WHEN the install puts it on the PATH and ends THEN the test goes on, and the outcome is the install's line
    fs.writeFileSync(path.join(bin, 'shellcheck'), '#!/bin/sh\n', { mode: 0o755 });
    finish('test tools: installed shellcheck 0.9.0-1 with apt-get in 9.2 s');
    await expect(ready).resolves.toBeUndefined();
    await expect(install.done).resolves.toEqual({ ok: true, line: 'test tools: installed shellcheck 0.9.0-1 with apt-get in 9.2 s' });
    expect(JSON.parse(fs.readFileSync(statusFile, 'utf8'))).toEqual({ ok: true, line: 'test tools: installed shellcheck 0.9.0-1 with apt-get in 9.2 s' });
  });

  test('npm test\'s first step starts the install of the missing Debian packages and says so, or returns 0 when nothing is missing', async () => {
    // GIVEN a root machine with every tool but Chromium and shellcheck
    const statusFile = path.join(dir, 'status.json');
    const machine = (missing: string[]): ToolHost => ({ has: (c) => !missing.includes(c), isRoot: true });
    const installed: string[][] = [];
    const install = async (tools: readonly TestTool[]) => {
      installed.push(tools.map((t) => t.debianPackage!));
      return 'test tools: installed them';
    };
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      // WHEN THEN it starts installing both and says so, without waiting
      const started = startTools(statusFile, machine(['shellcheck', 'chromium']), install);
      expect(typeof started).toBe('object');
      expect(log).toHaveBeenCalledWith('test tools: installing shellcheck, chromium with apt-get, beside the tests (those that run them wait for it)');
      await expect((started as Exclude<typeof started, number>).done).resolves.toEqual({ ok: true, line: 'test tools: installed them' });
      expect(installed).toEqual([['shellcheck', 'chromium']]);
      // AND with nothing missing it starts nothing
      expect(startTools(statusFile, machine([]), install)).toBe(0);
      expect(installed).toHaveLength(1);
    } finally {
      log.mockRestore();
    }
  });

  test('a failed install fails the tests that need the tool with its one line', async () => {
    const { statusFile, env } = runEnv();
    const line = 'npm test cannot run: missing shellcheck (needed by boot script tests): apt-get install -y shellcheck [apt-get failed: E: Unable to locate package shellcheck]';
    const install = startInstall([SHELLCHECK], statusFile, () => Promise.reject(new Error(line)));
    await expect(install.done).resolves.toEqual({ ok: false, line });
    await expect(toolReady('shellcheck', { env })).rejects.toThrow(line);
  });

  test('without an install running, a missing tool is named at once with how to install it', async () => {
    const bin = fs.mkdtempSync(path.join(dir, 'bin-'));
    await expect(toolReady('shellcheck', { env: { PATH: bin } })).rejects.toThrow(/^npm test cannot run: missing shellcheck .*apt-get install -y shellcheck/);
  });

  test('apt-get refreshes its package lists once when the install fails, then installs', async () => {
    // GIVEN an apt-get whose first install fails (stale lists), for a tool that is then on the PATH
    const calls: string[] = [];
    let installs = 0;
    const apt = async (args: readonly string[]) => {
      calls.push(args[0]!);
      if (args[0] === 'install' && ++installs === 1) return { ok: false, error: 'E: Unable to locate package' };
      return { ok: true, error: '' };
    };
    const tool: TestTool = { command: 'node', debianPackage: 'no-such-package-for-this-test', neededBy: 'this test' };
    // WHEN THEN
    await expect(installWithAptGet([tool], apt)).resolves.toMatch(/^test tools: installed no-such-package-for-this-test \(version unknown\) with apt-get \(after apt-get update\) in \d+\.\d s$/);
    expect(calls).toEqual(['install', 'update', 'install']);
  });

  test('a failed apt-get rejects with the one line, naming apt-get\'s error', async () => {
    const apt = async () => ({ ok: false, error: 'E: Could not get lock /var/lib/dpkg/lock-frontend' });
    const tool: TestTool = { command: 'no-such-command-for-this-test', debianPackage: 'no-such-package-for-this-test', neededBy: 'this test' };
    await expect(installWithAptGet([tool], apt)).rejects.toThrow(/^npm test cannot run: missing no-such-command-for-this-test \(needed by this test\): apt-get install -y no-such-package-for-this-test \[apt-get failed: E: Could not get lock \/var\/lib\/dpkg\/lock-frontend\]$/);
  });
});
