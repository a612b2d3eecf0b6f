/**
 * `npm run bench -- storage`: uploading a folder of files of mixed sizes, 30% of them
 * duplicates of others, to the same moto: the storage client (`putFile`, content-addressed)
 * against rclone, the concurrent tool a careful user picks to copy folders to S3 (Debian's
 * rclone, S3 backend, checksums on, `--transfers` and `--s3-no-head` tuned: every setting tried
 * and the fastest kept), with `aws s3 sync` (the AWS CLI at its defaults) and a plain PutObject
 * loop as further rows. Interleaved, several repetitions, each run into a fresh bucket; requests
 * and request-body bytes counted by a proxy in front of moto.
 *
 * rclone is not on npm: the benchmark installs Debian's package with apt-get when it is missing
 * and we are root, or stops at once with one line saying what to install (bench/lib/tools.ts).
 *
 * Knob: BENCH_STORAGE_REPS (default 5).
 */
import { execFile, fork, spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_AWS_ENV, startMoto } from '../local/moto';
import { startCountingProxy, type CountingProxy, type ProxyCounts } from '../test/support/fault-proxy';
import type { BenchOutcome, BenchSide } from './lib/results';
import { median, spread } from './lib/stats';
import { requireBenchTool, toolVersion } from './lib/tools';

const execFileAsync = promisify(execFile);
const REPS = Number(process.env.BENCH_STORAGE_REPS ?? 5);
/** rclone's `--transfers` tried (its default is 4); ours runs at the same concurrency. */
const TRANSFERS = [4, 8, 16, 32] as const;
const GOAL_SPEEDUP = 1.3;
/** putFile sends a HEAD before the body for content of at least this many bytes (its default headCheckFromBytes). */
const HEAD_FROM_BYTES = 64 * 1024;
const OUT = path.join(__dirname, '..', '.tmp', 'bench-storage');

/** 40 files: 60% of 1-16 KiB, 30% of 64-512 KiB, 10% of 1-3 MiB; 12 of them (30%) copies of others. */
function makeFolder(dir: string): { files: string[]; bytes: number; uniqueBytes: number; headChecked: number } {
  fs.mkdirSync(dir, { recursive: true });
  const kib = 1024;
  const sizes = [
    ...Array.from({ length: 17 }, (_, i) => (1 + (i % 16)) * kib),
    ...Array.from({ length: 8 }, (_, i) => (64 + i * 64) * kib),
    ...Array.from({ length: 3 }, (_, i) => (1 + i) * 1024 * kib),
  ];
  const originals = sizes.map((size) => randomBytes(size));
  const contents = [...originals];
  for (let i = 0; i < 12; i++) contents.push(originals[(i * 9) % originals.length]!); // sources spread over every size
  const files = contents.map((c, i) => {
    const file = path.join(dir, `file-${String(i).padStart(2, '0')}.bin`);
    fs.writeFileSync(file, c);
    return file;
  });
  return {
    files,
    bytes: contents.reduce((n, c) => n + c.length, 0),
    uniqueBytes: originals.reduce((n, c) => n + c.length, 0),
    headChecked: contents.filter((c) => c.length >= HEAD_FROM_BYTES).length,
  };
}

/** The storage client in a long-lived process of its own (a user's program), bundled once. */
class OursProcess {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;

  constructor(program: string) {
    this.child = fork(program, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('message', () => resolve());
      this.child.once('exit', (code) => reject(new Error(`the storage client's process exited (${code})`)));
    });
  }

  async upload(endpoint: string, bucket: string, files: readonly string[], concurrency: number, headCheckFromBytes?: number): Promise<void> {
    await this.ready;
    const answer = await new Promise<{ ms?: number; error?: string }>((resolve) => {
      this.child.once('message', resolve);
      this.child.send({ endpoint, bucket, files, concurrency, headCheckFromBytes });
    });
    if (answer.error) throw new Error(`putFile: ${answer.error}`);
  }

  close(): void {
    if (this.child.connected) this.child.send({ type: 'exit' });
  }
}

/** Runs a command to its end; throws with its output when it fails. */
async function command(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  await execFileAsync(file, args, { env, maxBuffer: 16 * 2 ** 20 }).catch((e: Error & { stderr?: string }) => {
    throw new Error(`${file} ${args.slice(0, 3).join(' ')}... failed: ${e.stderr?.trim().split('\n').slice(-3).join(' / ') ?? e.message}`);
  });
}

function runNode(program: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [program, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`one-shot putFile exited ${code}: ${err.slice(-500)}`))));
  });
}

interface Sample { readonly ms: number; readonly requests: number; readonly bytesSent: number; readonly byMethod: ProxyCounts['byMethod'] }

export async function run(): Promise<BenchOutcome> {
  console.log(`  ${requireBenchTool({ command: 'rclone', debianPackage: 'rclone', neededBy: 'npm run bench -- storage (rclone is its peer)' })}`);
  const rcloneVersion = toolVersion('rclone');
  const awsVersion = (() => {
    try {
      return toolVersion('aws', ['--version']);
    } catch {
      return 'unknown';
    }
  })();

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  fs.mkdirSync(OUT, { recursive: true });
  const oursProgram = path.join(OUT, 'ours.js');
  esbuild.buildSync({ entryPoints: [path.join(__dirname, 'storage', 'ours-child.ts')], outfile: oursProgram, bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'warning' });

  const moto = await startMoto();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-storage-'));
  let proxy: CountingProxy | undefined;
  const ours = new OursProcess(oursProgram);
  try {
    proxy = await startCountingProxy(moto.endpoint);
    const endpoint = proxy.endpoint;
    const s3 = new S3Client({ endpoint, forcePathStyle: true, region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const folder = path.join(tmp, 'folder');
    const { files, bytes, uniqueBytes, headChecked } = makeFolder(folder);

    // Only what each tool needs: the machine's AWS_CA_BUNDLE and the like would change how they connect.
    const base = { PATH: process.env.PATH, HOME: tmp, LANG: 'C.UTF-8' };
    const rcloneEnv = {
      ...base, RCLONE_CONFIG: path.join(tmp, 'rclone.conf'),
      RCLONE_CONFIG_MOTO_TYPE: 's3', RCLONE_CONFIG_MOTO_PROVIDER: 'Other', RCLONE_CONFIG_MOTO_ENDPOINT: endpoint, RCLONE_CONFIG_MOTO_REGION: 'us-east-1',
      RCLONE_CONFIG_MOTO_ACCESS_KEY_ID: 'testing', RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY: 'testing', RCLONE_CONFIG_MOTO_FORCE_PATH_STYLE: 'true',
    };
    fs.writeFileSync(rcloneEnv.RCLONE_CONFIG, '');
    const cliConfig = path.join(tmp, 'aws-config');
    fs.writeFileSync(cliConfig, '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n');
    const cliEnv = { ...base, AWS_CONFIG_FILE: cliConfig, AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'none'), AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };

    const contenders: Record<string, (bucket: string) => Promise<void>> = {};
    for (const t of TRANSFERS) {
      contenders[`ours x${t}`] = (bucket) => ours.upload(endpoint, bucket, files, t);
      // Checksums on: rclone sends each file's MD5 (Content-MD5, S3 checks it) and compares by checksum (--checksum).
      contenders[`rclone --transfers ${t}`] = (bucket) => command('rclone', ['copy', folder, `moto:${bucket}`, '--transfers', String(t), '--checksum'], rcloneEnv);
      // The same without the HEAD rclone sends after each upload to check it (the PUT's answer still carries the MD5 it compares).
      contenders[`rclone --transfers ${t} --s3-no-head`] = (bucket) => command('rclone', ['copy', folder, `moto:${bucket}`, '--transfers', String(t), '--checksum', '--s3-no-head'], rcloneEnv);
    }
    // Not the client's default: what it does with the HEAD only for content of 1 MiB or more (a setting of its own).
    contenders['ours x16, headCheckFromBytes 1 MiB'] = (bucket) => ours.upload(endpoint, bucket, files, 16, 2 ** 20);
    contenders['ours x16, one-shot node process'] = (bucket) => runNode(oursProgram, [endpoint, bucket, '16', ...files]);
    contenders['aws s3 sync (defaults)'] = (bucket) => command('aws', ['s3', 'sync', folder, `s3://${bucket}/`, '--endpoint-url', endpoint, '--only-show-errors'], cliEnv);
    contenders['PutObject loop x16'] = async (bucket) => {
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < files.length) {
          const f = files[next++]!;
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: path.basename(f), Body: await fs.promises.readFile(f) }));
        }
      }));
    };
    const names = Object.keys(contenders);
    const samples: Record<string, Sample[]> = Object.fromEntries(names.map((n) => [n, []]));
    const orders: string[] = [];
    let bucketNo = 0;
    const once = async (name: string, record: boolean) => {
      const bucket = `bench-${bucketNo++}-${Date.now()}`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      proxy!.reset();
      const start = performance.now();
      await contenders[name]!(bucket);
      const ms = performance.now() - start;
      const c = proxy!.counts;
      if (record) samples[name]!.push({ ms, requests: c.requests, bytesSent: c.bytesSent, byMethod: structuredClone(c.byMethod) });
      return { ms, c };
    };
    for (const name of names) await once(name, false); // untimed: page cache, JIT, the CLIs' own caches
    for (let rep = 0; rep < REPS; rep++) {
      // Interleaved, the order rotating by a different step each repetition, each into a bucket of its own.
      const order = names.map((_, k) => names[(rep * 5 + k) % names.length]!);
      orders.push(`rep ${rep + 1}: ${order.join(', ')}`);
      for (const name of order) {
        const { ms, c } = await once(name, true);
        console.log(`  rep ${rep + 1} ${name}: ${ms.toFixed(0)} ms, ${c.requests} requests, ${c.bytesSent} bytes`);
      }
    }
    s3.destroy();
    // rclone's own start-up, for the reader: the same command on an empty folder.
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    const startup: number[] = [];
    for (let i = 0; i < 5; i++) {
      const bucket = `bench-empty-${i}-${Date.now()}`;
      await new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }).send(new CreateBucketCommand({ Bucket: bucket }));
      const t0 = performance.now();
      await command('rclone', ['copy', empty, `moto:${bucket}`, '--transfers', '16', '--checksum'], rcloneEnv);
      startup.push(performance.now() - t0);
    }

    const ms = (name: string) => median(samples[name]!.map((s) => s.ms));
    const figures = (name: string): Record<string, number> => {
      const s = spread(samples[name]!.map((x) => x.ms));
      return {
        'wall ms (median)': Math.round(s.median),
        'wall ms, lowest': Math.round(s.min),
        'wall ms, highest': Math.round(s.max),
        requests: median(samples[name]!.map((x) => x.requests)),
        'request-body bytes sent': median(samples[name]!.map((x) => x.bytesSent)),
      };
    };
    const rcloneNames = names.filter((n) => n.startsWith('rclone'));
    const bestRclone = rcloneNames.reduce((a, b) => (ms(b) < ms(a) ? b : a));
    const bestT = Number(/--transfers (\d+)/.exec(bestRclone)![1]);
    const oursAtT = `ours x${bestT}`;
    const oursNames = names.filter((n) => /^ours x\d+$/.test(n));
    const bestOurs = oursNames.reduce((a, b) => (ms(b) < ms(a) ? b : a));
    const o = figures(oursAtT);
    const p = figures(bestRclone);
    const speedup = ms(bestRclone) / ms(oursAtT);
    // Per repetition: ours at that concurrency against rclone's best setting in the same repetition.
    const pairRatios = samples[bestRclone]!.map((s, i) => s.ms / samples[oursAtT]![i]!.ms);
    const pairs = spread(pairRatios);
    const oursHeads = median(samples[oursAtT]!.map((s) => s.byMethod.HEAD?.requests ?? 0));
    const oursPuts = median(samples[oursAtT]!.map((s) => s.byMethod.PUT?.requests ?? 0));
    const side = (name: string, label = name): BenchSide => ({ label, figures: figures(name) });
    const ratio = (k: string) => Math.round((o[k]! / p[k]!) * 1000) / 1000;
    const methods = (name: string) => Object.entries(samples[name]![0]!.byMethod).map(([m, c]) => `${c.requests} ${m}`).join(', ');
    return {
      title: `Uploading a folder (${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB, 30% duplicates) to moto: storage client vs rclone`,
      summary:
        `At the concurrency of rclone's fastest setting (${bestRclone}), putFile uploaded the folder ${speedup.toFixed(2)}x as fast (${Math.round(ms(oursAtT))} ms against ${Math.round(ms(bestRclone))} ms, medians; per repetition ${pairs.min.toFixed(2)}x to ${pairs.max.toFixed(2)}x) ` +
        `and sent ${(o['request-body bytes sent']! / p['request-body bytes sent']!).toFixed(2)}x the bytes (${o['request-body bytes sent']} against ${p['request-body bytes sent']}: each content once). ` +
        `The goal, at least ${GOAL_SPEEDUP}x rclone at its best settings with fewer bytes, is ${speedup >= GOAL_SPEEDUP && o['request-body bytes sent']! < p['request-body bytes sent']! ? 'met' : '**missed**'}. ` +
        `aws s3 sync at its defaults took ${Math.round(ms('aws s3 sync (defaults)'))} ms, most of it the CLI's start-up.`,
      method:
        `${REPS} repetitions, interleaved (every contender once per repetition, in a rotating order, after one untimed run each), each run into a fresh bucket of one moto server behind a counting proxy (requests and request-body bytes). ` +
        `Ours: SharedStorageClient.putFile on every file, at most N at once, in a long-lived Node.js process of its own (a user's program; timed from its first call to its last answer), at N = ${TRANSFERS.join(', ')}; and once as a one-shot \`node\` command at 16 (timed from spawn to exit, start-up included). ` +
        `putFile hashes each file (SHA-256, read as a stream), sends a HEAD for content of ${HEAD_FROM_BYTES / 1024} KiB or more and skips the upload when it exists, sends the rest with If-None-Match: * (S3 refuses a duplicate, after its body), and uploads each content hash once when callers race (a second caller waits for the first upload). ` +
        `rclone (${rcloneVersion}, Debian's package): \`rclone copy <folder> moto:<bucket> --transfers N --checksum\` (S3 backend, path-style), with and without \`--s3-no-head\`, at N = ${TRANSFERS.join(', ')}: the fastest of those eight is the peer; checksums on throughout (rclone sends each file's MD5 for S3 to check). ` +
        `aws s3 sync (${awsVersion}) at its defaults (10 concurrent requests); a PutObject loop (SDK v3, 16 at a time) in the benchmark's process.`,
      repetitions: REPS,
      order: `interleaved, every contender once per repetition in a rotating order, each into a fresh bucket. The orders: ${orders.join('; ')}.`,
      ours: side(oursAtT, `putFile x${bestT} (the peer's concurrency)`),
      peer: side(bestRclone, `rclone at its fastest: ${bestRclone.replace(/^rclone /, '')}`),
      otherPeers: [
        side('aws s3 sync (defaults)'),
        side('PutObject loop x16', 'PutObject loop x16 (no hashing, no dedup)'),
        side('ours x16, one-shot node process', 'putFile x16 as a one-shot node command'),
        side('ours x16, headCheckFromBytes 1 MiB', 'putFile x16, HEAD only from 1 MiB (not its default)'),
      ],
      ratioNote: 'ratio: ours / rclone at its fastest',
      ratios: Object.fromEntries(Object.keys(o).map((k) => [k, ratio(k)])),
      tables: [{
        caption: '**Every setting** (median wall ms, lowest-highest, requests and bytes of the first repetition by method):',
        header: ['contender', 'wall ms', 'lowest-highest', 'requests', 'request-body bytes', 'requests by method'],
        rows: names.map((n) => {
          const s = spread(samples[n]!.map((x) => x.ms));
          return [n, Math.round(s.median), `${Math.round(s.min)}-${Math.round(s.max)}`, median(samples[n]!.map((x) => x.requests)), median(samples[n]!.map((x) => x.bytesSent)), methods(n)];
        }),
      }],
      goals: [
        {
          goal: `at least ${GOAL_SPEEDUP}x as fast as rclone at its best settings (${TRANSFERS.join('/')} transfers, with and without --s3-no-head, checksums on), at the same concurrency`,
          measured: `${speedup.toFixed(2)}x (${Math.round(ms(oursAtT))} ms vs ${Math.round(ms(bestRclone))} ms; per repetition ${pairs.min.toFixed(2)}-${pairs.max.toFixed(2)}x, middle half ${pairs.q1.toFixed(2)}-${pairs.q3.toFixed(2)}x)`,
          met: speedup >= GOAL_SPEEDUP,
        },
        {
          goal: 'fewer request-body bytes than rclone, aws s3 sync and the PutObject loop',
          measured: `${o['request-body bytes sent']} vs ${p['request-body bytes sent']}, ${figures('aws s3 sync (defaults)')['request-body bytes sent']} and ${figures('PutObject loop x16')['request-body bytes sent']} bytes (the folder: ${bytes} bytes, ${uniqueBytes} of unique content)`,
          met: o['request-body bytes sent']! < Math.min(p['request-body bytes sent']!, figures('aws s3 sync (defaults)')['request-body bytes sent']!, figures('PutObject loop x16')['request-body bytes sent']!),
        },
      ],
      notes: [
        'Lower is better for every figure; the ratio column is ours / rclone at its fastest.',
        `Ours' fastest concurrency was ${bestOurs.replace('ours ', '')} (${Math.round(ms(bestOurs))} ms); the goal compares ours at rclone's best concurrency, so both run as many uploads at once.`,
        `What putFile sent at ${bestT} at once (median): ${oursPuts} PUT and ${oursHeads} HEAD requests for ${files.length} files, of which ${headChecked} are of ${HEAD_FROM_BYTES / 1024} KiB or more (a HEAD only for those, and none for a copy whose content was already being uploaded by another call); requests by method in the first repetition: ${methods(oursAtT)}. ` +
          `The bytes above the unique content (${uniqueBytes}) are the small duplicates, sent with If-None-Match: * and refused by S3 after their body (one request instead of a HEAD and a PUT).`,
        `rclone sends every file (it compares names, not contents: a copy under another name is uploaded again), lists the bucket first, and by default HEADs each uploaded object; its start-up (the same copy of an empty folder) took ${Math.round(median(startup))} ms (median of 5), which its times include, as a user of the command waits for it. Ours in its long-lived process has no start-up in its time; the one-shot row has Node.js's and the SDK's.`,
        `aws s3 sync's time is mostly the CLI's own start (Python): a careful user copying folders picks a concurrent tool such as rclone, which is why rclone is the peer; aws s3 sync stays as a row.`,
        `The HEAD before each upload of ${HEAD_FROM_BYTES / 1024} KiB or more costs a round trip for every such file and saves the body only for duplicates: with it only from 1 MiB (the client's own setting headCheckFromBytes, not its default) putFile x16 took ${Math.round(ms('ours x16, headCheckFromBytes 1 MiB'))} ms against ${Math.round(ms('ours x16'))} ms at its default.`,
        'moto, the proxy and every contender share the machine\'s 2 cores with other work; the ratios come from runs interleaved under the same load.',
      ],
    };
  } finally {
    ours.close();
    await proxy?.close();
    await moto.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
