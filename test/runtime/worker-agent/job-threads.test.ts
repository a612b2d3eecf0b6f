/**
 * Job threads: the worker program runs its handlers off its own event loop, so a handler that
 * computes synchronously for longer than the visibility timeout no longer stops the heartbeats
 * that keep its message hidden (two agents on one queue then ran the same job over and over),
 * and `concurrency: 2` computes two jobs at once. Worker programs are separate processes (the
 * fixture bundled once, as FleetWorker bundles an agent) against fauxqs; then startWorker in this
 * process with job threads running a bundled fixture program: errors, signals, threads that exit
 * or hang, a program that never serves; and the report of a handler that holds the agent's loop.
 */
import * as fs from 'fs';
import * as path from 'path';
import { setTimeout as sleep } from 'timers/promises';
import { BroadcastChannel, threadId } from 'worker_threads';
import { build } from 'esbuild';
import { JobClient, defineJobHandler } from '../../../runtime/index';
import { startWorker, type EventLoopBlockedEvent, type JobFailedEvent, type Worker, type WorkerOptions } from '../../../runtime/worker-agent';
import { JobThreadPool } from '../../../runtime/worker-agent/job-threads';
import type { JobContext } from '../../../runtime/jobs/types';
import { CONCURRENCY_ENV, JOB_THREADS_ENV, QUEUE_URL_ENV, VISIBILITY_TIMEOUT_ENV } from '../../../runtime/jobs/environment';
import { createQueueWithDlq, useFauxqs } from '../../support/fauxqs';
import { queueDepth, waitFor } from '../../support/local-aws';
import { REPO_ROOT } from '../../support/paths';
import { bundleWorkerFixture, killWorkerProcesses, startWorkerProcess, type JobReport, type WorkerProcess } from '../../support/worker-process';
import { handler, type ThreadJob } from './fixtures/thread-handlers';

const aws = useFauxqs();
/**
 * How long the job of the visibility tests computes: twice the 1 s visibility timeout, so that
 * without heartbeats its message comes back while it computes. (It was 3.5 s until 2026-12-07:
 * with job threads off every start computes the whole time on a core; the job was started 4
 * times, 14 s of CPU, where at 2 s it is started 5 times, 10 s.)
 */
const COMPUTE_MS = 2000;
let script: string;

beforeAll(async () => {
  script = await bundleWorkerFixture(path.join(REPO_ROOT, '.tmp', `job-threads-worker-${process.pid}.mjs`));
});
afterAll(async () => {
  await killWorkerProcesses();
  if (script) fs.rmSync(script, { force: true });
});
afterEach(() => killWorkerProcesses());

const reportsOf = (type: JobReport['type'], ...workers: WorkerProcess[]) => workers.flatMap((w) => w.reports.filter((r) => r.type === type));

/**
 * Two worker programs on one queue with a 1 s visibility timeout, and one job that computes
 * synchronously for {@link COMPUTE_MS} (twice the visibility timeout): how many times is it
 * started by the time it is done and a further 2.5 s have passed (time for a message that came
 * back to be taken again)?
 */
async function computeLongerThanVisibility(jobThreads: string | undefined): Promise<{ started: number; workers: WorkerProcess[] }> {
  const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 1, maxReceiveCount: 10 });
  const env = {
    AWS_ENDPOINT_URL: aws.fauxqs.endpoint, [QUEUE_URL_ENV]: queueUrl, [VISIBILITY_TIMEOUT_ENV]: '1',
    TEST_CPU_MS: String(COMPUTE_MS), TEST_JOB_MS: '0', ...(jobThreads === undefined ? {} : { [JOB_THREADS_ENV]: jobThreads }),
  };
  const workers = [startWorkerProcess(env, script), startWorkerProcess(env, script)];
  await new JobClient<{ n: number }>({ queueUrl, sqs: aws.sqs }).send([{ n: 1 }]);
  await waitFor('the job to be done', () => reportsOf('done', ...workers).length > 0, 30_000, 50);
  await sleep(2500);
  const started = reportsOf('started', ...workers).length;
  process.stdout.write(`DRILL compute ${COMPUTE_MS / 1000} s, visibility 1 s, two agents, job threads ${jobThreads ?? 'default (one per CPU)'}: ${JSON.stringify({ started })}\n`);
  return { started, workers };
}

describe('job threads', () => {
  test('a job that computes for longer than the visibility timeout is started once, with two agents on the queue', async () => {
    // GIVEN two worker programs with their default job threads, and a job computing 2 s against a 1 s visibility timeout
    // WHEN it runs
    const { started, workers } = await computeLongerThanVisibility(undefined);

    // THEN it was started once, by a job thread, and done once; the agent's loop was never held
    expect(started).toBe(1);
    expect(reportsOf('started', ...workers)[0]!.thread).toBeGreaterThan(0);
    expect(reportsOf('done', ...workers)).toHaveLength(1);
    expect(workers.map((w) => w.output()).join('')).not.toMatch(/event loop was held/);
  });

  test('with job threads off the same job is started again and again, and the agent reports the handler holding its loop', async () => {
    // GIVEN the same, with handlers on the agent's event loop (CLOUD_PATTERNS_JOB_THREADS=0)
    // WHEN it runs
    const { started, workers } = await computeLongerThanVisibility('0');

    // THEN its message came back while it computed and it was started more than once, and the
    // agent logged that its loop was held, naming the job
    expect(started).toBeGreaterThan(1);
    const jobId = reportsOf('started', ...workers)[0]!.jobId;
    const blocked = workers.map((w) => w.output()).join('').split('\n').filter((l) => l.includes('event loop was held'));
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked.some((l) => l.includes(jobId))).toBe(true);
  });

  test('concurrency 2 with two job threads computes two jobs at once', async () => {
    // GIVEN one worker program with 2 slots and 2 job threads, and two jobs computing 1.5 s each
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 10 });
    const worker = startWorkerProcess({
      AWS_ENDPOINT_URL: aws.fauxqs.endpoint, [QUEUE_URL_ENV]: queueUrl, [CONCURRENCY_ENV]: '2', [JOB_THREADS_ENV]: '2', TEST_CPU_MS: '1500', TEST_JOB_MS: '0',
    }, script);
    await new JobClient<{ n: number }>({ queueUrl, sqs: aws.sqs }).send([{ n: 1 }, { n: 2 }]);

    // WHEN both are done
    await waitFor('both jobs to be done', () => reportsOf('done', worker).length === 2, 30_000, 50);

    // THEN each started before the other was done, on different threads
    const [a, b] = reportsOf('started', worker);
    const done = reportsOf('done', worker);
    expect(Math.max(a!.at, b!.at)).toBeLessThan(Math.min(...done.map((d) => d.at)));
    expect(a!.thread).not.toBe(b!.thread);
    await waitFor('the messages to be deleted', async () => (await queueDepth(aws.sqs, queueUrl)).inFlight === 0);
  });
});

describe('job threads in a worker', () => {
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  let threadScript: string;
  let emptyScript: string;
  const running: Worker[] = [];
  const told: Array<Record<string, unknown>> = [];
  const channel = new BroadcastChannel('thread-handlers');
  channel.onmessage = (event) => { told.push((event as MessageEvent).data as Record<string, unknown>); };

  beforeAll(async () => {
    threadScript = path.join(REPO_ROOT, '.tmp', `thread-handlers-${process.pid}.js`);
    await build({ entryPoints: [path.join(__dirname, 'fixtures', 'thread-handlers.ts')], outfile: threadScript, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'error' });
    emptyScript = path.join(REPO_ROOT, '.tmp', `no-worker-${process.pid}.js`);
    fs.writeFileSync(emptyScript, '// a program that never starts a worker\n');
  });
  afterAll(() => {
    channel.close();
    for (const f of [threadScript, emptyScript]) if (f) fs.rmSync(f, { force: true });
  });
  beforeEach(() => { told.length = 0; });
  afterEach(async () => { await Promise.all(running.splice(0).map((w) => w.stop(0))); });

  /** A worker whose handlers run in one job thread of the fixture program. */
  async function threaded(options: Partial<WorkerOptions<ThreadJob>> = {}): Promise<{ worker: Worker; send: (jobs: ThreadJob[]) => Promise<void> }> {
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 10 });
    const worker = startWorker<ThreadJob, unknown>({
      queueUrl, handler, sqs: aws.sqs, idempotency: false, logger: quiet, waitTimeSeconds: 1, jobThreads: { entry: threadScript, count: 1 }, ...options,
    });
    running.push(worker);
    return { worker, send: async (jobs) => { await new JobClient<ThreadJob>({ queueUrl, sqs: aws.sqs }).send(jobs); } };
  }

  const nextFailure = (worker: Worker) => new Promise<JobFailedEvent>((resolve) => worker.once('jobFailed', resolve));

  test('runs the handler in a job thread, not on the agent\'s thread', async () => {
    const { worker, send } = await threaded();
    await send([{ kind: 'ok' }]);
    await waitFor('the job to succeed', () => worker.stats.jobsSucceeded === 1);
    expect(told).toEqual([expect.objectContaining({ ran: true, thread: expect.any(Number) })]);
    expect(told[0]!.thread).not.toBe(threadId);
  });

  test('an error thrown in a job thread reaches the agent with its name, message and fields', async () => {
    const { worker, send } = await threaded();
    const failure = nextFailure(worker);
    await send([{ kind: 'throw' }]);
    const { error } = await failure;
    expect(error).toMatchObject({ name: 'TileError', message: 'tile 7 is out of range', tile: 7 });
  });

  test('the job\'s signal aborts in its thread when the job passes its deadline', async () => {
    const { worker, send } = await threaded({ jobTimeoutSeconds: 1 });
    await send([{ kind: 'signal' }]);
    await waitFor('the handler to see its signal abort', () => told.length === 1, 10_000, 20);
    expect(told[0]).toMatchObject({ aborted: 'the job passed its deadline' });
    // The agent counts it on its own timer at the same deadline: on a loaded machine the thread's
    // abort can arrive first (a bench run of npm test saw the count at 0 when the abort came).
    await waitFor('the worker to count the job timed out', () => worker.stats.jobsTimedOut === 1, 10_000, 20);
    expect(worker.stats.jobsTimedOut).toBe(1);
  });

  test('an abort that comes while the job waits for its thread to start reaches the job once the thread runs it', async () => {
    // GIVEN a job whose signal is aborted before its thread is ready (its deadline passed while a
    // loaded machine started the thread: a CI run lost such an abort, and the job hung until its grace)
    const pool = new JobThreadPool({ entry: threadScript, count: 1, logger: quiet, onBroken: () => undefined });
    try {
      const controller = new AbortController();
      controller.abort(new Error('the job passed its deadline'));
      const context: JobContext = {
        jobId: 'job-1', messageId: 'message-1', attempt: 1, deadline: Date.now(), signal: controller.signal, log: quiet,
        commit: () => Promise.reject(new Error('no commit in this test')),
      };

      // WHEN the pool runs it
      const done = pool.run({ kind: 'signal' }, context);

      // THEN the handler in the thread sees the abort, with its reason, and the job settles
      await waitFor('the handler to see its signal abort', () => told.length === 1, 10_000, 20);
      expect(told[0]).toMatchObject({ jobId: 'job-1', aborted: 'the job passed its deadline' });
      await expect(done).resolves.toBeUndefined();
    } finally {
      await pool.close();
    }
  });

  test('a thread that exits fails its job, and is replaced for the next one', async () => {
    const { worker, send } = await threaded();
    const failure = nextFailure(worker);
    await send([{ kind: 'exit' }]);
    expect((await failure).error).toMatchObject({ message: expect.stringMatching(/the job thread exited \(code 3\).*comes back for another delivery/) });
    await send([{ kind: 'ok' }]);
    await waitFor('the next job to succeed', () => worker.stats.jobsSucceeded === 1);
    expect(worker.stats.jobThreadRestarts).toBe(1);
  });

  test('a hung job that computes for ever has its thread ended once abandoned, and does not count as hung', async () => {
    // GIVEN a job that ignores its signal and never yields its thread, with a 1 s timeout, no
    // grace, and a worker that would stop at its first hung job
    const { worker, send } = await threaded({ jobTimeoutSeconds: 1, hungJobGraceSeconds: 0, maxHungJobs: 1 });
    const abandoned = new Promise<void>((resolve) => worker.once('jobAbandoned', () => resolve()));
    await send([{ kind: 'spin' }]);

    // WHEN it is abandoned THEN its thread is ended and replaced, so it holds no CPU, is not hung,
    // and the worker goes on
    await abandoned;
    await waitFor('the thread to be replaced', () => worker.stats.jobThreadRestarts === 1, 10_000, 20);
    expect(worker.stats).toMatchObject({ jobsAbandoned: 1, hung: 0 });
    expect(worker.running).toBe(true);
  });

  test('a result a thread cannot pass back fails the job, saying to return plain data', async () => {
    const { worker, send } = await threaded();
    const failure = nextFailure(worker);
    await send([{ kind: 'function' }]);
    expect((await failure).error).toMatchObject({ message: expect.stringMatching(/cannot be passed back from its job thread.*return plain data/) });
  });

  test('fails when the job threads\' program never serves the handler: the worker stops with an error saying so', async () => {
    const { worker } = await threaded({ jobThreads: { entry: emptyScript, count: 1 } });
    const report = await worker.stopped;
    expect(report.error).toMatchObject({ reason: 'jobThreads', message: expect.stringMatching(/job threads in a row ended before serving a job.*no-worker-.*starts the worker with its handler/) });
  });

  test('fails when jobThreads.count or jobThreads.entry is unusable, naming each', () => {
    expect(() => startWorker({ queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/q', handler, jobThreads: { count: 0, entry: '/no/such/program.js' } }))
      .toThrow(/jobThreads\.count must be a whole number from 1 to 256, received 0[\s\S]*jobThreads\.entry must be the file of the program that starts this worker.*"\/no\/such\/program\.js" \(no such file\)/);
  });

  test('without job threads, a handler that computes on the agent\'s event loop is reported, by job id', async () => {
    // GIVEN a worker running handlers on its own event loop, and a job that computes 1.5 s synchronously
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 10 });
    const computing = defineJobHandler<{ n: number }>(() => { for (const until = Date.now() + 1500; Date.now() < until;) { /* compute */ } });
    const worker = startWorker({ queueUrl, handler: computing, sqs: aws.sqs, idempotency: false, logger: quiet, waitTimeSeconds: 1 });
    running.push(worker);
    const blocked = new Promise<EventLoopBlockedEvent>((resolve) => worker.once('eventLoopBlocked', resolve));

    // WHEN it runs
    const [sent] = await new JobClient<{ n: number }>({ queueUrl, sqs: aws.sqs }).send([{ n: 1 }]);

    // THEN the agent reports its loop held for about that long, naming the job, and counts it
    const event = await blocked;
    expect(event.blockedMs).toBeGreaterThanOrEqual(1000);
    expect(event.jobIds).toContain(sent!.jobId);
    expect(worker.stats.eventLoopBlocks).toBeGreaterThanOrEqual(1);
    expect(worker.stats.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(1000);
  });
});
