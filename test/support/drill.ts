/**
 * Failure drills of the local cloud: a small stack shaped like a catalog stack (short
 * timeouts), whose code package is uploaded to moto's S3 and which moto's CloudFormation
 * creates, so the local cloud reads and runs it exactly as it does a deployed stack.
 */
import * as fs from 'fs';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import * as path from 'path';
import { localClientConfig } from '../../local/deploy';
import type { WorkloadContext } from '../../local/workloads/types';
import { writeZip } from '../../local/zip';

/** Zips `file` as `name` into s3://bucket/key, then creates `stackName` from `template`. */
export async function deployDrill(options: {
  readonly bucket: string;
  readonly key: string;
  readonly file: string;
  readonly name: string;
  readonly stackName: string;
  readonly template: unknown;
}): Promise<{ readonly cloudformation: CloudFormationClient; readonly s3: S3Client }> {
  const s3 = new S3Client({ forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: options.bucket }));
  await s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: options.key, Body: writeZip([{ name: options.name, data: fs.readFileSync(options.file) }]) }));
  const cloudformation = new CloudFormationClient({});
  await cloudformation.send(new CreateStackCommand({ StackName: options.stackName, TemplateBody: JSON.stringify(options.template) }));
  return { cloudformation, s3 };
}

/**
 * What the local cloud gives the workloads it starts, on the test file's moto: files under
 * `workDir` (`run/`, `logs/`), the notes collected in `notes`, no echo of the workloads' logs.
 */
export function drillContext(options: {
  readonly endpoint: string;
  readonly workDir: string;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly autoscaling?: AutoScalingClient;
  readonly notes: string[];
}): WorkloadContext {
  return {
    endpoint: options.endpoint,
    workDir: path.join(options.workDir, 'run'),
    logDir: path.join(options.workDir, 'logs'),
    s3: options.s3,
    sqs: options.sqs,
    lambda: new LambdaClient({}),
    clientConfig: localClientConfig(options.endpoint),
    ...(options.autoscaling ? { autoscaling: options.autoscaling } : {}),
    note: (line) => options.notes.push(line),
    echoLogs: false,
  };
}
