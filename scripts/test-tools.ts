/**
 * The programs the tests run that do not come from npm, and the first step of `npm test`:
 * each missing one that Debian packages is installed with apt-get when we are root, and
 * otherwise the run stops at once with one line saying exactly what to install. Nothing skips.
 *
 * A test that needs a new program adds one row to TEST_TOOLS (e.g. Chromium for a browser
 * test: `{ command: 'chromium', debianPackage: 'chromium', neededBy: '...' }`) and calls
 * `requireTool('chromium')` where it starts it, for runs of jest without `npm test`.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** A program some test runs. */
export interface TestTool {
  /** The command the tests call, looked up on the PATH. */
  readonly command: string;
  /** Which tests need it, for the messages. */
  readonly neededBy: string;
  /** Debian's package of it: installed with apt-get when missing and we are root. @default - not installed by the tests */
  readonly debianPackage?: string;
  /** How to install it by hand when no Debian package is installed for it. @default `apt-get install -y <debianPackage>` */
  readonly installHint?: string;
}

/**
 * Every program the tests need beyond Node.js and npm. Searched for an npm package that ships
 * one inside itself first (see docs/decisions.md, "Fresh machine"); these have none that fits.
 */
export const TEST_TOOLS: readonly TestTool[] = [
  { command: 'shellcheck', debianPackage: 'shellcheck', neededBy: 'test/lib/image-bootstrap/boot-script.test.ts (the boot script is shellcheck-clean)' },
  { command: 'chromium', debianPackage: 'chromium', neededBy: 'test/local/start.test.ts (the render farm used in a real browser, headless, through playwright-core: test/apps/render-farm/browser-drill.ts)' },
  { command: 'curl', debianPackage: 'curl', neededBy: 'test/lib/image-bootstrap/boot-script-sandbox.test.ts (the boot script talks to a fake IMDS with curl)' },
  // The machine's Python: not on npm or Debian at a version we test with, so never installed here.
  // The range is the one `npm start` checks (local/); keep the two in step.
  { command: 'moto_server', installHint: 'pip install "moto[server]>=5.2.1,<5.3"', neededBy: 'tests of running code and the local cloud (the embedded AWS)' },
  { command: 'cfn-lint', installHint: 'pip install cfn-lint', neededBy: 'template tests (cfn-lint over every stack)' },
  // AWS CLI v1 on the same Python (the boot script's `aws` calls, run against moto); v2 would do too.
  { command: 'aws', installHint: 'pip install "awscli>=1.45"', neededBy: 'test/lib/image-bootstrap/boot-script-sandbox.test.ts (the boot script calls the real AWS CLI against moto)' },
  // The same Python; its own compiler checks the Python bindings jsii-pacmak generates.
  { command: 'python3', installHint: 'the machine\'s Python 3 (moto_server runs on it)', neededBy: 'test/package/jsii.test.ts (byte-compiles the generated Python bindings)' },
];

/** What the machine offers, as far as the plan is concerned. */
export interface ToolHost {
  /** Whether a command is on the PATH. */
  has(command: string): boolean;
  /** Whether we run as root (apt-get installs without asking). */
  readonly isRoot: boolean;
}

/** What to do about the missing tools: nothing, install Debian packages, or stop with one line. */
export type ToolPlan =
  | { readonly kind: 'ready' }
  | { readonly kind: 'install'; readonly tools: readonly TestTool[] }
  | { readonly kind: 'stop'; readonly message: string };

/** How to install one tool by hand. */
export function installHintOf(tool: TestTool): string {
  return tool.installHint ?? `apt-get install -y ${tool.debianPackage ?? tool.command}`;
}

/** The one line that says what is missing and how to install each. */
export function missingToolsLine(missing: readonly TestTool[], why = ''): string {
  const each = missing.map((t) => `${t.command} (needed by ${t.neededBy}): ${installHintOf(t)}`).join('; ');
  return `npm test cannot run: missing ${each}${why ? ` [${why}]` : ''}`;
}

/** Decides, without touching anything, what to do about the tools `host` lacks. */
export function planTools(tools: readonly TestTool[], host: ToolHost): ToolPlan {
  const missing = tools.filter((t) => !host.has(t.command));
  if (missing.length === 0) return { kind: 'ready' };
  // Install nothing when something cannot be installed: the run would stop anyway.
  if (missing.some((t) => !t.debianPackage)) return { kind: 'stop', message: missingToolsLine(missing) };
  if (!host.isRoot) return { kind: 'stop', message: missingToolsLine(missing, 'not root, so not installed for you') };
  if (!host.has('apt-get')) return { kind: 'stop', message: missingToolsLine(missing, 'no apt-get on this machine, so not installed for you') };
  return { kind: 'install', tools: missing };
}

/** Whether `command` is an executable file on the PATH (no shell involved). */
export function onPath(command: string, searchPath = process.env.PATH ?? ''): boolean {
  return searchPath.split(path.delimiter).filter(Boolean).some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return fs.statSync(path.join(dir, command)).isFile();
    } catch {
      return false;
    }
  });
}

/** For a test that runs a tool: throws the one line of `npm test` when it is missing. */
export function requireTool(command: string): void {
  const tool = TEST_TOOLS.find((t) => t.command === command);
  if (!tool) throw new Error(`${command} is not in TEST_TOOLS (scripts/test-tools.ts): add a row for it`);
  if (!onPath(command)) throw new Error(missingToolsLine([tool], '`npm test` installs it when run as root'));
}

function aptGet(args: string[]): { ok: boolean; error: string } {
  const result = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 600_000,
  });
  const lastLine = `${result.stderr ?? ''}`.trim().split('\n').pop() ?? '';
  return { ok: result.status === 0, error: result.error?.message ?? lastLine };
}

/** Installs the tools' Debian packages; returns the line to print, or throws the one line. */
export function installWithAptGet(tools: readonly TestTool[]): string {
  const started = Date.now();
  const packages = tools.map((t) => t.debianPackage!);
  const install = () => aptGet(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  let result = install();
  let updated = false;
  if (!result.ok) {
    // A fresh machine's package lists are often missing or stale: refresh them once.
    updated = true;
    const update = aptGet(['update', '-qq']);
    result = update.ok ? install() : update;
  }
  const stillMissing = tools.filter((t) => !onPath(t.command));
  if (!result.ok || stillMissing.length > 0) {
    throw new Error(missingToolsLine(stillMissing.length > 0 ? stillMissing : tools, `apt-get failed: ${result.error}`));
  }
  const versions = packages.map((p) => {
    const v = spawnSync('dpkg-query', ['-W', '-f=${Version}', p], { encoding: 'utf8' });
    return `${p} ${v.status === 0 ? v.stdout.trim() : '(version unknown)'}`;
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  return `test tools: installed ${versions.join(', ')} with apt-get${updated ? ' (after apt-get update)' : ''} in ${seconds} s`;
}

/** `npm test`'s first step: exit 0 when every tool is there (installing what it can), else 1. */
export function main(): number {
  const plan = planTools(TEST_TOOLS, { has: (c) => onPath(c), isRoot: process.getuid?.() === 0 });
  try {
    if (plan.kind === 'stop') throw new Error(plan.message);
    if (plan.kind === 'install') console.log(installWithAptGet(plan.tools));
    return 0;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
}

if (require.main === module) process.exit(main());
