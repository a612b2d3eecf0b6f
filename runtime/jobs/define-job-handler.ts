/**
 * The one API a job author uses. The result is a Lambda handler (export it as `handler`) that
 * also carries the plain definition, so the EC2 worker agent runs the same module unchanged.
 */
import { lambdaHandlerFor, type SqsBatchHandler } from './lambda-adapter';
import type { JobDefinition, JobFunction, JobHandlerOptions } from './types';

/** A job handler: callable by Lambda, and runnable by the worker agent through `definition`. */
export type JobHandler<T = unknown, R = unknown> = SqsBatchHandler & {
  /** The handler as the user defined it, free of where it runs. */
  readonly definition: JobDefinition<T, R>;
};

/**
 * Defines how to do one job.
 *
 * @example
 * import { defineJobHandler } from '@cdk-cloud-patterns/runtime';
 * import { z } from 'zod';
 *
 * export const handler = defineJobHandler(
 *   async (job, { jobId, log }) => {
 *     await resize(job.imageKey, job.width);
 *     log.info('resized', { imageKey: job.imageKey });
 *   },
 *   { schema: z.object({ imageKey: z.string(), width: z.number().int().positive() }) },
 * );
 */
export function defineJobHandler<T = unknown, R = unknown>(run: JobFunction<T, R>, options: JobHandlerOptions<T> = {}): JobHandler<T, R> {
  if (typeof run !== 'function') {
    throw new TypeError(`defineJobHandler: the first argument must be a function (job, context) => result, received ${typeof run}.`);
  }
  const definition: JobDefinition<T, R> = Object.freeze({ run, options });
  return Object.assign(lambdaHandlerFor(definition), { definition });
}

/** True for a value made by {@link defineJobHandler}. */
export function isJobHandler(value: unknown): value is JobHandler {
  return typeof value === 'function' && typeof (value as Partial<JobHandler>).definition?.run === 'function';
}
