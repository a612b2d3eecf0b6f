/**
 * ImageBootstrapStack as it deploys: cdk-nag (AwsSolutions and Serverless) clean through the
 * catalog's checks, cfn-lint clean in boot and bake mode (the catalog test covers boot mode and
 * holds the stack's snapshot), and the properties a reviewer looks for first.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, type CfnResource, type cx_api as cxapi } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { ImageBootstrapStack, type ImageBootstrapStackProps } from '../../../lib/stacks/image-bootstrap-stack';
import { addCatalogChecks } from '../../../lib/testing/checks';
import '../image-bootstrap/support/template'; // CDK_VALIDATION=false for the template tests

function newStack(props: ImageBootstrapStackProps = {}, app = new App()) {
  const stack = new ImageBootstrapStack(app, 'ImageBootstrapStack', props);
  return { app, stack, template: Template.fromStack(stack) };
}

/** Runs cfn-lint on synthesized templates; returns its findings (empty when clean). */
function cfnLint(templateFiles: string[]): string {
  const result = spawnSync('cfn-lint', ['--format', 'parseable', ...templateFiles], { encoding: 'utf8' });
  if (result.error) throw new Error(`cfn-lint is not installed (${result.error.message}): pip install cfn-lint`);
  return (result.stdout + result.stderr).trim();
}

describe('ImageBootstrapStack, synthesized as `cdk synth` does it (boot and bake mode)', () => {
  // One synth for both checks: CloudFormation schema validation on, cdk-nag's packs added.
  let outdir: string;
  let synth: () => cxapi.CloudAssembly;
  beforeAll(() => {
    const saved = process.env.CDK_VALIDATION;
    delete process.env.CDK_VALIDATION;
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-bootstrap-synth-'));
    const app = new App({ outdir });
    new ImageBootstrapStack(app, 'ImageBootstrapStack');
    new ImageBootstrapStack(app, 'ImageBakeStack', { bake: true, withGeneratedSecret: true });
    addCatalogChecks(app);
    let assembly: cxapi.CloudAssembly | undefined;
    let error: unknown;
    try {
      assembly = app.synth();
    } catch (e) {
      error = e;
    } finally {
      process.env.CDK_VALIDATION = saved;
    }
    synth = () => {
      if (error) throw error;
      return assembly!;
    };
  });
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  test('passes cdk-nag (AwsSolutions, Serverless) and CloudFormation validation: unacknowledged findings would throw', () => {
    expect(synth().stacks.map((s) => s.stackName).sort()).toEqual(['ImageBakeStack', 'ImageBootstrapStack']);
  });

  test('passes cfn-lint', () => {
    expect(cfnLint(synth().stacks.map((s) => path.join(outdir, s.templateFile)))).toBe('');
  });
});

describe('ImageBootstrapStack', () => {
  test('runs one instance in public subnets without NAT gateways, and waits for its boot signal', () => {
    // WHEN
    const { template } = newStack();
    // THEN
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '1', MaxSize: '1' });
    template.hasResource('AWS::AutoScaling::AutoScalingGroup', { CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT15M' } } });
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
  });

  test('reads the parameter, and the generated secret when asked, at boot, and holds neither value', () => {
    // WHEN
    const { template } = newStack({ withGeneratedSecret: true });
    // THEN
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ PasswordLength: 32 }) });
    const userData = JSON.stringify(Object.values(template.findResources('AWS::EC2::LaunchTemplate'))[0]);
    expect(userData).toContain('aws secretsmanager get-secret-value --secret-id');
    expect(userData).toContain('aws ssm get-parameter --name');
    expect(userData).not.toContain('Hello');
  });

  test('makes no Secrets Manager secret by default (the local cloud has none)', () => {
    // WHEN
    const { stack, template } = newStack();
    // THEN
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(stack.apiToken).toBeUndefined();
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/cdk-cloud-patterns/ImageBootstrapStack/greeting' });
  });

  test('runs a status page on a Unix socket (no open port) and declares it on the group for the local cloud to ask', () => {
    // WHEN
    const { stack, template } = newStack();
    // THEN
    const script = JSON.stringify(Object.values(template.findResources('AWS::EC2::LaunchTemplate'))[0]);
    expect(script).toContain('RuntimeDirectory=demo');
    expect(script).toContain('ExecStart=/usr/bin/python3 /opt/demo/status.py');
    const group = template.toJSON().Resources[stack.resolve((stack.group.node.defaultChild as CfnResource).logicalId)];
    expect(group.Metadata[WORKLOAD_METADATA_KEY]).toEqual({ kind: 'image-bootstrap/status', version: 1, service: 'status', socket: 'status.sock' });
  });

  test('parks the group at zero instances', () => {
    // WHEN
    const { template } = newStack({ instances: 0 });
    // THEN
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '0', MaxSize: '0' });
  });

  test('fails when instances is over 10', () => {
    expect(() => newStack({ instances: 11 })).toThrow(/instances: must be an integer from 0 to 10 .*received 11/);
  });

  test('shows bake mode with its pipeline and AMI parameter', () => {
    // WHEN
    const { template } = newStack({ bake: true });
    // THEN
    template.resourceCountIs('AWS::ImageBuilder::ImagePipeline', 1);
    expect(Object.keys(template.toJSON().Outputs)).toEqual(expect.arrayContaining(['AmiParameterName', 'ImagePipelineArn']));
  });
});
