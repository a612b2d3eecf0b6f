/**
 * Worker cold start: the demo job handler (lambda/work-queue/demo-job.ts) as a user gets it from
 * a LambdaWorker with `entry` (the catalog's bundling options) against a plain NodejsFunction
 * with its defaults, both taken from one synthesized cloud assembly (bench/cold-start/app.ts).
 * Figures: bundle size, and the time to load the handler module in fresh `node` processes.
 *
 * Knobs: BENCH_COLD_START_ROUNDS (timed imports per bundle, default 40).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { LAMBDA_UNUSED_SDK_MODULES } from '../lib/core/bundling';
import type { BenchOutcome } from './lib/results';
import { runTimed, summarize } from './toolchain/timing';

const ROOT = path.join(__dirname, '..');
const IMPORT_TIME = path.join(__dirname, 'cold-start', 'import-time.mjs');
/** Under the repo, so that the peer's `@aws-sdk/*` requires resolve from its node_modules. */
const STAGE = path.join(ROOT, 'node_modules', '.cache', 'cdk-cloud-patterns', 'bench', 'cold-start');

type Side = 'ours' | 'peer';
type Bundle = Side;

interface FunctionInfo { readonly logicalId: string; readonly handler: string; readonly assetDir: string }
interface Sample { readonly ms: number; readonly cpuMs: number; readonly files: number; readonly bytes: number }

/** Synthesizes bench/cold-start/app.ts and returns each function's asset folder. */
function synthesize(outdir: string): Record<Side, FunctionInfo> {
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_OUTDIR: outdir, CDK_VALIDATION: 'false' };
  delete env.NODE_OPTIONS;
  const r = runTimed('node -r esbuild-register bench/cold-start/app.ts', { cwd: ROOT, env });
  if (r.status !== 0) throw new Error(`bench/cold-start/app.ts failed (${r.status}):\n${r.stderr.slice(-4000)}`);
  return JSON.parse(fs.readFileSync(path.join(outdir, 'bench-functions.json'), 'utf8')) as Record<Side, FunctionInfo>;
}

/** The file Lambda loads for `handler` ("index.handler") in `dir`, as the Node.js runtime looks it up. */
function handlerFile(dir: string, handler: string): string {
  const base = handler.slice(0, handler.lastIndexOf('.'));
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const f = path.join(dir, base + ext);
    if (fs.existsSync(f)) return f;
  }
  throw new Error(`no ${base}.js/.mjs/.cjs in ${dir}`);
}

function dirBytes(dir: string): { files: string[]; bytes: number } {
  const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  return { files, bytes: files.reduce((n, f) => n + fs.statSync(f).size, 0) };
}

/** Only what the Lambda runtime sets that a module may read at load; no credentials are needed to load. */
function lambdaLikeEnv(name: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    RESULTS_TABLE: 'results',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
  };
}

function importOnce(file: string, side: Bundle): Sample {
  const r = spawnSync(process.execPath, ['--no-warnings', IMPORT_TIME, file], { cwd: path.dirname(file), env: lambdaLikeEnv(side), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`import of ${file} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as Sample;
}

const moduleKind = (file: string) => (file.endsWith('.mjs') ? 'ES module' : 'CommonJS');
const r1 = (n: number) => Math.round(n * 10) / 10;
const r3 = (n: number) => Math.round(n * 1000) / 1000;

export async function run(): Promise<BenchOutcome> {
  const rounds = Number(process.env.BENCH_COLD_START_ROUNDS ?? 40);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cold-start-'));
  const loadStart = os.loadavg()[0]!;
  const files = {} as Record<Bundle, string>;
  const size = {} as Record<Side, { bytes: number; deflated: number; fileCount: number; name: string }>;
  try {
    console.log('  synthesizing bench/cold-start/app.ts ...');
    const fns = synthesize(path.join(tmp, 'cdk.out'));
    fs.rmSync(STAGE, { recursive: true, force: true });
    for (const side of ['ours', 'peer'] as const) {
      const { assetDir, handler } = fns[side];
      const content = dirBytes(assetDir);
      size[side] = {
        bytes: content.bytes,
        deflated: content.files.reduce((n, f) => n + zlib.deflateRawSync(fs.readFileSync(f), { level: 9 }).length, 0),
        fileCount: content.files.length,
        name: path.basename(handlerFile(assetDir, handler)),
      };
      fs.cpSync(assetDir, path.join(STAGE, side), { recursive: true });
      files[side] = handlerFile(path.join(STAGE, side), handler);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const samples: Record<Bundle, Sample[]> = { ours: [], peer: [] };
  const bundles = ['ours', 'peer'] as const;
  for (let i = 0; i < 3; i++) for (const b of bundles) importOnce(files[b], b); // page cache, untimed
  for (let i = 0; i < rounds; i++) {
    // Rotate the order every round, so that no bundle always runs first or after the same one.
    for (let k = 0; k < bundles.length; k++) {
      const b = bundles[(k + i) % bundles.length]!;
      samples[b].push(importOnce(files[b], b));
    }
  }
  const loadEnd = os.loadavg()[0]!;
  fs.rmSync(STAGE, { recursive: true, force: true });

  const wall = { ours: summarize(samples.ours.map((s) => s.ms)), peer: summarize(samples.peer.map((s) => s.ms)) };
  const cpu = { ours: summarize(samples.ours.map((s) => s.cpuMs)), peer: summarize(samples.peer.map((s) => s.cpuMs)) };
  const figures = (side: Side) => ({
    'bundle size (bytes)': size[side].bytes,
    'bundle size deflated (bytes)': size[side].deflated,
    'files loaded at import': samples[side][0]!.files,
    'JavaScript loaded at import (bytes)': samples[side][0]!.bytes,
    'import median (ms)': r1(wall[side].median),
    'import min (ms)': r1(wall[side].min),
    'import max (ms)': r1(wall[side].max),
    'import CPU median (ms)': r1(cpu[side].median),
  });
  const ours = figures('ours');
  const peer = figures('peer');
  const ratios = Object.fromEntries(Object.keys(ours).map((k) => [k, r3(ours[k as keyof typeof ours] / peer[k as keyof typeof peer])]));
  const speedup = wall.peer.median / wall.ours.median;
  const cpuSpeedup = cpu.peer.median / cpu.ours.median;

  return {
    title: 'Worker cold start: the bundled job handler',
    method:
      'bench/cold-start/app.ts synthesizes one stack with the demo job handler (lambda/work-queue/demo-job.ts) twice: a LambdaWorker with `entry` (ours) and ' +
      '`new NodejsFunction(this, \'F\', { entry, runtime: NODEJS_24_X })` (peer, NodejsFunction defaults). Both asset folders are taken from that cloud assembly. ' +
      `Import time: ${rounds} fresh \`node\` processes per bundle, interleaved (the order rotates every round, after 3 untimed rounds), each timing only ` +
      '`import()` (.mjs) or `require` (.js) of the handler file and its top-level code (bench/cold-start/import-time.mjs).',
    ours: { label: `ours: LambdaWorker with entry (${size.ours.name}, ${moduleKind(size.ours.name)})`, figures: ours },
    peer: { label: `peer: NodejsFunction defaults (${size.peer.name}, ${moduleKind(size.peer.name)}, @aws-sdk/* external)`, figures: peer },
    ratios,
    goals: [
      {
        goal: 'handler import at least 2x faster than the NodejsFunction default bundle',
        measured: `${speedup.toFixed(2)}x (median ${wall.ours.median.toFixed(1)} ms vs ${wall.peer.median.toFixed(1)} ms; CPU time ${cpuSpeedup.toFixed(2)}x)`,
        met: speedup >= 2,
      },
    ],
    notes: [
      'Ratios are ours / peer: lower is better for ours.',
      `Ours is CommonJS with the AWS SDK bundled and minified, except the credential providers Lambda never loads (${LAMBDA_UNUSED_SDK_MODULES.join(', ')}), which stay external (lib/core/bundling.ts). bench/cold-start/variants.ts times each choice alone.`,
      'The peer bundle leaves `@aws-sdk/*` to the Lambda runtime. Here it is loaded from the repo\'s node_modules (the bundles are copied to node_modules/.cache/cdk-cloud-patterns/bench/cold-start/, so resolution walks up to it): the same SDK version that ours bundles, not the runtime\'s copy. "files/JavaScript loaded at import" counts what that load read.',
      `Local Node.js ${process.version}, while the functions target nodejs24.x; files come from the page cache (warm), unlike a fresh Lambda sandbox, which favours the peer's many small files.`,
      'Only module load and top-level code are timed (what Lambda bills as init after the runtime starts); the first invocation\'s work (Powertools processor, idempotency setup) is not.',
      `Machine shared with other engineers' test runs: 1-minute load average ${loadStart.toFixed(1)} at start, ${loadEnd.toFixed(1)} at end (2 cores); CPU times are less sensitive to that load than wall times. The synth runs with CDK_VALIDATION=false (it checks templates, not bundles).`,
    ],
  };
}
