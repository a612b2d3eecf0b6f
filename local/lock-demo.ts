/**
 * The report demo of the local cloud. Every deployed reports table that declares it
 * (contracts/locks.ts: REPORT_DEMO_WORKLOAD, as LockStack does) gets {@link DEMO_REPORT_JOBS}
 * report jobs for one day at once, as a schedule firing twice and a manual run would send them.
 * The deployed worker takes the lock for each in turn and writes the day's report under the
 * lock's fencing token. "Done, one at a time" is: the lock's token went up by one per job (each
 * job held it once), the stored report carries the latest token and names one of the demo's jobs,
 * the lock is free again, and nothing is left in the queue or dead-lettered.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { FENCING_TOKEN_ATTRIBUTE, REPORT_DEMO_WORKLOAD } from '../contracts/locks';
import { JobClient } from '../runtime/jobs/job-client';
import { LockClient } from '../runtime/locks/client';
import type { DemoKind, RunningDemo } from './demo';
import type { Inventory } from './inventory';

/** Report jobs sent to each stack that takes the report demo (LockStack). */
export const DEMO_REPORT_JOBS = 5;

/** A stack that takes the report demo. */
export interface ReportDemoTarget {
  readonly stackName: string;
  readonly reportsTable: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly lockTableName: string;
  readonly lockName: string;
}

/** The stacks of `inventory` that take the report demo, found by their declarations. */
export function reportDemoTargets(inventory: Inventory): ReportDemoTarget[] {
  return inventory.declarations(REPORT_DEMO_WORKLOAD).map((d) => ({
    stackName: d.stackName,
    reportsTable: d.physicalId,
    queueUrl: d.declaration.queueUrl,
    deadLetterQueueUrl: d.declaration.deadLetterQueueUrl,
    lockTableName: d.declaration.lockTableName,
    lockName: d.declaration.lockName,
  }));
}

/** Report jobs sent to one target. */
export interface ReportDemoRun {
  readonly target: ReportDemoTarget;
  /** The day every job reports on (`YYYY-MM-DD`). */
  readonly day: string;
  /** The job ids of the jobs sent. */
  readonly jobIds: readonly string[];
  /** The lock's fencing token before they were sent: each job that takes the lock raises it by one. */
  readonly tokenBefore: number;
  /** Epoch ms when they were sent. */
  readonly sentAt: number;
}

/** What the demo reads and writes with. */
export interface ReportDemoClients {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
}

/**
 * Sends `count` report jobs for today (UTC) to `target` at once. The lock's token is read first;
 * a lock never taken has none, so the demo takes and releases it once to learn it.
 */
export async function sendReportJobs(target: ReportDemoTarget, clients: ReportDemoClients, count: number): Promise<ReportDemoRun> {
  const locks = new LockClient({ tableName: target.lockTableName, dynamodb: clients.dynamodb });
  const tokenBefore = (await locks.inspect(target.lockName)).token ?? await locks.withLock(target.lockName, (lock) => lock.token);
  const sentAt = Date.now();
  const day = new Date(sentAt).toISOString().slice(0, 10);
  const sent = await new JobClient<{ day: string }>({ queueUrl: target.queueUrl, sqs: clients.sqs }).send(Array.from({ length: count }, () => ({ day })));
  return { target, day, jobIds: sent.map((s) => s.jobId), tokenBefore, sentAt };
}

/** How far a report demo is. */
export interface ReportDemoStatus {
  /** Jobs that took the lock and finished (at most the jobs sent). */
  readonly done: number;
  /** How many times the lock was taken since the jobs were sent. */
  readonly acquisitions: number;
  /** The lock's latest fencing token. */
  readonly token?: number;
  /** True while someone holds the lock. */
  readonly held: boolean;
  /** The stored report's fencing token and the job that built it, once there is one. */
  readonly report?: { readonly token?: number; readonly builtBy?: string };
  /** Messages still in the queue (waiting or in flight). */
  readonly queued: number;
  /** Messages in the dead-letter queue. */
  readonly deadLettered: number;
}

async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const a = (await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: queueUrl,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
  }))).Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
}

/** Reads the lock, the day's report and the queues of `run`. */
export async function reportDemoStatus(run: ReportDemoRun, clients: ReportDemoClients): Promise<ReportDemoStatus> {
  const { target } = run;
  const [lock, item, queued, deadLettered] = await Promise.all([
    new LockClient({ tableName: target.lockTableName, dynamodb: clients.dynamodb }).inspect(target.lockName),
    clients.dynamodb.send(new GetItemCommand({ TableName: target.reportsTable, Key: { id: { S: run.day } }, ConsistentRead: true })).then((o) => o.Item),
    depth(clients.sqs, target.queueUrl),
    depth(clients.sqs, target.deadLetterQueueUrl),
  ]);
  const acquisitions = lock.token === undefined ? 0 : lock.token - run.tokenBefore;
  const report = item === undefined ? undefined : {
    ...(item[FENCING_TOKEN_ATTRIBUTE]?.N !== undefined ? { token: Number(item[FENCING_TOKEN_ATTRIBUTE].N) } : {}),
    ...(item.builtBy?.S !== undefined ? { builtBy: item.builtBy.S } : {}),
  };
  // The latest holder is finished once it released the lock after writing under its token.
  const latestFinished = !lock.held && report?.token === lock.token;
  const done = Math.max(0, Math.min(run.jobIds.length, acquisitions - (latestFinished ? 0 : 1)));
  return { done, acquisitions, ...(lock.token !== undefined ? { token: lock.token } : {}), held: lock.held, ...(report ? { report } : {}), queued, deadLettered };
}

/** What is wrong with a finished report demo: empty when the jobs took the lock in turn and the report is the latest holder's. */
export function reportDemoProblems(run: ReportDemoRun, status: ReportDemoStatus): string[] {
  const { target } = run;
  const name = target.stackName;
  const sent = run.jobIds.length;
  const problems: string[] = [];
  if (status.acquisitions < sent) {
    problems.push(`${name}: ${sent} report jobs were sent, but lock ${target.lockName} was taken ${status.acquisitions} times since (token ${run.tokenBefore} -> ${status.token ?? 'none'})`);
  }
  if (status.held) problems.push(`${name}: lock ${target.lockName} is still held`);
  if (status.report === undefined) problems.push(`${name}: no report for ${run.day} in ${target.reportsTable}`);
  else {
    if (status.report.token !== status.token) {
      problems.push(`${name}: the report for ${run.day} carries fencing token ${status.report.token ?? 'none'}, the lock's latest is ${status.token ?? 'none'}: the latest holder did not write it`);
    }
    if (status.report.builtBy === undefined || !run.jobIds.includes(status.report.builtBy)) {
      problems.push(`${name}: the report for ${run.day} was built by ${status.report.builtBy ?? 'no job'}, not by one of the demo's jobs`);
    }
  }
  if (status.queued > 0) problems.push(`${name}: ${status.queued} report jobs are still in the queue`);
  if (status.deadLettered > 0) problems.push(`${name}: ${status.deadLettered} jobs in the dead-letter queue`);
  return problems;
}

/** The report jobs of `run`, as a {@link RunningDemo}. */
export function reportDemo(run: ReportDemoRun, clients: ReportDemoClients): RunningDemo {
  const { target } = run;
  return {
    stackName: target.stackName,
    kind: 'reports',
    total: run.jobIds.length,
    progress: async () => ({ done: (await reportDemoStatus(run, clients)).done }),
    problems: async () => reportDemoProblems(run, await reportDemoStatus(run, clients)),
    howToUse: (endpoint, env) => [
      `Build a report in ${target.stackName} (its worker takes lock ${target.lockName}, one job at a time):`,
      `  ${env} \\`,
      `    aws --endpoint-url ${endpoint} sqs send-message --queue-url ${target.queueUrl} --message-body '{"day":"${run.day}"}'`,
      `  The lock and its fencing token: aws --endpoint-url ${endpoint} dynamodb get-item --consistent-read --table-name ${target.lockTableName} --key '{"name":{"S":"${target.lockName}"}}'`,
      `  Reports: aws --endpoint-url ${endpoint} dynamodb scan --table-name ${target.reportsTable}`,
    ],
  };
}

/** {@link DEMO_REPORT_JOBS} report jobs for one day to every stack that declares the report demo, once its worker runs. */
export const reportDemos: DemoKind = (inventory, setup) => reportDemoTargets(inventory).map((target) => ({
  stackName: target.stackName,
  ready: (workloads) => workloads.some((w) => w.queueUrl === target.queueUrl),
  async start() {
    const run = await sendReportJobs(target, setup.clients, DEMO_REPORT_JOBS);
    setup.print(`Demo: sent ${run.jobIds.length} report jobs for ${run.day} at once to ${target.stackName}: each must take lock ${target.lockName} in turn (token ${run.tokenBefore} -> ${run.tokenBefore + run.jobIds.length}).`);
    return reportDemo(run, setup.clients);
  },
}));
