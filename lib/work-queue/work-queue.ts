/**
 * WorkQueue: the queue that hands work to other machines. A worker takes a job, pushes its
 * result to a shared store and only then deletes the message, so a dead worker loses nothing;
 * a job that keeps failing moves to the dead-letter queue instead of looping forever.
 */
import { Annotations, Duration, Lazy, Token, Validations, type RemovalPolicy } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { encryptionKeyFor, resolveEncryption } from '../core/encryption';
import { existingResourceRule } from '../core/rules';
import { PatternPropsError, assertProps, isKnown, outsideInt } from '../core/validation';
import { AGENT_SQS_ACTIONS, JOBS_QUEUE_URL_ENV } from '../../contracts/work-queue';

/** How a WorkQueue encrypts jobs at rest. */
export enum WorkQueueEncryption {
  /** Server-side encryption with keys SQS owns and manages (no KMS cost, no key policy to keep). */
  SQS_MANAGED = 'SQS_MANAGED',
  /** Server-side encryption with a customer-managed KMS key (`encryptionKey`, or a new one with rotation on). */
  KMS = 'KMS',
}

/** Properties of a {@link WorkQueue}. */
export interface WorkQueueProps {
  /**
   * An existing queue of this app to use instead of creating one, with this construct's alarms.
   * For a queue that another stack or app owns (and alarms on), use
   * {@link WorkQueue.fromWorkQueueAttributes} instead. It is used as it is: none of the
   * queue-shaping props (`fifo`, `encryption`, `encryptionKey`, `visibilityTimeout`,
   * `retentionPeriod`, `maxReceiveCount`, `queueName`) may be set with it.
   *
   * @default - a new queue with the secure defaults below
   */
  readonly queue?: sqs.IQueue;

  /**
   * The dead-letter queue. With a new queue: the queue that receives jobs after
   * `maxReceiveCount` failed receives. With `queue`: the dead-letter queue already attached
   * to that queue, used for the dead-letter alarm and metrics only.
   *
   * @default - a new dead-letter queue for a new queue; none for an existing `queue`
   */
  readonly deadLetterQueue?: sqs.IQueue;

  /**
   * Make it a FIFO queue (and its dead-letter queue), with content-based deduplication.
   *
   * @default false
   */
  readonly fifo?: boolean;

  /**
   * A name for the queue; the dead-letter queue gets the same name with a `-dlq` suffix.
   * A FIFO queue's name must end in `.fifo`.
   *
   * @default - a name CloudFormation generates
   */
  readonly queueName?: string;

  /**
   * How jobs are encrypted at rest.
   *
   * @default - `WorkQueueEncryption.KMS` when `encryptionKey` is given, else `WorkQueueEncryption.SQS_MANAGED`
   */
  readonly encryption?: WorkQueueEncryption;

  /**
   * The KMS key of the queues. Giving a key means KMS encryption, as it does for `sqs.Queue`:
   * `encryption` may then be left out (or set to `KMS`).
   *
   * @default - a new key with rotation on, when `encryption` is `KMS`
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * How long a received job stays invisible to other workers. Workers attached to this
   * queue check it against what they need (six times a Lambda worker's timeout plus its
   * batching window, per AWS guidance).
   *
   * @default - the longest that the attached workers need, or 30 seconds with none
   */
  readonly visibilityTimeout?: Duration;

  /**
   * How long SQS keeps a job that no worker has taken (also used for the dead-letter queue).
   *
   * @default Duration.days(14), the longest SQS allows, so that a job outlives an outage
   */
  readonly retentionPeriod?: Duration;

  /**
   * How many times a job is received before it moves to the dead-letter queue.
   * Five or more is AWS's advice for Lambda consumers, so that throttling alone does not
   * send good jobs to the dead-letter queue.
   *
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * The alarm on the age of the oldest waiting job fires when it exceeds this.
   *
   * @default Duration.minutes(15)
   */
  readonly oldestJobAgeThreshold?: Duration;

  /**
   * An SNS topic to notify when an alarm fires.
   *
   * @default - alarms have no action
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * What happens to the queues (and a key WorkQueue creates) when they leave the stack. Jobs wait
   * in a queue for up to `retentionPeriod`: retain it when they must outlive the stack.
   *
   * @default RemovalPolicy.DESTROY for the queues (CDK's for `sqs.Queue`), RETAIN for a created key
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A work queue as workers and senders use it: the queue, its dead-letter queue, grants, metrics
 * and the visibility timeout workers need. A {@link WorkQueue} is one; so is a queue of another
 * stack or app imported with {@link WorkQueue.fromWorkQueueAttributes}.
 */
export interface IWorkQueue extends IConstruct {
  /** The queue jobs are sent to. */
  readonly queue: sqs.IQueue;
  /** Where failed jobs go; undefined when not known. */
  readonly deadLetterQueue?: sqs.IQueue;
  /** The KMS key of the queue, when it uses KMS. */
  readonly encryptionKey?: kms.IKey;
  /** Whether this is a FIFO queue. */
  readonly fifo: boolean;
  /** Receives before a job is dead-lettered; undefined when not known at synth time. */
  readonly maxReceiveCount?: number;
  /** The visibility timeout in seconds; undefined when not known at synth time. */
  readonly visibilityTimeoutSeconds?: number;

  /**
   * Records that a worker needs the queue's visibility timeout to be at least `atLeast`:
   * raises a timeout this app controls, fails on a known one that is too short, and warns where
   * it cannot be checked.
   */
  ensureVisibilityTimeout(atLeast: Duration, requiredBy: string): void;
  /**
   * What `JobClient.fromEnvironment()` reads to send jobs to this queue: its URL under
   * `CLOUD_PATTERNS_JOBS_QUEUE_URL` (contracts/work-queue.ts). Give it to the sending program.
   */
  readonly environment: { readonly [name: string]: string };
  /** Lets `grantee` send jobs (and encrypt them with the queue's KMS key): nothing else. */
  grantSendJobs(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` take, finish and extend jobs (and decrypt them): nothing else. */
  grantConsumeJobs(grantee: iam.IGrantable): iam.Grant;
  /** The same as {@link grantConsumeJobs}: reading a queue is taking its jobs. */
  grantRead(grantee: iam.IGrantable): iam.Grant;
  /** The same as {@link grantSendJobs}: writing to a queue is sending jobs. */
  grantWrite(grantee: iam.IGrantable): iam.Grant;
  /** Both: send jobs, and take, finish and extend them. */
  grantReadWrite(grantee: iam.IGrantable): iam.Grant;
  /** Jobs waiting to be taken. */
  metricBacklog(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Jobs taken by a worker and not yet finished. */
  metricJobsInFlight(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Age in seconds of the oldest waiting job. */
  metricOldestJobAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Jobs in the dead-letter queue; throws when there is none known. */
  metricDeadLetterJobs(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** What {@link WorkQueue.fromWorkQueueAttributes} needs to know of a queue made elsewhere. */
export interface WorkQueueAttributes {
  /** The ARN of the queue. */
  readonly queueArn: string;

  /**
   * The URL of the queue.
   *
   * @default - derived from the ARN
   */
  readonly queueUrl?: string;

  /**
   * The ARN of its dead-letter queue, for `metricDeadLetterJobs`.
   *
   * @default - none known
   */
  readonly deadLetterQueueArn?: string;

  /**
   * The queue's KMS key, when it uses one: consumers get `kms:Decrypt` on it, senders
   * `kms:GenerateDataKey` and `kms:Decrypt`.
   *
   * @default - not encrypted with a customer-managed key
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Whether it is a FIFO queue.
   *
   * @default - true when the queue's name (in the ARN) ends in `.fifo`
   */
  readonly fifo?: boolean;

  /**
   * Its dead-letter receive count, so that workers can check what depends on it.
   *
   * @default - not known: workers that depend on it warn instead of checking
   */
  readonly maxReceiveCount?: number;

  /**
   * Its visibility timeout, so that workers can check it against what they need.
   *
   * @default - not known: each worker adds a warning naming the timeout it needs
   */
  readonly visibilityTimeout?: Duration;
}

/** The SQS actions a sender needs (`SendMessageBatch` is authorized as `sqs:SendMessage`). */
const SEND_ACTIONS = ['sqs:SendMessage'];

/**
 * The KMS actions a sender needs on a queue's key: SQS asks for a data key to encrypt with, and
 * decrypts a cached one. Not `kms:GenerateDataKey*` or `kms:ReEncrypt*` (what `sqs.Queue` grants),
 * whose wildcards fail every sender's AwsSolutions-IAM5.
 */
const SEND_KMS_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];

/** The SQS actions a worker needs to take, finish and extend jobs (batch calls share these names). */
const CONSUME_ACTIONS = [...AGENT_SQS_ACTIONS];

/** Default receive count before a job moves to the dead-letter queue. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

/** Visibility timeout of a new queue that no worker constrains. */
const DEFAULT_VISIBILITY = Duration.seconds(30);

/** Grants and metrics every work queue has, from its queue and dead-letter queue. */
abstract class WorkQueueBase extends Construct implements IWorkQueue {
  public abstract readonly queue: sqs.IQueue;
  public abstract readonly deadLetterQueue?: sqs.IQueue;
  public abstract readonly encryptionKey?: kms.IKey;
  public abstract readonly fifo: boolean;
  public abstract readonly maxReceiveCount?: number;
  public abstract readonly visibilityTimeoutSeconds?: number;
  public abstract ensureVisibilityTimeout(atLeast: Duration, requiredBy: string): void;

  /**
   * Lets `grantee` send jobs: `sqs:SendMessage` (batches included) and, on a KMS queue, exactly
   * `kms:GenerateDataKey` and `kms:Decrypt` on its key.
   */
  public grantSendJobs(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipalOrResource({ grantee, actions: SEND_ACTIONS, resourceArns: [this.queue.queueArn], resource: this.queue });
    this.encryptionKey?.grant(grantee, ...SEND_KMS_ACTIONS);
    return grant;
  }

  /** `CLOUD_PATTERNS_JOBS_QUEUE_URL`: the queue's URL, as `JobClient.fromEnvironment()` reads it. */
  public get environment(): { readonly [name: string]: string } {
    return { [JOBS_QUEUE_URL_ENV]: this.queue.queueUrl };
  }

  /** The same as {@link grantConsumeJobs}: reading a queue is taking its jobs. */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.grantConsumeJobs(grantee);
  }

  /** The same as {@link grantSendJobs}: writing to a queue is sending jobs. */
  public grantWrite(grantee: iam.IGrantable): iam.Grant {
    return this.grantSendJobs(grantee);
  }

  /** Both {@link grantSendJobs} and {@link grantConsumeJobs}. */
  public grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    return this.grantSendJobs(grantee).combine(this.grantConsumeJobs(grantee));
  }

  /**
   * Lets `grantee` take, finish and extend jobs: receive, delete and change visibility
   * (also in batches), and decrypt with the KMS key. Nothing else: no purge, no attributes.
   */
  public grantConsumeJobs(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: CONSUME_ACTIONS,
      resourceArns: [this.queue.queueArn],
      resource: this.queue,
    });
    this.encryptionKey?.grantDecrypt(grantee);
    return grant;
  }

  /** Jobs waiting to be taken (`ApproximateNumberOfMessagesVisible`, maximum over 1 minute). */
  public metricBacklog(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }

  /** Jobs taken by a worker and not yet finished (`ApproximateNumberOfMessagesNotVisible`). */
  public metricJobsInFlight(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }

  /** Age in seconds of the oldest waiting job (`ApproximateAgeOfOldestMessage`, maximum over 1 minute). */
  public metricOldestJobAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }

  /** Jobs in the dead-letter queue. Throws when there is none known. */
  public metricDeadLetterJobs(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!this.deadLetterQueue) {
      throw new PatternPropsError(this.node.path, [{
        failed: true,
        prop: 'deadLetterQueue',
        message: 'is not known, received none, so there is no dead-letter metric. Pass `deadLetterQueue` with an existing `queue` (or `deadLetterQueueArn` to `WorkQueue.fromWorkQueueAttributes`).',
      }]);
    }
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }

  /** Checks a known visibility timeout against a worker's need. */
  protected checkKnownVisibility(have: number, need: number, requiredBy: string, fix: string): void {
    if (have < need) {
      throw new PatternPropsError(this.node.path, [{
        failed: true,
        prop: 'visibilityTimeout',
        message: `is ${have} seconds, but ${requiredBy} needs at least ${need} seconds. ${fix}`,
      }]);
    }
  }
}

/**
 * A job queue with a dead-letter queue, encryption at rest, a TLS-only policy and alarms.
 *
 * @example
 * const jobs = new WorkQueue(this, 'Jobs', { maxReceiveCount: 3 });
 * new LambdaWorker(this, 'Worker', { workQueue: jobs, entry: 'src/resize-image.ts' });
 * jobs.grantSendJobs(apiFunction);
 */
export class WorkQueue extends WorkQueueBase {
  /**
   * A work queue made in another stack or app, for workers and senders: no queue and no alarm is
   * created (its own app keeps those). What the app cannot read at synth time (visibility timeout,
   * receive count) can be given so workers check it; otherwise each worker warns what to verify.
   *
   * @example
   * const jobs = WorkQueue.fromWorkQueueAttributes(this, 'Jobs', {
   *   queueArn: 'arn:aws:sqs:eu-west-1:123456789012:jobs',
   *   deadLetterQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:jobs-dlq',
   *   visibilityTimeout: Duration.minutes(3),
   * });
   * new LambdaWorker(this, 'Worker', { workQueue: jobs, entry: 'src/resize-image.ts' });
   */
  public static fromWorkQueueAttributes(scope: Construct, id: string, attrs: WorkQueueAttributes): IWorkQueue {
    return new ImportedWorkQueue(scope, id, attrs);
  }

  /** @deprecated Use {@link WorkQueue.fromWorkQueueAttributes}, the name every construct's import has. */
  public static fromQueueAttributes(scope: Construct, id: string, attrs: WorkQueueAttributes): IWorkQueue {
    return WorkQueue.fromWorkQueueAttributes(scope, id, attrs);
  }

  /** The queue jobs are sent to. */
  public readonly queue: sqs.IQueue;
  /** Where jobs go after `maxReceiveCount` failed receives; undefined for an existing queue given without one. */
  public readonly deadLetterQueue?: sqs.IQueue;
  /** The KMS key of the queues, when they use KMS. */
  public readonly encryptionKey?: kms.IKey;
  /** Receives before a job is dead-lettered; undefined for an existing queue (not known here). */
  public readonly maxReceiveCount?: number;
  /** Whether this is a FIFO queue. */
  public readonly fifo: boolean;
  /** True when this construct created the queue (and so controls its settings). */
  public readonly createdQueue: boolean;
  /** Fires when the dead-letter queue holds any job; undefined without a dead-letter queue. */
  public readonly deadLetterAlarm?: cloudwatch.Alarm;
  /** Fires when the oldest waiting job is older than `oldestJobAgeThreshold`. */
  public readonly oldestJobAgeAlarm: cloudwatch.Alarm;

  private readonly explicitVisibility?: Duration;
  private readonly visibilityNeeds: { readonly seconds: number; readonly by: string }[] = [];

  constructor(scope: Construct, id: string, props: WorkQueueProps = {}) {
    super(scope, id);

    const byo = props.queue !== undefined;
    const fifo = props.fifo ?? props.queue?.fifo ?? false;
    const encryption = resolveEncryption(props, WorkQueueEncryption.KMS, WorkQueueEncryption.SQS_MANAGED, 'WorkQueueEncryption');
    const retention = props.retentionPeriod ?? Duration.days(14);
    const maxReceiveCount = props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    const oldestJobAgeThreshold = props.oldestJobAgeThreshold ?? Duration.minutes(15);

    const seconds = (d?: Duration) => (d === undefined ? undefined : d.toSeconds());
    assertProps(this, [
      existingResourceRule('queue', props, ['fifo', 'queueName', 'encryption', 'encryptionKey', 'visibilityTimeout', 'retentionPeriod', 'maxReceiveCount', 'removalPolicy'], 'WorkQueue'),
      ...encryption.rules,
      {
        failed: outsideInt(props.maxReceiveCount, 1, 1000),
        prop: 'maxReceiveCount',
        message: `must be an integer from 1 to 1000, received ${props.maxReceiveCount}.`,
      },
      {
        failed: outsideInt(seconds(props.retentionPeriod), 60, 1_209_600),
        prop: 'retentionPeriod',
        message: `must be from 60 seconds to 14 days, received ${seconds(props.retentionPeriod)} seconds.`,
      },
      {
        failed: outsideInt(seconds(props.visibilityTimeout), 0, 43_200),
        prop: 'visibilityTimeout',
        message: `must be from 0 to 43,200 seconds (12 hours), received ${seconds(props.visibilityTimeout)} seconds.`,
      },
      {
        failed: outsideInt(seconds(oldestJobAgeThreshold), 60, 1_209_600),
        prop: 'oldestJobAgeThreshold',
        message: `must be from 1 minute to 14 days, received ${seconds(oldestJobAgeThreshold)} seconds.`,
      },
      {
        failed: !byo && props.deadLetterQueue !== undefined && props.deadLetterQueue.fifo !== fifo,
        prop: 'deadLetterQueue',
        message: `must be ${fifo ? 'a FIFO' : 'a standard'} queue like the work queue (fifo: ${fifo}), received ${props.deadLetterQueue?.fifo ? 'a FIFO' : 'a standard'} queue.`,
      },
      {
        failed: props.queueName !== undefined && !Token.isUnresolved(props.queueName) && fifo !== props.queueName.endsWith('.fifo'),
        prop: 'queueName',
        message: `a FIFO queue's name must end in ".fifo" and a standard queue's must not; received "${props.queueName}" with fifo: ${fifo}.`,
      },
    ]);

    this.fifo = fifo;
    this.createdQueue = !byo;
    this.explicitVisibility = props.visibilityTimeout;

    if (props.queue) {
      this.queue = props.queue;
      this.deadLetterQueue = props.deadLetterQueue;
      this.encryptionKey = props.queue.encryptionMasterKey;
    } else {
      // sqs.Queue's own KMS key has rotation off (AwsSolutions-KMS5); ours has it on.
      this.encryptionKey = encryptionKeyFor(this, encryption, props.encryptionKey, { description: `Encrypts the jobs of ${this.node.path}`, removalPolicy: props.removalPolicy });
      const atRest = encryption.kms
        ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: this.encryptionKey }
        : { encryption: sqs.QueueEncryption.SQS_MANAGED };
      const dlqName = props.queueName === undefined || Token.isUnresolved(props.queueName)
        ? undefined
        : props.queueName.replace(/(\.fifo)?$/, (m) => `-dlq${m}`);
      this.deadLetterQueue = props.deadLetterQueue ?? new sqs.Queue(this, 'DeadLetterQueue', {
        ...atRest,
        fifo: fifo || undefined,
        queueName: dlqName,
        retentionPeriod: retention,
        enforceSSL: true,
        removalPolicy: props.removalPolicy,
      });
      if (!props.deadLetterQueue) {
        Validations.of(this.deadLetterQueue).acknowledge({
          id: 'Serverless-SQSRedrivePolicy',
          reason: 'This is the dead-letter queue of the work queue: a dead-letter queue of its own would only move failed jobs once more. Its alarm reports them.',
        });
      }
      this.maxReceiveCount = maxReceiveCount;
      this.queue = new sqs.Queue(this, 'Queue', {
        ...atRest,
        fifo: fifo || undefined,
        contentBasedDeduplication: fifo || undefined,
        queueName: props.queueName,
        retentionPeriod: retention,
        // Resolved at synth: the longest visibility any attached worker needs.
        visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(Lazy.number({ produce: () => this.resolvedVisibilitySeconds() })),
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
        enforceSSL: true,
        removalPolicy: props.removalPolicy,
      });
    }

    const action = props.alarmTopic ? new cwActions.SnsAction(props.alarmTopic) : undefined;
    if (this.deadLetterQueue) {
      this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
        alarmDescription: `Jobs of ${this.node.path} failed ${this.maxReceiveCount ?? 'too many'} times and wait in the dead-letter queue.`,
        metric: this.metricDeadLetterJobs(),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (action) this.deadLetterAlarm.addAlarmAction(action);
    }
    this.oldestJobAgeAlarm = new cloudwatch.Alarm(this, 'OldestJobAgeAlarm', {
      alarmDescription: `The oldest waiting job of ${this.node.path} is older than ${oldestJobAgeThreshold.toHumanString()}: workers are down or too few.`,
      metric: this.metricOldestJobAge(),
      threshold: oldestJobAgeThreshold.toSeconds(),
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (action) this.oldestJobAgeAlarm.addAlarmAction(action);
  }

  /**
   * Records that a worker needs the queue's visibility timeout to be at least `atLeast`.
   * A queue this construct created with the default timeout gets the longest need; an
   * explicit `visibilityTimeout` that is too short throws; an existing queue cannot be
   * checked here, so it gets a warning that says what to verify.
   *
   * @param atLeast the shortest visibility timeout the worker can live with
   * @param requiredBy who needs it and why, used in messages (e.g. "Worker: 6 x timeout 30 s + batching window 0 s")
   */
  public ensureVisibilityTimeout(atLeast: Duration, requiredBy: string): void {
    const need = atLeast.toSeconds();
    if (!this.createdQueue) {
      Annotations.of(this).addWarningV2(
        'cdk-cloud-patterns:unchecked-visibility-timeout',
        `The visibility timeout of an existing queue cannot be checked at synth time: make sure it is at least ${need} seconds (${requiredBy}), or jobs will be delivered twice while still running.`,
      );
      return;
    }
    if (this.explicitVisibility !== undefined) {
      const have = this.explicitVisibility.toSeconds();
      if (!Token.isUnresolved(have)) {
        this.checkKnownVisibility(have, need, requiredBy, `Raise visibilityTimeout to ${need} seconds or more, or leave it unset so WorkQueue picks it.`);
      }
      if (Token.isUnresolved(have)) {
        Annotations.of(this).addWarningV2(
          'cdk-cloud-patterns:unchecked-visibility-timeout',
          `visibilityTimeout is a deploy-time value and cannot be checked: make sure it is at least ${need} seconds (${requiredBy}).`,
        );
      }
      return;
    }
    this.visibilityNeeds.push({ seconds: need, by: requiredBy });
  }

  /** The visibility timeout of the queue in seconds, when known at synth time. */
  public get visibilityTimeoutSeconds(): number | undefined {
    if (!this.createdQueue) return undefined;
    if (this.explicitVisibility !== undefined) {
      const s = this.explicitVisibility.toSeconds();
      return isKnown(s) ? s : undefined;
    }
    return this.resolvedVisibilitySeconds();
  }

  private resolvedVisibilitySeconds(): number {
    return Math.max(DEFAULT_VISIBILITY.toSeconds(), ...this.visibilityNeeds.map((n) => n.seconds));
  }
}

/** A work queue of another stack or app: see {@link WorkQueue.fromWorkQueueAttributes}. */
class ImportedWorkQueue extends WorkQueueBase {
  public readonly queue: sqs.IQueue;
  public readonly deadLetterQueue?: sqs.IQueue;
  public readonly encryptionKey?: kms.IKey;
  public readonly fifo: boolean;
  public readonly maxReceiveCount?: number;
  public readonly visibilityTimeoutSeconds?: number;

  constructor(scope: Construct, id: string, attrs: WorkQueueAttributes) {
    super(scope, id);
    const visibility = attrs.visibilityTimeout?.toSeconds();
    const known = !Token.isUnresolved(attrs.queueArn);
    const name = known ? /^arn:[^:]+:sqs:[^:]*:[^:]*:([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/.exec(attrs.queueArn)?.[1] : undefined;
    const fifo = attrs.fifo ?? name?.endsWith('.fifo') ?? false;
    assertProps(this, [
      {
        failed: known && name === undefined,
        prop: 'queueArn',
        message: `must be an SQS queue ARN like "arn:aws:sqs:eu-west-1:123456789012:jobs", received "${attrs.queueArn}".`,
      },
      {
        failed: outsideInt(attrs.maxReceiveCount, 1, 1000),
        prop: 'maxReceiveCount',
        message: `must be an integer from 1 to 1000, received ${attrs.maxReceiveCount}.`,
      },
      {
        failed: outsideInt(visibility, 0, 43_200),
        prop: 'visibilityTimeout',
        message: `must be from 0 to 43,200 seconds (12 hours), received ${visibility} seconds.`,
      },
    ]);
    this.fifo = fifo;
    this.encryptionKey = attrs.encryptionKey;
    this.maxReceiveCount = attrs.maxReceiveCount;
    this.visibilityTimeoutSeconds = isKnown(visibility) ? visibility : undefined;
    this.queue = sqs.Queue.fromQueueAttributes(this, 'Queue', {
      queueArn: attrs.queueArn,
      queueUrl: attrs.queueUrl,
      keyArn: attrs.encryptionKey?.keyArn,
      fifo,
    });
    this.deadLetterQueue = attrs.deadLetterQueueArn === undefined
      ? undefined
      : sqs.Queue.fromQueueAttributes(this, 'DeadLetterQueue', { queueArn: attrs.deadLetterQueueArn, fifo });
  }

  public ensureVisibilityTimeout(atLeast: Duration, requiredBy: string): void {
    const need = atLeast.toSeconds();
    if (this.visibilityTimeoutSeconds === undefined) {
      Annotations.of(this).addWarningV2(
        'cdk-cloud-patterns:unchecked-visibility-timeout',
        `The visibility timeout of an imported queue is not known at synth time: make sure it is at least ${need} seconds (${requiredBy}), or pass \`visibilityTimeout\` to WorkQueue.fromWorkQueueAttributes to have it checked.`,
      );
      return;
    }
    this.checkKnownVisibility(this.visibilityTimeoutSeconds, need, requiredBy,
      `The queue belongs to another app: raise its visibility timeout there to ${need} seconds or more, then pass the new value as \`visibilityTimeout\`.`);
  }
}
