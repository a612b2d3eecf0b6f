/**
 * @cdk-cloud-patterns/runtime: the code that runs in the cloud (Lambda handlers, EC2 agents,
 * clients). It never imports aws-cdk-lib.
 */
export { defineJobHandler, isJobHandler } from './jobs/define-job-handler';
export type { JobHandler } from './jobs/define-job-handler';
export { JobClient, SQS_MAX_MESSAGE_BYTES } from './jobs/job-client';
export type { JobClientOptions, SentJob } from './jobs/job-client';
export { JobRunner, idempotencyFromEnv } from './jobs/job-runner';
export type { IdempotencySettings, JobExecutor, JobOutcome, RunOptions } from './jobs/job-runner';
export { JobLeaseLostError } from './jobs/job-record-store';
export { messageFromRecord } from './jobs/lambda-adapter';
export type { SqsBatchHandler } from './jobs/lambda-adapter';
export { MalformedJobError, JobTooLargeError, JobSendError } from './jobs/errors';
export type { FailedJob } from './jobs/errors';
export { isUuid } from './jobs/parse-job';
export type { JobContext, JobFunction, JobHandlerOptions, JobLogger, JobMessage, JobSchema, JobDefinition } from './jobs/types';
export * from './jobs/environment';

// The worker agent: the same job handler on EC2 (or anywhere).
export {
  startWorker, runWorkerFromEnv, workerConfigFromEnv, startFleetIntegration, InstanceMetadataClient, METADATA_ENDPOINT_ENV, messageFromSqs,
  AGENT_SQS_ACTIONS, AGENT_AUTOSCALING_ACTIONS, AGENT_DYNAMODB_ACTIONS, iamActionOf,
  WorkerOptionsError, WorkerEnvironmentError, SqsRequestError, WorkerFatalError, InstanceMetadataError,
} from './worker-agent';
export type { WorkerFatalReason } from './worker-agent';
export type {
  Worker, WorkerOptions, WorkerEvents, WorkerStats, JobEvent, JobFailedEvent, StopReport, RunWorkerOptions, WorkerEnvConfig, JobThreadsOptions, EventLoopBlockedEvent,
  FleetIntegration, FleetOptions, FleetStats, TerminationReport, InstanceMetadataOptions, SqsRequestKind,
} from './worker-agent';

// Shared storage: content-addressed objects, streaming uploads, presigned URLs, shared records.
export * from './storage';
// The web server of WebTier instances: readiness, graceful drain, timings shared with the balancer.
export * from './web-server';

// Sessions in a shared table: a plain-handler API and an express-session Store.
export * from './sessions';
export * from './locks';
