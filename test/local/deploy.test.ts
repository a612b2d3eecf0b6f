/**
 * The CDK CLI steps of the local cloud against moto: a deployment that fails names the failing
 * resource and the reason, and resource types moto accepts without creating them are listed.
 * A hand-written cloud assembly stands in for the app, so no synthesis is needed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { DeployError, assemblyStacks, cliEnvironment, deploy, notModelled, selectStacks } from '../../local/deploy';
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

describe('deploying to the embedded AWS', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-deploy-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

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
