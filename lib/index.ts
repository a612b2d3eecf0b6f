/** cdk-cloud-patterns: the public API of the construct library. */
export { WorkQueue, WorkQueueEncryption, DEFAULT_MAX_RECEIVE_COUNT } from './work-queue/work-queue';
export type { WorkQueueProps } from './work-queue/work-queue';
export { LambdaWorker } from './work-queue/lambda-worker';
export type { LambdaWorkerProps } from './work-queue/lambda-worker';
export { WorkQueueStack } from './stacks/work-queue-stack';
export type { WorkQueueStackProps } from './stacks/work-queue-stack';
export { PatternPropsError } from './core/validation';
export type { PropRule } from './core/validation';
