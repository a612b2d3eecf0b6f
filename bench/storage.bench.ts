/**
 * `npm run bench -- storage`: uploading a folder of files of mixed sizes, 30% of them
 * duplicates of others, to the same moto: the storage client (`putFile`, content-addressed)
 * against `aws s3 sync` (the AWS CLI, its default 10 concurrent requests) and a plain
 * PutObject loop (10 at a time), interleaved, several repetitions, each into a fresh bucket.
 * Requests and bytes sent are counted by a proxy in front of moto.
 */
import { execFile } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_AWS_ENV, startMoto } from '../local/moto';
import { SharedStorageClient } from '../runtime/storage';
import { startCountingProxy, type CountingProxy } from '../test/support/fault-proxy';
import type { BenchOutcome } from './lib/results';

const run = promisify(execFile);
const REPS = 3;
const CONCURRENCY = 10; // aws s3 sync's default max_concurrent_requests

/** Runs `fn` on at most `limit` items at once. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** 40 files: 60% of 1-16 KiB, 30% of 64-512 KiB, 10% of 1-3 MiB; 12 of them (30%) copies of others. */
function makeFolder(dir: string): { files: string[]; bytes: number } {
  fs.mkdirSync(dir, { recursive: true });
  const originals: Buffer[] = [];
  const kib = 1024;
  const sizes = [
    ...Array.from({ length: 17 }, (_, i) => (1 + (i % 16)) * kib),
    ...Array.from({ length: 8 }, (_, i) => (64 + i * 64) * kib),
    ...Array.from({ length: 3 }, (_, i) => (1 + i) * 1024 * kib),
  ];
  for (const size of sizes) originals.push(randomBytes(size));
  const contents = [...originals];
  for (let i = 0; i < 12; i++) contents.push(originals[(i * 9) % originals.length]!); // sources spread over every size
  const files = contents.map((c, i) => {
    const file = path.join(dir, `file-${String(i).padStart(2, '0')}.bin`);
    fs.writeFileSync(file, c);
    return file;
  });
  return { files, bytes: contents.reduce((n, c) => n + c.length, 0) };
}

interface Sample { readonly ms: number; readonly requests: number; readonly bytesSent: number }

export async function run_(): Promise<BenchOutcome> {
  const moto = await startMoto();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-storage-'));
  let proxy: CountingProxy | undefined;
  try {
    Object.assign(process.env, LOCAL_AWS_ENV);
    proxy = await startCountingProxy(moto.endpoint);
    const s3 = new S3Client({ endpoint: proxy.endpoint, forcePathStyle: true, region: LOCAL_AWS_ENV.AWS_REGION });
    const folder = path.join(tmp, 'folder');
    const { files, bytes } = makeFolder(folder);
    // The CLI at the settings a careful user keeps: defaults (10 concurrent requests, 8 MiB
    // multipart threshold), path-style addressing for the emulator's single host.
    const cliConfig = path.join(tmp, 'aws-config');
    fs.writeFileSync(cliConfig, '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n');
    const cliEnv = { ...process.env, ...LOCAL_AWS_ENV, AWS_CONFIG_FILE: cliConfig, AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'none') };

    const contenders: Record<string, (bucket: string) => Promise<void>> = {
      ours: async (bucket) => {
        const storage = new SharedStorageClient({ bucket, s3 });
        await pool(files, CONCURRENCY, (f) => storage.putFile(f));
      },
      'aws s3 sync': async (bucket) => {
        await run('aws', ['s3', 'sync', folder, `s3://${bucket}/`, '--endpoint-url', proxy!.endpoint, '--only-show-errors'], { env: cliEnv });
      },
      'PutObject loop': async (bucket) => {
        await pool(files, CONCURRENCY, async (f) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: path.basename(f), Body: await fs.promises.readFile(f) })));
      },
    };
    const names = Object.keys(contenders);
    const samples: Record<string, Sample[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let rep = 0; rep < REPS; rep++) {
      // Interleaved, in a rotating order, each into a bucket of its own.
      for (let k = 0; k < names.length; k++) {
        const name = names[(rep + k) % names.length]!;
        const bucket = `bench-${rep}-${k}-${Date.now()}`;
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        proxy.reset();
        const start = performance.now();
        await contenders[name]!(bucket);
        const ms = performance.now() - start;
        samples[name]!.push({ ms, requests: proxy.counts.requests, bytesSent: proxy.counts.bytesSent });
        console.log(`  rep ${rep + 1} ${name}: ${ms.toFixed(0)} ms, ${proxy.counts.requests} requests, ${proxy.counts.bytesSent} bytes`);
      }
    }
    s3.destroy();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const figures = (name: string) => ({
      wallMs: Math.round(median(samples[name]!.map((s) => s.ms))),
      requests: median(samples[name]!.map((s) => s.requests)),
      bytesSent: median(samples[name]!.map((s) => s.bytesSent)),
    });
    const ours = figures('ours');
    const sync = figures('aws s3 sync');
    const loop = figures('PutObject loop');
    const speedup = sync.wallMs / ours.wallMs;
    return {
      title: `Uploading a folder (${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB, 30% duplicates) to moto: storage client vs aws s3 sync`,
      method: `${REPS} interleaved repetitions, each contender into a fresh bucket of the same moto server, ${CONCURRENCY} requests at a time each; medians. ` +
        'Requests and request-body bytes counted by a proxy in front of moto. Ours: putFile (SHA-256 of each file, HEAD for files of 64 KiB or more, conditional PUT). ' +
        'aws s3 sync: AWS CLI v1 defaults. PutObject loop: one PutObject per file, SDK v3 defaults.',
      ours: { label: 'SharedStorageClient.putFile', figures: ours },
      peer: { label: 'aws s3 sync', figures: sync },
      ratios: { wallMs: ours.wallMs / sync.wallMs, requests: ours.requests / sync.requests, bytesSent: ours.bytesSent / sync.bytesSent },
      goals: [
        { goal: 'fewer bytes sent than aws s3 sync and the PutObject loop', measured: `${ours.bytesSent} vs ${sync.bytesSent} and ${loop.bytesSent} bytes`, met: ours.bytesSent < sync.bytesSent && ours.bytesSent < loop.bytesSent },
        { goal: 'at least 2x faster than aws s3 sync', measured: `${speedup.toFixed(2)}x (${ours.wallMs} ms vs ${sync.wallMs} ms)`, met: speedup >= 2 },
      ],
      notes: [
        `PutObject loop (second peer): ${loop.wallMs} ms, ${loop.requests} requests, ${loop.bytesSent} bytes: ` +
          `${loop.wallMs < ours.wallMs ? `faster than ours (${(ours.wallMs / loop.wallMs).toFixed(2)}x): it neither hashes the files nor checks for duplicates, and sends every byte` : 'slower than ours'}.`,
        'Ratios are ours / aws s3 sync: below 1 is better for every figure.',
        'aws s3 sync time includes the CLI\'s own start (Python, about a second on an idle machine), which is part of what a user of it waits for.',
        'Duplicates of 64 KiB or more are found by a HEAD and not sent; smaller ones are sent with If-None-Match: * and refused by S3 (one request instead of two).',
        `Two copies of a file uploaded at the same moment both pass the HEAD, and the conditional PUT refuses one after its body was sent: ours sent ${Math.min(...samples.ours!.map((s) => s.bytesSent))} to ${Math.max(...samples.ours!.map((s) => s.bytesSent))} bytes across the repetitions.`,
      ],
    };
  } finally {
    await proxy?.close();
    await moto.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export { run_ as run };
