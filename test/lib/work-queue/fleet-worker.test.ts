/**
 * FleetWorker: its template for every default and option (scaling on the backlog with metric
 * math, the scale-out from zero, the drain hook, scale-in protection, IMDSv2, the agent's
 * systemd service and environment), the IAM contract with the agent, and each validation rule.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Duration, Tags, Token, type Stack } from 'aws-cdk-lib/core';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AGENT_AUTOSCALING_ACTIONS, AGENT_DYNAMODB_ACTIONS, AGENT_SQS_ACTIONS } from '../../../runtime/worker-agent/iam';
import { agentProgramSource } from '../../../lib/core/bundling';
import { BootStep } from '../../../lib/image-bootstrap/boot-steps';
import { fileFromBootScript, parseEnvironmentFile } from '../../../contracts/image-bootstrap';
import { FLEET_AGENT_ENV_FILE, FLEET_WORKER_WORKLOAD } from '../../../contracts/work-queue';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { FleetWorker, type FleetWorkerProps } from '../../../lib/work-queue/fleet-worker';
import { WorkQueue, type WorkQueueProps } from '../../../lib/work-queue/work-queue';
import { cfnText, onlyResource, userData } from '../image-bootstrap/support/template';
import { newStack, newVpc, templateOf } from '../../support/stacks';

const PREBUILT = path.join(__dirname, 'fixtures', 'prebuilt-agent');
/** The very handler file the LambdaWorker tests bundle: a FleetWorker runs it unchanged. */
const LAMBDA_HANDLER = path.join(__dirname, 'fixtures', 'job-handler.ts');

function build(props: Partial<FleetWorkerProps> = {}, queueProps?: WorkQueueProps) {
  const { app, stack } = newStack();
  const vpc = newVpc(stack);
  const workQueue = new WorkQueue(stack, 'Jobs', queueProps);
  const entryOrProgram = props.entry === undefined ? { programDirectory: PREBUILT } : {};
  const fleet = new FleetWorker(stack, 'Fleet', { workQueue, vpc, ...entryOrProgram, ...props });
  let template: Template | undefined;
  return { app, stack, vpc, workQueue, fleet, get template() { return (template ??= templateOf(stack)); } };
}

/** Every statement of every policy attached to the fleet's instance role. */
function roleStatements(stack: Stack, fleet: FleetWorker): { Action: string | string[]; Resource: unknown; Sid?: string }[] {
  const roleRef = JSON.stringify(stack.resolve(fleet.role.roleName));
  return Object.values(templateOf(stack).findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleRef))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** The agent's environment file, read from the boot script as the local cloud reads it (contracts/image-bootstrap.ts). */
function envFile(template: Template): Record<string, string> {
  const script = userData(template);
  const body = fileFromBootScript(script, FLEET_AGENT_ENV_FILE);
  if (body === undefined) throw new Error(`no agent environment file in the boot script:\n${script}`);
  return parseEnvironmentFile(body);
}

describe('FleetWorker defaults', () => {
  const { stack, fleet, workQueue, template } = build();
  const groupRef = () => stack.resolve(fleet.autoScalingGroup.autoScalingGroupName);

  test('runs a group of 0 to 4 instances, launched protected from scale-in, with a 3-minute warm-up and 1-minute group metrics', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '0',
      MaxSize: '4',
      DesiredCapacity: Match.absent(),
      NewInstancesProtectedFromScaleIn: true,
      DefaultInstanceWarmup: 180,
      MetricsCollection: [{ Granularity: '1Minute', Metrics: ['GroupInServiceInstances', 'GroupDesiredCapacity'] }],
    });
  });

  test('tracks as many jobs waiting per in-service instance as an instance runs at once (10), with metric math that never divides by zero', () => {
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      AutoScalingGroupName: groupRef(),
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: {
        TargetValue: 10,
        CustomizedMetricSpecification: {
          Metrics: [
            {
              Id: 'visible', ReturnData: false, Label: Match.anyValue(),
              MetricStat: {
                Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: stack.resolve(workQueue.queue.queueName) }] },
                Stat: 'Maximum',
              },
            },
            {
              Id: 'inService', ReturnData: false, Label: Match.anyValue(),
              MetricStat: {
                Metric: { Namespace: 'AWS/AutoScaling', MetricName: 'GroupInServiceInstances', Dimensions: [{ Name: 'AutoScalingGroupName', Value: groupRef() }] },
                Stat: 'Average',
              },
            },
            { Id: 'backlogPerInstance', Expression: 'visible / IF(inService > 0, inService, 1)', ReturnData: true, Label: Match.anyValue() },
          ],
        },
      },
    });
    expect(fleet.metricBacklogPerInstance().expression).toBe('visible / IF(inService > 0, inService, 1)');
    expect(fleet.metricBacklogPerInstance({ period: Duration.minutes(5), label: 'per instance' })).toMatchObject({ period: Duration.minutes(5), label: 'per instance' });
  });

  test('adds the first instance with a step policy while jobs wait and the group wants none', () => {
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      AutoScalingGroupName: groupRef(),
      PolicyType: 'StepScaling',
      AdjustmentType: 'ChangeInCapacity',
      StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [stack.resolve(fleet.scaling.scaleOutFromZero!.ref)],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(desired == 0, visible, 0)', ReturnData: true }),
        Match.objectLike({ Id: 'desired', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'GroupDesiredCapacity' }) }) }),
      ]),
    });
  });

  test('drains a terminating instance through a lifecycle hook whose heartbeat outlasts the 15-minute job timeout by a minute', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      LifecycleHookSpecificationList: [{
        LifecycleHookName: 'drain-before-terminate',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 960,
        DefaultResult: 'CONTINUE',
      }],
    });
    expect(fleet.drainTimeoutSeconds).toBe(960);
  });

  test('requires IMDSv2 with a hop limit of 1, and shows the instance\'s tags in its metadata (its group\'s name)', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled', InstanceMetadataTags: 'enabled' },
      }),
    });
  });

  test('installs Node.js 22 and the agent program, and starts it as a systemd service that drains on stop and restarts on failure only', () => {
    const script = userData(template);
    expect(script).toContain("dnf install -y 'nodejs22'");
    expect(script).toMatch(/aws s3 cp --only-show-errors 's3:\/\/<.*>\/[0-9a-f]{64}\.zip'/);
    expect(script).toContain(`"\${BOOT_ROOT}"'/opt/fleet-worker'`);
    expect(script).toContain([
      'ExecStart=/usr/bin/node-22 /opt/fleet-worker/index.mjs',
      'Restart=on-failure',
      'RestartSec=5',
      'DynamicUser=yes',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'EnvironmentFile=/etc/fleet-worker/agent.env',
      // 30 s stop bound + a 20 s long poll + the agent's 10 s exit grace + 10 s
      'TimeoutStopSec=70',
    ].join('\n'));
    expect(script).toContain("systemctl enable --now 'fleet-worker.service'");
    expect(script.indexOf('nodejs22')).toBeLessThan(script.indexOf('/opt/fleet-worker/index.mjs'));
  });

  test('configures the agent from its environment file: queue, region, concurrency, timeouts, fleet mode and hook, but no group name', () => {
    expect(envFile(template)).toEqual({
      AWS_REGION: '<Ref AWS::Region>',
      CLOUD_PATTERNS_QUEUE_URL: cfnText(stack.resolve(workQueue.queue.queueUrl)),
      CLOUD_PATTERNS_CONCURRENCY: '10',
      CLOUD_PATTERNS_VISIBILITY_TIMEOUT_SECONDS: '60',
      CLOUD_PATTERNS_JOB_TIMEOUT_SECONDS: '900',
      CLOUD_PATTERNS_STOP_TIMEOUT_SECONDS: '30',
      CLOUD_PATTERNS_FLEET: '1',
      CLOUD_PATTERNS_LIFECYCLE_HOOK: 'drain-before-terminate',
    });
  });

  test('declares its agent as a workload on the group (the program, queue, backlog target and launch template), and tags the group with none of it', () => {
    const group = onlyResource(template, 'AWS::AutoScaling::AutoScalingGroup');
    const declared = (group.Metadata as Record<string, Record<string, unknown>>)[WORKLOAD_METADATA_KEY]!;
    expect({ ...declared, program: cfnText(declared.program) }).toEqual({
      kind: FLEET_WORKER_WORKLOAD.kind,
      version: FLEET_WORKER_WORKLOAD.version,
      queueUrl: stack.resolve(workQueue.queue.queueUrl),
      program: expect.stringMatching(/^s3:\/\/<.*cdk-hnb659fds-assets.*>\/[0-9a-f]{64}\.zip$/),
      targetBacklogPerInstance: 10,
      launchTemplateId: stack.resolve(fleet.image.launchTemplate.launchTemplateId),
      environmentFile: FLEET_AGENT_ENV_FILE,
    });
    expect(group.Properties.Tags).toBeUndefined();
  });

  test('needs a visibility timeout of only 60 s from the queue (the agent extends running jobs)', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 60, RedrivePolicy: Match.anyValue() });
  });

  test('has no idempotency table or settings, and keeps its logs a month', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(fleet.idempotencyTable).toBeUndefined();
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('FleetWorker and the worker agent\'s IAM contract', () => {
  test('lets the instance role call exactly the agent\'s SQS, DynamoDB and Auto Scaling actions, on its queue, table and group', () => {
    // GIVEN a fleet with idempotency, whose role holds its boot grants too
    const { stack, fleet, workQueue } = build({ idempotency: true });

    // WHEN its role's statements on the agent's three services are collected
    const statements = roleStatements(stack, fleet);
    const on = (service: string) => statements.flatMap((s) => [s.Action].flat()
      .filter((a) => a.startsWith(`${service}:`) || a === '*' || a === `${service}:*`)
      .map((action) => ({ action, resource: s.Resource })));

    // THEN each is exactly the agent's list (runtime/worker-agent/iam.ts), on that resource only
    expect(on('sqs')).toEqual(AGENT_SQS_ACTIONS.map((action) => ({ action, resource: stack.resolve(workQueue.queue.queueArn) })));
    expect(on('dynamodb')).toEqual(AGENT_DYNAMODB_ACTIONS.map((action) => ({ action, resource: stack.resolve(fleet.idempotencyTable!.tableArn) })));
    expect(on('autoscaling')).toEqual(AGENT_AUTOSCALING_ACTIONS.map((action) => ({ action, resource: stack.resolve(fleet.autoScalingGroup.autoScalingGroupArn) })));
    expect(cfnText(stack.resolve(fleet.autoScalingGroup.autoScalingGroupArn))).toMatch(/:autoScalingGroup:\*:autoScalingGroupName\/<Ref FleetGroup\w+>$/);
  });
});

describe('FleetWorker options', () => {
  test('bundles an entry, the very file a LambdaWorker runs, with the worker agent into one ES module for Node.js 22', () => {
    // GIVEN the handler file of the LambdaWorker tests
    const { app, fleet } = build({ entry: LAMBDA_HANDLER });

    // WHEN the program is bundled (at synth)
    const bundle = fs.readFileSync(path.join(app.outdir, fleet.program.assetPath, 'index.mjs'), 'utf8');

    // THEN it holds the handler, the agent and the SDK, imports nothing at run time, and is minified
    expect(bundle).toContain('hello ');
    expect(bundle).toContain('worker-agent');
    expect(bundle).toContain('SetInstanceProtection');
    expect(bundle).not.toMatch(/from\s*["']@aws-sdk\//);
    expect(bundle.length / bundle.split('\n').length).toBeGreaterThan(1000);
    expect(fs.readdirSync(path.join(app.outdir, fleet.program.assetPath))).toEqual(['index.mjs']);
  });

  test('imports the handler under the exported name given', () => {
    expect(agentProgramSource('/app/render-frame.ts', '/pkg/runtime/worker-agent/main.js', 'renderFrame')).toBe([
      '// Generated by cdk-cloud-patterns (FleetWorker): the worker agent running a job handler.',
      'import { renderFrame as handler } from "/app/render-frame.ts";',
      'import { runWorkerFromEnv } from "/pkg/runtime/worker-agent/main.js";',
      'void runWorkerFromEnv(handler);',
      '',
    ].join('\n'));
  });

  test('sets capacity, concurrency, backlog target, warm-up, job timeout, instance type, subnets, log retention, environment and extra steps', () => {
    const { stack, vpc, template } = build({
      minCapacity: 1,
      maxCapacity: 20,
      concurrency: 4,
      targetBacklogPerInstance: 12,
      warmup: Duration.minutes(5),
      jobTimeout: Duration.hours(1),
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.C7G, ec2.InstanceSize.XLARGE),
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC, onePerAz: true },
      logRetention: 7,
      environment: { OUTPUT_BUCKET: 'frames' },
      steps: [BootStep.packages('render', ['ImageMagick'])],
    });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '1', MaxSize: '20', DefaultInstanceWarmup: 300,
      VPCZoneIdentifier: stack.resolve(vpc.publicSubnets.map((s) => s.subnetId)),
      LifecycleHookSpecificationList: [Match.objectLike({ HeartbeatTimeout: 3660 })],
    });
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { TargetTrackingConfiguration: Match.objectLike({ TargetValue: 12 }) });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 'c7g.xlarge' }) });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    expect(envFile(template)).toMatchObject({ OUTPUT_BUCKET: 'frames', CLOUD_PATTERNS_CONCURRENCY: '4', CLOUD_PATTERNS_JOB_TIMEOUT_SECONDS: '3600' });
    const script = userData(template);
    expect(script.indexOf("dnf install -y 'ImageMagick'")).toBeGreaterThan(script.indexOf("dnf install -y 'nodejs22'"));
    expect(script.indexOf("dnf install -y 'ImageMagick'")).toBeLessThan(script.indexOf('/opt/fleet-worker/index.mjs'));
  });

  test('with a minimum above zero, needs no scale-out from zero', () => {
    const { fleet, template } = build({ minCapacity: 1 });
    template.resourcePropertiesCountIs('AWS::AutoScaling::ScalingPolicy', { PolicyType: 'StepScaling' }, 0);
    template.resourcePropertiesCountIs('AWS::AutoScaling::ScalingPolicy', { PolicyType: 'TargetTrackingScaling' }, 1);
    expect(fleet.scaling.scaleOutFromZeroAlarm).toBeUndefined();
  });

  test('with idempotency, creates an encrypted table with TTL and point-in-time recovery, and tells the agent', () => {
    const { stack, fleet, template } = build({ idempotency: true, idempotencyTtl: Duration.hours(2) });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(envFile(template)).toMatchObject({
      CLOUD_PATTERNS_IDEMPOTENCY_TABLE: cfnText(stack.resolve(fleet.idempotencyTable!.tableName)),
      CLOUD_PATTERNS_IDEMPOTENCY_TTL_SECONDS: '7200',
    });
  });

  test('uses an idempotency table it is given (say a LambdaWorker\'s on the same queue)', () => {
    const { stack } = newStack();
    const table = dynamodb.Table.fromTableName(stack, 'Existing', 'records');
    const fleet = new FleetWorker(stack, 'Fleet', {
      workQueue: new WorkQueue(stack, 'Jobs'), vpc: newVpc(stack, { subnets: 'public-and-private' }),
      programDirectory: PREBUILT, idempotency: true, idempotencyTable: table,
    });
    expect(fleet.idempotencyTable).toBe(table);
    templateOf(stack).resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  test('takes grants for its handler, and connections to reach other resources', () => {
    // GIVEN a fleet and a table its handler writes to
    const { stack, fleet } = build();
    const results = new dynamodb.Table(stack, 'Results', { partitionKey: { name: 'jobId', type: dynamodb.AttributeType.STRING } });

    // WHEN the table is granted to the fleet, and the fleet may reach port 5432 anywhere
    results.grant(fleet, 'dynamodb:UpdateItem');
    fleet.connections.allowToAnyIpv4(ec2.Port.tcp(5432));

    // THEN the instance role gets the grant, and the instances' security group the rule
    expect(roleStatements(stack, fleet)).toContainEqual(expect.objectContaining({ Action: 'dynamodb:UpdateItem', Resource: [stack.resolve(results.tableArn)] }));
    templateOf(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ FromPort: 5432, ToPort: 5432, CidrIp: '0.0.0.0/0' })]),
    });
  });

  test('warns, rather than fails, when idempotency meets an existing queue whose maxReceiveCount it cannot check', () => {
    const { stack } = newStack();
    const queue = sqs.Queue.fromQueueArn(stack, 'Existing', 'arn:aws:sqs:us-east-1:123456789012:jobs');
    new FleetWorker(stack, 'Fleet', {
      workQueue: new WorkQueue(stack, 'Jobs', { queue }), vpc: newVpc(stack, { subnets: 'public-and-private' }),
      programDirectory: PREBUILT, idempotency: true,
    });
    Annotations.fromStack(stack).hasWarning('/TestStack/Fleet', Match.stringLikeRegexp('maxReceiveCount.*at least 3'));
  });
});

describe('FleetWorker hardening', () => {
  test('passes its log group key and customer-managed policies to the image: no inline policy, logs under the key', () => {
    // GIVEN
    const { stack } = newStack();
    const key = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
    const vpc = newVpc(stack, { maxAzs: 1 });
    // WHEN
    const fleet = new FleetWorker(stack, 'Fleet', { workQueue: new WorkQueue(stack, 'Jobs'), vpc, programDirectory: PREBUILT, logEncryptionKey: key, customerManagedPolicies: true, idempotency: true });
    // THEN
    const template = templateOf(stack);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: stack.resolve(key.keyArn) });
    const text = JSON.stringify(Object.values(template.findResources('AWS::IAM::ManagedPolicy')).map((m) => m.Properties.PolicyDocument));
    for (const action of [...AGENT_SQS_ACTIONS, ...AGENT_AUTOSCALING_ACTIONS, ...AGENT_DYNAMODB_ACTIONS]) expect(text).toContain(action);
    expect(fleet.image.bootPolicy).toBeInstanceOf(iam.ManagedPolicy);
  });

  test('logs to a log group it is given', () => {
    const { stack } = newStack();
    const logGroup = logs.LogGroup.fromLogGroupName(stack, 'Mine', 'farm-logs');
    const vpc = newVpc(stack, { maxAzs: 1 });
    const fleet = new FleetWorker(stack, 'Fleet', { workQueue: new WorkQueue(stack, 'Jobs'), vpc, programDirectory: PREBUILT, logGroup });
    expect(fleet.image.logGroup).toBe(logGroup);
    templateOf(stack).resourceCountIs('AWS::Logs::LogGroup', 0);
  });

  test('fails when logGroup comes with logRetention, naming the fleet', () => {
    const { stack } = newStack();
    const vpc = newVpc(stack, { maxAzs: 1 });
    expect(() => new FleetWorker(stack, 'Fleet', {
      workQueue: new WorkQueue(stack, 'Jobs'), vpc, programDirectory: PREBUILT, logGroup: logs.LogGroup.fromLogGroupName(stack, 'Mine', 'farm-logs'), logRetention: 7,
    })).toThrow(/Invalid props for TestStack\/Fleet:\n {2}- logGroup \+ logRetention: an existing log group keeps its own retention and encryption/);
  });

  test('takes jobs from a queue of another app', () => {
    const { stack } = newStack();
    const vpc = newVpc(stack, { maxAzs: 1 });
    const jobs = WorkQueue.fromWorkQueueAttributes(stack, 'Jobs', { queueArn: 'arn:aws:sqs:eu-west-1:123456789012:frames', maxReceiveCount: 5, visibilityTimeout: Duration.minutes(2) });
    const fleet = new FleetWorker(stack, 'Fleet', { workQueue: jobs, vpc, programDirectory: PREBUILT, idempotency: true });
    const template = templateOf(stack);
    template.resourceCountIs('AWS::SQS::Queue', 0);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 1); // the scale-out-from-zero alarm only
    expect(roleStatements(stack, fleet)).toContainEqual(expect.objectContaining({ Action: [...AGENT_SQS_ACTIONS], Resource: 'arn:aws:sqs:eu-west-1:123456789012:frames' }));
  });
});

describe('FleetWorker validation', () => {
  const fails = (props: Partial<FleetWorkerProps>, pattern: RegExp, queueProps?: WorkQueueProps) => {
    expect(() => build(props, queueProps)).toThrow(pattern);
  };

  test('fails when neither entry nor programDirectory is given', () => {
    fails({ programDirectory: undefined }, /entry, programDirectory: give exactly one.*received neither/);
  });

  test('fails when both entry and programDirectory are given', () => {
    fails({ entry: LAMBDA_HANDLER, programDirectory: PREBUILT }, /entry, programDirectory: give exactly one.*received both/);
  });

  test('fails when entry names no file', () => {
    fails({ entry: path.join(__dirname, 'fixtures', 'missing.ts') }, /entry: must be the job handler's file, but there is no file at .*missing\.ts/);
  });

  test('fails when programDirectory holds no index.mjs', () => {
    fails({ programDirectory: path.join(__dirname, 'fixtures') }, /programDirectory: must hold the bundled agent program index\.mjs/);
  });

  test('fails when handler comes with programDirectory', () => {
    fails({ handler: 'main' }, /handler: only applies to `entry`/);
  });

  test('fails when handler is not an identifier', () => {
    fails({ entry: LAMBDA_HANDLER, handler: 'index.handler' }, /handler: must be the name the handler is exported under.*"index.handler"/);
  });

  test('fails when concurrency is below 1', () => {
    fails({ concurrency: 0 }, /concurrency: must be an integer from 1 to 10,000 jobs per instance, received 0/);
  });

  test('fails when minCapacity is negative', () => {
    fails({ minCapacity: -1 }, /minCapacity: must be an integer from 0 to 10,000, received -1/);
  });

  test('fails when maxCapacity is below 1', () => {
    fails({ maxCapacity: 0 }, /maxCapacity: must be an integer from 1 to 10,000, received 0/);
  });

  test('fails when minCapacity exceeds maxCapacity', () => {
    fails({ minCapacity: 5, maxCapacity: 2 }, /minCapacity, maxCapacity: minCapacity \(5\) must not exceed maxCapacity \(2\)/);
  });

  test('fails when targetBacklogPerInstance is not above 0', () => {
    fails({ targetBacklogPerInstance: 0 }, /targetBacklogPerInstance: must be a number of jobs above 0.*received 0/);
  });

  test('fails when warmup is over an hour', () => {
    fails({ warmup: Duration.hours(2) }, /warmup: must be from 0 seconds to 1 hour.*received 7200 seconds/);
  });

  test('fails when jobTimeout outlasts what the lifecycle hook can wait for', () => {
    fails({ jobTimeout: Duration.hours(2) }, /jobTimeout: must be from 1 to 7140 seconds.*received 7200 seconds/);
  });

  test('fails when idempotencyTable is given without idempotency', () => {
    const { stack } = newStack();
    const table = dynamodb.Table.fromTableName(stack, 'Existing', 'records');
    fails({ idempotencyTable: table }, /idempotencyTable: is only used with `idempotency: true`/);
  });

  test('fails when idempotencyTtl is under a minute', () => {
    fails({ idempotency: true, idempotencyTtl: Duration.seconds(30) }, /idempotencyTtl: must be from 1 minute to 365 days, received 30 seconds/);
  });

  test('fails when idempotency meets a queue whose maxReceiveCount is under 3', () => {
    fails({ idempotency: true }, /idempotency: needs the queue's maxReceiveCount to be at least 3, received 2/, { maxReceiveCount: 2 });
  });

  test('fails when environment sets a variable the agent owns', () => {
    fails({ environment: { CLOUD_PATTERNS_QUEUE_URL: 'x', AWS_REGION: 'eu-west-1' } }, /environment: CLOUD_PATTERNS_QUEUE_URL, AWS_REGION are set by FleetWorker/);
  });

  test('fails when an environment name is not a variable name', () => {
    fails({ environment: { 'OUTPUT-BUCKET': 'frames' } }, /environment: names must be letters, digits and "_".*"OUTPUT-BUCKET"/);
  });

  test('takes environment values longer than a tag could hold (they go to the user data only)', () => {
    const { stack } = build({ environment: { NOTES: 'x'.repeat(4_000) } });
    expect(envFile(templateOf(stack)).NOTES).toBe('x'.repeat(4_000));
  });

  test('hides each job for visibilityTimeout when given (the agent\'s setting, and the queue\'s at least that)', () => {
    // GIVEN a fleet whose agents hide jobs for 5 s (a dead instance's jobs come back sooner)
    const { stack, fleet } = build({ visibilityTimeout: Duration.seconds(5) });
    const template = templateOf(stack);

    // THEN the agent's environment says 5 s (it asks for it on every receive), and the queue keeps WorkQueue's own 30 s floor
    expect(envFile(template).CLOUD_PATTERNS_VISIBILITY_TIMEOUT_SECONDS).toBe('5');
    expect(fleet.visibilityTimeoutSeconds).toBe(5);
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 30, RedrivePolicy: Match.anyValue() });
  });

  test('fails when visibilityTimeout is outside 1 second to 12 hours', () => {
    fails({ visibilityTimeout: Duration.hours(13) }, /visibilityTimeout: must be from 1 second to 12 hours.*received 46800 seconds/);
  });

  test('fails when the queue\'s explicit visibility timeout is under the agent\'s 60 s', () => {
    fails({}, /visibilityTimeout: is 30 seconds, but TestStack\/Fleet .* needs at least 60 seconds/, { visibilityTimeout: Duration.seconds(30) });
  });

  test('fails when a tag propagated to the instances has a key their metadata cannot show', () => {
    // GIVEN a fleet in a stack tagged with a "/" in a key (propagated to instances by default)
    const { stack } = build();
    Tags.of(stack).add('team/owner', 'render');

    // WHEN it synthesizes THEN the launch failure it would cause is reported now
    expect(() => templateOf(stack)).toThrow(/tags "team\/owner" would be propagated to the instances.*applyToLaunchedInstances: false/);
  });

  test('skips the checks of deploy-time values', () => {
    const { stack } = newStack();
    const vpc = newVpc(stack, { subnets: 'public-and-private' });
    expect(() => new FleetWorker(stack, 'Fleet', {
      workQueue: new WorkQueue(stack, 'Jobs'), vpc, programDirectory: PREBUILT,
      minCapacity: Token.asNumber({ Ref: 'Min' }), maxCapacity: Token.asNumber({ Ref: 'Max' }), concurrency: Token.asNumber({ Ref: 'Slots' }),
    })).not.toThrow();
  });
});
