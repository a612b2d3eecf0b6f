/**
 * The generated boot script on its own: shellcheck-clean in every part, and run for real in a
 * sandbox (stand-ins for dnf, aws, systemctl...; a fake IMDSv2; every path under BOOT_ROOT).
 */
import { spawnSync } from 'child_process';
import { BootStep } from '../../lib/image-bootstrap/boot-steps';
import { ScriptPart, renderBootScript, renderComponentDocument, shellQuote, type BootScriptOptions } from '../../lib/image-bootstrap/boot-script';
import { requireTool } from '../../scripts/test-tools';
import { SANDBOX_INSTANCE_ID, createSandbox, type Sandbox } from './support/sandbox';
import { API_SECRET_ARN, DB_PASSWORD_PARAMETER, DEMO_BUCKET, agentZip, everyKindOfStep } from './support/steps';

const SIGNAL = { stackName: 'DemoStack', logicalId: 'GroupASG1234' };

function script(options: Partial<BootScriptOptions> = {}): string {
  return renderBootScript({
    steps: everyKindOfStep(),
    title: 'DemoStack/Image',
    region: 'us-east-1',
    logGroupName: 'demo-boot-logs',
    signal: SIGNAL,
    shutdownOnFailure: true,
    ...options,
  });
}

function shellcheck(text: string): { status: number | null; output: string } {
  requireTool('shellcheck'); // `npm test` installs it; a bare `npx jest` says how
  const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: text, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: result.stdout + result.stderr };
}

/** The stand-in calls of one command, e.g. calls of `aws`. */
const callsOf = (calls: string[], command: string) => calls.filter((c) => c.startsWith(`${command} `));

describe('renderBootScript', () => {
  test.each([
    ['boot mode, with a signal', {}],
    ['boot mode, without a signal or logs', { signal: undefined, logGroupName: undefined, shutdownOnFailure: false }],
    ['the image part of bake mode', { part: ScriptPart.IMAGE }],
    ['the instance part of bake mode', { part: ScriptPart.INSTANCE }],
  ])('is shellcheck clean: %s', (_name, options) => {
    // WHEN
    const result = shellcheck(script(options));
    // THEN
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('starts with strict mode and logs each step with its number', () => {
    // WHEN
    const text = script();
    // THEN
    expect(text.split('\n')[0]).toBe('#!/bin/bash');
    expect(text).toContain('set -Eeuo pipefail');
    expect(text).toMatch(/boot_begin 'tools' 2 10\n/);
    expect(text).toMatch(/boot_begin 'worker' 10 10\n/);
  });

  test('holds where secrets come from, never their values', () => {
    // WHEN
    const text = script();
    // THEN
    expect(text).toContain(`aws ssm get-parameter --name '${DB_PASSWORD_PARAMETER}' --with-decryption`);
    expect(text).toContain(`aws secretsmanager get-secret-value --secret-id '${API_SECRET_ARN}'`);
  });

  test('bake mode splits the steps at the first per-instance step, keeping their order', () => {
    // WHEN
    const image = script({ part: ScriptPart.IMAGE });
    const instance = script({ part: ScriptPart.INSTANCE });
    // THEN
    const stepsOf = (text: string) => [...text.matchAll(/^boot_begin '([^']+)'/gm)].map((m) => m[1]);
    expect(stepsOf(image)).toEqual(['boot-logs-agent', 'tools', 'config', 'agent', 'demo', 'prepare']);
    expect(stepsOf(instance)).toEqual(['boot-logs', 'baked-environment', 'db-password', 'api-key', 'use-secret', 'worker']);
    expect(image).not.toMatch(/signal-resource|shutdown|get-parameter|get-secret-value/);
    expect(image).not.toContain('systemctl');
  });

  test('quotes for bash, so a single quote stays a literal', () => {
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  test('wraps the script in an Image Builder component document as a literal block', () => {
    // WHEN
    const doc = renderComponentDocument('bootstrap', 'demo', '#!/bin/bash\necho "a: b"\n\nexit 0\n');
    // THEN
    expect(doc).toContain('action: ExecuteBash');
    expect(doc).toContain('            - |\n              #!/bin/bash\n              echo "a: b"\n\n              exit 0\n');
  });
});

describe('the boot script, run in a sandbox', () => {
  let sandbox: Sandbox;
  beforeEach(async () => {
    sandbox = await createSandbox();
    sandbox.setParameter(DB_PASSWORD_PARAMETER, 'correct horse battery staple');
    sandbox.setSecret(API_SECRET_ARN, '{"key": "k-123456", "other": 1}');
    sandbox.setObject(DEMO_BUCKET, 'assets/agent.zip', agentZip());
  });
  afterEach(async () => {
    await sandbox.cleanup();
  });

  test('runs the steps in order, fetches the secrets at boot, and signals success', async () => {
    // WHEN
    const run = await sandbox.run(script());

    // THEN
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
      `aws secretsmanager get-secret-value --secret-id ${API_SECRET_ARN} --query SecretString --output text`,
      `chown worker:worker ${sandbox.root}/run/bootstrap/secrets/api-key`,
      'getent passwd worker',
      'useradd --system --no-create-home --shell /sbin/nologin worker',
      'systemctl daemon-reload',
      'systemctl enable --now worker.service',
      'systemctl is-active --quiet worker.service',
      `aws cloudformation signal-resource --stack-name DemoStack --logical-resource-id GroupASG1234 --unique-id ${SANDBOX_INSTANCE_ID} --status SUCCESS`,
    ]);
  });

  test('writes files with their exact content, mode, and the zip asset with its file modes', async () => {
    // WHEN
    const run = await sandbox.run(script());

    // THEN
    expect(run.status).toBe(0);
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

  test('exports the environment and the secret to later steps, and writes secrets readable by their owner only', async () => {
    // WHEN
    const run = await sandbox.run(script());

    // THEN
    expect(run.status).toBe(0);
    expect(sandbox.read('/opt/demo/mode')).toBe('mode sandbox\n');
    expect(sandbox.read('/opt/demo/password-length')).toBe(String('correct horse battery staple'.length));
    expect(sandbox.read('/run/bootstrap/secrets/db-password')).toBe('correct horse battery staple');
    expect(sandbox.read('/run/bootstrap/secrets/api-key')).toBe('k-123456');
    expect(sandbox.mode('/run/bootstrap/secrets/db-password')).toBe('400');
    expect(sandbox.mode('/run/bootstrap/secrets')).toBe('711');
    expect(run.output).not.toContain('correct horse battery staple');
    expect(run.output).not.toContain('k-123456');
    expect(sandbox.read('/var/log/bootstrap.log')).toContain('step 10/10 worker: start');
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

  test('fails the boot when a secret cannot be read (access denied)', async () => {
    // GIVEN
    sandbox.fail('aws');
    // WHEN
    const run = await sandbox.run(script({ logGroupName: undefined, steps: everyKindOfStep().filter((s) => s.name === 'db-password') }));
    // THEN
    expect(run.status).not.toBe(0);
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

  test('the image part bakes without signalling, and the instance part loads the baked environment', async () => {
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
