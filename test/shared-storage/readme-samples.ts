/**
 * The TypeScript samples of the README's "Shared storage" section, verbatim but for their
 * imports (mapped to the source tree here): \`npm run typecheck\` compiles them against the
 * public API, and readme.test.ts checks that every block of the section is here unchanged.
 */
import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { LambdaWorker, SharedStorage, WorkQueue } from '../../lib';
import { SharedRecords, SharedStorageClient } from '../../runtime';

/** Composing SharedStorage in a stack. */
export class ReadmeStorageStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const jobs = new WorkQueue(this, 'Jobs');
    const storage = new SharedStorage(this, 'Storage', {
      records: true,
      corsOrigins: ['https://app.example.com'],
      // Every upload under incoming/ becomes one job (S3's own notification, no custom resource).
      objectCreatedJobs: { workQueue: jobs, prefix: 'incoming/' },
    });
    const worker = new LambdaWorker(this, 'Worker', { workQueue: jobs, entry: 'src/thumbnail.ts', environment: storage.environment });
    storage.grantReadPrefix(worker.function, 'incoming/');
    storage.grantWritePrefix(worker.function, 'results/');
    storage.grantReadWriteRecords(worker.function);
  }
}

/** The client and shared records. */
export async function readmeClient(): Promise<void> {
  const storage = SharedStorageClient.fromEnvironment();
  // Stored under sha256/<hex of its SHA-256>, once: a duplicate is not sent again.
  const { key, created } = await storage.putContent(JSON.stringify({ frame: 12 }));
  // Any size, streamed in 8 MiB parts (bounded memory), each part's SHA-256 checked by S3.
  await storage.putFile('/tmp/render.exr', { onProgress: (p) => console.log(p.loaded, p.total) });

  interface Render extends Record<string, unknown> { frames: number }
  const renders = SharedRecords.fromEnvironment<Render>();
  const render = await renders.create({ frames: 0 });
  // Optimistic concurrency: re-read and re-applied when another writer got there first.
  await renders.update(render.id, (r) => ({ frames: r.frames + 1 }));
  console.log(key, created);
}

/** Presigned browser uploads. */
export async function readmePresigned(): Promise<void> {
  const storage = SharedStorageClient.fromEnvironment();
  // PUT: the browser computed the file's SHA-256 (crypto.subtle.digest); S3 rejects any other body.
  const put = await storage.presignPut('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08');
  // In the browser: await fetch(put.url, { method: 'PUT', headers: put.headers, body: file });

  // POST: a form for files up to 10 MiB under incoming/<uuid>/<file name>, S3 checks both.
  const post = await storage.presignPost({ keyPrefix: 'incoming/', maxBytes: 10 * 1024 * 1024 });
  // In the browser: const form = new FormData();
  //   for (const [k, v] of Object.entries(post.fields)) form.append(k, v);
  //   form.append('file', file); await fetch(post.url, { method: 'POST', body: form });
  console.log(put.key, post.keyPrefix);
}
