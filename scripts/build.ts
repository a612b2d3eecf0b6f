/**
 * `npm run build`: the installable package in dist/. tsc emits JS and .d.ts for lib/ and
 * runtime/; every catalog handler under lambda/ is bundled with the catalog's esbuild options
 * into dist/lambda/<name>/index.js, and every catalog agent program (the worker agent running
 * one of those handlers, for FleetWorker) into dist/agents/<name>/index.mjs, and every catalog
 * web app (apps/, served by WebTier) into dist/web-programs/<name>/index.mjs, so users of the
 * package need no esbuild for them.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { buildLambdaRuntime } from '../local/lambda-runner';
import { CATALOG_AGENT_PROGRAMS, CATALOG_WEB_PROGRAMS, bundleAgentProgram, bundleHandler, bundleWebServerProgram } from '../lib/core/bundling';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

function handlers(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return handlers(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

function main() {
  const started = Date.now();
  fs.rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  const lambdaDir = path.join(ROOT, 'lambda');
  for (const entry of handlers(lambdaDir)) {
    const name = path.relative(lambdaDir, entry).replace(/\.ts$/, '');
    bundleHandler(entry, path.join(DIST, 'lambda', name));
    console.log(`bundled lambda/${name}.ts -> dist/lambda/${name}/index.js`);
  }
  for (const name of CATALOG_AGENT_PROGRAMS) {
    bundleAgentProgram(path.join(lambdaDir, `${name}.ts`), path.join(DIST, 'agents', name));
    console.log(`bundled the worker agent with lambda/${name}.ts -> dist/agents/${name}/index.mjs`);
  }
  // The local cloud's command (`cdk-cloud-patterns local`): the files tsc does not emit, and the
  // sandbox runtime prebuilt so that a user's app needs no esbuild for it.
  for (const file of ['moto_launcher.py', 'exit-with-parent.cjs']) fs.copyFileSync(path.join(ROOT, 'local', file), path.join(DIST, 'local', file));
  buildLambdaRuntime(path.join(DIST, 'local'));
  fs.chmodSync(path.join(DIST, 'local', 'cli.js'), 0o755);
  console.log('copied the local cloud\'s launcher and built its Lambda sandbox runtime into dist/local/');
  for (const name of CATALOG_WEB_PROGRAMS) {
    bundleWebServerProgram(path.join(ROOT, 'apps', `${name}.ts`), path.join(DIST, 'web-programs', name));
    console.log(`bundled the web server with apps/${name}.ts -> dist/web-programs/${name}/index.mjs`);
  }
  console.log(`build done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main();
