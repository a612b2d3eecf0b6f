/**
 * SharedStorageStack: the shared-storage pattern, deployable as it is. Uploads under `incoming/`
 * become jobs on a WorkQueue (the bucket's own object-created notifications); a LambdaWorker
 * derives a summary of each, writes it under `results/` and records it in the shared-records
 * table before the job's message is deleted.
 */
import { CfnOutput, Stack, type CfnResource, type StackProps } from 'aws-cdk-lib/core';
import type { Construct } from 'constructs';
import { STORAGE_STACK_INCOMING_PREFIX, STORAGE_STACK_RESULTS_PREFIX, UPLOAD_DEMO_WORKLOAD } from '../../contracts/shared-storage';
import { declareWorkload } from '../core/workload';
import { CATALOG_BUNDLE_HANDLER, catalogHandlerCode } from './catalog-code';
import { SharedStorage } from '../shared-storage/shared-storage';
import { LambdaWorker } from '../work-queue/lambda-worker';
import { WorkQueue } from '../work-queue/work-queue';

/** Properties of a {@link SharedStorageStack}. */
export interface SharedStorageStackProps extends StackProps {
  /**
   * Origins of web pages that may upload with presigned URLs.
   *
   * @default - none
   */
  readonly corsOrigins?: string[];
}

/** The shared-storage pattern with its demo worker. */
export class SharedStorageStack extends Stack {
  /** The bucket, its log bucket and the shared-records table. */
  public readonly storage: SharedStorage;
  /** The queue uploads become jobs on. */
  public readonly workQueue: WorkQueue;
  /** The worker that turns each upload into a result and a record. */
  public readonly worker: LambdaWorker;

  constructor(scope: Construct, id: string, props: SharedStorageStackProps = {}) {
    super(scope, id, { description: 'cdk-cloud-patterns: shared storage (bucket, records table) with uploads that become jobs', ...props });

    this.workQueue = new WorkQueue(this, 'Jobs');
    this.storage = new SharedStorage(this, 'Storage', {
      records: true,
      corsOrigins: props.corsOrigins,
      objectCreatedJobs: { workQueue: this.workQueue, prefix: STORAGE_STACK_INCOMING_PREFIX },
    });
    this.worker = new LambdaWorker(this, 'Worker', {
      workQueue: this.workQueue,
      code: catalogHandlerCode('shared-storage/derive-result'),
      handler: CATALOG_BUNDLE_HANDLER,
      idempotency: true,
      maxConcurrency: 5,
      environment: this.storage.environment,
    });
    this.storage.grantReadPrefix(this.worker.function, STORAGE_STACK_INCOMING_PREFIX);
    this.storage.grantWritePrefix(this.worker.function, STORAGE_STACK_RESULTS_PREFIX);
    this.storage.grantReadWriteRecords(this.worker.function);

    // For the local cloud: upload a few files and check each becomes a result and a record.
    declareWorkload(this.storage.recordsTable!.node.defaultChild as CfnResource, UPLOAD_DEMO_WORKLOAD.declare({
      bucketName: this.storage.bucket.bucketName,
      queueUrl: this.workQueue.queue.queueUrl,
      deadLetterQueueUrl: this.workQueue.deadLetterQueue!.queueUrl,
    }));

    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName, description: `Upload under ${STORAGE_STACK_INCOMING_PREFIX}; results appear under ${STORAGE_STACK_RESULTS_PREFIX}` });
    new CfnOutput(this, 'RecordsTableName', { value: this.storage.recordsTable!.tableName, description: 'One record per processed upload' });
    new CfnOutput(this, 'QueueUrl', { value: this.workQueue.queue.queueUrl, description: 'Uploads become jobs here' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.workQueue.deadLetterQueue!.queueUrl, description: 'Uploads whose job failed maxReceiveCount times' });
    new CfnOutput(this, 'WorkerFunctionName', { value: this.worker.function.functionName });
  }
}
