/**
 * SharedStorage in the local cloud: a stack with a SharedStorage and its work queue, synthesized
 * by CDK and created by moto's CloudFormation (which applies only the bucket's encryption and
 * tags), then the local cloud's `shared-storage/bucket` kind applying the rest of the deployed
 * properties through the S3 API, after which an upload under incoming/ becomes exactly one job.
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetBucketLifecycleConfigurationCommand, GetBucketLoggingCommand, GetBucketNotificationConfigurationCommand, GetBucketVersioningCommand,
  GetPublicAccessBlockCommand, PutObjectCommand, S3Client, CreateBucketCommand, PutBucketPolicyCommand,
} from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { CfnOutput, Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import { SharedStorage, WorkQueue } from '../../../lib';
import { localClientConfig } from '../../../local/deploy';
import { readInventory, type Inventory } from '../../../local/inventory';
import { sharedStorageBuckets } from '../../../local/workloads/shared-storage';
import type { Workload } from '../../../local/workloads';
import { parseObjectCreatedEvent } from '../../../runtime/storage';
import { newStack } from '../../support/stacks';
import { useLocalAws } from '../../support/local-aws';

const aws = useLocalAws();
const STACK = 'StorageDrill';

describe('the local cloud with a deployed SharedStorage', () => {
  let s3: S3Client;
  let inventory: Inventory;
  let bucket: string;
  let queueUrl: string;
  let workloads: Workload[];
  let versioningAsCreated: string | undefined;
  const notes: string[] = [];

  beforeAll(async () => {
    // GIVEN SharedStorage's template (no Lambda: nothing to upload), created by moto's CloudFormation
    const { stack } = newStack(STACK);
    const jobs = new WorkQueue(stack, 'Jobs');
    const storage = new SharedStorage(stack, 'Storage', { records: true, objectCreatedJobs: { workQueue: jobs, prefix: 'incoming/' } });
    new CfnOutput(stack, 'BucketName', { value: storage.bucket.bucketName });
    new CfnOutput(stack, 'QueueUrl', { value: jobs.queue.queueUrl });
    const cloudformation = new CloudFormationClient({});
    // Without the bootstrap-version check (an SSM parameter `cdk bootstrap` creates; this test does not bootstrap).
    const { Parameters: _bootstrapVersion, Rules: _check, ...template } = Template.fromStack(stack as Stack).toJSON();
    await cloudformation.send(new CreateStackCommand({ StackName: STACK, TemplateBody: JSON.stringify(template) }));
    s3 = new S3Client({ forcePathStyle: true });
    inventory = await readInventory(aws.moto.endpoint, { cloudformation, lambda: new LambdaClient({}), sqs: aws.sqs }, [STACK]);
    bucket = inventory.stacks[0]!.outputs.BucketName!;
    queueUrl = inventory.stacks[0]!.outputs.QueueUrl!;
    versioningAsCreated = (await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status;

    // WHEN the local cloud starts the shared-storage kind
    workloads = await sharedStorageBuckets.start(inventory, {
      endpoint: aws.moto.endpoint, workDir: '/nonexistent', logDir: '/nonexistent', s3, sqs: aws.sqs, lambda: new LambdaClient({}),
      clientConfig: localClientConfig(aws.moto.endpoint), note: (line) => notes.push(line), echoLogs: false,
    });
  });
  afterAll(() => s3?.destroy());

  test('finds both declared buckets, and moto\'s CloudFormation alone left the bucket unversioned', () => {
    expect(inventory.declarations({ kind: 'shared-storage/bucket', version: 1 } as never).map((d) => d.declaration)).toEqual(expect.arrayContaining([
      expect.objectContaining({ role: 'objects' }), expect.objectContaining({ role: 'access-logs' }),
    ]));
    // Were moto to apply it one day, this kind would be redundant for versioning: this says so.
    expect(versioningAsCreated).toBeUndefined();
    expect(notes).toEqual([]);
  });

  test('keeps the TLS-only policy statements out, which moto enforces and would refuse its plain-HTTP requests with', async () => {
    // GIVEN the full deployed policy on a scratch bucket (protection on), then the kind's applied policy
    const scratch = 'tls-only-drill';
    await s3.send(new CreateBucketCommand({ Bucket: scratch }));
    const tlsOnly = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: [`arn:aws:s3:::${scratch}`, `arn:aws:s3:::${scratch}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] };
    await s3.send(new PutBucketPolicyCommand({ Bucket: scratch, Policy: JSON.stringify(tlsOnly) }));
    // THEN moto refuses a plain-HTTP write to it, and the kind listed the statements it kept out
    await expect(s3.send(new PutObjectCommand({ Bucket: scratch, Key: 'x', Body: 'x' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect(workloads.find((w) => w.title.includes('(objects)'))!.title).toMatch(/not applied: 2 TLS-only bucket policy statements: kept out \(the embedded AWS speaks plain HTTP on loopback\)/);
  });

  test('applies the deployed bucket properties through the S3 API and lists what it applied', async () => {
    const objects = workloads.find((w) => w.title.includes('(objects)'))!;
    expect(objects.title).toMatch(/applied versioning Enabled; public access block \(BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls, RestrictPublicBuckets\); object ownership BucketOwnerEnforced; lifecycle rules AbortIncompleteMultipartUploads, ExpireNoncurrentVersions, RemoveExpiredDeleteMarkers; access logs to s3:\/\/.+\/; s3:ObjectCreated:\* events \(prefix incoming\/\) to queue /);
    expect(workloads.find((w) => w.title.includes('(access-logs)'))!.title).toMatch(/lifecycle rules ExpireAccessLogs/);

    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    const lifecycle = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
    expect(lifecycle.find((r) => r.ID === 'AbortIncompleteMultipartUploads')?.AbortIncompleteMultipartUpload).toEqual({ DaysAfterInitiation: 1 });
    expect(lifecycle.find((r) => r.ID === 'ExpireNoncurrentVersions')?.NoncurrentVersionExpiration).toMatchObject({ NoncurrentDays: 30 });
    expect((await s3.send(new GetBucketLoggingCommand({ Bucket: bucket }))).LoggingEnabled?.TargetBucket).toBeTruthy();
    const events = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    expect(events.QueueConfigurations).toEqual([expect.objectContaining({ Events: ['s3:ObjectCreated:*'], QueueArn: expect.stringMatching(/^arn:aws:sqs:us-east-1:\d+:/) })]);
  });

  test('then an upload under incoming/ becomes exactly one job on the deployed queue', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'incoming/scan.pdf', Body: 'pdf' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'other/ignored.pdf', Body: 'pdf' }));
    const out = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const objects = (out.Messages ?? []).flatMap((m) => parseObjectCreatedEvent(JSON.parse(m.Body!)));
    expect(objects).toEqual([expect.objectContaining({ bucket, key: 'incoming/scan.pdf' })]);
  });
});
