/**
 * BootstrappedImage's template: secure defaults, grants for its steps, the Auto Scaling group
 * wiring of the boot signal, and bake mode with EC2 Image Builder.
 */
import * as path from 'path';
import { Duration, Stack, type CfnResource } from 'aws-cdk-lib/core';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3Assets from 'aws-cdk-lib/aws-s3-assets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { BootPhase, BootStep, BootStepKind, SecretSource } from '../../../lib/image-bootstrap/boot-steps';
import { BootstrappedImage, type BootstrappedImageProps } from '../../../lib/image-bootstrap/bootstrapped-image';
import { cfnText, newStack, newVpcStack, onlyResource, statementsOfRole, userData } from './support/template';

const FIXTURES = path.join(__dirname, '__fixtures__');

describe('BootstrappedImage defaults', () => {
  test('launches Amazon Linux 2023 for Graviton, resolved at deploy time from the public SSM parameter', () => {
    // WHEN
    const { template } = newStack();
    // THEN
    const t = template();
    const lt = onlyResource(t, 'AWS::EC2::LaunchTemplate');
    const imageRef = (lt.Properties.LaunchTemplateData as { ImageId: { Ref: string } }).ImageId.Ref;
    expect(t.toJSON().Parameters[imageRef]).toEqual({
      Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
      Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
    });
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 't4g.micro' }) });
  });

  test('picks the x86_64 image for an x86 instance type', () => {
    // WHEN
    const { template } = newStack({ instanceType: new ec2.InstanceType('c7i.large') });
    // THEN
    expect(Object.values(template().toJSON().Parameters).map((p) => (p as { Default: string }).Default))
      .toContain('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64');
  });

  test('requires IMDSv2 with a hop limit of 1', () => {
    // WHEN
    const { template } = newStack();
    // THEN
    template().hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 } }),
    });
  });

  test('lets containers reach the instance metadata with a hop limit of 2', () => {
    // WHEN
    const { template } = newStack({ httpPutResponseHopLimit: 2 });
    // THEN
    template().hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ MetadataOptions: Match.objectLike({ HttpTokens: 'required', HttpPutResponseHopLimit: 2 }) }),
    });
  });

  test('boots from an encrypted gp3 root volume, with no key pair, and terminates when it shuts down', () => {
    // WHEN
    const { template } = newStack({ rootVolumeSize: 20 });
    // THEN
    const data = onlyResource(template(), 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData as Record<string, unknown>;
    expect(data.BlockDeviceMappings).toEqual([
      { DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 20, VolumeType: 'gp3' } },
    ]);
    expect(data.KeyName).toBeUndefined();
    expect(data.InstanceInitiatedShutdownBehavior).toBe('terminate');
    template().resourceCountIs('AWS::EC2::KeyPair', 0);
  });

  test('has no inbound rule and only HTTPS outbound', () => {
    // WHEN
    const { stack, image, template } = newStack();
    // THEN
    const t = template();
    const group = t.toJSON().Resources[stack.resolve((image.securityGroup.node.defaultChild as CfnResource).logicalId)];
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(group.Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: expect.any(String), FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
    t.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('opens all outbound traffic with allowAllOutbound', () => {
    // WHEN
    const { template } = newStack({ allowAllOutbound: true });
    // THEN
    template().hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', Description: 'Allow all outbound traffic by default', IpProtocol: '-1' }],
    });
  });

  test('gives the role Session Manager and the boot log, without managed policies', () => {
    // WHEN
    const { stack, image, template } = newStack();
    // THEN
    const t = template();
    const roleId = stack.resolve((image.role.node.defaultChild as CfnResource).logicalId);
    expect(t.toJSON().Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
    const statements = statementsOfRole(t, roleId);
    expect(statements).toContainEqual(expect.objectContaining({
      Sid: 'SessionManager',
      Action: ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
      Resource: '*',
    }));
    const logGroupId = stack.resolve((image.logGroup.node.defaultChild as CfnResource).logicalId);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
    }));
    expect(JSON.stringify(statements)).not.toMatch(/ssm:GetParameter|s3:|cloudformation:/);
  });

  test('drops Session Manager with sessionManager: false', () => {
    // WHEN
    const { template } = newStack({ sessionManager: false });
    // THEN
    expect(JSON.stringify(template().findResources('AWS::IAM::Policy'))).not.toContain('ssmmessages');
  });

  test('keeps the boot log a month', () => {
    // WHEN
    const { template } = newStack();
    // THEN
    template().hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('starts no instance before the boot\'s grants exist', () => {
    // WHEN
    const { stack, image, template } = newStack();
    // THEN
    const policy = image.bootPolicy.node.defaultChild as CfnResource;
    expect(onlyResource(template(), 'AWS::EC2::LaunchTemplate').DependsOn).toContain(stack.resolve(policy.logicalId));
  });

  test('lets the role be granted access to its own Auto Scaling group without a dependency cycle', () => {
    // GIVEN
    const { stack, image } = newStack();
    const group = image.createAutoScalingGroup(stack, 'Group', { maxCapacity: 1 });
    // WHEN: what FleetWorker grants its agent (scale-in protection, the termination hook)
    image.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['autoscaling:SetInstanceProtection', 'autoscaling:CompleteLifecycleAction'],
      resources: [group.autoScalingGroupArn],
    }));
    // THEN
    expect(() => Template.fromStack(stack)).not.toThrow();
  });

  test('lets instances read their tags from the instance metadata when asked', () => {
    // WHEN
    const { template } = newStack({ instanceMetadataTags: true });
    // THEN
    template().hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ MetadataOptions: Match.objectLike({ InstanceMetadataTags: 'enabled', HttpTokens: 'required' }) }),
    });
  });

  test('ships the boot log with the CloudWatch agent and never signals without a group', () => {
    // WHEN
    const { stack, image, template } = newStack();
    // THEN
    const text = userData(template());
    expect(text).toContain('dnf install -y amazon-cloudwatch-agent');
    expect(text).toContain(`"log_group_name": "<Ref ${stack.resolve((image.logGroup.node.defaultChild as CfnResource).logicalId)}>"`);
    expect(text).not.toContain('signal-resource');
    expect(text).toContain("shutdown -h +1");
  });
});

describe('BootstrappedImage steps', () => {
  test('reads a secret parameter at boot: the grant is added and its value never reaches user data', () => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    const parameter = new ssm.StringParameter(stack, 'Password', { stringValue: 'hunter2-never-in-user-data' });
    // WHEN
    const image = new BootstrappedImage(stack, 'Image', { vpc, steps: [BootStep.secret('db-password', SecretSource.fromParameter(parameter))] });
    // THEN
    const t = Template.fromStack(stack);
    const text = userData(t);
    expect(text).not.toContain('hunter2');
    expect(text).toContain(`aws ssm get-parameter --name '<Ref ${stack.resolve((parameter.node.defaultChild as CfnResource).logicalId)}>' --with-decryption`);
    const statements = statementsOfRole(t, stack.resolve((image.role.node.defaultChild as CfnResource).logicalId));
    expect(statements).toContainEqual(expect.objectContaining({ Action: expect.arrayContaining(['ssm:GetParameter']) }));
  });

  test('reads a Secrets Manager secret with only GetSecretValue and DescribeSecret on it', () => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    const secret = new secretsmanager.Secret(stack, 'Token');
    // WHEN
    const image = new BootstrappedImage(stack, 'Image', { vpc, steps: [BootStep.secret('token', SecretSource.fromSecret(secret))] });
    // THEN
    const statements = statementsOfRole(Template.fromStack(stack), stack.resolve((image.role.node.defaultChild as CfnResource).logicalId));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Resource: { Ref: stack.resolve((secret.node.defaultChild as CfnResource).logicalId) },
    }));
  });

  test('downloads an asset with s3:GetObject on that one object', () => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    const asset = new s3Assets.Asset(stack, 'Agent', { path: path.join(FIXTURES, 'agent') });
    // WHEN
    const image = new BootstrappedImage(stack, 'Image', { vpc, steps: [BootStep.fileFromAsset('agent', { path: '/opt/agent', asset })] });
    // THEN
    const t = Template.fromStack(stack);
    const s3Statements = statementsOfRole(t, stack.resolve((image.role.node.defaultChild as CfnResource).logicalId))
      .filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect(s3Statements).toHaveLength(1);
    expect(s3Statements[0].Action).toBe('s3:GetObject');
    expect(cfnText(s3Statements[0].Resource)).toMatch(new RegExp(`:s3:::.*/${asset.s3ObjectKey.replace('.', '\\.')}$`));
    expect(userData(t)).toContain(`s3://${cfnText(stack.resolve(asset.s3BucketName))}/${asset.s3ObjectKey}`);
  });

  test('renders steps added after construction (FleetWorker adds its own)', () => {
    // GIVEN
    const { image, template } = newStack({ steps: [BootStep.packages('tools', ['jq'])] });
    // WHEN
    image.addSteps(BootStep.commands('late', ['echo added later']));
    // THEN
    expect(image.steps.map((s) => s.name)).toEqual(['tools', 'late']);
    const text = userData(template());
    expect(text.indexOf("dnf install -y 'jq'")).toBeLessThan(text.indexOf('echo added later'));
  });

  test('adds its grants to a role that is passed in, and makes none of its own', () => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    const role = new iam.Role(stack, 'MyRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    // WHEN
    new BootstrappedImage(stack, 'Image', { vpc, role });
    // THEN
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::IAM::Role', 1);
    expect(JSON.stringify(statementsOfRole(t, stack.resolve((role.node.defaultChild as CfnResource).logicalId)))).toContain('ssmmessages:OpenDataChannel');
  });
});

describe('BootstrappedImage.createAutoScalingGroup', () => {
  test('waits for every instance\'s boot signal at creation and at each rolling update batch', () => {
    // GIVEN
    const { stack, image, template } = newStack();
    // WHEN
    const group = image.createAutoScalingGroup(stack, 'Group', { minCapacity: 2, maxCapacity: 4, bootTimeout: Duration.minutes(20), vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
    // THEN
    const cfnGroup = group.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    const resource = template().toJSON().Resources[stack.resolve(cfnGroup.logicalId)];
    expect(resource.CreationPolicy).toEqual({ ResourceSignal: { Count: 2, Timeout: 'PT20M' } });
    expect(resource.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ WaitOnResourceSignals: true, PauseTime: 'PT20M' });
    expect(resource.Properties.LaunchTemplate.LaunchTemplateId).toEqual({ Ref: stack.resolve((image.launchTemplate.node.defaultChild as CfnResource).logicalId) });
  });

  test('makes the boot signal the group, with a grant on this stack only', () => {
    // GIVEN
    const { stack, image, template } = newStack();
    // WHEN
    const group = image.createAutoScalingGroup(stack, 'Group', { maxCapacity: 1 });
    // THEN
    const logicalId = stack.resolve((group.node.defaultChild as CfnResource).logicalId);
    const t = template();
    expect(userData(t)).toContain(`aws cloudformation signal-resource --stack-name 'TestStack' --logical-resource-id '${logicalId}'`);
    expect(statementsOfRole(t, stack.resolve((image.role.node.defaultChild as CfnResource).logicalId)))
      .toContainEqual(expect.objectContaining({ Action: 'cloudformation:SignalResource', Resource: { Ref: 'AWS::StackId' } }));
  });

  test('declares its steps and its signal on the launch template, for the local cloud to boot its instances', () => {
    // GIVEN an image with a secret and a service
    const { stack, image, template } = newStack({
      steps: [BootStep.file('config', { path: '/etc/app.conf', content: 'a=1\n' }), BootStep.service('app', { execStart: '/opt/app/run' })],
    });
    // WHEN it gets its group
    const group = image.createAutoScalingGroup(stack, 'Group', { maxCapacity: 1 });
    // THEN the launch template declares the steps as data (their contents stay in the user data), the role and the signal
    const metadata = onlyResource(template(), 'AWS::EC2::LaunchTemplate').Metadata as Record<string, unknown>;
    expect(metadata[WORKLOAD_METADATA_KEY]).toEqual({
      kind: 'image-bootstrap/instances',
      version: 1,
      steps: [
        { kind: 'file', name: 'config', path: '/etc/app.conf', mode: '0644', owner: 'root:root' },
        { kind: 'service', name: 'app', serviceName: 'app', unitPath: '/etc/systemd/system/app.service' },
      ],
      baked: false,
      roleArn: { 'Fn::GetAtt': [stack.resolve((image.role.node.defaultChild as CfnResource).logicalId), 'Arn'] },
      signal: { stackName: 'TestStack', logicalId: stack.resolve((group.node.defaultChild as CfnResource).logicalId) },
    });
  });

  test('fills in the launch template of a mixed instances policy', () => {
    // GIVEN
    const { image, stack, template } = newStack();
    // WHEN
    image.createAutoScalingGroup(stack, 'Group', {
      maxCapacity: 3,
      mixedInstancesPolicy: {
        instancesDistribution: { onDemandPercentageAboveBaseCapacity: 0 },
        launchTemplateOverrides: [{ instanceType: new ec2.InstanceType('t4g.small') }, { instanceType: new ec2.InstanceType('m7g.medium') }],
      },
    });
    // THEN
    template().hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MixedInstancesPolicy: Match.objectLike({
        LaunchTemplate: Match.objectLike({ LaunchTemplateSpecification: Match.objectLike({ LaunchTemplateId: Match.anyValue() }) }),
      }),
    });
  });

  test('fails when a second group would share the image\'s signal', () => {
    // GIVEN
    const { stack, image } = newStack();
    image.createAutoScalingGroup(stack, 'Group', { maxCapacity: 1 });
    // WHEN / THEN
    expect(() => image.createAutoScalingGroup(stack, 'Other', { maxCapacity: 1 })).toThrow(/signalTo: this image already signals TestStack\/Group\/ASG/);
  });

  test('fails when the signalled resource is in another stack', () => {
    // GIVEN
    const { app, image } = newStack();
    const other = new Stack(app, 'Other');
    const resource = new ssm.CfnParameter(other, 'Thing', { type: 'String', value: 'x' });
    // WHEN / THEN
    expect(() => image.signalTo(resource)).toThrow(/signalTo: the resource must be in the stack of the image \(TestStack\), received one in Other/);
  });

  test.each([
    ['bootTimeout is under a minute', { bootTimeout: Duration.seconds(30) }, /bootTimeout: must be from 1 minute to 12 hours, received 30 seconds/],
    ['bootTimeout is over 12 hours', { bootTimeout: Duration.hours(13) }, /bootTimeout: must be from 1 minute to 12 hours, received 46800 seconds/],
    ['minSuccessPercentage is over 100', { minSuccessPercentage: 101 }, /minSuccessPercentage: must be an integer from 0 to 100, received 101/],
    ['maxBatchSize is 0', { maxBatchSize: 0 }, /maxBatchSize: must be a positive integer, received 0/],
    ['minInstancesInService is not below maxCapacity', { minInstancesInService: 2, maxCapacity: 2 }, /minInstancesInService: must be an integer from 0 to less than maxCapacity \(2\)/],
  ])('fails when %s', (_name, props, error) => {
    // GIVEN
    const { stack, image } = newStack();
    // WHEN / THEN
    expect(() => image.createAutoScalingGroup(stack, 'Group', props)).toThrow(error);
  });
});

describe('BootstrappedImage bake mode', () => {
  function bakedStack(options: { schedule?: string; buildOnDeploy?: boolean; amiParameterName?: string } = {}) {
    const { stack, vpc } = newVpcStack();
    const asset = new s3Assets.Asset(stack, 'Agent', { path: path.join(FIXTURES, 'agent') });
    const password = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Password', { parameterName: '/demo/password' });
    const image = new BootstrappedImage(stack, 'Image', {
      vpc,
      bake: { subnetSelection: { subnetType: ec2.SubnetType.PUBLIC }, ...options },
      steps: [
        BootStep.packages('tools', ['jq']),
        BootStep.fileFromAsset('agent-bundle', { path: '/opt/agent', asset }),
        BootStep.secret('password', SecretSource.fromParameter(password)),
        BootStep.service('agent', { execStart: '/usr/bin/node /opt/agent/index.js' }),
      ],
    });
    return { stack, image, asset, template: Template.fromStack(stack) };
  }

  test('bakes with EC2 Image Builder from Amazon Linux 2023, and publishes the AMI id to an SSM parameter', () => {
    // WHEN
    const { stack, image, template } = bakedStack();
    // THEN
    template.hasResourceProperties('AWS::ImageBuilder::ImageRecipe', {
      ParentImage: 'ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 8, VolumeType: 'gp3' } }],
    });
    const parameterName = stack.resolve(image.bakery!.amiParameterName);
    template.hasResourceProperties('AWS::ImageBuilder::DistributionConfiguration', {
      Distributions: [Match.objectLike({ SsmParameterConfigurations: [{ DataType: 'aws:ec2:image', ParameterName: parameterName }] })],
    });
    template.resourceCountIs('AWS::ImageBuilder::ImagePipeline', 1);
    template.resourceCountIs('AWS::ImageBuilder::Image', 1);
    template.hasResourceProperties('AWS::ImageBuilder::InfrastructureConfiguration', {
      InstanceMetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      TerminateInstanceOnFailure: true,
      InstanceTypes: ['t4g.micro'],
    });
  });

  test('launches from the newest baked AMI, resolved at launch, after the first build', () => {
    // WHEN
    const { stack, image, template } = bakedStack();
    // THEN
    const lt = onlyResource(template, 'AWS::EC2::LaunchTemplate');
    expect(cfnText((lt.Properties.LaunchTemplateData as { ImageId: unknown }).ImageId))
      .toBe(`resolve:ssm:${cfnText(stack.resolve(image.bakery!.amiParameterName))}`);
    expect(lt.DependsOn).toContain(stack.resolve(image.bakery!.image!.logicalId));
  });

  test('bakes the steps before the first per-instance step, and runs the rest at boot', () => {
    // WHEN
    const { image, template } = bakedStack();
    // THEN
    expect(image.stepsByPhase().image.map((s) => s.name)).toEqual(['tools', 'agent-bundle']);
    const component = cfnText(onlyResource(template, 'AWS::ImageBuilder::Component').Properties.Data);
    expect(component).toContain("dnf install -y 'jq'");
    expect(component).toContain('dnf install -y amazon-cloudwatch-agent');
    expect(component).not.toMatch(/get-parameter|signal-resource|agent\.service/);
    const boot = userData(template);
    expect(boot).not.toMatch(/dnf install/);
    expect(boot).toContain("aws ssm get-parameter --name '/demo/password'");
    expect(boot).toContain("systemctl enable --now 'agent.service'");
  });

  test('grants the asset of a baked step to the build role, and the secret to the instance role only', () => {
    // WHEN
    const { stack, image, template } = bakedStack();
    // THEN
    const build = statementsOfRole(template, stack.resolve(image.bakery!.buildRole.node.defaultChild && (image.bakery!.buildRole.node.defaultChild as CfnResource).logicalId));
    const instance = statementsOfRole(template, stack.resolve((image.role.node.defaultChild as CfnResource).logicalId));
    expect(JSON.stringify(build)).toContain('s3:GetObject');
    expect(JSON.stringify(build)).not.toContain('ssm:GetParameter');
    expect(JSON.stringify(instance)).toContain('ssm:GetParameter');
    expect(JSON.stringify(instance)).not.toContain('s3:GetObject');
  });

  test('keeps the component when only per-instance steps change', () => {
    // WHEN
    const first = bakedStack();
    first.image.addSteps(BootStep.commands('check', ['true']));
    const second = bakedStack();
    // THEN
    const nameOf = (t: Template) => onlyResource(t, 'AWS::ImageBuilder::Component').Properties.Name;
    expect(nameOf(Template.fromStack(first.stack))).toBe(nameOf(second.template));
    const changed = bakedStack();
    changed.image.addSteps(BootStep.packages('more', ['git'], { phase: BootPhase.INSTANCE }));
    expect(nameOf(Template.fromStack(changed.stack))).toBe(nameOf(second.template));
  });

  test('gives the component a new name when a baked step changes', () => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    new BootstrappedImage(stack, 'Image', { vpc, bake: {}, steps: [BootStep.packages('tools', ['jq', 'git'])] });
    // WHEN
    const other = newVpcStack();
    new BootstrappedImage(other.stack, 'Image', { vpc: other.vpc, bake: {}, steps: [BootStep.packages('tools', ['jq'])] });
    // THEN
    const nameOf = (s: Stack) => onlyResource(Template.fromStack(s), 'AWS::ImageBuilder::Component').Properties.Name;
    expect(nameOf(stack)).not.toEqual(nameOf(other.stack));
  });

  test('rebuilds on a schedule, and can skip the build at deploy time', () => {
    // WHEN
    const { template } = bakedStack({ schedule: 'cron(0 4 ? * sun *)', buildOnDeploy: false, amiParameterName: '/my/app/ami' });
    // THEN
    template.hasResourceProperties('AWS::ImageBuilder::ImagePipeline', {
      Schedule: { ScheduleExpression: 'cron(0 4 ? * sun *)', PipelineExecutionStartCondition: 'EXPRESSION_MATCH_AND_DEPENDENCY_UPDATES_AVAILABLE' },
    });
    template.resourceCountIs('AWS::ImageBuilder::Image', 0);
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ ImageId: 'resolve:ssm:/my/app/ami' }) });
  });
});

describe('BootstrappedImage hardening', () => {
  test('encrypts its log group with the key it is given', () => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    const key = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
    // WHEN
    new BootstrappedImage(stack, 'Image', { vpc, logEncryptionKey: key });
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: stack.resolve(key.keyArn), RetentionInDays: 30 });
  });

  test('with customerManagedPolicies, keeps the role\'s grants and the boot policy in managed policies, none inline', () => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    // WHEN
    const image = new BootstrappedImage(stack, 'Image', {
      vpc, customerManagedPolicies: true, steps: [BootStep.secret('password', SecretSource.fromParameter(ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'P', { parameterName: '/demo/password' })))],
    });
    image.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::frames/*'] }));
    // THEN
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    const managed = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(managed).toHaveLength(2);
    const text = JSON.stringify(managed.map((m) => m.Properties.PolicyDocument));
    for (const action of ['s3:GetObject', 'ssm:GetParameter', 'logs:PutLogEvents', 'ssmmessages:OpenDataChannel']) expect(text).toContain(action);
    expect(image.bootPolicy).toBeInstanceOf(iam.ManagedPolicy);
  });
});

describe('BootstrappedImage validation', () => {
  test.each([
    ['rootVolumeSize is below the Amazon Linux snapshot', { rootVolumeSize: 4 }, /rootVolumeSize: must be an integer from 8 to 16,384 GiB \(the Amazon Linux 2023 snapshot is 8 GiB\), received 4/],
    ['httpPutResponseHopLimit is 0', { httpPutResponseHopLimit: 0 }, /httpPutResponseHopLimit: must be an integer from 1 to 64 .*received 0/],
    ['logGroup and logRetention are both set', 'logGroup', /logGroup \+ logRetention: an existing log group keeps its own retention/],
    ['logGroup and logEncryptionKey are both set', 'logGroupKey', /logGroup \+ logEncryptionKey: an existing log group keeps its own retention and encryption/],
    ['securityGroup and allowAllOutbound are both set', 'securityGroup', /securityGroup \+ allowAllOutbound: an existing security group keeps its own rules/],
    ['bake.amiParameterName is under /aws', { bake: { amiParameterName: '/aws/service/mine' } }, /bake.amiParameterName: must be an SSM parameter name .*received "\/aws\/service\/mine"/],
    ['bake.schedule is not a cron expression', { bake: { schedule: 'rate(1 day)' } }, /bake.schedule: must be an Image Builder cron expression .*received "rate\(1 day\)"/],
    ['bake.buildInstanceTypes have another architecture', { bake: { buildInstanceTypes: [new ec2.InstanceType('c7i.large')] } }, /bake.buildInstanceTypes: must have the architecture of instanceType t4g.micro \(arm64\), received c7i.large \(x86_64\)/],
  ])('fails when %s', (_name, props, error) => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    const resolved: Partial<BootstrappedImageProps> = props === 'logGroup'
      ? { logGroup: new logs.LogGroup(stack, 'Mine'), logRetention: logs.RetentionDays.ONE_DAY }
      : props === 'logGroupKey'
        ? { logGroup: new logs.LogGroup(stack, 'Mine'), logEncryptionKey: new kms.Key(stack, 'Key') }
      : props === 'securityGroup'
        ? { securityGroup: new ec2.SecurityGroup(stack, 'Mine', { vpc }), allowAllOutbound: true }
        : props as Partial<BootstrappedImageProps>;
    // WHEN / THEN
    expect(() => new BootstrappedImage(stack, 'Image', { vpc, ...resolved })).toThrow(error);
  });

  const secret = () => BootStep.secret('password', SecretSource.fromParameter(
    ssm.StringParameter.fromStringParameterName(new Stack(), 'P', '/demo/password'),
  ));
  test.each([
    ['a step name has a space', [BootStep.commands('two words', ['true'])], /steps\[0\]\.name: must be 1 to 63 letters, digits, "-" or "_".*received "two words"/],
    ['two steps share a name', [BootStep.commands('same', ['true']), BootStep.commands('same', ['true'])], /steps\[1\]\.name: "same" is already the name of an earlier step/],
    ['a step takes a reserved name', [BootStep.commands('boot-logs', ['true'])], /steps\[0\]\.name: "boot-logs" is reserved for the boot script's own steps/],
    ['an IMAGE step follows a per-instance step', [secret(), BootStep.packages('tools', ['jq'], { phase: BootPhase.IMAGE })], /steps\[1\] \("tools"\)\.phase: is IMAGE, but it comes after "password", which runs at boot/],
    ['a packages step names no package', [BootStep.packages('tools', [])], /steps\[0\] \("tools"\)\.packages: must name at least one package/],
    ['a package name holds a shell character', [BootStep.packages('tools', ['jq; rm -rf /'])], /steps\[0\] \("tools"\)\.packages: must be package names .*received \["jq; rm -rf \/"\]/],
    ['a file path is relative', [BootStep.file('f', { path: 'etc/app.conf', content: '' })], /steps\[0\] \("f"\)\.path: must be a literal absolute path .*received "etc\/app.conf"/],
    ['a file path climbs with ..', [BootStep.file('f', { path: '/opt/../etc/shadow', content: '' })], /steps\[0\] \("f"\)\.path: .*received "\/opt\/..\/etc\/shadow"/],
    ['a file mode is not octal', [BootStep.file('f', { path: '/etc/a', content: '', mode: 'rw-r--r--' })], /steps\[0\] \("f"\)\.mode: must be an octal mode like "0644", received "rw-r--r--"/],
    ['a file owner is not a user', [BootStep.file('f', { path: '/etc/a', content: '', owner: 'Root User' })], /steps\[0\] \("f"\)\.owner: must be "user" or "user:group".*received "Root User"/],
    ['an environment step has no variable', [BootStep.environment('env', {})], /steps\[0\] \("env"\)\.variables: must hold at least one variable/],
    ['an environment variable name has a dash', [BootStep.environment('env', { 'MY-VAR': 'x' })], /steps\[0\] \("env"\)\.variables: names must be .*received \["MY-VAR"\]/],
    ['an environment value holds a single quote', [BootStep.environment('env', { GREETING: "it's" })], /steps\[0\] \("env"\)\.variables: values may not hold a single quote or a line break.*\["GREETING"\]/],
    ['a commands step has no command', [BootStep.commands('c', [])], /steps\[0\] \("c"\)\.commands: must hold at least one command/],
    ['a service has neither execStart nor unitFile', [BootStep.service('s', {})], /steps\[0\] \("s"\)\.execStart, unitFile: give exactly one.*received neither/],
    ['a service has both execStart and unitFile', [BootStep.service('s', { execStart: '/bin/a', unitFile: '[Service]\n' })], /steps\[0\] \("s"\)\.execStart, unitFile: give exactly one.*received both/],
    ['a unit file comes with unit options', [BootStep.service('s', { unitFile: '[Service]\n', user: 'app' })], /steps\[0\] \("s"\)\.unitFile: is a complete unit, so user cannot be set with it/],
    ['execStart spans two lines', [BootStep.service('s', { execStart: '/bin/a\n/bin/b' })], /steps\[0\] \("s"\)\.execStart: must be one non-empty command line/],
    ['a service user is not a Linux user name', [BootStep.service('s', { execStart: '/bin/a', user: 'App User' })], /steps\[0\] \("s"\)\.user: must be a Linux user name.*received "App User"/],
    ['a service loads a secret step that is not before it', [BootStep.service('s', { execStart: '/bin/a', credentials: [secret()] })], /steps\[0\] \("s"\)\.credentials: must be secret steps that come before the service.*"password" is not/],
    // A secret step's phase is INSTANCE; JavaScript can still write the readonly field.
    ['a secret step is marked IMAGE', [Object.assign(secret(), { phase: BootPhase.IMAGE })], /steps\[0\] \("password"\)\.phase: is IMAGE, but a secret is read at every boot and never baked/],
    ['a secret envVar is not a variable name', [BootStep.secret('p', SecretSource.fromParameter(ssm.StringParameter.fromStringParameterName(new Stack(), 'P', '/x')), { envVar: '1PASS' })], /steps\[0\] \("p"\)\.envVar: must be letters, digits and "_".*received "1PASS"/],
  ])('fails when %s', (_name, steps, error) => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    // WHEN / THEN
    expect(() => new BootstrappedImage(stack, 'Image', { vpc, steps: steps as never })).toThrow(error);
  });

  test('fails when a step is a subclass of BootStep of the user\'s own, which the boot script cannot run', () => {
    // GIVEN a step class of the user's own (BootStep's constructor is protected, so other languages can subclass it too)
    class OwnStep extends BootStep {
      constructor() {
        super(BootStepKind.COMMANDS, 'own', {});
      }
    }
    const { stack, vpc } = newVpcStack();
    // WHEN / THEN the image refuses it, naming the step and the factory to use
    expect(() => new BootstrappedImage(stack, 'Image', { vpc, steps: [new OwnStep()] }))
      .toThrow(/steps\[0\] \("own"\): was not made by BootStep's factories \(it is a OwnStep of kind "commands"\).*Make it with BootStep\.commands\(\.\.\.\)/);
  });

  test('reports every broken rule of the added steps in one error', () => {
    // GIVEN
    const { image } = newStack();
    // WHEN / THEN
    expect(() => image.addSteps(BootStep.packages('a b', []), BootStep.commands('c', []))).toThrow(
      /Invalid props for TestStack\/Image:\n {2}- steps\[0\]\.name: .*\n {2}- steps\[0\] \("a b"\)\.packages: .*\n {2}- steps\[1\] \("c"\)\.commands: /,
    );
  });

  test('fails at synth when the boot script is over the user data limit', () => {
    // GIVEN
    const { app, image } = newStack();
    // WHEN
    image.addSteps(BootStep.file('big', { path: '/opt/big.txt', content: 'x'.repeat(20_000) }));
    // THEN
    expect(() => app.synth()).toThrow(/steps: the boot script is about \d+ bytes, over the 16384-byte user data limit of EC2/);
  });
});
