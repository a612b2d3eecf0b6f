/**
 * Work queue: a queue with its dead-letter queue and alarms, and the workers that take its jobs
 * (Lambda functions, or EC2 fleets scaling on the backlog).
 *
 * @module work-queue
 */
// The public API of the pattern; everything else in this folder is internal.
export { WorkQueue, WorkQueueEncryption } from './work-queue';
export type { IWorkQueue, WorkQueueAttributes, WorkQueueProps } from './work-queue';
export type { JobWorkerProps } from './job-worker';
export { LambdaWorker } from './lambda-worker';
export type { LambdaWorkerProps } from './lambda-worker';
export { FleetWorker } from './fleet-worker';
export type { FleetWorkerProps } from './fleet-worker';
export { BacklogScaling } from './fleet-scaling';
export type { BacklogScalingProps } from './fleet-scaling';
