/**
 * Synth: how long the catalog app takes to synthesize with our runner (esbuild-register, no
 * type-check: cdk.json's `app`) against the peers a user would otherwise have, same app, same
 * environment, interleaved in one run:
 * - what `cdk init` writes: `npx ts-node --prefer-ts-exts bin/app.ts` (type-checks every file);
 * - what a careful user sets up: ts-node transpile-only with swc, in the same `node -r` form as ours;
 * - the floor: the app precompiled to JavaScript (esbuild, file by file) and run by plain `node`.
 * The app's own time (the app command as the CLI runs it) and the whole `npx cdk synth`, whose
 * difference is the CLI's share, which every runner pays alike.
 *
 * Rounds: at least 2 and at most BENCH_TOOLCHAIN_RUNS (default 5), as many as fit in
 * BENCH_TOOLCHAIN_BUDGET_S seconds (default 240; the machine is shared, and a loaded one is slow).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BenchOutcome } from './lib/results';
import { runTimed, summarize, type Summary } from './toolchain/timing';

const ROOT = path.join(__dirname, '..');
/** What `cdk init app --language typescript` writes into cdk.json. */
const CDK_INIT_APP = 'npx ts-node --prefer-ts-exts bin/app.ts';
/** cdk init's command with ts-node's `--swc` (transpile-only through @swc/core), without npx's own start-up. */
const TS_NODE_SWC_APP = 'node_modules/.bin/ts-node --swc --prefer-ts-exts bin/app.ts';
/**
 * The precompiled app: a copy of the sources outside the repo with a `node_modules` link to the
 * repo's, so that requires resolve as in the repo. (Not under node_modules/.cache: esbuild
 * bundles a handler found inside a node_modules folder differently, a larger bundle.)
 */
const FLOOR_DIR = path.join(os.tmpdir(), `bench-synth-floor-${process.pid}`);
const FLOOR_APP = `node ${path.join(FLOOR_DIR, 'bin', 'app.js')}`;
/** Source folders the app loads (and the handler sources it bundles), copied with the compiled files. */
const SOURCE_DIRS = ['bin', 'lib', 'lambda', 'apps', 'runtime', 'contracts', 'local'];
const STACK_TEMPLATE = 'WorkQueueStack.template.json';

type Key = 'ours' | 'swc' | 'init' | 'floor';
interface Runner {
  readonly key: Key;
  readonly label: string;
  readonly command: string;
  /** Also timed through the CDK CLI (`npx cdk synth --app <command>`). */
  readonly viaCli: boolean;
}

/** The context the CDK CLI passes to an app on `cdk synth` (cdk.json's context plus the CLI's own keys). */
function cliContext(cdkJson: { context?: Record<string, unknown>; versionReporting?: boolean }): string {
  return JSON.stringify({
    ...cdkJson.context,
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:enable-asset-metadata': true,
    'aws:cdk:version-reporting': cdkJson.versionReporting ?? true,
    'aws:cdk:bundling-stacks': ['**'],
  });
}

/** This environment, minus anything that would switch checks off or change the runners. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of Object.keys(env)) {
    if (k === 'CDK_NAG' || k === 'CDK_VALIDATION' || k === 'NODE_OPTIONS' || k === 'NODE_COMPILE_CACHE' || k.startsWith('TS_NODE_') || k.startsWith('CDK_OUTDIR')) delete env[k];
  }
  return { ...env, ...extra };
}

/** Copies the app's sources into FLOOR_DIR and compiles every .ts there to a .js beside it. */
export function buildFloor(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  fs.rmSync(FLOOR_DIR, { recursive: true, force: true });
  const entries: string[] = [];
  for (const dir of SOURCE_DIRS) {
    const from = path.join(ROOT, dir);
    if (!fs.existsSync(from)) continue;
    fs.cpSync(from, path.join(FLOOR_DIR, dir), { recursive: true, filter: (src) => !src.split(path.sep).includes('node_modules') });
    for (const e of fs.readdirSync(path.join(FLOOR_DIR, dir), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) entries.push(path.join(e.parentPath, e.name));
    }
  }
  // What `tsc` would emit for tsconfig.json (CommonJS, ES2022), without the type-check: the app as a user runs it after a build.
  esbuild.buildSync({ entryPoints: entries, outdir: FLOOR_DIR, outbase: FLOOR_DIR, bundle: false, format: 'cjs', platform: 'node', target: 'es2022', logLevel: 'warning' });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(FLOOR_DIR, 'node_modules'), 'dir');
  // esbuild reads these when it bundles the handlers (tsconfig's strictness adds "use strict").
  for (const f of ['package.json', 'tsconfig.json', 'cdk.json']) fs.copyFileSync(path.join(ROOT, f), path.join(FLOOR_DIR, f));
}

interface Timing { readonly seconds: number; readonly cpuSeconds: number; readonly template: string }

function synthOnce(runner: Runner, viaCli: boolean, outdir: string, context: string): Timing {
  const command = viaCli ? `npx cdk synth --all --quiet --app '${runner.command}' --output '${outdir}'` : runner.command;
  const env = viaCli ? cleanEnv({}) : cleanEnv({ CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: context });
  const r = runTimed(command, { cwd: ROOT, env });
  if (r.status !== 0) throw new Error(`${runner.label}: \`${command}\` exited with ${r.status}\n${r.stderr.slice(-4000)}`);
  const templateFile = path.join(outdir, STACK_TEMPLATE);
  if (!fs.existsSync(templateFile)) throw new Error(`${runner.label}: no ${STACK_TEMPLATE} in ${outdir}`);
  const template = fs.readFileSync(templateFile, 'utf8');
  fs.rmSync(outdir, { recursive: true, force: true });
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, template };
}

const s2 = (n: number) => Math.round(n * 100) / 100;
const r3 = (n: number) => Math.round(n * 1000) / 1000;

export async function run(): Promise<BenchOutcome> {
  const maxRounds = Number(process.env.BENCH_TOOLCHAIN_RUNS ?? 5);
  const budgetMs = Number(process.env.BENCH_TOOLCHAIN_BUDGET_S ?? 240) * 1000;
  const startedAt = Date.now();
  let rounds = 0;
  const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { app: string; context?: Record<string, unknown>; versionReporting?: boolean };
  const context = cliContext(cdkJson);
  const runners: Runner[] = [
    { key: 'ours', label: 'ours: esbuild-register (cdk.json)', command: cdkJson.app, viaCli: true },
    { key: 'swc', label: 'careful: ts-node transpile-only with swc', command: TS_NODE_SWC_APP, viaCli: true },
    { key: 'init', label: 'cdk init default: ts-node, type-checks', command: CDK_INIT_APP, viaCli: false },
    { key: 'floor', label: 'floor: the app precompiled to JavaScript', command: FLOOR_APP, viaCli: false },
  ];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const app: Record<Key, Timing[]> = { ours: [], swc: [], init: [], floor: [] };
  const cli: Partial<Record<Key, Timing[]>> = {};
  const templates = new Map<string, Set<string>>();
  const loadByRound: number[] = [];
  let runNo = 0;
  try {
    console.log('  compiling the floor ...');
    buildFloor();
    // One untimed synth each (disk cache, handler bundles); then rounds, the order rotating every round.
    // cdk init's runner gets none: it reads the same files, caches nothing, and costs about 20 CPU seconds a run.
    for (const r of runners.filter((x) => x.key !== 'init')) {
      console.log(`  warm-up: ${r.command}`);
      synthOnce(r, false, path.join(tmp, `warm-${r.key}`), context);
    }
    const roundsFrom = Date.now();
    for (let i = 0; i < maxRounds; i++) {
      // Stop when another round (as long as the mean one so far) would overrun the budget.
      if (i >= 2 && Date.now() - startedAt + (Date.now() - roundsFrom) / i > budgetMs) break;
      rounds = i + 1;
      const order = runners.map((_, k) => runners[(k + i) % runners.length]!);
      for (const viaCli of [false, true]) {
        for (const r of order) {
          if (viaCli && !r.viaCli) continue;
          const t = synthOnce(r, viaCli, path.join(tmp, `${r.key}-${runNo++}`), context);
          (viaCli ? (cli[r.key] ??= []) : app[r.key]).push(t);
          const group = `${r.key}${viaCli ? ' via the CLI' : ''}`;
          if (!templates.has(group)) templates.set(group, new Set());
          templates.get(group)!.add(t.template);
          console.log(`  round ${i + 1} ${viaCli ? 'npx cdk synth' : 'app'} ${r.key}: ${t.seconds.toFixed(2)} s (CPU ${t.cpuSeconds.toFixed(2)} s), load ${os.loadavg()[0]!.toFixed(1)}`);
        }
      }
      loadByRound.push(s2(os.loadavg()[0]!));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(FLOOR_DIR, { recursive: true, force: true });
  }
  const distinct = new Set([...templates.values()].flatMap((s) => [...s]));
  const sameTemplate = distinct.size === 1;
  const reference = [...(templates.get('ours') ?? [])][0];
  const differing = [...templates.entries()].filter(([, set]) => set.size > 1 || [...set][0] !== reference).map(([g]) => g);

  const wall = (ts: Timing[]): Summary => summarize(ts.map((t) => t.seconds));
  const cpu = (ts: Timing[]): Summary => summarize(ts.map((t) => t.cpuSeconds));
  const appMedian = (k: Key) => wall(app[k]).median;
  const cliMedian = (k: Key) => wall(cli[k]!).median;
  // The CLI's share: the whole `npx cdk synth` less the app alone, per runner timed both ways (the same work for every runner).
  const shares = runners.filter((r) => r.viaCli).map((r) => cliMedian(r.key) - appMedian(r.key));
  const cliShare = summarize(shares).median;
  const cliShareCpu = summarize(runners.filter((r) => r.viaCli).map((r) => cpu(cli[r.key]!).median - cpu(app[r.key]).median)).median;

  const figures = (k: Key): Record<string, number> => {
    const f: Record<string, number> = {
      'app alone, median (s)': s2(appMedian(k)),
      'app alone, min (s)': s2(wall(app[k]).min),
      'app alone, max (s)': s2(wall(app[k]).max),
      'app alone, CPU median (s)': s2(cpu(app[k]).median),
    };
    if (cli[k]) {
      f['whole `npx cdk synth`, median (s)'] = s2(cliMedian(k));
      f['whole `npx cdk synth`, CPU median (s)'] = s2(cpu(cli[k]!).median);
      f["the CLI's share: whole synth less the app alone (s)"] = s2(cliMedian(k) - appMedian(k));
      f["the CLI's share, CPU (s)"] = s2(cpu(cli[k]!).median - cpu(app[k]).median);
    } else {
      // Not timed through the CLI: the app alone plus the CLI's median share.
      f['whole `npx cdk synth`, median (s)'] = s2(appMedian(k) + cliShare);
      f['whole `npx cdk synth`, CPU median (s)'] = s2(cpu(app[k]).median + cliShareCpu);
    }
    return f;
  };
  const figs = Object.fromEntries(runners.map((r) => [r.key, figures(r.key)])) as Record<Key, Record<string, number>>;
  // Ratios against the careful setup (lower is better for ours); the floor and cdk init columns are for reading across.
  const ratios = Object.fromEntries(Object.keys(figs.ours).map((n) => [n, r3(figs.ours[n]! / figs.swc[n]!)]));

  // Goals are judged on CPU seconds: on a machine shared by several engineers, wall time mostly
  // measures the wait for a core; every runner here does the same work but the TypeScript step.
  const appCpu = (k: Key) => cpu(app[k]).median;
  const cliCpu = (k: Key) => cpu(cli[k]!).median;
  const vsSwc = appCpu('swc') / appCpu('ours');
  const vsFloor = appCpu('ours') / appCpu('floor');
  const vsInit = appCpu('init') / appCpu('ours');
  const wholeVsSwc = cliCpu('swc') / cliCpu('ours');
  const wholeVsInit = (appCpu('init') + cliShareCpu) / cliCpu('ours');
  const wallVsSwc = appMedian('swc') / appMedian('ours');
  const wallVsFloor = appMedian('ours') / appMedian('floor');
  const signed = (x: number) => `${x >= 1 ? '+' : '-'}${Math.abs(Math.round((x - 1) * 100))}%`;

  return {
    title: 'Synth: the catalog app, against ts-node (cdk init), ts-node with swc, and precompiled JavaScript',
    summary:
      `No 5x here: against the careful setup (ts-node transpile-only with swc) the app alone ${Math.abs(vsSwc - 1) <= 0.05 ? 'is at parity in CPU time' : vsSwc > 1 ? `needs ${vsSwc.toFixed(2)}x less CPU time` : `needs ${(1 / vsSwc).toFixed(2)}x more CPU time`} (${appCpu('ours').toFixed(2)} s vs ${appCpu('swc').toFixed(2)} s; wall medians ${appMedian('ours').toFixed(2)} s vs ${appMedian('swc').toFixed(2)} s), ` +
      `and the whole \`npx cdk synth\` ${wholeVsSwc.toFixed(2)}x, because the CLI's own share (about ${cliShareCpu.toFixed(1)} CPU s, ${cliShare.toFixed(1)} s wall) is the same for every runner. ` +
      `Against the floor (the app precompiled to JavaScript) our runner costs ${signed(vsFloor)} CPU time. ` +
      `The large ratio is only against what \`cdk init\` gives (ts-node type-checking every file it loads): ${vsInit.toFixed(1)}x for the app, ${wholeVsInit.toFixed(1)}x for the whole synth; ` +
      'that comes from not type-checking at synth, which `npm test` (tsc --noEmit) does instead.',
    method:
      "Each runner executes bin/app.ts as the CDK CLI does (the app command in a shell, CDK_OUTDIR to a fresh temp dir, the context the CLI passes), with the app's defaults: the cdk-nag packs on, CDK's built-in template validation off (bin/app.ts). " +
      `The floor is the same sources compiled file by file to CommonJS JavaScript (esbuild, what \`tsc\` emits without the type-check) in a temp folder with a link to the repo's node_modules, run by \`node bin/app.js\`. One untimed warm-up each (not for cdk init's, which caches nothing), then ${rounds} rounds (as many as fit in ${budgetMs / 1000} s, at least 2, at most ${maxRounds}), the order rotating every round. ` +
      'Each round times the app alone (all four) and then the whole `npx cdk synth --all --quiet --app <command>` (ours and swc); the CLI\'s share is the whole synth less the app alone, and for the floor and cdk init is taken as the median share of those two. ' +
      "Wall seconds (median, min, max) and the CPU seconds of the whole process tree (bash's `times`).",
    repetitions: rounds,
    order: `interleaved: each round runs every runner's app once (${runners.map((r) => r.key).join(', ')}, the order rotating by one every round), then the whole synth of ours and swc in the same order; cdk init's runner had no warm-up, the others one each`,
    ours: { label: runners[0]!.label, figures: figs.ours },
    peer: { label: `${runners[1]!.label}`, figures: figs.swc },
    otherPeers: [
      { label: runners[3]!.label, figures: figs.floor },
      { label: runners[2]!.label, figures: figs.init },
    ],
    ratioNote: 'ratio: ours / careful (swc)',
    ratios,
    goals: [
      {
        goal: 'the app synthesizes faster than with the careful setup (ts-node transpile-only with swc), in CPU time',
        measured: `${vsSwc.toFixed(2)}x less CPU (median ${appCpu('ours').toFixed(2)} s vs ${appCpu('swc').toFixed(2)} s; wall ${wallVsSwc.toFixed(2)}x); whole \`npx cdk synth\` ${wholeVsSwc.toFixed(2)}x`,
        met: vsSwc > 1,
      },
      {
        goal: 'the app within 10% of the floor (precompiled JavaScript), in CPU time',
        measured: `${signed(vsFloor)} CPU (median ${appCpu('ours').toFixed(2)} s vs ${appCpu('floor').toFixed(2)} s; wall ${signed(wallVsFloor)})`,
        met: vsFloor <= 1.1,
      },
    ],
    notes: [
      'Lower is better. The ratio column is ours / the careful setup. The goals are judged on CPU seconds (the whole process tree): on this shared machine a wall time is mostly the wait for a core, and every runner does the same work but its TypeScript step; on an idle machine the app\'s wall time is close to its CPU time.',
      `Commands: ours \`${cdkJson.app}\`; careful \`${TS_NODE_SWC_APP}\` (ts-node 10.9.2 with @swc/core 1.16; cdk init's command with \`--swc\`, but without npx, which would add its own start-up of about a second of CPU); cdk init \`${CDK_INIT_APP}\` (typescript 5.9.3, the repo's tsconfig.json as is); floor \`${FLOOR_APP}\`.`,
      'The floor\'s and cdk init\'s "whole `npx cdk synth`" rows are estimates: their app alone plus the CLI\'s median share measured with ours and swc (the CLI does the same work whatever the app command).',
      sameTemplate
        ? `Every runner produced a byte-identical ${STACK_TEMPLATE} in every run.`
        : `${STACK_TEMPLATE} came out DIFFERENT: ${distinct.size} distinct versions; differing from ours: ${differing.join(', ')}.`,
      'What no runner avoids: loading aws-cdk-lib, bundling the handlers and the agent program with esbuild, cdk-nag, writing the assembly. The TypeScript runner is what differs, and with transpile-only runners that is a small part of the whole.',
      `Shared machine (2 cores, other engineers' builds and tests at the same time): 1-minute load average after each round ${loadByRound.join(', ')}. Wall seconds move with it; the rotating order keeps the ratios fair, and CPU seconds are steadier.`,
    ],
  };
}
