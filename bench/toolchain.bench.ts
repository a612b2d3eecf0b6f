/**
 * Toolchain: how long `cdk synth` of the whole catalog app takes with our runner (esbuild-register,
 * no type-check: cdk.json's `app`) against the `cdk init` default (`npx ts-node --prefer-ts-exts`,
 * which type-checks every file it loads). Same app, same environment, alternating in one run.
 * Then the full test suite (`npm test`) once, ours only.
 *
 * Knobs: BENCH_TOOLCHAIN_RUNS (timed synths per runner, default 5), BENCH_SKIP_TESTS=1 (skip `npm test`).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BenchOutcome } from './lib/results';
import { runTimed, summarize, type Summary } from './toolchain/timing';

const ROOT = path.join(__dirname, '..');
/** What `cdk init app --language typescript` writes into cdk.json. */
const CDK_INIT_APP = 'npx ts-node --prefer-ts-exts bin/app.ts';
const STACK_TEMPLATE = 'WorkQueueStack.template.json';

interface Runner {
  readonly key: 'ours' | 'peer';
  readonly label: string;
  readonly command: string;
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

/** The environment a synth runs in: this one, minus anything that would switch checks off or change the runners. */
function synthEnv(outdir: string, context: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: context };
  for (const k of Object.keys(env)) {
    if (k === 'CDK_NAG' || k === 'CDK_VALIDATION' || k === 'NODE_OPTIONS' || k === 'NODE_COMPILE_CACHE' || k.startsWith('TS_NODE_')) delete env[k];
  }
  return env;
}

function synthOnce(runner: Runner, tmp: string, tag: string, context: string, extraEnv: NodeJS.ProcessEnv = {}): { seconds: number; cpuSeconds: number; template: string } {
  const outdir = path.join(tmp, `${runner.key}-${tag}`);
  const r = runTimed(runner.command, { cwd: ROOT, env: { ...synthEnv(outdir, context), ...extraEnv } });
  if (r.status !== 0) {
    throw new Error(`${runner.label}: \`${runner.command}\` exited with ${r.status}\n${r.stderr.slice(-4000)}`);
  }
  const templateFile = path.join(outdir, STACK_TEMPLATE);
  if (!fs.existsSync(templateFile)) throw new Error(`${runner.label}: no ${STACK_TEMPLATE} in ${outdir}`);
  const template = fs.readFileSync(templateFile, 'utf8');
  fs.rmSync(outdir, { recursive: true, force: true });
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, template };
}

/** `npm test` once: wall and CPU seconds, and the jest summary (or why there is none). */
function testSuite(): { seconds: number; cpuSeconds: number; status: number; summary: string; passed: number; failed: number; load: [number, number] } {
  const loadBefore = os.loadavg()[0]!;
  const r = runTimed('npm test', { cwd: ROOT, env: { ...process.env, CI: 'true' } });
  const text = `${r.stdout}\n${r.stderr}`;
  const line = (text.split('\n').map((l) => l.trim()).find((l) => /^Tests:\s/.test(l)) ?? '').replace(/\s+/g, ' ');
  const count = (word: string) => Number(line.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
  const failedFiles = [...new Set(text.split('\n').map((l) => l.trim().match(/^FAIL\s+(\S+)/)?.[1]).filter((f): f is string => f !== undefined))];
  let summary = failedFiles.length > 0 ? `${line}; failing: ${failedFiles.join(', ')}` : line;
  if (!summary) {
    const tsErrors = text.split('\n').filter((l) => /error TS\d+/.test(l));
    summary = tsErrors.length > 0
      ? `typecheck failed before jest ran (${tsErrors.length} error(s), first: ${tsErrors[0]!.trim().slice(0, 200)})`
      : `no jest summary (exit ${r.status}): ${text.trim().split('\n').slice(-3).join(' / ').slice(0, 300)}`;
  }
  return { seconds: r.seconds, cpuSeconds: r.cpuSeconds, status: r.status, summary, passed: count('passed'), failed: count('failed'), load: [loadBefore, os.loadavg()[0]!] };
}

const s2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The cases every round runs for each runner: the app as it is (the goal: cdk-nag on, CDK's
 * built-in validation off, as bin/app.ts sets it), and with CDK_VALIDATION=true, which adds the
 * built-in validation, a cost both runners share.
 */
const CASES = [
  { key: 'default', env: {} as NodeJS.ProcessEnv },
  { key: 'validation', env: { CDK_VALIDATION: 'true' } as NodeJS.ProcessEnv },
] as const;
type CaseKey = (typeof CASES)[number]['key'];

export async function run(): Promise<BenchOutcome> {
  const runs = Number(process.env.BENCH_TOOLCHAIN_RUNS ?? 5);
  const cdkJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { app: string; context?: Record<string, unknown>; versionReporting?: boolean };
  const context = cliContext(cdkJson);
  const ours: Runner = { key: 'ours', label: 'ours: esbuild-register (cdk.json)', command: cdkJson.app };
  const peer: Runner = { key: 'peer', label: 'peer: cdk init default (ts-node, type-checks)', command: CDK_INIT_APP };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-toolchain-'));
  const loadStart = os.loadavg()[0]!;

  const wall = {} as Record<string, number[]>;
  const cpu = {} as Record<string, number[]>;
  const templates: Record<Runner['key'], Set<string>> = { ours: new Set(), peer: new Set() };
  try {
    // One untimed synth each (disk cache, the handler bundle cache); then alternate, swapping who goes first every round.
    for (const r of [ours, peer]) {
      console.log(`  warm-up: ${r.command}`);
      templates[r.key].add(synthOnce(r, tmp, 'warm', context).template);
    }
    for (let i = 0; i < runs; i++) {
      for (const c of CASES) {
        for (const r of i % 2 === 0 ? [ours, peer] : [peer, ours]) {
          const t = synthOnce(r, tmp, `${c.key}-${i}`, context, c.env);
          (wall[`${r.key} ${c.key}`] ??= []).push(t.seconds);
          (cpu[`${r.key} ${c.key}`] ??= []).push(t.cpuSeconds);
          if (c.key === 'default') templates[r.key].add(t.template);
          console.log(`  run ${i + 1}/${runs} ${c.key} ${r.key}: ${t.seconds.toFixed(2)} s (cpu ${t.cpuSeconds.toFixed(2)} s), load ${os.loadavg()[0]!.toFixed(1)}`);
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const loadSynth = os.loadavg()[0]!;
  const sameTemplate = templates.ours.size === 1 && templates.peer.size === 1 && [...templates.ours][0] === [...templates.peer][0];
  const w = (k: Runner['key'], c: CaseKey): Summary => summarize(wall[`${k} ${c}`]!);
  const u = (k: Runner['key'], c: CaseKey): Summary => summarize(cpu[`${k} ${c}`]!);
  const speedup = w('peer', 'default').median / w('ours', 'default').median;
  const speedupValidation = w('peer', 'validation').median / w('ours', 'validation').median;

  const suite = process.env.BENCH_SKIP_TESTS === '1' ? undefined : (console.log('  npm test ...'), testSuite());
  if (suite) console.log(`  npm test: ${suite.seconds.toFixed(1)} s, ${suite.summary}`);

  const synthFigures = (k: Runner['key']): Record<string, number> => ({
    'synth median (s)': s2(w(k, 'default').median),
    'synth min (s)': s2(w(k, 'default').min),
    'synth max (s)': s2(w(k, 'default').max),
    'synth CPU median (s)': s2(u(k, 'default').median),
    'synth with CDK_VALIDATION=true, median (s)': s2(w(k, 'validation').median),
    'synth with CDK_VALIDATION=true, min (s)': s2(w(k, 'validation').min),
    'synth with CDK_VALIDATION=true, max (s)': s2(w(k, 'validation').max),
    'synth with CDK_VALIDATION=true, CPU median (s)': s2(u(k, 'validation').median),
  });
  const oursFigures = synthFigures('ours');
  const peerFigures = synthFigures('peer');
  const ratios = Object.fromEntries(Object.keys(oursFigures).map((k) => [k, Math.round((oursFigures[k]! / peerFigures[k]!) * 1000) / 1000]));
  if (suite) {
    oursFigures['npm test wall (s)'] = s2(suite.seconds);
    oursFigures['npm test CPU (s)'] = s2(suite.cpuSeconds);
    if (suite.passed + suite.failed > 0) {
      oursFigures['tests passed'] = suite.passed;
      oursFigures['tests failed'] = suite.failed;
    }
  }
  const goals = [
    {
      goal: 'synth of the whole app (as cdk.json runs it: cdk-nag on) at least 3x faster than the cdk init default',
      measured: `${speedup.toFixed(2)}x (median ${w('ours', 'default').median.toFixed(2)} s vs ${w('peer', 'default').median.toFixed(2)} s; CPU time ${(u('peer', 'default').median / u('ours', 'default').median).toFixed(2)}x); with CDK_VALIDATION=true ${speedupValidation.toFixed(2)}x`,
      met: speedup >= 3,
    },
  ];
  if (suite) {
    goals.push({ goal: '`npm test` under 3 minutes on this 2-core machine', measured: `${suite.seconds.toFixed(1)} s (${suite.summary}, exit ${suite.status})`, met: suite.seconds < 180 && suite.status === 0 });
  }
  const sharedCpu = u('ours', 'validation').median - u('ours', 'default').median;

  return {
    title: 'Toolchain: synth of the whole app, and the test suite',
    method:
      'Each runner executes bin/app.ts the way the CDK CLI does (the app command in a shell, CDK_OUTDIR to a fresh temp dir, the context the CLI passes), with the app\'s defaults: ' +
      `the cdk-nag packs on, CDK's built-in template validation off (bin/app.ts: cfn-lint checks the templates in the tests). One untimed warm-up each, then ${runs} rounds, alternating (who goes first swaps every round); ` +
      'each round also runs both with CDK_VALIDATION=true, which adds the built-in validation, a cost both share. ' +
      'Wall seconds per synth (median, min, max) and the CPU seconds of the app\'s process tree. Then `npm test` (typecheck + jest) once, wall time.',
    ours: { label: ours.label, figures: oursFigures },
    peer: { label: peer.label, figures: peerFigures },
    ratios,
    goals,
    notes: [
      `Ratios are ours / peer: lower is better for ours. Ours: \`${ours.command}\`; peer: \`${peer.command}\` (ts-node 10.9.2, typescript 5.9.3, the repo's tsconfig.json as is: no tweak was needed).`,
      `Both runners produced ${sameTemplate ? 'byte-identical' : 'DIFFERENT'} ${STACK_TEMPLATE} in every run with defaults.`,
      `Both pay the same costs that are not the TypeScript runner: loading aws-cdk-lib, bundling the handlers with esbuild, cdk-nag. CDK's built-in CloudFormation validation (@aws/cloudformation-validate, a WebAssembly engine) would add about ${sharedCpu.toFixed(1)} CPU seconds to each (medians with and without it), which is why bin/app.ts leaves it to CDK_VALIDATION=true; with it the ratio is ${speedupValidation.toFixed(1)}x.`,
      `Machine shared with other engineers' test runs: 1-minute load average ${loadStart.toFixed(1)} at start, ${loadSynth.toFixed(1)} after the synths${suite ? `, ${suite.load[0].toFixed(1)} -> ${suite.load[1].toFixed(1)} around npm test` : ''} (2 cores). CPU seconds are less sensitive to that load than wall seconds.`,
      suite
        ? `\`npm test\` ran once (typecheck with its incremental cache, then jest with 2 workers, emulators included): ${suite.summary}. No peer for it: there is no other test setup of this project to compare with.`
        : '`npm test` skipped (BENCH_SKIP_TESTS=1).',
    ],
  };
}
