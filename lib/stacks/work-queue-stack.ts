/**
 * WorkQueueStack: the work-queue pattern, deployable as it is. A WorkQueue, a LambdaWorker
 * running the demo job handler with idempotency on, and the shared results table the worker
 * writes to before a job's message is deleted.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib/core';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { CATALOG_BUNDLE_HANDLER, catalogHandlerCode } from './catalog-code';
import { LambdaWorker } from '../work-queue/lambda-worker';
import { WorkQueue } from '../work-queue/work-queue';
import { declareDemoJobs, newResultsTable } from './demo-resources';
import { WORK_QUEUE_STACK_OUTPUTS } from '../../contracts/work-queue';

/** Properties of a {@link WorkQueueStack}. */
export interface WorkQueueStackProps extends StackProps {
  /**
   * Receives before a failing job moves to the dead-letter queue.
   *
   * @default 5
   */
  readonly maxReceiveCount?: number;
}

/** The work-queue pattern with the demo worker. */
export class WorkQueueStack extends Stack {
  /** The queue and its dead-letter queue. */
  public readonly workQueue: WorkQueue;
  /** The Lambda worker. */
  public readonly worker: LambdaWorker;
  /** Where the worker writes each job's result. */
  public readonly resultsTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: WorkQueueStackProps = {}) {
    super(scope, id, { description: 'cdk-cloud-patterns: work queue with a Lambda worker', ...props });

    this.workQueue = new WorkQueue(this, 'Jobs', { maxReceiveCount: props.maxReceiveCount });
    this.resultsTable = newResultsTable(this);
    this.worker = new LambdaWorker(this, 'Worker', {
      workQueue: this.workQueue,
      code: catalogHandlerCode('work-queue/demo-job'),
      handler: CATALOG_BUNDLE_HANDLER,
      idempotency: true,
      maxConcurrency: 5,
      environment: { RESULTS_TABLE: this.resultsTable.tableName },
    });
    this.resultsTable.grant(this.worker.function, 'dynamodb:UpdateItem');

    declareDemoJobs(this.resultsTable, this.workQueue);

    new CfnOutput(this, WORK_QUEUE_STACK_OUTPUTS.queueUrl, { value: this.workQueue.queue.queueUrl, description: 'Send jobs here' });
    new CfnOutput(this, WORK_QUEUE_STACK_OUTPUTS.deadLetterQueueUrl, { value: this.workQueue.deadLetterQueue!.queueUrl, description: 'Jobs that failed maxReceiveCount times' });
    new CfnOutput(this, WORK_QUEUE_STACK_OUTPUTS.resultsTableName, { value: this.resultsTable.tableName, description: 'One item per finished job' });
    new CfnOutput(this, 'WorkerFunctionName', { value: this.worker.function.functionName });
  }
}
