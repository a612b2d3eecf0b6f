/** SharedStorage: its template for every default and option, its grants and metrics, and each validation rule. */
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib/core';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  RECORDS_READ_ACTIONS, RECORDS_WRITE_ACTIONS, STORAGE_BUCKET_ENV, STORAGE_READ_ACTIONS, STORAGE_RECORDS_TABLE_ENV, STORAGE_WRITE_ACTIONS,
} from '../../../contracts/shared-storage';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { SharedStorage, SharedStorageEncryption, WorkQueue, WorkQueueEncryption, type SharedStorageProps } from '../../../lib';
import { newStack, templateOf } from '../../support/stacks';

function build(props?: SharedStorageProps) {
  const { stack } = newStack();
  const storage = new SharedStorage(stack, 'Storage', props);
  return {
    stack,
    storage,
    get template() {
      return templateOf(stack);
    },
  };
}

let roles = 0;
const role = (stack: ReturnType<typeof newStack>['stack']) => new iam.Role(stack, `Role${roles++ || ''}`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });

describe('SharedStorage defaults', () => {
  const { stack, storage, template } = build();
  const bucketRef = stack.resolve(storage.bucket.bucketName);

  test('encrypts with SSE-S3 and blocks all public access and ACLs', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  test('denies requests without TLS and below TLS 1.2', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: bucketRef,
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  test('aborts incomplete multipart uploads after 1 day and expires old versions after 30 days', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }),
        ]),
      },
    });
  });

  test('logs access to a separate, secure log bucket that keeps logs 90 days, delivered by bucket policy', () => {
    const logs = stack.resolve(storage.accessLogsBucket!.bucketName);
    template.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: { DestinationBucketName: logs } });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 90 })] },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true }),
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: logs,
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' })]) },
    });
  });

  test('keeps the bucket when it leaves the stack, has no CORS, no records table and no notifications', () => {
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ CorsConfiguration: Match.absent(), NotificationConfiguration: Match.absent() }) });
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
    expect(storage.environment).toEqual({ [STORAGE_BUCKET_ENV]: storage.bucket.bucketName });
  });

  test('declares its bucket and its log bucket for the local cloud', () => {
    const declared = (c: s3.IBucket) => (c.node.defaultChild as s3.CfnBucket).getMetadata(WORKLOAD_METADATA_KEY);
    expect(declared(storage.bucket)).toEqual({ kind: 'shared-storage/bucket', version: 1, role: 'objects' });
    expect(declared(storage.accessLogsBucket!)).toEqual({ kind: 'shared-storage/bucket', version: 1, role: 'access-logs' });
  });
});

describe('SharedStorage options', () => {
  test('encrypts with a new rotating KMS key and a bucket key on request, and the records table with it', () => {
    const { stack, storage, template } = build({ encryption: SharedStorageEncryption.KMS, records: true });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: stack.resolve(storage.encryptionKey!.keyArn) } }],
      },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: stack.resolve(storage.encryptionKey!.keyArn) } });
  });

  test('creates an on-demand, encrypted records table with point-in-time recovery and an optional TTL', () => {
    const { storage, template } = build({ recordsTimeToLiveAttribute: 'expiresAt' });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    expect(Object.keys(storage.environment).sort()).toEqual([STORAGE_BUCKET_ENV, 'CLOUD_PATTERNS_RECORDS_TTL_ATTRIBUTE', STORAGE_RECORDS_TABLE_ENV].sort());
  });

  test('allows browser uploads from the origins given, with the checksum header', () => {
    const { template } = build({ corsOrigins: ['https://app.example.com', 'http://localhost:3000'] });
    template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [Match.objectLike({
          AllowedOrigins: ['https://app.example.com', 'http://localhost:3000'],
          AllowedMethods: ['GET', 'HEAD', 'PUT', 'POST'],
          AllowedHeaders: Match.arrayWith(['x-amz-checksum-sha256']),
        })],
      },
    });
  });

  test('sets TLS 1.3, version expiry, upload cleanup and log retention as given, and turns request metrics on', () => {
    const { template } = build({
      minimumTlsVersion: 1.3, noncurrentVersionExpiration: Duration.days(7), abortIncompleteUploadsAfter: Duration.days(2),
      accessLogsRetention: Duration.days(30), requestMetrics: true, removalPolicy: RemovalPolicy.DESTROY,
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Condition: { NumericLessThan: { 's3:TlsVersion': 1.3 } } })]) } });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }), Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 7 } })]) },
      MetricsConfigurations: [{ Id: 'EntireBucket' }],
    });
    template.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30 })] } });
  });

  test('logs to the bucket it is given, under a prefix of its own, by that bucket\'s policy whatever the app\'s feature flags', () => {
    // GIVEN a log archive that enforces its owner (no ACLs), in an app without CDK's serverAccessLogsUseBucketPolicy flag
    const { stack } = newStack();
    const logs = new s3.Bucket(stack, 'Logs', { objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, enforceSSL: true });
    // WHEN the storage logs to it
    const storage = new SharedStorage(stack, 'Storage', { accessLogsBucket: logs });
    // THEN the bucket logs there, and S3's logging service may write under the prefix for this bucket only
    expect(storage.accessLogsBucket).toBe(logs);
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: { DestinationBucketName: stack.resolve(logs.bucketName), LogFilePrefix: 'TestStack-Storage/' } });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: stack.resolve(logs.bucketName),
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject',
        Condition: { ArnLike: { 'aws:SourceArn': stack.resolve(storage.bucket.bucketArn) }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      })]) },
    });
  });

  test('uses an existing bucket and table as they are', () => {
    const { stack } = newStack();
    const bucket = s3.Bucket.fromBucketName(stack, 'Existing', 'my-existing-bucket');
    const table = dynamodb.Table.fromTableName(stack, 'Table', 'my-records');
    const storage = new SharedStorage(stack, 'Storage', { bucket, recordsTable: table });
    templateOf(stack).resourceCountIs('AWS::S3::Bucket', 0);
    templateOf(stack).resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(storage.createdBucket).toBe(false);
    expect(storage.recordsTable).toBe(table);
    expect(storage.environment).toEqual({ [STORAGE_BUCKET_ENV]: 'my-existing-bucket', [STORAGE_RECORDS_TABLE_ENV]: 'my-records' });
  });
});

describe('SharedStorage object-created jobs', () => {
  function withJobs(queueProps = {}) {
    const { stack } = newStack();
    const jobs = new WorkQueue(stack, 'Jobs', queueProps);
    const storage = new SharedStorage(stack, 'Storage', { objectCreatedJobs: { workQueue: jobs, prefix: 'incoming/', suffix: '.csv' } });
    return { stack, jobs, storage, template: templateOf(stack) };
  }

  test('sends object-created events of matching keys to the queue through the bucket\'s own configuration, no custom resource', () => {
    const { stack, jobs, template } = withJobs();
    template.hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: {
        QueueConfigurations: [{
          Event: 's3:ObjectCreated:*',
          Queue: stack.resolve(jobs.queue.queueArn),
          Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'incoming/' }, { Name: 'suffix', Value: '.csv' }] } },
        }],
      },
    });
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
    template.resourceCountIs('AWS::Lambda::Function', 0);
  });

  test('lets S3 send to the queue for buckets of this account only, and creates the bucket after that permission', () => {
    const { stack, jobs, storage, template } = withJobs();
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [stack.resolve(jobs.queue.queueUrl)],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: 'sqs:SendMessage',
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::*']] } } },
        })]),
      },
    });
    const bucketId = stack.getLogicalId(storage.bucket.node.defaultChild as s3.CfnBucket);
    const policies = template.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [stack.resolve(jobs.queue.queueUrl)] } });
    expect(template.toJSON().Resources[bucketId].DependsOn).toEqual(expect.arrayContaining(Object.keys(policies)));
  });

  test('takes a queue of another stack, warning that its policy must already let S3 send', () => {
    const { stack } = newStack();
    const jobs = WorkQueue.fromWorkQueueAttributes(stack, 'Imported', { queueArn: 'arn:aws:sqs:us-east-1:123456789012:uploads' });
    new SharedStorage(stack, 'Storage', { objectCreatedJobs: { workQueue: jobs } });
    templateOf(stack).hasResourceProperties('AWS::S3::Bucket', { NotificationConfiguration: { QueueConfigurations: [Match.objectLike({ Queue: 'arn:aws:sqs:us-east-1:123456789012:uploads' })] } });
    Annotations.fromStack(stack).hasWarning('/TestStack/Storage', Match.stringLikeRegexp('its policy cannot be extended.*s3.amazonaws.com'));
  });

  test('lets S3 use the queue\'s KMS key', () => {
    const { template } = withJobs({ encryption: WorkQueueEncryption.KMS });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 's3.amazonaws.com' }, Action: ['kms:GenerateDataKey', 'kms:Decrypt'] })]) },
    });
  });
});

describe('SharedStorage grants and metrics', () => {
  test('grantReadPrefix allows exactly GetObject under the prefix', () => {
    const { stack, storage } = build();
    storage.grantReadPrefix(role(stack), 'incoming/');
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [stack.resolve(storage.bucket.bucketArn), '/incoming/*']] } }] },
    });
  });

  test('grantWritePrefix allows exactly PutObject and AbortMultipartUpload under the prefix, and the KMS key', () => {
    const { stack, storage } = build({ encryption: SharedStorageEncryption.KMS });
    storage.grantWritePrefix(role(stack), 'results/');
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['kms:GenerateDataKey', 'kms:Decrypt'] }),
          { Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: { 'Fn::Join': ['', [stack.resolve(storage.bucket.bucketArn), '/results/*']] } },
        ]),
      },
    });
  });

  test('grantDeletePrefix allows exactly DeleteObject and DeleteObjectVersion under the prefix (what verify\'s deleteOnMismatch calls)', () => {
    const { stack, storage } = build();
    storage.grantDeletePrefix(role(stack), 'uploads/');
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{ Effect: 'Allow', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: { 'Fn::Join': ['', [stack.resolve(storage.bucket.bucketArn), '/uploads/*']] } }],
      },
    });
  });

  test('grantReadWriteRecords allows exactly GetItem, PutItem and DeleteItem on the table', () => {
    const { stack, storage } = build({ records: true });
    storage.grantReadWriteRecords(role(stack));
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], Resource: stack.resolve(storage.recordsTable!.tableArn) }] },
    });
  });

  test('fails to grant records without a table, and a prefix with a wildcard', () => {
    const { stack, storage } = build();
    expect(() => storage.grantReadRecords(role(stack))).toThrow(/grantReadRecords needs a records table.*records: true/);
    expect(() => storage.grantReadPrefix(role(stack), 'incoming/*')).toThrow(/literal key prefix, received "incoming\/\*"/);
  });

  test('exposes size, object-count and error metrics of the bucket', () => {
    const { storage } = build({ requestMetrics: true });
    expect(storage.metricBucketSizeBytes()).toMatchObject({ namespace: 'AWS/S3', metricName: 'BucketSizeBytes', statistic: 'Maximum', period: Duration.days(1) });
    expect(storage.metricNumberOfObjects().dimensions).toEqual({ BucketName: storage.bucket.bucketName, StorageType: 'AllStorageTypes' });
    expect(storage.metricClientErrors()).toMatchObject({ metricName: '4xxErrors', statistic: 'Sum', dimensions: { BucketName: storage.bucket.bucketName, FilterId: 'EntireBucket' } });
    expect(storage.metricServerErrors()).toMatchObject({ metricName: '5xxErrors' });
  });

  test('fails to give error metrics without request metrics, saying how to turn them on', () => {
    expect(() => build().storage.metricClientErrors()).toThrow(/request metrics, which are off.*requestMetrics: true/);
  });
});

describe('SharedStorage as every stateful construct: grants by verb, an import with the same grants', () => {
  const actionsOf = (stack: ReturnType<typeof newStack>['stack'], r: iam.IRole) => Object.values(templateOf(stack).findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([stack.resolve(r.roleName)]))
    .flatMap((p) => (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap((st) => [st.Action].flat())).sort();

  test('grantRead, grantWrite and grantReadWrite cover objects under the prefix and the records, as the clients call them', () => {
    const { stack, storage } = build({ records: true });
    const [reader, writer, both] = [role(stack), role(stack), role(stack)];
    storage.grantRead(reader, 'incoming/');
    storage.grantWrite(writer, 'results/');
    storage.grantReadWrite(both);
    expect(actionsOf(stack, reader)).toEqual([...STORAGE_READ_ACTIONS, ...RECORDS_READ_ACTIONS].sort());
    expect(actionsOf(stack, writer)).toEqual([...new Set([...STORAGE_WRITE_ACTIONS, ...RECORDS_READ_ACTIONS, ...RECORDS_WRITE_ACTIONS])].sort());
    expect(new Set(actionsOf(stack, both))).toEqual(new Set([...STORAGE_READ_ACTIONS, ...STORAGE_WRITE_ACTIONS, ...RECORDS_READ_ACTIONS, ...RECORDS_WRITE_ACTIONS]));
  });

  test('storage imported from another stack gives the same grants and environment, and creates nothing', () => {
    const { stack } = newStack();
    const storage = SharedStorage.fromSharedStorageAttributes(stack, 'Storage', { bucketName: 'shared-objects', recordsTableName: 'shared-records' });
    const reader = role(stack);
    storage.grantRead(reader, 'incoming/');
    const template = templateOf(stack);
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(actionsOf(stack, reader)).toEqual([...STORAGE_READ_ACTIONS, ...RECORDS_READ_ACTIONS].sort());
    expect(stack.resolve(storage.environment)).toEqual({ [STORAGE_BUCKET_ENV]: 'shared-objects', [STORAGE_RECORDS_TABLE_ENV]: 'shared-records' });
  });
});

describe('SharedStorage for a compliance review', () => {
  test('replicates every object to replication.destination through a role whose permissions are a managed policy', () => {
    const { stack } = newStack();
    const destination = s3.Bucket.fromBucketName(stack, 'Dr', 'shared-objects-dr');
    const storage = new SharedStorage(stack, 'Storage', { replication: { destination } });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::S3::Bucket', {
      ReplicationConfiguration: { Role: Match.anyValue(), Rules: [Match.objectLike({ Destination: Match.objectLike({ Bucket: stack.resolve(destination.bucketArn) }), Status: 'Enabled' })] },
    });
    template.resourceCountIs('AWS::IAM::Policy', 0);
    expect(Object.keys(template.findResources('AWS::IAM::ManagedPolicy')).length).toBe(1);
    expect(storage.bucket).toBeDefined();
  });

  test('adds a created records table to backupPlan', () => {
    const { stack } = newStack();
    const plan = backup.BackupPlan.dailyWeeklyMonthly5YearRetention(stack, 'Plan');
    const storage = new SharedStorage(stack, 'Storage', { records: true, backupPlan: plan });
    templateOf(stack).hasResourceProperties('AWS::Backup::BackupSelection', {
      BackupSelection: Match.objectLike({ Resources: [stack.resolve(storage.recordsTable!.tableArn)] }),
    });
  });

  test('locks new objects for objectLockDefaultRetention', () => {
    const { template } = build({ objectLockDefaultRetention: s3.ObjectLockRetention.governance(Duration.days(30)) });
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } } },
    });
  });

  test('fails when replication comes without the destination\'s key under KMS, and backupPlan without a created records table', () => {
    const { stack } = newStack();
    const destination = s3.Bucket.fromBucketName(stack, 'Dr', 'shared-dr');
    expect(() => new SharedStorage(stack, 'A', { encryptionKey: new kms.Key(stack, 'K', { enableKeyRotation: true }), replication: { destination } }))
      .toThrow(/replication\.destinationKey: is needed with KMS encryption/);
    const plan = backup.BackupPlan.dailyWeeklyMonthly5YearRetention(stack, 'Plan');
    expect(() => new SharedStorage(stack, 'B', { backupPlan: plan })).toThrow(/backupPlan: backs up the records table, and this storage has none/);
    expect(() => new SharedStorage(stack, 'C', { backupPlan: plan, recordsTable: dynamodb.Table.fromTableName(stack, 'T', 't') }))
      .toThrow(/backupPlan \+ recordsTable: an existing records table is backed up \(or not\) where it is defined/);
  });
});

describe('SharedStorage validation', () => {
  const existing = (stack: ReturnType<typeof newStack>['stack']) => s3.Bucket.fromBucketName(stack, 'Existing', 'existing-bucket');

  test('fails when bucket-shaping props come with an existing bucket, listing them all in one error', () => {
    const { stack } = newStack();
    const jobs = new WorkQueue(stack, 'Jobs');
    expect(() => new SharedStorage(stack, 'Storage', { bucket: existing(stack), corsOrigins: ['https://a.example.com'], objectCreatedJobs: { workQueue: jobs } }))
      .toThrow(/bucket \+ corsOrigins, objectCreatedJobs: an existing bucket is used as it is.*configure it where the bucket is defined/);
  });

  test('a key alone means KMS, as it does for WorkQueue and s3.Bucket: the bucket and the records are encrypted with it', () => {
    // GIVEN a key, and no encryption setting
    const { stack } = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    // WHEN the storage is given the key alone
    const storage = new SharedStorage(stack, 'Storage', { encryptionKey: key, records: true });
    // THEN the bucket and the records table use it
    expect(storage.encryptionKey).toBe(key);
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: stack.resolve(key.keyArn) } })] },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: Match.objectLike({ SSEEnabled: true, KMSMasterKeyId: stack.resolve(key.keyArn) }) });
  });

  test('fails when encryptionKey comes with S3-managed encryption', () => {
    const { stack } = newStack();
    expect(() => new SharedStorage(stack, 'Storage', { encryption: SharedStorageEncryption.S3_MANAGED, encryptionKey: new kms.Key(stack, 'Key') }))
      .toThrow(/encryptionKey: means KMS encryption, but `encryption` is S3_MANAGED\. Leave `encryption` out \(a key means SharedStorageEncryption\.KMS\)/);
  });

  test.each([1.1, 1.0, 2])('fails when minimumTlsVersion is %p', (minimumTlsVersion) => {
    expect(() => build({ minimumTlsVersion })).toThrow(new RegExp(`minimumTlsVersion: must be 1.2 or 1.3.*received ${minimumTlsVersion}`));
  });

  test('fails when noncurrentVersionExpiration is not whole days', () => {
    expect(() => build({ noncurrentVersionExpiration: Duration.hours(36) })).toThrow(/noncurrentVersionExpiration: must be whole days from 1 to 36,500, received 1.5 days/);
  });

  test('fails when abortIncompleteUploadsAfter is under a day', () => {
    expect(() => build({ abortIncompleteUploadsAfter: Duration.hours(6) })).toThrow(/abortIncompleteUploadsAfter: must be whole days.*received 0.25 days/);
  });

  test('fails when accessLogsRetention is zero days', () => {
    expect(() => build({ accessLogsRetention: Duration.days(0) })).toThrow(/accessLogsRetention: must be whole days from 1 to 36,500, received 0 days/);
  });

  test('fails when accessLogsRetention comes with an accessLogsBucket', () => {
    const { stack } = newStack();
    expect(() => new SharedStorage(stack, 'Storage', { accessLogsBucket: new s3.Bucket(stack, 'Logs'), accessLogsRetention: Duration.days(9) }))
      .toThrow(/accessLogsRetention: only applies to the log bucket SharedStorage creates/);
  });

  test('fails when a CORS origin is a wildcard or has a path', () => {
    expect(() => build({ corsOrigins: ['*', 'https://ok.example.com', 'https://app.example.com/'] }))
      .toThrow(/corsOrigins: must be origins like "https:\/\/app.example.com".*received "\*", "https:\/\/app.example.com\/"/);
  });

  test('fails when the object-created queue is FIFO', () => {
    const { stack } = newStack();
    const jobs = new WorkQueue(stack, 'Jobs', { fifo: true });
    expect(() => new SharedStorage(stack, 'Storage', { objectCreatedJobs: { workQueue: jobs } })).toThrow(/objectCreatedJobs.workQueue: is a FIFO queue, and S3 sends events to standard queues only/);
  });

  test('fails when the object-created prefix starts with a slash or the suffix has a wildcard', () => {
    const { stack } = newStack();
    const jobs = new WorkQueue(stack, 'Jobs');
    expect(() => new SharedStorage(stack, 'Storage', { objectCreatedJobs: { workQueue: jobs, prefix: '/incoming/', suffix: '*.jpg' } }))
      .toThrow(/objectCreatedJobs.prefix: is a literal key prefix.*received "\/incoming\/"[\s\S]*objectCreatedJobs.suffix: is a literal key suffix.*received "\*.jpg"/);
  });

  test('fails when records is false but a records table or TTL is given', () => {
    expect(() => build({ records: false, recordsTimeToLiveAttribute: 'ttl' })).toThrow(/records: is false, yet `recordsTimeToLiveAttribute` is set/);
  });

  test('fails when an existing records table comes with a TTL attribute', () => {
    const { stack } = newStack();
    expect(() => new SharedStorage(stack, 'Storage', { recordsTable: dynamodb.Table.fromTableName(stack, 'T', 'records'), recordsTimeToLiveAttribute: 'ttl' }))
      .toThrow(/recordsTable \+ recordsTimeToLiveAttribute: an existing table keeps its own TTL setting/);
  });

  test('fails when the TTL attribute is one the client writes itself', () => {
    expect(() => build({ recordsTimeToLiveAttribute: 'version' })).toThrow(/recordsTimeToLiveAttribute: must be an attribute name.*other than the client's own id, version, data, writeId, received "version"/);
  });

  test('reports every broken rule at once', () => {
    expect(() => build({ minimumTlsVersion: 1.0, noncurrentVersionExpiration: Duration.days(0) })).toThrow(/minimumTlsVersion[\s\S]*noncurrentVersionExpiration/);
  });

  test('skips the checks of deploy-time values', () => {
    expect(() => build({ minimumTlsVersion: Token.asNumber({ Ref: 'Tls' }), corsOrigins: [Token.asString({ Ref: 'Origin' })] })).not.toThrow();
  });
});
