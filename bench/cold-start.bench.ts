/**
 * Worker cold start: the demo job handler (lambda/work-queue/demo-job.ts) as a user gets it from
 * a LambdaWorker with `entry` (the catalog's bundling options) against NodejsFunction as a
 * careful user sets it (`minify: true, bundleAwsSDK: true`) and at its defaults, all taken from
 * one synthesized cloud assembly (bench/cold-start/app.ts); plus the tuned NodejsFunction with
 * the credential providers left out as ours does, which shows where the difference comes from.
 * Figures: bundle size, and the time to load the handler module in fresh `node` processes.
 *
 * Rounds: at least 12 and at most BENCH_COLD_START_ROUNDS (default 96) timed imports per bundle, in
 * whole cycles of the rotation, as many as fit in BENCH_COLD_START_BUDGET_S seconds of importing
 * (default 90; the machine is shared).
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

type Side = 'ours' | 'tuned' | 'peer' | 'tunedModuleFirst' | 'tunedNoProviders' | 'tunedBoth';
type Bundle = Side;
const SIDES: readonly Side[] = ['ours', 'tuned', 'peer', 'tunedModuleFirst', 'tunedNoProviders', 'tunedBoth'];

/**
 * The goals, each with its peer, as they were stated before the runs they are judged on; a goal
 * is never moved after a miss (docs/decisions.md, Benchmarks). The first was stated with the
 * benchmark (2026-11-25) and missed then (1.92x); the second was added on 2026-11-30 against the
 * peer a careful user sets up. Both are judged on every run.
 */
const GOALS = [
  { peer: 'peer', ratio: 2, stated: '2026-11-25', text: 'handler import at least 2x faster than NodejsFunction at its defaults, in CPU time' },
  { peer: 'tuned', ratio: 1.3, stated: '2026-11-30', text: 'handler import at least 1.3x faster than NodejsFunction with minify and bundleAwsSDK (a careful user\'s settings), in CPU time' },
] as const satisfies readonly { peer: Side; ratio: number; stated: string; text: string }[];

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
  const maxRounds = Number(process.env.BENCH_COLD_START_ROUNDS ?? 96);
  const budgetMs = Number(process.env.BENCH_COLD_START_BUDGET_S ?? 90) * 1000;
  let rounds = 0;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cold-start-'));
  const loadStart = os.loadavg()[0]!;
  const files = {} as Record<Bundle, string>;
  const size = {} as Record<Side, { bytes: number; deflated: number; fileCount: number; name: string }>;
  try {
    console.log('  synthesizing bench/cold-start/app.ts ...');
    const fns = synthesize(path.join(tmp, 'cdk.out'));
    fs.rmSync(STAGE, { recursive: true, force: true });
    for (const side of SIDES) {
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

  const samples = Object.fromEntries(SIDES.map((b) => [b, [] as Sample[]])) as Record<Bundle, Sample[]>;
  const bundles = SIDES;
  for (let i = 0; i < 3; i++) for (const b of bundles) importOnce(files[b], b); // page cache, untimed
  const importsFrom = Date.now();
  for (let i = 0; i < maxRounds; i++) {
    // Stop only after whole cycles of the rotation, so that every bundle took every place in it equally often.
    if (i >= 12 && i % SIDES.length === 0 && Date.now() - importsFrom > budgetMs) break;
    rounds = i + 1;
    // Rotate the order every round, so that no bundle always runs first or after the same one.
    for (let k = 0; k < bundles.length; k++) {
      const b = bundles[(k + i) % bundles.length]!;
      samples[b].push(importOnce(files[b], b));
    }
  }
  const loadEnd = os.loadavg()[0]!;
  // With both extra settings NodejsFunction may build ours byte for byte: then their difference is the noise.
  const sameBundle = fs.readFileSync(files.tunedBoth).equals(fs.readFileSync(files.ours));
  fs.rmSync(STAGE, { recursive: true, force: true });

  const wall = Object.fromEntries(SIDES.map((b) => [b, summarize(samples[b].map((x) => x.ms))])) as Record<Side, ReturnType<typeof summarize>>;
  const cpu = Object.fromEntries(SIDES.map((b) => [b, summarize(samples[b].map((x) => x.cpuMs))])) as Record<Side, ReturnType<typeof summarize>>;
  const figures = (side: Side): Record<string, number> => ({
    'bundle size (bytes)': size[side].bytes,
    'bundle size deflated (bytes)': size[side].deflated,
    'files loaded at import': samples[side][0]!.files,
    'JavaScript loaded at import (bytes)': samples[side][0]!.bytes,
    'import median (ms)': r1(wall[side].median),
    'import min (ms)': r1(wall[side].min),
    'import max (ms)': r1(wall[side].max),
    'import CPU median (ms)': r1(cpu[side].median),
  });
  const figs = Object.fromEntries(SIDES.map((b) => [b, figures(b)])) as Record<Side, Record<string, number>>;
  const ratios = Object.fromEntries(Object.keys(figs.ours).map((k) => [k, r3(figs.ours[k]! / figs.tuned[k]!)]));
  const speedup = wall.tuned.median / wall.ours.median;
  const cpuSpeedup = cpu.tuned.median / cpu.ours.median;
  const vsDefaults = cpu.peer.median / cpu.ours.median;
  const vs = (side: Side) => cpu[side].median / cpu.ours.median;
  const kb = (n: number) => `${Math.round(n / 1024)} KiB`;

  return {
    title: 'Worker cold start: the bundled job handler',
    summary:
      `Against NodejsFunction as a careful user sets it (\`minify: true, bundleAwsSDK: true\`), our handler loads with ${cpuSpeedup.toFixed(2)}x less CPU time (${cpu.ours.median.toFixed(1)} ms vs ${cpu.tuned.median.toFixed(1)} ms; wall medians ${wall.ours.median.toFixed(1)} ms vs ${wall.tuned.median.toFixed(1)} ms, ${speedup.toFixed(2)}x), and ${vsDefaults.toFixed(2)}x less than NodejsFunction at its defaults. ` +
      `Where it comes from, on the tuned NodejsFunction: \`mainFields: ['module', 'main']\` alone (esbuild takes the SDK's ES module builds, which it can tree-shake) brings it to ${cpu.tunedModuleFirst.median.toFixed(1)} ms, so ours is ${vs('tunedModuleFirst').toFixed(2)}x that; \`externalModules\` naming the credential providers Lambda never loads alone brings it to ${cpu.tunedNoProviders.median.toFixed(1)} ms (ours ${vs('tunedNoProviders').toFixed(2)}x); both together to ${cpu.tunedBoth.median.toFixed(1)} ms (ours ${vs('tunedBoth').toFixed(2)}x). ` +
      (sameBundle
        ? `With both, NodejsFunction builds the same bundle as ours, byte for byte (${kb(size.ours.bytes)}): the ${vs('tunedBoth').toFixed(2)}x between those two identical files is this measurement's own noise, the scale against which the other ratios are to be read. `
        : `With both, its bundle is ${kb(size.tunedBoth.bytes)} against ours ${kb(size.ours.bytes)}. `) +
      'Both are documented NodejsFunction settings: a user who sets both gets what the catalog gets; what the catalog adds is that every handler has them without asking.',
    method:
      'bench/cold-start/app.ts synthesizes one stack with the demo job handler (lambda/work-queue/demo-job.ts) six times: a LambdaWorker with `entry` (ours); ' +
      '`new NodejsFunction(this, \'F\', { entry, runtime: NODEJS_24_X, bundling: { minify: true, bundleAwsSDK: true } })` (tuned: the peer); the same at its defaults; and, to attribute the difference, tuned plus `mainFields: [\'module\', \'main\']` alone, tuned plus `externalModules` naming the credential providers alone, and tuned plus both. ' +
      `All asset folders are taken from that cloud assembly. Import time: ${rounds} fresh \`node\` processes per bundle (as many whole cycles of the rotation as fit in ${budgetMs / 1000} s, at least 12 rounds, at most ${maxRounds}), interleaved (the order rotates every round, so each bundle takes each place equally often, after 3 untimed rounds), each timing only ` +
      '`import()` (.mjs) or `require` (.js) of the handler file and its top-level code (bench/cold-start/import-time.mjs).',
    repetitions: rounds,
    ours: { label: `ours: LambdaWorker with entry (${size.ours.name}, ${moduleKind(size.ours.name)})`, figures: figs.ours },
    peer: { label: 'NodejsFunction, minify + bundleAwsSDK', figures: figs.tuned },
    otherPeers: [
      { label: 'NodejsFunction defaults (@aws-sdk/* from the runtime)', figures: figs.peer },
      { label: 'minify + bundleAwsSDK + mainFields module first (attribution)', figures: figs.tunedModuleFirst },
      { label: 'minify + bundleAwsSDK + providers external (attribution)', figures: figs.tunedNoProviders },
      { label: 'minify + bundleAwsSDK + mainFields + providers external (both)', figures: figs.tunedBoth },
    ],
    ratioNote: 'ratio: ours / minify + bundleAwsSDK',
    ratios,
    order: `interleaved: every bundle imported once per round in fresh \`node\` processes, the order rotating by one every round (round i starts with bundle i mod ${SIDES.length} of ${SIDES.join(', ')}), after 3 untimed rounds`,
    goals: GOALS.map((g) => ({
      goal: `${g.text} (stated ${g.stated}, before the runs it is judged on)`,
      measured: `${vs(g.peer).toFixed(2)}x (CPU median ${cpu.ours.median.toFixed(1)} ms vs ${cpu[g.peer].median.toFixed(1)} ms; wall ${(wall[g.peer].median / wall.ours.median).toFixed(2)}x, ${wall.ours.median.toFixed(1)} ms vs ${wall[g.peer].median.toFixed(1)} ms)`,
      met: vs(g.peer) >= g.ratio,
    })),
    notes: [
      `No goal is set against the attribution columns: they show what each documented setting does on its own and together (ours against mainFields alone ${vs('tunedModuleFirst').toFixed(2)}x, against the providers alone ${vs('tunedNoProviders').toFixed(2)}x, against both ${vs('tunedBoth').toFixed(2)}x), so a reader can judge the goals against a user who knows them.`,
      'Lower is better; the ratio column is ours / the tuned NodejsFunction. The goal is judged on CPU time: on this shared machine a wall time is mostly the wait for a core; loading a module from the page cache is CPU work, and on an idle machine its wall time is close to its CPU time.',
      `Ours is CommonJS with the AWS SDK bundled and minified, except the credential providers Lambda never loads (${LAMBDA_UNUSED_SDK_MODULES.join(', ')}), which stay external (lib/core/bundling.ts): ${kb(size.ours.bytes)} against ${kb(size.tuned.bytes)} for the tuned peer. bench/cold-start/variants.ts times each choice alone.`,
      'Lambda sets credentials in environment variables, which the SDK\'s default chain reads first, so it never loads the left-out providers; the tuned peer parses them at every cold start. A user can do the same with `externalModules` (an attribution column).',
      'The defaults bundle leaves `@aws-sdk/*` to the Lambda runtime. Here it is loaded from the repo\'s node_modules (the bundles are copied to node_modules/.cache/cdk-cloud-patterns/bench/cold-start/, so resolution walks up to it): the same SDK version that ours bundles, not the runtime\'s copy. "files/JavaScript loaded at import" counts what that load read.',
      `Local Node.js ${process.version}, while the functions target nodejs24.x; files come from the page cache (warm), unlike a fresh Lambda sandbox, which favours the defaults' many small files.`,
      'Only module load and top-level code are timed (what Lambda bills as init after the runtime starts); the first invocation\'s work (Powertools processor, idempotency setup) is not.',
      `Shared machine (2 cores, other engineers' builds and tests at the same time): 1-minute load average ${loadStart.toFixed(1)} at start, ${loadEnd.toFixed(1)} at end; CPU times are less sensitive to that load than wall times. The synth runs with CDK_VALIDATION=false (it checks templates, not bundles).`,
    ],
  };
}
