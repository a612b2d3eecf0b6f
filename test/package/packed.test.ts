/**
 * The packages as users get them: `npm pack` of the three, installed as a user would.
 * - A CDK app installs the constructs (`cdk-cloud-patterns`) next to aws-cdk-lib, constructs and
 *   esbuild, the runtime for its handler code, and the local cloud (@cdk-cloud-patterns/local) as
 *   a dev dependency with the CDK CLI: one `npm install` of the app's package.json, as a user's
 *   clone installs, shared by the checks below (an install of aws-cdk-lib costs about 7 s of CPU).
 *   - A user's app composing WorkQueue, LambdaWorker and FleetWorker synthesizes, the bundled
 *     handler runs, and the user's AWS SDK client and the runtime's are one copy. The constructs
 *     package brings no dependency of its own (no SDK client).
 *   - Without esbuild, or without the runtime, a worker built from `entry` says what to install.
 *   - `npx cdk-cloud-patterns local --smoke`, run once in the app's folder, deploys the app's two
 *     stacks of the user's own, without any of the catalog's demo stacks, into moto: UserStack
 *     composes WorkQueue and LambdaWorker with a handler of its own and a Secrets Manager secret;
 *     PlainStack a LambdaWorker, a FleetWorker and a plain BootstrappedImage group with a service.
 *     It runs every catalog workload it finds through the workload declarations, checks each
 *     (there are no demo jobs: its workloads are the check), then stops everything it started.
 *     (It runs after the checks that move packages aside, never beside them.)
 * - A handler project installs only the runtime: no aws-cdk-lib, no constructs, and its handler
 *   bundles and runs.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { LOCAL_CLOUD_PEERS, missingPackages } from '../../local/cli';
import { typeChecker } from '../../scripts/bins';
import { packedPackages, type PackedPackages } from '../support/packed-package';
import { REPO_ROOT } from '../support/paths';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
const runtimePkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'runtime', 'package.json'), 'utf8'));
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, npm_config_loglevel: 'error' } });
const npmInstall = (cwd: string, specs: string[]) => npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...specs], cwd);

const USER_HANDLER = `
import { defineJobHandler } from '@cdk-cloud-patterns/runtime';

interface Greeting { readonly name: string }

export const handler = defineJobHandler<Greeting, string>(async (job) => \`hello \${job.name}\`);
`;

const USER_APP = `
const path = require('path');
const { App, Stack } = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const { WorkQueue, LambdaWorker, FleetWorker } = require('cdk-cloud-patterns');

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'UserStack');
const jobs = new WorkQueue(stack, 'Jobs', { maxReceiveCount: 3 });
new LambdaWorker(stack, 'Worker', { workQueue: jobs, entry: path.join(__dirname, 'handler.ts'), idempotency: true });
const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }], restrictDefaultSecurityGroup: false });
new FleetWorker(stack, 'Farm', { workQueue: jobs, entry: path.join(__dirname, 'handler.ts'), vpc, idempotency: true });
app.synth();
`;

const LOCAL_APP = `
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

/** A worker from \`entry\` alone: \`node worker-only.js lambda|fleet\`. */
const WORKER_ONLY_APP = `
const path = require('path');
const { App, Stack } = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const { WorkQueue, LambdaWorker, FleetWorker } = require('cdk-cloud-patterns');

const app = new App({ outdir: process.argv[3] });
const stack = new Stack(app, 'WorkerOnly');
const jobs = new WorkQueue(stack, 'Jobs');
const entry = path.join(__dirname, 'handler.ts');
if (process.argv[2] === 'lambda') new LambdaWorker(stack, 'Worker', { workQueue: jobs, entry });
else new FleetWorker(stack, 'Farm', { workQueue: jobs, entry, vpc: new ec2.Vpc(stack, 'Vpc', { natGateways: 0 }) });
app.synth();
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

/** Calls the bundled handler at \`file\` with one SQS record, in a fresh node process, as Lambda would. */
function invokeBundle(file: string): unknown {
  const script = `
    const { handler } = await import(${JSON.stringify(pathToFileURL(file).href)});
    const record = { messageId: '6f1c1a52-4d5e-4bb0-9c1a-2f6f3e0c9e11', body: '{"name":"Ada"}', attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:jobs' };
    const out = await handler({ Records: [record] }, { getRemainingTimeInMillis: () => 30000 });
    console.log(JSON.stringify(out));`;
  const env = { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' }; // as Lambda sets them
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.dirname(file), encoding: 'utf8', env });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** Moves `names` (under node_modules) aside while `fn` runs. */
function without(modules: string, names: readonly string[], fn: () => void): void {
  const aside = names.map((n) => [path.join(modules, n), path.join(modules, `${n}.aside`)]).filter(([from]) => fs.existsSync(from));
  for (const [from, to] of aside) fs.renameSync(from, to);
  try {
    fn();
  } finally {
    for (const [from, to] of aside) fs.renameSync(to, from);
  }
}

let packed: PackedPackages;
beforeAll(async () => {
  packed = await packedPackages();
}, 600_000);

// GIVEN the user's app, installed once: the constructs and the runtime, the user's own SQS client
// at the newest 3.x (as `npm install @aws-sdk/client-sqs` would pick), the local cloud as a dev
// dependency with its peers, from one package.json
let scratch: string;
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cloud-patterns-user-'));
  const dev = pkg.devDependencies as Record<string, string>;
  fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({
    name: 'user-app', version: '1.0.0', private: true,
    dependencies: {
      'cdk-cloud-patterns': `file:${packed.constructs}`,
      '@cdk-cloud-patterns/runtime': `file:${packed.runtime}`,
      ...Object.fromEntries(['aws-cdk-lib', 'constructs', 'esbuild'].map((name) => [name, dev[name]])),
      '@aws-sdk/client-sqs': '^3',
    },
    devDependencies: {
      '@cdk-cloud-patterns/local': `file:${packed.local}`,
      ...Object.fromEntries(LOCAL_CLOUD_PEERS.map((name) => [name, dev[name]])),
    },
  }, null, 2));
  npmInstall(scratch, []);
  // AND its code, as `cdk init` lays it out: cdk.json names the app command (app.js, the local
  // cloud's two stacks); synth-app.js and worker-only.js are synthesized by the checks themselves
  fs.writeFileSync(path.join(scratch, 'handler.ts'), USER_HANDLER);
  fs.writeFileSync(path.join(scratch, 'cdk.json'), JSON.stringify({ app: 'node app.js' }));
  fs.writeFileSync(path.join(scratch, 'app.js'), `${LOCAL_APP}${PLAIN_STACK}`);
  fs.writeFileSync(path.join(scratch, 'synth-app.js'), USER_APP);
  fs.writeFileSync(path.join(scratch, 'worker-only.js'), WORKER_ONLY_APP);
}, 600_000);
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('the constructs package, in a scratch CDK app', () => {
  let outdir: string;
  let installed: string;

  beforeAll(() => {
    outdir = path.join(scratch, 'cdk.out.user-app');
    installed = path.join(scratch, 'node_modules', 'cdk-cloud-patterns');
  });

  test('ships compiled constructs and type declarations only: no source, no tests, no example stack, no runtime', () => {
    expect(fs.existsSync(path.join(installed, 'dist', 'lib', 'index.d.ts'))).toBe(true);
    for (const absent of ['lib', 'test', 'runtime', 'local', 'lambda', 'apps', path.join('dist', 'lib', 'stacks'), path.join('dist', 'runtime')]) {
      expect([absent, fs.existsSync(path.join(installed, absent))]).toEqual([absent, false]);
    }
  });

  test('brings no dependency of its own: no AWS SDK client is installed for the constructs, and none is loaded', () => {
    // THEN its manifest has peers only (aws-cdk-lib, constructs; cdk-nag optional, for the testing entry),
    // all jsii packages, as jsii requires; esbuild is found in the user's project (the worker tests below)
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'cdk-nag', 'constructs']);
    // AND nothing it ships requires an SDK client or the runtime
    const js = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? js(path.join(dir, e.name)) : e.name.endsWith('.js') ? [path.join(dir, e.name)] : []));
    const requires = js(path.join(installed, 'dist')).flatMap((f) => [...fs.readFileSync(f, 'utf8').matchAll(/require\("([^".][^"]*)"\)/g)].map((m) => m[1]!));
    expect([...new Set(requires.map((r) => r.split('/').slice(0, r.startsWith('@') ? 2 : 1).join('/')))].filter((r) => !/^(aws-cdk-lib|constructs|cdk-nag|esbuild|fs|path|crypto|os|child_process)$/.test(r))).toEqual([]);
  });

  test('shares one copy of the AWS SDK client with the user\'s own (through the runtime)', () => {
    // WHEN npm lists every copy of the SQS client in the user's app
    const copies = npm(['ls', '@aws-sdk/client-sqs', '--all', '--parseable'], scratch).trim().split('\n').filter(Boolean);
    // THEN there is one, the user's (the ranges of the runtime and of the local cloud accept it)
    expect(copies).toEqual([path.join(scratch, 'node_modules', '@aws-sdk', 'client-sqs')]);
    expect(runtimePkg.dependencies['@aws-sdk/client-sqs']).toMatch(/^\^3\./);
  });

  test('each package ships the Apache-2.0 LICENSE its package.json names', () => {
    for (const dir of [installed, path.join(scratch, 'node_modules', '@cdk-cloud-patterns', 'runtime')]) {
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).license).toBe('Apache-2.0');
      const license = fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8');
      expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
      expect(license).toBe(fs.readFileSync(path.join(REPO_ROOT, 'LICENSE'), 'utf8'));
    }
  });

  test('every relative link of the README resolves inside the installed package', () => {
    // GIVEN the README as npm shows it, and its links that are not URLs or anchors
    const readme = fs.readFileSync(path.join(installed, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:|^#/.test(l));
    expect(links.length).toBeGreaterThan(0);
    // THEN each is a file of the package
    const missing = links.filter((l) => !fs.existsSync(path.join(installed, l.split('#')[0]!)));
    expect(missing).toEqual([]);
  });

  test.each(['lambda', 'fleet'])('without esbuild, a %s worker from `entry` fails at synth with one line saying `npm i -D esbuild`', (kind) => {
    // GIVEN the user's app without esbuild (moved aside), and no esbuild on the PATH
    const PATH = (process.env.PATH ?? '').split(path.delimiter).filter((d) => !d.includes('node_modules')).join(path.delimiter);
    without(path.join(scratch, 'node_modules'), ['esbuild', '.bin/esbuild'], () => {
      // WHEN it synthesizes a worker built from its handler file
      const run = spawnSync(process.execPath, ['worker-only.js', kind, path.join(scratch, `cdk.out.${kind}`)], { cwd: scratch, encoding: 'utf8', env: { ...process.env, PATH, CDK_VALIDATION: 'false' } });
      // THEN it fails before any bundling (no Docker), with the line to run
      expect(run.status).not.toBe(0);
      const line = run.stderr.split('\n').find((l) => l.startsWith('Error: '));
      expect(line).toMatch(new RegExp(`^Error: ${kind === 'lambda' ? 'LambdaWorker' : 'FleetWorker'} WorkerOnly/\\w+: bundling entry .*handler\\.ts needs esbuild, which is not installed in this project: run \`npm i -D esbuild\`$`));
      expect(run.stderr).not.toMatch(/docker|Cannot find module/i);
    });
  });

  test('without the runtime, a fleet worker from `entry` fails at synth with one line saying `npm i @cdk-cloud-patterns/runtime`', () => {
    without(path.join(scratch, 'node_modules'), ['@cdk-cloud-patterns/runtime'], () => {
      const run = spawnSync(process.execPath, ['worker-only.js', 'fleet', path.join(scratch, 'cdk.out.no-runtime')], { cwd: scratch, encoding: 'utf8', env: { ...process.env, CDK_VALIDATION: 'false' } });
      expect(run.status).not.toBe(0);
      const line = run.stderr.split('\n').find((l) => l.startsWith('Error: '));
      expect(line).toMatch(/^Error: FleetWorker WorkerOnly\/Farm: bundling entry .*handler\.ts needs @cdk-cloud-patterns\/runtime, which is not installed in this project: run `npm i @cdk-cloud-patterns\/runtime`$/);
    });
  });

  test.each([
    ['5.9', 'nodenext', 'nodenext'],
    ['5.9', 'commonjs', 'node'], // older tsconfigs (TypeScript 7 no longer has this resolution)
    ['7', 'nodenext', 'nodenext'],
  ])('type-checks a user handler against the published declarations (TypeScript %s, module %s, resolution %s)', (version, module, resolution) => {
    const tsc = version === '7' ? typeChecker() : require.resolve('typescript/bin/tsc');
    const check = () => execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', module, '--moduleResolution', resolution, 'handler.ts'], { cwd: scratch, encoding: 'utf8', stdio: 'pipe' });
    expect(check).not.toThrow();
  });

  test('synthesizes a user stack composing WorkQueue, LambdaWorker and FleetWorker, and its bundled handler runs on its own, as Lambda calls it', () => {
    // WHEN the user's app synthesizes
    execFileSync(process.execPath, ['synth-app.js', outdir], { cwd: scratch, stdio: 'pipe', env: { ...process.env, CDK_VALIDATION: 'false' } });

    // THEN the stack has both workers, fed by their queue
    const types = Object.values(JSON.parse(fs.readFileSync(path.join(outdir, 'UserStack.template.json'), 'utf8')).Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types).toEqual(expect.arrayContaining(['AWS::SQS::Queue', 'AWS::Lambda::Function', 'AWS::Lambda::EventSourceMapping', 'AWS::DynamoDB::Table',
      'AWS::EC2::LaunchTemplate', 'AWS::AutoScaling::AutoScalingGroup', 'AWS::AutoScaling::ScalingPolicy']));
    // AND the fleet's program holds the worker agent of the installed runtime with the user's handler
    const programs = fs.readdirSync(outdir).filter((d) => d.startsWith('asset.')).map((d) => path.join(outdir, d, 'index.mjs')).filter((f) => fs.existsSync(f));
    expect(programs.some((f) => /hello /.test(fs.readFileSync(f, 'utf8')) && /CLOUD_PATTERNS/.test(fs.readFileSync(f, 'utf8')))).toBe(true);

    // WHEN the Lambda bundle (the one holding 'hello ') is copied away from node_modules and called
    const bundle = fs.readdirSync(outdir).filter((d) => d.startsWith('asset.')).map((d) => path.join(outdir, d, 'index.js'))
      .find((f) => fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes('hello '))!;
    const copy = path.join(scratch, 'bundle-only', 'index.js');
    fs.mkdirSync(path.dirname(copy));
    fs.copyFileSync(bundle, copy);
    // THEN it reports no failures
    expect(invokeBundle(copy)).toEqual({ batchItemFailures: [] });
  });
});

describe('npx cdk-cloud-patterns local, in a user\'s CDK app', () => {
  let smoke: { code: number | null; stdout: string; stderr: string };
  const failure = () => `exited ${smoke.code}\n--- stderr:\n${smoke.stderr}\n--- stdout (end):\n${smoke.stdout.slice(-5000)}`;

  beforeAll(async () => {
    // WHEN the user runs the package's command in the app's folder
    smoke = await run('npx', ['--no-install', 'cdk-cloud-patterns', 'local', '--smoke'], scratch, 280_000);
  }, 420_000);

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

describe('the runtime package, in a handler project without the CDK', () => {
  let project: string;

  beforeAll(() => {
    // GIVEN a project with the runtime only (and esbuild, to bundle as its own build would)
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cloud-patterns-handlers-'));
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'handlers', version: '1.0.0', private: true }));
    npmInstall(project, [packed.runtime, `esbuild@${pkg.devDependencies.esbuild}`]);
    fs.writeFileSync(path.join(project, 'handler.ts'), USER_HANDLER);
  }, 600_000);
  afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

  test('installs no aws-cdk-lib and no constructs', () => {
    const modules = path.join(project, 'node_modules');
    expect(fs.existsSync(path.join(modules, 'aws-cdk-lib'))).toBe(false);
    expect(fs.existsSync(path.join(modules, 'constructs'))).toBe(false);
    expect(fs.existsSync(path.join(modules, 'cdk-cloud-patterns'))).toBe(false);
  });

  test('bundles a job handler that runs as Lambda calls it', () => {
    const out = path.join(project, 'out', 'index.js');
    execFileSync(process.execPath, [path.join(project, 'node_modules', 'esbuild', 'bin', 'esbuild'), 'handler.ts', '--bundle', '--platform=node', '--format=cjs', `--outfile=${out}`],
      { cwd: project, stdio: 'pipe' });
    expect(invokeBundle(out)).toEqual({ batchItemFailures: [] });
  });
});
