/** LambdaWorker: its template for every default and option, the visibility rule, and each validation rule. */
import * as fs from 'fs';
import * as path from 'path';
import { Duration, RemovalPolicy, Token, Validations, type CfnResource, type Stack } from 'aws-cdk-lib/core';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { LAMBDA_WORKER_WORKLOAD } from '../../../contracts/work-queue';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { LambdaWorker, WorkQueue, type LambdaWorkerProps, type WorkQueueProps } from '../../../lib';
import { LAMBDA_UNUSED_SDK_MODULES } from '../../../lib/core/bundling';
import { newStack, newVpc, templateOf } from '../../support/stacks';

const ENTRY = path.join(__dirname, 'fixtures', 'job-handler.ts');
const code = () => lambda.Code.fromInline('export const handler = async () => ({ batchItemFailures: [] });');

function build(props: Partial<LambdaWorkerProps> = {}, queueProps?: WorkQueueProps) {
  const { stack } = newStack();
  const workQueue = new WorkQueue(stack, 'Jobs', queueProps);
  const worker = new LambdaWorker(stack, 'Worker', { workQueue, code: code(), ...props });
  return {
    stack,
    workQueue,
    worker,
    get template() {
      return templateOf(stack);
    },
  };
}

function policyStatements(stack: Stack): unknown[] {
  const policies = templateOf(stack).findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('LambdaWorker defaults', () => {
  const { stack, worker, workQueue, template } = build();

  test('runs on the latest Node.js runtime, arm64, 512 MiB, 30 s, traced, with JSON logs', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 30,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: stack.resolve(worker.logGroup.logGroupName) },
    });
  });

  test('is fed by the queue in batches of 10 and always reports batch item failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: stack.resolve(workQueue.queue.queueArn),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumBatchingWindowInSeconds: Match.absent(),
      ScalingConfig: Match.absent(),
    });
  });

  test('declares itself on its event source mapping for the local cloud: the function and the queue', () => {
    template.hasResource('AWS::Lambda::EventSourceMapping', {
      Metadata: {
        [WORKLOAD_METADATA_KEY]: {
          kind: LAMBDA_WORKER_WORKLOAD.kind,
          version: LAMBDA_WORKER_WORKLOAD.version,
          functionName: stack.resolve(worker.function.functionName),
          queueUrl: stack.resolve(workQueue.queue.queueUrl),
        },
      },
    });
  });

  test('sets the queue visibility timeout to six times the function timeout', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 180, RedrivePolicy: Match.anyValue() });
  });

  test('keeps logs a month in its own log group', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('retains its log group when the stack is deleted', () => {
    // the logs of a deleted stack's jobs stay readable for their retention
    template.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('has a role of its own with no managed policies, writing only to its log group', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
    expect(policyStatements(stack)).toContainEqual({
      Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: stack.resolve(worker.logGroup.logGroupArn),
    });
  });

  test('has no idempotency table or settings', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(worker.idempotencyTable).toBeUndefined();
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0]!;
    expect(fn.Properties.Environment).toBeUndefined();
  });
});

describe('LambdaWorker options', () => {
  test('passes batch size, batching window and maximum concurrency to the event source', () => {
    const { template } = build({ batchSize: 100, maxBatchingWindow: Duration.seconds(5), maxConcurrency: 20 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 100, MaximumBatchingWindowInSeconds: 5, ScalingConfig: { MaximumConcurrency: 20 } });
  });

  test('adds the batching window to the visibility timeout it needs', () => {
    const { template } = build({ timeout: Duration.minutes(2), maxBatchingWindow: Duration.seconds(20) });
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 6 * 120 + 20, RedrivePolicy: Match.anyValue() });
  });

  test('sets memory, tracing, log retention, architecture and extra environment', () => {
    const { template } = build({
      memorySize: 1024, tracing: lambda.Tracing.DISABLED, logRetention: 7, architecture: lambda.Architecture.X86_64, environment: { STAGE: 'test' },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024, TracingConfig: Match.absent(), Architectures: ['x86_64'], Environment: { Variables: { STAGE: 'test' } } });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  test('with idempotency, creates an encrypted table with TTL and point-in-time recovery, and tells the handler', () => {
    const { stack, worker, template } = build({ idempotency: true });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { CLOUD_PATTERNS_IDEMPOTENCY_TABLE: stack.resolve(worker.idempotencyTable!.tableName), CLOUD_PATTERNS_IDEMPOTENCY_TTL_SECONDS: '86400' } },
    });
  });

  test('with idempotency, grants only the four record calls on that table', () => {
    const { stack, worker } = build({ idempotency: true, idempotencyTtl: Duration.hours(2) });
    const dynamoStatements = policyStatements(stack).filter((s) => JSON.stringify(s).includes('dynamodb:'));
    expect(dynamoStatements).toEqual([{
      Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], Resource: stack.resolve(worker.idempotencyTable!.tableArn),
    }]);
  });

  test('uses an idempotency table it is given', () => {
    const { stack } = newStack();
    const table = dynamodb.Table.fromTableName(stack, 'Existing', 'records');
    const worker = new LambdaWorker(stack, 'Worker', { workQueue: new WorkQueue(stack, 'Jobs'), code: code(), idempotency: true, idempotencyTable: table });
    expect(worker.idempotencyTable).toBe(table);
    templateOf(stack).resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  test('bundles an entry file with esbuild into one minified CommonJS file with the AWS SDK inside, bar the credential providers Lambda never loads', () => {
    const { stack } = newStack();
    new LambdaWorker(stack, 'Worker', { workQueue: new WorkQueue(stack, 'Jobs'), entry: ENTRY });
    const assembly = stack.node.root as unknown as { synth(): { directory: string } };
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler' });
    const outdir = assembly.synth().directory;
    const assetDirs = fs.readdirSync(outdir).filter((d) => d.startsWith('asset.'));
    const bundle = fs.readFileSync(path.join(outdir, assetDirs[0]!, 'index.js'), 'utf8');
    expect(bundle).toContain('hello ');
    expect(bundle).toContain('DynamoDBClient'); // the SDK is inside the bundle...
    const required = [...bundle.matchAll(/(?:require|import)\("((?:@aws-sdk|@smithy)\/[^"]+)"\)/g)].map((m) => m[1]);
    expect(required.length).toBeGreaterThan(0);
    expect(required.filter((m) => !LAMBDA_UNUSED_SDK_MODULES.includes(m!))).toEqual([]); // ...but for these
  });
});

describe('LambdaWorker hardening', () => {
  const isolatedVpc = (stack: Stack) => newVpc(stack, { subnets: 'isolated' });

  test('is a grantable: a bucket grant to the worker lands in its role', () => {
    // GIVEN
    const { stack, worker } = build();
    const bucket = s3.Bucket.fromBucketName(stack, 'Frames', 'frames');
    // WHEN
    bucket.grantRead(worker);
    // THEN
    expect(worker.grantPrincipal).toBe(worker.role);
    expect(policyStatements(stack)).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['s3:GetObject*']) }));
  });

  test('runs in the VPC, subnets and security groups it is given, with the network interface permissions Lambda checks', () => {
    // GIVEN
    const { stack } = newStack();
    const vpc = isolatedVpc(stack);
    const sg = new ec2.SecurityGroup(stack, 'WorkerSg', { vpc });
    // WHEN
    const worker = new LambdaWorker(stack, 'Worker', {
      workQueue: new WorkQueue(stack, 'Jobs'), code: code(), vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, securityGroups: [sg],
    });
    // THEN
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: stack.resolve(vpc.isolatedSubnets.map((s) => s.subnetId)), SecurityGroupIds: [stack.resolve(sg.securityGroupId)] },
    });
    expect(policyStatements(stack)).toContainEqual(expect.objectContaining({ Sid: 'LambdaVpcNetworkInterfaces', Action: expect.arrayContaining(['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface']) }));
    const fn = Object.entries(template.findResources('AWS::Lambda::Function'))[0]![1];
    expect(fn.DependsOn).toEqual(expect.arrayContaining([stack.getLogicalId(worker.role.node.defaultChild as CfnResource)]));
  });

  test('is connectable in a VPC: a database can let the worker in', () => {
    // GIVEN
    const { stack } = newStack();
    const vpc = isolatedVpc(stack);
    const worker = new LambdaWorker(stack, 'Worker', { workQueue: new WorkQueue(stack, 'Jobs'), code: code(), vpc });
    const db = new ec2.SecurityGroup(stack, 'Db', { vpc });
    // WHEN
    db.connections.allowFrom(worker, ec2.Port.tcp(5432));
    // THEN
    templateOf(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432, SourceSecurityGroupId: stack.resolve(worker.connections.securityGroups[0]!.securityGroupId),
    });
  });

  test('reserves the concurrency it is given', () => {
    const { template } = build({ reservedConcurrentExecutions: 25, maxConcurrency: 20 });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 25 });
  });

  test('logs to a log group it is given, creating none', () => {
    const { stack } = newStack();
    const logGroup = logs.LogGroup.fromLogGroupName(stack, 'Mine', 'my-worker-logs');
    const worker = new LambdaWorker(stack, 'Worker', { workQueue: new WorkQueue(stack, 'Jobs'), code: code(), logGroup });
    const template = templateOf(stack);
    template.resourceCountIs('AWS::Logs::LogGroup', 0);
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: 'my-worker-logs' } });
    expect(worker.logGroup).toBe(logGroup);
  });

  test('encrypts its log group with the key it is given, which CloudWatch Logs may use for this account\'s log groups', () => {
    const { stack } = newStack();
    const key = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
    new LambdaWorker(stack, 'Worker', { workQueue: new WorkQueue(stack, 'Jobs'), code: code(), logEncryptionKey: key });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: stack.resolve(key.keyArn) });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'CloudWatchLogsUse', Condition: { ArnLike: Match.anyValue() } })]) },
    });
  });

  test('with customerManagedPolicies, keeps every permission in a managed policy of its role, none inline', () => {
    const { stack, worker, template } = build({ customerManagedPolicies: true, idempotency: true });
    template.resourceCountIs('AWS::IAM::Policy', 0);
    const managed = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(managed).toHaveLength(1);
    expect(managed[0]!.Properties.Roles).toEqual([stack.resolve(worker.role.roleName)]);
    const actions = JSON.stringify(managed[0]!.Properties.PolicyDocument.Statement);
    for (const action of ['logs:PutLogEvents', 'sqs:ReceiveMessage', 'dynamodb:PutItem']) expect(actions).toContain(action);
  });

  test('acknowledges the function dead-letter check under every pack that has it, for one reason', () => {
    const { worker } = build();
    const acks = worker.function.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    const dlq = acks.filter(([id]) => /LambdaDLQ$/.test(id));
    expect(dlq.map(([id]) => id.replace(/^annotation::/i, '')).sort()).toEqual(['HIPAA.Security-LambdaDLQ', 'NIST.800.53.R5-LambdaDLQ', 'Serverless-LambdaDLQ']);
    expect(new Set(dlq.map(([, reason]) => reason)).size).toBe(1);
  });
});

describe('LambdaWorker metrics and removal policy', () => {
  test('has the function\'s errors, throttles, duration and concurrency, each taking MetricOptions', () => {
    const { stack, worker } = build();
    const fn = stack.resolve(worker.function.functionName);
    const cases = [
      [worker.metricErrors(), 'Errors', 'Sum'],
      [worker.metricThrottles(), 'Throttles', 'Sum'],
      [worker.metricDuration(), 'Duration', 'Average'],
      [worker.metricConcurrentExecutions(), 'ConcurrentExecutions', 'Maximum'],
      [worker.metricDuration({ statistic: 'p99' }), 'Duration', 'p99'],
    ] as const;
    for (const [metric, name, statistic] of cases) {
      expect([metric.namespace, metric.metricName, metric.statistic, stack.resolve(metric.dimensions)]).toEqual(['AWS/Lambda', name, statistic, { FunctionName: fn }]);
    }
  });

  test('retains the idempotency table it creates with removalPolicy RETAIN (destroys it by default)', () => {
    const kept = build({ idempotency: true, removalPolicy: RemovalPolicy.RETAIN });
    kept.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
    build({ idempotency: true }).template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  test('fails when removalPolicy is given and the worker creates no table', () => {
    expect(() => build({ removalPolicy: RemovalPolicy.RETAIN })).toThrow(/removalPolicy: applies to the idempotency table the worker creates, and this worker creates none \(idempotency is off\)/);
  });
});

describe('LambdaWorker and the visibility timeout of its queue', () => {
  test('fails when the queue\'s explicit visibility timeout is under six times the function timeout', () => {
    expect(() => build({ timeout: Duration.seconds(60) }, { visibilityTimeout: Duration.seconds(300) }))
      .toThrow(/visibilityTimeout: is 300 seconds, but TestStack\/Worker \(6 x timeout 60 s \+ maxBatchingWindow 0 s\) needs at least 360 seconds/);
  });

  test('warns, instead of failing, when the queue is an existing one it cannot inspect', () => {
    const { stack } = newStack();
    const queue = sqs.Queue.fromQueueArn(stack, 'Existing', 'arn:aws:sqs:us-east-1:123456789012:existing');
    new LambdaWorker(stack, 'Worker', { workQueue: new WorkQueue(stack, 'Jobs', { queue }), code: code() });
    Annotations.fromStack(stack).hasWarning('/TestStack/Jobs', Match.stringLikeRegexp('at least 180 seconds'));
  });
});

describe('LambdaWorker validation', () => {
  test('fails when neither entry nor code is given', () => {
    expect(() => build({ code: undefined })).toThrow(/entry, code: give exactly one.*received neither/);
  });

  test('fails when both entry and code are given', () => {
    expect(() => build({ entry: ENTRY })).toThrow(/entry, code: give exactly one.*received both/);
  });

  test('fails when bundling comes with code', () => {
    expect(() => build({ bundling: { minify: false } })).toThrow(/bundling: only applies to `entry`/);
  });

  test.each([0, 901])('fails when timeout is %p seconds', (s) => {
    expect(() => build({ timeout: Duration.seconds(s) })).toThrow(new RegExp(`timeout: must be from 1 to 900 seconds \\(whole seconds\\), received ${s} seconds`));
  });

  test('fails when memorySize is out of range', () => {
    expect(() => build({ memorySize: 64 })).toThrow(/memorySize: must be an integer from 128 to 10,240 MiB, received 64/);
  });

  test('fails when batchSize is over 10 on a FIFO queue', () => {
    expect(() => build({ batchSize: 20 }, { fifo: true })).toThrow(/batchSize: must be an integer from 1 to 10 for a FIFO queue, received 20/);
  });

  test('fails when batchSize is over 10 without a batching window', () => {
    expect(() => build({ batchSize: 50 })).toThrow(/batchSize, maxBatchingWindow: a batchSize over 10 \(received 50\) needs a maxBatchingWindow of at least 1 second/);
  });

  test('fails when maxBatchingWindow is over 5 minutes', () => {
    expect(() => build({ maxBatchingWindow: Duration.minutes(6) })).toThrow(/maxBatchingWindow: must be from 0 to 300 seconds, received 360 seconds/);
  });

  test('fails when maxBatchingWindow is set on a FIFO queue', () => {
    expect(() => build({ maxBatchingWindow: Duration.seconds(1) }, { fifo: true })).toThrow(/maxBatchingWindow: is not supported by Lambda on a FIFO queue/);
  });

  test.each([1, 1001])('fails when maxConcurrency is %p', (maxConcurrency) => {
    expect(() => build({ maxConcurrency })).toThrow(new RegExp(`maxConcurrency: must be an integer from 2 to 1,000, received ${maxConcurrency}`));
  });

  test('fails when idempotencyTable is given without idempotency', () => {
    const { stack } = newStack();
    const table = dynamodb.Table.fromTableName(stack, 'Existing', 'records');
    expect(() => new LambdaWorker(stack, 'Worker', { workQueue: new WorkQueue(stack, 'Jobs'), code: code(), idempotencyTable: table }))
      .toThrow(/idempotencyTable: is only used with `idempotency: true`/);
  });

  test('fails when idempotencyTtl is under a minute', () => {
    expect(() => build({ idempotency: true, idempotencyTtl: Duration.seconds(5) })).toThrow(/idempotencyTtl: must be from 1 minute to 365 days, received 5 seconds/);
  });

  test('fails when reservedConcurrentExecutions is under maxConcurrency', () => {
    expect(() => build({ reservedConcurrentExecutions: 5, maxConcurrency: 10 }))
      .toThrow(/reservedConcurrentExecutions, maxConcurrency: reservedConcurrentExecutions \(5\) must be at least maxConcurrency \(10\)/);
  });

  test('fails when reservedConcurrentExecutions is 0', () => {
    expect(() => build({ reservedConcurrentExecutions: 0 })).toThrow(/reservedConcurrentExecutions: must be a positive integer, received 0/);
  });

  test('fails when vpcSubnets or securityGroups come without vpc', () => {
    expect(() => build({ vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } })).toThrow(/vpcSubnets: only apply to a function in a VPC, but `vpc` is not set/);
  });

  test.each([
    ['logRetention', { logRetention: 7 }],
    ['logEncryptionKey', { logEncryptionKey: 'key' }],
  ])('fails when logGroup comes with %s', (prop, extra) => {
    const { stack } = newStack();
    const logGroup = logs.LogGroup.fromLogGroupName(stack, 'Mine', 'my-worker-logs');
    const more = prop === 'logEncryptionKey' ? { logEncryptionKey: new kms.Key(stack, 'K') } : extra;
    expect(() => new LambdaWorker(stack, 'Worker', { workQueue: new WorkQueue(stack, 'Jobs'), code: code(), logGroup, ...more } as LambdaWorkerProps))
      .toThrow(new RegExp(`logGroup \\+ ${prop}: an existing log group keeps its own retention and encryption`));
  });

  test('skips the checks of deploy-time values', () => {
    expect(() => build({ batchSize: Token.asNumber({ Ref: 'Size' }), maxConcurrency: Token.asNumber({ Ref: 'Max' }) })).not.toThrow();
  });
});
