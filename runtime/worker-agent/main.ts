/**
 * The program a FleetWorker instance runs: FleetWorker bundles (esbuild) a generated entry
 * `import { handler } from '<user entry>'; runWorkerFromEnv(handler);` and starts it as a
 * systemd service. Configured from the environment; SIGTERM/SIGINT drain and exit 0; on an Auto
 * Scaling group it protects the instance while busy and drains before termination.
 * Everything is imported statically, so the bundle needs nothing at run time.
 *
 * Handlers run in job threads (one per CPU unless CLOUD_PATTERNS_JOB_THREADS says otherwise),
 * which run this same program: there, runWorkerFromEnv serves the agent's jobs (job-threads.ts).
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { availableParallelism } from 'os';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { JobHandler } from '../jobs/define-job-handler';
import { createLogger, errorFields } from '../jobs/logger';
import { workerConfigFromEnv } from './env-config';
import { startFleetIntegration, type FleetIntegration, type FleetOptions } from './fleet';
import { InstanceMetadataClient } from './instance-metadata';
import { isJobThread, serveJobThread } from './job-threads';
import type { WorkerOptions } from './options';
import type { Worker } from './types';
import { startWorker } from './worker';

/** Options of {@link runWorkerFromEnv}, for tests and unusual hosts. */
export interface RunWorkerOptions {
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Ends the program. @default process.exit */
  readonly exit?: (code: number) => void;
  /**
   * startWorker options applied over those from the environment (say a logger, or a shorter
   * long-poll wait in tests).
   *
   * @default - none
   */
  readonly worker?: Partial<Omit<WorkerOptions<unknown, unknown>, 'queueUrl' | 'handler'>>;
  /**
   * Fleet integration timings over the defaults (tests shorten how often the lifecycle state is read).
   *
   * @default - none
   */
  readonly fleet?: Partial<Pick<FleetOptions, 'lifecyclePollIntervalMs' | 'unprotectAfterIdleMs' | 'retryBaseMs' | 'retryMaxMs'>>;
}

/** Extra time past the stop bound for the last deletes and releases, before giving up on them. */
const EXIT_GRACE_MS = 10_000;

/**
 * Runs the worker agent as a program until a signal or the instance's termination; exits 0
 * after a drain, 1 when the configuration is unusable (the log names the variable), and 1 when
 * the worker cannot go on (SQS refuses the queue for good: AccessDenied, QueueDoesNotExist, a
 * wrong URL or region; or too many hung jobs), after lifting the instance's scale-in protection.
 *
 * @example
 * // worker.ts, bundled by FleetWorker
 * import { runWorkerFromEnv } from '@cdk-cloud-patterns/runtime';
 * import { handler } from './resize-job';
 * void runWorkerFromEnv(handler);
 */
export async function runWorkerFromEnv<T, R>(handler: JobHandler<T, R>, options: RunWorkerOptions = {}): Promise<void> {
  // In one of the agent's job threads (the program run again): serve the jobs the agent hands it.
  if (isJobThread()) {
    serveJobThread(handler);
    return;
  }
  const env = options.env ?? process.env;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log = createLogger({ component: 'worker-agent' });

  let worker: Worker;
  let fleet: FleetIntegration | undefined;
  let stopTimeoutSeconds: number;
  try {
    const config = workerConfigFromEnv(env);
    stopTimeoutSeconds = options.worker?.stopTimeoutSeconds ?? config.stopTimeoutSeconds ?? 30;
    // On a fleet, read the instance id before taking any job: without it the instance could
    // neither be protected nor drained, and a job taken then would be at risk.
    const metadata = config.fleet ? new InstanceMetadataClient({ endpoint: env.AWS_EC2_METADATA_SERVICE_ENDPOINT }) : undefined;
    const instanceId = metadata ? await metadata.instanceId() : undefined;
    // A FleetWorker names no group in the environment (see FLEET_ENV): its instance's tag does.
    const autoScalingGroupName = config.fleet ? config.fleet.autoScalingGroupName ?? (await metadata!.autoScalingGroupName()) : undefined;
    // Started again (say by systemd) on an instance that is already going: take no jobs.
    if (metadata && config.fleet?.lifecycleHookName && (await metadata.targetLifecycleState()) === 'Terminated') {
      log.info('the instance is terminating: not taking jobs', { instanceId });
      exit(0);
      return;
    }
    worker = startWorker({
      queueUrl: config.queueUrl,
      handler,
      sqs: new SQSClient({ region: config.region }),
      concurrency: config.concurrency,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      jobTimeoutSeconds: config.jobTimeoutSeconds,
      stopTimeoutSeconds,
      idempotency: config.idempotency ? { ...config.idempotency, client: new DynamoDBClient({ region: config.region }) } : false,
      jobThreads: jobThreadsFor(config.jobThreads, log),
      ...options.worker,
    });
    if (config.fleet) {
      fleet = await startFleetIntegration({
        worker,
        autoScalingGroupName: autoScalingGroupName!,
        lifecycleHookName: config.fleet.lifecycleHookName,
        instanceId,
        metadata,
        autoScaling: new AutoScalingClient({ region: config.region }),
        drainTimeoutSeconds: config.jobTimeoutSeconds ?? 900,
        ...options.fleet,
      });
    }
  } catch (error) {
    log.error('the worker cannot start', errorFields(error));
    exit(1);
    return;
  }

  let exiting = false;
  const finish = async (why: string) => {
    if (exiting) return;
    exiting = true;
    const report = await worker.stopped;
    // Lifts scale-in protection (unless the instance is terminating): an exited agent holds no job.
    await fleet?.stop();
    if (report.error) {
      log.error('worker program exiting with an error, for systemd to restart it', { why, reason: report.error.reason, errorMessage: report.error.message, ...report, error: undefined });
      exit(1);
      return;
    }
    log.info('worker program exiting', { why, ...report });
    exit(0);
  };
  // Too many hung jobs, or SQS refusing the queue for good: the worker stopped itself.
  void worker.stopped.then((report) => { if (report.error) void finish(report.error.reason); });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      log.info('signal received: draining', { signal, stopTimeoutSeconds });
      // If SQS is unreachable the last deletes could hang; the program still ends.
      setTimeout(() => { log.error('the drain did not end in time; exiting', {}); exit(1); }, stopTimeoutSeconds * 1000 + EXIT_GRACE_MS).unref();
      void worker.stop(stopTimeoutSeconds);
      void finish(signal);
    } else {
      // A second signal: release running jobs now rather than at the bound.
      log.warn('second signal: releasing running jobs now', { signal });
      void worker.stop(0);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  void fleet?.terminated.then(() => finish('instance terminating'));
}

/**
 * The program's job threads: one per CPU unless CLOUD_PATTERNS_JOB_THREADS says otherwise (0:
 * none), each running this program's own file (process.argv[1]).
 */
function jobThreadsFor(configured: number | undefined, log: ReturnType<typeof createLogger>): WorkerOptions['jobThreads'] {
  const count = configured ?? availableParallelism();
  if (count === 0) return undefined;
  const entry = process.argv[1];
  if (!entry) {
    log.warn('this program has no entry file to run in job threads (process.argv[1]); handlers run on the agent\'s event loop', {});
    return undefined;
  }
  return { count, entry };
}
