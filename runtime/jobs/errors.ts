/** Errors of the job runtime. Each sets `name`, so logs and `instanceof` both tell them apart. */

/**
 * A message that can never become a job: not JSON, rejected by the job's schema, or with a
 * job id that is not a UUID. Retrying cannot help; the message fails on every receive and
 * moves to the dead-letter queue after the queue's `maxReceiveCount`.
 */
export class MalformedJobError extends Error {
  override readonly name = 'MalformedJobError';
  constructor(
    message: string,
    /** The SQS message id of the message. */
    readonly messageId: string,
  ) {
    super(message);
  }
}

/** A job that is over the SQS message size limit once serialized; nothing was sent. */
export class JobTooLargeError extends Error {
  override readonly name = 'JobTooLargeError';
  constructor(
    message: string,
    /** Position of the job in the list given to `send`. */
    readonly index: number,
    /** Its size in bytes as SQS counts it (body and message attributes). */
    readonly bytes: number,
  ) {
    super(message);
  }
}

/** One job that JobClient could not send. */
export interface FailedJob {
  /** Position of the job in the list given to `send`. */
  readonly index: number;
  /** The job id it was sent with. */
  readonly jobId: string;
  /** SQS's error code, or the error's name when the whole call failed. */
  readonly code: string;
  /** SQS's message. */
  readonly message: string;
}

/** Some jobs were not accepted by SQS after every retry; the others were sent. */
export class JobSendError extends Error {
  override readonly name = 'JobSendError';
  constructor(
    message: string,
    /** The jobs that were not sent. */
    readonly failed: readonly FailedJob[],
    /** The jobs that were sent, as `send` would have returned them. */
    readonly sent: readonly { readonly jobId: string; readonly messageId: string }[],
  ) {
    super(message);
  }
}
