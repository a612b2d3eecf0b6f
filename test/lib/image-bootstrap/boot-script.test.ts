/**
 * The generated boot script on its own: shellcheck-clean in every part, its structure, and the
 * Image Builder document. Running it for real is boot-script-sandbox.test.ts.
 */
import { spawnSync } from 'child_process';
import { BootStep } from '../../../lib';
import { ScriptPart, renderBootScript, renderComponentDocument, shellQuote, type BootScriptOptions } from '../../../lib/image-bootstrap/boot-script';
import { requireTool, toolReady } from '../../../scripts/test-tools';
import { API_SECRET_ARN, DB_PASSWORD_PARAMETER, everyKindOfStep } from './support/steps';

const SIGNAL = { stackName: 'DemoStack', logicalId: 'GroupASG1234' };

// `npm test` installs shellcheck beside the tests when it is missing: wait for that.
beforeAll(() => toolReady('shellcheck'), 600_000);

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
  requireTool('shellcheck'); // a bare `npx jest` says how to install it
  const result = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: text, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: result.stdout + result.stderr };
}

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

  test('runs a service without a user as a systemd dynamic user, restarted on failure, and one with a user as that user', () => {
    // WHEN a service without `user` and the support steps' service with `user: 'worker'` are rendered
    const dynamic = script({ steps: [BootStep.service('app', { execStart: '/opt/app/run' })] });
    const named = script();
    // THEN the first unit runs as a dynamic user (no login, no writes outside its own directories), the second as its user
    expect(dynamic).toMatch(/\[Service\][^[]*\nRestart=on-failure\nRestartSec=5\nDynamicUser=yes\nNoNewPrivileges=yes\n/);
    expect(dynamic).not.toMatch(/^User=/m);
    expect(named).toMatch(/\nUser=worker\nNoNewPrivileges=yes\n/);
    expect(named).not.toContain('DynamicUser=yes');
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
