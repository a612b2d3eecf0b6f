/**
 * The upload demo of the local cloud. Every deployed records table that declares it
 * (contracts/shared-storage.ts: UPLOAD_DEMO_WORKLOAD, as SharedStorageStack does) gets a few
 * files uploaded under `incoming/` of its bucket, with a plain PutObject as any S3 tool would.
 * The bucket's object-created notifications (applied by the shared-storage workload, since
 * moto's CloudFormation ignores them) put each upload on the work queue as a job; the deployed
 * worker writes a summary under `results/` and a record in the table. "Done exactly once" is:
 * a summary whose SHA-256 is the upload's, and exactly one record naming the upload.
 */
import { createHash } from 'crypto';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  RECORD_DATA_ATTRIBUTE, STORAGE_STACK_INCOMING_PREFIX, STORAGE_STACK_RESULTS_PREFIX, UPLOAD_DEMO_WORKLOAD, storageStackResultKey,
} from '../contracts/shared-storage';
import type { DemoKind, RunningDemo } from './demo';
import type { Inventory } from './inventory';

/** A stack that takes demo uploads. */
export interface UploadDemoTarget {
  readonly stackName: string;
  readonly bucketName: string;
  readonly recordsTable: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

/** The stacks of `inventory` that take demo uploads, found by their declarations. */
export function uploadDemoTargets(inventory: Inventory): UploadDemoTarget[] {
  return inventory.declarations(UPLOAD_DEMO_WORKLOAD).map((d) => ({
    stackName: d.stackName,
    bucketName: d.declaration.bucketName,
    recordsTable: d.physicalId,
    queueUrl: d.declaration.queueUrl,
    deadLetterQueueUrl: d.declaration.deadLetterQueueUrl,
  }));
}

/** One uploaded file. */
export interface DemoUpload {
  readonly key: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Files uploaded to one target. */
export interface UploadDemoRun {
  readonly target: UploadDemoTarget;
  readonly uploads: readonly DemoUpload[];
  /** Epoch ms when they were uploaded. */
  readonly sentAt: number;
}

/** The content of demo file `i` of `count`: a few lines, longer as `i` grows (tens of bytes to a few KiB). */
export function demoFileContent(i: number, count: number): string {
  const line = `demo upload ${i} of ${count}: this file becomes a job, a summary under ${STORAGE_STACK_RESULTS_PREFIX} and a record\n`;
  return line.repeat(1 + (i - 1) * 8);
}

/** Uploads `count` text files under `incoming/demo-<time>/` of the target's bucket. */
export async function sendDemoUploads(target: UploadDemoTarget, s3: S3Client, count: number): Promise<UploadDemoRun> {
  const sentAt = Date.now();
  const folder = `${STORAGE_STACK_INCOMING_PREFIX}demo-${sentAt}/`;
  const uploads = await Promise.all(Array.from({ length: count }, async (_, n) => {
    const body = Buffer.from(demoFileContent(n + 1, count));
    const key = `${folder}file-${n + 1}.txt`;
    await s3.send(new PutObjectCommand({ Bucket: target.bucketName, Key: key, Body: body, ContentType: 'text/plain' }));
    return { key, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  }));
  return { target, uploads, sentAt };
}

/** How far an upload demo is. */
export interface UploadDemoStatus {
  /** Uploads with a correct summary and one record. */
  readonly done: number;
  /** Records in the table (including those of the user's own uploads). */
  readonly records: number;
  /** What is wrong so far, one line per upload: no summary yet, a wrong summary, no record or more than one. */
  readonly pending: readonly string[];
  /** Messages in the dead-letter queue. */
  readonly deadLettered: number;
}

/** The `source` of every record in `table` (the worker records the upload's key there), with how many records name it. */
async function recordSources(dynamodb: DynamoDBClient, table: string): Promise<{ total: number; bySource: Map<string, number> }> {
  const bySource = new Map<string, number>();
  let total = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      total++;
      const source = item[RECORD_DATA_ATTRIBUTE]?.M?.source?.S;
      if (source !== undefined) bySource.set(source, (bySource.get(source) ?? 0) + 1);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { total, bySource };
}

/** The summary the worker wrote for `key`, or undefined while there is none. */
async function summaryOf(s3: S3Client, bucket: string, key: string): Promise<{ sha256?: string; bytes?: number } | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: storageStackResultKey(key) }));
    return JSON.parse(await out.Body!.transformToString()) as { sha256?: string; bytes?: number };
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
    throw e;
  }
}

/** Reads the bucket, the table and the dead-letter queue of `run`. */
export async function uploadDemoStatus(run: UploadDemoRun, clients: { s3: S3Client; dynamodb: DynamoDBClient; sqs: SQSClient }): Promise<UploadDemoStatus> {
  const { target } = run;
  const [records, summaries, dlq] = await Promise.all([
    recordSources(clients.dynamodb, target.recordsTable),
    Promise.all(run.uploads.map((u) => summaryOf(clients.s3, target.bucketName, u.key))),
    clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: target.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] })),
  ]);
  const pending: string[] = [];
  run.uploads.forEach((upload, i) => {
    const summary = summaries[i];
    const n = records.bySource.get(upload.key) ?? 0;
    if (summary === undefined) pending.push(`${upload.key}: no summary at ${storageStackResultKey(upload.key)} yet`);
    else if (summary.sha256 !== upload.sha256 || summary.bytes !== upload.bytes) {
      pending.push(`${upload.key}: its summary says ${summary.bytes} bytes, SHA-256 ${summary.sha256}; it was ${upload.bytes} bytes, ${upload.sha256}`);
    } else if (n !== 1) pending.push(`${upload.key}: ${n} records name it, not 1`);
  });
  const a = dlq.Attributes ?? {};
  return {
    done: run.uploads.length - pending.length,
    records: records.total,
    pending,
    deadLettered: Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** The uploads of `run`, as a {@link RunningDemo}. */
export function uploadDemo(run: UploadDemoRun, clients: { s3: S3Client; dynamodb: DynamoDBClient; sqs: SQSClient }): RunningDemo {
  const { target } = run;
  return {
    stackName: target.stackName,
    kind: 'uploads',
    total: run.uploads.length,
    progress: async () => {
      const status = await uploadDemoStatus(run, clients);
      return { done: status.done };
    },
    problems: async () => {
      const status = await uploadDemoStatus(run, clients);
      return [
        ...status.pending.map((p) => `${target.stackName}: ${p}`),
        ...(status.deadLettered > 0 ? [`${target.stackName}: ${status.deadLettered} jobs in the dead-letter queue`] : []),
      ];
    },
    howToUse: (endpoint, env) => [
      `Upload a file to ${target.stackName} (it becomes a job, a summary under ${STORAGE_STACK_RESULTS_PREFIX} and a record):`,
      `  ${env} \\`,
      `    aws --endpoint-url ${endpoint} s3 cp README.md s3://${target.bucketName}/${STORAGE_STACK_INCOMING_PREFIX}README.md`,
      `  Summary: aws --endpoint-url ${endpoint} s3 cp s3://${target.bucketName}/${storageStackResultKey(`${STORAGE_STACK_INCOMING_PREFIX}README.md`)} -`,
      `  Records: aws --endpoint-url ${endpoint} dynamodb scan --table-name ${target.recordsTable}`,
    ],
  };
}

/** Files uploaded to each stack that takes demo uploads (SharedStorageStack). */
export const DEMO_UPLOADS = 5;

/** {@link DEMO_UPLOADS} files uploaded to every stack that declares the upload demo, once its worker runs. */
export const uploadDemos: DemoKind = (inventory, setup) => uploadDemoTargets(inventory).map((target) => ({
  stackName: target.stackName,
  ready: (workloads) => workloads.some((w) => w.queueUrl === target.queueUrl),
  async start() {
    const run = await sendDemoUploads(target, setup.clients.s3, DEMO_UPLOADS);
    const folder = run.uploads[0]!.key.replace(/[^/]+$/, '');
    setup.print(`Demo: uploaded ${run.uploads.length} files (${run.uploads.reduce((n, u) => n + u.bytes, 0)} bytes) under s3://${target.bucketName}/${folder} of ${target.stackName}: each must become a job, a result and a record.`);
    return uploadDemo(run, setup.clients);
  },
}));
