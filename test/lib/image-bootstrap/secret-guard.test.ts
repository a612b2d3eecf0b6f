/**
 * The secret guard: a step (or any user data) that looks like it holds a secret fails the synth,
 * naming the step and pointing to the secret step; the secret step itself and references
 * (variables, deploy-time values, paths, ARNs) pass.
 */
import { Aspects, Aws } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as imagebuilder from 'aws-cdk-lib/aws-imagebuilder';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { renderBootScript } from '../../../lib/image-bootstrap/boot-script';
import { BootStep, SecretSource } from '../../../lib/image-bootstrap/boot-steps';
import { BootstrappedImage } from '../../../lib/image-bootstrap/bootstrapped-image';
import { SecretGuard, findSecretLookalikes } from '../../../lib/image-bootstrap/secret-guard';
import { everyKindOfStep } from './support/steps';
import { newStack, newVpcStack } from './support/template';

// Example values from the AWS documentation, split so that no scanner flags this file.
const ACCESS_KEY_ID = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
const PRIVATE_KEY = ['-----BEGIN RSA PRIVATE', 'KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n'].join(' ');

describe('findSecretLookalikes', () => {
  test.each([
    ['an AWS access key id', `export AWS_ACCESS_KEY_ID=${ACCESS_KEY_ID}`, 'an AWS access key id'],
    ['a temporary access key id', `key ${['ASIA', 'IOSFODNN7EXAMPLE'].join('')}`, 'an AWS access key id'],
    ['a private key block', PRIVATE_KEY, 'a private key'],
    ['an OpenSSH private key', ['-----BEGIN OPENSSH', 'PRIVATE KEY-----'].join(' '), 'a private key'],
    ['a password= literal', 'mysql --user=app --password=hunter22', 'a literal password, secret or token value'],
    ['a quoted JSON secret', '{"client_secret": "s3cr3t-value"}', 'a literal password, secret or token value'],
    ['a YAML token', 'api_token: abcdef123456', 'a literal password, secret or token value'],
    ['an API key variable', 'API_KEY=0123456789abcdef', 'a literal password, secret or token value'],
  ])('finds %s', (_name, text, kind) => {
    expect(findSecretLookalikes(text).map((f) => f.kind)).toContain(kind);
  });

  test.each([
    ['a variable', 'mysql --password="${DB_PASSWORD}"'],
    ['a command substitution', 'TOKEN=$(cat /run/bootstrap/secrets/token)'],
    ['a path to a secret file', 'password_file=/run/bootstrap/secrets/db-password'],
    ['a path as the value', 'PASSWORD=/run/secrets/db'],
    ['an ARN', 'secret=arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf'],
    ['a CloudFormation dynamic reference', 'password={{resolve:secretsmanager:db}}'],
    ['the IMDSv2 token header', "curl -H 'X-aws-ec2-metadata-token-ttl-seconds: 60'"],
    ['a short value', 'token=abc'],
    ['words about secrets', 'The API token is loaded from Secrets Manager at boot'],
  ])('does not flag %s', (_name, text) => {
    expect(findSecretLookalikes(text)).toEqual([]);
  });

  test('shows the key but not the value of a literal password', () => {
    expect(findSecretLookalikes('DB_PASSWORD=hunter22')).toEqual([{ kind: 'a literal password, secret or token value', excerpt: 'DB_PASSWORD=…' }]);
  });

  test('counts a deploy-time value as a reference, not a literal', () => {
    // GIVEN
    const param = ssm.StringParameter.fromStringParameterName(newVpcStack().stack, 'P', '/x');
    // WHEN / THEN
    expect(findSecretLookalikes(`PASSWORD=${param.stringValue}`)).toEqual([]);
    expect(findSecretLookalikes(`TOKEN=${Aws.STACK_NAME}`)).toEqual([]);
  });

  test('finds nothing in the generated boot script itself', () => {
    // WHEN
    const script = renderBootScript({ steps: everyKindOfStep(), logGroupName: 'logs', region: 'us-east-1', signal: { stackName: 'S', logicalId: 'G' }, shutdownOnFailure: true });
    // THEN
    expect(findSecretLookalikes(script)).toEqual([]);
  });
});

describe('BootstrappedImage secret guard', () => {
  test.each([
    ['a file holds an access key', () => BootStep.file('credentials', { path: '/root/.aws/credentials', content: `[default]\naws_access_key_id = ${ACCESS_KEY_ID}\n` }), /steps\[0\] \("credentials"\): holds what looks like a secret: an AWS access key id \("AKIAIOSF…"\)/],
    ['a command holds a private key', () => BootStep.commands('install-key', [`cat > /etc/ssl/app.key <<'EOF'\n${PRIVATE_KEY}EOF`]), /steps\[0\] \("install-key"\): holds what looks like a secret: a private key/],
    ['an environment variable holds a password', () => BootStep.environment('app', { DB_PASSWORD: 'hunter22' }), /steps\[0\] \("app"\): holds what looks like a secret: a literal password, secret or token value \("DB_PASSWORD=…"\)/],
    ['a service passes a token on its command line', () => BootStep.service('app', { execStart: '/opt/app/run --token=abcdef123456' }), /steps\[0\] \("app"\): holds what looks like a secret/],
    ['a service environment holds a secret', () => BootStep.service('app', { execStart: '/opt/app/run', environment: { CLIENT_SECRET: 'abcdef123456' } }), /steps\[0\] \("app"\): holds what looks like a secret/],
  ])('fails when %s, and points to the secret step', (_name, step, error) => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    // WHEN / THEN
    expect(() => new BootstrappedImage(stack, 'Image', { vpc, steps: [step()] })).toThrow(error);
    expect(() => new BootstrappedImage(stack, 'Image2', { vpc, steps: [step()] })).toThrow(/BootStep\.secret\(name, SecretSource\.fromParameter/);
  });

  test('passes the secret step itself, whatever its names say', () => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    const password = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Password', { parameterName: '/prod/db/password' });
    const secret = BootStep.secret('db-password', SecretSource.fromParameter(password), { path: '/run/secrets/password', envVar: 'DB_PASSWORD' });
    // WHEN
    const image = new BootstrappedImage(stack, 'Image', {
      vpc,
      steps: [
        secret,
        BootStep.commands('use', ['mysql --password="${DB_PASSWORD}" -e "select 1"']),
        BootStep.service('app', { execStart: '/opt/app/run --password-file=${CREDENTIALS_DIRECTORY}/db-password', credentials: [secret] }),
      ],
    });
    // THEN
    expect(image.steps).toHaveLength(3);
  });

  test('lets a step that holds an example value say so with notASecret', () => {
    // GIVEN
    const { stack, vpc } = newVpcStack();
    // WHEN
    const image = new BootstrappedImage(stack, 'Image', {
      vpc,
      steps: [BootStep.file('docs', { path: '/usr/share/doc/app/example', content: `aws_access_key_id=${ACCESS_KEY_ID}\n`, notASecret: 'the example key of the AWS documentation' })],
    });
    // THEN
    expect(image.steps).toHaveLength(1);
  });
});

describe('SecretGuard aspect', () => {
  test('fails the synth when an instance\'s user data holds an access key', () => {
    // GIVEN
    const { app, stack, vpc } = newVpcStack();
    const userData = ec2.UserData.forLinux();
    userData.addCommands(`export AWS_ACCESS_KEY_ID=${ACCESS_KEY_ID}`);
    new ec2.Instance(stack, 'Legacy', {
      vpc,
      instanceType: new ec2.InstanceType('t4g.micro'),
      machineImage: ec2.MachineImage.fromSsmParameter('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64'),
      userData,
    });
    // WHEN
    Aspects.of(app).add(new SecretGuard());
    // THEN
    expect(() => app.synth()).toThrow(/TestStack\/Legacy\/Resource.*the user data of this AWS::EC2::Instance holds what looks like a secret: an AWS access key id/s);
  });

  test('fails the synth when a launch template\'s user data holds a private key', () => {
    // GIVEN
    const { app, stack } = newVpcStack();
    const userData = ec2.UserData.forLinux();
    userData.addCommands(`cat > /etc/ssl/app.key <<'EOF'\n${PRIVATE_KEY}EOF`);
    new ec2.LaunchTemplate(stack, 'Template', { userData });
    // WHEN
    Aspects.of(app).add(new SecretGuard());
    // THEN
    expect(() => app.synth()).toThrow(/the user data of this AWS::EC2::LaunchTemplate holds what looks like a secret: a private key/);
  });

  test('fails the synth when an Image Builder component holds a password', () => {
    // GIVEN
    const { app, stack } = newVpcStack();
    new imagebuilder.CfnComponent(stack, 'Component', {
      name: 'c', version: '1.0.0', platform: 'Linux',
      data: 'phases:\n  - name: build\n    steps:\n      - name: s\n        action: ExecuteBash\n        inputs:\n          commands:\n            - echo "password=hunter22" > /etc/app.conf\n',
    });
    // WHEN
    Aspects.of(app).add(new SecretGuard());
    // THEN
    expect(() => app.synth()).toThrow(/the user data of this AWS::ImageBuilder::Component holds what looks like a secret/);
  });

  test('leaves a BootstrappedImage to its own step checks (and their notASecret)', () => {
    // GIVEN
    const { app, stack, image } = newStack({
      steps: [BootStep.file('docs', { path: '/usr/share/doc/app/example', content: `aws_access_key_id=${ACCESS_KEY_ID}\n`, notASecret: 'the example key of the AWS documentation' })],
    });
    image.createAutoScalingGroup(stack, 'Group', { maxCapacity: 1 });
    // WHEN
    Aspects.of(app).add(new SecretGuard());
    // THEN
    expect(() => app.synth()).not.toThrow();
  });
});
