/**
 * FleetWorker: the render farm. EC2 instances in an Auto Scaling group, built on
 * BootstrappedImage, pull jobs from a WorkQueue with the worker agent, which runs the very job
 * handler a LambdaWorker runs (bundled with the agent and shipped as an asset, started as a
 * systemd service). The group scales on the backlog per instance, from zero; an instance that
 * holds jobs is protected from scale-in, and a terminating instance drains before it goes.
 */
import { Annotations, Duration, Token } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3Assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import {
  AGENT_AUTOSCALING_ACTIONS, AUTO_SCALING_GROUP_ENV, CONCURRENCY_ENV, FLEET_AGENT_ENV_FILE, FLEET_ENV, FLEET_LIFECYCLE_HOOK_NAME, FLEET_WORKER_WORKLOAD,
  IDEMPOTENCY_TABLE_ENV, IDEMPOTENCY_TTL_ENV, JOB_TIMEOUT_ENV, LIFECYCLE_HOOK_ENV, QUEUE_URL_ENV, STOP_TIMEOUT_ENV, VISIBILITY_TIMEOUT_ENV,
} from '../../contracts/work-queue';
import { acknowledgeWildcardResources } from '../core/nag';
import { capacityRules } from '../core/rules';
import { assertProps, isKnown, outsideInt } from '../core/validation';
import { declareWorkload } from '../core/workload';
import { ServiceRestart } from '../image-bootstrap/boot-steps';
import type { BootstrappedImage } from '../image-bootstrap/bootstrapped-image';
import { buildServiceFleet, serviceFleetRules, type ServiceFleetProps, type ServiceProgram } from '../image-bootstrap/service-fleet';
import { BACKLOG_SCALING_GROUP_METRICS, BacklogScaling } from './fleet-scaling';
import { grantIdempotencyRecords } from './idempotency';
import { jobWorkerRules, workerIdempotency, type JobWorkerProps } from './job-worker';

/**
 * Properties of a {@link FleetWorker}: the job worker's (the queue, idempotency, logs and role, as
 * a LambdaWorker takes them) and the service fleet's (the program, the VPC, the instances, as a
 * WebTier takes them). `entry` is the file that exports the job handler
 * (`export const handler = defineJobHandler(...)`): the same file a LambdaWorker runs, unchanged.
 */
export interface FleetWorkerProps extends JobWorkerProps, ServiceFleetProps {
  /**
   * Jobs one instance runs at once: about one per vCPU for CPU-bound jobs, tens to hundreds for
   * jobs that mostly wait on I/O.
   *
   * @default 10
   */
  readonly concurrency?: number;

  /**
   * The fewest instances. 0 lets an idle fleet cost nothing: the first job brings up an instance
   * within a few minutes.
   *
   * @default 0
   */
  readonly minCapacity?: number;

  /**
   * The most instances: the fleet's cost limit.
   *
   * @default 4
   */
  readonly maxCapacity?: number;

  /**
   * The jobs waiting in the queue per in-service instance that the group scales to hold. With
   * jobs of similar length, a job then waits about `targetBacklogPerInstance / concurrency` job
   * durations before it starts: lower it for shorter waits (more instances), raise it for fewer.
   *
   * @default - `concurrency`: one more round of jobs waits per instance
   */
  readonly targetBacklogPerInstance?: number;

  /**
   * How long a new instance takes to boot and start taking jobs; scaling does not count its
   * metrics meanwhile (the group's default instance warm-up).
   *
   * @default Duration.minutes(3)
   */
  readonly warmup?: Duration;

  /**
   * The longest a job may run. A job that runs longer is abandoned and retried (or
   * dead-lettered); it is also how long a terminating instance waits for its jobs to finish (the
   * termination lifecycle hook allows a minute more), so at most 7,140 seconds (the hook's
   * two-hour limit).
   *
   * @default Duration.minutes(15) (Lambda's limit: a handler that fits a LambdaWorker fits here)
   */
  readonly jobTimeout?: Duration;

  /**
   * How long the agent hides a job it received; it extends the time while the job runs (once
   * less than half of it is left), so a job may run longer. It is how long the jobs of an instance
   * that died come back after: shorter means a quicker retry and more heartbeat calls.
   *
   * @default Duration.seconds(60)
   */
  readonly visibilityTimeout?: Duration;

}

/** How long the agent hides a job it received, in seconds, unless `visibilityTimeout` says otherwise; heartbeats extend it while the job runs. */
export const FLEET_AGENT_VISIBILITY_SECONDS = 60;

/** How long a SIGTERM (a reboot, `systemctl stop`) lets running jobs finish before releasing them, in seconds. */
export const FLEET_AGENT_STOP_SECONDS = 30;

// Shared with the agent and the local cloud (contracts/work-queue.ts); exported here as before.
export { FLEET_AGENT_ENV_FILE, FLEET_LIFECYCLE_HOOK_NAME };

/** Where the agent program is extracted on an instance. */
export const FLEET_AGENT_DIRECTORY = '/opt/fleet-worker';

/** The systemd service (and log stream suffix) of the agent. */
export const FLEET_AGENT_SERVICE = 'fleet-worker';

/** The lifecycle hook's heartbeat must outlast the drain: the job timeout, a long poll and the calls around it. */
const HOOK_SLACK_SECONDS = 60;
/** Auto Scaling's longest lifecycle hook heartbeat timeout. */
const MAX_HOOK_HEARTBEAT_SECONDS = 7200;
/** systemd waits this much past the agent's stop bound: a long poll in flight (20 s) and the agent's own exit grace (10 s), plus 10 s. */
const STOP_SLACK_SECONDS = 40;
/** Tag keys that instance metadata can show (tags propagated to instances must fit, or launches fail). */
const METADATA_TAG_KEY = /^(?!\.{1,2}$)(?!_index$)[A-Za-z0-9+\-=.,_:@]+$/;

/**
 * A fleet of EC2 workers that run a job handler on every job of a WorkQueue, scaling on the
 * backlog per instance.
 *
 * @example
 * const jobs = new WorkQueue(this, 'Frames');
 * const farm = new FleetWorker(this, 'RenderFarm', {
 *   workQueue: jobs,
 *   entry: path.join(__dirname, 'render-frame.ts'), // the file a LambdaWorker would run
 *   vpc,
 *   instanceType: ec2.InstanceType.of(ec2.InstanceClass.C7G, ec2.InstanceSize.XLARGE),
 *   concurrency: 4,
 *   maxCapacity: 20,
 *   idempotency: true,
 * });
 * outputBucket.grantWrite(farm); // what the handler itself calls
 */
export class FleetWorker extends Construct implements iam.IGrantable, ec2.IConnectable {
  /** The launch template, instance role, security group and log group of the instances. */
  public readonly image: BootstrappedImage;
  /** The Auto Scaling group of the workers. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The instance role: grant it what the handler calls (`grant...(fleetWorker)`). */
  public readonly role: iam.IRole;
  /** The instance role, as what grants go to. */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The instances' security group, to open a way to a database and the like. */
  public readonly connections: ec2.Connections;
  /** The agent program (bundled from `entry`, or `programDirectory`), an S3 asset. */
  public readonly program: s3Assets.Asset;
  /** The scaling policies on the backlog per instance (and the scale-out from zero). */
  public readonly scaling: BacklogScaling;
  /** The table of finished jobs, when idempotency is on. */
  public readonly idempotencyTable?: dynamodb.ITable;
  /** The agent's environment, as the instances' environment file holds it. */
  public readonly programEnvironment: { readonly [name: string]: string };
  /** Jobs one instance runs at once. */
  public readonly concurrency: number;
  /** The longest a job may run, in seconds. */
  public readonly jobTimeoutSeconds: number;
  /** How long the agent hides a job it received, in seconds (extended while the job runs). */
  public readonly visibilityTimeoutSeconds: number;
  /** The backlog per in-service instance the group holds. */
  public readonly targetBacklogPerInstance: number;
  /** The termination lifecycle hook's heartbeat timeout, in seconds: how long a terminating instance may drain. */
  public readonly drainTimeoutSeconds: number;

  constructor(scope: Construct, id: string, props: FleetWorkerProps) {
    super(scope, id);

    const queue = props.workQueue;
    const concurrency = props.concurrency ?? 10;
    const minCapacity = props.minCapacity ?? 0;
    const maxCapacity = props.maxCapacity ?? 4;
    const targetBacklog = props.targetBacklogPerInstance ?? concurrency;
    const warmup = props.warmup ?? Duration.minutes(3);
    const jobTimeout = props.jobTimeout ?? Duration.minutes(15);
    const visibilityTimeoutSeconds = (props.visibilityTimeout ?? Duration.seconds(FLEET_AGENT_VISIBILITY_SECONDS)).toSeconds();
    const idempotency = props.idempotency ?? false;

    const jobTimeoutSeconds = jobTimeout.toSeconds();
    const warmupSeconds = warmup.toSeconds();
    const maxJobTimeout = MAX_HOOK_HEARTBEAT_SECONDS - HOOK_SLACK_SECONDS;
    const receives = queue.maxReceiveCount;
    const idempotencyParts = workerIdempotency(this, props);
    // No group name here: user data that named the group would make the launch template depend
    // on the group that launches from it. The agent reads the name from its instance's tag.
    const program: ServiceProgram = {
      owner: 'FleetWorker',
      runtime: 'worker-agent',
      serviceName: FLEET_AGENT_SERVICE,
      directory: FLEET_AGENT_DIRECTORY,
      environmentFile: FLEET_AGENT_ENV_FILE,
      description: `Worker agent of ${this.node.path}: runs the job handler on the jobs of its queue`,
      settings: {
        [QUEUE_URL_ENV]: queue.queue.queueUrl,
        [CONCURRENCY_ENV]: String(concurrency),
        [VISIBILITY_TIMEOUT_ENV]: String(visibilityTimeoutSeconds),
        [JOB_TIMEOUT_ENV]: String(jobTimeoutSeconds),
        [STOP_TIMEOUT_ENV]: String(FLEET_AGENT_STOP_SECONDS),
        [FLEET_ENV]: '1',
        [LIFECYCLE_HOOK_ENV]: FLEET_LIFECYCLE_HOOK_NAME,
        ...idempotencyParts.environment,
      },
      reservedNames: [AUTO_SCALING_GROUP_ENV, IDEMPOTENCY_TABLE_ENV, IDEMPOTENCY_TTL_ENV],
      // The agent exits 0 after draining for a termination: that is not to be restarted.
      restart: ServiceRestart.ON_FAILURE,
      stopTimeout: Duration.seconds(FLEET_AGENT_STOP_SECONDS + STOP_SLACK_SECONDS),
      // The agent reads its group's name from the aws:autoscaling:groupName tag.
      instanceMetadataTags: true,
    };
    assertProps(this, [
      ...serviceFleetRules(props, program),
      {
        failed: outsideInt(concurrency, 1, 10_000),
        prop: 'concurrency',
        message: `must be an integer from 1 to 10,000 jobs per instance, received ${concurrency}.`,
      },
      ...capacityRules(minCapacity, maxCapacity, { minLowest: 0, maxLowest: 1 }),
      {
        failed: isKnown(targetBacklog) && !(targetBacklog > 0 && targetBacklog <= 1_000_000),
        prop: 'targetBacklogPerInstance',
        message: `must be a number of jobs above 0 (up to 1,000,000), received ${targetBacklog}.`,
      },
      {
        failed: outsideInt(warmupSeconds, 0, 3600),
        prop: 'warmup',
        message: `must be from 0 seconds to 1 hour (whole seconds), received ${warmupSeconds} seconds.`,
      },
      {
        failed: outsideInt(jobTimeoutSeconds, 1, maxJobTimeout),
        prop: 'jobTimeout',
        message: `must be from 1 to ${maxJobTimeout} seconds (whole seconds): a terminating instance waits for its jobs up to the lifecycle hook's limit of 2 hours, less ${HOOK_SLACK_SECONDS} s; received ${jobTimeoutSeconds} seconds.`,
      },
      {
        failed: outsideInt(visibilityTimeoutSeconds, 1, 43_200),
        prop: 'visibilityTimeout',
        message: `must be from 1 second to 12 hours (SQS's limit; whole seconds), received ${visibilityTimeoutSeconds} seconds.`,
      },
      ...jobWorkerRules(props),
      {
        failed: idempotency && receives !== undefined && receives < 3,
        prop: 'idempotency',
        message: `needs the queue's maxReceiveCount to be at least 3, received ${receives}: a delivery that finds its job in progress on another instance is postponed once, which spends a receive. Raise maxReceiveCount on ${queue.node.path} or turn idempotency off.`,
      },
    ]);
    if (idempotency && receives === undefined) {
      Annotations.of(this).addWarningV2(
        'cdk-cloud-patterns:unchecked-max-receive-count',
        'The maxReceiveCount of an existing queue cannot be checked at synth time: with idempotency it must be at least 3 (a delivery that finds its job in progress elsewhere is postponed once, which spends a receive).',
      );
    }

    this.concurrency = concurrency;
    this.jobTimeoutSeconds = jobTimeoutSeconds;
    this.visibilityTimeoutSeconds = visibilityTimeoutSeconds;
    this.targetBacklogPerInstance = targetBacklog;
    this.drainTimeoutSeconds = isKnown(jobTimeoutSeconds) ? jobTimeoutSeconds + HOOK_SLACK_SECONDS : MAX_HOOK_HEARTBEAT_SECONDS;

    // The agent asks for its own visibility timeout on every receive and extends it while a job
    // runs, so it needs nothing like Lambda's six times the timeout; the queue's own setting is
    // kept at least as long, so that it never understates how long a taken job stays hidden.
    queue.ensureVisibilityTimeout(
      Duration.seconds(visibilityTimeoutSeconds),
      `${this.node.path} (the agent hides each job for ${visibilityTimeoutSeconds} s and extends it while the job runs)`,
    );

    this.idempotencyTable = idempotencyParts.table;
    const fleet = buildServiceFleet(this, props, program, {
      minCapacity,
      maxCapacity,
      defaultInstanceWarmup: warmup,
      // Launched protected: the agent lifts the protection once its instance is idle.
      newInstancesProtectedFromScaleIn: true,
      groupMetrics: [new autoscaling.GroupMetrics(...BACKLOG_SCALING_GROUP_METRICS)],
    });
    this.program = fleet.program;
    this.image = fleet.image;
    this.autoScalingGroup = fleet.autoScalingGroup;
    this.programEnvironment = fleet.programEnvironment;
    this.role = fleet.role;
    this.grantPrincipal = fleet.role;
    this.connections = fleet.connections;

    // In the group itself (not a resource of its own), so it exists before any instance does.
    const cfnGroup = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    cfnGroup.lifecycleHookSpecificationList = [{
      lifecycleHookName: FLEET_LIFECYCLE_HOOK_NAME,
      lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeatTimeout: this.drainTimeoutSeconds,
      // After the heartbeat timeout the instance goes anyway; its unfinished jobs come back to the queue.
      defaultResult: 'CONTINUE',
    }];

    this.scaling = new BacklogScaling(this, 'Scaling', {
      group: this.autoScalingGroup,
      backlog: queue.metricBacklog(),
      targetBacklogPerInstance: targetBacklog,
      scaleOutFromZero: !isKnown(minCapacity) || minCapacity === 0,
    });

    // Exactly what the agent calls (runtime/worker-agent/iam.ts), on this queue, table and group.
    queue.grantConsumeJobs(this.role);
    if (this.idempotencyTable) grantIdempotencyRecords(this.idempotencyTable, this.role);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WorkerAgentFleet',
      actions: [...AGENT_AUTOSCALING_ACTIONS],
      resources: [this.autoScalingGroup.autoScalingGroupArn],
    }));
    acknowledgeWildcardResources(this.role, [this.autoScalingGroup.autoScalingGroupArn],
      'The wildcard is the group\'s id, which CloudFormation does not return; the group\'s name pins the ARN to this group. The agent sets scale-in protection and completes the lifecycle action on its own group only.');

    // For tools that run the agent elsewhere (the local cloud): what it runs and how it scales.
    // The environment is not repeated: it is in the launch template's user data, read from there.
    declareWorkload(cfnGroup, FLEET_WORKER_WORKLOAD.declare({
      queueUrl: queue.queue.queueUrl,
      program: `s3://${this.program.s3BucketName}/${this.program.s3ObjectKey}`,
      targetBacklogPerInstance: targetBacklog,
      launchTemplateId: this.image.launchTemplate.launchTemplateId!,
      environmentFile: fleet.environmentStep.path,
    }));

    this.node.addValidation({ validate: () => unreadableInstanceTags(cfnGroup) });
  }

  /**
   * Jobs waiting per in-service instance: the metric the group tracks (a math expression over
   * the queue's backlog and the group's in-service instances). `options` change its period, label
   * or color, as they do for the other constructs' metrics.
   */
  public metricBacklogPerInstance(options: cloudwatch.MathExpressionOptions = {}): cloudwatch.MathExpression {
    return this.scaling.backlogPerInstance.with(options);
  }
}

/**
 * Tags propagated to the instances must be readable in instance metadata (which FleetWorker
 * turns on, for the group's name): a key outside its characters fails every launch. Checked
 * after the app's tags were applied.
 */
function unreadableInstanceTags(cfnGroup: autoscaling.CfnAutoScalingGroup): string[] {
  const rendered = (cfnGroup.tags.renderTags() ?? []) as { key: string; propagateAtLaunch?: boolean }[];
  const bad = rendered.filter((t) => t.propagateAtLaunch !== false && !Token.isUnresolved(t.key) && !METADATA_TAG_KEY.test(t.key)).map((t) => t.key);
  return bad.length === 0 ? [] : [
    `tags ${bad.map((k) => JSON.stringify(k)).join(', ')} would be propagated to the instances, whose tags are readable in instance metadata ` +
      '(the agent reads its group\'s name there), where a key may hold only letters, digits and + - = . , _ : @ (no spaces or "/"): ' +
      'EC2 would refuse to launch them. Rename the tags, or apply them with `applyToLaunchedInstances: false`.',
  ];
}
