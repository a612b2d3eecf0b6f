/**
 * Turns a delivered message into a job: JSON body, the user's schema, a UUID job id.
 * Every way a message can be unusable ends in a MalformedJobError that says why.
 */
import { MalformedJobError } from './errors';
import type { JobHandlerOptions, JobMessage, JobSchema } from './types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID string in its canonical 8-4-4-4-12 form. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** A job ready to run. */
export interface ParsedJob<T> {
  readonly jobId: string;
  readonly job: T;
}

/** Parses and checks one message; throws MalformedJobError when it can never become a job. */
export async function parseJob<T>(message: JobMessage, options: JobHandlerOptions<T>): Promise<ParsedJob<T>> {
  const fail = (why: string) => new MalformedJobError(`message ${message.messageId}: ${why}`, message.messageId);

  let raw: unknown;
  try {
    raw = JSON.parse(message.body);
  } catch (e) {
    const preview = message.body.length > 80 ? `${message.body.slice(0, 80)}...` : message.body;
    throw fail(`the body is not JSON (${(e as Error).message}); received ${JSON.stringify(preview)}. Send jobs with JobClient, or JSON.stringify them.`);
  }

  const job = options.schema ? await applySchema(options.schema, raw, fail) : (raw as T);

  let jobId: string;
  const derived = options.jobIdField === undefined && options.jobIdFrom ? options.jobIdFrom(job) : undefined;
  if (derived !== undefined) {
    if (!isUuid(derived)) throw fail(`the job id its jobIdFrom derived must be a UUID, received ${JSON.stringify(derived)}.`);
    jobId = derived.toLowerCase();
  } else if (options.jobIdField !== undefined) {
    const value = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[options.jobIdField] : undefined;
    if (!isUuid(value)) {
      throw fail(`the job's id field "${options.jobIdField}" must be a UUID string, received ${JSON.stringify(value)}. Use crypto.randomUUID() for new ids.`);
    }
    jobId = value.toLowerCase();
  } else if (message.jobIdAttribute !== undefined) {
    if (!isUuid(message.jobIdAttribute)) {
      throw fail(`the jobId message attribute must be a UUID, received ${JSON.stringify(message.jobIdAttribute)}.`);
    }
    jobId = message.jobIdAttribute.toLowerCase();
  } else {
    jobId = message.messageId;
  }
  return { jobId, job };
}

async function applySchema<T>(schema: JobSchema<T>, raw: unknown, fail: (why: string) => Error): Promise<T> {
  if (typeof schema === 'function') {
    try {
      return schema(raw);
    } catch (e) {
      throw fail(`the job does not match its schema: ${(e as Error).message}`);
    }
  }
  const result = await schema['~standard'].validate(raw);
  if (result.issues) {
    const issues = result.issues.map((i) => {
      const at = (i.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
      return at ? `${at}: ${i.message}` : i.message;
    });
    throw fail(`the job does not match its schema: ${issues.join('; ')}`);
  }
  return result.value;
}
