/**
 * The local cloud's BootstrappedImage path, without the CDK CLI: a stack of two images and three
 * groups synthesized by CDK in this process and created in moto by CloudFormation, read back by
 * the inventory and run by the workload as `npm start` runs it. One image has a step of each kind
 * (its contents read from the deployed user data); the other reads a parameter that does not
 * exist, so its boot fails. A third group launches from the first image but declares a workload of
 * its own (as a FleetWorker's or a WebTier's group does): it is left to that workload.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { AutoScalingClient, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, CreateStackCommand, DescribeStackEventsCommand } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BOOTSTRAPPED_IMAGE_WORKLOAD, IMAGE_STATUS_WORKLOAD } from '../../../contracts/image-bootstrap';
import { defineWorkloadKind } from '../../../contracts/workload';
import { declareWorkload } from '../../../lib/core/workload';
import { BootStep, SecretSource } from '../../../lib/image-bootstrap/boot-steps';
import { BootstrappedImage } from '../../../lib/image-bootstrap/bootstrapped-image';
import { localClientConfig } from '../../../local/deploy';
import { drillContext } from '../../support/drill';
import { readInventory, type Inventory } from '../../../local/inventory';
import { runningPids } from '../../../local/processes';
import { writeZip } from '../../../local/zip';
import { bootstrappedImageWorkloadKind } from '../../../local/workloads/bootstrapped-image';
import { startWorkloads, type Workload } from '../../../local/workloads';
import { useLocalAws, waitFor } from '../../support/local-aws';

const aws = useLocalAws();
const STACK = 'ImageDrill';
const TOOLS_BUCKET = 'image-drill-tools';

/** The service: says what reached it (credentials, environment file, the instance's folder, its AWS identity), then waits. */
const SERVICE_PROGRAM = `#!/bin/bash
echo "greeting=$(cat "$CREDENTIALS_DIRECTORY/greeting") key=$(cat "$CREDENTIALS_DIRECTORY/api-key") color=$COLOR root=$BOOT_ROOT access-key=$AWS_ACCESS_KEY_ID"
sleep 600 & wait
`;

/** A unit of the user's own, restarting a failed service after a second. */
const SERVICE_UNIT = [
  '[Unit]', 'Description=Drill service', '',
  '[Service]', 'ExecStart=/opt/drill/service.sh', 'Restart=on-failure', 'RestartSec=1', 'DynamicUser=yes', 'ProtectSystem=strict',
  'EnvironmentFile=/etc/bootstrap/drill-env.env',
  'LoadCredential=greeting:/run/bootstrap/secrets/greeting', 'LoadCredential=api-key:/run/bootstrap/secrets/api-key',
  '', '[Install]', 'WantedBy=multi-user.target', '',
].join('\n');

function drillTemplate() {
  const stack = new Stack(new App(), STACK);
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }], restrictDefaultSecurityGroup: false });
  const greeting = new ssm.StringParameter(stack, 'Greeting', { parameterName: '/image-drill/greeting', stringValue: 'Hello' });
  const apiKey = new secretsmanager.Secret(stack, 'ApiKey', { generateSecretString: { secretStringTemplate: '{"user":"drill"}', generateStringKey: 'key', excludePunctuation: true } });
  const tools = new s3.Bucket(stack, 'Tools', { bucketName: TOOLS_BUCKET, removalPolicy: RemovalPolicy.DESTROY });
  const greetingStep = BootStep.secret('greeting', SecretSource.fromParameter(greeting));
  const apiKeyStep = BootStep.secret('api-key', SecretSource.fromSecret(apiKey, { jsonField: 'key' }));
  const image = new BootstrappedImage(stack, 'Image', {
    vpc,
    steps: [
      BootStep.packages('packages', ['bash', 'no-such-package-for-the-drill']),
      BootStep.file('service-program', { path: '/opt/drill/service.sh', content: SERVICE_PROGRAM, mode: '0755', owner: 'drill:drill' }),
      BootStep.fileFromS3('tools', { path: '/opt/drill/tools', bucket: tools, objectKey: 'tools.zip', extract: true }),
      BootStep.environment('drill-env', { COLOR: 'blue' }),
      BootStep.commands('prepare', ['touch /this-would-change-the-machine']),
      greetingStep,
      apiKeyStep,
      BootStep.service('drill', { unitFile: SERVICE_UNIT }),
    ],
  });
  const group = image.createAutoScalingGroup(stack, 'Group', { minCapacity: 0, maxCapacity: 3, desiredCapacity: 2, bootTimeout: Duration.minutes(5) });
  // A group of the same image that another workload runs (as FleetWorker's and WebTier's are).
  const other = image.launchTemplate;
  const otherGroup = new (group.constructor as typeof import('aws-cdk-lib/aws-autoscaling').AutoScalingGroup)(stack, 'OtherGroup', { vpc, launchTemplate: other, minCapacity: 1, maxCapacity: 1 });
  declareWorkload(otherGroup.node.defaultChild as CfnResource, defineWorkloadKind('test/other', 1).declare({}));
  const broken = new BootstrappedImage(stack, 'Broken', {
    vpc,
    steps: [
      BootStep.file('note', { path: '/etc/drill/note', content: 'booted\n' }),
      BootStep.secret('missing', SecretSource.fromParameter(ssm.StringParameter.fromStringParameterName(stack, 'Missing', '/image-drill/missing'))),
    ],
  });
  broken.createAutoScalingGroup(stack, 'BrokenGroup', { minCapacity: 1, maxCapacity: 1 });
  const template = Template.fromStack(stack).toJSON();
  delete template.Parameters.BootstrapVersion; // the bootstrap version check: not deployed by CDK here
  delete template.Rules;
  return template;
}

describe('the local cloud running BootstrappedImage groups', () => {
  let workDir: string;
  let inventory: Inventory;
  let workloads: Workload[] = [];
  const notes: string[] = [];
  const autoscaling = new AutoScalingClient({});
  const cloudformation = new CloudFormationClient({ maxAttempts: 1 });

  beforeAll(async () => {
    // GIVEN the stack created by CloudFormation in moto, and the archive its S3 step downloads
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-image-'));
    const s3 = new S3Client({ forcePathStyle: true });
    await cloudformation.send(new CreateStackCommand({ StackName: STACK, TemplateBody: JSON.stringify(drillTemplate()) }));
    await s3.send(new PutObjectCommand({ Bucket: TOOLS_BUCKET, Key: 'tools.zip', Body: writeZip([{ name: 'bin/hello', data: Buffer.from('#!/bin/sh\necho hello\n'), mode: 0o755 }]) }));
    s3.destroy();

    // WHEN the local cloud reads it and runs its BootstrappedImage groups
    inventory = await readInventory(aws.moto.endpoint, { cloudformation, lambda: new LambdaClient({}), sqs: aws.sqs, autoscaling }, [STACK]);
    workloads = await startWorkloads(inventory, drillContext({ endpoint: aws.moto.endpoint, workDir, s3: new S3Client({ forcePathStyle: true }), sqs: aws.sqs, autoscaling, notes }), [bootstrappedImageWorkloadKind({ lookEveryMs: 300 })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workloads.map((w) => w.stop()));
    autoscaling.destroy();
    cloudformation.destroy();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  /** State, parent and process group of each live process (a zombie is dead: it waits only to be reaped). */
  const processTable = () => fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') return [];
      return [{ pid: Number(d), ppid: Number(ppid), pgid: Number(pgid), argv: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0') }];
    } catch {
      return []; // gone meanwhile
    }
  });
  /**
   * Pids of the services' programs: the leaders of the process groups their supervisors start
   * (whose command lines name an instance's folder). Not their children: bash's subshells, such as
   * the drill's `$(cat ...)`, carry its command line for a moment.
   */
  const namingAnInstance = () => processTable().filter((p) => p.argv[0] !== process.execPath && p.argv.some((a) => a.includes(path.join(workDir, 'run', 'instances'))));
  const servicesRunning = () => namingAnInstance().filter((p) => p.pid === p.pgid).map((p) => p.pid);
  const instanceRoots = () => fs.readdirSync(path.join(workDir, 'run', 'instances')).map((id) => path.join(workDir, 'run', 'instances', id));
  const drillWorkload = () => workloads.find((w) => w.resources.includes(inventory.autoScalingGroups.find((g) => g.logicalId.startsWith('GroupASG'))!.logicalId))!;

  test('boots every instance the group wants, each in a folder of its own, and leaves a group another workload runs alone', () => {
    // THEN one workload per image group, not for the group with a declaration of its own
    expect(inventory.declarations(BOOTSTRAPPED_IMAGE_WORKLOAD)).toHaveLength(2);
    expect(workloads.map((w) => w.resources[0]).sort()).toEqual([expect.stringMatching(/^BrokenGroupASG/), expect.stringMatching(/^GroupASG/)]);
    expect(drillWorkload().title).toMatch(/^Instances of GroupASG\w+ \(BootstrappedImage ImageLaunchTemplate\w+, 8 steps\): 2 of 0-3/);
    // AND the drill group's two instances (moto's instance ids) booted, each with the files of its steps
    const booted = notes.filter((n) => /instance i-\w+ of GroupASG\w+ booted: 8 steps/.test(n));
    expect(booted).toHaveLength(2);
    expect(booted[0]).toMatch(/running drill \(pid \d+\); packages checked, not installed: no-such-package-for-the-drill not on this machine; commands not run: prepare \(1 line\); SUCCESS signalled to ImageDrill\/GroupASG\w+\./);
    const drillRoots = instanceRoots().filter((root) => fs.existsSync(path.join(root, 'opt/drill/service.sh')));
    expect(drillRoots).toHaveLength(2);
    for (const root of drillRoots) {
      expect(fs.statSync(path.join(root, 'opt/drill/service.sh')).mode & 0o777).toBe(0o755);
      expect(fs.readFileSync(path.join(root, 'etc/bootstrap/drill-env.env'), 'utf8')).toBe("COLOR='blue'\n");
      // the zip from S3, extracted with its executable's mode
      expect(fs.statSync(path.join(root, 'opt/drill/tools/bin/hello')).mode & 0o777).toBe(0o755);
      expect(fs.readFileSync(path.join(root, 'var/log/bootstrap.log'), 'utf8')).toMatch(/no-such-package-for-the-drill: not on this machine \(dnf installs it on an instance; the local cloud installs nothing\)[\s\S]*finished 8 steps/);
    }
    // AND the commands step did not touch this machine
    expect(fs.existsSync('/this-would-change-the-machine')).toBe(false);
  });

  test('reads the secrets with the instance role into a private folder, and hands them to the service as credentials with its environment file', async () => {
    const root = instanceRoots().find((r) => fs.existsSync(path.join(r, 'opt/drill/service.sh')))!;
    const secrets = path.join(root, 'run/bootstrap/secrets');
    expect(fs.statSync(secrets).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(secrets, 'api-key')).mode & 0o777).toBe(0o400);
    expect(fs.readFileSync(path.join(secrets, 'greeting'), 'utf8')).toBe('Hello');
    const key = fs.readFileSync(path.join(secrets, 'api-key'), 'utf8');
    expect(key).toMatch(/^[A-Za-z0-9]{32}$/);
    // the service's output (its log in the group's log file) shows what reached it; its AWS identity is the role's session
    const logFile = fs.readdirSync(path.join(workDir, 'logs')).find((f) => f.startsWith('GroupASG'))!;
    await waitFor('the service\'s line', () => fs.readFileSync(path.join(workDir, 'logs', logFile), 'utf8').includes('greeting='), 10_000, 100);
    const line = fs.readFileSync(path.join(workDir, 'logs', logFile), 'utf8').split('\n').find((l) => l.includes('greeting='))!;
    expect(line).toMatch(new RegExp(`greeting=Hello key=${key} color=blue root=\\S+/run/instances/i-\\w+ access-key=(?!testing)\\S+`));
  });

  test('restarts a service that fails as its unit says, and signals each boot to CloudFormation', async () => {
    // GIVEN a running service
    const workload = drillWorkload();
    const [pid] = workload.pids();
    // WHEN it is killed (SIGKILL: a failure, for Restart=on-failure)
    process.kill(pid!, 'SIGKILL');
    // THEN systemd's part restarts it after its RestartSec
    await waitFor('the service restarted', () => workload.pids().length === 2 && !workload.pids().includes(pid!), 10_000, 100);
    expect(workload.stats().crashed).toBe(1);
    expect(notes).toContainEqual(expect.stringMatching(/service drill killed by SIGKILL; systemd restarts it \(its Restart=\)/));
    // AND a service outlives no supervisor: when one is killed, its service's processes go too, and it is restarted
    const supervisor = runningPids()[0]!;
    const service = processTable().find((p) => p.ppid === supervisor)!;
    expect(servicesRunning()).toContain(service.pid);
    const servicesBefore = servicesRunning();
    process.kill(supervisor, 'SIGKILL');
    await waitFor('the service restarted under a new supervisor', () => !runningPids().includes(supervisor) && workload.pids().length === 2, 10_000, 100);
    // every process of the killed supervisor's service (its program and the `sleep` it waits on) is gone; the other service runs on
    await waitFor('the killed supervisor\'s service gone', () => !processTable().some((p) => p.pgid === service.pid), 5_000, 100);
    expect(servicesRunning().filter((p) => servicesBefore.includes(p))).toEqual(servicesBefore.filter((p) => p !== service.pid));
    expect(servicesRunning()).toHaveLength(2);
    // AND every boot was signalled to its group's resource, as CloudFormation records a signal
    const events = (await cloudformation.send(new DescribeStackEventsCommand({ StackName: STACK }))).StackEvents ?? [];
    const signals = events.map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`).filter((e) => e.includes('signal'));
    expect(signals.filter((s) => /^GroupASG\w+: Received SUCCESS signal with UniqueId i-\w+$/.test(s))).toHaveLength(2);
    expect(signals.filter((s) => /^BrokenGroupASG\w+: Received FAILURE signal with UniqueId i-\w+$/.test(s))).toHaveLength(1);
  });

  test('reports a failed boot with the step that failed, and its check says so', async () => {
    expect(notes).toContainEqual(expect.stringMatching(
      /^ImageDrill: instance i-\w+ of BrokenGroupASG\w+: boot FAILED at step 2 of 2 \(missing\): GetParameter answered ParameterNotFound: .*; FAILURE signalled to ImageDrill\/BrokenGroupASG\w+\. On AWS it shuts down and the group replaces it; here it stays down/,
    ));
    const broken = workloads.find((w) => w.resources[0]!.startsWith('BrokenGroupASG'))!;
    const check = await broken.check!();
    expect(check.problems).toEqual([expect.stringMatching(/^ImageDrill\/BrokenGroupASG\w+: instance i-\w+ did not boot: step 2 \(missing\) failed: GetParameter answered ParameterNotFound/)]);
    expect((await drillWorkload().check!()).problems).toEqual([]);
  });

  test('follows the group\'s size in the embedded AWS: an instance fewer stops one', async () => {
    // WHEN the group is made smaller, as `aws autoscaling update-auto-scaling-group` does
    const workload = drillWorkload();
    const name = inventory.autoScalingGroups.find((g) => g.logicalId.startsWith('GroupASG'))!.name;
    await autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, DesiredCapacity: 1 }));
    // THEN one instance's service stops, the other runs on
    await waitFor('one instance left', () => workload.pids().length === 1, 10_000, 100);
    expect((await workload.check!()).summary).toMatch(/1 of 1 instances booted every step, 1 services running/);
  });

  test('leaves no process running once stopped: no supervisor, and no service of an instance\'s folder', async () => {
    await Promise.all(workloads.map((w) => w.stop()));
    expect(runningPids()).toEqual([]);
    expect(namingAnInstance()).toEqual([]);
  });
});

describe('a group of a baked image', () => {
  test('is not booted, and the local cloud says why', async () => {
    // GIVEN a group that launches from an image in bake mode (its image part is in an AMI)
    const image = { stackName: 'Baked', logicalId: 'ImageLaunchTemplate', type: 'AWS::EC2::LaunchTemplate', physicalId: 'lt-0123', declaration: BOOTSTRAPPED_IMAGE_WORKLOAD.declare({ steps: [], baked: true, roleArn: 'arn:aws:iam::123456789012:role/r' }) };
    const group = { stackName: 'Baked', logicalId: 'GroupASG', name: 'Baked-GroupASG', minSize: 1, maxSize: 1, desiredCapacity: 1, launchTemplate: { id: 'lt-0123' }, instanceIds: [], tags: {}, policies: [] };
    const inventory = {
      endpoint: 'http://localhost:1', stacks: [], functions: [], queues: [], sqsMappings: [], autoScalingGroups: [group], declared: [image], declarationProblems: [],
      declarations: (kind: { kind: string }) => (kind.kind === image.declaration.kind ? [image] : []),
    } as unknown as Inventory;
    const notes: string[] = [];
    // WHEN the kind starts
    const started = await bootstrappedImageWorkloadKind().start(inventory, {
      clientConfig: localClientConfig('http://localhost:1'), autoscaling: new AutoScalingClient({}), note: (l: string) => notes.push(l),
    } as never);
    // THEN nothing runs, and the note says why; nor does the smoke expect it to
    expect(started).toEqual([]);
    expect(notes).toEqual(['Baked: Auto Scaling group GroupASG launches a baked image (bake mode): not booted locally, its image part is in an AMI that Image Builder builds.']);
    expect(bootstrappedImageWorkloadKind().expects!(inventory)).toEqual([]);
  });
});

describe('the image status page declaration', () => {
  test('names the service and its socket', () => {
    expect(IMAGE_STATUS_WORKLOAD.declare({ service: 'status', socket: 'status.sock' })).toEqual({ kind: 'image-bootstrap/status', version: 1, service: 'status', socket: 'status.sock' });
  });
});
