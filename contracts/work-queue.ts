/**
 * The work-queue pattern's contract between its tiers: the environment variables through which
 * a deployed worker (Lambda function or EC2 agent) learns its settings (lib/ sets them,
 * runtime/ reads them, local/ sets them for local agents), the IAM actions the worker agent
 * calls (lib/ grants exactly these; a runtime test checks the agent calls no others), the names
 * the fleet's instances and agent share, and the workloads the local cloud runs.
 */
import { defineWorkloadKind, type WorkloadDeclaration, type WorkloadKindContract } from './workload';

// --- Environment of every worker ---

/** Name of the DynamoDB table that records finished jobs; idempotency is on when it is set. */
export const IDEMPOTENCY_TABLE_ENV = 'CLOUD_PATTERNS_IDEMPOTENCY_TABLE';

/** How long, in seconds, a finished job is remembered (and a duplicate of it skipped). */
export const IDEMPOTENCY_TTL_ENV = 'CLOUD_PATTERNS_IDEMPOTENCY_TTL_SECONDS';

/** Default for {@link IDEMPOTENCY_TTL_ENV}: one day, well past SQS's duplicate-delivery window. */
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;

/** The attribute of the idempotency table that DynamoDB's TTL deletes expired records by. */
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiration';

/** The partition key of the idempotency table. */
export const IDEMPOTENCY_KEY_ATTRIBUTE = 'id';

/**
 * URL of the queue a program sends jobs to (`WorkQueue.environment`, read by
 * `JobClient.fromEnvironment()`). Not {@link QUEUE_URL_ENV}: a worker may send jobs to another
 * queue than the one it takes them from.
 */
export const JOBS_QUEUE_URL_ENV = 'CLOUD_PATTERNS_JOBS_QUEUE_URL';

/** The message attribute that carries a job's id, set by JobClient. */
export const JOB_ID_ATTRIBUTE = 'jobId';

// --- The EC2 worker agent (FleetWorker sets these in the agent's environment file) ---

/** URL of the work queue the agent takes jobs from. */
export const QUEUE_URL_ENV = 'CLOUD_PATTERNS_QUEUE_URL';

/** Jobs the agent runs at once. */
export const CONCURRENCY_ENV = 'CLOUD_PATTERNS_CONCURRENCY';

/** The queue's visibility timeout in seconds (the agent's job deadline and heartbeat basis). */
export const VISIBILITY_TIMEOUT_ENV = 'CLOUD_PATTERNS_VISIBILITY_TIMEOUT_SECONDS';

/** The Auto Scaling group of the instance, for scale-in protection and the termination hook. */
export const AUTO_SCALING_GROUP_ENV = 'CLOUD_PATTERNS_AUTO_SCALING_GROUP';

/**
 * `1` on FleetWorker instances: the agent runs on an instance of an Auto Scaling group and, when
 * CLOUD_PATTERNS_AUTO_SCALING_GROUP is unset, reads the group's name from the instance metadata
 * (the `aws:autoscaling:groupName` tag). The name cannot be in the instance's user data: the
 * launch template would then depend on the group that launches from it.
 */
export const FLEET_ENV = 'CLOUD_PATTERNS_FLEET';

/** The termination lifecycle hook the agent completes once it has drained. */
export const LIFECYCLE_HOOK_ENV = 'CLOUD_PATTERNS_LIFECYCLE_HOOK';

/** The longest a job may run on the agent, in seconds (also its drain bound before termination). Optional. */
export const JOB_TIMEOUT_ENV = 'CLOUD_PATTERNS_JOB_TIMEOUT_SECONDS';

/** How long SIGTERM lets the agent's running jobs finish, in seconds, before releasing them. Optional. */
export const STOP_TIMEOUT_ENV = 'CLOUD_PATTERNS_STOP_TIMEOUT_SECONDS';

/**
 * Job threads of the agent program: how many worker threads run its handlers, off the agent's
 * event loop. Optional: unset means one per CPU of the instance; `0` runs handlers on the agent's
 * event loop (only for handlers that never compute for long).
 */
export const JOB_THREADS_ENV = 'CLOUD_PATTERNS_JOB_THREADS';

// --- The fleet ---

/** The termination lifecycle hook FleetWorker puts on its group, which the agent completes once drained. */
export const FLEET_LIFECYCLE_HOOK_NAME = 'drain-before-terminate';

/** Where the agent's environment file is on a FleetWorker instance (written by the boot script). */
export const FLEET_AGENT_ENV_FILE = '/etc/fleet-worker/agent.env';

// --- The agent's IAM contract: exactly the actions it calls ---

/** SQS actions of the agent. DeleteMessageBatch and ChangeMessageVisibilityBatch are authorized by the singular actions. */
export const AGENT_SQS_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'] as const;

/** Auto Scaling actions of the agent on a fleet: scale-in protection and the termination lifecycle hook. */
export const AGENT_AUTOSCALING_ACTIONS = ['autoscaling:SetInstanceProtection', 'autoscaling:CompleteLifecycleAction'] as const;

/**
 * DynamoDB actions of the idempotency layer (Powertools' DynamoDBPersistenceLayer) on its table.
 * GetItem is its fallback when a conditional write does not return the existing record.
 */
export const AGENT_DYNAMODB_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

// --- Workloads the local cloud runs (contracts/workload.ts) ---

/**
 * A LambdaWorker: its function behind its SQS event source mapping. Declared on the mapping
 * (its physical id is the mapping's UUID); the mapping's own settings (batch size, window,
 * maximum concurrency, ReportBatchItemFailures) are read from the deployed mapping.
 */
export interface LambdaWorkerWorkload extends WorkloadDeclaration<'work-queue/lambda-worker', 1> {
  /** The function's name. */
  readonly functionName: string;
  /** The work queue's URL. */
  readonly queueUrl: string;
}
export const LAMBDA_WORKER_WORKLOAD: WorkloadKindContract<LambdaWorkerWorkload> = defineWorkloadKind<LambdaWorkerWorkload>('work-queue/lambda-worker', 1);

/**
 * A FleetWorker: worker agents that follow the backlog. Declared on the Auto Scaling group (its
 * physical id is the group's name; its size is read from the deployed group). The agent's
 * environment is not declared: it is read from the deployed launch template's user data, the
 * environment file the instances get ({@link FLEET_AGENT_ENV_FILE}), so it runs what the
 * instances would run.
 */
export interface FleetWorkerWorkload extends WorkloadDeclaration<'work-queue/fleet-worker', 1> {
  /** The work queue's URL (its backlog drives the scaling). */
  readonly queueUrl: string;
  /** `s3://bucket/key` of the agent program, a zip archive with `index.mjs`. */
  readonly program: string;
  /** The jobs waiting per in-service instance that the group's scaling holds. */
  readonly targetBacklogPerInstance: number;
  /** The launch template the instances boot from. */
  readonly launchTemplateId: string;
  /** The agent's environment file in the user data. */
  readonly environmentFile: string;
}
export const FLEET_WORKER_WORKLOAD: WorkloadKindContract<FleetWorkerWorkload> = defineWorkloadKind<FleetWorkerWorkload>('work-queue/fleet-worker', 1);

/**
 * The catalog's demo: a stack that takes demo jobs (`{ text, rounds, fail? }`) and writes one
 * item per finished job (`jobId`, `doneCount`, `reruns`) to its results table. Declared on the
 * results table (its physical id is the table's name).
 */
export interface DemoJobsWorkload extends WorkloadDeclaration<'work-queue/demo-jobs', 1> {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}
export const DEMO_JOBS_WORKLOAD: WorkloadKindContract<DemoJobsWorkload> = defineWorkloadKind<DemoJobsWorkload>('work-queue/demo-jobs', 1);

/** The outputs of the work-queue pattern's stacks, for people and tools that read them. */
export const WORK_QUEUE_STACK_OUTPUTS = {
  queueUrl: 'QueueUrl',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  resultsTableName: 'ResultsTableName',
} as const;
