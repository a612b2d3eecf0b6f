/** Errors of the worker agent. Each sets `name`, so logs and `instanceof` both tell them apart. */

/** startWorker (or the fleet integration) was given options it cannot run with; lists every problem at once. */
export class WorkerOptionsError extends Error {
  override readonly name = 'WorkerOptionsError';
  constructor(
    /** One line per problem, each naming the option and the value received. */
    readonly problems: readonly string[],
  ) {
    super(`startWorker: ${problems.length === 1 ? problems[0] : `${problems.length} problems with the options:\n  - ${problems.join('\n  - ')}`}`);
  }
}

/** The worker program's environment is missing variables or holds values it cannot use; lists every problem. */
export class WorkerEnvironmentError extends Error {
  override readonly name = 'WorkerEnvironmentError';
  constructor(
    /** One line per problem, each naming its variable. */
    readonly problems: readonly string[],
    /** The environment variables at fault, in the order of `problems`. */
    readonly variables: readonly string[],
  ) {
    super(`the worker's environment is not usable:\n  - ${problems.join('\n  - ')}`);
  }
}

/** The kinds of SQS request the agent makes (the names of the SQS API actions). */
export type SqsRequestKind = 'ReceiveMessage' | 'DeleteMessageBatch' | 'ChangeMessageVisibilityBatch';

/** An SQS request failed (after the SDK's own retries); the agent backs off and carries on. */
export class SqsRequestError extends Error {
  override readonly name = 'SqsRequestError';
  constructor(
    message: string,
    /** Which request failed. */
    readonly kind: SqsRequestKind,
    /** The SDK's error. */
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

/** Why a worker stopped by itself. */
export type WorkerFatalReason = 'hungJobs' | 'permanentSqsError' | 'jobThreads';

/**
 * The worker cannot go on and stopped itself: too many jobs hung past their timeout, SQS
 * refuses the queue for good (AccessDenied, QueueDoesNotExist, a wrong URL or region), or its
 * job threads cannot start (their program never serves the handler). The
 * worker program exits non-zero on it, so that systemd restarts a clean process and the boot
 * log says why.
 */
export class WorkerFatalError extends Error {
  override readonly name = 'WorkerFatalError';
  constructor(
    message: string,
    /** What went wrong. */
    readonly reason: WorkerFatalReason,
    /** The SDK's error, for a permanent SQS error. */
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/**
 * SQS errors that no retry can cure: the queue is gone or was never there (a wrong URL or region),
 * or the role may not use it. `ENOTFOUND` is the DNS answer that the endpoint's name does not
 * exist (a region that does not exist, a mistyped host); a resolver that cannot answer says
 * `EAI_AGAIN` instead, which stays a retried error. The agent exits non-zero on them (systemd restarts it, and the log
 * says why) instead of backing off forever.
 */
const PERMANENT_SQS_ERRORS = new Set([
  'AccessDenied', 'AccessDeniedException', 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'InvalidAddress',
  'InvalidSecurity', 'UnrecognizedClientException', 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'IncompleteSignature',
  'ENOTFOUND',
]);

/** The SDK error's code, as SQS names it. */
export function sqsErrorCode(error: unknown): string {
  const e = error as { name?: string; Code?: string; code?: string };
  // Node's network errors are plain Errors whose `code` says what happened (ENOTFOUND, ECONNREFUSED).
  if (typeof e?.code === 'string' && /^E[A-Z_]+$/.test(e.code) && (e.name === undefined || e.name === 'Error')) return e.code;
  // The SDK's retry layer rewraps an error from another realm (a vm context, as under jest) by its
  // text only, so the DNS answer is read from the message there.
  const dns = /\bgetaddrinfo (ENOTFOUND)\b/.exec(String((error as Error)?.message ?? ''));
  if (dns && e?.name === 'Error') return dns[1];
  return e?.Code ?? e?.name ?? e?.code ?? String(error);
}

/** True for an SQS error no retry can cure. */
export function isPermanentSqsError(error: unknown): boolean {
  return PERMANENT_SQS_ERRORS.has(sqsErrorCode(error));
}

/** The EC2 instance metadata service (IMDSv2) did not answer as expected. */
export class InstanceMetadataError extends Error {
  override readonly name = 'InstanceMetadataError';
  constructor(
    message: string,
    /** The metadata path asked for. */
    readonly path: string,
    /** The HTTP status, when there was a response. */
    readonly status?: number,
  ) {
    super(message);
  }
}
