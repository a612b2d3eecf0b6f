/**
 * ImageBootstrapStack as it deploys: the properties a reviewer looks for first. Checked as `cdk
 * synth` checks it (cdk-nag's AwsSolutions and Serverless packs, CDK's built-in validation,
 * cfn-lint) in boot mode and in bake mode by test/lib/stacks/catalog-app.test.ts, which also holds
 * the stack's snapshot.
 */
import { App, type CfnResource } from 'aws-cdk-lib/core';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { ImageBootstrapStack, type ImageBootstrapStackProps } from '../../../lib/stacks/image-bootstrap-stack';

function newStack(props: ImageBootstrapStackProps = {}, app = new App()) {
  const stack = new ImageBootstrapStack(app, 'ImageBootstrapStack', props);
  return { app, stack, template: Template.fromStack(stack) };
}

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
