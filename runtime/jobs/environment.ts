/**
 * The environment variables through which a deployed worker (Lambda function or EC2 agent)
 * learns its settings. Constructs set them; the runtime reads them; both import these names.
 */

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

/** The message attribute that carries a job's id, set by JobClient. */
export const JOB_ID_ATTRIBUTE = 'jobId';

// --- The EC2 worker agent (FleetWorker sets these in the agent's systemd unit) ---

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
