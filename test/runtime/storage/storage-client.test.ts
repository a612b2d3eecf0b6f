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
  PutBucketVersioningCommand, S3Client,
} from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import {
  STORAGE_DELETE_ACTIONS, STORAGE_READ_ACTIONS, STORAGE_WRITE_ACTIONS,
} from '../../../contracts/shared-storage';
import {
  ChecksumMismatchError, NotFoundError, parseObjectCreatedEvent, SharedStorageClient, sha256Of, StorageOptionsError, TooLargeError,
  UploadAbortedError,
} from '../../../runtime/storage';
import { startCountingProxy, type CountingProxy } from '../../support/counting-proxy';
import { createWorkQueue, useLocalAws } from '../../support/local-aws';

/** V8's collector, to measure live memory rather than garbage not yet collected. */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const aws = useLocalAws();
const BUCKET = 'shared-storage-test';
let proxy: CountingProxy;
let s3: S3Client;
let storage: SharedStorageClient;
const commandsCalled = new Set<string>();
let tmp: string;

/** The IAM action each S3 command the client sends needs (HEAD is s3:GetObject; multipart steps are s3:PutObject). */
const IAM_ACTION_OF: Record<string, string> = {
  HeadObjectCommand: 's3:GetObject',
  GetObjectCommand: 's3:GetObject',
  PutObjectCommand: 's3:PutObject',
  CreateMultipartUploadCommand: 's3:PutObject',
  UploadPartCommand: 's3:PutObject',
  CompleteMultipartUploadCommand: 's3:PutObject',
  AbortMultipartUploadCommand: 's3:AbortMultipartUpload',
  DeleteObjectCommand: 's3:DeleteObject',
};

beforeAll(async () => {
  proxy = await startCountingProxy(aws.moto.endpoint);
  s3 = new S3Client({ endpoint: proxy.endpoint, forcePathStyle: true });
  s3.middlewareStack.add((next, context) => async (args) => {
    commandsCalled.add(context.commandName ?? '?');
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

    // WHEN it is stored, sampling live memory meanwhile (collected first, so garbage is not counted)
    gc();
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakLive = 0;
    const sampler = setInterval(() => {
      gc();
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakLive = Math.max(peakLive, m.arrayBuffers + m.heapUsed - before.arrayBuffers - before.heapUsed);
    }, 500);
    const progress: number[] = [];
    let out;
    try {
      out = await storage.putFile(file, { onProgress: (p) => progress.push(p.loaded) });
    } finally {
      clearInterval(sampler);
    }

    console.log(`50 MiB upload: live memory peak +${(peakLive / 1024 ** 2).toFixed(1)} MiB, RSS peak +${((peakRss - before.rss) / 1024 ** 2).toFixed(1)} MiB`);
    // THEN it went in 10 parts of 5 MiB, with progress up to the whole size
    expect(out).toMatchObject({ created: true, bytes: size });
    expect(progress.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...progress)).toBe(size);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: out.key, ChecksumMode: 'ENABLED' }));
    expect(head.ContentLength).toBe(size);
    expect(head.Metadata?.sha256).toBe(out.sha256.hex);
    // AND live memory stayed at a few parts, not the 50 MiB file: 2 in flight, 1 being filled, and
    // the SDK's copies of a part while it signs and sends it (measured 16 to 35 MiB here, the
    // spread being when the garbage collector last ran; 8 parts' worth is the bound)
    const mib = (n: number) => n / 1024 ** 2;
    expect(mib(peakLive)).toBeLessThan(40);
    expect(mib(peakRss - before.rss)).toBeLessThan(50);

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

  test('delete what it uploaded and fail when the content is not the expected SHA-256', async () => {
    const wrong = sha256Of('something else').hex;
    await expect(storage.upload('uploads/checked.txt', 'actual content', { expectedSha256: wrong })).rejects.toThrow(ChecksumMismatchError);
    await expect(storage.get('uploads/checked.txt')).rejects.toThrow(NotFoundError);
  });
});

describe('presigned URLs through fetch', () => {
  test('GET: reads the object until the URL expires', async () => {
    const { key } = await storage.putContent('shared via a link');
    const res = await fetch(await storage.presignGet(key, { expiresInSeconds: 60 }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('shared via a link');
  });

  test('PUT: signs the SHA-256 header, and stores the right body at its content key', async () => {
    // GIVEN a browser that computed the SHA-256 of its file
    const body = 'uploaded by a browser';
    const put = await storage.presignPut(sha256Of(body).hex);
    // THEN the checksum header is signed (not a query parameter the caller could drop)
    const url = new URL(put.url);
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('x-amz-checksum-sha256');
    expect(url.searchParams.has('x-amz-checksum-sha256')).toBe(false);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBe(300);
    // WHEN it PUTs the file with the headers given
    const res = await fetch(put.url, { method: 'PUT', headers: put.headers, body });
    // THEN it is stored at its content key and verifies
    expect(res.status).toBe(200);
    expect((await storage.verify(put.key)).hex).toBe(sha256Of(body).hex);
  });

  test('PUT with a wrong body: refused with BadDigest, and nothing is stored', async () => {
    // GIVEN a URL for one content
    const put = await storage.presignPut(sha256Of('the announced content').hex);
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
    await expect(storage.presignPut('not-a-hash')).rejects.toThrow(StorageOptionsError);
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
  test('calls only S3 actions SharedStorage grants (read, write, delete prefixes)', () => {
    // Runs last in this file: every command the tests above made the client send.
    const granted = new Set<string>([...STORAGE_READ_ACTIONS, ...STORAGE_WRITE_ACTIONS, ...STORAGE_DELETE_ACTIONS]);
    const clientCommands = [...commandsCalled].filter((c) => !/Bucket|ListObjectVersions|ListMultipartUploads/.test(c));
    expect(clientCommands.length).toBeGreaterThanOrEqual(7);
    for (const command of clientCommands) {
      expect([command, IAM_ACTION_OF[command]]).toEqual([command, expect.any(String)]);
      expect(granted.has(IAM_ACTION_OF[command])).toBe(true);
    }
  });
});
