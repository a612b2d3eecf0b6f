/**
 * The worker program (runWorkerFromEnv) as the fleet runs it: separate processes configured from
 * the environment, against fauxqs started by this file. Failure drills: a worker killed with
 * SIGKILL mid-job, SIGTERM drains, and configuration errors. Every process dies with the test.
 */
import * as fs from 'fs';
import * as path from 'path';
import { setTimeout as sleep } from 'timers/promises';
import { JobClient } from '../../../runtime/index';
import { CONCURRENCY_ENV, QUEUE_URL_ENV, VISIBILITY_TIMEOUT_ENV } from '../../../runtime/jobs/environment';
import { STOP_TIMEOUT_ENV } from '../../../runtime/worker-agent/environment';
import { createQueueWithDlq, useFauxqs } from '../../support/fauxqs';
import { queueDepth, waitFor } from '../../support/local-aws';
import { bundleWorkerFixture, killWorkerProcesses, startWorkerProcess as startWorker, type JobReport, type WorkerProcess } from '../../support/worker-process';
import { REPO_ROOT } from '../../support/paths';

const aws = useFauxqs();

// The worker program bundled once, as FleetWorker bundles the agent: each process starts in a
// fraction of a second (through esbuild-register, each one and its job thread compiled every file).
let script: string;
beforeAll(async () => {
  script = await bundleWorkerFixture(path.join(REPO_ROOT, '.tmp', `main-worker-${process.pid}.mjs`));
});
afterAll(() => { if (script) fs.rmSync(script, { force: true }); });
const startWorkerProcess = (env: Record<string, string>) => startWorker(env, script);

interface Job { readonly n: number }

function workerEnv(queueUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return { AWS_ENDPOINT_URL: aws.fauxqs.endpoint, [QUEUE_URL_ENV]: queueUrl, ...extra };
}

const reportsOf = (type: JobReport['type'], ...workers: WorkerProcess[]) => workers.flatMap((w) => w.reports.filter((r) => r.type === type));

describe('the worker program', () => {
  afterEach(() => killWorkerProcesses());

  test('a job whose worker is killed mid-job is done once, by another worker, after the visibility timeout', async () => {
    // GIVEN two worker processes whose handlers hang on a job's first delivery, and one job
    // (A 3 s timeout: heartbeats every 0.75 s extend a message with under 1.5 s left, a margin a
    // worker starved of CPU for a second still keeps; with 2 s a loaded machine let it lapse once.)
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 3, maxReceiveCount: 5 });
    const env = workerEnv(queueUrl, { [VISIBILITY_TIMEOUT_ENV]: '3', TEST_HANG_FIRST_ATTEMPT: '1', TEST_JOB_MS: '50' });
    const workers = [startWorkerProcess(env), startWorkerProcess(env)];
    const [sent] = await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send([{ n: 1 }]);
    await waitFor('a worker to start the job', () => reportsOf('started', ...workers).length === 1, 20_000, 20);
    const first = workers.find((w) => w.reports.length === 1)!;
    const other = workers.find((w) => w !== first)!;

    // WHEN the worker running it is killed with SIGKILL, after heartbeats kept it past one timeout
    await sleep(3500);
    expect(reportsOf('started', other)).toEqual([]);
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;

    // THEN the other worker takes it once the visibility timeout has passed, and does it once
    await waitFor('the other worker to finish the job', () => reportsOf('done', other).length === 1, 15_000, 20);
    const startedAgainAfterMs = Date.now() - killedAt;
    expect(reportsOf('started', other)).toEqual([expect.objectContaining({ jobId: sent!.jobId, attempt: 2 })]);
    expect(startedAgainAfterMs).toBeLessThan(3000 + 3000);
    await sleep(500);
    expect(reportsOf('done', ...workers)).toHaveLength(1);
    await waitFor('the message to be deleted', async () => (await queueDepth(aws.sqs, queueUrl)).inFlight === 0);
    expect(await queueDepth(aws.sqs, queueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('SIGTERM drains: running jobs finish and are deleted, the rest stay queued, and the program exits 0', async () => {
    // GIVEN a worker with 4 slots busy on 4 of 10 jobs of 1.5 s each
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 30 });
    const worker = startWorkerProcess(workerEnv(queueUrl, { [CONCURRENCY_ENV]: '4', [STOP_TIMEOUT_ENV]: '10', TEST_JOB_MS: '1500' }));
    await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send(Array.from({ length: 10 }, (_, n) => ({ n })));
    await waitFor('4 jobs to start', () => reportsOf('started', worker).length === 4, 20_000, 20);

    // WHEN it gets SIGTERM
    const signalledAt = Date.now();
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;

    // THEN it finished the 4 jobs, exited 0 well within the bound, and left the other 6 visible
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(4000);
    expect(reportsOf('done', worker).map((r) => r.n).sort()).toEqual(reportsOf('started', worker).map((r) => r.n).sort());
    expect(reportsOf('started', worker)).toHaveLength(4);
    expect(await queueDepth(aws.sqs, queueUrl)).toEqual({ visible: 6, inFlight: 0 });
  });

  test('SIGTERM releases a job that outlasts the stop bound, and the program still exits 0 within it', async () => {
    // GIVEN a worker running a job that never ends, with a 1 s stop bound and a long visibility timeout
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 60 });
    const worker = startWorkerProcess(workerEnv(queueUrl, { [STOP_TIMEOUT_ENV]: '1', [VISIBILITY_TIMEOUT_ENV]: '60', TEST_HANG_FIRST_ATTEMPT: '1' }));
    await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send([{ n: 1 }]);
    await waitFor('the job to start', () => reportsOf('started', worker).length === 1, 20_000, 20);

    // WHEN it gets SIGTERM
    const signalledAt = Date.now();
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;

    // THEN it exits 0 soon after the bound, and the job is visible again for another worker now
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(3000);
    expect(worker.output()).toMatch(/released for another worker/);
    expect(await queueDepth(aws.sqs, queueUrl)).toEqual({ visible: 1, inFlight: 0 });
  });

  test('fails when its environment is unusable, naming each variable, and exits 1', async () => {
    // GIVEN no queue URL and a concurrency that is not a number
    const worker = startWorkerProcess({ [CONCURRENCY_ENV]: 'lots' });

    // WHEN it starts
    const exit = await worker.exited;

    // THEN it exits 1 and the log says what to set
    expect(exit.code).toBe(1);
    expect(worker.output()).toMatch(/CLOUD_PATTERNS_QUEUE_URL is not set/);
    expect(worker.output()).toMatch(/CLOUD_PATTERNS_CONCURRENCY must be a whole number of jobs from 1 to 10000, received \\"lots\\"/);
  });
});
