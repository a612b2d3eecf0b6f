/**
 * The worker agent against sqs-consumer 14 on the same emulator queue (fauxqs, in its own
 * process on 127.0.0.1), with the same job (20 ms of simulated I/O), 10,000 jobs each, in one run:
 * jobs per second, and SQS requests per job counted at the emulator (the 10,000 sends included).
 * Also the requests a minute of an idle agent (and of an idle sqs-consumer), over one minute.
 *
 * sqs-consumer is given batchSize 10 (its maximum) and no delay between polls, with a per-message
 * and a per-batch handler; the faster is its figure. It has no concurrency setting (one poll,
 * one batch at a time); several Consumer instances in one process are reported in the notes.
 */
import { setTimeout as sleep } from 'timers/promises';
import { startFauxqs, totalRequests, type Fauxqs } from '../test/support/fauxqs';
import type { BenchOutcome, BenchSide } from './lib/results';
import { runAgent, runSqsConsumer, startIdle, type ConsumerSetup, type ContenderRun } from './worker-agent/contenders';
import { createQueue, fillQueue } from './worker-agent/load';

const JOBS = 10_000;
const AGENT_CONCURRENCY = 100;
const IDLE_WINDOW_MS = 60_000;
const SQS_ACTIONS = ['SendMessage', 'SendMessageBatch', 'ReceiveMessage', 'DeleteMessage', 'DeleteMessageBatch', 'ChangeMessageVisibility', 'ChangeMessageVisibilityBatch'];

interface Measured {
  readonly label: string;
  readonly jobsPerSecond: number;
  readonly requestsPerJob: number;
  readonly seconds: number;
  readonly requests: Record<string, number>;
}

async function measure(fauxqs: Fauxqs, label: string, run: (queueUrl: string) => Promise<ContenderRun>): Promise<Measured> {
  const sqs = fauxqs.client();
  const { queueUrl, name } = await createQueue(sqs, label.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
  await fillQueue(sqs, queueUrl, JOBS);
  const result = await run(queueUrl);
  if (result.handled !== JOBS) throw new Error(`${label}: handled ${result.handled} of ${JOBS} jobs`);
  const counts = await fauxqs.requestCounts(name);
  const requests = Object.fromEntries(Object.entries(counts).filter(([a]) => SQS_ACTIONS.includes(a)));
  const measured: Measured = {
    label,
    jobsPerSecond: Math.round((JOBS / result.ms) * 1000),
    requestsPerJob: totalRequests(requests) / JOBS,
    seconds: result.ms / 1000,
    requests,
  };
  console.log(`  ${label}: ${measured.jobsPerSecond} jobs/s, ${measured.requestsPerJob.toFixed(3)} requests/job ${JSON.stringify(requests)}`);
  return measured;
}

/** Requests an idle contender makes in one minute on an empty queue. */
async function idleRequestsPerMinute(fauxqs: Fauxqs, kind: 'agent' | 'sqs-consumer'): Promise<number> {
  const sqs = fauxqs.client();
  const { queueUrl, name } = await createQueue(sqs, `idle-${kind}`);
  const stop = startIdle(kind, sqs, queueUrl);
  await sleep(1000); // past start-up
  const before = totalRequests(await fauxqs.requestCounts(name), SQS_ACTIONS);
  await sleep(IDLE_WINDOW_MS);
  const after = totalRequests(await fauxqs.requestCounts(name), SQS_ACTIONS);
  await stop();
  return ((after - before) * 60_000) / IDLE_WINDOW_MS;
}

function side(m: Measured, idle: number): BenchSide {
  return {
    label: m.label,
    figures: {
      'jobs per second': m.jobsPerSecond,
      'SQS requests per job (sends included)': Number(m.requestsPerJob.toFixed(3)),
      'seconds for 10,000 jobs': Number(m.seconds.toFixed(2)),
      'ReceiveMessage requests': m.requests.ReceiveMessage ?? 0,
      'delete requests': (m.requests.DeleteMessage ?? 0) + (m.requests.DeleteMessageBatch ?? 0),
      'idle requests per minute': idle,
    },
  };
}

export async function run(): Promise<BenchOutcome> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const fauxqs = await startFauxqs();
  try {
    // The idle minute runs alongside the throughput runs: requests are counted per queue, and
    // an idle long poll costs no CPU.
    const idle = Promise.all([idleRequestsPerMinute(fauxqs, 'agent'), idleRequestsPerMinute(fauxqs, 'sqs-consumer')]);

    const setups: ConsumerSetup[] = [
      { label: 'sqs-consumer, batchSize 10, handleMessage', batchSize: 10, batchHandler: false, instances: 1 },
      { label: 'sqs-consumer, batchSize 10, handleMessageBatch', batchSize: 10, batchHandler: true, instances: 1 },
    ];
    const peers: Measured[] = [];
    for (const setup of setups) peers.push(await measure(fauxqs, setup.label, (q) => runSqsConsumer(fauxqs.client(), q, JOBS, setup)));
    const tenInstances: ConsumerSetup = { label: 'sqs-consumer x10 instances, batchSize 10, handleMessageBatch', batchSize: 10, batchHandler: true, instances: 10 };
    const peerMany = await measure(fauxqs, tenInstances.label, (q) => runSqsConsumer(fauxqs.client(), q, JOBS, tenInstances));
    const ours = await measure(fauxqs, `agent, concurrency ${AGENT_CONCURRENCY}`, (q) => runAgent(fauxqs.client(), q, JOBS, AGENT_CONCURRENCY));
    const ours10 = await measure(fauxqs, 'agent, concurrency 10', (q) => runAgent(fauxqs.client(), q, JOBS, 10));
    const [idleAgent, idlePeer] = await idle;
    console.log(`  idle requests per minute: agent ${idleAgent}, sqs-consumer ${idlePeer}`);

    const peer = peers.reduce((best, m) => (m.jobsPerSecond > best.jobsPerSecond ? m : best));
    const speedup = ours.jobsPerSecond / peer.jobsPerSecond;
    const r = (n: number) => Number(n.toFixed(3));
    return {
      title: 'Worker agent vs sqs-consumer: 10,000 jobs of 20 ms I/O on one queue',
      method:
        `Each side drains its own queue of ${JOBS.toLocaleString('en-US')} jobs (sent with JobClient in batches of 10) on fauxqs 1.9.2, ` +
        'an SQS emulator in a separate process on the same machine; the job waits 20 ms (setTimeout). jobs/s is from start to the last job handled; ' +
        'SQS requests are counted at the emulator per queue, sends included. Idle: requests an idle agent (and sqs-consumer) makes on an empty queue in one minute.',
      ours: side(ours, idleAgent),
      peer: side(peer, idlePeer),
      ratios: {
        'jobs per second': r(speedup),
        'SQS requests per job (sends included)': r(ours.requestsPerJob / peer.requestsPerJob),
        'seconds for 10,000 jobs': r(ours.seconds / peer.seconds),
      },
      goals: [
        { goal: 'at least 3x the jobs per second of sqs-consumer at its best batch settings', measured: `${r(speedup)}x (${ours.jobsPerSecond} vs ${peer.jobsPerSecond} jobs/s)`, met: speedup >= 3 },
        { goal: 'at most 0.35 SQS requests per job at full load (sends included)', measured: r(ours.requestsPerJob).toString(), met: ours.requestsPerJob <= 0.35 },
        { goal: 'an idle agent makes at most 3 requests a minute', measured: `${idleAgent} in one minute`, met: idleAgent <= 3 },
      ],
      notes: [
        'Higher is better for jobs per second; lower is better for requests per job, seconds and idle requests.',
        `Agent: startWorker with concurrency ${AGENT_CONCURRENCY}, defaults otherwise (20 s long polls, up to 10 pollers, 100 ms delete window), idempotency off. ` +
          `At concurrency 10 (one batch's worth, like sqs-consumer) it did ${ours10.jobsPerSecond} jobs/s at ${r(ours10.requestsPerJob)} requests/job.`,
        `sqs-consumer 14.2.8, waitTimeSeconds 20, pollingWaitTimeMs 0: ${peers.map((p) => `${p.label}: ${p.jobsPerSecond} jobs/s, ${r(p.requestsPerJob)} requests/job`).join('; ')}. ` +
          'The faster is the peer column. It runs one batch at a time by design and has no concurrency option.',
        `Not a library setting, but what a user could do instead: ${tenInstances.label}: ${peerMany.jobsPerSecond} jobs/s, ${r(peerMany.requestsPerJob)} requests/job ` +
          `(the agent is ${r(ours.jobsPerSecond / peerMany.jobsPerSecond)}x that).`,
        'The floor with batching is 0.3 requests per job (a tenth each for send, receive and delete). Sends are the same JobClient batches for every side.',
        'The idle minute was measured in full (not scaled), while the throughput runs went on against other queues of the same emulator.',
        'Both sides, the emulator and the idle contenders share the machine\'s 2 cores. Not measured here: on SQS, a receive or delete takes milliseconds to tens of milliseconds, which a one-batch-at-a-time consumer pays on every batch and the agent overlaps with running jobs.',
      ],
    };
  } finally {
    await fauxqs.stop();
  }
}
