/**
 * `npm run bench -- render-farm`: how long a 16-tile render takes in the local cloud from submit
 * to finished, with the fleet held to 1 worker and allowed up to 4, alternating (and which goes
 * first alternating too), several repetitions each (scripts/render-farm-timings.ts, through the
 * web app's API as the page calls it). The figures behind the README's render-farm timings.
 *
 * No peer and no goal: it compares two settings of the same farm on a 2-core machine, where four
 * workers cannot compute more than two tiles at once. What it may say is decided by the ranges:
 * when they overlap, the difference is reported as not shown, not as a speed-up.
 *
 * Knob: BENCH_RENDER_FARM_PAIRS (default 5).
 */
import * as os from 'os';
import { renderFarmTimings } from '../scripts/render-farm-timings';
import type { BenchOutcome } from './lib/results';
import { spread, type Spread } from './lib/stats';

const PAIRS = Number(process.env.BENCH_RENDER_FARM_PAIRS ?? 5);

export async function run(): Promise<BenchOutcome> {
  const loads: number[] = [];
  const t = await renderFarmTimings(PAIRS, (line) => {
    loads.push(Math.round(os.loadavg()[0]! * 100) / 100);
    console.log(`  ${line}`);
  });
  const one = spread(t.times[1]);
  const four = spread(t.times[4]);
  const s = (ms: number) => Math.round(ms / 100) / 10;
  const figures = (x: Spread): Record<string, number> => ({
    'submitted to finished, median (s)': s(x.median),
    'lowest (s)': s(x.min),
    'lower quartile (s)': s(x.q1),
    'upper quartile (s)': s(x.q3),
    'highest (s)': s(x.max),
  });
  // Per pair: the render with 1 worker over the one with up to 4 next to it.
  const perPair = spread(t.times[1].map((ms, i) => ms / t.times[4][i]!));
  const overlap = Math.max(one.min, four.min) <= Math.min(one.max, four.max);
  const middleOverlap = Math.max(one.q1, four.q1) <= Math.min(one.q3, four.q3);
  const verdict = !overlap
    ? `the ranges do not overlap: up to 4 workers was ${four.max < one.min ? 'faster' : 'slower'} in every repetition`
    : middleOverlap
      ? 'the ranges overlap, their middle halves too: this run shows no difference between the two settings'
      : 'the ranges overlap but their middle halves do not: a difference is likely, not shown in every repetition';
  return {
    title: 'Render farm: a 16-tile render in the local cloud, the fleet held to 1 worker and allowed up to 4',
    summary:
      `Submitted to finished, median of ${PAIRS}: 1 worker ${s(one.median)} s (${s(one.min)}-${s(one.max)} s), up to 4 workers ${s(four.median)} s (${s(four.min)}-${s(four.max)} s); ` +
      `per pair, 1 worker took ${perPair.min.toFixed(2)}x to ${perPair.max.toFixed(2)}x as long (median ${perPair.median.toFixed(2)}x). ${verdict.charAt(0).toUpperCase()}${verdict.slice(1)}.`,
    method:
      `\`npm start -- RenderFarmStack\` (checks skipped) in its own state folder; a user signs in through the web app's API and submits the default fractal (${t.tiles} tiles of ${t.size} x ${t.size} pixels) ${PAIRS} times with the fleet group's maximum set to 1 and ${PAIRS} times with it set to 4 (minimum 0), ` +
      'waiting before each render until no more agents run than the maximum; the time is the render record\'s own, from submit to finished (scripts/render-farm-timings.ts, which `node -r esbuild-register scripts/render-farm-timings.ts [pairs]` also runs on its own).',
    repetitions: PAIRS,
    order: `alternating, which setting goes first alternating every pair: ${t.order.map((o, i) => `pair ${i + 1}: ${o}`).join('; ')}`,
    ours: { label: 'up to 4 workers', figures: figures(four) },
    peer: { label: '1 worker (the same farm, held to one)', figures: figures(one) },
    ratios: Object.fromEntries(Object.keys(figures(four)).map((k) => [k, Math.round((figures(four)[k]! / figures(one)[k]!) * 1000) / 1000])),
    ratioNote: 'ratio: up to 4 / 1 worker',
    goals: [],
    notes: [
      'Lower is better. No goal: the two settings of one farm are compared, not the farm with a peer.',
      `What the ranges allow: ${verdict}.`,
      `On ${os.cpus().length} cores a fleet of four cannot compute more than two tiles at once, and the agents it starts for the render load Node.js meanwhile; on AWS each fleet worker is an instance of its own, which was not measured here.`,
      `1-minute load average as each render ended: ${loads.join(', ')}.`,
    ],
  };
}
