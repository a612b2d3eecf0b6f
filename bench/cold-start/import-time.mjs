// Loads one handler bundle the way the Lambda Node.js runtime does (`import()` for .mjs,
// `require` for .js/.cjs) in this fresh process, and prints, as one JSON line:
// - ms: wall time of the load and the module's top-level code only (not Node's own start);
// - cpuMs: CPU time of this process over the same span (less sensitive to other load);
// - files, bytes: the JavaScript files the load read (the bundle, plus any CommonJS module it
//   required from node_modules), counted after the timed span.
// Usage: node import-time.mjs <bundle file> [export name]
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [given, exportName = 'handler'] = process.argv.slice(2);
const file = resolve(given);
const cpu = process.cpuUsage();
const start = performance.now();
const mod = file.endsWith('.mjs') ? await import(pathToFileURL(file).href) : createRequire(file)(file);
const ms = performance.now() - start;
const used = process.cpuUsage(cpu);
if (typeof mod[exportName] !== 'function') throw new Error(`${file} exports no function ${exportName}`);
const loaded = new Set([file, ...Object.keys(createRequire(import.meta.url).cache)]);
let bytes = 0;
for (const f of loaded) bytes += statSync(f).size;
process.stdout.write(`${JSON.stringify({ ms, cpuMs: (used.user + used.system) / 1000, files: loaded.size, bytes })}\n`);
