/**
 * `@cdk-cloud-patterns/runtime`: the code that runs on the constructs (job handlers and the
 * worker agent, the web server, the shared storage and session clients). It never loads
 * aws-cdk-lib.
 *
 * @module runtime
 */
// Only what users build with is exported here, listed by name (test/package/public-api.test.ts
// holds the reviewed list, with why each is public); the rest (the job runner, message mappers,
// instance metadata, hashing and session-id helpers) is internal, imported by this repository
// from its own file.

// Jobs: define a handler, send jobs.
export { defineJobHandler } from './jobs/define-job-handler';
export type { JobHandler } from './jobs/define-job-handler';
export type { SqsBatchHandler } from './jobs/lambda-adapter';
export type { JobContext, JobFunction, JobHandlerOptions, JobLogger, JobSchema, JobDefinition } from './jobs/types';
export { JobClient, SQS_MAX_MESSAGE_BYTES } from './jobs/job-client';
export type { JobClientOptions, SentJob } from './jobs/job-client';
export { MalformedJobError, JobTooLargeError, JobSendError } from './jobs/errors';
export type { FailedJob } from './jobs/errors';
export { JobLeaseLostError } from './jobs/job-record-store';
export {
  IDEMPOTENCY_TABLE_ENV, IDEMPOTENCY_TTL_ENV, DEFAULT_IDEMPOTENCY_TTL_SECONDS, IDEMPOTENCY_TTL_ATTRIBUTE, IDEMPOTENCY_KEY_ATTRIBUTE,
  JOB_ID_ATTRIBUTE, JOBS_QUEUE_URL_ENV, QUEUE_URL_ENV, CONCURRENCY_ENV, VISIBILITY_TIMEOUT_ENV, AUTO_SCALING_GROUP_ENV, FLEET_ENV, LIFECYCLE_HOOK_ENV,
  JOB_TIMEOUT_ENV, STOP_TIMEOUT_ENV, JOB_THREADS_ENV,
} from './jobs/environment';

// The worker agent: the same job handler on EC2 (or anywhere).
export { startWorker, runWorkerFromEnv, AGENT_SQS_ACTIONS, AGENT_AUTOSCALING_ACTIONS, AGENT_DYNAMODB_ACTIONS } from './worker-agent';
export type {
  Worker, WorkerOptions, WorkerEvents, WorkerStats, JobEvent, JobFailedEvent, StopReport, RunWorkerOptions, JobThreadsOptions, EventLoopBlockedEvent,
} from './worker-agent';
export { WorkerOptionsError, WorkerEnvironmentError, SqsRequestError, WorkerFatalError } from './worker-agent';
export type { SqsRequestKind, WorkerFatalReason } from './worker-agent';

// Shared storage: content-addressed objects, streaming uploads, presigned URLs, shared records.
export { SharedStorageClient, SharedRecords, parseObjectCreatedEvent, objectCreatedJobId } from './storage';
export type {
  SharedStorageClientOptions, PutContentResult, UploadOptions, UploadProgress, UploadResult, PresignedPut, PresignPutOptions, PresignedPost, PresignPostOptions,
  SharedRecord, SharedRecordsOptions, WriteOptions, Sha256, CreatedObject,
} from './storage';
export {
  StorageError, PreconditionFailedError, NotFoundError, TooLargeError, ChecksumMismatchError, RecordConflictError, UploadAbortedError,
  StorageOptionsError,
} from './storage';
export { STORAGE_BUCKET_ENV, STORAGE_RECORDS_TABLE_ENV, STORAGE_RECORDS_TTL_ATTRIBUTE_ENV, CONTENT_ADDRESSED_PREFIX } from './storage';

// The web server of WebTier instances: readiness, graceful drain, timings shared with the balancer.
export { serveWebApp, runWebServerFromEnv, readJsonBody, RequestBodyError } from './web-server';
export type { RequestHandler, WebServer, WebServerOptions, WebServerState, ShutdownReport, RunWebServerOptions, ReadJsonBodyOptions } from './web-server';
export type { WebTierTimings } from '../contracts/web-tier';

// Sessions in a shared table: a plain-handler API and an express-session Store.
export { SessionManager, Session, DynamoSessionStore, expressSessionOptions, regenerateKeepingData, currentAndPreviousSecrets } from './sessions';
export type {
  SessionManagerOptions, DynamoSessionStoreOptions, ExpressSessionDefaults, RequestWithSession, SessionStoreOptions, SessionCookieOptions,
  SessionSummary, SessionRecord, SecretVersionStage,
} from './sessions';
export { SessionOptionsError, SessionConflictError, SessionGoneError } from './sessions';
export { SESSION_TABLE_ENV, SESSION_USER_INDEX_ENV, SESSION_SECRETS_ENV, SESSION_DYNAMODB_ACTIONS } from './sessions';

// Locks with leases and fencing tokens, on a LockTable.
export { LockClient, HeldLock, Semaphore, putItemFenced, updateItemFenced, writeRecordFenced, putObjectFenced } from './locks';
export type {
  LockClientOptions, HoldOptions, AcquireOptions, LockState, LockClock, SemaphoreOptions, LockLostReason, DynamoDBFenceOptions, RecordFenceOptions, S3FenceOptions,
} from './locks';
export {
  LockError, LockOptionsError, LockTableUnreachableError, LockLostError, LockNotAcquiredError, LockAcquireAbortedError, FencedOutError,
} from './locks';
export { LOCK_TABLE_ENV, FENCING_TOKEN_ATTRIBUTE, FENCING_TOKEN_METADATA_KEY } from './locks';
