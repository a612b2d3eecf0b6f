/**
 * The demo jobs of the local cloud. Every deployed results table that declares the demo
 * (contracts/work-queue.ts: DEMO_JOBS_WORKLOAD, as WorkQueueStack and FleetWorkerStack do) gets a few dozen
 * jobs of the demo handler (`{ text, rounds }`), plus one that always fails (`fail: true`) to
 * show partial batch failures and retries. The results table says what was done: the demo
 * handler creates a job's item with `doneCount = 1` (a conditional write: the effect is applied
 * once) and adds 1 to `reruns` when a job runs again after a worker died between its effect and
 * the record of its end. "Done exactly once" is `doneCount == 1` for every good job and no item
 * for the failing one.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DEMO_JOBS_WORKLOAD } from '../contracts/work-queue';
import { JobClient } from '../runtime/jobs/job-client';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Inventory } from './inventory';
import type { Workload } from './workloads/types';

/** A demo job, as lambda/work-queue/demo-job.ts takes it. */
export interface DemoJob {
  readonly text: string;
  readonly rounds: number;
  readonly fail?: boolean;
}

/** A stack that takes demo jobs. */
export interface DemoTarget {
  readonly stackName: string;
  readonly queueUrl: string;
  readonly resultsTable: string;
  readonly deadLetterQueueUrl?: string;
}

/** The stacks of `inventory` that take demo jobs, found by their declarations. */
export function demoTargets(inventory: Inventory): DemoTarget[] {
  return inventory.declarations(DEMO_JOBS_WORKLOAD).map((d) => ({
    stackName: d.stackName,
    queueUrl: d.declaration.queueUrl,
    resultsTable: d.physicalId,
    deadLetterQueueUrl: d.declaration.deadLetterQueueUrl,
  }));
}

/**
 * A demo under way in one stack, as the local cloud shows, waits for and checks it: demo jobs
 * sent to a queue (here), or files uploaded to a bucket (local/upload-demo.ts).
 */
export interface RunningDemo {
  readonly stackName: string;
  /** What it sends: jobs to a queue, files to a bucket, or report jobs that take a lock in turn (local/lock-demo.ts). */
  readonly kind: 'jobs' | 'uploads' | 'reports';
  /** How many items must be done. */
  readonly total: number;
  /** The demo's own items done so far (the progress line counts every job done, whoever sent it). */
  progress(): Promise<{ readonly done: number }>;
  /** What is wrong once it should have finished: empty when every item was done exactly once. */
  problems(): Promise<string[]>;
  /** Lines that tell a user how to do more of it by hand; `env` sets the embedded AWS's credentials and region. */
  howToUse(endpoint: string, env: string): string[];
}

/** What a demo is sent with. */
export interface DemoSetup {
  readonly clients: { readonly sqs: SQSClient; readonly s3: S3Client; readonly dynamodb: DynamoDBClient };
  /** Good demo jobs per stack (0: no demo is sent). */
  readonly jobs: number;
  /** Also send a job that always fails. */
  readonly failingJob: boolean;
  /** Says what was sent. */
  readonly print: (line: string) => void;
}

/** A demo for one stack, to send once what it needs runs. */
export interface DemoPlan {
  readonly stackName: string;
  /** True once `workloads` (those started so far) run what the demo needs: the worker of its queue. */
  ready(workloads: readonly Workload[]): boolean;
  /** Sends it (and says so); resolves once it is under way. */
  start(): Promise<RunningDemo>;
}

/**
 * A kind of demo: the plans for the deployed stacks that declare it (none when none does). The
 * local cloud lists the kinds it sends (local/demos.ts: DEMO_KINDS) and starts each plan as soon
 * as it is ready, without waiting for another stack.
 */
export type DemoKind = (inventory: Inventory, setup: DemoSetup) => DemoPlan[];

/**
 * Starts each demo plan as soon as the workloads started so far make it ready (the worker of its
 * queue runs), without waiting for the other stacks' workloads.
 */
export class DemoStarter {
  private readonly waiting: DemoPlan[];
  private readonly sending: Promise<void>[] = [];
  private unsent: number;

  constructor(plans: readonly DemoPlan[], private readonly onSent: (demo: RunningDemo) => void) {
    this.waiting = [...plans];
    this.unsent = plans.length;
  }

  /** True once every plan was sent. */
  get allSent(): boolean {
    return this.unsent === 0;
  }

  /** Hears that workloads started (`all`: every one running now) and starts the plans that are ready. */
  workloadsStarted(all: readonly Workload[]): void {
    for (const plan of this.waiting.filter((p) => p.ready(all))) {
      this.waiting.splice(this.waiting.indexOf(plan), 1);
      this.sending.push(plan.start().then((demo) => {
        this.unsent--;
        this.onSent(demo);
      }));
    }
  }

  /** Resolves once every plan started so far was sent; rejects with the first that failed to send. */
  async sent(): Promise<void> {
    await Promise.all(this.sending);
  }
}

/** Demo jobs (and one that always fails) to every stack that declares its results table as the demo's. */
export const jobDemos: DemoKind = (inventory, setup) => demoTargets(inventory).map((target) => ({
  stackName: target.stackName,
  ready: (workloads) => workloads.some((w) => w.queueUrl === target.queueUrl),
  async start() {
    const run = await sendDemoJobs(target, setup.clients.sqs, setup.jobs, setup.failingJob);
    setup.print(`Demo: sent ${setup.jobs} jobs${setup.failingJob ? ' and 1 that always fails' : ''} to ${target.stackName}.`);
    return jobDemo(run, setup.clients.dynamodb);
  },
}));

/** The demo jobs of `run`, as a {@link RunningDemo}. */
export function jobDemo(run: DemoRun, dynamodb: DynamoDBClient): RunningDemo {
  return {
    stackName: run.target.stackName,
    kind: 'jobs',
    total: run.good.length,
    progress: async () => demoStatus(run, dynamodb),
    problems: async () => demoProblems(run, await demoStatus(run, dynamodb)),
    howToUse: (endpoint, env) => [
      `Send more jobs to ${run.target.stackName}:`,
      `  ${env} \\`,
      `    aws --endpoint-url ${endpoint} sqs send-message --queue-url ${run.target.queueUrl} --message-body '{"text":"hello","rounds":1000}'`,
      `  or from TypeScript (cdk-cloud-patterns/runtime), with the same variables and AWS_ENDPOINT_URL=${endpoint}:`,
      `    await new JobClient({ queueUrl: '${run.target.queueUrl}' }).send([{ text: 'hello', rounds: 1000 }]);`,
      `  Results: aws --endpoint-url ${endpoint} dynamodb scan --table-name ${run.target.resultsTable}`,
    ],
  };
}

/** Jobs sent to one target. */
export interface DemoRun {
  readonly target: DemoTarget;
  /** Job ids of the jobs that should be done once each. */
  readonly good: readonly string[];
  /** Job id of the job that always fails, when one was sent. */
  readonly failing?: string;
  /** Epoch ms when they were sent. */
  readonly sentAt: number;
}

/**
 * Sends `count` good jobs (and one failing job, when `failingJob`) to `target`, each hashing
 * `rounds` times (2,000: a few milliseconds; 100,000, the most: a good fraction of a second).
 */
export async function sendDemoJobs(target: DemoTarget, sqs: SQSClient, count: number, failingJob: boolean, rounds = 2_000): Promise<DemoRun> {
  const jobs: DemoJob[] = Array.from({ length: count }, (_, i) => ({ text: `demo job ${i + 1} of ${count}`, rounds }));
  if (failingJob) jobs.push({ text: 'the demo job that always fails', rounds: 1, fail: true });
  const sentAt = Date.now();
  const sent = await new JobClient<DemoJob>({ queueUrl: target.queueUrl, sqs }).send(jobs);
  return {
    target,
    good: sent.slice(0, count).map((s) => s.jobId),
    ...(failingJob ? { failing: sent[count]!.jobId } : {}),
    sentAt,
  };
}

/** How far a demo run is, from the results table. */
export interface DemoStatus {
  /** Good jobs with a result. */
  readonly done: number;
  /** Every job with a result, including jobs the user sent. */
  readonly doneAll: number;
  /** Good jobs whose effect was applied more than once: jobId -> doneCount. */
  readonly duplicates: ReadonlyMap<string, number>;
  /** Good jobs that ran again (and found their effect already applied): jobId -> reruns. */
  readonly reruns: ReadonlyMap<string, number>;
  /** Good jobs without a result yet. */
  readonly missing: readonly string[];
  /** True when the failing job has a result (it never should). */
  readonly failingDone: boolean;
}

/** Reads the results table of `run`. */
export async function demoStatus(run: DemoRun, dynamodb: DynamoDBClient): Promise<DemoStatus> {
  const counts = new Map<string, number>();
  const rerunCounts = new Map<string, number>();
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({
      TableName: run.target.resultsTable,
      ProjectionExpression: 'jobId, doneCount, reruns',
      ExclusiveStartKey: start,
    }));
    for (const item of page.Items ?? []) {
      if (item.jobId?.S) counts.set(item.jobId.S, Number(item.doneCount?.N ?? 0));
      if (item.jobId?.S && item.reruns?.N) rerunCounts.set(item.jobId.S, Number(item.reruns.N));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  const duplicates = new Map<string, number>();
  const reruns = new Map([...rerunCounts].filter(([id]) => run.good.includes(id)));
  const missing: string[] = [];
  let done = 0;
  for (const id of run.good) {
    const n = counts.get(id) ?? 0;
    if (n === 0) missing.push(id);
    else done++;
    if (n > 1) duplicates.set(id, n);
  }
  const doneAll = [...counts.values()].filter((n) => n > 0).length;
  return { done, doneAll, duplicates, reruns, missing, failingDone: run.failing !== undefined && (counts.get(run.failing) ?? 0) > 0 };
}

/** What is wrong with a finished demo run: empty when every good job was done exactly once. */
export function demoProblems(run: DemoRun, status: DemoStatus): string[] {
  const problems: string[] = [];
  const name = run.target.stackName;
  if (status.missing.length > 0) {
    problems.push(`${name}: ${status.missing.length} of ${run.good.length} demo jobs were not done: ${status.missing.slice(0, 5).join(', ')}${status.missing.length > 5 ? ', ...' : ''}`);
  }
  for (const [id, n] of status.duplicates) problems.push(`${name}: demo job ${id} was applied ${n} times, not once`);
  if (status.failingDone) problems.push(`${name}: the job that always fails (${run.failing}) has a result`);
  return problems;
}
