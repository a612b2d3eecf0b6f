/**
 * LambdaWorker: a Lambda function that takes jobs from a WorkQueue. Failed jobs of a batch are
 * reported one by one (`ReportBatchItemFailures`), so only they come back; a job that keeps
 * failing ends in the dead-letter queue; with idempotency on, a job delivered twice runs once.
 */
import { Duration, Validations } from 'aws-cdk-lib/core';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_NODE_RUNTIME, HANDLER_NODEJS_BUNDLING, assertEsbuildInstalled } from '../core/bundling';
import { logGroupFor, logGroupRules } from '../core/log-groups';
import { SAME_CHECK, acknowledgeCheck } from '../core/nag';
import { newRole } from '../core/roles';
import { LAMBDA_WORKER_WORKLOAD } from '../../contracts/work-queue';
import { assertProps, isKnown, outsideInt } from '../core/validation';
import { declareWorkload } from '../core/workload';
import { grantIdempotencyRecords } from './idempotency';
import { jobWorkerRules, workerIdempotency, type JobWorkerProps } from './job-worker';

/** Properties of a {@link LambdaWorker}. */
export interface LambdaWorkerProps extends JobWorkerProps {
  /**
   * The file that exports the job handler (`export const handler = defineJobHandler(...)`),
   * bundled with esbuild on this machine (no Docker). Give either `entry` or `code`.
   *
   * @default - none; `code` must be given
   */
  readonly entry?: string;

  /**
   * The exported name of the handler: in `entry` (e.g. `handler`), or in `code` as `file.export`.
   *
   * @default - "handler" with `entry`, "index.handler" with `code`
   */
  readonly handler?: string;

  /**
   * Code that is already bundled, instead of `entry`.
   *
   * @default - none; `entry` must be given
   */
  readonly code?: lambda.Code;

  /**
   * esbuild options for `entry`, over the catalog's (one minified ES module with the AWS SDK inside).
   *
   * @default - the catalog's bundling options
   */
  readonly bundling?: nodejs.BundlingOptions;

  /**
   * How long one batch may run. The queue's visibility timeout must be at least six times
   * this plus `maxBatchingWindow`; a queue WorkQueue creates gets that by default.
   *
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;

  /**
   * Memory of the function in MiB (CPU grows with it).
   *
   * @default 512
   */
  readonly memorySize?: number;

  /**
   * Jobs per invocation: 1 to 10 for a FIFO queue, 1 to 10,000 for a standard queue (over 10
   * needs a `maxBatchingWindow` of at least 1 second).
   *
   * @default 10
   */
  readonly batchSize?: number;

  /**
   * How long Lambda gathers jobs before invoking with a partial batch. Not available on FIFO queues.
   *
   * @default - no batching window: invoke as soon as jobs arrive
   */
  readonly maxBatchingWindow?: Duration;

  /**
   * The most concurrent invocations this queue may start, from 2 to 1,000.
   *
   * @default - no limit but the account's Lambda concurrency
   */
  readonly maxConcurrency?: number;

  /**
   * X-Ray tracing of the function.
   *
   * @default lambda.Tracing.ACTIVE
   */
  readonly tracing?: lambda.Tracing;

  /**
   * The Lambda runtime.
   *
   * @default - the latest Node.js runtime (nodejs24.x)
   */
  readonly runtime?: lambda.Runtime;

  /**
   * The processor architecture.
   *
   * @default lambda.Architecture.ARM_64 (Graviton: the same work for less)
   */
  readonly architecture?: lambda.Architecture;

  /**
   * More environment variables for the handler.
   *
   * @default - only the catalog's own settings
   */
  readonly environment?: { readonly [key: string]: string };

  /**
   * Run the function in this VPC (to reach a database, or to keep its traffic in your network).
   * The subnets need a way to SQS, DynamoDB and CloudWatch Logs: a NAT gateway or VPC endpoints.
   *
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Where in `vpc` the function runs.
   *
   * @default - the VPC's default selection: private subnets with egress, else isolated ones
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The security groups of the function in `vpc`.
   *
   * @default - a new security group with outbound traffic allowed and no inbound rule
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * Concurrency reserved for this function, which is also its limit: it protects the rest of the
   * account from a surge of jobs, and this worker from the rest. At least `maxConcurrency` when
   * both are set, or the event source is throttled below its own limit.
   *
   * @default - no reservation: the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Lambda function that runs a job handler on every job of a WorkQueue.
 *
 * @example
 * const jobs = new WorkQueue(this, 'Jobs');
 * const worker = new LambdaWorker(this, 'Resizer', {
 *   workQueue: jobs,
 *   entry: path.join(__dirname, 'resize-image.ts'),
 *   idempotency: true,
 *   maxConcurrency: 20,
 * });
 */
export class LambdaWorker extends Construct implements iam.IGrantable, ec2.IConnectable {
  /** The function that runs the handler. */
  public readonly function: lambda.Function;
  /** The function's execution role. */
  public readonly role: iam.IRole;
  /** The execution role, as what grants go to: `bucket.grantRead(worker)`. */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The log group of the function. */
  public readonly logGroup: logs.ILogGroup;
  /** The table of finished jobs, when idempotency is on. */
  public readonly idempotencyTable?: dynamodb.ITable;
  /** The SQS event source that feeds the function. */
  public readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: LambdaWorkerProps) {
    super(scope, id);

    const queue = props.workQueue;
    const timeout = props.timeout ?? Duration.seconds(30);
    const batchSize = props.batchSize ?? 10;
    const windowSeconds = props.maxBatchingWindow?.toSeconds() ?? 0;

    const timeoutSeconds = timeout.toSeconds();
    const maxBatch = queue.fifo ? 10 : 10_000;
    assertProps(this, [
      {
        failed: (props.entry === undefined) === (props.code === undefined),
        prop: 'entry, code',
        message: `give exactly one: \`entry\` (a handler file to bundle) or \`code\` (already bundled); received ${props.entry === undefined ? 'neither' : 'both'}.`,
      },
      {
        failed: props.bundling !== undefined && props.entry === undefined,
        prop: 'bundling',
        message: 'only applies to `entry`; `code` is already bundled. Remove `bundling` or give `entry`.',
      },
      {
        failed: outsideInt(timeoutSeconds, 1, 900),
        prop: 'timeout',
        message: `must be from 1 to 900 seconds (whole seconds), received ${timeoutSeconds} seconds.`,
      },
      {
        failed: outsideInt(props.memorySize, 128, 10_240),
        prop: 'memorySize',
        message: `must be an integer from 128 to 10,240 MiB, received ${props.memorySize}.`,
      },
      {
        failed: outsideInt(batchSize, 1, maxBatch),
        prop: 'batchSize',
        message: `must be an integer from 1 to ${maxBatch} for a ${queue.fifo ? 'FIFO' : 'standard'} queue, received ${batchSize}.`,
      },
      {
        failed: isKnown(batchSize) && batchSize > 10 && windowSeconds < 1,
        prop: 'batchSize, maxBatchingWindow',
        message: `a batchSize over 10 (received ${batchSize}) needs a maxBatchingWindow of at least 1 second, received ${windowSeconds} seconds.`,
      },
      {
        failed: outsideInt(windowSeconds, 0, 300),
        prop: 'maxBatchingWindow',
        message: `must be from 0 to 300 seconds, received ${windowSeconds} seconds.`,
      },
      {
        failed: queue.fifo && props.maxBatchingWindow !== undefined,
        prop: 'maxBatchingWindow',
        message: 'is not supported by Lambda on a FIFO queue. Remove it.',
      },
      {
        failed: outsideInt(props.maxConcurrency, 2, 1000),
        prop: 'maxConcurrency',
        message: `must be an integer from 2 to 1,000, received ${props.maxConcurrency}.`,
      },
      {
        failed: outsideInt(props.reservedConcurrentExecutions, 1, 1_000_000),
        prop: 'reservedConcurrentExecutions',
        message: `must be a positive integer, received ${props.reservedConcurrentExecutions}. To stop the worker, disable its event source rather than reserve 0.`,
      },
      {
        failed: isKnown(props.reservedConcurrentExecutions) && isKnown(props.maxConcurrency) && props.reservedConcurrentExecutions < props.maxConcurrency,
        prop: 'reservedConcurrentExecutions, maxConcurrency',
        message: `reservedConcurrentExecutions (${props.reservedConcurrentExecutions}) must be at least maxConcurrency (${props.maxConcurrency}), or Lambda throttles the event source below its own limit and jobs come back as failed receives. Raise reservedConcurrentExecutions or lower maxConcurrency.`,
      },
      {
        failed: props.vpc === undefined && (props.vpcSubnets !== undefined || props.securityGroups !== undefined),
        prop: [props.vpcSubnets !== undefined ? 'vpcSubnets' : undefined, props.securityGroups !== undefined ? 'securityGroups' : undefined].filter(Boolean).join(', '),
        message: 'only apply to a function in a VPC, but `vpc` is not set. Give `vpc`, or remove them.',
      },
      ...jobWorkerRules(props),
      ...logGroupRules(props),
    ]);

    if (isKnown(timeoutSeconds)) {
      queue.ensureVisibilityTimeout(
        Duration.seconds(6 * timeoutSeconds + windowSeconds),
        `${this.node.path} (6 x timeout ${timeoutSeconds} s + maxBatchingWindow ${windowSeconds} s)`,
      );
    }

    this.logGroup = logGroupFor(this, 'LogGroup', props);
    // Our own role: only what this worker uses, no AWS managed policies.
    const role = newRole(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the job handler of ${this.node.path}`,
      customerManagedPolicies: props.customerManagedPolicies,
    });
    this.role = role;
    this.grantPrincipal = role;
    this.logGroup.grantWrite(role);
    if (props.vpc) {
      // What AWSLambdaVPCAccessExecutionRole holds, which lambda.Function adds only to a role it makes.
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'LambdaVpcNetworkInterfaces',
        actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: ['*'],
      }));
    }

    const idempotency = workerIdempotency(this, props);
    this.idempotencyTable = idempotency.table;
    if (this.idempotencyTable) grantIdempotencyRecords(this.idempotencyTable, role);
    const environment: Record<string, string> = { ...props.environment, ...idempotency.environment };

    const common: lambda.FunctionOptions = {
      description: `Job worker of ${this.node.path}`,
      timeout,
      memorySize: props.memorySize ?? 512,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      tracing: props.tracing ?? lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role,
      environment,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
    };
    const runtime = props.runtime ?? DEFAULT_NODE_RUNTIME;
    // Without esbuild NodejsFunction would silently bundle in Docker: say what to install instead.
    if (props.entry !== undefined) assertEsbuildInstalled(`LambdaWorker ${this.node.path}`, props.entry);
    this.function = props.entry !== undefined
      ? new nodejs.NodejsFunction(this, 'Function', {
        ...common,
        runtime,
        entry: props.entry,
        handler: props.handler ?? 'handler',
        bundling: { ...HANDLER_NODEJS_BUNDLING, ...props.bundling },
      })
      : new lambda.Function(this, 'Function', {
        ...common,
        runtime,
        code: props.code!,
        handler: props.handler ?? 'index.handler',
      });

    this.eventSource = new SqsEventSource(queue.queue, {
      batchSize,
      maxBatchingWindow: props.maxBatchingWindow,
      maxConcurrency: props.maxConcurrency,
      reportBatchItemFailures: true,
    });
    this.function.addEventSource(this.eventSource);
    // For tools that run the worker elsewhere (the local cloud): declared on the mapping, which
    // already depends on the function and the queue; its settings are read from the deployed mapping.
    const mapping = this.function.node.findAll().find((c): c is lambda.CfnEventSourceMapping => c instanceof lambda.CfnEventSourceMapping)!;
    declareWorkload(mapping, LAMBDA_WORKER_WORKLOAD.declare({ functionName: this.function.functionName, queueUrl: queue.queue.queueUrl }));

    // Lambda checks the role's network permissions when it creates a function in a VPC.
    if (props.vpc) this.function.node.addDependency(role);

    // The function is invoked by an SQS event source mapping, synchronously: a function-level
    // dead-letter queue or on-failure destination would never receive anything. The work queue's
    // dead-letter queue is this worker's dead-letter target. The same check is acknowledged
    // under every pack that has it.
    const syncInvoked = 'The function is invoked by an SQS event source mapping (synchronously), not asynchronously: a function dead-letter queue or on-failure destination would never be used. Failed jobs go to the work queue\'s dead-letter queue by its redrive policy.';
    acknowledgeCheck(this.function, [...SAME_CHECK.lambdaDlq, 'Serverless-LambdaAsyncFailureDestination'], syncInvoked);
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: 'Lambda supports no on-failure destination for SQS event sources: the queue\'s redrive policy moves failed jobs to its dead-letter queue.',
    });
    const wildcards = [
      ...(common.tracing === lambda.Tracing.ACTIVE ? ['X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions; CDK adds them for active tracing.'] : []),
      ...(props.vpc ? ['Lambda\'s network interface actions in a VPC (those of AWSLambdaVPCAccessExecutionRole) support no resource-level permissions that Lambda\'s own service calls could be scoped to.'] : []),
    ];
    if (wildcards.length > 0) {
      Validations.of(role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: wildcards.join(' ') });
    }
  }

  /** Invocations that failed: the handler threw, timed out or ran out of memory (sum over 5 minutes). A failed job is reported per message, not here. */
  public metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors(props);
  }

  /** Invocations Lambda throttled: the event source backs off, and jobs wait (sum over 5 minutes). */
  public metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricThrottles(props);
  }

  /** How long a batch took (average over 5 minutes; pass `statistic: 'p99'` for the tail). */
  public metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricDuration(props);
  }

  /** Batches running at once: against `maxConcurrency` and `reservedConcurrentExecutions` (maximum over 5 minutes). */
  public metricConcurrentExecutions(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metric('ConcurrentExecutions', { statistic: 'Maximum', ...props });
  }

  /**
   * The function's security groups, to open a way to a database and the like
   * (`db.connections.allowDefaultPortFrom(worker)`). Only for a worker in a VPC: CDK throws otherwise.
   */
  public get connections(): ec2.Connections {
    return this.function.connections;
  }
}
