/** The part of a systemd unit the local cloud applies to a BootstrappedImage's service, and systemd's restart rules. */
import { parseServiceUnit, restartsAfter, splitWords } from '../../../local/image-bootstrap/unit';

describe('parseServiceUnit', () => {
  test('reads what a local run applies from a unit BootStep.service renders, and lists the rest as not applied', () => {
    // GIVEN a unit as BootStep.service renders it (escapes included)
    const unit = parseServiceUnit([
      '[Unit]', 'Description=app', 'After=network-online.target', '',
      '[Service]', 'Type=simple', 'ExecStart=/usr/bin/node "/opt/app/my server.js" --port 8080', 'Restart=on-failure', 'RestartSec=5',
      'DynamicUser=yes', 'NoNewPrivileges=yes', 'WorkingDirectory=/opt/app', 'EnvironmentFile=/etc/bootstrap/app.env', 'EnvironmentFile=-/etc/optional.env',
      'Environment="GREETING=say \\"hi\\" 100%%"', 'LoadCredential=db:/run/bootstrap/secrets/db', 'RuntimeDirectory=app', 'TimeoutStopSec=30',
      'StandardOutput=append:/var/log/bootstrap/app.log', 'StandardError=inherit', '',
      '[Install]', 'WantedBy=multi-user.target',
    ].join('\n'));
    // THEN
    expect(unit).toEqual({
      execStart: ['/usr/bin/node', '/opt/app/my server.js', '--port', '8080'],
      environment: { GREETING: 'say "hi" 100%' },
      environmentFiles: [{ path: '/etc/bootstrap/app.env', optional: false }, { path: '/etc/optional.env', optional: true }],
      credentials: [{ name: 'db', path: '/run/bootstrap/secrets/db' }],
      workingDirectory: '/opt/app',
      runtimeDirectories: ['app'],
      restart: 'on-failure',
      restartMs: 5_000,
      stopTimeoutMs: 30_000,
      outputFile: '/var/log/bootstrap/app.log',
      notApplied: ['DynamicUser=yes', 'NoNewPrivileges=yes'],
    });
  });

  test('fails when the unit has no ExecStart', () => {
    expect(() => parseServiceUnit('[Service]\nType=simple\n')).toThrow(/its unit has no ExecStart=/);
  });

  test('splits words as systemd does: quotes and escapes', () => {
    expect(splitWords(`a 'b c' "d \\"e\\"" f\\ g`)).toEqual(['a', 'b c', 'd "e"', 'f g']);
  });
});

describe('restartsAfter', () => {
  test.each([
    ['always', 0, null, true],
    ['on-failure', 0, null, false],
    ['on-failure', 1, null, true],
    ['on-failure', null, 'SIGKILL', true],
    ['on-failure', null, 'SIGTERM', false],
    ['on-success', 0, null, true],
    ['on-abnormal', 1, null, false],
    ['on-abnormal', null, 'SIGSEGV', true],
    ['no', 1, null, false],
  ] as const)('Restart=%s after exit code %s, signal %s: %s', (restart, code, signal, restarts) => {
    expect(restartsAfter(restart, code, signal)).toBe(restarts);
  });
});
