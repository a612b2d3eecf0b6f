/** The types of the job API: what a job handler receives and how it is configured. */
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { StandardSchemaV1 } from '@standard-schema/spec';

/** Structured log lines of one job, with its ids attached. */
export interface JobLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What a job handler knows about the job it runs, wherever it runs (Lambda or an EC2 agent). */
export interface JobContext {
  /** The job's id (a UUID): the same on every delivery of the same job. */
  readonly jobId: string;
  /** The SQS message id of this delivery. */
  readonly messageId: string;
  /** 1 on the first delivery, then 2, 3, ... (SQS's ApproximateReceiveCount). */
  readonly attempt: number;
  /** Epoch milliseconds by which the job must be done, or it may be delivered again. */
  readonly deadline: number;
  /** Aborted when the deadline passes or the worker stops; pass it to cancellable calls. */
  readonly signal: AbortSignal;
  /** Log lines tagged with the job id and message id. */
  readonly log: JobLogger;
  /**
   * Writes the job's DynamoDB effect and its completion record in one TransactWriteItems: the way
   * to write an effect that must apply once. With idempotency on, the transaction also marks the
   * job completed, conditional on this delivery still holding the job; so either both are written
   * or neither, and a worker killed at any point leaves no effect that a later delivery applies
   * again. Resolves `committed`, or `alreadyCompleted` when another delivery committed the job
   * first (nothing written; return normally). A transaction DynamoDB cancels only for a
   * conflict with another one (`TransactionConflict`) is retried with jittered back-off while
   * the job's lease holds. Rejects with `JobLeaseLostError` when another delivery holds the job
   * now, and with DynamoDB's `TransactionCanceledException` when one of your own conditions fails
   * (or conflicts outlast the lease). Up to 99 writes. Call it once, last, then return.
   * Without idempotency the writes alone are sent (nothing then stops a second delivery).
   */
  readonly commit: (writes: readonly TransactWriteItem[]) => Promise<'committed' | 'alreadyCompleted'>;
}

/** The function a user writes once: do one job, return a JSON-serializable result (or nothing). */
export type JobFunction<T, R> = (job: T, context: JobContext) => Promise<R> | R;

/** A check of a job's shape: a Standard Schema (zod, valibot, arktype...) or a function that throws. */
export type JobSchema<T> = StandardSchemaV1<unknown, T> | ((raw: unknown) => T);

/** Options of {@link defineJobHandler}. */
export interface JobHandlerOptions<T> {
  /**
   * Checks every job before the handler sees it; a job that fails goes to the dead-letter queue.
   *
   * @default - no check: the parsed JSON is passed as it is
   */
  readonly schema?: JobSchema<T>;

  /**
   * The field of the job that holds its id (a UUID string), for jobs that carry their own.
   *
   * @default - the `jobId` message attribute that JobClient sets, else the SQS message id
   */
  readonly jobIdField?: string;

  /**
   * Derives the job's id (a UUID) from the job itself (as the schema returned it), for messages
   * whose sender sets no id, such as S3's event notifications (`objectCreatedJobId`): two messages
   * that describe the same work (a duplicate event) then are one job, which idempotency applies
   * once. Returning undefined falls back to the default.
   *
   * @default - the `jobId` message attribute that JobClient sets, else the SQS message id
   */
  readonly jobIdFrom?: (job: T) => string | undefined;
}

/** A job handler as defined by the user, free of where it runs. */
export interface JobDefinition<T, R> {
  readonly run: JobFunction<T, R>;
  readonly options: JobHandlerOptions<T>;
}

/** One delivery of a job, in a shape common to Lambda's SQS records and SQS's ReceiveMessage. */
export interface JobMessage {
  readonly messageId: string;
  readonly body: string;
  /** ApproximateReceiveCount. */
  readonly receiveCount: number;
  /** The `jobId` message attribute, when the sender set one. */
  readonly jobIdAttribute?: string;
}
