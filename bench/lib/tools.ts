/**
 * Programs a benchmark runs that do not come from npm (a peer's command-line tool): found on the
 * PATH, installed with apt-get from Debian's package when missing and we are root (as `npm test`
 * does for its tools, scripts/test-tools.ts), or the benchmark stops at once with one line that
 * says what to install. Nothing is skipped: a benchmark without its peer does not run.
 */
import { spawnSync } from 'child_process';
import { onPath } from '../../scripts/test-tools';

/** A program a benchmark needs. */
export interface BenchTool {
  readonly command: string;
  /** Debian's package of it. */
  readonly debianPackage: string;
  /** The benchmark that needs it, and why, for the message. */
  readonly neededBy: string;
}

function aptGet(args: readonly string[]): { ok: boolean; error: string } {
  const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=120', ...args], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
  return { ok: r.status === 0, error: r.error?.message ?? `${r.stderr ?? ''}`.trim().split('\n').pop() ?? '' };
}

/** Thrown when a benchmark's tool is missing and cannot be installed: its message is the one line to print. */
export class MissingBenchToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingBenchToolError';
  }
}

/** The one line of a benchmark that cannot run without `tool`. */
export function missingToolLine(tool: BenchTool, why: string): string {
  return `${tool.neededBy} cannot run: ${tool.command} is missing (${why}); install it with: apt-get update && apt-get install -y ${tool.debianPackage}`;
}

/** What the machine offers: the PATH, whether we are root, and apt-get. */
export interface BenchToolHost {
  has(command: string): boolean;
  readonly isRoot: boolean;
  aptGet(args: readonly string[]): { ok: boolean; error: string };
}

const MACHINE: BenchToolHost = { has: (c) => onPath(c), isRoot: process.getuid?.() === 0, aptGet };

/**
 * Makes sure `tool` is on the PATH: installs its Debian package when we are root and have
 * apt-get (refreshing the package lists once if the install fails), else throws the one line.
 * Returns what it did, for the benchmark's log.
 */
export function requireBenchTool(tool: BenchTool, host: BenchToolHost = MACHINE): string {
  if (host.has(tool.command)) return `${tool.command}: on the PATH`;
  if (!host.isRoot) throw new MissingBenchToolError(missingToolLine(tool, 'not root, so not installed for you'));
  if (!host.has('apt-get')) throw new MissingBenchToolError(missingToolLine(tool, 'no apt-get on this machine, so not installed for you'));
  const install = () => host.aptGet(['install', '-y', '-qq', '--no-install-recommends', tool.debianPackage]);
  let result = install();
  if (!result.ok) {
    const update = host.aptGet(['update', '-qq']);
    result = update.ok ? install() : update;
  }
  if (!result.ok || !host.has(tool.command)) throw new MissingBenchToolError(missingToolLine(tool, `apt-get failed: ${result.error}`));
  return `${tool.command}: installed Debian's ${tool.debianPackage} with apt-get`;
}

/** The version line a tool prints (`<command> version` or `--version`), for the results. */
export function toolVersion(command: string, args: readonly string[] = ['version']): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}`.trim().split('\n')[0] ?? 'unknown';
}
