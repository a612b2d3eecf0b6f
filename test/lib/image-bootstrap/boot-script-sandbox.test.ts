/**
 * The generated boot script run for real in a sandbox: every path under BOOT_ROOT, stand-ins for
 * what would change the machine (dnf, systemctl, chown, useradd, shutdown), a fake IMDSv2, and
 * the real AWS CLI against moto: the secret is really read from SSM (with decryption) and Secrets
 * Manager, the archive really copied from S3. The one AWS stand-in is CloudFormation's
 * SignalResource, which moto does not have. Needs no shellcheck.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { BootStep, SecretSource } from '../../../lib/image-bootstrap/boot-steps';
import { ScriptPart, renderBootScript, type BootScriptOptions } from '../../../lib/image-bootstrap/boot-script';
import { toolReady } from '../../../scripts/test-tools';
import { useLocalAws } from '../../support/local-aws';
import { SANDBOX_INSTANCE_ID, createSandbox, type Sandbox, type SandboxRun } from './support/sandbox';
import { DB_PASSWORD_PARAMETER, DEMO_BUCKET, agentZip, everyKindOfStep, importScope } from './support/steps';

jest.setTimeout(120_000);

const SIGNAL = { stackName: 'DemoStack', logicalId: 'GroupASG1234' };
const PASSWORD = 'correct horse battery staple';

/** The calls of one command, e.g. calls of `aws`. */
const callsOf = (calls: string[], command: string) => calls.filter((c) => c.startsWith(`${command} `));

describe('the boot script, run in a sandbox against moto', () => {
  const aws = useLocalAws();
  let apiSecretArn: string;

  const script = (options: Partial<BootScriptOptions> = {}) => renderBootScript({
    steps: everyKindOfStep(importScope(), apiSecretArn),
    title: 'DemoStack/Image',
    region: 'us-east-1',
    logGroupName: 'demo-boot-logs',
    signal: SIGNAL,
    shutdownOnFailure: true,
    ...options,
  });

  beforeAll(async () => {
    await toolReady('curl'); // `npm test` installs it (this waits for that); a bare `npx jest` says how
    await toolReady('aws');
    // GIVEN what the steps read, in the local AWS: a SecureString, a secret, an archive
    const endpoint = aws.moto.endpoint;
    const s3 = new S3Client({ endpoint, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: DEMO_BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: DEMO_BUCKET, Key: 'assets/agent.zip', Body: agentZip() }));
    await new SSMClient({ endpoint }).send(new PutParameterCommand({ Name: DB_PASSWORD_PARAMETER, Type: 'SecureString', Value: PASSWORD }));
    const secret = await new SecretsManagerClient({ endpoint }).send(new CreateSecretCommand({ Name: 'demo-api', SecretString: '{"key": "k-123456", "other": 1}' }));
    apiSecretArn = secret.ARN!;
  }, 600_000); // curl may be installing: `npm test` installs it beside the tests

  describe('a full boot', () => {
    let sandbox: Sandbox;
    let run: SandboxRun;
    beforeAll(async () => {
      sandbox = await createSandbox({ awsEndpoint: aws.moto.endpoint });
      run = await sandbox.run(script());
    });
    afterAll(async () => {
      await sandbox?.cleanup();
    });

    test('runs the steps in order, reads the secrets and the archive from AWS, and signals success', () => {
      expect(run.output).toMatch(/finished 10 steps/);
      expect(run.status).toBe(0);
      const calls = run.calls.map((c) => c.replace(/\S*\/tmp\/tmp\.\w+/, '<archive>'));
      expect(calls).toEqual([
        'dnf install -y amazon-cloudwatch-agent logrotate',
        `amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${sandbox.root}/opt/aws/amazon-cloudwatch-agent/etc/bootstrap-logs.json`,
        'dnf install -y jq nodejs22',
        `chown root:worker ${sandbox.root}/etc/demo/config.json`,
        `aws s3 cp --only-show-errors s3://${DEMO_BUCKET}/assets/agent.zip <archive>`,
        `chown -R root:root ${sandbox.root}/opt/demo/agent`,
        `chown root:root ${sandbox.root}/etc/bootstrap/demo.env`,
        `aws ssm get-parameter --name ${DB_PASSWORD_PARAMETER} --with-decryption --query Parameter.Value --output text`,
        `chown root:root ${sandbox.root}/run/bootstrap/secrets/db-password`,
        `aws secretsmanager get-secret-value --secret-id ${apiSecretArn} --query SecretString --output text`,
        `chown worker:worker ${sandbox.root}/run/bootstrap/secrets/api-key`,
        'getent passwd worker',
        'useradd --system --no-create-home --shell /sbin/nologin worker',
        'systemctl daemon-reload',
        'systemctl enable --now worker.service',
        'systemctl is-active --quiet worker.service',
        `aws cloudformation signal-resource --stack-name DemoStack --logical-resource-id GroupASG1234 --unique-id ${SANDBOX_INSTANCE_ID} --status SUCCESS`,
      ]);
    });

    test('writes files with their exact content and mode, and the archive from S3 with its file modes', () => {
      expect(sandbox.read('/etc/demo/config.json')).toBe('{"greeting": "it\'s $HOME"}');
      expect(sandbox.mode('/etc/demo/config.json')).toBe('640');
      expect(sandbox.read('/opt/demo/agent/run.sh')).toBe('#!/bin/sh\necho running\n');
      expect(sandbox.mode('/opt/demo/agent/run.sh')).toBe('755');
      expect(sandbox.mode('/opt/demo/agent/lib/data.txt')).toBe('644');
      expect(sandbox.read('/etc/bootstrap/demo.env')).toBe("DEMO_MODE='sandbox'\nDEMO_URL='https://example.com/a?b=c'\n");
      expect(sandbox.read('/etc/systemd/system/worker.service')).toContain('LoadCredential=db-password:/run/bootstrap/secrets/db-password\n');
      expect(JSON.parse(sandbox.read('/opt/aws/amazon-cloudwatch-agent/etc/bootstrap-logs.json')).logs.logs_collected.files.collect_list)
        .toEqual([
          { file_path: '/var/log/bootstrap.log', log_group_name: 'demo-boot-logs', log_stream_name: '{instance_id}/bootstrap' },
          { file_path: '/var/log/bootstrap/worker.log', log_group_name: 'demo-boot-logs', log_stream_name: '{instance_id}/worker' },
        ]);
    });

    test('writes the decrypted SecureString and the secret\'s JSON field, readable by their owner only, and never logs them', () => {
      // Without --with-decryption moto answers the SecureString still encrypted ("kms:alias/aws/ssm:..."), as SSM does.
      expect(sandbox.read('/run/bootstrap/secrets/db-password')).toBe(PASSWORD);
      expect(sandbox.read('/run/bootstrap/secrets/api-key')).toBe('k-123456');
      expect(sandbox.mode('/run/bootstrap/secrets/db-password')).toBe('400');
      expect(sandbox.mode('/run/bootstrap/secrets')).toBe('711');
      expect(sandbox.read('/opt/demo/mode')).toBe('mode sandbox\n');
      expect(sandbox.read('/opt/demo/password-length')).toBe(String(PASSWORD.length));
      expect(run.output).not.toContain(PASSWORD);
      expect(run.output).not.toContain('k-123456');
      expect(sandbox.read('/var/log/bootstrap.log')).toContain('step 10/10 worker: start');
    });
  });

  describe('failures and bake parts', () => {
    let sandbox: Sandbox;
    beforeEach(async () => {
      sandbox = await createSandbox({ awsEndpoint: aws.moto.endpoint });
    });
    afterEach(async () => {
      await sandbox?.cleanup();
    });

    test('a failing step signals failure, shuts the instance down, stops the boot and exits non-zero', async () => {
      // GIVEN
      const steps = [
        BootStep.commands('first', ['echo first > "${BOOT_ROOT}/first"']),
        BootStep.commands('breaks', ['echo about to fail', 'false', 'echo never']),
        BootStep.commands('after', ['echo after > "${BOOT_ROOT}/after"']),
      ];

      // WHEN
      const run = await sandbox.run(script({ steps }));

      // THEN
      expect(run.status).toBe(1);
      expect(sandbox.read('/first')).toBe('first\n');
      expect(run.output).not.toContain('never');
      expect(run.output).not.toMatch(/step 4\/4 after/);
      expect(run.output).toMatch(/FAILED: step breaks ended with status 1 at line \d+/);
      expect(run.calls.slice(-2)).toEqual([
        `aws cloudformation signal-resource --stack-name DemoStack --logical-resource-id GroupASG1234 --unique-id ${SANDBOX_INSTANCE_ID} --status FAILURE`,
        'shutdown -h +1 boot failed: see /var/log/bootstrap.log',
      ]);
    });

    test.each([
      ['an unset variable', BootStep.commands('typo', ['echo "${NOT_SET_ANYWHERE}"']), 'typo'],
      ['an exit in a command step', BootStep.commands('gives-up', ['exit 3']), 'gives-up'],
      ['a failure inside a pipeline', BootStep.commands('pipe', ['false | cat']), 'pipe'],
      ['a service that does not start', BootStep.service('app', { execStart: '/bin/app' }), 'app'],
    ])('signals failure for %s', async (_what, step, name) => {
      // GIVEN
      sandbox.fail('systemctl-is-active');
      // WHEN
      const run = await sandbox.run(script({ steps: [step] }));
      // THEN
      expect(run.status).not.toBe(0);
      expect(run.output).toMatch(new RegExp(`FAILED: step ${name} ended with status`));
      expect(run.calls).toContain(`aws cloudformation signal-resource --stack-name DemoStack --logical-resource-id GroupASG1234 --unique-id ${SANDBOX_INSTANCE_ID} --status FAILURE`);
    });

    test('retries a failing package install, then fails the boot', async () => {
      // GIVEN
      sandbox.fail('dnf');
      // WHEN
      const run = await sandbox.run(script({ logGroupName: undefined, steps: [BootStep.packages('tools', ['jq'])] }));
      // THEN
      expect(run.status).toBe(1);
      expect(callsOf(run.calls, 'dnf')).toHaveLength(5);
      expect(run.output).toMatch(/attempt 4 of dnf failed/);
      expect(run.output).toMatch(/FAILED: step tools/);
    });

    test('fails the boot, after retries, when a secret cannot be read (SSM says it does not exist)', async () => {
      // GIVEN a step that reads a parameter the local AWS does not have
      const missing = ssm.StringParameter.fromSecureStringParameterAttributes(importScope(), 'Missing', { parameterName: '/demo/not-there' });
      const step = BootStep.secret('db-password', SecretSource.fromParameter(missing));
      // WHEN
      const run = await sandbox.run(script({ logGroupName: undefined, signal: undefined, steps: [step] }));
      // THEN the real error is in the boot log, and the boot failed
      expect(run.status).not.toBe(0);
      expect(callsOf(run.calls, 'aws')).toHaveLength(5);
      expect(run.output).toMatch(/ParameterNotFound/);
      expect(run.output).toMatch(/FAILED: step db-password/);
    });

    test('a successful boot still exits 0 when no CloudFormation operation waits for its signal', async () => {
      // GIVEN
      sandbox.fail('signal-resource');
      // WHEN
      const run = await sandbox.run(script({ logGroupName: undefined, steps: [BootStep.commands('ok', ['true'])] }));
      // THEN
      expect(run.status).toBe(0);
      expect(run.output).toMatch(/CloudFormation did not take the SUCCESS signal/);
    });

    test('the image part bakes without signalling, and the instance part reads the secrets and loads the baked environment', async () => {
      // WHEN
      const image = await sandbox.run(script({ part: ScriptPart.IMAGE }));
      const instance = await sandbox.run(script({ part: ScriptPart.INSTANCE }));

      // THEN
      expect(image.status).toBe(0);
      expect(image.calls.some((c) => /signal-resource|shutdown|ssm|secretsmanager/.test(c))).toBe(false);
      expect(callsOf(image.calls, 'dnf')).toEqual(['dnf install -y amazon-cloudwatch-agent logrotate', 'dnf install -y jq nodejs22']);
      expect(sandbox.read('/var/log/bootstrap-bake.log')).toMatch(/finished 6 steps/);
      expect(instance.status).toBe(0);
      expect(callsOf(instance.calls, 'dnf')).toEqual([]);
      expect(sandbox.read('/opt/demo/password-length')).toBe('28');
      expect(instance.calls.at(-1)).toMatch(/--status SUCCESS$/);
    });
  });
});
