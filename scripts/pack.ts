/**
 * The repository's three packages packed into one folder (`npm pack` of every workspace and the
 * root: each prepack builds its package), for the tests that install them as users do
 * (test/package/*). The folder is the handshake between the test files and whoever packs: it holds
 * `tarballs.json` (each package's tarball) once the pack is done, or `failed` (npm's message).
 *
 * Jest's test sequencer (test/support/slow-first-sequencer.js) starts it in the background at the
 * start of a run that includes a packaging test, so that no test file waits for the pack with a
 * jest worker held: `node -r esbuild-register scripts/pack.ts <folder>`. The folder must not exist
 * yet: whoever makes it packs, everyone else waits (test/support/packed-package.ts).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');

/** The tarball of each package, by package name. */
export interface PackedPackages {
  /** `cdk-cloud-patterns`: the constructs. */
  readonly constructs: string;
  /** `@cdk-cloud-patterns/runtime`: what handlers and instance programs import. */
  readonly runtime: string;
  /** `@cdk-cloud-patterns/local`: the local cloud's command. */
  readonly local: string;
}

/**
 * Set for the pack's builds: the runtime and the local cloud are emitted without tsc's type-check
 * of each (scripts/build.ts; the emit is file by file either way, scripts/emit.ts), because the run
 * that packs (`npm test`) type-checks the same sources itself (`tsc --noEmit`). jsii always
 * checks: its checks are its own.
 */
export const BUILD_NO_CHECK_ENV = 'CDK_CLOUD_PATTERNS_BUILD_NO_CHECK';

/** npm's environment for the pack: quiet, and the builds without their type-check ({@link BUILD_NO_CHECK_ENV}). */
export function packEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...base, npm_config_loglevel: 'error', [BUILD_NO_CHECK_ENV]: '1' };
}

/** The file that holds the tarballs once the pack is done. */
export const TARBALLS_FILE = 'tarballs.json';
/** The file that holds npm's message when the pack failed. */
export const FAILED_FILE = 'failed';

/** The tarballs named in `npm pack --json`'s report (the prepack scripts print to stdout before it). */
export function tarballsFromReport(dir: string, stdout: string): PackedPackages {
  const lines = stdout.split('\n');
  const start = lines.indexOf('[');
  if (start < 0) throw new Error(`npm pack printed no JSON report:\n${stdout.slice(-2000)}`);
  const report = JSON.parse(lines.slice(start).join('\n')) as { name: string; filename: string }[];
  const file = (name: string) => {
    const entry = report.find((p) => p.name === name);
    if (!entry) throw new Error(`npm pack's report has no ${name} (it has ${report.map((p) => p.name).join(', ')})`);
    return path.join(dir, entry.filename);
  };
  return { constructs: file('cdk-cloud-patterns'), runtime: file('@cdk-cloud-patterns/runtime'), local: file('@cdk-cloud-patterns/local') };
}

/**
 * Packs the three packages into `dir` (which exists) and writes {@link TARBALLS_FILE}, or
 * {@link FAILED_FILE} with npm's output when it fails. `onChild` gets npm's process (to stop it).
 */
export function packInto(dir: string, onChild?: (pid: number) => void): Promise<PackedPackages> {
  return new Promise((resolve, reject) => {
    const npm = spawn('npm', ['pack', '--workspaces', '--include-workspace-root', '--pack-destination', dir, '--json'], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: packEnv(process.env),
    });
    if (npm.pid !== undefined) onChild?.(npm.pid);
    let stdout = '';
    let stderr = '';
    npm.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    npm.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const fail = (message: string) => {
      fs.writeFileSync(path.join(dir, FAILED_FILE), message);
      reject(new Error(message));
    };
    npm.once('error', (e) => fail(`npm pack could not start: ${e.message}`));
    npm.once('close', (code, signal) => {
      if (code !== 0) {
        fail(`npm pack exited ${code ?? signal}\n${stderr.slice(-4000)}${stdout.slice(-4000)}`);
        return;
      }
      try {
        const packed = tarballsFromReport(dir, stdout);
        fs.writeFileSync(path.join(dir, TARBALLS_FILE), JSON.stringify(packed));
        resolve(packed);
      } catch (e) {
        fail((e as Error).message);
      }
    });
  });
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir || !fs.existsSync(dir)) {
    console.error('Usage: node -r esbuild-register scripts/pack.ts <existing folder>');
    process.exit(2);
  }
  let npmPid: number | undefined;
  // Started with an IPC channel by jest's sequencer: when jest goes, the pack goes (npm and its prepack scripts).
  if (process.channel) {
    process.on('disconnect', () => {
      if (npmPid !== undefined) {
        try {
          process.kill(-npmPid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      process.exit(70);
    });
    process.channel.unref();
  }
  packInto(dir, (pid) => { npmPid = pid; }).then(() => process.exit(0), () => process.exit(1));
}
