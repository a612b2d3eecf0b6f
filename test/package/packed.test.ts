/**
 * The package as users get it: `npm pack`, installed into a scratch CDK app next to
 * aws-cdk-lib, constructs and esbuild, then a user's app that composes WorkQueue and
 * LambdaWorker (and deploys the ready WorkQueueStack) synthesizes, and the user's bundled
 * handler runs. The user's own AWS SDK client and ours are one copy; the README's links and the
 * LICENSE ship with it; and without esbuild, a worker built from \`entry\` says what to install.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { packedTarball } from '../support/packed-package';
import { REPO_ROOT } from '../support/paths';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, npm_config_loglevel: 'error' } });

const USER_HANDLER = `
import { defineJobHandler } from 'cdk-cloud-patterns/runtime';

interface Greeting { readonly name: string }

export const handler = defineJobHandler<Greeting, string>(async (job) => \`hello \${job.name}\`);
`;

const USER_APP = `
const path = require('path');
const { App, Stack } = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const { WorkQueue, LambdaWorker, FleetWorker, WorkQueueStack, FleetWorkerStack } = require('cdk-cloud-patterns');

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'UserStack');
const jobs = new WorkQueue(stack, 'Jobs', { maxReceiveCount: 3 });
new LambdaWorker(stack, 'Worker', { workQueue: jobs, entry: path.join(__dirname, 'handler.ts'), idempotency: true });
const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }], restrictDefaultSecurityGroup: false });
new FleetWorker(stack, 'Farm', { workQueue: jobs, entry: path.join(__dirname, 'handler.ts'), vpc, idempotency: true });
new WorkQueueStack(app, 'ReadyStack');
new FleetWorkerStack(app, 'ReadyFleetStack');
app.synth();
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

describe('the packed package in a scratch CDK app', () => {
  let scratch: string;
  let outdir: string;

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cloud-patterns-user-'));
    outdir = path.join(scratch, 'cdk.out');
    // GIVEN the package packed (prepack builds it; once per test run, shared with the other package tests) and installed as a user would
    const tarball = await packedTarball();
    fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'user-app', version: '1.0.0', private: true }));
    // with its own SQS client at the newest 3.x, as \`npm install @aws-sdk/client-sqs\` would pick
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball,
      `aws-cdk-lib@${pkg.devDependencies['aws-cdk-lib']}`, `constructs@${pkg.devDependencies.constructs}`, `esbuild@${pkg.devDependencies.esbuild}`,
      '@aws-sdk/client-sqs@^3'], scratch);
    fs.writeFileSync(path.join(scratch, 'handler.ts'), USER_HANDLER);
    fs.writeFileSync(path.join(scratch, 'app.js'), USER_APP);
    fs.writeFileSync(path.join(scratch, 'worker-only.js'), WORKER_ONLY_APP);
  }, 600_000);
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  test('ships compiled code, type declarations and prebundled catalog handlers only', () => {
    const installed = path.join(scratch, 'node_modules', 'cdk-cloud-patterns');
    expect(fs.existsSync(path.join(installed, 'dist', 'lib', 'index.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'dist', 'runtime', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'dist', 'lambda', 'work-queue', 'demo-job', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'dist', 'agents', 'work-queue', 'demo-job', 'index.mjs'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'lib'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'test'))).toBe(false);
  });

  test('shares one copy of the AWS SDK client with the user\'s own', () => {
    // WHEN npm lists every copy of the SQS client in the user's app
    const copies = npm(['ls', '@aws-sdk/client-sqs', '--all', '--parseable'], scratch).trim().split('\n').filter(Boolean);
    // THEN there is one, the user's (our dependency range accepts it)
    expect(copies).toEqual([path.join(scratch, 'node_modules', '@aws-sdk', 'client-sqs')]);
    expect(pkg.dependencies['@aws-sdk/client-sqs']).toMatch(/^\^3\./);
  });

  test('ships the Apache-2.0 LICENSE its package.json names', () => {
    const installed = path.join(scratch, 'node_modules', 'cdk-cloud-patterns');
    expect(JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')).license).toBe('Apache-2.0');
    const license = fs.readFileSync(path.join(installed, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(license).toBe(fs.readFileSync(path.join(REPO_ROOT, 'LICENSE'), 'utf8'));
  });

  test('every relative link of the README resolves inside the installed package', () => {
    // GIVEN the README as npm shows it, and its links that are not URLs or anchors
    const installed = path.join(scratch, 'node_modules', 'cdk-cloud-patterns');
    const readme = fs.readFileSync(path.join(installed, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:|^#/.test(l));
    expect(links.length).toBeGreaterThan(0);
    // THEN each is a file of the package
    const missing = links.filter((l) => !fs.existsSync(path.join(installed, l.split('#')[0])));
    expect(missing).toEqual([]);
  });

  test.each(['lambda', 'fleet'])('without esbuild, a %s worker from `entry` fails at synth with one line saying `npm i -D esbuild`', (kind) => {
    // GIVEN the user's app without esbuild (moved aside), and no esbuild on the PATH
    const modules = path.join(scratch, 'node_modules');
    const aside = [['esbuild', 'esbuild.aside'], ['.bin/esbuild', '.bin/esbuild.aside']].map(([from, to]) => [path.join(modules, from), path.join(modules, to)]).filter(([from]) => fs.existsSync(from));
    for (const [from, to] of aside) fs.renameSync(from, to);
    const PATH = (process.env.PATH ?? '').split(path.delimiter).filter((d) => !d.includes('node_modules')).join(path.delimiter);
    try {
      // WHEN it synthesizes a worker built from its handler file
      const run = spawnSync(process.execPath, ['worker-only.js', kind, path.join(scratch, `cdk.out.${kind}`)], { cwd: scratch, encoding: 'utf8', env: { ...process.env, PATH, CDK_VALIDATION: 'false' } });
      // THEN it fails before any bundling (no Docker), with the line to run
      expect(run.status).not.toBe(0);
      const line = run.stderr.split('\n').find((l) => l.startsWith('Error: '));
      expect(line).toMatch(new RegExp(`^Error: ${kind === 'lambda' ? 'LambdaWorker' : 'FleetWorker'} WorkerOnly/\\w+: bundling entry .*handler\\.ts needs esbuild, which is not installed in this project: run \`npm i -D esbuild\`$`));
      expect(run.stderr).not.toMatch(/docker|Cannot find module/i);
    } finally {
      for (const [from, to] of aside) fs.renameSync(to, from);
    }
  });

  test.each([
    ['nodenext', 'nodenext'],
    ['commonjs', 'node'], // older tsconfigs: resolved through typesVersions
  ])('type-checks a user handler against the published declarations (module %s, resolution %s)', (module, resolution) => {
    const tsc = require.resolve('typescript/bin/tsc');
    const check = () => execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--module', module, '--moduleResolution', resolution, 'handler.ts'], { cwd: scratch, encoding: 'utf8', stdio: 'pipe' });
    expect(check).not.toThrow();
  });

  test('synthesizes a user stack composing WorkQueue, LambdaWorker and FleetWorker, and the ready stacks', () => {
    // WHEN the user's app synthesizes
    execFileSync(process.execPath, ['app.js', outdir], { cwd: scratch, stdio: 'pipe', env: { ...process.env, CDK_VALIDATION: 'false' } });

    // THEN both stacks have their worker, fed by their queue
    const types = (name: string) => Object.values(JSON.parse(fs.readFileSync(path.join(outdir, `${name}.template.json`), 'utf8')).Resources as Record<string, { Type: string }>).map((r) => r.Type);
    for (const name of ['UserStack', 'ReadyStack']) {
      expect(types(name)).toEqual(expect.arrayContaining(['AWS::SQS::Queue', 'AWS::Lambda::Function', 'AWS::Lambda::EventSourceMapping', 'AWS::DynamoDB::Table']));
    }
    for (const name of ['UserStack', 'ReadyFleetStack']) {
      expect(types(name)).toEqual(expect.arrayContaining(['AWS::SQS::Queue', 'AWS::EC2::LaunchTemplate', 'AWS::AutoScaling::AutoScalingGroup', 'AWS::AutoScaling::ScalingPolicy']));
    }
    // and the catalog's own handler and agent program came prebundled: nothing was bundled into a cache
    expect(fs.existsSync(path.join(scratch, 'node_modules', '.cache', 'cdk-cloud-patterns'))).toBe(false);
  });

  test('bundles the user handler so that it runs on its own, as Lambda would call it', async () => {
    // GIVEN the asset of the user's worker (the bundle holding 'hello ')
    const assets = fs.readdirSync(outdir).filter((d) => d.startsWith('asset.')).map((d) => path.join(outdir, d, 'index.js'));
    const bundle = assets.find((f) => fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes('hello '))!;
    expect(bundle).toBeDefined();
    const copy = path.join(scratch, 'bundle-only', 'index.js'); // away from node_modules: it must need nothing
    fs.mkdirSync(path.dirname(copy));
    fs.copyFileSync(bundle, copy);

    // WHEN it is called with an SQS event in a fresh node process
    const script = `
      const { handler } = await import(${JSON.stringify(pathToFileURL(copy).href)});
      const record = { messageId: '6f1c1a52-4d5e-4bb0-9c1a-2f6f3e0c9e11', body: '{"name":"Ada"}', attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:jobs' };
      const out = await handler({ Records: [record] }, { getRemainingTimeInMillis: () => 30000 });
      console.log(JSON.stringify(out));`;
    const env = { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' }; // as Lambda sets them
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.dirname(copy), encoding: 'utf8', env });

    // THEN it reports no failures
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ batchItemFailures: [] });
  });
});
