/**
 * A benchmark's command-line peer (bench/lib/tools.ts): found, installed with apt-get as root, or
 * the benchmark stops at once with one line saying what to install.
 */
import { MissingBenchToolError, requireBenchTool, type BenchToolHost } from '../../../bench/lib/tools';

const RCLONE = { command: 'rclone', debianPackage: 'rclone', neededBy: 'npm run bench -- storage (rclone is its peer)' };

/** A machine with `present` on its PATH; apt-get installs what `installs` names, and records its calls. */
function machine(present: string[], isRoot: boolean, installs: string[] = []): BenchToolHost & { calls: string[][] } {
  const onPath = new Set(present);
  const calls: string[][] = [];
  return {
    calls,
    isRoot,
    has: (c) => onPath.has(c),
    aptGet: (args) => {
      calls.push([...args]);
      const pkg = args[args.length - 1]!;
      if (args[0] === 'install' && installs.includes(pkg)) {
        onPath.add(pkg);
        return { ok: true, error: '' };
      }
      return args[0] === 'update' ? { ok: true, error: '' } : { ok: false, error: `E: Unable to locate package ${pkg}` };
    },
  };
}

describe('requireBenchTool', () => {
  test('uses the tool on the PATH without installing anything', () => {
    const host = machine(['rclone', 'apt-get'], true);
    expect(requireBenchTool(RCLONE, host)).toBe('rclone: on the PATH');
    expect(host.calls).toEqual([]);
  });

  test('installs Debian\'s package with apt-get when it is missing and we are root', () => {
    // GIVEN a root machine with apt-get and no rclone
    const host = machine(['apt-get'], true, ['rclone']);
    // WHEN the storage benchmark asks for it
    const said = requireBenchTool(RCLONE, host);
    // THEN it is installed
    expect(said).toMatch(/installed Debian's rclone with apt-get/);
    expect(host.calls[0]).toEqual(['install', '-y', '-qq', '--no-install-recommends', 'rclone']);
  });

  test('stops at once with one line saying what to install when not root', () => {
    // GIVEN a machine without rclone where we are not root
    const host = machine(['apt-get'], false);
    // WHEN / THEN the benchmark stops with one line naming the command to run
    expect(() => requireBenchTool(RCLONE, host)).toThrow(MissingBenchToolError);
    expect(() => requireBenchTool(RCLONE, host)).toThrow(/^npm run bench -- storage \(rclone is its peer\) cannot run: rclone is missing \(not root, so not installed for you\); install it with: apt-get update && apt-get install -y rclone$/);
    expect(host.calls).toEqual([]);
  });

  test('stops with the apt-get error when the package cannot be installed, after refreshing the lists once', () => {
    // GIVEN a root machine whose apt-get knows no such package
    const host = machine(['apt-get'], true);
    // WHEN / THEN
    expect(() => requireBenchTool(RCLONE, host)).toThrow(/rclone is missing \(apt-get failed: E: Unable to locate package rclone\)/);
    expect(host.calls.map((c) => c[0])).toEqual(['install', 'update', 'install']);
  });
});
