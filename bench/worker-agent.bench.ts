/**
 * The worker agent against sqs-consumer 14, on the same emulator (fauxqs 1.9.2, in its own
 * process on 127.0.0.1), with the same jobs: a fixed 20 ms each, or long-tailed (5 ms to 1 s,
 * seeded: job n takes the same time on every side).
 *
 * Two comparisons, from the same runs:
 * - the frontier: SQS requests and CPU per job against jobs/s, for settings of each side (agent
 *   concurrency and receive/delete windows; sqs-consumer instances of batchSize 10). At the
 *   throughput sqs-consumer's best setting reaches, does some setting of the agent make no more
 *   requests and use no more CPU per job (within 10%)?
 * - equal jobs in flight (10 and 100): jobs/s, and the time from a job's send to its handler's
 *   end in a stream below every side's capacity.
 *
 * Each contender runs in its own child process (its CPU time is its own: every thread of it),
 * bundled as FleetWorker bundles an agent program; one run at a time, interleaved: every
 * repetition runs every setting, the order rotating. A throughput run drains a backlog filled
 * before the consumer starts: jobs/s over the steady part (10th to 90th percentile of delete
 * times), the drain rate (jobs over the time from the consumer's start to its last delete),
 * SQS requests per job counted at the emulator (the sends left out: the same JobClient batches
 * for every side) and CPU per 1,000 jobs. A latency run streams jobs at half the slowest side's
 * jobs/s of that round. Also the requests a minute of an idle agent and an idle sqs-consumer.
 *
 * Knobs: BENCH_WORKER_AGENT_REPS (default 8; at least 2 run), BENCH_WORKER_AGENT_BUDGET_S
 * (default 3000: no repetition starts that would end past it), BENCH_WORKER_AGENT_SCALE
 * (multiplies the seconds of work per run, default 1), BENCH_WORKER_AGENT_IDLE=0 (skip the idle minute).
 */
import * as os from 'os';
import { setTimeout as sleep } from 'timers/promises';
import { LOCAL_AWS_ENV } from '../local/moto';
import { startFauxqs, totalRequests, type Fauxqs } from '../test/support/fauxqs';
import type { BenchGoal, BenchOutcome, BenchSide, BenchTable } from './lib/results';
import { median, spread } from './lib/stats';
import { ContenderProcess, bundleChild, describe, jobsInFlight, startIdle, type ContenderSpec, type RunReport } from './worker-agent/contenders';
import { createQueue, fillQueue, longTailedDurations, percentile, streamJobs } from './worker-agent/load';

const MAX_REPS = Math.max(2, Number(process.env.BENCH_WORKER_AGENT_REPS ?? 8));
const MIN_REPS = 2;
const BUDGET_MS = Number(process.env.BENCH_WORKER_AGENT_BUDGET_S ?? 3000) * 1000;
const SCALE = Number(process.env.BENCH_WORKER_AGENT_SCALE ?? 1);
const IDLE_WINDOW_MS = 60_000;
const RUN_LIMIT_MS = 180_000;
const FIXED_MS = 20;
const TAIL = { minMs: 5, maxMs: 1000, seed: 20261130 } as const;
const SEND_ACTIONS = ['SendMessage', 'SendMessageBatch'];
const CONSUMER_ACTIONS = ['ReceiveMessage', 'DeleteMessage', 'DeleteMessageBatch', 'ChangeMessageVisibility', 'ChangeMessageVisibilityBatch'];
/** The one meaning of parity in this benchmark: within 10% either way. */
const PARITY = 0.1;
/** The long-tailed lead at equal jobs in flight. */
const TAIL_LEAD = 1.5;
/**
 * Seconds of a setting's own work in a throughput backlog: 150 fixed jobs' time, and 8 times the
 * longest long-tailed job. With 3 s of long-tailed work (drains of 200 to 1,500 jobs) the ramp up
 * and the last second-long jobs were a third of each run, and one setting's CPU per job varied
 * 0.96x to 1.77x from repetition to repetition (docs/decisions.md, "Worker agent: long-tailed drains
 * of 8 s").
 */
const BACKLOG_SECONDS = { fixed: 3 * SCALE, tail: 8 * SCALE } as const;
/** Seconds of a latency stream. */
const STREAM_SECONDS = 3 * SCALE;
/** The stream's rate as a share of the slowest side's jobs/s in that round: below every side's capacity. */
const STREAM_SHARE = 0.5;
const MAX_JOBS = 8000;
/** The warm-up of each setting's process before the repetitions: this many seconds of its own work, up to WARMUP_JOBS jobs. */
const WARMUP_SECONDS = 8 * SCALE;
const WARMUP_JOBS = 24_000;
/** The worker program's job threads: one per CPU (runWorkerFromEnv's default). */
const PROGRAM_THREADS = os.availableParallelism();

type Kind = 'fixed' | 'tail';
const KINDS: readonly Kind[] = ['fixed', 'tail'];
const KIND_LABEL: Record<Kind, string> = { fixed: `fixed ${FIXED_MS} ms`, tail: 'long-tailed' };

/** The sides of the equal-jobs-in-flight table. */
type Side = 'agent' | 'program' | 'batch' | 'perMessage' | 'defaults';

/** One setting of one contender: a point of its curve. */
interface Point {
  readonly key: string;
  readonly spec: ContenderSpec;
  /** Its column in the equal-jobs-in-flight table, if it has one, and the jobs in flight of that row. */
  readonly side?: Side;
  /** Runs on these kinds only. @default both */
  readonly kinds?: readonly Kind[];
  /** Streamed for latency too (the equal-jobs-in-flight sides). */
  readonly latency?: boolean;
}

const agent = (concurrency: number, extra: Partial<Extract<ContenderSpec, { kind: 'agent' }>> = {}): ContenderSpec => ({ kind: 'agent', concurrency, ...extra });
const consumer = (instances: number, batchHandler = true, batchSize = 10): ContenderSpec => ({ kind: 'sqs-consumer', instances, batchSize, batchHandler });

/**
 * Every setting run. sqs-consumer: batchSize 10 (its maximum) with 1 to 10 instances in one
 * process (it runs one batch at a time per instance), handleMessageBatch (its fewest requests) or
 * handleMessage, and its defaults. The agent: startWorker at its defaults with concurrency 10 to
 * 100, with longer receive and delete windows, and as the worker program runs it (job threads).
 */
const POINTS: readonly Point[] = [
  { key: 'A10', spec: agent(10), side: 'agent', latency: true },
  { key: 'T10', spec: agent(10, { jobThreads: PROGRAM_THREADS }), side: 'program', latency: true },
  { key: 'B1', spec: consumer(1), side: 'batch', latency: true },
  { key: 'P1', spec: consumer(1, false), side: 'perMessage', latency: true },
  { key: 'D1', spec: consumer(1, false, 1), side: 'defaults', kinds: ['fixed'] },
  { key: 'A100', spec: agent(100), side: 'agent', latency: true },
  { key: 'T100', spec: agent(100, { jobThreads: PROGRAM_THREADS }), side: 'program', latency: true },
  { key: 'B10', spec: consumer(10), side: 'batch', latency: true },
  { key: 'P10', spec: consumer(10, false), side: 'perMessage', latency: true },
  // The rest of the curves.
  { key: 'B2', spec: consumer(2) },
  { key: 'B5', spec: consumer(5) },
  { key: 'A20', spec: agent(20) },
  { key: 'A50', spec: agent(50) },
  // Around the default (concurrency 10, both windows 100 ms): the knee of the agent's curve.
  { key: 'A10r0', spec: agent(10, { receiveBatchWindowMs: 0 }) },
  { key: 'A10d', spec: agent(10, { deleteBatchWindowMs: 1000 }) },
  { key: 'A10w', spec: agent(10, { receiveBatchWindowMs: 250, deleteBatchWindowMs: 1000 }) },
  { key: 'A20w', spec: agent(20, { receiveBatchWindowMs: 500, deleteBatchWindowMs: 1000 }) },
];

const isAgent = (p: Point) => p.spec.kind === 'agent';
/** sqs-consumer with handleMessageBatch and batchSize 10: its frontier (the fewest requests and CPU per job of its settings). */
const isPeerFrontier = (p: Point) => p.spec.kind === 'sqs-consumer' && p.spec.batchHandler && p.spec.batchSize === 10;

/** One throughput run's figures. */
interface Throughput { readonly jobsPerSecond: number; readonly drainJobsPerSecond: number; readonly requestsPerJob: number; readonly cpuMsPer1000: number; readonly faultsPer1000: number; readonly jobs: number }
/** One latency run's figures. */
interface Latency { readonly doneMs: readonly number[]; readonly deleteMs: readonly number[]; readonly requestsPerJob: number; readonly cpuMsPer1000: number; readonly rate: number }

async function consumerRequests(fauxqs: Fauxqs, queue: string): Promise<number> {
  const counts = await fauxqs.requestCounts(queue);
  return totalRequests(Object.fromEntries(Object.entries(counts).filter(([a]) => !SEND_ACTIONS.includes(a))), CONSUMER_ACTIONS);
}

function check(report: RunReport, what: string): RunReport {
  if (report.error) throw new Error(`${what}: ${report.error}`);
  return report;
}

async function throughputRun(fauxqs: Fauxqs, proc: ContenderProcess, spec: ContenderSpec, durations: readonly number[], jobs: number, what: string): Promise<Throughput> {
  const sqs = fauxqs.client();
  const { queueUrl, name } = await createQueue(sqs, 'tp');
  await fillQueue(sqs, queueUrl, jobs, durations);
  const run = await proc.run({ endpoint: fauxqs.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, queueUrl, jobs, contender: spec, limitMs: RUN_LIMIT_MS });
  const report = check(await run.done, what);
  const requests = await consumerRequests(fauxqs, name);
  const times = [...report.deleteTimes].sort((a, b) => a - b);
  const lo = Math.floor(times.length * 0.1);
  const hi = Math.ceil(times.length * 0.9) - 1;
  return {
    jobsPerSecond: ((hi - lo) * 1000) / Math.max(1, times[hi]! - times[lo]!),
    drainJobsPerSecond: (jobs * 1000) / Math.max(1, times[times.length - 1]! - report.startedAt),
    requestsPerJob: requests / jobs,
    cpuMsPer1000: (report.cpuMs * 1000) / jobs,
    faultsPer1000: (report.minorFaults * 1000) / jobs,
    jobs,
  };
}

async function latencyRun(fauxqs: Fauxqs, proc: ContenderProcess, spec: ContenderSpec, durations: readonly number[], stream: { rate: number; jobs: number }, what: string): Promise<Latency> {
  const sqs = fauxqs.client();
  const { queueUrl, name } = await createQueue(sqs, 'lat');
  const run = await proc.run({ endpoint: fauxqs.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, queueUrl, jobs: stream.jobs, contender: spec, limitMs: RUN_LIMIT_MS });
  await run.started;
  await sleep(300); // its first long polls are waiting
  await streamJobs(sqs, queueUrl, stream.jobs, stream.rate, durations);
  const report = check(await run.done, what);
  const requests = await consumerRequests(fauxqs, name);
  return { doneMs: report.doneLatenciesMs, deleteMs: report.latenciesMs, requestsPerJob: requests / stream.jobs, cpuMsPer1000: (report.cpuMs * 1000) / stream.jobs, rate: stream.rate };
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

const r0 = (x: number) => Math.round(x);
const r2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(x)));
const times = (x: number) => `${x.toFixed(2)}x`;

/** A first guess of a setting's jobs/s, for the first repetition's backlog (later ones use what was measured). */
function firstGuess(kind: Kind, spec: ContenderSpec): number {
  const inFlight = jobsInFlight(spec);
  // A fixed 20 ms job: up to 50 jobs/s per slot; long-tailed (mean 188 ms): about 4 for the
  // agent, which refills a slot as its job ends, and 1.5 for sqs-consumer, which waits for a batch's slowest.
  const perSlot = kind === 'fixed' ? 15 : spec.kind === 'agent' ? 4 : 1.5;
  return Math.max(5, inFlight * perSlot * 0.5);
}

/** The smallest backlog of a throughput run: enough jobs for a steady middle part. */
function minBacklog(kind: Kind, spec: ContenderSpec): number {
  return Math.min(kind === 'fixed' ? 600 : 200, Math.max(60, jobsInFlight(spec) * 60));
}

export async function run(): Promise<BenchOutcome> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const startedAt = Date.now();
  bundleChild();
  const durations: Record<Kind, readonly number[]> = {
    fixed: Array.from({ length: MAX_JOBS }, () => FIXED_MS),
    tail: longTailedDurations(MAX_JOBS, TAIL.minMs, TAIL.maxMs, TAIL.seed),
  };
  const fauxqs = await startFauxqs();
  // One long-lived process per setting: a setting's code and connections stay warm between its runs.
  const procs = new Map(POINTS.map((p) => [p.key, new ContenderProcess()]));
  const tp: Record<string, Throughput[]> = {};
  const lat: Record<string, Latency[]> = {};
  const estimate: Record<string, number> = {};
  const warmup: Record<string, { jobs: number; cpuMsPer1000: number }> = {};
  const orders: string[] = [];
  const loadByRep: number[] = [];
  let reps = 0;
  try {
    const idle = process.env.BENCH_WORKER_AGENT_IDLE === '0'
      ? Promise.resolve([NaN, NaN])
      : Promise.all([idleRequestsPerMinute(fauxqs, 'agent'), idleRequestsPerMinute(fauxqs, 'sqs-consumer')]);

    // Untimed warm-up, the same for every setting: each child loads its code, starts its threads and
    // opens its connections (a first small drain), then runs WARMUP_SECONDS of its own work (up to
    // WARMUP_JOBS jobs), so that the repetitions measure a warm process, as a fleet's long-lived
    // workers run. Measured here: a fresh process's CPU per job fell for some 20,000 jobs (V8
    // compiling the hot code on its own threads, which count in the process's CPU) before it held.
    for (const p of POINTS) {
      const proc = procs.get(p.key)!;
      const first = await throughputRun(fauxqs, proc, p.spec, durations.fixed, Math.max(50, jobsInFlight(p.spec) * 3), `${describe(p.spec)}, warm-up`);
      let left = clamp(first.jobsPerSecond * WARMUP_SECONDS, 0, WARMUP_JOBS);
      const warm: Throughput[] = [first];
      while (left > 0) {
        const jobs = Math.min(MAX_JOBS, Math.max(left, minBacklog('fixed', p.spec)));
        warm.push(await throughputRun(fauxqs, proc, p.spec, durations.fixed, jobs, `${describe(p.spec)}, warm-up`));
        left -= jobs;
      }
      const jobs = warm.reduce((a, t) => a + t.jobs, 0);
      warmup[p.key] = { jobs, cpuMsPer1000: warm.reduce((a, t) => a + t.cpuMsPer1000 * t.jobs, 0) / jobs };
      estimate[`fixed ${p.key}`] = warm[warm.length - 1]!.jobsPerSecond;
      console.log(`  warm-up, ${describe(p.spec)}: ${jobs} jobs, ${r0(warmup[p.key]!.cpuMsPer1000)} CPU ms/1000 jobs, last ${r0(estimate[`fixed ${p.key}`]!)} jobs/s`);
    }

    const repsFrom = Date.now();
    let turn = 0;
    for (let rep = 0; rep < MAX_REPS; rep++) {
      if (rep >= MIN_REPS && Date.now() - startedAt + (Date.now() - repsFrom) / rep > BUDGET_MS) break;
      reps = rep + 1;
      for (const kind of KINDS) {
        const points = POINTS.filter((p) => !p.kinds || p.kinds.includes(kind));
        // Throughput: every setting, in an order that rotates every round.
        // Settings of the same jobs in flight run next to each other (those are compared with each
        // other), the order rotating within each group and the groups' order rotating too.
        const groups = [...new Set(points.map((p) => jobsInFlight(p.spec) === 1 ? 10 : jobsInFlight(p.spec)))].map((n) => points.filter((p) => (jobsInFlight(p.spec) === 1 ? 10 : jobsInFlight(p.spec)) === n));
        const rotate = <T>(xs: readonly T[], by: number) => xs.map((_, i) => xs[(i + by) % xs.length]!);
        const order = rotate(groups, turn).flatMap((g) => rotate(g, turn));
        turn++;
        orders.push(`rep ${rep + 1}, ${KIND_LABEL[kind]} throughput: ${order.map((p) => p.key).join(' ')}`);
        for (const p of order) {
          const id = `${kind} ${p.key}`;
          const jobs = clamp((estimate[id] ?? firstGuess(kind, p.spec)) * BACKLOG_SECONDS[kind], minBacklog(kind, p.spec), MAX_JOBS);
          const t = await throughputRun(fauxqs, procs.get(p.key)!, p.spec, durations[kind], jobs, `${describe(p.spec)}, ${KIND_LABEL[kind]}, throughput`);
          (tp[id] ??= []).push(t);
          estimate[id] = t.jobsPerSecond;
          console.log(`  rep ${rep + 1} ${KIND_LABEL[kind]}, ${describe(p.spec)}: ${r0(t.jobsPerSecond)} jobs/s (drain ${r0(t.drainJobsPerSecond)}), ${r3(t.requestsPerJob)} req/job, ${r0(t.cpuMsPer1000)} CPU ms/1000 jobs, ${r0(t.faultsPer1000)} page faults/1000 jobs (${jobs} jobs)`);
        }
        // Latency: the equal-jobs-in-flight sides, at half the slowest one's jobs/s of this round.
        for (const inFlight of [10, 100]) {
          const group = points.filter((p) => p.latency && jobsInFlight(p.spec) === inFlight);
          const rate = Math.max(5, Math.round(STREAM_SHARE * Math.min(...group.map((p) => estimate[`${kind} ${p.key}`]!))));
          const stream = { rate, jobs: clamp(rate * STREAM_SECONDS, 50, MAX_JOBS) };
          const lorder = group.map((_, i) => group[(i + turn) % group.length]!);
          turn++;
          orders.push(`rep ${rep + 1}, ${KIND_LABEL[kind]} stream at ${inFlight} in flight: ${lorder.map((p) => p.key).join(' ')}`);
          for (const p of lorder) {
            const l = await latencyRun(fauxqs, procs.get(p.key)!, p.spec, durations[kind], stream, `${describe(p.spec)}, ${KIND_LABEL[kind]}, latency`);
            (lat[`${kind} ${p.key}`] ??= []).push(l);
            console.log(`  rep ${rep + 1} ${KIND_LABEL[kind]} stream ${rate} jobs/s, ${describe(p.spec)}: send to done p50 ${percentile(l.doneMs, 50)} ms, p99 ${percentile(l.doneMs, 99)} ms; to delete p99 ${percentile(l.deleteMs, 99)} ms`);
          }
        }
      }
      loadByRep.push(r2(os.loadavg()[0]!));
    }
    const [idleAgent, idlePeer] = await idle;
    console.log(`  idle requests per minute: agent ${idleAgent}, sqs-consumer ${idlePeer}`);

    // --- per setting: medians over the repetitions ---
    const med = (kind: Kind, key: string, f: (t: Throughput) => number) => median(tp[`${kind} ${key}`]!.map(f));
    const jps = (kind: Kind, key: string) => med(kind, key, (t) => t.jobsPerSecond);
    const rpj = (kind: Kind, key: string) => med(kind, key, (t) => t.requestsPerJob);
    const cpu = (kind: Kind, key: string) => med(kind, key, (t) => t.cpuMsPer1000);
    const faults = (kind: Kind, key: string) => med(kind, key, (t) => t.faultsPer1000);
    const label = (key: string) => describe(POINTS.find((p) => p.key === key)!.spec);
    const pointsOf = (kind: Kind) => POINTS.filter((p) => !p.kinds || p.kinds.includes(kind));

    // --- the frontier ---
    const goals: BenchGoal[] = [];
    const frontierWords: string[] = [];
    const tables: BenchTable[] = [];
    const frontierNotes: string[] = [];
    for (const kind of KINDS) {
      const peers = pointsOf(kind).filter(isPeerFrontier);
      const best = peers.reduce((a, b) => (jps(kind, b.key) > jps(kind, a.key) ? b : a));
      const x = jps(kind, best.key);
      const reaches = (p: Point, target: Point) =>
        jps(kind, p.key) >= (1 - PARITY) * jps(kind, target.key) && rpj(kind, p.key) <= (1 + PARITY) * rpj(kind, target.key) && cpu(kind, p.key) <= (1 + PARITY) * cpu(kind, target.key);
      const agents = pointsOf(kind).filter(isAgent);
      const winners = agents.filter((p) => reaches(p, best));
      const closest = [...agents].filter((p) => jps(kind, p.key) >= (1 - PARITY) * x)
        .sort((a, b) => Math.max(rpj(kind, a.key) / rpj(kind, best.key), cpu(kind, a.key) / cpu(kind, best.key)) - Math.max(rpj(kind, b.key) / rpj(kind, best.key), cpu(kind, b.key) / cpu(kind, best.key)))[0];
      const shown = winners[0] ?? closest;
      // What the spread allows: the same ratios repetition by repetition (the two ran in the same round).
      const perRep = (p: Point, f: (t: Throughput) => number) => {
        const xs = tp[`${kind} ${p.key}`]!.map((t, i) => [f(t), f(tp[`${kind} ${best.key}`]![i]!)] as const).filter(([, of]) => of > 0).map(([v, of]) => v / of);
        return xs.length > 0 ? `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}x` : '-';
      };
      goals.push({
        goal: `${KIND_LABEL[kind]}: at the jobs/s of sqs-consumer's best setting (${label(best.key)}, ${r0(x)} jobs/s), some setting of the agent makes no more SQS requests and uses no more CPU per job (parity: within ${PARITY * 100}%)`,
        measured: shown
          ? `${winners.length > 0 ? `yes: ${winners.map((p) => label(p.key)).join('; ')}` : `no; closest ${label(shown.key)}`}: ${r0(jps(kind, shown.key))} jobs/s, ${times(rpj(kind, shown.key) / rpj(kind, best.key))} the requests and ${times(cpu(kind, shown.key) / cpu(kind, best.key))} the CPU per job (${r3(rpj(kind, shown.key))} vs ${r3(rpj(kind, best.key))}; ${r0(cpu(kind, shown.key))} vs ${r0(cpu(kind, best.key))} CPU ms per 1,000 jobs, with ${r0(faults(kind, shown.key))} vs ${r0(faults(kind, best.key))} page faults; repetition by repetition: jobs/s ${perRep(shown, (t) => t.jobsPerSecond)}, CPU ${perRep(shown, (t) => t.cpuMsPer1000)}, page faults ${perRep(shown, (t) => t.faultsPer1000)})`
          : `no agent setting reached ${r0((1 - PARITY) * x)} jobs/s`,
        met: winners.length > 0,
      });
      frontierWords.push(`${KIND_LABEL[kind]}: ${winners.length > 0 ? `reached by ${winners.map((p) => label(p.key)).join('; ')}` : 'not reached'}`);
      // Each point of sqs-consumer's curve, not only its best: which agent setting does as well or better?
      for (const peer of peers) {
        const match = agents.filter((p) => reaches(p, peer)).map((p) => p.key);
        frontierNotes.push(`${KIND_LABEL[kind]}, ${label(peer.key)} (${r0(jps(kind, peer.key))} jobs/s, ${r3(rpj(kind, peer.key))} req/job, ${r0(cpu(kind, peer.key))} CPU ms/1000): ${match.length > 0 ? `matched or beaten by ${match.join(', ')}` : 'no agent setting matches it'}`);
      }
      const row = (p: Point) => {
        const s = spread(tp[`${kind} ${p.key}`]!.map((t) => t.jobsPerSecond));
        return [
          `${p.key}: ${label(p.key)}`, jobsInFlight(p.spec), r0(s.median), `${r0(s.min)}-${r0(s.max)}`, r0(med(kind, p.key, (t) => t.drainJobsPerSecond)),
          r3(rpj(kind, p.key)), r0(cpu(kind, p.key)), r0(faults(kind, p.key)), kind === 'fixed' ? `${r0(warmup[p.key]!.cpuMsPer1000)} (${warmup[p.key]!.jobs})` : '-',
          isAgent(p) ? (winners.includes(p) ? `yes: reaches ${best.key}` : agents.includes(p) && peers.some((q) => reaches(p, q)) ? `reaches ${peers.filter((q) => reaches(p, q)).map((q) => q.key).join(', ')}` : '-') : isPeerFrontier(p) ? (p === best ? 'best setting' : 'frontier') : 'off the frontier',
        ];
      };
      const sorted = (ps: readonly Point[]) => [...ps].sort((a, b) => jps(kind, a.key) - jps(kind, b.key));
      tables.push({
        caption: `**Curves, ${KIND_LABEL[kind]} jobs**: SQS requests and CPU per job against jobs/s, every setting (medians of ${reps} backlog drains each; jobs/s over the steady part, its lowest-highest, and the drain rate from start to last delete). sqs-consumer first, then the agent, each by jobs/s.`,
        header: ['setting', 'jobs in flight', 'jobs/s', 'jobs/s lowest-highest', 'drain jobs/s', 'SQS requests per job', 'CPU ms per 1,000 jobs', 'page faults per 1,000 jobs', 'warm-up: CPU ms per 1,000 jobs from a fresh process (its jobs)', 'against sqs-consumer\'s frontier (within 10%)'],
        rows: [...sorted(pointsOf(kind).filter((p) => !isAgent(p))), ...sorted(pointsOf(kind).filter(isAgent))].map(row),
      });
    }

    // --- equal jobs in flight ---
    const sideFigures: Record<Side, Record<string, number>> = { agent: {}, program: {}, batch: {}, perMessage: {}, defaults: {} };
    for (const kind of KINDS) {
      for (const p of pointsOf(kind).filter((q) => q.side)) {
        const f = sideFigures[p.side!];
        // sqs-consumer's defaults (one job in flight) share the rows of 10 in flight: their column says so.
        const base = `${KIND_LABEL[kind]}, ${jobsInFlight(p.spec) <= 10 ? '10' : '100'} in flight`;
        f[`${base}: jobs/s`] = r0(jps(kind, p.key));
        f[`${base}: drain jobs/s (start to last delete)`] = r0(med(kind, p.key, (t) => t.drainJobsPerSecond));
        f[`${base}: SQS requests per job`] = r3(rpj(kind, p.key));
        f[`${base}: CPU ms per 1,000 jobs`] = r0(cpu(kind, p.key));
        const l = lat[`${kind} ${p.key}`];
        if (l) {
          // Each repetition's percentile, then their median: one disturbed repetition does not make the p99 of all.
          const per = (f2: (x: Latency) => readonly number[], p: number) => r0(median(l.map((x) => percentile(f2(x), p))));
          f[`${base}, stream at half capacity: p50 send to done (ms)`] = per((x) => x.doneMs, 50);
          f[`${base}, stream at half capacity: p99 send to done (ms)`] = per((x) => x.doneMs, 99);
          f[`${base}, stream at half capacity: p99 send to delete (ms)`] = per((x) => x.deleteMs, 99);
          f[`${base}, stream at half capacity: SQS requests per job`] = r3(median(l.map((x) => x.requestsPerJob)));
        }
      }
    }
    const [idleA, idleP] = [idleAgent!, idlePeer!];
    if (!Number.isNaN(idleA)) {
      sideFigures.agent['idle: SQS requests per minute'] = idleA;
      sideFigures.batch['idle: SQS requests per minute'] = idleP;
    }
    // Ratio: ours over the better sqs-consumer handler for that figure (higher jobs/s, lower everything else).
    const better = (name: string): number | undefined => {
      const values = [sideFigures.batch[name], sideFigures.perMessage[name]].filter((v): v is number => v !== undefined);
      if (values.length === 0) return undefined;
      return name.includes('jobs/s') ? Math.max(...values) : Math.min(...values);
    };
    const ratios: Record<string, number> = {};
    for (const name of Object.keys(sideFigures.agent)) {
      const p = better(name);
      if (p !== undefined && p > 0) ratios[name] = r3(sideFigures.agent[name]! / p);
    }

    const leadWords: string[] = [];
    for (const kind of KINDS) {
      for (const inFlight of ['10', '100']) {
        const base = `${KIND_LABEL[kind]}, ${inFlight} in flight`;
        const speed = ratios[`${base}: jobs/s`]!;
        const p99 = ratios[`${base}, stream at half capacity: p99 send to done (ms)`]!;
        if (kind === 'tail') {
          goals.push({ goal: `${base}: at least ${TAIL_LEAD}x the jobs/s of sqs-consumer's better handler`, measured: `${times(speed)} (${sideFigures.agent[`${base}: jobs/s`]} vs ${better(`${base}: jobs/s`)} jobs/s)`, met: speed >= TAIL_LEAD });
        } else {
          goals.push({ goal: `${base}: no fewer jobs/s than sqs-consumer's better handler (parity: within ${PARITY * 100}%)`, measured: `${times(speed)} (${sideFigures.agent[`${base}: jobs/s`]} vs ${better(`${base}: jobs/s`)} jobs/s)`, met: speed >= 1 - PARITY });
        }
        goals.push({
          goal: `${base}, stream at half capacity: p99 from send to done no longer than sqs-consumer's better handler's (parity: within ${PARITY * 100}%)`,
          measured: `${times(p99)} (${sideFigures.agent[`${base}, stream at half capacity: p99 send to done (ms)`]} vs ${better(`${base}, stream at half capacity: p99 send to done (ms)`)} ms)`,
          met: p99 <= 1 + PARITY,
        });
        leadWords.push(`${times(speed)} at ${inFlight} in flight with ${KIND_LABEL[kind]} jobs`);
      }
    }
    if (!Number.isNaN(idleA)) goals.push({ goal: 'an idle agent makes at most 3 requests a minute', measured: `${idleA} in one minute`, met: idleA <= 3 });

    const side = (k: Side, text: string): BenchSide => ({ label: text, figures: sideFigures[k] });
    const missed = goals.filter((g) => !g.met);
    const tailMean = r0(durations.tail.reduce((a, b) => a + b, 0) / durations.tail.length);
    return {
      title: 'Worker agent vs sqs-consumer: the frontier (requests and CPU per job against jobs/s), and equal jobs in flight',
      summary:
        `At the throughput of sqs-consumer's best setting, ${frontierWords.join('; ')} (requests and CPU per job within ${PARITY * 100}%). ` +
        `At equal jobs in flight the agent (startWorker at its defaults) has ${leadWords.join(', ')} of the jobs/s of sqs-consumer's better handler; ` +
        'each setting drains its backlog at the drain rate shown. ' +
        (missed.length > 0 ? `${missed.length} of ${goals.length} goals are missed: ${missed.map((g) => g.goal.split(':')[0]).join('; ')}.` : `All ${goals.length} goals are met.`),
      method:
        `fauxqs 1.9.2 (an SQS emulator in its own process on this machine), one fresh queue per run. Every setting runs in its own long-lived child process, bundled with the catalog's agent esbuild options (one ES module) as FleetWorker bundles an agent program, so its CPU time (every thread) is its own. ` +
        `Jobs: a fixed ${FIXED_MS} ms, or long-tailed (log-uniform from ${TAIL.minMs} ms to ${TAIL.maxMs} ms, seed ${TAIL.seed}: median ${percentile(durations.tail, 50)} ms, mean ${tailMean} ms, p99 ${percentile(durations.tail, 99)} ms); each job's body carries its duration, and job n takes the same time on every side. ` +
        `Throughput: a backlog sent first (JobClient batches of 10; ${BACKLOG_SECONDS.fixed} s of that setting's work with fixed jobs and ${BACKLOG_SECONDS.tail} s with long-tailed ones (${BACKLOG_SECONDS.tail / (TAIL.maxMs / 1000)} times the longest job, so that ramping up and the last long jobs are a small part of the run), as measured in the previous repetition, at least 600 fixed or 200 long-tailed jobs, 60 for one job in flight), then drained; jobs/s over the steady part (10th to 90th percentile of delete times); the drain rate over the whole run from the consumer's start; SQS requests per job counted at the emulator without the sends (the same for every side); CPU of the consumer's process per 1,000 jobs, and its minor page faults per 1,000 jobs (memory it touched fresh: on this machine's VM each costs some 11 to 15 us of CPU, counted in its CPU, where bare metal takes a fraction of a microsecond); medians of the repetitions. ` +
        `Warm-up, untimed and the same for every setting, before the repetitions: a small drain (its code loaded, its connections open), then ${WARMUP_SECONDS} s of its own work in fixed jobs (up to ${WARMUP_JOBS.toLocaleString('en-US')} jobs), so that the repetitions measure warm processes, as a fleet's long-lived workers are; the curves of fixed jobs show each setting's CPU per job over its warm-up too (from a fresh process: what a worker that just started pays). ` +
        `Latency: a stream of jobs at half the slowest equal-jobs-in-flight side's jobs/s in that round (the same rate for each side of a round), ${STREAM_SECONDS} s long (at least 50 jobs): send to done (the handler returned: what a user waits for) p50 and p99, and send to delete p99, each the median of the repetitions' own. ` +
        'The agent is startWorker as a user calls it (its defaults, handlers on its event loop), except the rows "as the worker program runs it": job threads, one per CPU, as runWorkerFromEnv (what a FleetWorker instance runs) turns them on by default. ' +
        'sqs-consumer 14.2.8 as a careful user sets it: waitTimeSeconds 20, pollingWaitTimeMs 0, batchSize 10, with as many instances in one process (sharing one SQS client) as give the jobs in flight; its defaults (batchSize 1) are a column of their own. ' +
        `Parity means within ${PARITY * 100}% either way, everywhere in this section.`,
      repetitions: reps,
      order: `every setting in its own process, one run at a time, interleaved: in each repetition every setting drains a backlog, settings of the same jobs in flight next to each other (the order rotating within those groups and the groups' order rotating, every round), then the equal-jobs-in-flight sides stream, rotating too. The orders: ${orders.join('; ')}.`,
      ours: side('agent', 'agent: startWorker (concurrency 10 / 100)'),
      peer: side('batch', 'sqs-consumer x1 / x10, batchSize 10, handleMessageBatch'),
      otherPeers: [
        side('perMessage', 'sqs-consumer x1 / x10, batchSize 10, handleMessage'),
        side('program', `agent as the worker program runs it (${PROGRAM_THREADS} job threads)`),
        side('defaults', 'sqs-consumer defaults (batchSize 1, one job in flight)'),
      ],
      ratioNote: 'ratio: startWorker / the better sqs-consumer handler',
      ratios,
      tables,
      goals,
      notes: [
        'Higher is better for jobs/s; lower for requests, CPU and latency. The ratio column divides startWorker\'s figure by the better of the two sqs-consumer columns for that row (the higher jobs/s, the fewer requests, the less CPU, the shorter latency), so it never flatters the agent.',
        `"Reaches" in the curves: jobs/s at least ${100 - PARITY * 100}% of that sqs-consumer setting's, and requests and CPU per job at most ${100 + PARITY * 100}% of its. sqs-consumer's best setting is its setting with handleMessageBatch and batchSize 10 (its fewest requests and CPU per job) that drains fastest. Every point of its curve, checked the same way: ${frontierNotes.join('; ')}.`,
        'Why the frontier and not equal slots for requests and CPU: at equal jobs in flight the agent refills each slot as its job ends and sqs-consumer waits for its whole batch, so the agent runs more jobs per second in the same slots and makes smaller receives to do it. Both libraries trade requests for throughput with their settings (sqs-consumer with instances, the agent with concurrency and its receive and delete windows), so the fair question is the cost per job at the same throughput.',
        'The agent\'s windows: a free slot waits up to receiveBatchWindowMs for others before a receive fills them together (a receive goes at once when it can ask for 10); a finished job\'s delete waits up to deleteBatchWindowMs for others to share a DeleteMessageBatch (its slot is free at once). At concurrency of 100 every receive asks for 10 anyway.',
        'The job-thread rows ("as the worker program runs it") pay for handing each job to a thread and its result back: more CPU per job for jobs that only wait, which is what this benchmark\'s jobs do; they are what keeps heartbeats on time when a handler computes.',
        `The idle minute is counted in full (not scaled) on its own queue while the runs go on against other queues of the same emulator${Number.isNaN(idleA) ? ' (skipped in this run)' : ''}.`,
        `Shared machine: 2 cores, used by other engineers at the same time; 1-minute load average after each repetition: ${loadByRep.join(', ')}. The emulator, the producer and the consumer share those cores; absolute jobs/s move with the load, the interleaved ratios much less.`,
      ],
    };
  } finally {
    await Promise.all([...procs.values()].map((p) => p.close()));
    await fauxqs.stop();
  }
}
