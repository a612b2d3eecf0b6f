/**
 * SharedStorageStack as `cdk synth` makes it: cdk-nag (AwsSolutions, Serverless) with no
 * unacknowledged finding, and the wiring from uploads to the worker. cfn-lint and the snapshot
 * run in test/lib/stacks/catalog-app.test.ts, over every catalog stack at once (one cfn-lint start).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, type CfnResource } from 'aws-cdk-lib/core';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { STORAGE_BUCKET_ENV, STORAGE_RECORDS_TABLE_ENV, UPLOAD_DEMO_WORKLOAD } from '../../../contracts/shared-storage';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { SharedStorageStack } from '../../../lib/stacks/shared-storage-stack';
import { addCatalogChecks } from '../../../lib/testing';

describe('SharedStorageStack', () => {
  let outdir: string;
  let stack: SharedStorageStack;
  let template: Template;

  beforeAll(() => {
    // GIVEN the stack in an app with the catalog's checks
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-stack-'));
    const app = new App({ outdir });
    stack = new SharedStorageStack(app, 'SharedStorageStack');
    addCatalogChecks(app);
    // WHEN it synthesizes (an unacknowledged cdk-nag finding throws here)
    app.synth();
    template = Template.fromStack(stack);
  });
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  test('passes cdk-nag with every acknowledgement scoped to a key prefix', () => {
    // synth() above threw on any unacknowledged finding; the IAM5 acknowledgements name the prefixes
    const acks = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').flatMap((m) => Object.keys(m.data as object)));
    expect(acks.filter((id) => id.includes('AwsSolutions-IAM5[Resource::<Storage'))).toEqual(expect.arrayContaining([
      expect.stringMatching(/\/incoming\/\*\]$/), expect.stringMatching(/\/results\/\*\]$/),
    ]));
    expect(fs.existsSync(path.join(outdir, 'SharedStorageStack.template.json'))).toBe(true);
  });

  test('sends object-created events under incoming/ to the work queue, without a custom resource', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { QueueConfigurations: [{ Event: 's3:ObjectCreated:*', Queue: stack.resolve(stack.workQueue.queue.queueArn), Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'incoming/' }] } } }] },
    });
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });

  test('gives the worker the storage\'s environment and exactly its grants: read incoming/, write results/, records', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [STORAGE_BUCKET_ENV]: stack.resolve(stack.storage.bucket.bucketName), [STORAGE_RECORDS_TABLE_ENV]: stack.resolve(stack.storage.recordsTable!.tableName) }) },
    });
    const bucketArn = stack.resolve(stack.storage.bucket.bucketArn);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [bucketArn, '/incoming/*']] } },
          { Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: { 'Fn::Join': ['', [bucketArn, '/results/*']] } },
          { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: stack.resolve(stack.storage.recordsTable!.tableArn) },
        ]),
      },
    });
  });

  test('declares the upload demo on its records table, for the local cloud', () => {
    const table = stack.storage.recordsTable!.node.defaultChild as CfnResource;
    expect(template.toJSON().Resources[stack.resolve(table.logicalId) as string].Metadata[WORKLOAD_METADATA_KEY]).toEqual({
      kind: UPLOAD_DEMO_WORKLOAD.kind,
      version: UPLOAD_DEMO_WORKLOAD.version,
      bucketName: stack.resolve(stack.storage.bucket.bucketName),
      queueUrl: stack.resolve(stack.workQueue.queue.queueUrl),
      deadLetterQueueUrl: stack.resolve(stack.workQueue.deadLetterQueue!.queueUrl),
    });
  });

  test('outputs what a user and the local cloud need', () => {
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(['BucketName', 'DeadLetterQueueUrl', 'QueueUrl', 'RecordsTableName', 'WorkerFunctionName']);
  });
});
