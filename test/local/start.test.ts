/**
 * `npm start` as a user runs it, in a child process: the smoke run end to end (real CDK CLI,
 * real templates, moto), and bad input that must fail clearly before anything is left
 * running. Each run gets its own state folder, so a developer's own `npm start` in this
 * checkout does not collide with the tests.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { ChildProcess } from 'child_process';
import { freePort, portInUse } from '../../local/moto';
import { eachLine, exited, spawnNode, stopChild } from '../../local/processes';
import { waitFor } from '../support/local-aws';
import { REPO_ROOT } from '../support/paths';


interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();

/** Starts `npm start -- <args>` (the script's command) with its own state folder. */
function startLocalCloud(args: readonly string[], options: { stateDir: string; env?: NodeJS.ProcessEnv }) {
  // spawnNode: the child exits if this test process dies, and takes its own children with it.
  const child = spawnNode(['-r', 'esbuild-register', path.join(REPO_ROOT, 'local', 'start.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOCAL_CLOUD_DIR: options.stateDir, ...options.env },
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

/** Runs `npm start -- <args>` to its end. */
function npmStart(args: readonly string[], options: { stateDir: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return startLocalCloud(args, options).done;
}

describe('npm start', () => {
  let stateDir: string;

  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-start-'));
  });
  afterEach(() => {
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await Promise.all([...children].map((c) => stopChild(c)));
  });

  test('--smoke deploys every stack with the CDK CLI, runs the deployed worker and finds every demo job done exactly once', async () => {
    // GIVEN a free port for the embedded AWS
    const port = await freePort();

    // WHEN the smoke run runs
    const run = await npmStart(['--smoke', '--port', String(port)], { stateDir });

    // THEN it passed (else show all it said), having deployed and run what the embedded AWS describes
    if (run.code !== 0 || run.stderr !== '') {
      throw new Error(`npm start -- --smoke exited ${run.code}\n--- stderr:\n${run.stderr}\n--- stdout (end):\n${run.stdout.slice(-6000)}`);
    }
    expect(run.stdout).toMatch(/Deploying (\w+, )*WorkQueueStack(, \w+)* \(cdk deploy\)/);
    expect(run.stdout).toMatch(new RegExp(`QueueUrl = http://localhost:${port}/123456789012/WorkQueueStack-JobsQueue`));
    expect(run.stdout).toMatch(/Lambda WorkerFunction\w+ \(index\.handler, nodejs24\.x\) <- SQS JobsQueue\w+: batch 10, window 0 s, max concurrency 5, ReportBatchItemFailures, timeout 30 s, visibility 180 s/);
    expect(run.stdout).toMatch(/WorkQueueStack {2}backlog \d+ \| in flight \d+ \| done 30 \(demo 30\/30\) \| DLQ 0 \| workers \d/);
    expect(run.stdout).toMatch(/smoke: OK: all \d+ demo jobs \((\w+, )*WorkQueueStack(, \w+)*\) done exactly once, and the failing ones never\./);
    if (run.stdout.includes('FleetWorkerStack')) {
      // the render farm: worker agents as many as the backlog asks for, within the deployed size
      expect(run.stdout).toMatch(/FleetWorkerStack: Fleet WorkersGroup\w+ \(worker agent index\.mjs\) <- SQS: min 0, max 2, target backlog \d+ per agent/);
      expect(run.stdout).toMatch(/FleetWorkerStack {2}backlog \d+ \| in flight \d+ \| done 30 \(demo 30\/30\) \| DLQ 0 \| workers [12]/);
    }
    if (run.stdout.includes('SharedStorageStack')) {
      // shared storage: files uploaded under incoming/ became jobs (the bucket's own notifications), summaries under results/ and one record each
      expect(run.stdout).toMatch(/Demo: uploaded 5 files \(\d+ bytes\) under s3:\/\/sharedstoragestack-storagebucket\S+\/incoming\/demo-\d+\/ of SharedStorageStack/);
      expect(run.stdout).toMatch(/SharedStorageStack {2}backlog 0 \| in flight 0 \| done \d+ \(demo uploads 5\/5\) \| DLQ 0 \| workers \d/);
      expect(run.stdout).toMatch(/smoke: OK: all 5 demo uploads to SharedStorageStack became a job, a summary with their SHA-256 and exactly one record each, with nothing dead-lettered\./);
    }
    if (run.stdout.includes('WebTierStack')) {
      // the web tier: servers behind the local balancer with the deployed health check, a page from each, a rolling restart without a failure
      expect(run.stdout).toMatch(/WebTierStack: Web tier WebGroup\w+ at http:\/\/127\.0\.0\.1:\d+\/ \(local balancer\): 2-4 servers, health \/healthz\/ready every 5 s \(2 up, 2 down\), deregistration 11 s, idle 60 s/);
      expect(run.stdout).toMatch(/web tier WebTierStack\/WebGroup\w+: a page from each of 2 servers \(.+\), visit counter shared \(\d+\)\./);
      expect(run.stdout).toMatch(/smoke: OK: web tier WebTierStack\/WebGroup\w+: every server answered, and a rolling restart of 2 servers under load took \d+ s with 0 failed of \d+ requests\./);
    }
    // and it left nothing behind: no process, no server on the port, no lock
    expect(run.stdout).toMatch(/Stopped: no process of the local cloud is left running\./);
    expect(await portInUse(port)).toBe(false);
    expect(fs.existsSync(path.join(stateDir, 'lock'))).toBe(false);
  }, 300_000);

  test('runs until Ctrl-C, says how to send more jobs, then stops everything it started', async () => {
    // GIVEN a running local cloud, its demo done
    const port = await freePort();
    const run = startLocalCloud(['--port', String(port), '--skip-checks', '--jobs', '5', '--no-failing-job'], { stateDir });
    await waitFor('the local cloud to say how to use it', () => run.out.stdout.includes('Ctrl-C stops everything.') || run.child.exitCode !== null, 150_000);

    // WHEN it gets SIGINT, as from Ctrl-C in its terminal
    expect(run.out.stdout).toMatch(new RegExp(`aws --endpoint-url http://localhost:${port} sqs send-message --queue-url http://localhost:${port}/123456789012/WorkQueueStack-JobsQueue\\S+ --message-body`));
    expect(run.out.stdout).toMatch(/Worker processes now: \d+/);
    expect(run.out.stdout).toMatch(/aws --endpoint-url http:\/\/localhost:\d+ s3 cp README\.md s3:\/\/sharedstoragestack-storagebucket\S+\/incoming\/README\.md/);
    run.child.kill('SIGINT');
    const { code, stdout, stderr } = await run.done;

    // THEN it stopped cleanly (else show all it said), leaving no process, server or lock behind
    if (code !== 0 || stderr !== '') throw new Error(`npm start exited ${code}\n--- stderr:\n${stderr}\n--- stdout (end):\n${stdout.slice(-6000)}`);
    expect(stdout).toMatch(/SIGINT: stopping the workers and the embedded AWS\.\.\.\nStopped: no process of the local cloud is left running\./);
    expect(await portInUse(port)).toBe(false);
    expect(fs.existsSync(path.join(stateDir, 'lock'))).toBe(false);
  }, 180_000);

  test('fails on an unknown stack name, naming the stacks the app has, and stops what it had started', async () => {
    // GIVEN a stack name the app does not have
    const port = await freePort();

    // WHEN the local cloud is asked to deploy it
    const run = await npmStart(['--port', String(port), '--skip-checks', 'NoSuchStack'], { stateDir });

    // THEN it says so, and the embedded AWS it had started is gone
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/unknown stack: NoSuchStack\. The app has: WorkQueueStack/);
    expect(run.stdout).toMatch(/Stopped: no process of the local cloud is left running\./);
    expect(await portInUse(port)).toBe(false);
    expect(fs.existsSync(path.join(stateDir, 'lock'))).toBe(false);
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
