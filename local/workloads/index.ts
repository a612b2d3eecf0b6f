/**
 * The registry of "what AWS would run", one kind per deployed resource type. Each kind reads
 * its resources from the inventory (the embedded AWS's own description of them) and starts
 * local processes that do what the AWS service would do with them:
 *
 * - Lambda event source mappings on SQS queues: pollers that invoke the function in
 *   sandboxes ({@link lambdaSqsWorkloads}).
 * - FleetWorker's Auto Scaling groups: worker-agent processes, as many as target tracking on
 *   the backlog per instance asks for within the group's size ({@link fleetWorkloads}).
 *
 * A later pattern adds its kind to {@link WORKLOAD_KINDS}; the local cloud starts, shows and
 * stops every kind the same way.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Inventory } from '../inventory';
import { fleetWorkloads } from './fleet';
import { lambdaSqsWorkloads } from './lambda-sqs';

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
  stop(): Promise<void>;
}

/** A kind of deployed resource that the local cloud runs. */
export interface WorkloadKind {
  readonly name: string;
  /** Starts a workload for each resource of this kind in `inventory` (none when there are none). */
  start(inventory: Inventory, context: WorkloadContext): Promise<Workload[]>;
}

/** Every kind the local cloud runs, in start order. */
export const WORKLOAD_KINDS: readonly WorkloadKind[] = [lambdaSqsWorkloads, fleetWorkloads];

/**
 * Starts every kind's workloads. When one kind fails to start, the workloads already started
 * are stopped before the error is thrown, so nothing is left half-started.
 */
export async function startWorkloads(inventory: Inventory, context: WorkloadContext, kinds: readonly WorkloadKind[] = WORKLOAD_KINDS): Promise<Workload[]> {
  const started: Workload[] = [];
  try {
    for (const kind of kinds) started.push(...(await kind.start(inventory, context)));
    return started;
  } catch (e) {
    await Promise.all(started.map((w) => w.stop()));
    throw e;
  }
}
