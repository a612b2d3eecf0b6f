/**
 * `npm run build`: the three packages of the repository, each into its own dist/ (a package's
 * `prepack` builds only itself: `scripts/build.ts lib|runtime|local`).
 *
 * - cdk-cloud-patterns (the constructs, at the root): jsii compiles lib/ (without the catalog's
 *   example stacks, lib/stacks) and the contracts it reads into dist/, with tsconfig.build.json,
 *   and writes the assembly (`.jsii`) the other CDK languages' bindings are generated from. Any
 *   jsii warning fails the build (a reserved word in Python, say), as an error does.
 * - @cdk-cloud-patterns/runtime (runtime/): tsc (TypeScript 7's: scripts/bins.ts) type-checks the
 *   runtime and its contracts, and TypeScript's transpilers emit them file by file into
 *   runtime/dist/ (scripts/emit.ts).
 * - @cdk-cloud-patterns/local (local/): the same for the local cloud (and the few runtime modules
 *   it sends demo jobs with) into local/dist/, with the files tsc does not emit (moto's launcher,
 *   the exit-with-parent hook) and its Lambda sandbox runtime prebuilt, so a user's app needs no
 *   esbuild for it.
 *
 * The contracts are one source (contracts/), compiled into each package that reads them: the
 * packages never depend on each other, so none drags another's dependencies in.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { buildLambdaRuntime } from '../local/lambda-runner';
import { typeChecker } from './bins';
import { emitPackage } from './emit';
import { BUILD_NO_CHECK_ENV } from './pack';

const ROOT = path.join(__dirname, '..');

/** The packages, by the name `build.ts <name>` takes: the folder holding its package.json and tsconfig.build.json. */
const PACKAGES = { lib: ROOT, runtime: path.join(ROOT, 'runtime'), local: path.join(ROOT, 'local') } as const;
type PackageName = keyof typeof PACKAGES;

/**
 * tsc's arguments for a package's type-check (`tsc --noEmit`), or undefined when there is none:
 * the test suite's pack skips it (scripts/pack.ts, BUILD_NO_CHECK_ENV), as `npm test` type-checks
 * the same sources itself.
 */
export function typeCheckArgs(dir: string, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  if (env[BUILD_NO_CHECK_ENV] === '1') return undefined;
  return [typeChecker(), '--noEmit', '-p', path.join(dir, 'tsconfig.build.json')];
}

/** The runtime's or the local cloud's build: tsc's type-check, then the emit file by file (scripts/emit.ts). */
function typeCheckAndEmit(dir: string): void {
  const args = typeCheckArgs(dir);
  // The same diagnostics tsc's build printed, from the same program; a type error fails the build.
  if (args) execFileSync(process.execPath, args, { stdio: 'inherit' });
  fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  emitPackage(path.join(dir, 'tsconfig.build.json'));
}

/** jsii: tsc with jsii's checks, the same dist/ layout, and the assembly `.jsii` next to package.json. */
function jsii(dir: string): void {
  fs.rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
  fs.rmSync(path.join(dir, '.jsii'), { force: true });
  execFileSync(process.execPath, [require.resolve('jsii/bin/jsii'), '--fail-on-warnings'], {
    cwd: dir,
    stdio: 'inherit',
    // jsii prints a banner on every run that it no longer supports Node 20 (this machine's Node):
    // it compiles correctly there; docs/decisions.md ("Public API and jsii") says so.
    env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
  });
}

function build(name: PackageName): void {
  const started = Date.now();
  const dir = PACKAGES[name];
  if (name === 'lib') jsii(dir);
  else typeCheckAndEmit(dir);
  if (name === 'local') {
    const out = path.join(dir, 'dist', 'local');
    for (const file of ['moto_launcher.py', 'exit-with-parent.cjs']) fs.copyFileSync(path.join(ROOT, 'local', file), path.join(out, file));
    buildLambdaRuntime(out);
    fs.chmodSync(path.join(out, 'cli.js'), 0o755);
  }
  if (name !== 'lib') {
    // Each package ships the license; its README is its own.
    fs.copyFileSync(path.join(ROOT, 'LICENSE'), path.join(dir, 'LICENSE'));
  }
  console.log(`built ${name === 'lib' ? 'cdk-cloud-patterns' : `@cdk-cloud-patterns/${name}`} into ${path.relative(ROOT, path.join(dir, 'dist')) || 'dist'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (require.main === module) {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((a) => !(a in PACKAGES));
  if (unknown.length > 0) {
    console.error(`scripts/build.ts: unknown package ${unknown.join(', ')}: give any of ${Object.keys(PACKAGES).join(', ')} (or nothing, for all)`);
    process.exit(2);
  }
  for (const name of (asked.length > 0 ? asked : Object.keys(PACKAGES)) as PackageName[]) build(name);
}
