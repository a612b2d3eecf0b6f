/**
 * LockStack: the locks pattern, deployable as it is. A nightly schedule sends a report job to a
 * WorkQueue; its LambdaWorker builds the report holding the lock `nightly-report` from a
 * LockTable, one at a time however many report jobs arrive together, and writes it under the
 * lock's fencing token to the reports table. Demo data: the tables go with the stack.
 */
import { CfnOutput, type CfnResource, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib/core';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import { LOCK_STACK_REPORT_LOCK, LOCK_STACK_REPORTS_TABLE_ENV, REPORT_DEMO_WORKLOAD } from '../../contracts/locks';
import { CATALOG_BUNDLE_HANDLER, catalogHandlerCode } from './catalog-code';
import { declareWorkload } from '../core/workload';
import { LockTable } from '../locks/lock-table';
import { LambdaWorker } from '../work-queue/lambda-worker';
import { WorkQueue } from '../work-queue/work-queue';

/** Properties of a {@link LockStack}. */
export interface LockStackProps extends StackProps {
  /**
   * When the report job is sent.
   *
   * @default - every night at 02:00 UTC
   */
  readonly schedule?: events.Schedule;
}

/** The locks pattern with its demo: a scheduled report built under a lock. */
export class LockStack extends Stack {
  /** The lock table. */
  public readonly locks: LockTable;
  /** Where report jobs wait. */
  public readonly workQueue: WorkQueue;
  /** The worker that builds reports, holding the lock. */
  public readonly worker: LambdaWorker;
  /** Where reports are written (one item per day, fenced by the lock's token). */
  public readonly reportsTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: LockStackProps = {}) {
    super(scope, id, { description: 'cdk-cloud-patterns: locks with leases and fencing tokens (a nightly report, one at a time)', ...props });

    this.locks = new LockTable(this, 'Locks', { removalPolicy: RemovalPolicy.DESTROY });
    this.workQueue = new WorkQueue(this, 'Jobs');
    this.reportsTable = new dynamodb.Table(this, 'Reports', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.worker = new LambdaWorker(this, 'ReportWorker', {
      workQueue: this.workQueue,
      code: catalogHandlerCode('locks/nightly-report'),
      handler: CATALOG_BUNDLE_HANDLER,
      // One job per invocation: a report waits up to 10 s for the lock, and should not hold others back.
      batchSize: 1,
      environment: { ...this.locks.environment, [LOCK_STACK_REPORTS_TABLE_ENV]: this.reportsTable.tableName },
    });
    this.locks.grantReadWrite(this.worker.function);
    // putItemFenced: one conditional PutItem.
    this.reportsTable.grant(this.worker.function, 'dynamodb:PutItem');

    new events.Rule(this, 'NightlyReport', {
      description: 'Sends the nightly report job',
      schedule: props.schedule ?? events.Schedule.cron({ minute: '0', hour: '2' }),
      targets: [new targets.SqsQueue(this.workQueue.queue, {
        message: events.RuleTargetInput.fromObject({}),
        deadLetterQueue: this.workQueue.deadLetterQueue,
      })],
    });

    // For the local cloud: send a few report jobs for one day at once and check they took the lock in turn.
    declareWorkload(this.reportsTable.node.defaultChild as CfnResource, REPORT_DEMO_WORKLOAD.declare({
      queueUrl: this.workQueue.queue.queueUrl,
      deadLetterQueueUrl: this.workQueue.deadLetterQueue!.queueUrl,
      lockTableName: this.locks.table.tableName,
      lockName: LOCK_STACK_REPORT_LOCK,
    }));

    new CfnOutput(this, 'LockTableName', { value: this.locks.table.tableName, description: 'Locks are kept here (CLOUD_PATTERNS_LOCK_TABLE)' });
    new CfnOutput(this, 'QueueUrl', { value: this.workQueue.queue.queueUrl, description: 'Send {"day":"2026-01-31"} here to build a report now' });
    new CfnOutput(this, 'ReportsTableName', { value: this.reportsTable.tableName, description: 'One report per day' });
  }
}
