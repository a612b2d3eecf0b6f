/**
 * The public API of the three entries users import: `cdk-cloud-patterns` (lib/index.ts, which
 * re-exports each pattern's own index), `cdk-cloud-patterns/testing` (lib/testing/index.ts) and
 * `@cdk-cloud-patterns/runtime` (runtime/index.ts). Everything exported is semver API, so each
 * entry's exports, values and types alike, must be exactly its reviewed list below, each name with
 * why a user needs it: adding an export means adding a line here. Internals (script renderers,
 * metric math, agent paths, the job runner, message mappers, hashing and session-id helpers) stay
 * in their files, which this repository's tests and local cloud import directly.
 */
import * as api from '../../lib';
import * as core from '../../lib/core';
import * as imageBootstrap from '../../lib/image-bootstrap';
import * as sessionStore from '../../lib/session-store';
import * as sharedStorage from '../../lib/shared-storage';
import * as webTier from '../../lib/web-tier';
import * as workQueue from '../../lib/work-queue';
import { exportedNames } from '../support/exports';

/** `cdk-cloud-patterns`: every name also in the jsii assembly (test/package/jsii.test.ts). */
const ROOT: Record<string, string> = {
  // Shared by every construct
  PatternPropsError: 'thrown by every construct for invalid props; users catch it and read `problems`',
  PropRule: 'the type of PatternPropsError.problems',
  ComputeProps: 'the logs and role props of every construct that runs code (a base of their props)',
  // Work queue
  WorkQueue: 'the work queue construct',
  WorkQueueProps: 'its props',
  WorkQueueEncryption: 'its encryption choice (a prop value)',
  IWorkQueue: 'a work queue of this stack or imported, as workers take it',
  WorkQueueAttributes: 'what WorkQueue.fromQueueAttributes imports',
  JobWorkerProps: 'the props every job worker shares (a base of LambdaWorkerProps and FleetWorkerProps)',
  LambdaWorker: 'the Lambda worker construct',
  LambdaWorkerProps: 'its props',
  FleetWorker: 'the EC2 fleet worker construct',
  FleetWorkerProps: 'its props',
  BacklogScaling: 'the type of FleetWorker.scaling, and backlog scaling for a group of the user\'s own',
  BacklogScalingProps: 'its props',
  // Image bootstrap
  BootstrappedImage: 'the image construct',
  BootstrappedImageProps: 'its props',
  BakeOptions: 'its `bake` prop',
  BootstrappedGroupProps: 'the props of BootstrappedImage.createAutoScalingGroup',
  BootstrappedMixedInstancesPolicy: 'the `mixedInstancesPolicy` of those props',
  BootStepsByPhase: 'what BootstrappedImage.stepsByPhase returns',
  ServiceFleetProps: 'the program and instance props FleetWorker and WebTier share (a base of their props)',
  ImageBakery: 'the type of BootstrappedImage.bakery (the Image Builder resources of bake mode)',
  ImageBakeryProps: 'its props',
  BootStep: 'the boot steps\' factories (BootStep.packages(...)...) and base class',
  BootStepKind: 'the kind of a step (BootStep.kind)',
  BootPhase: 'when a step runs in bake mode (a step option)',
  BootStepOptions: 'the options every step takes',
  PackagesStep: 'what BootStep.packages returns',
  FileStep: 'what BootStep.file returns',
  FileStepOptions: 'its options',
  S3FileStep: 'what BootStep.fileFromS3 and fileFromAsset return',
  S3FileStepOptions: 'BootStep.fileFromS3\'s options',
  AssetFileStepOptions: 'BootStep.fileFromAsset\'s options',
  EnvironmentStep: 'what BootStep.environment returns',
  EnvironmentStepOptions: 'its options',
  CommandsStep: 'what BootStep.commands returns',
  ServiceStep: 'what BootStep.service returns',
  ServiceStepOptions: 'its options',
  ServiceRestart: 'a service\'s `restart` option',
  SecretStep: 'what BootStep.secret returns (and what a service\'s `credentials` take)',
  SecretStepOptions: 'its options',
  SecretSource: 'where a secret step reads from (SecretSource.fromParameter, fromSecret)',
  SecretService: 'the type of SecretSource.service',
  SecretFieldOptions: 'SecretSource.fromSecret\'s options',
  SecretGuard: 'the aspect that fails a synth on secrets in user data, and its check for users\' own text',
  SecretLookalike: 'what SecretGuard.findLookalikes returns',
  // Shared storage
  SharedStorage: 'the shared storage construct',
  SharedStorageProps: 'its props',
  SharedStorageEncryption: 'its encryption choice (a prop value)',
  ObjectCreatedJobs: 'its `objectCreatedJobs` prop',
  ISharedStorage: 'shared storage of this stack or imported, with its grants and environment',
  SharedStorageAttributes: 'what SharedStorage.fromSharedStorageAttributes imports',
  SharedStorageReplication: 'its `replication` prop (a compliance review\'s replicated copy)',
  // Session store
  SessionStore: 'the session store construct',
  SessionStoreProps: 'its props',
  SessionStoreEncryption: 'its encryption choice (a prop value)',
  ISessionStore: 'a session store of this stack or imported, with its grants and environment',
  SessionStoreAttributes: 'what SessionStore.fromSessionStoreAttributes imports',
  // Locks
  LockTable: 'the lock table construct',
  LockTableProps: 'its props',
  LockTableEncryption: 'its encryption choice (a prop value)',
  ILockTable: 'a lock table of this stack or imported, with its grants and environment',
  LockTableAttributes: 'what LockTable.fromLockTableAttributes imports',
  // Web tier
  WebTier: 'the web tier construct (and the server\'s port and paths, as static members)',
  WebTierProps: 'its props',
  WebTierTimings: 'the type of WebTier.timings, and WebTierTimings.derive for any two inputs',
  WebTierTimingInput: 'what WebTierTimings.derive takes',
  TimingRule: 'what WebTier.timingRules and WebTierTimings.rules return',
  AccessLogsBucket: 'an ALB access-log bucket with the regional delivery policy, for a balancer of the user\'s own',
  AccessLogsBucketProps: 'its props',
};

/** `cdk-cloud-patterns/testing`: TypeScript only (see docs/decisions.md, "Public API and jsii"). */
const TESTING: Record<string, string> = {
  addCatalogChecks: 'cdk-nag\'s AwsSolutions and Serverless packs on an app, as the catalog checks itself',
  snapshotTemplate: 'a stack\'s template with asset hashes masked, for snapshot tests',
  maskAssetHashes: 'the masking alone, for a template read another way',
};

/** `@cdk-cloud-patterns/runtime`. */
const RUNTIME: Record<string, string> = {
  // Jobs
  defineJobHandler: 'the one API a job author uses',
  JobHandler: 'what defineJobHandler returns (exported as `handler`)',
  SqsBatchHandler: 'the Lambda signature a JobHandler has',
  JobFunction: 'the function a job author writes',
  JobContext: 'its second argument (job id, logger, signal, commit)',
  JobLogger: 'the context\'s logger',
  JobHandlerOptions: 'defineJobHandler\'s options',
  JobSchema: 'the `schema` option',
  JobDefinition: 'the type of JobHandler.definition',
  JobClient: 'sends jobs',
  JobClientOptions: 'its options',
  SentJob: 'what JobClient.send returns',
  SQS_MAX_MESSAGE_BYTES: 'the size limit JobClient.send enforces (JobTooLargeError)',
  JobTooLargeError: 'thrown by JobClient.send',
  JobSendError: 'thrown by JobClient.send',
  FailedJob: 'JobSendError\'s list of jobs not sent',
  MalformedJobError: 'reported for a message that can never become a job',
  JobLeaseLostError: 'thrown by context.commit when the job\'s lease was lost',
  QUEUE_URL_ENV: 'read by runWorkerFromEnv: set it to run the agent outside FleetWorker',
  JOBS_QUEUE_URL_ENV: 'read by JobClient.fromEnvironment (WorkQueue.environment sets it)',
  JOB_THREADS_ENV: 'read by runWorkerFromEnv: job threads per agent (0 for none)',
  CONCURRENCY_ENV: 'read by runWorkerFromEnv',
  VISIBILITY_TIMEOUT_ENV: 'read by runWorkerFromEnv',
  JOB_TIMEOUT_ENV: 'read by runWorkerFromEnv',
  STOP_TIMEOUT_ENV: 'read by runWorkerFromEnv',
  FLEET_ENV: 'read by runWorkerFromEnv (fleet integration on an Auto Scaling group)',
  AUTO_SCALING_GROUP_ENV: 'read by runWorkerFromEnv (fleet integration)',
  LIFECYCLE_HOOK_ENV: 'read by runWorkerFromEnv (fleet integration)',
  IDEMPOTENCY_TABLE_ENV: 'read by a Lambda handler and the agent: the idempotency table',
  IDEMPOTENCY_TTL_ENV: 'read with it: how long finished jobs are remembered',
  DEFAULT_IDEMPOTENCY_TTL_SECONDS: 'that default',
  IDEMPOTENCY_KEY_ATTRIBUTE: 'the partition key of an idempotency table of the user\'s own',
  IDEMPOTENCY_TTL_ATTRIBUTE: 'its TTL attribute',
  JOB_ID_ATTRIBUTE: 'the SQS message attribute carrying the job id, for senders other than JobClient',
  // The worker agent
  startWorker: 'runs a job handler from a queue anywhere',
  Worker: 'what startWorker returns',
  WorkerOptions: 'its options',
  WorkerEvents: 'the events a Worker emits',
  WorkerStats: 'Worker.stats',
  JobEvent: 'the payload of the job events',
  JobFailedEvent: 'the payload of jobFailed',
  StopReport: 'what Worker.stop returns',
  runWorkerFromEnv: 'the agent program\'s main, configured from the environment',
  RunWorkerOptions: 'its options',
  JobThreadsOptions: 'startWorker\'s jobThreads option (handlers off the agent\'s event loop)',
  EventLoopBlockedEvent: 'the payload of eventLoopBlocked (a handler held the agent\'s loop)',
  WorkerOptionsError: 'thrown by startWorker for bad options',
  WorkerEnvironmentError: 'thrown by runWorkerFromEnv for a bad variable',
  SqsRequestError: 'the payload of the sqsError event',
  SqsRequestKind: 'the SQS requests WorkerStats counts',
  WorkerFatalError: 'the payload of the fatal event',
  WorkerFatalReason: 'its reason',
  AGENT_SQS_ACTIONS: 'the SQS actions the agent calls, to grant a role of the user\'s own',
  AGENT_AUTOSCALING_ACTIONS: 'the Auto Scaling actions it calls',
  AGENT_DYNAMODB_ACTIONS: 'the DynamoDB actions it calls with idempotency',
  // Shared storage
  SharedStorageClient: 'the storage client',
  SharedStorageClientOptions: 'its options',
  PutContentResult: 'what putContent and putFile return',
  UploadOptions: 'upload\'s options',
  UploadProgress: 'upload\'s progress callback argument',
  UploadResult: 'what upload returns',
  PresignedPut: 'what presignPut returns',
  PresignedPost: 'what presignPost returns',
  PresignPostOptions: 'presignPost\'s options',
  Sha256: 'a content hash as the client returns it',
  SharedRecords: 'the shared records client',
  SharedRecordsOptions: 'its options',
  SharedRecord: 'a record as it returns it',
  WriteOptions: 'its write options',
  parseObjectCreatedEvent: 'reads the S3 event a SharedStorage sends to a job queue',
  objectCreatedJobId: 'the job id of an object-created event, derived from the object (for jobIdFrom), so a duplicate event is the same job',
  PresignPutOptions: 'presignPut\'s options (the signed length and Content-Type)',
  CreatedObject: 'what it returns',
  StorageError: 'the base of the storage errors',
  PreconditionFailedError: 'thrown by the storage clients',
  NotFoundError: 'thrown by the storage clients',
  TooLargeError: 'thrown by the storage clients',
  ChecksumMismatchError: 'thrown by the storage clients',
  RecordConflictError: 'thrown by SharedRecords on a concurrent write',
  UploadAbortedError: 'thrown by upload',
  StorageOptionsError: 'thrown for bad client options',
  STORAGE_BUCKET_ENV: 'the variable SharedStorage.environment sets and the client reads',
  STORAGE_RECORDS_TABLE_ENV: 'the same, for the records table',
  STORAGE_RECORDS_TTL_ATTRIBUTE_ENV: 'the same, for its TTL attribute',
  CONTENT_ADDRESSED_PREFIX: 'where content-addressed objects live, to grant a reader that prefix',
  // The web server
  serveWebApp: 'serves a request handler with readiness and graceful drain',
  WebServer: 'what serveWebApp returns',
  WebServerOptions: 'its options',
  WebServerState: 'WebServer.state',
  ShutdownReport: 'what WebServer.shutdown returns',
  RequestHandler: 'the handler it serves',
  runWebServerFromEnv: 'the server program\'s main, configured from the environment',
  RunWebServerOptions: 'its options',
  WebTierTimings: 'the type of WebServer.timings (every timing, in seconds)',
  readJsonBody: 'reads a request\'s JSON body with a cap, for apps that face the internet',
  ReadJsonBodyOptions: 'its options',
  RequestBodyError: 'what readJsonBody throws (400, 413, 415), answered with its status by serveWebApp',
  // Sessions
  SessionManager: 'sessions for a plain Node handler',
  SessionManagerOptions: 'its options',
  Session: 'what SessionManager loads',
  SessionRecord: 'the data a session holds',
  SessionSummary: 'what listUserSessions returns',
  SessionStoreOptions: 'the options both session APIs share',
  SessionCookieOptions: 'the cookie options',
  DynamoSessionStore: 'the express-session Store',
  DynamoSessionStoreOptions: 'its options',
  expressSessionOptions: 'express-session\'s options with the catalog\'s defaults',
  ExpressSessionDefaults: 'what it returns',
  regenerateKeepingData: 'regenerates the session id at sign-in, keeping its data',
  currentAndPreviousSecrets: 'reads the current and previous cookie secrets, so a rotation signs no one out',
  SecretVersionStage: 'the stages it reads',
  RequestWithSession: 'a request express-session has filled',
  SessionOptionsError: 'thrown for bad session options',
  SessionConflictError: 'thrown on a concurrent session write',
  SessionGoneError: 'thrown for an expired or deleted session',
  SESSION_TABLE_ENV: 'the variable SessionStore.environment sets and the session APIs read',
  SESSION_USER_INDEX_ENV: 'the same, for the user index',
  SESSION_SECRETS_ENV: 'the same, for the cookie-signing secrets',
  SESSION_DYNAMODB_ACTIONS: 'the DynamoDB actions the session APIs call, to grant a role of the user\'s own',
  // Locks
  LockClient: 'takes locks on a LockTable',
  LockClientOptions: 'its options',
  HeldLock: 'a lock held: its fencing token, signal, renew and release',
  HoldOptions: 'how a lock is held (lease, renewal)',
  AcquireOptions: 'acquire\'s options (wait, signal)',
  LockState: 'what LockClient.inspect returns',
  LockClock: 'the clock a client reads (a controllable one in tests)',
  Semaphore: 'N permits of one name',
  SemaphoreOptions: 'its options',
  LockError: 'the base of the lock errors',
  LockOptionsError: 'thrown for bad client options',
  LockTableUnreachableError: 'the table could not be reached (apart from a lost lock)',
  LockLostError: 'the lease was lost',
  LockLostReason: 'why the lease was lost',
  LockNotAcquiredError: 'the lock was not free within the wait',
  LockAcquireAbortedError: 'the wait was aborted by its signal',
  FencedOutError: 'a fenced write refused for an older token',
  putItemFenced: 'a DynamoDB put the protected item refuses for an older token',
  updateItemFenced: 'the same, for an update',
  DynamoDBFenceOptions: 'their options',
  writeRecordFenced: 'a SharedRecords write that carries the token',
  RecordFenceOptions: 'its options',
  putObjectFenced: 'an S3 write that refuses an older token (conditional write)',
  S3FenceOptions: 'its options',
  LOCK_TABLE_ENV: 'the variable LockTable.environment sets and LockClient.fromEnvironment reads',
  FENCING_TOKEN_ATTRIBUTE: 'where a fenced DynamoDB item keeps its token',
  FENCING_TOKEN_METADATA_KEY: 'where a fenced S3 object keeps its token',
};

const REVIEWED = { 'lib/index.ts': ROOT, 'lib/testing/index.ts': TESTING, 'runtime/index.ts': RUNTIME };

describe('the public API', () => {
  const exported = exportedNames(Object.keys(REVIEWED));

  test.each(Object.keys(REVIEWED))('%s exports exactly its reviewed names', (entry) => {
    const reviewed = Object.keys(REVIEWED[entry as keyof typeof REVIEWED]);
    const names = exported[entry]!;
    // THEN nothing is exported without a reviewed line, and no reviewed name went missing
    expect({ unreviewed: names.filter((n) => !reviewed.includes(n)), missing: reviewed.filter((n) => !names.includes(n)) })
      .toEqual({ unreviewed: [], missing: [] });
  });

  test('every reviewed name says why it is public', () => {
    const vague = Object.values(REVIEWED).flatMap((list) => Object.entries(list)).filter(([, why]) => why.trim().length < 8).map(([name]) => name);
    expect(vague).toEqual([]);
  });

  test('the root re-exports every pattern\'s index, and what they share (lib/core/index.ts)', () => {
    for (const pattern of [core, imageBootstrap, sessionStore, sharedStorage, webTier, workQueue]) {
      for (const [name, value] of Object.entries(pattern)) expect((api as Record<string, unknown>)[name]).toBe(value);
    }
  });

  test('exports no example stack: the catalog\'s stacks are examples, not library API', () => {
    expect(exported['lib/index.ts']!.filter((name) => /Stack(Props)?$/.test(name))).toEqual([]);
  });
});
