/**
 * Reads the worker program's settings from its environment (what FleetWorker's systemd unit
 * sets, plus the standard AWS_* variables) and says, naming each variable, what is wrong.
 */
import {
  AUTO_SCALING_GROUP_ENV,
  CONCURRENCY_ENV,
  FLEET_ENV,
  IDEMPOTENCY_TTL_ENV,
  LIFECYCLE_HOOK_ENV,
  QUEUE_URL_ENV,
  VISIBILITY_TIMEOUT_ENV,
} from '../jobs/environment';
import { idempotencyFromEnv, type IdempotencySettings } from '../jobs/job-runner';
import { JOB_THREADS_ENV, JOB_TIMEOUT_ENV, STOP_TIMEOUT_ENV } from './environment';
import { WorkerEnvironmentError } from './errors';
import { MAX_JOB_THREADS, SQS_MAX_VISIBILITY_SECONDS } from './options';

/** The worker program's settings. */
export interface WorkerEnvConfig {
  readonly queueUrl: string;
  /** The AWS region of the clients. */
  readonly region: string;
  readonly concurrency?: number;
  readonly visibilityTimeoutSeconds?: number;
  readonly jobTimeoutSeconds?: number;
  readonly stopTimeoutSeconds?: number;
  /** Job threads (CLOUD_PATTERNS_JOB_THREADS): 0 runs handlers on the agent's event loop; undefined means one per CPU. */
  readonly jobThreads?: number;
  /** Idempotency settings (without a client), when CLOUD_PATTERNS_IDEMPOTENCY_TABLE is set. */
  readonly idempotency?: IdempotencySettings;
  /**
   * Set when the agent runs in an Auto Scaling group. `autoScalingGroupName` is undefined when
   * the group's name is to be read from the instance metadata (CLOUD_PATTERNS_FLEET=1).
   */
  readonly fleet?: { readonly autoScalingGroupName?: string; readonly lifecycleHookName?: string };
}

/** Reads the settings; throws WorkerEnvironmentError listing every unusable variable. */
export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnvConfig {
  const problems: { variable: string; message: string }[] = [];
  const fail = (variable: string, message: string) => { problems.push({ variable, message }); };

  const queueUrl = env[QUEUE_URL_ENV] ?? '';
  if (!queueUrl) fail(QUEUE_URL_ENV, `${QUEUE_URL_ENV} is not set: set it to the URL of the work queue (https://sqs.<region>.amazonaws.com/<account>/<name>).`);
  else if (!isHttpUrl(queueUrl)) fail(QUEUE_URL_ENV, `${QUEUE_URL_ENV} must be the URL of an SQS queue, received ${JSON.stringify(queueUrl)}.`);

  const whole = (variable: string, min: number, max: number, unit: string): number | undefined => {
    const raw = env[variable];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      fail(variable, `${variable} must be a whole number of ${unit} from ${min} to ${max}, received ${JSON.stringify(raw)}.`);
      return undefined;
    }
    return value;
  };
  const concurrency = whole(CONCURRENCY_ENV, 1, 10_000, 'jobs');
  const visibilityTimeoutSeconds = whole(VISIBILITY_TIMEOUT_ENV, 1, SQS_MAX_VISIBILITY_SECONDS, 'seconds');
  const jobTimeoutSeconds = whole(JOB_TIMEOUT_ENV, 1, SQS_MAX_VISIBILITY_SECONDS, 'seconds');
  const stopTimeoutSeconds = whole(STOP_TIMEOUT_ENV, 0, 3600, 'seconds');
  const jobThreads = whole(JOB_THREADS_ENV, 0, MAX_JOB_THREADS, 'threads');

  let idempotency: IdempotencySettings | undefined;
  try {
    idempotency = idempotencyFromEnv(env);
  } catch (error) {
    fail(IDEMPOTENCY_TTL_ENV, (error as Error).message);
  }

  // The SDK reads AWS_REGION only (not the CLI's AWS_DEFAULT_REGION, nor IMDS on EC2), so the
  // queue URL, which names its region, is the fallback that works on any instance.
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || regionOfQueueUrl(queueUrl);
  if (!region && queueUrl) fail('AWS_REGION', `AWS_REGION is not set and the queue URL ${queueUrl} does not name a region: set AWS_REGION (e.g. us-east-1).`);

  const autoScalingGroupName = env[AUTO_SCALING_GROUP_ENV] || undefined;
  const lifecycleHookName = env[LIFECYCLE_HOOK_ENV] || undefined;
  const fleetFlag = env[FLEET_ENV] ?? '';
  if (!['', '0', '1'].includes(fleetFlag)) {
    fail(FLEET_ENV, `${FLEET_ENV} must be 1 (on an Auto Scaling group whose name is read from instance metadata) or 0, received ${JSON.stringify(fleetFlag)}.`);
  }
  const onFleet = autoScalingGroupName !== undefined || fleetFlag === '1';
  if (lifecycleHookName && !onFleet) {
    fail(
      AUTO_SCALING_GROUP_ENV,
      `${LIFECYCLE_HOOK_ENV} is set (${lifecycleHookName}) but neither ${AUTO_SCALING_GROUP_ENV} nor ${FLEET_ENV}=1 is: the hook belongs to a group; ` +
        `name the group, set ${FLEET_ENV}=1 to read its name from instance metadata, or unset ${LIFECYCLE_HOOK_ENV}.`,
    );
  }

  if (problems.length > 0) throw new WorkerEnvironmentError(problems.map((p) => p.message), problems.map((p) => p.variable));
  return {
    queueUrl,
    region: region!,
    concurrency,
    visibilityTimeoutSeconds,
    jobTimeoutSeconds,
    stopTimeoutSeconds,
    jobThreads,
    idempotency,
    fleet: onFleet ? { autoScalingGroupName, lifecycleHookName } : undefined,
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** `us-east-1` from `https://sqs.us-east-1.amazonaws.com/...` (and the VPC endpoint forms). */
function regionOfQueueUrl(queueUrl: string): string | undefined {
  try {
    return /(?:^|\.)sqs\.([a-z]{2}(?:-[a-z]+)+-\d)\./.exec(new URL(queueUrl).hostname)?.[1];
  } catch {
    return undefined;
  }
}
