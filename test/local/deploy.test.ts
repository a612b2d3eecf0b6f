/**
 * The CDK CLI steps of the local cloud against moto: the bootstrap (the CLI's own template, or the
 * CLI when it keeps none), a deployment that fails names the failing resource and the reason, and
 * resource types moto accepts without creating them are listed.
 * A hand-written cloud assembly stands in for the app, so no synthesis is needed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  BOOTSTRAP_PARAMETERS, BOOTSTRAP_STACK, DeployError, assemblyStacks, bootstrap, bootstrapTemplateFile, cliEnvironment, deploy, notModelled, selectStacks,
} from '../../local/deploy';
import { useLocalAws } from '../support/local-aws';

const aws = useLocalAws();

/** A cloud assembly with one stack and no assets (so no bootstrap is needed). */
function assemblyOf(dir: string, stackName: string, template: object): void {
  fs.writeFileSync(path.join(dir, `${stackName}.template.json`), JSON.stringify(template));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({
    version: '55.0.0',
    artifacts: { [stackName]: { type: 'aws:cloudformation:stack', environment: 'aws://unknown-account/unknown-region', properties: { templateFile: `${stackName}.template.json` } } },
  }));
}

/** A scratch folder per test (the assembly, the CLI's placeholder, a stand-in CLI), removed after it. */
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-deploy-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('deploying to the embedded AWS', () => {
  test('a failed deployment names the failing resource and the reason, from the stack events', async () => {
    // GIVEN a stack whose FIFO queue has a name without ".fifo"
    assemblyOf(dir, 'Broken', {
      Resources: {
        Fine: { Type: 'AWS::SQS::Queue', Properties: {} },
        Jobs: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'jobs', FifoQueue: true }, DependsOn: 'Fine' },
      },
    });
    const lines: string[] = [];

    // WHEN it is deployed with the CDK CLI
    const deploying = deploy({ endpoint: aws.moto.endpoint, assemblyDir: dir, stacks: assemblyStacks(dir), onLine: (l) => lines.push(l) });

    // THEN the deployment fails, naming the resource, its type and why
    await expect(deploying).rejects.toThrow(DeployError);
    const error = (await deploying.catch((e: unknown) => e)) as DeployError;
    expect(error.message).toMatch(/cdk deploy failed \(exit code 1\): see its output above/);
    expect(error.details).toEqual([
      'Broken: CREATE_FAILED',
      '  Jobs (AWS::SQS::Queue): CREATE_FAILED: InvalidParameterValue: Queue name must end in .fifo for FIFO queues',
    ]);
    // and the CLI's own progress was shown as it went
    expect(lines).toContainEqual(expect.stringMatching(/Broken failed to deploy/));
  }, 60_000);

  test('lists the resource types moto accepted without creating them', async () => {
    // GIVEN a stack with a queue and an alarm (moto does not model CloudWatch alarms in CloudFormation)
    const cfn = new CloudFormationClient({});
    await cfn.send(new CreateStackCommand({
      StackName: 'WithAlarm',
      TemplateBody: JSON.stringify({
        Resources: {
          Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
          Alarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'm', Namespace: 'n', Statistic: 'Sum', Period: 60, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanThreshold' } },
        },
      }),
    }));

    // WHEN the deployed stack is compared with its template
    const skipped = await notModelled(cfn, 'WithAlarm');

    // THEN the alarm is reported, the queue is not
    expect(Object.fromEntries(skipped)).toEqual({ 'AWS::CloudWatch::Alarm': 1 });
    cfn.destroy();
  });
});

describe('bootstrapping the embedded AWS', () => {
  test('deploys the CDK CLI\'s own bootstrap template as CDKToolkit with the parameters `cdk bootstrap` passes: the asset bucket, public access blocked, and the version parameter `cdk deploy` checks', async () => {
    // GIVEN the catalog's CLI, which keeps its bootstrap template in its package
    const templateFile = bootstrapTemplateFile();
    expect(templateFile).toMatch(/node_modules\/aws-cdk\/lib\/api\/bootstrap\/bootstrap-template\.yaml$/);
    const version = /CdkBootstrapVersion:\s+Type: AWS::SSM::Parameter\s+Properties:[\s\S]*?Value: '?(\d+)'?/.exec(fs.readFileSync(templateFile!, 'utf8'))?.[1];
    expect(version).toMatch(/^\d+$/);

    // WHEN the embedded AWS is bootstrapped
    await bootstrap({ endpoint: aws.moto.endpoint, workDir: dir, account: '123456789012', region: 'us-east-1' });

    // THEN CDKToolkit is created with the CLI's default parameters, at the template's version
    const cfn = new CloudFormationClient({});
    const s3 = new S3Client({ forcePathStyle: true });
    const ssm = new SSMClient({});
    try {
      const stack = (await cfn.send(new DescribeStacksCommand({ StackName: BOOTSTRAP_STACK }))).Stacks![0]!;
      expect(stack.StackStatus).toBe('CREATE_COMPLETE');
      // (moto shows an empty CommaDelimitedList as "['']")
      const parameters = Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue === "['']" ? '' : p.ParameterValue]));
      expect(parameters).toMatchObject({ ...BOOTSTRAP_PARAMETERS, Qualifier: 'hnb659fds' });
      const outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
      expect(outputs).toMatchObject({ BucketName: 'cdk-hnb659fds-assets-123456789012-us-east-1', BootstrapVersion: version });
      // AND the version parameter cdk deploy reads, and the asset bucket it publishes to
      // (moto's CloudFormation does not apply a bucket's PublicAccessBlockConfiguration: the parameter above says it)
      expect((await ssm.send(new GetParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version' }))).Parameter?.Value).toBe(version);
      await s3.send(new HeadBucketCommand({ Bucket: outputs.BucketName }));
    } finally {
      for (const c of [cfn, s3, ssm]) c.destroy();
    }
  });

  test('bootstraps an environment bootstrapped already without a change, as `cdk bootstrap` does', async () => {
    // GIVEN a region bootstrapped once
    const options = { endpoint: aws.moto.endpoint, workDir: dir, account: '123456789012', region: 'us-west-2' };
    await bootstrap(options);

    // WHEN it is bootstrapped again, THEN that passes, and the stack is the one created first
    const cfn = new CloudFormationClient({ region: 'us-west-2' });
    try {
      const before = (await cfn.send(new DescribeStacksCommand({ StackName: BOOTSTRAP_STACK }))).Stacks![0]!;
      await bootstrap(options);
      const after = (await cfn.send(new DescribeStacksCommand({ StackName: BOOTSTRAP_STACK }))).Stacks![0]!;
      expect(after).toMatchObject({ StackId: before.StackId, StackStatus: 'CREATE_COMPLETE' });
    } finally {
      cfn.destroy();
    }
  });

  test('with a CLI that keeps no bootstrap template there, runs `cdk bootstrap` of the account and region on a placeholder assembly, pointed at the embedded AWS', async () => {
    // GIVEN a project whose CLI (a stand-in that records how it is run) has no template file
    const cli = path.join(dir, 'node_modules', 'aws-cdk');
    fs.mkdirSync(path.join(cli, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(cli, 'package.json'), JSON.stringify({ name: 'aws-cdk', version: '2.9999.0' }));
    const record = path.join(dir, 'ran.json');
    fs.writeFileSync(path.join(cli, 'bin', 'cdk'), `require('fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ args: process.argv.slice(2), endpoint: process.env.AWS_ENDPOINT_URL }));`);
    expect(bootstrapTemplateFile(dir)).toBeUndefined();

    // WHEN it bootstraps
    await bootstrap({ endpoint: 'http://localhost:1234', projectDir: dir, workDir: dir, account: '123456789012', region: 'us-east-1' });

    // THEN the CLI ran `cdk bootstrap` with the placeholder assembly, against the embedded AWS only
    const ran = JSON.parse(fs.readFileSync(record, 'utf8')) as { args: string[]; endpoint: string };
    expect(ran).toEqual({ args: ['bootstrap', '--app', path.join(dir, 'bootstrap.out'), 'aws://123456789012/us-east-1', '--no-notices', '--no-color'], endpoint: 'http://localhost:1234' });
    expect(fs.existsSync(path.join(dir, 'bootstrap.out', 'manifest.json'))).toBe(true);
  });

  test('says why when the bootstrap stack cannot be created', async () => {
    // GIVEN a region whose account already holds a bucket of the name the template gives the asset bucket
    const s3 = new S3Client({ forcePathStyle: true, region: 'eu-west-1' });
    await s3.send(new CreateBucketCommand({ Bucket: 'cdk-hnb659fds-assets-123456789012-eu-west-1', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    s3.destroy();

    // WHEN that region is bootstrapped
    const bootstrapping = bootstrap({ endpoint: aws.moto.endpoint, workDir: dir, account: '123456789012', region: 'eu-west-1' });

    // THEN it fails with the embedded AWS's reason (moto refuses the stack outright: it has no events)
    const error = (await bootstrapping.catch((e: unknown) => e)) as DeployError;
    expect(error).toBeInstanceOf(DeployError);
    expect(error.message).toMatch(/^cdk bootstrap failed: BucketAlreadyExists: The requested bucket name is not available/);
    expect(error.details).toEqual(['CDKToolkit: the stack was not created (the error above says why).']);
  });
});

describe('selectStacks', () => {
  const all = [{ id: 'WorkQueueStack', stackName: 'WorkQueueStack' }, { id: 'Web', stackName: 'WebTierStack' }];

  test('selects every stack when none is named, and a stack by id or stack name', () => {
    expect(selectStacks(all, [])).toEqual(all);
    expect(selectStacks(all, ['WebTierStack'])).toEqual([all[1]]);
    expect(selectStacks(all, ['WorkQueueStack'])).toEqual([all[0]]);
  });

  test('fails when a name is unknown, listing the stacks the app has', () => {
    expect(() => selectStacks(all, ['WorkQueueStack', 'Nope'])).toThrow(/unknown stack: Nope\. The app has: WorkQueueStack, Web\./);
  });
});

describe('cliEnvironment', () => {
  test('points the CLI at the embedded AWS only: no profile, no real credentials, no telemetry', () => {
    // GIVEN a shell with a real profile and credentials
    const env = cliEnvironment('http://localhost:1234', { PATH: '/bin', AWS_PROFILE: 'prod', AWS_ACCESS_KEY_ID: 'AKIAREAL', CDK_DEFAULT_ACCOUNT: '999999999999' });

    // THEN only the local settings are left
    expect(env).toEqual(expect.objectContaining({
      PATH: '/bin',
      AWS_ENDPOINT_URL: 'http://localhost:1234',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_EC2_METADATA_DISABLED: 'true',
      CDK_DISABLE_CLI_TELEMETRY: '1',
    }));
    expect(env.AWS_PROFILE).toBeUndefined();
    expect(env.CDK_DEFAULT_ACCOUNT).toBeUndefined();
  });
});
