/**
 * The worker agent against sqs-consumer 14 at the same number of jobs in flight, on the same
 * emulator (fauxqs 1.9.2, in its own process on 127.0.0.1), with the same jobs: agent
 * concurrency 100 against 10 sqs-consumer instances of batchSize 10, and agent concurrency 10
 * against one instance; jobs of a fixed 20 ms, and long-tailed jobs (5 ms to 1 s, seeded, the
 * same durations for every side), where refilling a slot as each job ends should matter.
 *
 * Each contender runs in its own child process (its CPU time is its own), one run at a time,
 * interleaved: every repetition runs every scenario, the sides' order rotating. Two runs per
 * side and scenario:
 * - throughput: a backlog filled before the consumer starts; jobs/s over the steady part (the
 *   10th to the 90th percentile of delete times), SQS requests per job counted at the emulator
 *   (the sends left out: they are the same JobClient batches for every side), CPU per 1,000 jobs;
 * - latency: a stream of jobs at a fixed rate below every side's capacity; send-to-delete time
 *   of each job (p50, p99, pooled over the repetitions) and requests per job at that load.
 * Also the requests a minute of an idle agent and an idle sqs-consumer, over one minute.
 *
 * Repetitions: at least 2 and at most BENCH_WORKER_AGENT_REPS (default 3), as many as fit in
 * BENCH_WORKER_AGENT_BUDGET_S (default 300; the machine is shared). Other knobs:
 * BENCH_WORKER_AGENT_SCALE (multiplies the seconds of work per run, default 1),
 * BENCH_WORKER_AGENT_IDLE=0 (skip the idle minute).
 */
import * as os from 'os';
import { setTimeout as sleep } from 'timers/promises';
import { startFauxqs, totalRequests, type Fauxqs } from '../test/support/fauxqs';
import { LOCAL_AWS_ENV } from '../local/moto';
import type { BenchGoal, BenchOutcome, BenchSide } from './lib/results';
import { summarize } from './toolchain/timing';
import { ContenderProcess, describe, jobsInFlight, startIdle, type ContenderSpec, type RunReport } from './worker-agent/contenders';
import { createQueue, fillQueue, longTailedDurations, percentile, streamJobs } from './worker-agent/load';

const MAX_REPS = Number(process.env.BENCH_WORKER_AGENT_REPS ?? 3);
const MIN_REPS = Math.min(2, MAX_REPS);
const BUDGET_MS = Number(process.env.BENCH_WORKER_AGENT_BUDGET_S ?? 300) * 1000;
const SCALE = Number(process.env.BENCH_WORKER_AGENT_SCALE ?? 1);
const IDLE_WINDOW_MS = 60_000;
const RUN_LIMIT_MS = 180_000;
const FIXED_MS = 20;
const TAIL = { minMs: 5, maxMs: 1000, seed: 20261130 } as const;
const SEND_ACTIONS = ['SendMessage', 'SendMessageBatch'];
const CONSUMER_ACTIONS = ['ReceiveMessage', 'DeleteMessage', 'DeleteMessageBatch', 'ChangeMessageVisibility', 'ChangeMessageVisibilityBatch'];

type SideKey = 'agent' | 'batch' | 'perMessage' | 'defaults';

interface Scenario {
  readonly key: string;
  readonly label: string;
  /** Job n waits durations[n] ms. */
  readonly durations: readonly number[];
  /** The smallest backlog of a throughput run (enough jobs for a steady middle part). */
  readonly minBacklog: number;
  /**
   * A first guess of the slowest side's jobs/s, for the first repetition's backlog: a quarter of
   * what a quiet machine does, so that a loaded one still finishes in reasonable time. Later
   * repetitions size their backlog and stream from what the previous one measured.
   */
  readonly firstGuess: number;
  readonly sides: Partial<Record<SideKey, ContenderSpec>>;
  /** Sides that run the throughput run only. */
  readonly throughputOnly?: readonly SideKey[];
  /** The fewest jobs in a latency stream (for a p99 worth the name), default 30. */
  readonly minStreamed?: number;
}

/** Seconds of the slowest side's work in a throughput backlog, and in a latency stream. */
const BACKLOG_SECONDS = 2.5 * SCALE;
const STREAM_SECONDS = 3 * SCALE;
/** The stream's rate as a share of the slowest side's measured jobs/s: below every side's capacity. */
const STREAM_SHARE = 0.5;
const MAX_JOBS = 6000;

function scenarios(): Scenario[] {
  const fixed = Array.from({ length: MAX_JOBS }, () => FIXED_MS);
  const tail = longTailedDurations(MAX_JOBS, TAIL.minMs, TAIL.maxMs, TAIL.seed);
  const at100 = {
    agent: { kind: 'agent', concurrency: 100 },
    batch: { kind: 'sqs-consumer', instances: 10, batchSize: 10, batchHandler: true },
    perMessage: { kind: 'sqs-consumer', instances: 10, batchSize: 10, batchHandler: false },
  } as const;
  const at10 = {
    agent: { kind: 'agent', concurrency: 10 },
    batch: { kind: 'sqs-consumer', instances: 1, batchSize: 10, batchHandler: true },
    perMessage: { kind: 'sqs-consumer', instances: 1, batchSize: 10, batchHandler: false },
  } as const;
  return [
    { key: 'fixed-100', label: 'fixed 20 ms, 100 in flight', durations: fixed, minBacklog: 1000, firstGuess: 600, sides: at100 },
    {
      key: 'fixed-10',
      label: 'fixed 20 ms, 10 in flight',
      durations: fixed,
      minBacklog: 200,
      firstGuess: 100,
      sides: { ...at10, defaults: { kind: 'sqs-consumer', instances: 1, batchSize: 1, batchHandler: false } },
      throughputOnly: ['defaults'],
    },
    { key: 'tail-100', label: 'long-tailed, 100 in flight', durations: tail, minBacklog: 600, firstGuess: 150, sides: at100 },
    { key: 'tail-10', label: 'long-tailed, 10 in flight', durations: tail, minBacklog: 150, firstGuess: 15, sides: at10, minStreamed: 50 },
  ];
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(x)));

/** One throughput run's figures. */
interface Throughput { readonly jobsPerSecond: number; readonly drainJobsPerSecond: number; readonly requestsPerJob: number; readonly cpuMsPer1000: number }
/** One latency run's figures. */
interface Latency { readonly latenciesMs: readonly number[]; readonly requestsPerJob: number; readonly cpuMsPer1000: number }

async function consumerRequests(fauxqs: Fauxqs, queue: string): Promise<{ total: number; byAction: Record<string, number> }> {
  const counts = await fauxqs.requestCounts(queue);
  const byAction = Object.fromEntries(Object.entries(counts).filter(([a]) => !SEND_ACTIONS.includes(a)));
  return { total: totalRequests(counts, CONSUMER_ACTIONS), byAction };
}

function check(report: RunReport, what: string): RunReport {
  if (report.error) throw new Error(`${what}: ${report.error}`);
  return report;
}

async function throughputRun(fauxqs: Fauxqs, proc: ContenderProcess, scenario: Scenario, spec: ContenderSpec, backlog: number): Promise<Throughput> {
  const sqs = fauxqs.client();
  // sqs-consumer's defaults do one job at a time: an eighth of the backlog is plenty.
  const jobs = jobsInFlight(spec) === 1 ? Math.max(50, Math.round(backlog / 8)) : backlog;
  const { queueUrl, name } = await createQueue(sqs, `tp-${scenario.key}`);
  await fillQueue(sqs, queueUrl, jobs);
  const run = await proc.run({ endpoint: fauxqs.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, queueUrl, jobs, durationsMs: scenario.durations, contender: spec, limitMs: RUN_LIMIT_MS });
  const report = check(await run.done, `${describe(spec)}, ${scenario.label}, throughput`);
  const requests = await consumerRequests(fauxqs, name);
  const times = [...report.deleteTimes].sort((a, b) => a - b);
  const lo = Math.floor(times.length * 0.1);
  const hi = Math.ceil(times.length * 0.9) - 1;
  return {
    jobsPerSecond: ((hi - lo) * 1000) / Math.max(1, times[hi]! - times[lo]!),
    drainJobsPerSecond: (jobs * 1000) / (times[times.length - 1]! - report.startedAt),
    requestsPerJob: requests.total / jobs,
    cpuMsPer1000: (report.cpuMs * 1000) / jobs,
  };
}

async function latencyRun(fauxqs: Fauxqs, proc: ContenderProcess, scenario: Scenario, spec: ContenderSpec, stream: { rate: number; jobs: number }): Promise<Latency> {
  const sqs = fauxqs.client();
  const { queueUrl, name } = await createQueue(sqs, `lat-${scenario.key}`);
  const run = await proc.run({ endpoint: fauxqs.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, queueUrl, jobs: stream.jobs, durationsMs: scenario.durations, contender: spec, limitMs: RUN_LIMIT_MS });
  await run.started;
  await sleep(300); // its first long polls are waiting
  await streamJobs(sqs, queueUrl, stream.jobs, stream.rate);
  const report = check(await run.done, `${describe(spec)}, ${scenario.label}, latency`);
  const requests = await consumerRequests(fauxqs, name);
  return { latenciesMs: report.latenciesMs, requestsPerJob: requests.total / stream.jobs, cpuMsPer1000: (report.cpuMs * 1000) / stream.jobs };
}

/** Requests an idle contender makes in one minute on an empty queue. */
async function idleRequestsPerMinute(fauxqs: Fauxqs, kind: 'agent' | 'sqs-consumer'): Promise<number> {
  const sqs = fauxqs.client();
  const { queueUrl, name } = await createQueue(sqs, `idle-${kind}`);
  const stop = startIdle(kind, sqs, queueUrl);
  await sleep(1000); // past start-up
  const before = totalRequests(await fauxqs.requestCounts(name), CONSUMER_ACTIONS);
  await sleep(IDLE_WINDOW_MS);
  const after = totalRequests(await fauxqs.requestCounts(name), CONSUMER_ACTIONS);
  await stop();
  return ((after - before) * 60_000) / IDLE_WINDOW_MS;
}

const median = (xs: readonly number[]) => summarize(xs).median;
const r0 = (x: number) => Math.round(x);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r2 = (x: number) => Math.round(x * 100) / 100;

export async function run(): Promise<BenchOutcome> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const startedAt = Date.now();
  let reps = 0;
  const list = scenarios();
  const sideKeys: SideKey[] = ['agent', 'batch', 'perMessage', 'defaults'];
  const fauxqs = await startFauxqs();
  const procs = Object.fromEntries(sideKeys.map((k) => [k, new ContenderProcess()])) as Record<SideKey, ContenderProcess>;
  const tp: Record<string, Throughput[]> = {};
  const lat: Record<string, Latency[]> = {};
  const loadByRep: number[] = [];
  const rates: Record<string, number[]> = {};
  const backlogs: Record<string, number[]> = {};
  try {
    // The idle minute runs alongside, in this process: requests are counted per queue, and the
    // contenders' CPU is measured in their own processes.
    const idle = process.env.BENCH_WORKER_AGENT_IDLE === '0'
      ? Promise.resolve([NaN, NaN])
      : Promise.all([idleRequestsPerMinute(fauxqs, 'agent'), idleRequestsPerMinute(fauxqs, 'sqs-consumer')]);

    // Untimed warm-up: each child loads its code and opens its connections.
    for (const k of sideKeys) await throughputRun(fauxqs, procs[k], list[1]!, list[1]!.sides[k]!, 100);

    const estimate = Object.fromEntries(list.map((s) => [s.key, s.firstGuess])) as Record<string, number>;
    let turn = 0;
    const repsFrom = Date.now();
    for (let rep = 0; rep < MAX_REPS; rep++) {
      // Stop when another repetition (as long as the mean one so far) would overrun the budget.
      if (rep >= MIN_REPS && Date.now() - startedAt + (Date.now() - repsFrom) / rep > BUDGET_MS) break;
      reps = rep + 1;
      for (const s of list) {
        const keys = sideKeys.filter((k) => s.sides[k]);
        const careful = keys.filter((k) => !s.throughputOnly?.includes(k));
        // The same backlog and stream for every side of this round.
        const backlog = clamp(estimate[s.key]! * BACKLOG_SECONDS, s.minBacklog, MAX_JOBS);
        const measured: number[] = [];
        for (const phase of ['throughput', 'latency'] as const) {
          const order = keys.map((_, i) => keys[(i + turn) % keys.length]!);
          turn++;
          const rate = Math.max(5, Math.round(STREAM_SHARE * (measured.length > 0 ? Math.min(...measured) : estimate[s.key]!)));
          const stream = { rate, jobs: clamp(rate * STREAM_SECONDS, s.minStreamed ?? 30, MAX_JOBS) };
          for (const k of order) {
            const spec = s.sides[k]!;
            const id = `${s.key} ${k}`;
            if (phase === 'throughput') {
              const t = await throughputRun(fauxqs, procs[k], s, spec, backlog);
              (tp[id] ??= []).push(t);
              if (careful.includes(k)) measured.push(t.jobsPerSecond);
              console.log(`  rep ${rep + 1} ${s.label}, ${describe(spec)}: ${r0(t.jobsPerSecond)} jobs/s, ${r3(t.requestsPerJob)} req/job, ${r0(t.cpuMsPer1000)} CPU ms/1000 jobs (backlog ${backlog})`);
            } else if (careful.includes(k)) {
              const l = await latencyRun(fauxqs, procs[k], s, spec, stream);
              (lat[id] ??= []).push(l);
              (rates[s.key] ??= []).push(rate);
              console.log(`  rep ${rep + 1} ${s.label}, ${describe(spec)} at ${rate} jobs/s: p50 ${percentile(l.latenciesMs, 50)} ms, p99 ${percentile(l.latenciesMs, 99)} ms, ${r3(l.requestsPerJob)} req/job`);
            }
          }
        }
        estimate[s.key] = Math.min(...measured);
        (backlogs[s.key] ??= []).push(backlog);
      }
      loadByRep.push(r2(os.loadavg()[0]!));
    }
    const [idleAgent, idlePeer] = await idle;
    console.log(`  idle requests per minute: agent ${idleAgent}, sqs-consumer ${idlePeer}`);

    // --- figures ---
    const figuresOf = (k: SideKey): Record<string, number> => {
      const f: Record<string, number> = {};
      for (const s of list) {
        const t = tp[`${s.key} ${k}`];
        if (t) {
          f[`${s.label}: jobs/s`] = r0(median(t.map((x) => x.jobsPerSecond)));
          f[`${s.label}: SQS requests per job`] = r3(median(t.map((x) => x.requestsPerJob)));
          f[`${s.label}: CPU ms per 1,000 jobs`] = r0(median(t.map((x) => x.cpuMsPer1000)));
        }
        const l = lat[`${s.key} ${k}`];
        if (l) {
          const all = l.flatMap((x) => x.latenciesMs);
          f[`${s.label}, stream at half capacity: p50 send to delete (ms)`] = percentile(all, 50);
          f[`${s.label}, stream at half capacity: p99 send to delete (ms)`] = percentile(all, 99);
          f[`${s.label}, stream at half capacity: SQS requests per job`] = r3(median(l.map((x) => x.requestsPerJob)));
          f[`${s.label}, stream at half capacity: CPU ms per 1,000 jobs`] = r0(median(l.map((x) => x.cpuMsPer1000)));
        }
      }
      return f;
    };
    const figs = Object.fromEntries(sideKeys.map((k) => [k, figuresOf(k)])) as Record<SideKey, Record<string, number>>;
    if (!Number.isNaN(idleAgent)) {
      figs.agent['idle: SQS requests per minute'] = idleAgent!;
      figs.batch['idle: SQS requests per minute'] = idlePeer!;
    }
    // Ratio: ours over the better sqs-consumer handler for that figure (higher jobs/s, lower everything else).
    const ratios: Record<string, number> = {};
    const bestPeer = (name: string): number | undefined => {
      const values = [figs.batch[name], figs.perMessage[name]].filter((v): v is number => v !== undefined);
      if (values.length === 0) return undefined;
      return name.endsWith(': jobs/s') ? Math.max(...values) : Math.min(...values);
    };
    for (const name of Object.keys(figs.agent)) {
      const p = bestPeer(name);
      if (p !== undefined && p > 0) ratios[name] = r3(figs.agent[name]! / p);
    }

    // --- goals: at equal jobs in flight, with long-tailed job times ---
    const goals: BenchGoal[] = [];
    const verdicts: string[] = [];
    for (const s of list.filter((x) => x.key.startsWith('tail'))) {
      const jps = `${s.label}: jobs/s`;
      const req = `${s.label}: SQS requests per job`;
      const cpu = `${s.label}: CPU ms per 1,000 jobs`;
      const speedup = ratios[jps]!;
      goals.push({
        goal: `${s.label}: at least 1.5x the jobs/s of sqs-consumer (the better of its two handlers)`,
        measured: `${speedup}x (${figs.agent[jps]} vs ${bestPeer(jps)} jobs/s)`,
        met: speedup >= 1.5,
      });
      const noMore = (name: string, what: string) => {
        const ratio = ratios[name]!;
        const parity = Math.abs(ratio - 1) <= 0.05;
        goals.push({
          goal: `${s.label}: no more ${what} than sqs-consumer's lowest (within 5% counts as parity)`,
          measured: `${ratio}x (${figs.agent[name]} vs ${bestPeer(name)})${parity ? ': parity' : ''}`,
          met: ratio <= 1.05,
        });
      };
      noMore(req, 'SQS requests per job');
      noMore(cpu, 'CPU per job');
      verdicts.push(`${speedup.toFixed(2)}x at ${s.key.endsWith('-100') ? '100' : '10'} in flight`);
    }
    if (!Number.isNaN(idleAgent)) goals.push({ goal: 'an idle agent makes at most 3 requests a minute', measured: `${idleAgent} in one minute`, met: idleAgent! <= 3 });

    const inFlight = (s: Scenario) => (s.key.endsWith('-100') ? '100' : '10');
    const compare = (x: number) => (Math.abs(x - 1) <= 0.1 ? `at parity (${x.toFixed(2)}x)` : x > 1 ? `faster (${x.toFixed(2)}x)` : `slower (${x.toFixed(2)}x)`);
    const fixedWords = list.filter((x) => x.key.startsWith('fixed')).map((s) => `${compare(ratios[`${s.label}: jobs/s`]!)} at ${inFlight(s)} in flight`);
    const costWords = list.filter((x) => x.key.startsWith('tail')).map((s) =>
      `${ratios[`${s.label}: SQS requests per job`]!.toFixed(2)}x the requests and ${ratios[`${s.label}: CPU ms per 1,000 jobs`]!.toFixed(2)}x the CPU per job at ${inFlight(s)} in flight`);
    const side = (k: SideKey, label: string): BenchSide => ({ label, figures: figs[k] });
    return {
      title: 'Worker agent vs sqs-consumer at equal jobs in flight',
      summary:
        `With long-tailed job times, where refilling a slot as each job ends matters, the agent drains a backlog with more jobs/s than sqs-consumer at the same number of jobs in flight (its better handler each time): ${verdicts.join(' and ')}. ` +
        `At full load it makes ${costWords.join(', and ')} of sqs-consumer's lowest${goals.some((g) => !g.met) ? ', so not every goal below is met' : ''}. ` +
        `With every job taking the same 20 ms the agent is ${fixedWords.join(' and ')}: a batch's jobs then end together, and sqs-consumer loses little by waiting for the slowest. ` +
        'Send-to-delete latency and requests per job in a stream below capacity are in the table.' +
        `${loadByRep.some((l) => l > 4) ? ' This run was on a heavily loaded shared machine (load average above 4 on 2 cores), where every side is CPU-bound: absolute jobs/s are low, and with 100 in flight the ratio reflects CPU per job as much as refilling slots.' : ''}`,
      method:
        `fauxqs 1.9.2 (an SQS emulator in its own process on this machine), one fresh queue per run. Each side runs in its own child process, interleaved (the order of sides rotates every round), ${reps} repetitions (as many as fit in ${BUDGET_MS / 1000} s, at least ${MIN_REPS}, at most ${MAX_REPS}). ` +
        `Jobs: a fixed ${FIXED_MS} ms, or long-tailed (log-uniform from ${TAIL.minMs} ms to ${TAIL.maxMs} ms, seed ${TAIL.seed}: median ${percentile(list[2]!.durations, 50)} ms, mean ${r0(list[2]!.durations.reduce((a, b) => a + b, 0) / list[2]!.durations.length)} ms, p99 ${percentile(list[2]!.durations, 99)} ms); job n takes the n-th duration on every side. ` +
        'Throughput: a backlog sent first (JobClient batches of 10), then drained; jobs/s over the steady part of the run (10th to 90th percentile of delete times), SQS requests per job counted at the emulator without the sends (the same for every side), CPU of the consumer process per 1,000 jobs; medians of the repetitions. ' +
        `Latency: a stream of jobs at half the slowest side's jobs/s just measured (the same rate for every side of a round, below each one's capacity); the time from the send to SQS acknowledging the delete, p50 and p99 over all repetitions' jobs. ` +
        `Backlogs (${BACKLOG_SECONDS} s of the slowest side's work, from the previous repetition) and stream rates (${STREAM_SECONDS} s each) per repetition: ${list.map((s) => `${s.label}: ${backlogs[s.key]!.join('/')} jobs, ${[...new Set(rates[s.key])].join('/')} jobs/s`).join('; ')}.`,
      repetitions: reps,
      ours: side('agent', 'agent (concurrency 100 / 10)'),
      peer: side('batch', 'sqs-consumer x10 / x1, batchSize 10, handleMessageBatch'),
      otherPeers: [
        side('perMessage', 'sqs-consumer x10 / x1, batchSize 10, handleMessage'),
        side('defaults', 'sqs-consumer defaults (batchSize 1, 1 job in flight)'),
      ],
      ratioNote: 'ratio: ours / the better sqs-consumer handler',
      ratios,
      goals,
      notes: [
        'Higher is better for jobs/s; lower for requests, CPU and latency. The ratio column divides ours by the better of the two sqs-consumer columns for that row (the higher jobs/s, the fewer requests, the less CPU, the shorter latency), so it never flatters the agent.',
        '"100 in flight": startWorker concurrency 100 (its defaults otherwise: 20 s long polls, up to 10 pollers, 100 ms delete window, idempotency off) against 10 sqs-consumer instances of batchSize 10 in one process sharing one SQS client; "10 in flight": concurrency 10 (the agent\'s default) against one instance.',
        'sqs-consumer 14.2.8 as a careful user sets it: batchSize 10 (its maximum), waitTimeSeconds 20, pollingWaitTimeMs 0. handleMessageBatch deletes a batch in one request once its slowest job ends; handleMessage runs the batch\'s jobs at once and deletes each as it ends (one request per job), and polls again only when the whole batch is done. Its defaults (batchSize 1) are a column of their own, on the fixed 20 ms backlog only, with an eighth of the backlog.',
        'Where the agent\'s requests and CPU per job go at 10 in flight: startWorker\'s defaults give it one poller (maxPollers is ceil(concurrency / 10)) that receives as soon as one slot is free; with job ends spread out (long-tailed) that is close to one receive per job, and with uniform 20 ms jobs its receives are serialized on that one poller and return a few messages each, which is why it is slower than handleMessageBatch there. ' +
          'In a stream below capacity every receive returns what has arrived, for every side; the agent\'s deletes wait up to 100 ms to fill a batch of 10, which adds to its send-to-delete time at low rates.',
        `The idle minute is counted in full (not scaled) on its own queue while the runs go on against other queues of the same emulator${Number.isNaN(idleAgent) ? ' (skipped in this run)' : ''}.`,
        `Shared machine: 2 cores, used by other engineers at the same time; 1-minute load average after each repetition: ${loadByRep.join(', ')}. The emulator, the producer and the consumer share those cores; absolute jobs/s move with the load, the interleaved ratios much less.`,
      ],
    };
  } finally {
    await Promise.all(sideKeys.map((k) => procs[k].close()));
    await fauxqs.stop();
  }
}
