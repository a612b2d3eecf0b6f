/**
 * The command-line programs the repository's scripts run, found from their packages' manifests.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');

/**
 * A package's command-line script, from its package.json `bin` (a package's `exports` may not
 * list its bin files, so they are not resolved as subpaths).
 */
export function binOf(pkg: string, command: string = pkg): string {
  const manifest = require.resolve(`${pkg}/package.json`, { paths: [ROOT] });
  const { bin } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { bin?: string | Record<string, string> };
  const file = typeof bin === 'string' ? bin : bin?.[command];
  if (!file) throw new Error(`${pkg} has no "${command}" command in its package.json bin`);
  return path.join(path.dirname(manifest), file);
}

/**
 * The type-checker's script: TypeScript 7's `tsc`, installed as the package alias `typescript-7`
 * beside TypeScript 5.9. TypeScript 7 is a native program: it checks the repository with about 5
 * CPU seconds where 5.9 took 15 to 24. It has no JavaScript compiler API, so jsii, TypeDoc and
 * the file-by-file emit (scripts/emit.ts) keep 5.9's (docs/decisions.md, "TypeScript 5.9 for the
 * compiler API, TypeScript 7 for the type-check").
 */
export function typeChecker(): string {
  return binOf('typescript-7', 'tsc');
}

/**
 * Flags for the type-checks the test suite runs ({@link typeChecker}): one checker thread instead
 * of TypeScript 7's four. The suite's cores are busy with jest, so the threads buy no time, and
 * each checker of its own repeats the work on the types the files share. Measured on this 2-core
 * machine, a full check of the repository without its incremental cache: 7.6 to 8.5 CPU s with
 * four checkers, 5.9 to 6.5 with one; beside jest, the four took 10 CPU s in a fresh clone's run.
 * `npm run typecheck`, where a developer waits for it, keeps the default.
 */
export const SUITE_TYPE_CHECK_FLAGS: readonly string[] = ['--singleThreaded'];
