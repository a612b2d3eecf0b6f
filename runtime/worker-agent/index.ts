/** The worker agent: runs job handlers on EC2 (or anywhere) from an SQS queue. */
export { startWorker } from './worker';
export type { Worker, WorkerEvents, WorkerStats, JobEvent, JobFailedEvent, StopReport, EventLoopBlockedEvent } from './types';
export type { WorkerOptions, JobThreadsOptions } from './options';
export { runWorkerFromEnv } from './main';
export type { RunWorkerOptions } from './main';
export { workerConfigFromEnv } from './env-config';
export type { WorkerEnvConfig } from './env-config';
export { startFleetIntegration } from './fleet';
export type { FleetIntegration, FleetOptions, FleetStats, TerminationReport } from './fleet';
export { InstanceMetadataClient, METADATA_ENDPOINT_ENV } from './instance-metadata';
export type { InstanceMetadataOptions } from './instance-metadata';
export { messageFromSqs } from './message';
export { AGENT_SQS_ACTIONS, AGENT_AUTOSCALING_ACTIONS, AGENT_DYNAMODB_ACTIONS, iamActionOf } from './iam';
export { FLEET_ENV, JOB_TIMEOUT_ENV, STOP_TIMEOUT_ENV, JOB_THREADS_ENV } from './environment';
export { WorkerOptionsError, WorkerEnvironmentError, SqsRequestError, WorkerFatalError, InstanceMetadataError } from './errors';
export type { SqsRequestKind, WorkerFatalReason } from './errors';
