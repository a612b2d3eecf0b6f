/**
 * A sandbox to run a generated boot script for real without touching the machine: a temporary
 * directory as `BOOT_ROOT` (every path the script writes is under it), stand-ins for dnf,
 * systemctl, shutdown, chown, useradd and getent first on the PATH that record their calls, the
 * real AWS CLI against a local AWS (moto: its calls are recorded too), and a fake IMDSv2 server
 * on 127.0.0.1 (the real curl talks to it; a request without a session token is refused, as on
 * an instance with IMDSv2 required).
 *
 * The one AWS call that is a stand-in is `aws cloudformation signal-resource`: moto's
 * CloudFormation has no SignalResource (it answers 500), so the stand-in records the signal.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { LOCAL_AWS_ENV } from '../../../../local/moto';

/** The instance id the fake IMDS answers with. */
export const SANDBOX_INSTANCE_ID = 'i-0123456789abcdef0';

/** What a run of a script did. */
export interface SandboxRun {
  /** Exit status of bash. */
  readonly status: number | null;
  /** Everything the script printed (stdout and stderr, through its tee). */
  readonly output: string;
  /** The calls of the stand-ins and of the AWS CLI, one line each: the command and its arguments. */
  readonly calls: string[];
}

/** Where the sandbox's AWS CLI calls go. */
export interface SandboxOptions {
  /** The local AWS endpoint (moto), as `AWS_ENDPOINT_URL`. */
  readonly awsEndpoint: string;
}

/** A sandbox directory with stand-ins; `cleanup()` removes it. */
export interface Sandbox {
  /** The directory the script sees as `BOOT_ROOT`. */
  readonly root: string;
  /** Makes a stand-in fail: `dnf`, `systemctl-is-active`, `curl-imds`, `signal-resource` ... */
  fail(what: string): void;
  /** Runs `script` with bash in the sandbox. */
  run(script: string, env?: Record<string, string>): Promise<SandboxRun>;
  /** The content of a file under the root. */
  read(p: string): string;
  /** The mode of a file under the root, as octal text (e.g. "400"). */
  mode(p: string): string;
  /** Removes the directory and stops the IMDS server. */
  cleanup(): Promise<void>;
}

const RECORD = 'printf \'%s\' "$(basename "$0")" >> "$SANDBOX/calls"; for a in "$@"; do printf \' %s\' "$a" >> "$SANDBOX/calls"; done; echo >> "$SANDBOX/calls"';

const STAND_INS: Record<string, string> = {
  dnf: `${RECORD}\n[ ! -e "$SANDBOX/fail/dnf" ] || { echo "dnf: no such package" >&2; exit 1; }`,
  chown: RECORD,
  useradd: RECORD,
  getent: `${RECORD}\nexit 2`,
  shutdown: RECORD,
  systemctl: [
    RECORD,
    'if [ "$1" = is-active ] && [ -e "$SANDBOX/fail/systemctl-is-active" ]; then exit 3; fi',
    'if [ "$1" = status ]; then echo "● $3 - failed (stand-in)"; fi',
  ].join('\n'),
};

let awsCli: string | undefined;

/** The AWS CLI on the machine's Python, resolved through pyenv's shim (which needs the real HOME). */
function realAwsCli(): string {
  awsCli ??= spawnSync('bash', ['-c', 'pyenv which aws 2>/dev/null || command -v aws'], { encoding: 'utf8' }).stdout.trim();
  if (!awsCli) throw new Error('the AWS CLI is not installed: pip install awscli');
  return awsCli;
}

/** `aws`: the real CLI, recorded, except for SignalResource, which moto lacks. */
function awsWrapper(realAws: string): string {
  return [
    RECORD,
    'if [ "$1 $2" = "cloudformation signal-resource" ]; then',
    '  [ ! -e "$SANDBOX/fail/signal-resource" ] || { echo "ValidationError: not in a state to be signaled" >&2; exit 254; }',
    '  exit 0',
    'fi',
    `exec '${realAws}' "$@"`,
  ].join('\n');
}

/** The CloudWatch agent's control program, at its absolute path under the root. */
const AGENT_CTL = '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl';

/** Starts a fake IMDSv2: PUT /latest/api/token, then GET /latest/meta-data/instance-id with the token. */
async function startImds(dir: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const token = 'sandbox-session';
  const server = http.createServer((req, res) => {
    if (fs.existsSync(path.join(dir, 'fail', 'curl-imds'))) {
      res.writeHead(503).end();
      return;
    }
    if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
      res.writeHead(200).end(token);
    } else if (req.method === 'GET' && req.headers['x-aws-ec2-metadata-token'] !== token) {
      res.writeHead(401).end();
    } else if (req.method === 'GET' && req.url === '/latest/meta-data/instance-id') {
      res.writeHead(200).end(SANDBOX_INSTANCE_ID);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Makes a sandbox; call `cleanup()` after the test. */
export async function createSandbox(options: SandboxOptions): Promise<Sandbox> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boot-sandbox-'));
  const root = path.join(dir, 'root');
  const bin = path.join(dir, 'bin');
  for (const d of [root, bin, path.join(dir, 'fail'), path.join(dir, 'tmp')]) {
    fs.mkdirSync(d, { recursive: true });
  }
  fs.writeFileSync(path.join(dir, 'calls'), '');
  for (const [name, body] of Object.entries({ ...STAND_INS, aws: awsWrapper(realAwsCli()) })) {
    fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  }
  fs.mkdirSync(path.dirname(path.join(root, AGENT_CTL)), { recursive: true });
  fs.writeFileSync(path.join(root, AGENT_CTL), `#!/bin/bash\n${RECORD}\n`, { mode: 0o755 });
  const imds = await startImds(dir);

  return {
    root,
    fail: (what) => fs.writeFileSync(path.join(dir, 'fail', what), ''),
    read: (p) => fs.readFileSync(path.join(root, p), 'utf8'),
    mode: (p) => (fs.statSync(path.join(root, p)).mode & 0o7777).toString(8),
    run: (script, env = {}) => new Promise((resolve, reject) => {
      const scriptFile = path.join(dir, 'boot.sh');
      fs.writeFileSync(scriptFile, script);
      fs.writeFileSync(path.join(dir, 'calls'), '');
      const child = spawn('bash', [scriptFile], {
        cwd: dir,
        env: {
          PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
          HOME: dir,
          TMPDIR: path.join(dir, 'tmp'),
          SANDBOX: dir,
          BOOT_ROOT: root,
          BOOT_RETRY_DELAY: '0',
          AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
          ...LOCAL_AWS_ENV,
          AWS_ENDPOINT_URL: options.awsEndpoint,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
      // The AWS CLI starts a Python each call: generous for a loaded machine.
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('error', reject);
      // 'close' waits for the script's tee too, so the output is complete.
      child.on('close', (status) => {
        clearTimeout(timer);
        const calls = fs.readFileSync(path.join(dir, 'calls'), 'utf8').split('\n').filter((l) => l !== '');
        resolve({ status, output, calls });
      });
    }),
    cleanup: async () => {
      await imds.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
