/**
 * The environment variables through which a deployed worker (Lambda function or EC2 agent)
 * learns its settings, part of the runtime's public API. They are defined once, in the
 * work-queue pattern's contract (contracts/work-queue.ts), which the constructs import too.
 */
export {
  IDEMPOTENCY_TABLE_ENV, IDEMPOTENCY_TTL_ENV, DEFAULT_IDEMPOTENCY_TTL_SECONDS, IDEMPOTENCY_TTL_ATTRIBUTE, IDEMPOTENCY_KEY_ATTRIBUTE,
  JOB_ID_ATTRIBUTE, JOBS_QUEUE_URL_ENV, QUEUE_URL_ENV, CONCURRENCY_ENV, VISIBILITY_TIMEOUT_ENV, AUTO_SCALING_GROUP_ENV, FLEET_ENV, LIFECYCLE_HOOK_ENV,
  JOB_TIMEOUT_ENV, STOP_TIMEOUT_ENV, JOB_THREADS_ENV,
} from '../../contracts/work-queue';
