/**
 * `npm start` end to end, with one local cloud shared by the tests that need one: every stack of
 * the catalog deployed with the real CDK CLI into moto and run (in this process, as
 * local/start.ts runs it), checked as `--smoke` checks it (local/smoke.ts), then stopped. Each
 * stack's own behaviour is tested on its own (test/local/workloads/*: kill drills, scaling,
 * replacement, boot failures, with timings scaled down); here, that they all deploy, run, take
 * their demos and pass their checks together, each line naming its stack. The render farm's
 * browser drill (test/apps/render-farm/browser-drill.ts) runs on the same local cloud.
 *
 * The command line itself runs as a user runs it, in child processes: Ctrl-C and an unknown stack
 * on a one-stack app (`cdk-cloud-patterns local`, the same main() as `npm start`, whose synthesis
 * takes a second where the catalog's takes several), and bad input that must fail clearly before
 * anything is left running (the catalog's `npm start`). The `--smoke` exit path runs from the packed
 * package in test/package/packed.test.ts.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import { LocalCloud, type Milestone } from '../../local/cloud';
import { portInUse } from '../../local/moto';
import { EXIT_WITH_PARENT_ARGS, eachLine, exited, stopChild } from '../../local/processes';
import { smokeCheck, type SmokeReport } from '../../local/smoke';
import { browserDrill, browserDrillLine } from '../apps/render-farm/browser-drill';
import { portForChild, waitFor } from '../support/local-aws';
import { REPO_ROOT } from '../support/paths';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();

/** Starts `node <script> <args>` (TypeScript through esbuild-register) with its own state folder. */
function startCommand(script: string, args: readonly string[], options: { stateDir: string; cwd?: string; env?: NodeJS.ProcessEnv }) {
  // With the exit-with-parent preload: the child exits if this test process dies, and takes its own
  // children with it. Not spawnNode: the in-process local cloud's stop() ends every child spawnNode started.
  const child = spawn(process.execPath, [...EXIT_WITH_PARENT_ARGS, '-r', 'esbuild-register', script, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, LOCAL_CLOUD_DIR: options.stateDir, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.add(child);
  const out = { stdout: '', stderr: '' };
  eachLine(child.stdout, (l) => { out.stdout += `${l}\n`; });
  eachLine(child.stderr, (l) => { out.stderr += `${l}\n`; });
  const done = exited(child).then((): Run => {
    children.delete(child);
    return { code: child.exitCode, ...out };
  });
  return { child, out, done };
}

/** Runs `npm start -- <args>` (the script's command) to its end. */
function npmStart(args: readonly string[], options: { stateDir: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return startCommand(path.join(REPO_ROOT, 'local', 'start.ts'), args, options).done;
}

/** A user's app of one stack (a queue): what the command line needs, and a synthesis of a second. */
const TINY_APP = `
const { App, Stack } = require('aws-cdk-lib');
const sqs = require('aws-cdk-lib/aws-sqs');
const app = new App();
new sqs.Queue(new Stack(app, 'TinyStack'), 'Queue');
`;

/** `cdk-cloud-patterns local <args>` in the one-stack app, with its own state folder. */
function localCommand(appDir: string, args: readonly string[], stateDir: string) {
  return startCommand(path.join(REPO_ROOT, 'local', 'cli.ts'), ['local', ...args], { stateDir, cwd: appDir });
}

const stateDirs: string[] = [];
function newStateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-cli-'));
  stateDirs.push(dir);
  return dir;
}

// Two runs of the one-stack app's command line, started with the file: each waits mostly on moto
// and the CDK CLI, alongside the shared local cloud. Their tests are at the end.
let appDir: string;
let ctrlC: { port: number; stateDir: string; run: ReturnType<typeof localCommand> };
let unknown: { port: number; stateDir: string; run: ReturnType<typeof localCommand> };
beforeAll(async () => {
  fs.mkdirSync(path.join(REPO_ROOT, '.tmp'), { recursive: true }); // a fresh clone has none
  appDir = fs.mkdtempSync(path.join(REPO_ROOT, '.tmp', 'tiny-app-'));
  fs.writeFileSync(path.join(appDir, 'cdk.json'), JSON.stringify({ app: 'node app.js' }));
  fs.writeFileSync(path.join(appDir, 'app.js'), TINY_APP);
  const [a, b] = [newStateDir(), newStateDir()];
  const [pa, pb] = [await portForChild(), await portForChild()];
  ctrlC = { port: pa, stateDir: a, run: localCommand(appDir, ['--port', String(pa)], a) };
  // (Without cdk-nag: the Ctrl-C run synthesizes with the checks, as the command's default.)
  unknown = { port: pb, stateDir: b, run: localCommand(appDir, ['--port', String(pb), '--skip-checks', 'NoSuchStack'], b) };
});
afterAll(async () => {
  await Promise.all([...children].map((c) => stopChild(c)));
  for (const dir of [appDir, ...stateDirs]) fs.rmSync(dir, { recursive: true, force: true });
});

describe('npm start, every stack in one local cloud', () => {
  let stateDir: string;
  let cloud: LocalCloud;
  const lines: string[] = [];
  const milestones = new Map<Milestone, number>();
  let port: number;
  let smoke: SmokeReport;
  const output = () => lines.join('\n');

  beforeAll(async () => {
    // GIVEN the catalog's app, deployed and run as `npm start -- --jobs 5 --skip-checks` does
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-start-'));
    port = await portForChild();
    cloud = new LocalCloud({
      port,
      checks: false,
      jobs: 5,
      stateDir,
      print: (line) => lines.push(line),
      onMilestone: (m, at) => milestones.set(m, at),
      onFatal: (message) => lines.push(`FATAL ${message}`),
    });
    try {
      await cloud.start();
    } catch (e) {
      throw new Error(`the local cloud did not start: ${(e as Error).message}\n${output().slice(-6000)}`, { cause: e });
    }
    // WHEN it is checked as --smoke checks it
    smoke = await smokeCheck(cloud);
  }, 180_000);

  afterAll(async () => {
    await cloud?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test('deploys every stack with the CDK CLI and reads back what the embedded AWS describes', () => {
    expect(output()).toMatch(/Deploying WorkQueueStack, ImageBootstrapStack, FleetWorkerStack, SessionStoreStack, SharedStorageStack, WebTierStack, RenderFarmStack, LockStack \(cdk deploy\)/);
    expect(output()).toMatch(new RegExp(`QueueUrl = http://localhost:${port}/123456789012/WorkQueueStack-JobsQueue`));
    expect(output()).toMatch(/Users\w+ \(AWS::Cognito::UserPool\) = us-east-1_\w+: created by the local cloud through the Cognito API/);
    expect(output()).not.toMatch(/FATAL/);
  });

  test('runs what each stack declares, each line naming its stack, with the deployed settings', () => {
    const out = output();
    expect(out).toMatch(/WorkQueueStack: Lambda WorkerFunction\w+ \(index\.handler, nodejs24\.x\) <- SQS JobsQueue\w+: batch 10, window 0 s, max concurrency 5, ReportBatchItemFailures, timeout 30 s, visibility 180 s/);
    expect(out).toMatch(/FleetWorkerStack: Fleet WorkersGroup\w+ \(worker agent index\.mjs\) <- SQS: min 0, max 2, target backlog \d+ per agent/);
    // the two web tiers have the same logical id: their stacks tell them apart
    expect(out).toMatch(/WebTierStack: Web tier WebGroup\w+ at http:\/\/127\.0\.0\.1:\d+\/ \(local balancer\): 2-4 servers, health \/healthz\/ready every 5 s \(2 up, 2 down\), deregistration 11 s, idle 60 s, target \d+ requests\/server\/min, grace 25 s \(deployed: 315 s/);
    expect(out).toMatch(/RenderFarmStack: Web tier WebGroup\w+ at http:\/\/127\.0\.0\.1:\d+\//);
    expect(out).toMatch(/ImageBootstrapStack: Instances of GroupASG\w+ \(BootstrappedImage ImageLaunchTemplate\w+, 8 steps\): 1 of 1-1/);
    expect(out).toMatch(/ImageBootstrapStack: instance i-\w+ of GroupASG\w+ booted: 8 steps in [\d.]+ s .*; running heartbeat \(pid \d+\), status \(pid \d+\); packages checked, not installed: .*; SUCCESS signalled to ImageBootstrapStack\/GroupASG\w+\./);
    expect(out).not.toMatch(/nothing runs for it locally/);
  });

  test('sends each demo as soon as its own worker runs, not once every stack\'s workloads do', () => {
    // The web tiers wait for their health checks (a check every 5 s): the demos went out before they were all up.
    expect(milestones.get('jobsSent')!).toBeLessThan(milestones.get('workers')!);
    expect(output().indexOf('Demo: sent 5 jobs and 1 that always fails to WorkQueueStack.')).toBeLessThan(output().indexOf('WebTierStack: Web tier'));
  });

  test('passes the smoke check: every demo done exactly once, every workload healthy', () => {
    if (smoke.problems.length > 0) throw new Error(`smoke problems:\n${smoke.problems.join('\n')}\n--- output (end):\n${output().slice(-6000)}`);
    const passed = smoke.passed.join('\n');
    expect(passed).toMatch(/all 10 demo jobs \(FleetWorkerStack, WorkQueueStack\) done exactly once, and the failing ones never\./);
    expect(passed).toMatch(/all 5 demo uploads to SharedStorageStack became a job, a summary with their SHA-256 and exactly one record each, with nothing dead-lettered\./);
    expect(passed).toMatch(/all 5 report jobs to LockStack took its lock one at a time \(the fencing token up by one each\), the report carries the latest token, the lock is free and nothing was dead-lettered\./);
    expect(passed).toMatch(/LambdaWorker LockStack\/ReportWorker\w+: its deployed mapping feeds it JobsQueue\w+/);
    expect(passed).toMatch(/LambdaWorker WorkQueueStack\/WorkerFunction\w+: its deployed mapping feeds it JobsQueue\w+ \(its pollers long-polling, \d+ receives so far\), its handler loaded in a sandbox\./);
    expect(passed).toMatch(/FleetWorker group FleetWorkerStack\/WorkersGroup\w+: .* polled FleetWorkerStack-JobsQueue\S+ \(\d+ ReceiveMessage calls\)\./);
    expect(passed).toMatch(/web tier WebTierStack\/WebGroup\w+: \/healthz\/ready answered 200 through the balancer, 2 of 2 servers healthy in it; a page from each of 2 servers \(.+\), the visit counter shared \(\d+\)\./);
    expect(passed).toMatch(/web tier RenderFarmStack\/WebGroup\w+: \/healthz\/ready answered 200 through the balancer, 2 of 2 servers healthy in it; its page from each of 2 servers/);
    // ImageBootstrapStack's demo service answers on its socket, with the parameter its boot read with the instance role
    expect(passed).toMatch(/BootstrappedImage group ImageBootstrapStack\/GroupASG\w+: 1 of 1 instances booted every step, 2 services running; status answered: "Hello from stack ImageBootstrapStack"\./);
    expect(passed).toMatch(/SharedStorage bucket SharedStorageStack\/StorageBucket\w+ \(objects\): \d+ properties applied\./);
  });

  test('shows each stack\'s progress, every job done counted with the demo\'s share', () => {
    const out = output();
    expect(out).toMatch(/WorkQueueStack {2}backlog \d+ \| in flight \d+ \| done 5 \(demo 5\/5\) \| DLQ 0 \| workers \d/);
    expect(out).toMatch(/FleetWorkerStack {2}backlog \d+ \| in flight \d+ \| done 5 \(demo 5\/5\) \| DLQ 0 \| workers [12]/);
    // Not every job of the queue is the demo's (S3 sends an s3:TestEvent when the notification is
    // configured): on a loaded machine one may still be running when the run ends.
    expect(out).toMatch(/SharedStorageStack {2}backlog \d+ \| in flight \d+ \| done \d+ \(demo uploads 5\/5\) \| DLQ 0 \| workers \d/);
    expect(out).toMatch(/LockStack {2}backlog \d+ \| in flight \d+ \| done \d+ \(demo reports 5\/5\) \| DLQ 0 \| workers \d/);
    expect(out).toMatch(/Demo: sent 5 report jobs for \d{4}-\d{2}-\d{2} at once to LockStack: each must take lock nightly-report in turn \(token \d+ -> \d+\)\./);
    expect(out).toMatch(/Demo: uploaded 5 files \(\d+ bytes\) under s3:\/\/sharedstoragestack-storagebucket\S+\/incoming\/demo-\d+\/ of SharedStorageStack/);
  });

  test('says how to send more jobs, upload a file, build a report, open each web tier and reach each instance', () => {
    const howTo = cloud.howToUse().join('\n');
    expect(howTo).toMatch(new RegExp(`aws --endpoint-url http://localhost:${port} sqs send-message --queue-url http://localhost:${port}/123456789012/WorkQueueStack-JobsQueue\\S+ --message-body`));
    expect(howTo).toMatch(/aws --endpoint-url http:\/\/localhost:\d+ s3 cp README\.md s3:\/\/sharedstoragestack-storagebucket\S+\/incoming\/README\.md/);
    expect(howTo).toMatch(/Build a report in LockStack \(its worker takes lock nightly-report, one job at a time\):/);
    expect(howTo).toMatch(/Open http:\/\/127\.0\.0\.1:\d+\/ in a browser: the WebTierStack demo page, served by 2 servers/);
    expect(howTo).toMatch(/Open http:\/\/127\.0\.0\.1:\d+\/ in a browser: the RenderFarmStack demo page/);
    expect(howTo).toMatch(/ImageBootstrapStack: instance i-\w+ of GroupASG\w+ is the folder \S+ \(boot log: \S+\); its status service answers: curl --unix-socket \S+status\.sock http:\/\/localhost\//);
    expect(howTo).toMatch(/Worker processes now: \d+/);
    expect(howTo).toMatch(/Ctrl-C stops everything\.$/);
  });

  // The render farm in a browser, on this local cloud (it needs one with RenderFarmStack, and pays for none of its own).
  test('the render farm in a browser: renders 16 tiles with 1 worker (timed), then through a killed worker and a killed web server, pixel-exact, then with up to 4 (timed); another user sees none of it', async () => {
    const url = /Open (http:\/\/127\.0\.0\.1:\d+)\/ in a browser: the RenderFarmStack demo page/.exec(cloud.howToUse().join('\n'))?.[1];
    if (!url) throw new Error(`the local cloud printed no URL for RenderFarmStack\n${output().slice(-6000)}`);
    const timings = await browserDrill({ endpoint: `http://localhost:${port}`, stateDir, url, output });
    process.stdout.write(`${browserDrillLine(timings)}\n`);
  }, 300_000);

  test('stops everything it started', async () => {
    await cloud.stop();
    expect(cloud.leftovers()).toEqual([]);
    expect(await portInUse(port)).toBe(false);
  });
});

describe('the local cloud\'s command line', () => {
  let stateDir: string;
  beforeEach(() => {
    stateDir = newStateDir();
  });
  test('runs until Ctrl-C, says how to use the embedded AWS, then stops everything it started', async () => {
    // GIVEN a running local cloud
    const { run, port } = ctrlC;
    await waitFor('the local cloud to say how to use it', () => run.out.stdout.includes('Ctrl-C stops everything.') || run.child.exitCode !== null, 120_000);
    if (run.child.exitCode !== null) throw new Error(`exited ${run.child.exitCode} before Ctrl-C\n--- stderr:\n${run.out.stderr}\n--- stdout:\n${run.out.stdout}`);
    expect(run.out.stdout).toMatch(new RegExp(`The embedded AWS runs at http://localhost:${port} \\(account 123456789012, us-east-1\\)`));
    expect(fs.existsSync(path.join(ctrlC.stateDir, 'lock'))).toBe(true);

    // WHEN it gets SIGINT, as from Ctrl-C in its terminal
    run.child.kill('SIGINT');
    const { code, stdout, stderr } = await run.done;

    // THEN it stopped cleanly (else show all it said), leaving no process, server or lock behind
    if (code !== 0 || stderr !== '') throw new Error(`exited ${code}\n--- stderr:\n${stderr}\n--- stdout (end):\n${stdout.slice(-6000)}`);
    expect(stdout).toMatch(/SIGINT: stopping the workers and the embedded AWS\.\.\.\nStopped: no process of the local cloud is left running\./);
    expect(await portInUse(port)).toBe(false);
    expect(fs.existsSync(path.join(ctrlC.stateDir, 'lock'))).toBe(false);
  }, 150_000);

  test('fails on an unknown stack name, naming the stacks the app has, and stops what it had started', async () => {
    // GIVEN a stack name the app does not have, WHEN the local cloud is asked to deploy it
    const run = await unknown.run.done;

    // THEN it says so, and the embedded AWS it had started is gone
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/unknown stack: NoSuchStack\. The app has: TinyStack\./);
    expect(run.stdout).toMatch(/Stopped: no process of the local cloud is left running\./);
    expect(await portInUse(unknown.port)).toBe(false);
    expect(fs.existsSync(path.join(unknown.stateDir, 'lock'))).toBe(false);
  }, 120_000);

  test('fails at once when --port is in use, starting nothing', async () => {
    // GIVEN a port something listens on
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      // WHEN the local cloud is asked to use it
      const run = await npmStart(['--port', String(port)], { stateDir });

      // THEN it fails with the port in the message, before taking the lock or starting anything
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`port ${port} is already in use on 127\\.0\\.0\\.1\\. Choose another with --port`));
      expect(run.stdout).toBe('');
      expect(fs.existsSync(path.join(stateDir, 'lock'))).toBe(false);
    } finally {
      server.close();
    }
  });

  test('fails when another local cloud runs in the same checkout, and leaves its lock alone', async () => {
    // GIVEN a lock held by a live process (this test's)
    const lock = JSON.stringify({ pid: process.pid, startedAt: '2030-01-01T00:00:00.000Z', endpoint: 'http://localhost:4566' });
    fs.writeFileSync(path.join(stateDir, 'lock'), lock);

    // WHEN a second local cloud starts
    const run = await npmStart(['--smoke'], { stateDir });

    // THEN it says who runs and how to stop it, and the first one's lock is untouched
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`another local cloud is running in this checkout \\(pid ${process.pid}, .*embedded AWS at http://localhost:4566\\)`));
    expect(run.stderr).toMatch(new RegExp(`kill ${process.pid}`));
    expect(fs.readFileSync(path.join(stateDir, 'lock'), 'utf8')).toBe(lock);
  });

  test('rejects a bad option with the usage, before checking anything else', async () => {
    // WHEN an option has a bad value
    const run = await npmStart(['--jobs', 'many'], { stateDir });

    // THEN the message names the option and the value, followed by the usage
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--jobs must be a whole number from 0 to 200, received "many"/);
    expect(run.stderr).toMatch(/Usage: npm start/);
  });

  test('says how to install moto when it is missing', async () => {
    // GIVEN a PATH without Python
    const run = await npmStart(['--smoke'], { stateDir, env: { PATH: path.dirname(process.execPath), MOTO_PYTHON: '' } });

    // THEN it stops at once with the install command, and that synth works without it
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/pip install "moto\[server\]>=5\.2\.1,<5\.3"/);
    expect(run.stderr).toMatch(/npx cdk synth/);
  });
});
