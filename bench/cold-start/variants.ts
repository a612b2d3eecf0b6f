/**
 * Investigation tool for the cold-start benchmark (not run by `npm run bench`): bundles the demo
 * job handler with variations of the catalog's esbuild options and times the import of each, the
 * same way bench/cold-start.bench.ts does (fresh `node` processes, rotating order).
 *
 *   node -r esbuild-register bench/cold-start/variants.ts [rounds]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as esbuild from 'esbuild';
import { ESM_REQUIRE_BANNER, HANDLER_ESBUILD_OPTIONS } from '../../lib/core/bundling';
import { summarize } from '../toolchain/timing';

const ROOT = path.join(__dirname, '..', '..');
const ENTRY = path.join(ROOT, 'lambda', 'work-queue', 'demo-job.ts');
const STAGE = path.join(ROOT, 'node_modules', '.cache', 'cdk-cloud-patterns', 'bench', 'cold-start-variants');
const IMPORT_TIME = path.join(__dirname, 'import-time.mjs');

// Each variant changes one choice of lib/core/bundling.ts (see LAMBDA_UNUSED_SDK_MODULES for why providers stay external).
const { external: _external, ...WITH_PROVIDERS } = HANDLER_ESBUILD_OPTIONS;
const AS_ESM = { ...HANDLER_ESBUILD_OPTIONS, format: 'esm' as const, banner: { js: ESM_REQUIRE_BANNER } };

const VARIANTS: Record<string, { file: string; options: esbuild.BuildOptions }> = {
  'ours (CommonJS, minified, SDK bundled but the unused credential providers)': { file: 'index.js', options: HANDLER_ESBUILD_OPTIONS },
  'ours as an ES module': { file: 'index.mjs', options: AS_ESM },
  'ours with every credential provider bundled': { file: 'index.js', options: WITH_PROVIDERS },
  'ours, not minified': { file: 'index.js', options: { ...HANDLER_ESBUILD_OPTIONS, minify: false } },
  'NodejsFunction defaults (CommonJS, @aws-sdk/* external)': {
    file: 'index.js',
    options: { bundle: true, platform: 'node', format: 'cjs', target: 'node24', external: ['@aws-sdk/*'], logLevel: 'warning' },
  },
};

function importMs(file: string): { ms: number; cpuMs: number } {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: 'variant', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', RESULTS_TABLE: 'results' };
  const r = spawnSync(process.execPath, ['--no-warnings', IMPORT_TIME, file], { cwd: path.dirname(file), env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`import of ${file} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as { ms: number; cpuMs: number };
}

async function main() {
  const rounds = Number(process.argv[2] ?? 30);
  fs.rmSync(STAGE, { recursive: true, force: true });
  const files: Record<string, { file: string; bytes: number }> = {};
  let n = 0;
  for (const [name, v] of Object.entries(VARIANTS)) {
    const file = path.join(STAGE, String(n++), v.file);
    await esbuild.build({ ...v.options, entryPoints: [ENTRY], outfile: file });
    files[name] = { file, bytes: fs.statSync(file).size };
  }
  const names = Object.keys(files);
  const wall: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (let i = 0; i < 2; i++) for (const name of names) importMs(files[name]!.file);
  const load = os.loadavg()[0]!;
  for (let i = 0; i < rounds; i++) {
    const order = names.map((_, k) => names[(k + i) % names.length]!);
    for (const name of order) {
      const t = importMs(files[name]!.file);
      (wall[name] ??= []).push(t.ms);
      (cpu[name] ??= []).push(t.cpuMs);
    }
  }
  const peer = summarize(wall[names[names.length - 1]!]!).median;
  const peerCpu = summarize(cpu[names[names.length - 1]!]!).median;
  console.log(`${rounds} rounds, load average ${load.toFixed(1)} -> ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}`);
  console.log('| variant | bytes | import median (min-max) ms | vs NodejsFunction | CPU median ms | vs NodejsFunction (CPU) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const name of names) {
    const w = summarize(wall[name]!);
    const c = summarize(cpu[name]!);
    console.log(`| ${name} | ${files[name]!.bytes} | ${w.median.toFixed(1)} (${w.min.toFixed(1)}-${w.max.toFixed(1)}) | ${(peer / w.median).toFixed(2)}x | ${c.median.toFixed(1)} | ${(peerCpu / c.median).toFixed(2)}x |`);
  }
  fs.rmSync(STAGE, { recursive: true, force: true });
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
