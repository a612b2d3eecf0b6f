/**
 * Runs one delivery of a job: parse it, run the user's handler under a deadline and, with
 * idempotency on, through Powertools' idempotency layer so that a job delivered twice (even
 * at the same time) applies its effect once. Shared by the Lambda adapter and the EC2 agent.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS, IDEMPOTENCY_TABLE_ENV, IDEMPOTENCY_TTL_ENV } from './environment';
import { MalformedJobError } from './errors';
import { createLogger, errorFields } from './logger';
import { parseJob } from './parse-job';
import type { JobContext, JobDefinition, JobMessage } from './types';

/** Idempotency settings of a runner. */
export interface IdempotencySettings {
  /** The DynamoDB table of idempotency records. */
  readonly tableName: string;
  /** How long a finished job is remembered, in seconds. */
  readonly ttlSeconds: number;
  /** The DynamoDB client to use. @default - a client from the environment's settings */
  readonly client?: DynamoDBClient;
}

/** Idempotency settings from the environment a construct set up; undefined when it is off. */
export function idempotencyFromEnv(env: NodeJS.ProcessEnv = process.env): IdempotencySettings | undefined {
  const tableName = env[IDEMPOTENCY_TABLE_ENV];
  if (!tableName) return undefined;
  const raw = env[IDEMPOTENCY_TTL_ENV];
  const ttlSeconds = raw === undefined ? DEFAULT_IDEMPOTENCY_TTL_SECONDS : Number(raw);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new Error(`${IDEMPOTENCY_TTL_ENV} must be a whole number of seconds, received ${JSON.stringify(raw)}.`);
  }
  return { tableName, ttlSeconds };
}

/** The same key prefix on every worker, so a Lambda worker and an EC2 agent share one memory of jobs. */
const KEY_PREFIX = 'job';

/** What the idempotency layer hashes: the job id is the key, the job itself guards against id reuse. */
interface Envelope<T> {
  readonly jobId: string;
  readonly job: T;
}

/** How one job ended. */
export type JobOutcome<R> = { readonly ok: true; readonly result: R } | { readonly ok: false; readonly error: unknown; readonly malformed: boolean };

/** Runs deliveries of one job definition. Create one per process and reuse it. */
export class JobRunner<T, R> {
  private readonly idempotent?: (envelope: Envelope<T>, lambdaLike: { getRemainingTimeInMillis(): number }, context: JobContext) => Promise<R>;

  constructor(
    private readonly definition: JobDefinition<T, R>,
    idempotency: IdempotencySettings | undefined,
  ) {
    if (idempotency) {
      const run = (envelope: Envelope<T>, _lambdaLike: unknown, context: JobContext) => Promise.resolve(this.definition.run(envelope.job, context));
      this.idempotent = makeIdempotent(run, {
        persistenceStore: new DynamoDBPersistenceLayer({
          tableName: idempotency.tableName,
          awsSdkV3Client: idempotency.client ?? new DynamoDBClient({}),
        }),
        keyPrefix: KEY_PREFIX,
        config: new IdempotencyConfig({
          eventKeyJmesPath: 'jobId',
          // Two different jobs sent with the same id fail loudly instead of one being skipped.
          payloadValidationJmesPath: 'job',
          expiresAfterSeconds: idempotency.ttlSeconds,
          throwOnNoIdempotencyKey: true,
        }),
      });
    }
  }

  /** True when finished jobs are remembered. */
  public get isIdempotent(): boolean {
    return this.idempotent !== undefined;
  }

  /**
   * Runs one delivery and reports how it ended; never throws.
   *
   * @param message the delivery
   * @param deadline epoch ms by which the job must end (remaining Lambda time, or the visibility timeout)
   * @param stop aborted when the worker stops
   */
  public async run(message: JobMessage, deadline: number, stop?: AbortSignal): Promise<JobOutcome<R>> {
    const baseFields = { messageId: message.messageId, attempt: message.receiveCount };
    let log = createLogger(baseFields);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('the job passed its deadline')), Math.max(deadline - Date.now(), 0));
    timer.unref?.();
    const onStop = () => controller.abort(new Error('the worker is stopping'));
    stop?.addEventListener('abort', onStop, { once: true });
    try {
      const { jobId, job } = await parseJob(message, this.definition.options);
      log = createLogger({ jobId, ...baseFields });
      const context: JobContext = { jobId, messageId: message.messageId, attempt: message.receiveCount, deadline, signal: controller.signal, log };
      const result = this.idempotent
        ? await this.idempotent({ jobId, job }, { getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 1) }, context)
        : await this.definition.run(job, context);
      return { ok: true, result };
    } catch (error) {
      const malformed = error instanceof MalformedJobError;
      if (error instanceof Error && error.name === 'IdempotencyAlreadyInProgressError') {
        log.warn('a duplicate of this job is running elsewhere; this delivery will be retried after the visibility timeout', errorFields(error));
      } else {
        log.error(
          malformed ? 'malformed job: it fails on every delivery and moves to the dead-letter queue after maxReceiveCount' : 'job failed; it will be retried',
          errorFields(error),
        );
      }
      return { ok: false, error, malformed };
    } finally {
      clearTimeout(timer);
      stop?.removeEventListener('abort', onStop);
    }
  }
}
