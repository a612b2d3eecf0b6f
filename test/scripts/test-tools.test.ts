/**
 * `npm test`'s first step (scripts/test-tools.ts): what it decides for each kind of machine,
 * and, run for real on a machine that lacks the tools, the one line it stops with.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildSync } from 'esbuild';
import { TEST_TOOLS, planTools, type TestTool, type ToolHost } from '../../scripts/test-tools';
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
