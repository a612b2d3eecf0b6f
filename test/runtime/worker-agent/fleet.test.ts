/**
 * The agent on a fleet, against moto (SQS, DynamoDB, Auto Scaling) started by this file, a fake
 * IMDSv2 server, and a proxy that adds CompleteLifecycleAction (which moto lacks): scale-in
 * protection (also throttled), the termination lifecycle hook, hung handlers, idempotency with
 * duplicate deliveries, renewed leases, dead workers and stops, and the IAM contract (every SDK
 * command the agent sends, recorded by SDK middleware).
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { setTimeout as sleep } from 'timers/promises';
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingInstancesCommand,
} from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { JobClient, defineJobHandler } from '../../../runtime/index';
import {
  AGENT_AUTOSCALING_ACTIONS,
  AGENT_DYNAMODB_ACTIONS,
  AGENT_SQS_ACTIONS,
  InstanceMetadataClient,
  WorkerEnvironmentError,
  iamActionOf,
  startFleetIntegration,
  startWorker,
  workerConfigFromEnv,
  type FleetIntegration,
  type Worker,
} from '../../../runtime/worker-agent';
import {
  AUTO_SCALING_GROUP_ENV, CONCURRENCY_ENV, FLEET_ENV, IDEMPOTENCY_TABLE_ENV, LIFECYCLE_HOOK_ENV, QUEUE_URL_ENV, VISIBILITY_TIMEOUT_ENV,
} from '../../../runtime/jobs/environment';
import { JOB_THREADS_ENV, JOB_TIMEOUT_ENV } from '../../../runtime/worker-agent/environment';
import { startAutoScalingProxy, type AutoScalingProxy } from '../../support/autoscaling-proxy';
import { startFakeImds, type FakeImds } from '../../support/fake-imds';
import { queryError, startFaultProxy } from '../../support/fault-proxy';
import { createIdempotencyTable, createWorkQueue, queueDepth, scanAll, useLocalAws, waitFor } from '../../support/local-aws';
import { bundleWorkerFixture, killWorkerProcesses, startWorkerProcess } from '../../support/worker-process';
import { REPO_ROOT } from '../../support/paths';

const aws = useLocalAws();
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Job { readonly n: number; readonly ms?: number; readonly failFirst?: boolean }

let proxy: AutoScalingProxy;
let imds: FakeImds;
let group: string;
let instanceId: string;
const workers: Worker[] = [];
const fleets: FleetIntegration[] = [];

/** The worker program, bundled once (as FleetWorker ships it): a process starts in a fraction of the time it takes through esbuild-register. */
let program: string;

/** An Auto Scaling group with one instance in moto, and the fake IMDS of that instance. */
beforeAll(async () => {
  const bundling = bundleWorkerFixture(path.join(REPO_ROOT, '.tmp', `fleet-worker-${process.pid}.mjs`));
  proxy = await startAutoScalingProxy(aws.moto.endpoint);
  const autoscaling = new AutoScalingClient({});
  group = `fleet-${randomUUID().slice(0, 8)}`;
  await autoscaling.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: group, ImageId: 'ami-12c6146b', InstanceType: 't3.micro' }));
  await autoscaling.send(new CreateAutoScalingGroupCommand({
    AutoScalingGroupName: group, LaunchConfigurationName: group, MinSize: 1, MaxSize: 1, DesiredCapacity: 1, AvailabilityZones: ['us-east-1a'],
  }));
  const described = await autoscaling.send(new DescribeAutoScalingInstancesCommand({}));
  instanceId = described.AutoScalingInstances!.find((i) => i.AutoScalingGroupName === group)!.InstanceId!;
  autoscaling.destroy();
  imds = await startFakeImds(instanceId);
  program = await bundling;
});

afterAll(async () => {
  await imds?.stop();
  await proxy?.stop();
  if (program) fs.rmSync(program, { force: true });
});

afterEach(async () => {
  await killWorkerProcesses();
  await Promise.all(fleets.splice(0).map((f) => f.stop()));
  await Promise.all(workers.splice(0).map((w) => w.stop(0)));
  imds.targetLifecycleState = 'InService';
  jest.restoreAllMocks();
});

beforeEach(() => {
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

async function isProtected(): Promise<boolean | undefined> {
  const autoscaling = new AutoScalingClient({});
  try {
    const out = await autoscaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
    return out.AutoScalingInstances![0]!.ProtectedFromScaleIn;
  } finally {
    autoscaling.destroy();
  }
}

/** Records the name of every command a client sends (SDK middleware at the first step). */
function recordCommands<C extends SQSClient | DynamoDBClient | AutoScalingClient>(client: C, into: string[]): C {
  (client.middlewareStack as { add: (mw: unknown, options: unknown) => void }).add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName: string }) => async (args: unknown) => {
      into.push(context.commandName);
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandsForIamContract' },
  );
  return client;
}

function fleetOf(worker: Worker, options: { autoScaling?: AutoScalingClient; lifecycleHookName?: string; unprotectAfterIdleMs?: number } = {}) {
  return startFleetIntegration({
    worker,
    autoScalingGroupName: group,
    lifecycleHookName: options.lifecycleHookName,
    autoScaling: options.autoScaling ?? new AutoScalingClient({ endpoint: proxy.endpoint }),
    metadata: new InstanceMetadataClient({ endpoint: imds.endpoint }),
    unprotectAfterIdleMs: options.unprotectAfterIdleMs ?? 300,
    lifecyclePollIntervalMs: 100,
    logger: quiet,
  }).then((f) => { fleets.push(f); return f; });
}

describe('the worker agent on a fleet', () => {
  test('protects the instance from scale-in while it holds jobs, and lifts it once idle, without flapping between jobs', async () => {
    // GIVEN a worker on the instance, whose leftover protection the agent has cleared
    const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 30 });
    let running = false;
    const handler = defineJobHandler<Job>(async (job) => { running = true; await sleep(job.ms ?? 0); running = false; });
    const worker = startWorker({ queueUrl, handler, sqs: aws.sqs, concurrency: 1, idempotency: false, waitTimeSeconds: 1, logger: quiet });
    workers.push(worker);
    // An idle second before lifting: the gap between two back-to-back jobs (a delete and a
    // receive) stays well under it even on a loaded machine.
    const fleet = await fleetOf(worker, { unprotectAfterIdleMs: 1000 });
    await waitFor('the initial protection to be cleared', () => fleet.stats.protectedFromScaleIn === false, 5000, 20);

    // WHEN three jobs run back to back
    await new JobClient<Job>({ queueUrl }).send([{ n: 1, ms: 600 }, { n: 2, ms: 300 }, { n: 3, ms: 300 }]);
    await waitFor('a job to run', () => running, 10_000, 10);

    // THEN the instance is protected while they run, and unprotected once the worker is idle
    await waitFor('protection on', async () => (await isProtected()) === true, 5000, 50);
    await waitFor('all jobs done', () => worker.stats.jobsSucceeded === 3, 10_000, 20);
    await waitFor('protection off', async () => (await isProtected()) === false, 5000, 50);
    // one call to clear, one on, one off: none between the jobs
    expect(fleet.stats.requests.SetInstanceProtection).toBe(3);
  });

  test('on termination, drains the worker and then completes the lifecycle action with CONTINUE', async () => {
    // GIVEN a worker running a 1 s job on an instance with a termination lifecycle hook
    const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 30 });
    const finished: number[] = [];
    const handler = defineJobHandler<Job>(async (job) => { await sleep(job.ms ?? 0); finished.push(job.n); });
    const worker = startWorker({ queueUrl, handler, sqs: aws.sqs, idempotency: false, waitTimeSeconds: 1, logger: quiet });
    workers.push(worker);
    const fleet = await fleetOf(worker, { lifecycleHookName: 'drain-before-terminate' });
    await new JobClient<Job>({ queueUrl }).send([{ n: 1, ms: 1000 }]);
    await waitFor('the job to start', () => worker.stats.inFlight === 1, 10_000, 20);

    // WHEN Auto Scaling moves the instance toward Terminated
    imds.targetLifecycleState = 'Terminated';
    const report = await fleet.terminated;

    // THEN the job finished before the hook was completed, for this instance, group and hook
    expect(finished).toEqual([1]);
    expect(report).toEqual({ drain: expect.objectContaining({ finished: 1, released: 0, clean: true }), lifecycleActionCompleted: true });
    expect(worker.running).toBe(false);
    expect(proxy.completedLifecycleActions).toContainEqual(expect.objectContaining({
      AutoScalingGroupName: group, LifecycleHookName: 'drain-before-terminate', InstanceId: instanceId, LifecycleActionResult: 'CONTINUE',
    }));
    expect(await queueDepth(aws.sqs, queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('the worker program on a fleet protects its instance, then drains, completes the hook and exits 0 when it is terminated', async () => {
    // GIVEN the worker program configured for a group with a termination hook, busy on a 1 s job
    const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 30 });
    const worker = startWorkerProcess({
      AWS_ENDPOINT_URL: aws.moto.endpoint,
      AWS_ENDPOINT_URL_AUTO_SCALING: proxy.endpoint, // the SDK's per-service endpoint setting
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
      [QUEUE_URL_ENV]: queueUrl, [AUTO_SCALING_GROUP_ENV]: group, [LIFECYCLE_HOOK_ENV]: 'drain', TEST_JOB_MS: '1000', TEST_LIFECYCLE_POLL_MS: '100',
    }, program);
    await new JobClient<Job>({ queueUrl }).send([{ n: 1 }]);
    await waitFor('the job to start', () => worker.reports.length === 1, 20_000, 20);
    await waitFor('protection on', async () => (await isProtected()) === true, 5000, 50);

    // WHEN Auto Scaling moves the instance toward Terminated
    imds.targetLifecycleState = 'Terminated';
    const exit = await worker.exited;

    // THEN the job finished, the hook was completed with CONTINUE, and the program exited 0
    expect(exit).toEqual({ code: 0, signal: null });
    expect(worker.reports.map((r) => r.type)).toEqual(['started', 'done']);
    expect(proxy.completedLifecycleActions).toContainEqual(expect.objectContaining({ LifecycleHookName: 'drain', InstanceId: instanceId, LifecycleActionResult: 'CONTINUE' }));
    expect(await queueDepth(aws.sqs, queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('the worker program on a FleetWorker instance (CLOUD_PATTERNS_FLEET=1) reads its group\'s name from the instance metadata tag', async () => {
    // GIVEN the program configured as FleetWorker configures it: no group name in its
    // environment (user data cannot name the group that launches from it), the group in the
    // instance's aws:autoscaling:groupName tag
    imds.tags['aws:autoscaling:groupName'] = group;
    try {
      const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 30 });
      const worker = startWorkerProcess({
        AWS_ENDPOINT_URL: aws.moto.endpoint,
        AWS_ENDPOINT_URL_AUTO_SCALING: proxy.endpoint,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
        [QUEUE_URL_ENV]: queueUrl, [FLEET_ENV]: '1', [LIFECYCLE_HOOK_ENV]: 'drain', TEST_JOB_MS: '1000', TEST_LIFECYCLE_POLL_MS: '100',
      }, program);

      // WHEN it takes a job and its instance is then terminated
      await new JobClient<Job>({ queueUrl }).send([{ n: 1 }]);
      await waitFor('the job to start', () => worker.reports.length === 1, 20_000, 20);
      await waitFor('protection on', async () => (await isProtected()) === true, 5000, 50);
      imds.targetLifecycleState = 'Terminated';

      // THEN it protected the instance in that group, and completed that group's hook
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(proxy.completedLifecycleActions).toContainEqual(expect.objectContaining({
        AutoScalingGroupName: group, LifecycleHookName: 'drain', InstanceId: instanceId, LifecycleActionResult: 'CONTINUE',
      }));
      expect(imds.requests.some((r) => r.path === '/latest/meta-data/tags/instance/aws:autoscaling:groupName' && r.authorized)).toBe(true);
    } finally {
      delete imds.tags['aws:autoscaling:groupName'];
    }
  });

  test('the worker program\'s fleet settings: a group name, or CLOUD_PATTERNS_FLEET=1 to read it from metadata; a hook needs one of them', () => {
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs';
    expect(workerConfigFromEnv({ [QUEUE_URL_ENV]: queueUrl, [FLEET_ENV]: '1', [LIFECYCLE_HOOK_ENV]: 'drain' }).fleet)
      .toEqual({ autoScalingGroupName: undefined, lifecycleHookName: 'drain' });
    expect(workerConfigFromEnv({ [QUEUE_URL_ENV]: queueUrl, [AUTO_SCALING_GROUP_ENV]: 'farm' }).fleet).toEqual({ autoScalingGroupName: 'farm', lifecycleHookName: undefined });
    expect(workerConfigFromEnv({ [QUEUE_URL_ENV]: queueUrl, [FLEET_ENV]: '0' }).fleet).toBeUndefined();
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        workerConfigFromEnv({ [QUEUE_URL_ENV]: queueUrl, ...env });
      } catch (error) {
        return (error as WorkerEnvironmentError).variables;
      }
      return [];
    };
    expect(problems({ [LIFECYCLE_HOOK_ENV]: 'drain' })).toEqual([AUTO_SCALING_GROUP_ENV]);
    expect(problems({ [FLEET_ENV]: 'yes' })).toEqual([FLEET_ENV]);
  });

  test('reads instance metadata with IMDSv2 session tokens only, and renews a token that stopped working', async () => {
    // GIVEN a metadata client and the fake IMDSv2, which refuses requests without a token
    const client = new InstanceMetadataClient({ endpoint: imds.endpoint });
    const seen = imds.requests.length;

    // WHEN it reads the instance id, the token is revoked, and it reads the lifecycle state
    const id = await client.instanceId();
    imds.revokeTokens();
    const state = await client.targetLifecycleState();

    // THEN both reads worked, every GET carried a token, and a new one was fetched after the 401
    expect([id, state]).toEqual([instanceId, 'InService']);
    expect(imds.requests.slice(seen).map((r) => `${r.method} ${r.path} ${r.authorized ? 'token' : 'no-token'}`)).toEqual([
      'PUT /latest/api/token token',
      'GET /latest/meta-data/instance-id token',
      'GET /latest/meta-data/autoscaling/target-lifecycle-state no-token',
      'PUT /latest/api/token token',
      'GET /latest/meta-data/autoscaling/target-lifecycle-state token',
    ]);
  });

  test('with idempotency, applies a job delivered twice at once, and again later, only once', async () => {
    // GIVEN an idempotency table and the same job (one job id) in the queue twice
    const table = await createIdempotencyTable(aws.dynamodb);
    const { queueUrl, deadLetterQueueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 1, maxReceiveCount: 5 });
    const effects = new Map<string, number>();
    const handler = defineJobHandler<Job>(async (_job, { jobId }) => {
      await sleep(300); // long enough for the two deliveries to overlap
      effects.set(jobId, (effects.get(jobId) ?? 0) + 1);
    });
    const jobId = randomUUID();
    const client = new JobClient<Job>({ queueUrl, jobId: () => jobId });
    await client.send([{ n: 7 }, { n: 7 }]);

    // WHEN a worker runs both at once, then the job is sent a third time
    const worker = startWorker({
      queueUrl, handler, sqs: aws.sqs, concurrency: 10, visibilityTimeoutSeconds: 1, jobTimeoutSeconds: 1, waitTimeSeconds: 1, logger: quiet,
      idempotency: { tableName: table, ttlSeconds: 3600, client: aws.dynamodb },
    });
    workers.push(worker);
    await waitFor('both deliveries to be consumed', async () => worker.stats.messagesDeleted === 2, 15_000);
    await client.send([{ n: 7 }]);
    await waitFor('the third to be consumed', async () => worker.stats.messagesDeleted === 3, 15_000);

    // THEN the effect happened once; the delivery that overlapped was postponed past the job
    // timeout (when an in-progress record surely ends), retried and skipped
    expect(Object.fromEntries(effects)).toEqual({ [jobId]: 1 });
    expect(worker.stats).toMatchObject({ jobsFailed: 1, jobsPostponed: 1 });
    expect(await queueDepth(aws.sqs, deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('with idempotency, a job whose worker was killed mid-job runs again about one visibility timeout later, not at the job timeout', async () => {
    // GIVEN two worker processes with idempotency, a 1 s visibility timeout (the lease of a job's
    // in-progress record), a 30 s job timeout, and handlers that hang on a first delivery
    const table = await createIdempotencyTable(aws.dynamodb);
    const { queueUrl, deadLetterQueueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 1, maxReceiveCount: 3 });
    const env = {
      AWS_ENDPOINT_URL: aws.moto.endpoint, [QUEUE_URL_ENV]: queueUrl, [IDEMPOTENCY_TABLE_ENV]: table,
      [VISIBILITY_TIMEOUT_ENV]: '1', [JOB_TIMEOUT_ENV]: '30', TEST_HANG_FIRST_ATTEMPT: '1', TEST_JOB_MS: '50',
    };
    const workers = [startWorkerProcess(env, program), startWorkerProcess(env, program)];
    await new JobClient<Job>({ queueUrl }).send([{ n: 1 }]);
    await waitFor('a worker to start the job', () => workers.some((w) => w.reports.length > 0), 20_000, 20);
    const first = workers.find((w) => w.reports.length > 0)!;
    const other = workers.find((w) => w !== first)!;
    await sleep(1500); // the running worker renews its lease past the visibility timeout

    // WHEN that worker is killed mid-job
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;

    // THEN the other worker does the job once, within a few seconds (the lease lapsed), not after
    // the 30 s job timeout, and not in the dead-letter queue
    await waitFor('the job to be done', () => other.reports.some((r) => r.type === 'done'), 15_000, 50);
    expect(Date.now() - killedAt).toBeLessThan(6000);
    expect(other.reports.filter((r) => r.type === 'done')).toHaveLength(1);
    expect(first.reports.filter((r) => r.type === 'started')).toHaveLength(1);
    // a delivery that came while the lease still held was put off to its end, and says so
    const postponed = other.output().split('\n').filter((l) => l.includes('retrying once that delivery\'s lease has ended'));
    for (const line of postponed) expect(JSON.parse(line).retryInSeconds).toBeLessThanOrEqual(3);
    await waitFor('the message to be deleted', async () => (await queueDepth(aws.sqs, queueUrl)).inFlight === 0);
    expect(await queueDepth(aws.sqs, deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('a handler that never settles frees its slot after jobTimeout and the instance can scale in', async () => {
    // GIVEN a worker with 4 slots on a fleet, and a job whose handler ignores its signal forever
    const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 30 });
    const lines: string[] = [];
    const logger = { ...quiet, error: (m: string, f?: Record<string, unknown>) => { lines.push(`${m} ${JSON.stringify(f)}`); } };
    const handler = defineJobHandler<Job>(() => new Promise<void>(() => undefined));
    const worker = startWorker({
      queueUrl, handler, sqs: aws.sqs, concurrency: 4, idempotency: false, waitTimeSeconds: 1, logger,
      visibilityTimeoutSeconds: 30, jobTimeoutSeconds: 1, hungJobGraceSeconds: 0.5,
    });
    workers.push(worker);
    const timedOut: string[] = [];
    const abandoned: string[] = [];
    worker.on('jobTimedOut', (e) => timedOut.push(e.jobId!)).on('jobAbandoned', (e) => abandoned.push(e.jobId!));
    const fleet = await fleetOf(worker);
    await waitFor('the initial protection to be cleared', () => fleet.stats.protectedFromScaleIn === false, 5000, 20);
    const [sent] = await new JobClient<Job>({ queueUrl }).send([{ n: 1 }]);
    await waitFor('protection on', async () => (await isProtected()) === true, 10_000, 50);

    // WHEN its timeout and grace pass while the handler still hangs
    await waitFor('the job to be abandoned', () => abandoned.length === 1, 10_000, 20);

    // THEN the slot is free, the instance is no longer protected, and the job was reported by id
    expect(worker.stats).toMatchObject({ inFlight: 0, hung: 1, jobsTimedOut: 1, jobsAbandoned: 1 });
    await waitFor('protection off', async () => (await isProtected()) === false, 5000, 50);
    expect(timedOut).toEqual([sent!.jobId]);
    expect(abandoned).toEqual([sent!.jobId]);
    expect(lines.some((l) => l.startsWith('job did not settle') && l.includes(sent!.jobId))).toBe(true);
    expect(worker.running).toBe(true); // one hung job of 4 slots: under the bound of 2
  });

  test('the worker program exits 1 once half its slots hold hung jobs, so systemd restarts a clean process, and leaves its instance unprotected', async () => {
    // GIVEN a worker program on the fleet with 2 slots, a 1 s job timeout, and handlers that hang
    // on a first delivery, run on the agent's event loop (in a job thread the hung job's thread is
    // ended instead: job-threads.test.ts)
    const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 30 });
    const worker = startWorkerProcess({
      AWS_ENDPOINT_URL: aws.moto.endpoint, AWS_ENDPOINT_URL_AUTO_SCALING: proxy.endpoint, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
      [QUEUE_URL_ENV]: queueUrl, [AUTO_SCALING_GROUP_ENV]: group, [CONCURRENCY_ENV]: '2', [JOB_TIMEOUT_ENV]: '1', [JOB_THREADS_ENV]: '0',
      TEST_HANG_FIRST_ATTEMPT: '1', TEST_HUNG_GRACE_SECONDS: '0.5',
    }, program);

    // WHEN one job hangs (its instance protected while it runs)
    await new JobClient<Job>({ queueUrl }).send([{ n: 1 }]);
    await waitFor('protection on', async () => (await isProtected()) === true, 20_000, 50);
    const exit = await worker.exited;

    // THEN the program exits 1, saying why, and lifted the protection first (well before its 30 s idle debounce)
    expect(exit.code).toBe(1);
    expect(worker.output()).toMatch(/job did not settle within its timeout and grace/);
    expect(worker.output()).toMatch(/worker program exiting with an error.*hungJobs/);
    expect(await isProtected()).toBe(false);
  });

  test('scale-in protection that is throttled when the worker goes idle is retried until it is lifted', async () => {
    // GIVEN Auto Scaling throttling the next 7 requests to lift protection (through a fault proxy)
    const faults = await startFaultProxy(proxy.endpoint);
    let fleet: FleetIntegration | undefined;
    try {
      const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 30 });
      const handler = defineJobHandler<Job>(async () => { await sleep(300); });
      const worker = startWorker({ queueUrl, handler, sqs: aws.sqs, concurrency: 1, idempotency: false, waitTimeSeconds: 1, logger: quiet });
      workers.push(worker);
      fleet = await startFleetIntegration({
        worker, autoScalingGroupName: group, instanceId, logger: quiet, unprotectAfterIdleMs: 100, retryBaseMs: 20, retryMaxMs: 100,
        autoScaling: new AutoScalingClient({ endpoint: faults.endpoint, maxAttempts: 1 }),
      });
      const f = fleet;
      await waitFor('the initial protection to be cleared', () => f.stats.protectedFromScaleIn === false, 5000, 20);
      let throttled = 0;
      faults.setRule((r) => (r.action === 'SetInstanceProtection' && r.body.includes('ProtectedFromScaleIn=false') && throttled++ < 7
        ? queryError('Throttling', 400, 'Rate exceeded') : undefined));

      // WHEN a job runs and the worker goes idle
      await new JobClient<Job>({ queueUrl }).send([{ n: 1 }]);
      await waitFor('the job to be done', () => worker.stats.jobsSucceeded === 1, 10_000, 20);

      // THEN protection is lifted in the end, after the throttled attempts
      await waitFor('protection off', async () => (await isProtected()) === false && f.stats.protectedFromScaleIn === false, 10_000, 50);
      expect(faults.injected.SetInstanceProtection).toBe(7);
    } finally {
      await fleet?.stop();
      await faults.stop();
    }
  });

  test('on stop, a job released at the bound has its in-progress record released too, so the next worker runs it at once', async () => {
    // GIVEN a worker with idempotency running a job that ignores its signal, with a 30 s job timeout
    const table = await createIdempotencyTable(aws.dynamodb);
    const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 30, maxReceiveCount: 5 });
    const idempotency = { tableName: table, ttlSeconds: 3600, client: aws.dynamodb };
    const done: number[] = [];
    const hangs = defineJobHandler<Job>(() => new Promise<void>(() => undefined));
    const first = startWorker({ queueUrl, handler: hangs, sqs: aws.sqs, idempotency, visibilityTimeoutSeconds: 30, jobTimeoutSeconds: 30, waitTimeSeconds: 1, logger: quiet });
    workers.push(first);
    await new JobClient<Job>({ queueUrl }).send([{ n: 1 }]);
    await waitFor('the job to start', async () => first.stats.inFlight === 1 && (await scanAll(aws.dynamodb, table)).length === 1, 10_000, 20);

    // WHEN the worker is stopped with a 1 s bound, and another worker starts
    const report = await first.stop(1);
    const second = startWorker({
      queueUrl, handler: defineJobHandler<Job>((job) => { done.push(job.n); }), sqs: aws.sqs, idempotency,
      visibilityTimeoutSeconds: 30, jobTimeoutSeconds: 30, waitTimeSeconds: 1, logger: quiet,
    });
    workers.push(second);

    // THEN the second runs the job within seconds, not after the 30 s job timeout (10 s allowed:
    // quiet, it takes about one; on a saturated machine, moto's answers once took over 5)
    expect(report).toMatchObject({ released: 1 });
    await waitFor('the second worker to do the job', () => done.length === 1, 10_000, 20);
    expect(second.stats.jobsPostponed).toBe(0);
  });

  test('each concurrent job\'s in-progress record holds its own lease, renewed while it runs', async () => {
    // GIVEN a worker with idempotency and a 1 s visibility timeout (the lease), running 3 jobs of 2 s at once
    const table = await createIdempotencyTable(aws.dynamodb);
    const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 1 });
    const handler = defineJobHandler<Job>(async () => { await sleep(2000); });
    const worker = startWorker({
      queueUrl, handler, sqs: aws.sqs, concurrency: 3, visibilityTimeoutSeconds: 1, jobTimeoutSeconds: 60, waitTimeSeconds: 1, logger: quiet,
      idempotency: { tableName: table, ttlSeconds: 3600, client: aws.dynamodb },
    });
    workers.push(worker);
    await new JobClient<Job>({ queueUrl }).send([{ n: 1 }, { n: 2 }, { n: 3 }]);

    // WHEN they have run for 1.5 s, past their first lease
    await waitFor('3 records in progress', async () => (await scanAll(aws.dynamodb, table)).filter((i) => i.status?.S === 'INPROGRESS').length === 3, 10_000, 20);
    await sleep(1500);
    const before = Date.now();
    const records = await scanAll(aws.dynamodb, table);
    const after = Date.now();

    // THEN each record is still in progress, with a lease ending within one visibility timeout
    // of the read (renewed), not at the 60 s job timeout. A renewal may land while the scan runs,
    // so the bound is one timeout from the scan's end (from its start, it failed by 1 ms once).
    expect(records.map((r) => r.status?.S)).toEqual(['INPROGRESS', 'INPROGRESS', 'INPROGRESS']);
    for (const r of records) {
      const until = Number(r.in_progress_expiration!.N);
      expect(until).toBeGreaterThan(before);
      expect(until).toBeLessThanOrEqual(after + 1000);
    }
    await waitFor('the jobs to be done', () => worker.stats.messagesDeleted === 3, 10_000, 50);
  });

  test('calls exactly the AWS actions it exports for the instance role (recorded by SDK middleware over a realistic run)', async () => {
    // GIVEN clients that record every command, a worker with idempotency on a fleet with a lifecycle hook
    const sent = { sqs: [] as string[], dynamodb: [] as string[], autoscaling: [] as string[] };
    const sqs = recordCommands(new SQSClient({}), sent.sqs);
    const dynamodb = recordCommands(new DynamoDBClient({}), sent.dynamodb);
    const autoScaling = recordCommands(new AutoScalingClient({ endpoint: proxy.endpoint }), sent.autoscaling);
    const table = await createIdempotencyTable(aws.dynamodb);
    const { queueUrl } = await createWorkQueue(aws.sqs, { visibilityTimeout: 1, maxReceiveCount: 5 });
    const handler = defineJobHandler<Job>(async (job, { attempt }) => {
      await sleep(job.ms ?? 10);
      if (job.failFirst && attempt === 1) throw new Error('transient failure');
    });
    const worker = startWorker({
      queueUrl, handler, sqs, concurrency: 5, visibilityTimeoutSeconds: 1, jobTimeoutSeconds: 3, waitTimeSeconds: 1, logger: quiet,
      idempotency: { tableName: table, ttlSeconds: 3600, client: dynamodb },
    });
    workers.push(worker);
    const fleet = await fleetOf(worker, { autoScaling, lifecycleHookName: 'drain' });

    // WHEN it runs good jobs, a job that fails once, a duplicate, and a job longer than the
    // visibility timeout; goes idle; and is then terminated
    const duplicateId = randomUUID();
    const client = new JobClient<Job>({ queueUrl });
    await client.send(Array.from({ length: 10 }, (_, n) => ({ n })));
    await client.send([{ n: 10, failFirst: true }, { n: 11, ms: 1200 }]);
    await new JobClient<Job>({ queueUrl, jobId: () => duplicateId }).send([{ n: 12, ms: 300 }, { n: 12, ms: 300 }]);
    await waitFor('every job to be done', () => worker.stats.messagesDeleted === 14, 20_000, 50);
    await waitFor('protection off', () => fleet.stats.protectedFromScaleIn === false, 5000, 20);
    imds.targetLifecycleState = 'Terminated';
    await fleet.terminated;

    // THEN the commands sent map onto exactly the exported IAM actions
    const actions = (prefix: 'sqs' | 'dynamodb' | 'autoscaling', commands: string[]) => [...new Set(commands.map((c) => iamActionOf(prefix, c)))].sort();
    expect(actions('sqs', sent.sqs)).toEqual([...AGENT_SQS_ACTIONS].sort());
    expect(actions('autoscaling', sent.autoscaling)).toEqual([...AGENT_AUTOSCALING_ACTIONS].sort());
    // GetItem is Powertools' fallback when a failed conditional write does not return the
    // record; DynamoDB (and moto) return it, so a run does not show it.
    const dynamodbActions = actions('dynamodb', sent.dynamodb);
    expect(dynamodbActions).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(AGENT_DYNAMODB_ACTIONS).toEqual(expect.arrayContaining(dynamodbActions));
    // and the batch commands were the ones used
    expect(new Set(sent.sqs)).toEqual(new Set(['ReceiveMessageCommand', 'DeleteMessageBatchCommand', 'ChangeMessageVisibilityBatchCommand']));
  });
});
