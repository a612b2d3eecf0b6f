/**
 * The local cloud as a user gets it: @cdk-cloud-patterns/local installed as a dev dependency of a
 * scratch CDK app (with the constructs, the runtime for the handler, the CDK CLI and esbuild; one
 * `npm install` of the app's package.json, as a user's clone installs). The app's cdk.json app
 * has two stacks of the user's own, without any of the catalog's demo stacks: UserStack composes
 * WorkQueue and LambdaWorker with a handler of its own and a Secrets Manager secret; PlainStack a
 * LambdaWorker, a FleetWorker and a plain BootstrappedImage group with a service.
 * `npx cdk-cloud-patterns local --smoke`, run once in the app's folder, deploys both into moto,
 * runs every catalog workload it finds through the workload declarations, checks each (there are
 * no demo jobs: its workloads are the check), then stops everything it started.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LOCAL_CLOUD_PEERS, missingPackages } from '../../local/cli';
import { packedPackages } from '../support/packed-package';
import { REPO_ROOT } from '../support/paths';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, npm_config_loglevel: 'error' } });

const USER_HANDLER = `
import { defineJobHandler } from '@cdk-cloud-patterns/runtime';

export const handler = defineJobHandler<{ name: string }, string>(async (job) => \`hello \${job.name}\`);
`;

const USER_APP = `
const path = require('path');
const { App, Stack } = require('aws-cdk-lib');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');
const { WorkQueue, LambdaWorker } = require('cdk-cloud-patterns');

const app = new App();
const stack = new Stack(app, 'UserStack');
const jobs = new WorkQueue(stack, 'Jobs');
const worker = new LambdaWorker(stack, 'Worker', { workQueue: jobs, entry: path.join(__dirname, 'handler.ts') });
const apiKey = new secretsmanager.Secret(stack, 'ApiKey', { generateSecretString: { excludePunctuation: true } });
apiKey.grantRead(worker.function);
worker.function.addEnvironment('API_KEY_ARN', apiKey.secretArn);
`;

/**
 * The app's second stack: a LambdaWorker, a FleetWorker and a plain BootstrappedImage group with
 * a service, as a user composes them.
 */
const PLAIN_STACK = `
const ec2 = require('aws-cdk-lib/aws-ec2');
const { BootStep, BootstrappedImage, FleetWorker } = require('cdk-cloud-patterns');

const plain = new Stack(app, 'PlainStack');
const vpc = new ec2.Vpc(plain, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }], restrictDefaultSecurityGroup: false });
const handler = path.join(__dirname, 'handler.ts');
new LambdaWorker(plain, 'Worker', { workQueue: new WorkQueue(plain, 'Jobs'), entry: handler });
new FleetWorker(plain, 'Farm', { workQueue: new WorkQueue(plain, 'Frames'), entry: handler, vpc, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } });
const image = new BootstrappedImage(plain, 'Image', {
  vpc,
  steps: [
    BootStep.file('hello-program', { path: '/opt/hello/run.sh', content: '#!/bin/sh\\necho "hello from $BOOT_ROOT"\\nexec sleep 600\\n', mode: '0755' }),
    BootStep.service('hello', { execStart: '/opt/hello/run.sh' }),
  ],
});
image.createAutoScalingGroup(plain, 'Group', { vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC }, minCapacity: 1, maxCapacity: 1 });
`;

/** Runs `cmd args` in `cwd` to its end, with a bound; the local cloud stops its own children. */
function run(cmd: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, npm_config_loglevel: 'error' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npx cdk-cloud-patterns local, in a user\'s CDK app', () => {
  let scratch: string;
  let smoke: { code: number | null; stdout: string; stderr: string };
  const failure = () => `exited ${smoke.code}\n--- stderr:\n${smoke.stderr}\n--- stdout (end):\n${smoke.stdout.slice(-5000)}`;

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cloud-patterns-local-'));
    // GIVEN the packages packed (each prepack builds it; once per test run) and installed as a user
    // would: the constructs and the runtime, the local cloud as a dev dependency, and its peers
    const packed = await packedPackages();
    const dev = pkg.devDependencies as Record<string, string>;
    fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({
      name: 'user-app', version: '1.0.0', private: true,
      dependencies: {
        'cdk-cloud-patterns': `file:${packed.constructs}`,
        '@cdk-cloud-patterns/runtime': `file:${packed.runtime}`,
        ...Object.fromEntries(['aws-cdk-lib', 'constructs', 'esbuild'].map((name) => [name, dev[name]])),
      },
      devDependencies: {
        '@cdk-cloud-patterns/local': `file:${packed.local}`,
        ...Object.fromEntries(LOCAL_CLOUD_PEERS.map((name) => [name, dev[name]])),
      },
    }, null, 2));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], scratch);
    // AND the user's app, as `cdk init` lays it out: cdk.json names the app command
    fs.writeFileSync(path.join(scratch, 'cdk.json'), JSON.stringify({ app: 'node app.js' }));
    fs.writeFileSync(path.join(scratch, 'handler.ts'), USER_HANDLER);
    fs.writeFileSync(path.join(scratch, 'app.js'), `${USER_APP}${PLAIN_STACK}`);

    // WHEN the user runs the package's command in the app's folder
    smoke = await run('npx', ['--no-install', 'cdk-cloud-patterns', 'local', '--smoke'], scratch, 280_000);
  }, 420_000);
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  test('installs the local cloud as a dev dependency, beside the constructs and the runtime', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(scratch, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.devDependencies)).toContain('@cdk-cloud-patterns/local');
    expect(fs.existsSync(path.join(scratch, 'node_modules', '.bin', 'cdk-cloud-patterns'))).toBe(true);
  });

  test('deploys the user\'s stacks into moto, secret included, and runs the catalog workloads it finds', () => {
    // THEN it deployed the stacks with the user's CDK CLI, the secret modelled (not skipped)
    expect(smoke.stderr).not.toMatch(/local cloud: could not/);
    expect(smoke.stdout).toMatch(/UserStack: CREATE_COMPLETE/);
    expect(smoke.stdout).toMatch(/PlainStack: CREATE_COMPLETE/);
    expect(smoke.stdout).not.toMatch(/not modelled by moto.*AWS::SecretsManager::Secret/);
    // AND it runs the user's own LambdaWorker, found through its declaration
    expect(smoke.stdout).toMatch(/UserStack: Lambda Worker\w+ \(index\.handler, nodejs\d+\.x\) <- SQS Jobs\w+/);
    expect(smoke.stdout).not.toMatch(/declares workload .* no workload kind/);
    // AND nothing is left running
    expect(smoke.stdout).toMatch(/Stopped: no process of the local cloud is left running/);
    if (smoke.code !== 0) throw new Error(failure());
  });

  test('checks what an app without demo jobs has: its LambdaWorkers, its FleetWorker and its BootstrappedImage group run and are healthy', () => {
    // THEN it passed on the app's own workloads, each checked, with no word of demo jobs
    if (smoke.code !== 0) throw new Error(failure());
    expect(smoke.stdout).toMatch(/smoke: OK: LambdaWorker UserStack\/Worker\w+: its deployed mapping feeds it Jobs\w+ \(its pollers long-polling, \d+ receives so far\), its handler loaded in a sandbox\./);
    expect(smoke.stdout).toMatch(/smoke: OK: LambdaWorker PlainStack\/WorkerFunction\w+: its deployed mapping feeds it JobsQueue\w+ \(its pollers long-polling, \d+ receives so far\), its handler loaded in a sandbox\./);
    expect(smoke.stdout).toMatch(/smoke: OK: FleetWorker group PlainStack\/FarmGroupASG\w+: an agent started for the check with the deployed environment polled PlainStack-FramesQueue\S+ \(\d+ ReceiveMessage calls\)\./);
    expect(smoke.stdout).toMatch(/smoke: OK: BootstrappedImage group PlainStack\/GroupASG\w+: 1 of 1 instances booted every step, 1 services running\./);
    expect(smoke.stdout).toMatch(/PlainStack: instance i-\w+ of GroupASG\w+ booted: 2 steps/);
    expect(smoke.stdout + smoke.stderr).not.toMatch(/demo jobs/);
    expect(smoke.stdout).toMatch(/Stopped: no process of the local cloud is left running/);
  });

  test('says which package to install when one the local cloud needs is missing', () => {
    expect(LOCAL_CLOUD_PEERS).toEqual(['aws-cdk']);
    expect(missingPackages(['aws-cdk', 'no-such-package-for-the-local-cloud'], scratch)).toEqual(['no-such-package-for-the-local-cloud']);
  });

  test('fails when run outside a CDK app, naming the folder', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'not-a-cdk-app-'));
    try {
      const out = await run(process.execPath, [path.join(scratch, 'node_modules', '@cdk-cloud-patterns', 'local', 'dist', 'local', 'cli.js'), 'local'], elsewhere, 30_000);
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/cdk-cloud-patterns local: there is no cdk.json in .*not-a-cdk-app-\w+: run it in your CDK app's folder/);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
