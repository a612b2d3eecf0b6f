/**
 * The worker agent as a library (startWorker), running for real against fauxqs, an SQS emulator
 * started by this file in its own process: concurrency and refill, batched deletes, heartbeats,
 * poison and malformed messages, stop and release, back-off, and a run of 1,000 jobs; and, through
 * a fault proxy (fault-proxy.ts) for what the emulator cannot do, throttled deletes, receipt
 * handles that are no longer valid, AccessDenied, and SQS server errors.
 */
import { randomUUID } from 'crypto';
import { setTimeout as sleep } from 'timers/promises';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { JobClient, defineJobHandler, type JobHandler } from '../../../runtime/index';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startWorker, WorkerFatalError, WorkerOptionsError, type Worker, type WorkerOptions } from '../../../runtime/worker-agent';
import { LOCAL_AWS_ENV } from '../../../local/moto';
import { createQueueWithDlq, totalRequests, useFauxqs } from '../../support/fauxqs';
import { failFirst, sqsError, startFaultProxy, type FaultProxy, type FaultResponse } from '../../support/fault-proxy';
import { queueDepth, waitFor } from '../../support/local-aws';

const aws = useFauxqs();

interface Job { readonly n: number; readonly ms?: number; readonly poison?: boolean }

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const workers: Worker[] = [];

/** Starts a worker on the emulator with test-friendly settings; stopped after each test. */
function work<T>(queueUrl: string, handler: JobHandler<T>, options: Partial<WorkerOptions<T>> = {}): Worker {
  const worker = startWorker<T, unknown>({ queueUrl, handler, sqs: aws.sqs, idempotency: false, logger: quiet, waitTimeSeconds: 1, ...options });
  workers.push(worker);
  return worker;
}

/** An SQS client through a fault proxy, without the SDK's own retries (so each injected fault reaches the agent). */
function viaProxy(proxy: FaultProxy): SQSClient {
  return new SQSClient({ endpoint: proxy.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
}

const queueName = (queueUrl: string) => queueUrl.slice(queueUrl.lastIndexOf('/') + 1);

async function drained(queueUrl: string): Promise<boolean> {
  const d = await queueDepth(aws.sqs, queueUrl);
  return d.visible === 0 && d.inFlight === 0;
}

/** Counts how often each key is seen. */
function tally(): { add(key: string | number): void; readonly counts: Map<string | number, number> } {
  const counts = new Map<string | number, number>();
  return { add: (key) => counts.set(key, (counts.get(key) ?? 0) + 1), counts };
}

describe('the worker agent', () => {
  beforeEach(() => {
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop(0)));
    jest.restoreAllMocks();
  });

  test('runs every job once and deletes the messages in batches', async () => {
    // GIVEN 50 jobs in a queue
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const effects = tally();
    const handler = defineJobHandler<Job>(async (job) => { await sleep(10); effects.add(job.n); });
    await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send(Array.from({ length: 50 }, (_, n) => ({ n })));

    // WHEN a worker with 25 slots runs until the queue is empty
    const worker = work(queueUrl, handler, { concurrency: 25 });
    // (the queue can be empty a moment before the worker has read the answer to its last delete)
    await waitFor('the queue to drain and the worker to count 50 deletes', async () => (await drained(queueUrl)) && worker.stats.messagesDeleted >= 50);

    // THEN each job ran once, and the deletes went out in batches (not one request per job)
    expect(effects.counts.size).toBe(50);
    expect([...effects.counts.values()].every((c) => c === 1)).toBe(true);
    expect(worker.stats).toMatchObject({ jobsSucceeded: 50, jobsFailed: 0, messagesReceived: 50, messagesDeleted: 50, inFlight: 0 });
    expect(worker.stats.requests.DeleteMessageBatch).toBeLessThanOrEqual(15);
  });

  test('never runs more than `concurrency` jobs at once, and refills slots as jobs end', async () => {
    // GIVEN one slow job and 30 quick ones
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    let running = 0;
    let most = 0;
    let quickDoneWhileSlowRan = 0;
    let slowRunning = false;
    const handler = defineJobHandler<Job>(async (job) => {
      running += 1;
      most = Math.max(most, running);
      if (job.n === 0) slowRunning = true;
      await sleep(job.ms ?? 30);
      if (job.n === 0) slowRunning = false;
      else if (slowRunning) quickDoneWhileSlowRan += 1;
      running -= 1;
    });
    const client = new JobClient<Job>({ queueUrl, sqs: aws.sqs });
    await client.send([{ n: 0, ms: 3000 }]);
    await client.send(Array.from({ length: 30 }, (_, i) => ({ n: i + 1, ms: 30 })));

    // WHEN a worker with 4 slots works through them
    work(queueUrl, handler, { concurrency: 4 });
    await waitFor('the queue to drain', () => drained(queueUrl));

    // THEN at most 4 ran at once, and quick jobs kept flowing through the 3 other slots
    // while the slow one ran (a worker that waited for whole batches would have stalled)
    expect(most).toBe(4);
    expect(quickDoneWhileSlowRan).toBeGreaterThanOrEqual(20);
  });

  test('fills several free slots with one receive, waiting at most receiveBatchWindowMs for them', async () => {
    // GIVEN 60 jobs of staggered lengths (5 to 95 ms), so that slots free one at a time
    const jobs = Array.from({ length: 60 }, (_, i) => ({ n: i, ms: 5 + ((i * 37) % 91) }));
    const handler = defineJobHandler<Job>(async (job) => {
      await sleep(job.ms ?? 0);
    });
    const receivesToDrain = async (receiveBatchWindowMs: number) => {
      const { queueUrl } = await createQueueWithDlq(aws.sqs);
      await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send(jobs);
      const worker = work(queueUrl, handler, { concurrency: 10, receiveBatchWindowMs });
      await waitFor('the queue to drain', () => drained(queueUrl), 30_000, 20);
      return worker.stats.requests.ReceiveMessage;
    };

    // WHEN a worker with 10 slots drains them receiving for each slot as it frees, and one that waits up to 100 ms (the default)
    const eager = await receivesToDrain(0);
    const batched = await receivesToDrain(100);

    // THEN the waiting one filled at least 3 slots per receive on average, and needed fewer receives
    // than the eager one. (How many the eager one needs depends on the machine's load: while its
    // receive is slow, more slots free, and its next receive takes several. So its count is not
    // a fixed figure; the waiting one's bound holds however slow the receives are.)
    expect(batched).toBeLessThanOrEqual(jobs.length / 3);
    expect(eager).toBeGreaterThan(batched);
  });

  test('keeps a long job hidden past the visibility timeout with heartbeats, so no other worker runs it', async () => {
    // GIVEN a job that takes 2.5 visibility timeouts, and two workers on its queue
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 1 });
    const runs = tally();
    const handler = defineJobHandler<Job>(async (job) => { runs.add(job.n); await sleep(2500); });
    await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send([{ n: 1 }]);

    // WHEN both workers poll while it runs
    const a = work(queueUrl, handler, { visibilityTimeoutSeconds: 1 });
    const b = work(queueUrl, handler, { visibilityTimeoutSeconds: 1 });
    await waitFor('the job to be done', async () => a.stats.jobsSucceeded + b.stats.jobsSucceeded === 1 && drained(queueUrl), 15_000);

    // THEN it ran once, and its visibility was extended several times
    expect(Object.fromEntries(runs.counts)).toEqual({ 1: 1 });
    const heartbeats = a.stats.requests.ChangeMessageVisibilityBatch + b.stats.requests.ChangeMessageVisibilityBatch;
    expect(heartbeats).toBeGreaterThanOrEqual(2);
  });

  test('moves poison and malformed messages to the dead-letter queue while the good jobs are done', async () => {
    // GIVEN good jobs, a job that always fails, a body that is not JSON, and a bad job id
    const { queueUrl, deadLetterQueueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 1, maxReceiveCount: 2 });
    const calls = tally();
    const handler = defineJobHandler<Job>(async (job) => {
      calls.add(job.n);
      if (job.poison) throw new Error('this job can never succeed');
    });
    await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send([{ n: 1 }, { n: 2, poison: true }, { n: 3 }]);
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"n": 4,' }));
    await aws.sqs.send(new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: '{"n": 5}',
      MessageAttributes: { jobId: { DataType: 'String', StringValue: 'not-a-uuid' } },
    }));

    // WHEN a worker runs until the three bad messages are dead-lettered
    const worker = work(queueUrl, handler, { visibilityTimeoutSeconds: 1 });
    await waitFor('3 messages in the DLQ', async () => (await queueDepth(aws.sqs, deadLetterQueueUrl)).visible === 3 && drained(queueUrl), 15_000);

    // THEN the poison job was tried maxReceiveCount times, the malformed ones never reached the handler
    expect(Object.fromEntries(calls.counts)).toEqual({ 1: 1, 2: 2, 3: 1 });
    expect(worker.stats).toMatchObject({ jobsSucceeded: 2, jobsFailed: 6, jobsMalformed: 4 });
    const dead = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, MaxNumberOfMessages: 10 }));
    expect(dead.Messages!.map((m) => m.Body).sort()).toEqual(['{"n": 4,', '{"n": 5}', '{"n":2,"poison":true}']);
  });

  test('on stop, stops receiving and lets running jobs finish, then deletes them', async () => {
    // GIVEN a worker with 3 slots busy on 3 of 10 jobs
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 30 });
    const started = tally();
    const done = tally();
    const handler = defineJobHandler<Job>(async (job) => { started.add(job.n); await sleep(500); done.add(job.n); });
    await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send(Array.from({ length: 10 }, (_, n) => ({ n })));
    const worker = work(queueUrl, handler, { concurrency: 3, visibilityTimeoutSeconds: 30 });
    await waitFor('3 jobs to start', () => started.counts.size === 3, 5000, 20);

    // WHEN it is stopped with room to finish
    const report = await worker.stop(10);

    // THEN the 3 finished and were deleted, nothing else was taken, and 7 wait in the queue
    expect(report).toMatchObject({ finished: 3, released: 0, clean: true });
    expect(done.counts.size).toBe(3);
    expect(worker.stats).toMatchObject({ messagesReceived: 3, messagesDeleted: 3 });
    expect(await queueDepth(aws.sqs, queueUrl)).toEqual({ visible: 7, inFlight: 0 });
  });

  test('on stop, releases jobs still running at the bound so another worker takes them at once', async () => {
    // GIVEN a job that runs until its signal aborts, with a long visibility timeout
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 60 });
    let aborted = false;
    const handler = defineJobHandler<Job>((_job, { signal }) => new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => { aborted = true; resolve(); });
    }));
    await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send([{ n: 1 }]);
    const worker = work(queueUrl, handler, { visibilityTimeoutSeconds: 60 });
    await waitFor('the job to start', () => worker.stats.inFlight === 1, 5000, 20);

    // WHEN the worker is stopped with a bound of 1.5 s (past its 1 s long poll)
    const startedAt = Date.now();
    const report = await worker.stop(1.5);

    // THEN it returned within the bound, the job's signal aborted, and its message is visible
    // again now rather than in 60 s; the job's own outcome did not delete it
    expect(Date.now() - startedAt).toBeLessThan(2500);
    expect(report).toMatchObject({ finished: 0, released: 1, clean: false });
    expect(aborted).toBe(true);
    expect(await queueDepth(aws.sqs, queueUrl)).toEqual({ visible: 1, inFlight: 0 });
  });

  test('backs off with jitter while SQS fails, and carries on when it recovers', async () => {
    // GIVEN a queue with a job, behind a proxy that answers every receive with a server error for 2 s
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const proxy = await startFaultProxy(aws.fauxqs.endpoint, (r) => (r.action === 'ReceiveMessage' ? sqsError('ServiceUnavailable', 503, 'try later') : undefined));
    const errors: string[] = [];
    const effects = tally();
    const handler = defineJobHandler<Job>((job) => { effects.add(job.n); });
    try {
      // WHEN a worker polls through it for 2 s, then SQS recovers
      const worker = work(queueUrl, handler, { sqs: viaProxy(proxy), backoffBaseMs: 100, backoffMaxMs: 800 });
      worker.on('sqsError', (e) => errors.push(`${e.name}/${e.kind}`));
      await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send([{ n: 7 }]);
      await sleep(2000);
      const failedReceives = proxy.injected.ReceiveMessage ?? 0;
      proxy.setRule(undefined);
      await waitFor('the job to be done', () => effects.counts.get(7) === 1, 10_000);

      // THEN it made a handful of requests in those 2 s (not hundreds), reported each failure, and then worked
      expect(failedReceives).toBeGreaterThanOrEqual(3);
      expect(failedReceives).toBeLessThanOrEqual(9);
      expect(errors.length).toBeGreaterThanOrEqual(3);
      expect(errors[0]).toBe('SqsRequestError/ReceiveMessage');
      expect(worker.running).toBe(true);
    } finally {
      await proxy.stop();
    }
  });

  test('a queue that does not exist stops the worker with an error saying why, instead of polling it forever', async () => {
    // GIVEN a queue URL whose queue does not exist (a wrong name, account or region)
    const queueUrl = `${aws.fauxqs.endpoint}/000000000000/missing-${randomUUID().slice(0, 8)}`;
    const lines: string[] = [];
    const logger = { info: () => undefined, warn: () => undefined, error: (m: string, f?: Record<string, unknown>) => { lines.push(`${m} ${JSON.stringify(f)}`); } };

    // WHEN a worker starts on it
    const worker = work(queueUrl, defineJobHandler(() => undefined), { backoffBaseMs: 20, backoffMaxMs: 100, logger });
    const fatal = new Promise<WorkerFatalError>((resolve) => worker.once('fatal', resolve));
    const report = await worker.stopped;

    // THEN it stopped by itself after a few receives, with an error naming the queue and the fix
    expect((await fatal).reason).toBe('permanentSqsError');
    expect(report.error).toBeInstanceOf(WorkerFatalError);
    expect(report.error!.message).toMatch(/QueueDoesNotExist|NonExistentQueue/);
    expect(report.error!.message).toContain(queueUrl);
    expect(worker.stats.requests.ReceiveMessage).toBeLessThanOrEqual(4);
    expect(lines.join('\n')).toMatch(/the worker cannot go on and is stopping .*permanentSqsError/);
  });

  test('a queue URL in a region that does not exist stops the worker instead of retrying a name DNS says is not there', async () => {
    // GIVEN a client for a region with no endpoint (`.invalid` never resolves: RFC 2606), as a mistyped region gives
    const sqs = new SQSClient({ endpoint: 'http://sqs.nowhere-9.amazonaws.invalid', region: 'nowhere-9', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
    const queueUrl = 'http://sqs.nowhere-9.amazonaws.invalid/123456789012/jobs';

    // WHEN a worker starts on it
    const worker = work(queueUrl, defineJobHandler(() => undefined), { sqs, backoffBaseMs: 20, backoffMaxMs: 100 });
    const report = await worker.stopped;

    // THEN it stopped by itself after a few receives, naming the DNS failure and what to check
    expect(report.error).toMatchObject({ reason: 'permanentSqsError' });
    expect(report.error!.message).toMatch(/ENOTFOUND.*queue URL and its region/);
    expect(worker.stats.requests.ReceiveMessage).toBeLessThanOrEqual(4);
  });

  test('AccessDenied on receive stops the worker with an error saying so', async () => {
    // GIVEN a queue the role may not receive from (AccessDenied, from a fault proxy: the emulator has no IAM)
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const proxy = await startFaultProxy(aws.fauxqs.endpoint, (r) => (r.action === 'ReceiveMessage' ? sqsError('AccessDenied', 403, 'not authorized to perform: sqs:receivemessage') : undefined));
    try {
      // WHEN a worker starts on it
      const worker = work(queueUrl, defineJobHandler(() => undefined), { sqs: viaProxy(proxy), backoffBaseMs: 20, backoffMaxMs: 100 });
      const report = await worker.stopped;

      // THEN it stopped by itself, saying AccessDenied and what to check
      expect(report.error).toMatchObject({ reason: 'permanentSqsError' });
      expect(report.error!.message).toMatch(/AccessDenied.*role may receive/);
    } finally {
      await proxy.stop();
    }
  });

  test('a throttled delete is retried while heartbeats keep the message hidden, so the job is neither lost nor run twice', async () => {
    // GIVEN a job on a queue with a 1 s visibility timeout, and SQS throttling the first 6
    // DeleteMessageBatch requests (RequestThrottled, a client fault in SDK v3), about 2 s of them
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 1 });
    const proxy = await startFaultProxy(aws.fauxqs.endpoint, failFirst('DeleteMessageBatch', 6, sqsError('RequestThrottled', 403, 'Rate exceeded')));
    const runs = tally();
    const handler = defineJobHandler<Job>((job) => { runs.add(job.n); });
    try {
      await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send([{ n: 1 }]);

      // WHEN a worker runs it
      const worker = work(queueUrl, handler, { sqs: viaProxy(proxy), visibilityTimeoutSeconds: 1, backoffBaseMs: 200, backoffMaxMs: 400 });
      await waitFor('the delete to go through', () => worker.stats.messagesDeleted === 1, 15_000, 20);
      await sleep(1500); // a message given up would be back by now

      // THEN the delete was retried until it succeeded, heartbeats kept the message ours meanwhile,
      // nothing was given up, and the job ran once
      expect(proxy.injected.DeleteMessageBatch).toBe(6);
      expect(worker.stats).toMatchObject({ deletesFailed: 0, messagesDeleted: 1, messagesReceived: 1, jobsSucceeded: 1 });
      expect(worker.stats.requests.ChangeMessageVisibilityBatch).toBeGreaterThanOrEqual(1);
      expect(Object.fromEntries(runs.counts)).toEqual({ 1: 1 });
      expect(await queueDepth(aws.sqs, queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    } finally {
      await proxy.stop();
    }
  });

  test('a delete whose receipt handle is no longer valid is given up at once and counted in deletesFailed', async () => {
    // GIVEN SQS answering the delete with ReceiptHandleIsInvalid for the entry (from a fault proxy)
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 30 });
    const invalid: FaultResponse = {
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({ Successful: [], Failed: [{ Id: '0', SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'The receipt handle has expired.' }] }),
    };
    const proxy = await startFaultProxy(aws.fauxqs.endpoint, failFirst('DeleteMessageBatch', 1, invalid));
    try {
      await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send([{ n: 1 }]);

      // WHEN a worker runs the job
      const worker = work(queueUrl, defineJobHandler(() => undefined), { sqs: viaProxy(proxy) });
      await waitFor('the delete to be given up', () => worker.stats.deletesFailed === 1, 10_000, 20);
      await sleep(300);

      // THEN it was not retried
      expect(proxy.seen.DeleteMessageBatch).toBe(1);
      expect(worker.stats).toMatchObject({ deletesFailed: 1, messagesDeleted: 0 });
    } finally {
      await proxy.stop();
    }
  });

  test('an idle worker keeps one long poll at a time, even after a burst started extra pollers', async () => {
    // GIVEN a worker with up to 5 pollers that just worked through a burst of 200 jobs
    const { queueUrl } = await createQueueWithDlq(aws.sqs);
    const handler = defineJobHandler<Job>(async () => { await sleep(5); });
    await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send(Array.from({ length: 200 }, (_, n) => ({ n })));
    const worker = work(queueUrl, handler, { concurrency: 50, waitTimeSeconds: 1 });
    await waitFor('the burst to be done', () => worker.stats.jobsSucceeded === 200);
    await sleep(1200); // extra pollers retire after one empty receive

    // WHEN it idles for 2 long polls
    const before = await aws.fauxqs.requestCounts(queueName(queueUrl));
    await sleep(2100);
    const after = await aws.fauxqs.requestCounts(queueName(queueUrl));

    // THEN it made about one receive per wait time, not one per poller
    const receives = totalRequests(after, ['ReceiveMessage']) - totalRequests(before, ['ReceiveMessage']);
    expect(receives).toBeGreaterThanOrEqual(2);
    expect(receives).toBeLessThanOrEqual(3);
  });

  test('loses nothing and does nothing twice over 1,000 jobs, with two workers and one stopped midway', async () => {
    // GIVEN 1,000 jobs of random length
    const { queueUrl, deadLetterQueueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 5 });
    const effects = tally();
    const handler = defineJobHandler<Job>(async (job, { jobId }) => { await sleep(job.ms ?? 0); effects.add(jobId); });
    const sent = await new JobClient<Job>({ queueUrl, sqs: aws.sqs }).send(Array.from({ length: 1000 }, (_, n) => ({ n, ms: Math.floor(Math.random() * 40) })));

    // WHEN two workers take them, and one is stopped (draining) a third of the way through
    const a = work(queueUrl, handler, { concurrency: 40, visibilityTimeoutSeconds: 5 });
    const b = work(queueUrl, handler, { concurrency: 40, visibilityTimeoutSeconds: 5 });
    await waitFor('a third of the jobs', () => effects.counts.size >= 333, 20_000, 20);
    const report = await a.stop(5);
    await waitFor('every job', async () => effects.counts.size === 1000 && drained(queueUrl), 30_000);

    // THEN every job id had its effect exactly once and nothing was dead-lettered
    expect(report.clean).toBe(true);
    expect(new Set(sent.map((s) => s.jobId))).toEqual(new Set(effects.counts.keys()));
    expect([...effects.counts.values()].filter((c) => c !== 1)).toEqual([]);
    expect(a.stats.jobsSucceeded + b.stats.jobsSucceeded).toBe(1000);
    expect(await queueDepth(aws.sqs, deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  describe('options', () => {
    const handler = defineJobHandler(() => undefined);

    test('fails when the handler is not made by defineJobHandler, saying how to fix it', () => {
      expect(() => startWorker({ queueUrl: 'http://127.0.0.1:1/q', handler: (async () => undefined) as unknown as JobHandler }))
        .toThrow(/handler must be what defineJobHandler\(\.\.\.\) returns .* received a plain function/);
    });

    test('fails when receiveBatchWindowMs is negative, naming it and the value', () => {
      expect(() => startWorker({ queueUrl: 'http://localhost/1/q', handler, receiveBatchWindowMs: -1 }))
        .toThrow(/receiveBatchWindowMs must be a number of milliseconds, 0 or more, received -1/);
    });

    test('fails when several options are out of range, listing each with the value received', () => {
      let error: unknown;
      try {
        startWorker({ queueUrl: '', handler, concurrency: 0, visibilityTimeoutSeconds: 50_000, waitTimeSeconds: 21 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WorkerOptionsError);
      expect((error as WorkerOptionsError).name).toBe('WorkerOptionsError');
      expect((error as WorkerOptionsError).problems).toEqual([
        expect.stringMatching(/^queueUrl must be the URL of an SQS queue, received ""/),
        expect.stringMatching(/^concurrency must be a whole number from 1 to 10000, received 0/),
        expect.stringMatching(/^visibilityTimeoutSeconds must be .* received 50000/),
        expect.stringMatching(/^waitTimeSeconds must be a whole number from 0 to 20 .* received 21/),
      ]);
    });
  });
});
