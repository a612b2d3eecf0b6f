/**
 * The storage client's side of the storage benchmark, bundled into one file
 * (bench/storage.bench.ts builds it) and run two ways:
 * - forked, long-lived: a program of the user's that uploads a folder when asked (the parent
 *   sends `{ endpoint, bucket, files, concurrency }`; it answers the milliseconds its putFile
 *   calls took, from the first call to the last answer);
 * - one-shot, `node ours.js <endpoint> <bucket> <concurrency> <file>...`: a command, as rclone and
 *   the AWS CLI are run, timed by the parent from spawn to exit (Node's start-up included).
 * putFile runs on at most `concurrency` files at once, in the folder's order.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SharedStorageClient } from '../../runtime/index';

interface Upload {
  readonly endpoint: string;
  readonly bucket: string;
  readonly files: readonly string[];
  readonly concurrency: number;
  /** The client's headCheckFromBytes. @default - its default */
  readonly headCheckFromBytes?: number;
}

const clients = new Map<string, S3Client>();

async function upload(u: Upload): Promise<number> {
  let s3 = clients.get(u.endpoint);
  if (!s3) {
    s3 = new S3Client({ endpoint: u.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    clients.set(u.endpoint, s3);
  }
  const storage = new SharedStorageClient({ bucket: u.bucket, s3, ...(u.headCheckFromBytes === undefined ? {} : { headCheckFromBytes: u.headCheckFromBytes }) });
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: u.concurrency }, async () => {
    while (next < u.files.length) await storage.putFile(u.files[next++]!);
  }));
  return performance.now() - started;
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
if (process.send && process.argv.length <= 2) {
  process.on('message', (m: Upload | { type: 'exit' }) => {
    if ('type' in m) {
      process.disconnect();
      return;
    }
    upload(m).then((ms) => process.send!({ ms }), (e: Error) => process.send!({ error: e.stack ?? e.message }));
  });
  process.send({ ready: true });
} else {
  const [endpoint, bucket, concurrency, ...files] = process.argv.slice(2);
  upload({ endpoint: endpoint!, bucket: bucket!, concurrency: Number(concurrency), files }).then(
    () => process.exit(0),
    (e: Error) => {
      process.stderr.write(`${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
