/**
 * The storage client against moto's S3, behind a counting proxy (requests and body bytes the
 * client really sends): content-addressed writes and dedupe, streaming uploads with bounded
 * memory, abort, presigned URLs used through `fetch`, and the IAM actions the client calls.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import * as v8 from 'v8';
import * as vm from 'vm';
import {
  CreateBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectVersionsCommand, PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import {
  STORAGE_DELETE_ACTIONS, STORAGE_READ_ACTIONS, STORAGE_WRITE_ACTIONS,
} from '../../../contracts/shared-storage';
import {
  ChecksumMismatchError, NotFoundError, parseObjectCreatedEvent, SharedStorageClient, sha256Of, sha256OfFile, StorageOptionsError, TooLargeError,
  UploadAbortedError,
} from '../../../runtime/storage';
import { startCountingProxy, type CountingProxy } from '../../support/fault-proxy';
import { s3Error, startFaultProxy } from '../../support/fault-proxy';
import { createWorkQueue, useLocalAws } from '../../support/local-aws';

/** V8's collector, to measure live memory rather than garbage not yet collected. */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const aws = useLocalAws();
const BUCKET = 'shared-storage-test';
let proxy: CountingProxy;
let s3: S3Client;
let storage: SharedStorageClient;
/** The S3 commands the client sent (the test's own bucket set-up excluded), with the IAM action each needs. */
const commandsCalled = new Map<string, string | undefined>();
let tmp: string;

/**
 * The IAM action an S3 command needs, by its input: HEAD is s3:GetObject; multipart steps are
 * s3:PutObject; a command naming a VersionId needs the action's `...Version` form (deleting a
 * version for good is s3:DeleteObjectVersion, which s3:DeleteObject does not cover).
 */
function iamActionOf(command: string, input: { VersionId?: string }): string | undefined {
  const versioned = input.VersionId !== undefined;
  switch (command) {
    case 'HeadObjectCommand':
    case 'GetObjectCommand': return versioned ? 's3:GetObjectVersion' : 's3:GetObject';
    case 'PutObjectCommand':
    case 'CreateMultipartUploadCommand':
    case 'UploadPartCommand':
    case 'CompleteMultipartUploadCommand': return 's3:PutObject';
    case 'AbortMultipartUploadCommand': return 's3:AbortMultipartUpload';
    case 'DeleteObjectCommand': return versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject';
    default: return undefined;
  }
}

beforeAll(async () => {
  proxy = await startCountingProxy(aws.moto.endpoint);
  s3 = new S3Client({ endpoint: proxy.endpoint, forcePathStyle: true });
  s3.middlewareStack.add((next, context) => async (args) => {
    const command = context.commandName ?? '?';
    if (!/Bucket|ListObjectVersions|ListMultipartUploads/.test(command)) {
      commandsCalled.set(`${command}${(args.input as { VersionId?: string }).VersionId ? ' (VersionId)' : ''}`, iamActionOf(command, args.input as { VersionId?: string }));
    }
    return next(args);
  }, { step: 'initialize', name: 'recordCommands' });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
  storage = new SharedStorageClient({ bucket: BUCKET, s3, partSizeBytes: 5 * 1024 ** 2, queueSize: 2 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-'));
});
afterAll(async () => {
  s3?.destroy();
  await proxy?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs `fn` and returns what went through the proxy meanwhile. */
async function counted<T>(fn: () => Promise<T>): Promise<{ result: T; requests: number; bytesSent: number; byMethod: Record<string, { requests: number; bytesSent: number }> }> {
  proxy.reset();
  const result = await fn();
  const { requests, bytesSent, byMethod } = proxy.counts;
  return { result, requests, bytesSent, byMethod };
}

async function versionsOf(key: string): Promise<number> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
  return (out.Versions ?? []).filter((v) => v.Key === key).length;
}

describe('content-addressed writes', () => {
  test('store content under its SHA-256, with the SHA-256 S3 keeps as its checksum', async () => {
    // WHEN new content is written
    const out = await storage.putContent('hello, shared storage');
    // THEN its key is its SHA-256 and S3 holds the checksum the client sent
    const sha = sha256Of('hello, shared storage');
    expect(out).toMatchObject({ key: `sha256/${sha.hex}`, created: true, bodySent: true, bytes: 21 });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: out.key, ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumSHA256).toBe(sha.base64);
    expect(head.Metadata).toEqual({ sha256: sha.hex });
  });

  test('send no body the second time large content is written: one HEAD, zero bytes', async () => {
    // GIVEN 100 KiB written once
    const body = Buffer.alloc(100 * 1024, 'a');
    const first = await counted(() => storage.putContent(body));
    expect(first.result.created).toBe(true);
    expect(first.bytesSent).toBeGreaterThanOrEqual(body.length);

    // WHEN the same content is written again
    const second = await counted(() => storage.putContent(body));

    // THEN a HEAD found it: no body went over the wire, and S3 holds one version
    expect(second.result).toMatchObject({ created: false, bodySent: false });
    expect(second.requests).toBe(1);
    expect(second.byMethod.HEAD?.requests).toBe(1);
    expect(second.bytesSent).toBe(0);
    expect(await versionsOf(first.result.key)).toBe(1);
  });

  test('send small duplicates once, refused by If-None-Match, so no second version is stored', async () => {
    // GIVEN small content written once
    const first = await storage.putContent('small and repeated');
    // WHEN it is written again
    const second = await counted(() => storage.putContent('small and repeated'));
    // THEN one conditional PUT went out and S3 refused it: still one version
    expect(second.result).toMatchObject({ created: false, bodySent: true });
    expect(second.requests).toBe(1);
    expect(await versionsOf(first.key)).toBe(1);
  });

  test('store content once when two writers race', async () => {
    const body = `raced ${Date.now()}`;
    const results = await Promise.all([storage.putContent(body), storage.putContent(body), storage.putContent(body)]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await versionsOf(results[0].key)).toBe(1);
  });

  test('send the body of content once when callers race with it, large or small, through putContent or putFile', async () => {
    // GIVEN 3 MiB of new content, as bytes and as a file
    const body = Buffer.alloc(3 * 1024 * 1024, `race ${Date.now()}`);
    const file = path.join(tmp, 'raced.bin');
    fs.writeFileSync(file, body);

    // WHEN four callers store it at once (both checked with a HEAD before either had sent it, before)
    const raced = await counted(() => Promise.all([storage.putContent(body), storage.putFile(file), storage.putContent(body), storage.putFile(file)]));

    // THEN its body went over the wire once, one of them created it, and S3 holds one version
    expect(raced.bytesSent).toBeLessThan(2 * body.length);
    expect(raced.result.filter((r) => r.created)).toHaveLength(1);
    expect(raced.result.filter((r) => r.bodySent)).toHaveLength(1);
    expect(await versionsOf(raced.result[0].key)).toBe(1);
  });

  test('putFile sends a HEAD first only for files of headCheckFromBytes or more, as putContent does', async () => {
    // GIVEN a small new file (under 64 KiB) and a large one
    const small = path.join(tmp, 'small.txt');
    fs.writeFileSync(small, `small file ${Date.now()}`);
    const large = path.join(tmp, 'large.bin');
    fs.writeFileSync(large, Buffer.alloc(100 * 1024, `large ${Date.now()}`));

    // WHEN each is stored THEN the small one went out as one conditional PUT, the large one after a HEAD
    const a = await counted(() => storage.putFile(small));
    expect(a.result.created).toBe(true);
    expect(a.byMethod).toEqual({ PUT: expect.objectContaining({ requests: 1 }) });
    const b = await counted(() => storage.putFile(large));
    expect(b.byMethod.HEAD?.requests).toBe(1);
    expect(b.byMethod.PUT?.requests).toBe(1);
  });

  test('putFile reads a file under a part once, and sends the bytes it hashed; a file of a part or more is streamed and hashed as it goes', async () => {
    // GIVEN a file under a part (5 MiB here) and one of more than a part, and every file opened counted
    const small = path.join(tmp, 'once.bin');
    fs.writeFileSync(small, Buffer.alloc(200 * 1024, `once ${Date.now()}`));
    const big = path.join(tmp, 'parts.bin');
    fs.writeFileSync(big, Buffer.alloc(6 * 1024 * 1024, `parts ${Date.now()}`));
    const parted = new SharedStorageClient({ bucket: BUCKET, s3, partSizeBytes: 5 * 1024 ** 2 });
    const opened: string[] = [];
    const realOpen = fs.promises.open;
    const open = jest.spyOn(fs.promises, 'open').mockImplementation((...args) => {
      opened.push(String(args[0]));
      return realOpen(...args);
    });
    const stream = jest.spyOn(fs, 'createReadStream');
    const readFile = jest.spyOn(fs.promises, 'readFile');
    try {
      // WHEN each is stored
      const a = await parted.putFile(small);
      const smallOpens = opened.length;
      const smallStreams = stream.mock.calls.length + readFile.mock.calls.length;
      const b = await parted.putFile(big);

      // THEN the small one was opened once and read once (no stream, no second read), under the SHA-256 of its bytes
      expect(smallOpens).toBe(1);
      expect(smallStreams).toBe(0);
      expect(a).toEqual(expect.objectContaining({ created: true, bytes: 200 * 1024, sha256: sha256Of(fs.readFileSync(small)) }));
      // AND the big one was hashed as a stream, then sent in parts (more reads of the file)
      expect(b).toEqual(expect.objectContaining({ created: true, bytes: 6 * 1024 * 1024 }));
      expect(opened.length + stream.mock.calls.length).toBeGreaterThan(smallOpens + 1);
    } finally {
      open.mockRestore();
      stream.mockRestore();
      readFile.mockRestore();
    }
  });

  test('fail on content over 5 GiB for a single PUT, naming the methods that send parts', async () => {
    const huge = { byteLength: 6 * 1024 ** 3 } as unknown as Uint8Array;
    await expect(storage.putContent(huge)).rejects.toThrow(TooLargeError);
    await expect(storage.putContent(huge)).rejects.toThrow(/5 GiB.*putFile\(\) or upload\(\)/);
  });
});

describe('streaming uploads', () => {
  test('stream a 50 MB file in parts with bounded memory, reporting progress, skipping it the second time', async () => {
    // GIVEN a 50 MB file on disk
    const file = path.join(tmp, 'big.bin');
    const chunk = Buffer.alloc(1024 * 1024);
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < 50; i++) {
      chunk.fill(i);
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
    const size = 50 * 1024 * 1024;

    // WHEN it is stored, counting the part buffers still reachable (each tracked by a WeakRef from
    // its allocation; a full collection first, so garbage is not counted) and sampling the
    // process's memory meanwhile
    // (replaced by hand: a jest spy would keep every buffer in its record of results)
    const parts: WeakRef<Buffer>[] = [];
    const allocUnsafe = Buffer.allocUnsafe;
    Buffer.allocUnsafe = (n: number) => {
      const buffer = allocUnsafe(n);
      if (n >= 1024 ** 2) parts.push(new WeakRef(buffer));
      return buffer;
    };
    gc();
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakLive = 0;
    let peakParts = 0;
    const sample = () => {
      gc();
      peakParts = Math.max(peakParts, parts.filter((ref) => ref.deref() !== undefined).length);
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakLive = Math.max(peakLive, m.arrayBuffers + m.heapUsed - before.arrayBuffers - before.heapUsed);
    };
    const progress: number[] = [];
    let reachableAtTheEnd: number[] = [];
    const completed: number[] = [];
    let out;
    try {
      out = await storage.putFile(file, {
        onProgress: (p) => {
          progress.push(p.loaded);
          if (p.part !== undefined) completed.push(p.part);
          sample();
          if (p.loaded === size) reachableAtTheEnd = parts.flatMap((ref, i) => (ref.deref() ? [i + 1] : []));
        },
      });
    } finally {
      Buffer.allocUnsafe = allocUnsafe;
    }

    console.log(`50 MiB upload: ${parts.length} parts read, at most ${peakParts} reachable at once; live memory peak +${(peakLive / 1024 ** 2).toFixed(1)} MiB, RSS peak +${((peakRss - before.rss) / 1024 ** 2).toFixed(1)} MiB`);
    // THEN it went in 10 parts of 5 MiB, with progress up to the whole size
    expect(out).toMatchObject({ created: true, bytes: size });
    expect(progress.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...progress)).toBe(size);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: out.key, ChecksumMode: 'ENABLED' }));
    expect(head.ContentLength).toBe(size);
    expect(head.Metadata?.sha256).toBe(out.sha256.hex);
    // AND memory held a queue's worth of parts, not the 50 MiB file: never more than 2 in flight
    // and 1 being read were reachable (sampled as each part is done: a full collection each), each
    // part read once at the size it holds, and once the last part is done only the last two parts
    // to finish may still be reachable (the first one had stayed referenced until the upload's
    // end). Counted, not inferred from the process's memory, which V8 releases on a background
    // thread: its figure lags on a loaded machine (CI saw +30.4 MiB where a quiet run measures 0
    // to 21), so it is bounded loosely below the 50 MiB that the whole file in memory would take.
    expect(parts).toHaveLength(10);
    expect(peakParts).toBeGreaterThanOrEqual(1);
    expect(peakParts).toBeLessThanOrEqual(3);
    expect(completed).toHaveLength(10);
    expect(reachableAtTheEnd.filter((part) => !completed.slice(-2).includes(part))).toEqual([]);
    expect(peakLive / 1024 ** 2).toBeLessThan(45);

    // AND the second time, a HEAD finds it and nothing is sent
    const again = await counted(() => storage.putFile(file));
    expect(again.result).toMatchObject({ created: false, bodySent: false });
    expect(again.bytesSent).toBe(0);
  }, 120_000); // 50 MB through moto: a few seconds on an idle machine, much more on a loaded one

  test('abort an upload when its signal fires, leaving no parts behind', async () => {
    // GIVEN an endless stream being uploaded in parts
    const controller = new AbortController();
    let sent = 0;
    const endless = new Readable({
      read() {
        sent += 1;
        this.push(sent < 40 ? Buffer.alloc(1024 * 1024, sent) : null);
      },
    });
    // WHEN the signal fires after the first part
    const upload = storage.upload('uploads/aborted.bin', endless, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });

    // THEN the upload fails as aborted, and no multipart upload is left in the bucket
    await expect(upload).rejects.toThrow(UploadAbortedError);
    const left = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(left.Uploads ?? []).toEqual([]);
    await expect(storage.get('uploads/aborted.bin')).rejects.toThrow(NotFoundError);
  });

  test('upload any stream to a key, returning the SHA-256 of what was sent', async () => {
    const out = await storage.upload('uploads/report.txt', Readable.from(['line 1\n', 'line 2\n']), { contentType: 'text/plain' });
    expect(out.sha256.hex).toBe(sha256Of('line 1\nline 2\n').hex);
    expect(Buffer.from(await storage.get('uploads/report.txt')).toString()).toBe('line 1\nline 2\n');
  });

  test('store nothing and fail when the content is not the expected SHA-256, small or in parts', async () => {
    const wrong = sha256Of('something else').hex;
    await expect(storage.upload('uploads/checked.txt', 'actual content', { expectedSha256: wrong })).rejects.toThrow(ChecksumMismatchError);
    await expect(storage.upload('uploads/checked.bin', Readable.from([Buffer.alloc(6 * 1024 * 1024, 1), Buffer.alloc(1024, 2)]), { expectedSha256: wrong }))
      .rejects.toThrow(/has SHA-256 .*not the expected .*nothing was stored/);
    expect(await versionsOf('uploads/checked.txt')).toBe(0);
    expect(await versionsOf('uploads/checked.bin')).toBe(0);
    const left = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(left.Uploads ?? []).toEqual([]);
  });

  test('a file that changes while putFile uploads it leaves nothing under its content key, with no delete to do', async () => {
    // GIVEN a 16 MiB file (four parts of up to 5 MiB), and a role that may not delete (S3 answers AccessDenied)
    const faults = await startFaultProxy(aws.moto.endpoint, (r) => (r.method === 'DELETE' && !r.url.includes('uploadId') ? s3Error('AccessDenied', 403, 'Access Denied') : undefined));
    const client = new S3Client({ endpoint: faults.endpoint, forcePathStyle: true });
    try {
      const denied = new SharedStorageClient({ bucket: BUCKET, s3: client, partSizeBytes: 5 * 1024 ** 2, queueSize: 1 });
      const file = path.join(tmp, 'changing.bin');
      fs.writeFileSync(file, Buffer.alloc(16 * 1024 * 1024, `changing ${Date.now()}`));
      const key = denied.keyFor((await sha256OfFile(file)).hex);

      // WHEN the file's end changes once its first part has gone
      let changed = false;
      const put = denied.putFile(file, {
        onProgress: () => {
          if (changed) return;
          changed = true;
          const fd = fs.openSync(file, 'r+');
          fs.writeSync(fd, Buffer.from('changed'), 0, 7, 16 * 1024 * 1024 - 7);
          fs.closeSync(fd);
        },
      });

      // THEN putFile fails on the mismatch, and no version, and no part, was ever stored under the content key
      await expect(put).rejects.toThrow(ChecksumMismatchError);
      expect(changed).toBe(true);
      expect(await versionsOf(key)).toBe(0);
      expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).toEqual([]);
    } finally {
      client.destroy();
      await faults.stop();
    }
  });
});

describe('verifying what is stored', () => {
  test('verify with deleteOnMismatch deletes exactly the version it read, in a versioned bucket', async () => {
    // GIVEN a content key holding other bytes (written around the client, as a faulty writer would)
    const key = storage.keyFor(sha256Of('the real content').hex);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'forged content' }));

    // WHEN it is verified with deleteOnMismatch
    await expect(storage.verify(key, { deleteOnMismatch: true })).rejects.toThrow(/holds content with SHA-256 .*; it was deleted/);

    // THEN that version is gone for good (no delete marker over it), so the key is free for the real content
    expect(await versionsOf(key)).toBe(0);
    expect((await storage.putContent('the real content')).created).toBe(true);
  });

  test('verify with deleteOnMismatch deletes the object in a bucket without versioning', async () => {
    const plain = `${BUCKET}-unversioned`;
    await s3.send(new CreateBucketCommand({ Bucket: plain }));
    const client = new SharedStorageClient({ bucket: plain, s3 });
    const key = client.keyFor(sha256Of('expected').hex);
    await s3.send(new PutObjectCommand({ Bucket: plain, Key: key, Body: 'unexpected' }));
    await expect(client.verify(key, { deleteOnMismatch: true })).rejects.toThrow(ChecksumMismatchError);
    await expect(client.exists(key)).resolves.toBe(false);
  });
});

describe('presigned URLs through fetch', () => {
  test('GET: reads the object until the URL expires', async () => {
    const { key } = await storage.putContent('shared via a link');
    const res = await fetch(await storage.presignGet(key, { expiresInSeconds: 60 }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('shared via a link');
  });

  test('PUT: signs the SHA-256, the length and the Content-Type, and stores the right body at its content key', async () => {
    // GIVEN a browser that computed the SHA-256 of its file and gave its size
    const body = 'uploaded by a browser';
    const put = await storage.presignPut(sha256Of(body).hex, { bytes: Buffer.byteLength(body) });
    // THEN the checksum, the length and a Content-Type (application/octet-stream unless given)
    // are signed headers (not query parameters the caller could drop): S3 refuses any other length
    const url = new URL(put.url);
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual(expect.arrayContaining(['x-amz-checksum-sha256', 'content-length', 'content-type']));
    expect(url.searchParams.has('x-amz-checksum-sha256')).toBe(false);
    expect(put.headers).toEqual({ 'x-amz-checksum-sha256': sha256Of(body).base64, 'content-type': 'application/octet-stream' });
    expect(put.bytes).toBe(Buffer.byteLength(body));
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBe(300);
    // WHEN it PUTs the file with the headers given
    const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body });
    // THEN it is stored at its content key and verifies
    expect(res.status).toBe(200);
    expect((await storage.verify(put.key)).hex).toBe(sha256Of(body).hex);
  });

  test('PUT with a wrong body: refused with BadDigest, and nothing is stored', async () => {
    // GIVEN a URL for one content
    const put = await storage.presignPut(sha256Of('the announced content').hex, { bytes: 21 });
    // WHEN another body is sent
    const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body: 'something else entirely' });
    // THEN S3 refuses it (the local cloud checks the signed checksum header as S3 does; moto 5.2 alone stores it)
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/<Code>BadDigest<\/Code>/);
    await expect(storage.get(put.key)).rejects.toThrow(NotFoundError);
  });

  test('POST: a form with a size range and a key prefix in its signed policy uploads a file under the prefix', async () => {
    // GIVEN a form for files of 1 byte to 1 KiB under incoming/
    const post = await storage.presignPost({ keyPrefix: 'incoming/', maxBytes: 1024, expiresInSeconds: 120 });
    const policy = JSON.parse(Buffer.from(post.fields.Policy, 'base64').toString()) as { expiration: string; conditions: unknown[] };
    expect(policy.conditions).toEqual(expect.arrayContaining([['content-length-range', 1, 1024], ['starts-with', '$key', post.keyPrefix]]));
    expect(post.keyPrefix).toMatch(/^incoming\/[0-9a-f-]{36}\/$/);
    expect(Date.parse(policy.expiration) - Date.now()).toBeLessThanOrEqual(120_000);

    // WHEN a browser posts a small file with the fields
    const form = new FormData();
    for (const [k, v] of Object.entries(post.fields)) form.append(k, v);
    form.append('file', new Blob(['a small file']), 'notes.txt');
    const res = await fetch(post.url, { method: 'POST', body: form });

    // THEN it lands under the prefix with its file name
    expect(res.status).toBe(204);
    expect(Buffer.from(await storage.get(`${post.keyPrefix}notes.txt`)).toString()).toBe('a small file');
  });

  test('POST over the size limit, or outside the key prefix: refused, and nothing is stored', async () => {
    // GIVEN a form for files of at most 8 bytes under its prefix
    const post = await storage.presignPost({ keyPrefix: 'incoming/', maxBytes: 8 });
    const send = async (fields: Record<string, string>, content: string) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append('file', new Blob([content]), 'big.txt');
      const res = await fetch(post.url, { method: 'POST', body: form });
      return { status: res.status, body: await res.text() };
    };
    // WHEN a browser posts more than that
    const big = await send(post.fields, 'this is more than eight bytes');
    // THEN S3 refuses it (the local cloud checks the signed policy as S3 does; moto 5.2 alone stores it)
    expect(big.status).toBe(400);
    expect(big.body).toMatch(/<Code>EntityTooLarge<\/Code>/);
    // AND a key changed to leave the prefix is refused too, while the same form within its limits works
    const outside = await send({ ...post.fields, key: 'elsewhere/${filename}' }, 'small');
    expect(outside.status).toBe(403);
    expect(outside.body).toMatch(/Policy Condition failed: \["starts-with", "\$key"/);
    expect((await send(post.fields, 'small')).status).toBe(204);
    await expect(storage.get(`${post.keyPrefix}big.txt`)).resolves.toEqual(new Uint8Array(Buffer.from('small')));
    await expect(storage.exists('elsewhere/big.txt')).resolves.toBe(false);
  });

  test('fail on bad presign options, naming each', async () => {
    await expect(storage.presignPost({ keyPrefix: '/abs', maxBytes: 0 })).rejects.toThrow(/maxBytes must be an integer from 1[\s\S]*keyPrefix must be a key prefix without a leading slash/);
    await expect(storage.presignPut('not-a-hash', { bytes: 1 })).rejects.toThrow(StorageOptionsError);
    await expect(storage.presignPut(sha256Of('x').hex, { bytes: -1 })).rejects.toThrow(/bytes must be a whole number of bytes from 0 to maxBytes \(5368709120\), received -1/);
    await expect(storage.presignPut(sha256Of('x').hex, { bytes: 2048, maxBytes: 1024 })).rejects.toThrow(/bytes must be .* to maxBytes \(1024\), received 2048/);
  });
});

describe('object-created events', () => {
  test('an upload under the prefix becomes exactly one message naming it', async () => {
    // GIVEN object-created events of incoming/ sent to a queue, as SharedStorage configures them
    const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 30 });
    const queueArn = `arn:aws:sqs:us-east-1:123456789012:${queueUrl.split('/').pop()}`;
    await s3.send(new PutBucketNotificationConfigurationCommand({
      Bucket: BUCKET,
      NotificationConfiguration: {
        QueueConfigurations: [{ QueueArn: queueArn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'incoming/' }] } } }],
      },
    }));
    // WHEN one object is uploaded under it and one elsewhere
    await storage.upload('incoming/photo 1.jpg', 'jpeg bytes');
    await storage.upload('elsewhere/other.jpg', 'jpeg bytes');

    // THEN besides S3's test event (sent when notifications are configured), one message names the key
    const out = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const bodies = (out.Messages ?? []).map((m) => JSON.parse(m.Body!) as { Event?: string });
    expect(bodies.filter((b) => b.Event !== 's3:TestEvent')).toHaveLength(1);
    const created = bodies.flatMap(parseObjectCreatedEvent);
    expect(created).toEqual([expect.objectContaining({ bucket: BUCKET, key: 'incoming/photo 1.jpg', eventName: 'ObjectCreated:Put' })]);
    await s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: BUCKET, NotificationConfiguration: {} }));
  });

  test('parse S3\'s test event as no object, and reject a body that is not an S3 event', () => {
    expect(parseObjectCreatedEvent({ Service: 'Amazon S3', Event: 's3:TestEvent' })).toEqual([]);
    expect(() => parseObjectCreatedEvent({ hello: 1 })).toThrow(/Records array/);
  });
});

describe('the client\'s IAM contract', () => {
  test('the S3 actions SharedStorage grants (read, write, delete prefixes) are exactly those the client calls, versioned deletes included', () => {
    // Runs last in this file: every command the tests above made the client send, with its input.
    const granted = [...STORAGE_READ_ACTIONS, ...STORAGE_WRITE_ACTIONS, ...STORAGE_DELETE_ACTIONS].sort();
    const unmapped = [...commandsCalled].filter(([, action]) => action === undefined).map(([command]) => command);
    expect(unmapped).toEqual([]);
    expect([...new Set(commandsCalled.values())].sort()).toEqual(granted);
    expect(commandsCalled.size).toBeGreaterThanOrEqual(9);
  });
});
