/**
 * FleetWorkerStack: the render farm, deployable as it is. A WorkQueue, a FleetWorker whose EC2
 * instances run the catalog's demo job handler (the very module WorkQueueStack's Lambda worker
 * runs) through the worker agent, with idempotency on, and the shared results table it writes
 * to before a job's message is deleted. The group starts with no instance: the first job brings
 * one up, the backlog brings more, an empty queue takes them away.
 *
 * The VPC has public subnets only, with no NAT gateway (no hourly NAT cost) and no inbound rule
 * anywhere: instances reach AWS APIs and the Amazon Linux repositories over HTTPS through the
 * internet gateway, and people reach them through Session Manager only.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib/core';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import { catalogAgentEntry } from './catalog-code';
import { assertProps, outsideInt } from '../core/validation';
import { FLEET_AGENT_SERVICE, FleetWorker } from '../work-queue/fleet-worker';
import { WorkQueue } from '../work-queue/work-queue';
import { declareDemoJobs, newDemoVpc, newResultsTable } from './demo-resources';
import { WORK_QUEUE_STACK_OUTPUTS } from '../../contracts/work-queue';

/** Properties of a {@link FleetWorkerStack}. */
export interface FleetWorkerStackProps extends StackProps {
  /**
   * The VPC to run in; its public subnets are used, or its private subnets with egress when it has no public ones.
   *
   * @default - a new VPC with two public subnets and no NAT gateway
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The most instances (each a t4g.micro, about 0.01 USD an hour with its public IPv4 address).
   *
   * @default 2
   */
  readonly maxCapacity?: number;
}

/** The render farm with the demo job handler. */
export class FleetWorkerStack extends Stack {
  /** The VPC of the instances. */
  public readonly vpc: ec2.IVpc;
  /** The queue and its dead-letter queue. */
  public readonly workQueue: WorkQueue;
  /** The fleet of workers. */
  public readonly fleet: FleetWorker;
  /** Where the workers write each job's result. */
  public readonly resultsTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: FleetWorkerStackProps = {}) {
    super(scope, id, { description: 'cdk-cloud-patterns: work queue with a fleet of EC2 workers that scales on the backlog', ...props });

    const maxCapacity = props.maxCapacity ?? 2;
    assertProps(this, [{
      failed: outsideInt(maxCapacity, 1, 20),
      prop: 'maxCapacity',
      message: `must be an integer from 1 to 20 (a demo: each instance costs money), received ${maxCapacity}.`,
    }]);

    this.vpc = props.vpc ?? newDemoVpc(this, '10.41.0.0/24');
    this.workQueue = new WorkQueue(this, 'Jobs');
    this.resultsTable = newResultsTable(this);
    this.fleet = new FleetWorker(this, 'Workers', {
      workQueue: this.workQueue,
      // The module lambda/work-queue/demo-job.ts, bundled with the worker agent.
      entry: catalogAgentEntry('work-queue/demo-job'),
      vpc: this.vpc,
      vpcSubnets: this.vpc.publicSubnets.length > 0 ? { subnetType: ec2.SubnetType.PUBLIC } : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      // The demo jobs hash (CPU): two vCPUs, two jobs at a time.
      concurrency: 2,
      minCapacity: 0,
      maxCapacity,
      idempotency: true,
      environment: { RESULTS_TABLE: this.resultsTable.tableName },
    });
    this.resultsTable.grant(this.fleet, 'dynamodb:UpdateItem');

    declareDemoJobs(this.resultsTable, this.workQueue);

    new CfnOutput(this, WORK_QUEUE_STACK_OUTPUTS.queueUrl, { value: this.workQueue.queue.queueUrl, description: 'Send jobs here' });
    new CfnOutput(this, WORK_QUEUE_STACK_OUTPUTS.deadLetterQueueUrl, { value: this.workQueue.deadLetterQueue!.queueUrl, description: 'Jobs that failed maxReceiveCount times' });
    new CfnOutput(this, WORK_QUEUE_STACK_OUTPUTS.resultsTableName, { value: this.resultsTable.tableName, description: 'One item per finished job' });
    new CfnOutput(this, 'AutoScalingGroupName', { value: this.fleet.autoScalingGroup.autoScalingGroupName, description: 'The workers' });
    new CfnOutput(this, 'WorkerLogGroupName', {
      value: this.fleet.image.logGroup.logGroupName,
      description: `Streams <instance id>/bootstrap and <instance id>/${FLEET_AGENT_SERVICE}`,
    });
  }
}
