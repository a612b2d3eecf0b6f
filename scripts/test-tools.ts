/**
 * The programs the tests run that do not come from npm, and the first step of `npm test`:
 * each missing one that Debian packages is installed with apt-get when we are root, and
 * otherwise the run stops at once with one line saying exactly what to install. Nothing skips.
 *
 * The install runs beside the tests (startTools): a test that runs one of these programs waits for
 * it with `await toolReady('chromium')` where it starts it, which also says what to install in a
 * run of jest without `npm test`. A test that needs a new program adds one row to TEST_TOOLS (e.g.
 * `{ command: 'chromium', debianPackage: 'chromium', neededBy: '...' }`) and calls toolReady.
 */
import { spawn, spawnSync } from 'child_process';
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
export function requireTool(command: string, searchPath = process.env.PATH ?? ''): void {
  const tool = TEST_TOOLS.find((t) => t.command === command);
  if (!tool) throw new Error(`${command} is not in TEST_TOOLS (scripts/test-tools.ts): add a row for it`);
  if (!onPath(command, searchPath)) throw new Error(missingToolsLine([tool], '`npm test` installs it when run as root'));
}

/** How an apt-get run ended: whether it succeeded, and its last line of errors when not. */
export interface AptResult {
  readonly ok: boolean;
  readonly error: string;
}

/** Runs apt-get without a terminal, at the run's priority; resolves when it ends (stopped after 10 minutes). */
function aptGet(args: readonly string[]): Promise<AptResult> {
  return new Promise((resolve) => {
    const child = spawn('apt-get', ['-o', 'DPkg::Lock::Timeout=120', ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    const timer = setTimeout(() => child.kill('SIGTERM'), 600_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: e.message });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, error: stderr.trim().split('\n').pop() || `apt-get ended with ${signal ?? `exit code ${code}`}` });
    });
  });
}

/** Installs the tools' Debian packages; resolves with the line to print, or rejects with the one line. */
export async function installWithAptGet(tools: readonly TestTool[], apt: (args: readonly string[]) => Promise<AptResult> = aptGet): Promise<string> {
  const started = Date.now();
  const packages = tools.map((t) => t.debianPackage!);
  const install = () => apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  let result = await install();
  let updated = false;
  if (!result.ok) {
    // A fresh machine's package lists are often missing or stale: refresh them once.
    updated = true;
    const update = await apt(['update', '-qq']);
    result = update.ok ? await install() : update;
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

/**
 * Set by `npm test` for jest while it installs missing tools in the background: the file the
 * install's outcome ({@link ToolInstallOutcome}, as JSON) is written to when it ends. A test that
 * runs one of those tools waits for it ({@link toolReady}); the other tests do not.
 */
export const TOOL_INSTALL_ENV = 'CDK_CLOUD_PATTERNS_TOOL_INSTALL';

/** How the background install ended: the line to print (the one line that says what to install, when it failed). */
export interface ToolInstallOutcome {
  readonly ok: boolean;
  readonly line: string;
}

/** An install running beside the tests. */
export interface ToolInstall {
  /** Where its outcome is written when it ends ({@link TOOL_INSTALL_ENV}). */
  readonly statusFile: string;
  /** Resolves with the outcome once it is written. */
  readonly done: Promise<ToolInstallOutcome>;
}

/** Starts installing `tools`; the outcome is written to `statusFile` whole (a reader never sees half of it). */
export function startInstall(tools: readonly TestTool[], statusFile: string, install: (tools: readonly TestTool[]) => Promise<string> = installWithAptGet): ToolInstall {
  const done = install(tools).then((line): ToolInstallOutcome => ({ ok: true, line }), (e: Error): ToolInstallOutcome => ({ ok: false, line: e.message }))
    .then((outcome) => {
      fs.writeFileSync(`${statusFile}.part`, JSON.stringify(outcome));
      fs.renameSync(`${statusFile}.part`, statusFile);
      return outcome;
    });
  return { statusFile, done };
}

/** This machine, as {@link planTools} sees it. */
const MACHINE: ToolHost = { has: (c) => onPath(c), isRoot: process.getuid?.() === 0 };

/**
 * `npm test`'s first step: 0 when every tool is there; 1, with the one line on stderr, when one is
 * missing that cannot be installed here; else the install of the missing Debian packages, started
 * in the background. The type-check, the lint and jest start beside it (on this project's 2-core
 * machine, apt-get installing Chromium and shellcheck had the run wait 10 to 16 s before anything
 * else started), and the tests that run those tools wait for it ({@link toolReady}). `install`
 * stands in for apt-get in tests.
 */
export function startTools(statusFile: string, host: ToolHost = MACHINE, install?: (tools: readonly TestTool[]) => Promise<string>): number | ToolInstall {
  const plan = planTools(TEST_TOOLS, host);
  if (plan.kind === 'ready') return 0;
  if (plan.kind === 'stop') {
    console.error(plan.message);
    return 1;
  }
  console.log(`test tools: installing ${plan.tools.map((t) => t.debianPackage).join(', ')} with apt-get, beside the tests (those that run them wait for it)`);
  return startInstall(plan.tools, statusFile, install);
}

/**
 * For a test that runs a tool: resolves once it is on the PATH. While `npm test` installs it
 * ({@link TOOL_INSTALL_ENV} set), waits for the install to end first (at most `timeoutMs`); throws
 * the one line of `npm test` when it is missing.
 */
export async function toolReady(command: string, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
  const env = options.env ?? process.env;
  const statusFile = env[TOOL_INSTALL_ENV];
  if (statusFile && !onPath(command, env.PATH)) {
    const timeoutMs = options.timeoutMs ?? 600_000;
    const until = Date.now() + timeoutMs;
    while (!fs.existsSync(statusFile)) {
      if (Date.now() > until) throw new Error(`${command}: npm test's install of the test tools (apt-get) did not end within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
    }
    const outcome = JSON.parse(fs.readFileSync(statusFile, 'utf8')) as ToolInstallOutcome;
    if (!outcome.ok) throw new Error(outcome.line);
  }
  requireTool(command, env.PATH);
}
