/**
 * What a workload kind of the local cloud is (a file in local/workloads/) and what it gets to
 * start with. The registry (index.ts) lists the kinds; the kinds import only this file, so no
 * kind depends on the registry that imports it.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { WorkloadKindContract } from '../../contracts/workload';
import type { Inventory } from '../inventory';

/** The SDK client settings of the embedded AWS. */
export interface LocalClientConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

/** What a kind gets to start its workloads with. */
export interface WorkloadContext {
  /** The embedded AWS, as AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  /** A folder for this run's files (code packages, built runtimes). */
  readonly workDir: string;
  /** Where the workloads' own output goes, like CloudWatch Logs: one file per function or group. */
  readonly logDir: string;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly lambda: LambdaClient;
  /** Needed only for FleetWorker groups. */
  readonly autoscaling?: AutoScalingClient;
  /**
   * The settings of every client of the embedded AWS (endpoint, region, dummy credentials), for a
   * kind that needs a client not given here: `new XClient(context.clientConfig)`.
   */
  readonly clientConfig: LocalClientConfig;
  /** A line for the user (warnings, restarts). */
  readonly note: (line: string) => void;
  /** Also echo every log line of the workloads to the console. */
  readonly echoLogs: boolean;
}

/** Numbers a workload reports for the progress line. */
export interface WorkloadStats {
  /** Processes it runs now (sandboxes, agents). */
  readonly processes: number;
  /** Messages it finished (deleted from the queue). */
  readonly done: number;
  /** Messages that failed and stay in the queue for a retry. */
  readonly failed: number;
  /** Processes that died while working (killed, crashed, timed out); their work comes back. */
  readonly crashed: number;
}

/** Something running locally for a deployed resource. */
export interface Workload {
  /** One line: what runs, fed by what, with the deployed settings it honours. */
  readonly title: string;
  readonly stackName: string;
  /** Logical ids of the deployed resources it runs (in `stackName`). */
  readonly resources: readonly string[];
  /** The queue it takes work from, when it does. */
  readonly queueUrl?: string;
  stats(): WorkloadStats;
  /** Pids of its processes now. */
  pids(): number[];
  /** Pids of its processes that are (or may be) working now: kill one to see that no job is lost. */
  busyPids(): number[];
  /**
   * Checks that it runs as deployed and is healthy (`--smoke`): a line saying what was checked,
   * and its problems (none when all is well). @default - started counts as healthy
   */
  check?(): Promise<WorkloadCheck>;
  /** Lines that tell a user how to reach it by hand, once it runs. @default - none */
  howToUse?(): string[];
  stop(): Promise<void>;
}

/** What a workload's check found. */
export interface WorkloadCheck {
  /** What was checked, in a line (`web tier WebTierStack/Web: /healthz/ready answered 200 through the balancer from 2 servers`). */
  readonly summary: string;
  /** What is wrong, one line each; empty when all is well. */
  readonly problems: readonly string[];
}

/** A kind of deployed resource that the local cloud runs. */
export interface WorkloadKind {
  readonly name: string;
  /**
   * Start before the other kinds of the same stack (whose workloads rely on what it applies, as
   * a bucket's events that must be wired before its uploads become jobs). @default false
   */
  readonly startsFirst?: boolean;
  /**
   * The declared workload kinds (contracts/<pattern>.ts) it runs, at the versions it knows:
   * a declaration of another kind or version is reported as not run.
   */
  readonly declares: readonly WorkloadKindContract[];
  /** Starts a workload for each declaration of its kinds in `inventory` (`inventory.declarations(kind)`); none when there are none. */
  start(inventory: Inventory, context: WorkloadContext): Promise<Workload[]>;
  /**
   * The deployed resources (stack, logical id) that its workloads must run, for `--smoke` to check
   * that each one does. @default - the resource of each declaration of its kinds
   */
  expects?(inventory: Inventory): readonly { readonly stackName: string; readonly logicalId: string }[];
}

/**
 * Starts one workload per item (none for an item `start` skips), side by side; when one fails, the others that started are
 * stopped before its error is thrown (so a kind leaves nothing half-started).
 */
export async function startEach<T, W extends Workload>(items: readonly T[], start: (item: T) => Promise<W | undefined>): Promise<W[]> {
  const settled = await Promise.allSettled(items.map(start));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const started = settled.flatMap((r) => (r.status === 'fulfilled' && r.value !== undefined ? [r.value] : []));
  if (failed) {
    await Promise.allSettled(started.map((w) => w.stop()));
    throw failed.reason;
  }
  return started;
}

/**
 * The log file of a workload, like its CloudWatch log group: `<logDir>/<logical id>-<stack>.log`
 * (two stacks may hold groups of the same logical id, RenderFarmStack's and WebTierStack's `Web`).
 */
export function workloadLogFile(context: Pick<WorkloadContext, 'logDir'>, stackName: string, logicalId: string): string {
  fs.mkdirSync(context.logDir, { recursive: true });
  return path.join(context.logDir, `${logicalId}-${stackName}.log`);
}
