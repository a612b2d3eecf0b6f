/**
 * `npm run bench [-- name ...]`: runs the benchmarks (every bench/<name>.bench.ts but those run
 * on request only, or the ones named), writes bench/results/<name>.json and regenerates
 * docs/benchmarks.md.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadAverage, writeDoc, writeResult, type BenchOutcome } from './lib/results';
import { MissingBenchToolError } from './lib/tools';

/**
 * Run only when named: `test-suite` runs the whole `npm test`, minutes of both cores on a
 * machine shared with others, and has no peer to interleave with.
 */
const ON_REQUEST = ['test-suite'];

async function main() {
  const all = fs.readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = asked.filter((a) => !all.includes(a));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}. Known: ${all.join(', ')}`);
    process.exit(2);
  }
  const failed: string[] = [];
  for (const name of asked.length > 0 ? asked : all.filter((n) => !ON_REQUEST.includes(n))) {
    console.log(`\n=== ${name}`);
    // require, not import(): esbuild-register compiles TypeScript on require only.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(__dirname, `${name}.bench.ts`)) as { run(): Promise<BenchOutcome> };
    const started = { load: loadAverage(), at: Date.now() };
    console.log(`  load average ${started.load.join(' ')}`);
    let outcome: BenchOutcome;
    try {
      outcome = await mod.run();
    } catch (e) {
      // A missing tool is one line; anything else with its stack. The other benchmarks still run.
      const line = e instanceof MissingBenchToolError ? e.message : `${name} failed: ${(e as Error).stack ?? String(e)}`;
      console.error(line);
      failed.push(e instanceof MissingBenchToolError ? e.message : `${name} failed: ${(e as Error).message}`);
      continue;
    }
    const result = writeResult(name, outcome, started);
    console.log(`  ${result.durationSeconds} s, load average ${result.load.end.join(' ')} at end`);
    for (const g of result.goals) console.log(`  ${g.met ? 'met ' : 'MISS'}  ${g.goal}: ${g.measured}`);
  }
  writeDoc();
  console.log('\nwrote bench/results/ and docs/benchmarks.md');
  if (failed.length > 0) {
    console.error(`\n${failed.length} benchmark(s) did not run to the end (their results were left as they were):\n${failed.join('\n')}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
