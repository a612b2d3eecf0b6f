/** WorkQueue: its template for every default and option, its grants and metrics, and each validation rule. */
import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib/core';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AGENT_SQS_ACTIONS, JOBS_QUEUE_URL_ENV } from '../../../contracts/work-queue';
import { LambdaWorker, PatternPropsError, WorkQueue, WorkQueueEncryption, type WorkQueueProps } from '../../../lib';
import { nag } from '../../support/cdk-nag';
import { newStack, templateOf } from '../../support/stacks';

function build(props?: WorkQueueProps) {
  const { stack } = newStack();
  const workQueue = new WorkQueue(stack, 'Jobs', props);
  return {
    stack,
    workQueue,
    /** Synthesizes on first use, so tests may add to the stack before reading it. */
    get template() {
      return templateOf(stack);
    },
  };
}

describe('WorkQueue defaults', () => {
  const { stack, workQueue, template } = build();
  const queueArn = stack.resolve(workQueue.queue.queueArn);
  const dlqArn = stack.resolve(workQueue.deadLetterQueue!.queueArn);

  test('creates a queue and a dead-letter queue, both encrypted by SQS and kept 14 days', () => {
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
  });

  test('redrives a job to the dead-letter queue after 5 receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: { deadLetterTargetArn: dlqArn, maxReceiveCount: 5 } });
    expect(workQueue.maxReceiveCount).toBe(5);
  });

  test('gives the queue a 30 s visibility timeout when no worker asks for more', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 30, RedrivePolicy: Match.anyValue() });
    expect(workQueue.visibilityTimeoutSeconds).toBe(30);
  });

  test('denies every request without TLS on both queues', () => {
    for (const arn of [queueArn, dlqArn]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Resource: arn }),
          ]),
        },
      });
    }
  });

  test('alarms when any job reaches the dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: stack.resolve(workQueue.deadLetterQueue!.queueName) }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test('alarms when the oldest job waits more than 15 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: stack.resolve(workQueue.queue.queueName) }],
      Threshold: 900,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test('is a standard queue without a KMS key', () => {
    expect(workQueue.fifo).toBe(false);
    expect(workQueue.encryptionKey).toBeUndefined();
    template.resourceCountIs('AWS::KMS::Key', 0);
  });
});

describe('WorkQueue options', () => {
  test('makes FIFO queues with content-based deduplication, and names the dead-letter queue after the queue', () => {
    const { template } = build({ fifo: true, queueName: 'orders.fifo' });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'orders.fifo', FifoQueue: true, ContentBasedDeduplication: true });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'orders-dlq.fifo', FifoQueue: true });
  });

  test('encrypts both queues with a new rotating KMS key on request', () => {
    const { stack, workQueue, template } = build({ encryption: WorkQueueEncryption.KMS });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const keyArn = stack.resolve(workQueue.encryptionKey!.keyArn);
    const queues = template.findResources('AWS::SQS::Queue');
    for (const q of Object.values(queues)) expect(q.Properties.KmsMasterKeyId).toEqual(keyArn);
  });

  test('encrypts with the KMS key it is given without `encryption`, as sqs.Queue does', () => {
    // GIVEN a key and no `encryption`
    const { stack } = newStack();
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });
    // WHEN
    const workQueue = new WorkQueue(stack, 'Jobs', { encryptionKey: key });
    // THEN both queues use the key, and none is SQS-managed
    expect(workQueue.encryptionKey).toBe(key);
    const queues = Object.values(templateOf(stack).findResources('AWS::SQS::Queue'));
    expect(queues).toHaveLength(2);
    for (const q of queues) {
      expect(q.Properties.KmsMasterKeyId).toEqual(stack.resolve(key.keyArn));
      expect(q.Properties.SqsManagedSseEnabled).toBeUndefined();
    }
  });

  test('uses the KMS key it is given', () => {
    const { stack } = newStack();
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });
    const workQueue = new WorkQueue(stack, 'Jobs', { encryption: WorkQueueEncryption.KMS, encryptionKey: key });
    expect(workQueue.encryptionKey).toBe(key);
    templateOf(stack).resourceCountIs('AWS::KMS::Key', 1);
  });

  test('sets retention, visibility timeout, maxReceiveCount and the age threshold it is given', () => {
    const { template } = build({ retentionPeriod: Duration.days(4), visibilityTimeout: Duration.minutes(10), maxReceiveCount: 2, oldestJobAgeThreshold: Duration.hours(1) });
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 345_600, VisibilityTimeout: 600, RedrivePolicy: Match.objectLike({ maxReceiveCount: 2 }) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 3600 });
  });

  test('sends both alarms to the SNS topic it is given', () => {
    const { stack } = newStack();
    const topic = new sns.Topic(stack, 'Alarms');
    new WorkQueue(stack, 'Jobs', { alarmTopic: topic });
    const alarms = templateOf(stack).findResources('AWS::CloudWatch::Alarm');
    expect(Object.values(alarms).map((a) => a.Properties.AlarmActions)).toEqual([[stack.resolve(topic.topicArn)], [stack.resolve(topic.topicArn)]]);
  });

  test('uses a dead-letter queue it is given instead of creating one', () => {
    const { stack } = newStack();
    const dlq = new sqs.Queue(stack, 'MyDlq');
    const workQueue = new WorkQueue(stack, 'Jobs', { deadLetterQueue: dlq });
    expect(workQueue.deadLetterQueue).toBe(dlq);
    templateOf(stack).resourceCountIs('AWS::SQS::Queue', 2);
  });
});

describe('WorkQueue with an existing queue', () => {
  test('creates no queue, and alarms on the dead-letter queue only when it is given', () => {
    const { stack } = newStack();
    const queue = sqs.Queue.fromQueueArn(stack, 'Existing', 'arn:aws:sqs:us-east-1:123456789012:existing');
    const workQueue = new WorkQueue(stack, 'Jobs', { queue });
    const template = templateOf(stack);
    template.resourceCountIs('AWS::SQS::Queue', 0);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 1);
    expect(workQueue.queue).toBe(queue);
    expect(workQueue.createdQueue).toBe(false);
    expect(workQueue.deadLetterAlarm).toBeUndefined();
    expect(() => workQueue.metricDeadLetterJobs()).toThrow(/deadLetterQueue: is not known, received none.*Pass `deadLetterQueue`/);
    expect(() => workQueue.metricDeadLetterJobs()).toThrow(PatternPropsError);
  });

  test('warns that a worker\'s visibility timeout need cannot be checked', () => {
    const { stack } = newStack();
    const queue = sqs.Queue.fromQueueArn(stack, 'Existing', 'arn:aws:sqs:us-east-1:123456789012:existing');
    const workQueue = new WorkQueue(stack, 'Jobs', { queue });
    workQueue.ensureVisibilityTimeout(Duration.seconds(180), 'Worker');
    Annotations.fromStack(stack).hasWarning('/TestStack/Jobs', Match.stringLikeRegexp('cannot be checked.*at least 180 seconds'));
  });
});

describe('WorkQueue.fromWorkQueueAttributes', () => {
  const ARN = 'arn:aws:sqs:eu-west-1:123456789012:jobs';
  const code = () => lambda.Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] });');

  test('creates no queue and no alarm, and feeds a worker from the imported queue', () => {
    // GIVEN a queue of another app
    const { stack } = newStack();
    const jobs = WorkQueue.fromWorkQueueAttributes(stack, 'Jobs', { queueArn: ARN, visibilityTimeout: Duration.minutes(3) });
    // WHEN a worker takes jobs from it
    new LambdaWorker(stack, 'Worker', { workQueue: jobs, code: code() });
    // THEN
    const template = templateOf(stack);
    template.resourceCountIs('AWS::SQS::Queue', 0);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { EventSourceArn: ARN });
    expect(jobs.fifo).toBe(false);
    expect(jobs.visibilityTimeoutSeconds).toBe(180);
  });

  test('reads FIFO from the name, grants the key, and knows its dead-letter queue', () => {
    const { stack } = newStack();
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const jobs = WorkQueue.fromWorkQueueAttributes(stack, 'Jobs', {
      queueArn: 'arn:aws:sqs:eu-west-1:123456789012:orders.fifo',
      deadLetterQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:orders-dlq.fifo',
      encryptionKey: key,
    });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    jobs.grantConsumeJobs(role);
    expect(jobs.fifo).toBe(true);
    expect(jobs.metricDeadLetterJobs().dimensions).toEqual({ QueueName: 'orders-dlq.fifo' });
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'kms:Decrypt', Resource: key.keyArn })]) },
    });
  });

  test('warns that a worker\'s visibility timeout need cannot be checked when the timeout is not given', () => {
    const { stack } = newStack();
    const jobs = WorkQueue.fromWorkQueueAttributes(stack, 'Jobs', { queueArn: ARN });
    new LambdaWorker(stack, 'Worker', { workQueue: jobs, code: code() });
    Annotations.fromStack(stack).hasWarning('/TestStack/Jobs', Match.stringLikeRegexp('not known at synth time.*at least 180 seconds.*visibilityTimeout'));
  });

  test('fails when the given visibility timeout is shorter than a worker needs', () => {
    const { stack } = newStack();
    const jobs = WorkQueue.fromWorkQueueAttributes(stack, 'Jobs', { queueArn: ARN, visibilityTimeout: Duration.seconds(60) });
    expect(() => new LambdaWorker(stack, 'Worker', { workQueue: jobs, code: code() }))
      .toThrow(/visibilityTimeout: is 60 seconds, but TestStack\/Worker .* needs at least 180 seconds. The queue belongs to another app/);
  });

  test('fails when queueArn is not an SQS queue ARN', () => {
    const { stack } = newStack();
    expect(() => WorkQueue.fromWorkQueueAttributes(stack, 'Jobs', { queueArn: 'arn:aws:sns:eu-west-1:123456789012:topic' }))
      .toThrow(/queueArn: must be an SQS queue ARN like .*received "arn:aws:sns:eu-west-1:123456789012:topic"/);
  });

  test.each([
    ['maxReceiveCount', { maxReceiveCount: 0 }, /maxReceiveCount: must be an integer from 1 to 1000, received 0/],
    ['visibilityTimeout', { visibilityTimeout: Duration.hours(13) }, /visibilityTimeout: must be from 0 to 43,200 seconds \(12 hours\), received 46800 seconds/],
  ])('fails when %s is out of range', (_prop, attrs, message) => {
    const { stack } = newStack();
    expect(() => WorkQueue.fromWorkQueueAttributes(stack, 'Jobs', { queueArn: ARN, ...attrs })).toThrow(message);
  });
});

describe('WorkQueue as the other constructs: grants, environment, removal policy', () => {
  test('hands JobClient its queue through environment, created or imported alike', () => {
    const { stack } = newStack();
    const created = new WorkQueue(stack, 'Jobs');
    const imported = WorkQueue.fromWorkQueueAttributes(stack, 'Theirs', { queueArn: 'arn:aws:sqs:eu-west-1:123456789012:theirs' });
    expect(stack.resolve(created.environment)).toEqual({ [JOBS_QUEUE_URL_ENV]: stack.resolve(created.queue.queueUrl) });
    expect(stack.resolve(imported.environment)).toEqual({ [JOBS_QUEUE_URL_ENV]: stack.resolve(imported.queue.queueUrl) });
  });

  test('grantRead is taking jobs, grantWrite sending them, grantReadWrite both', () => {
    // GIVEN a queue and three roles
    const { stack } = newStack();
    const jobs = new WorkQueue(stack, 'Jobs');
    const role = (id: string) => new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const [reader, writer, both] = [role('Reader'), role('Writer'), role('Both')];
    // WHEN each is granted
    jobs.grantRead(reader);
    jobs.grantWrite(writer);
    jobs.grantReadWrite(both);
    // THEN each has exactly the actions of its verb
    const actions = (r: iam.Role) => Object.values(templateOf(stack).findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([stack.resolve(r.roleName)]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((st: { Action: string | string[] }) => [st.Action].flat())).sort();
    expect(actions(reader)).toEqual([...AGENT_SQS_ACTIONS].sort());
    expect(actions(writer)).toEqual(['sqs:SendMessage']);
    expect(actions(both)).toEqual([...AGENT_SQS_ACTIONS, 'sqs:SendMessage'].sort());
  });

  test('destroys its queues with the stack by default, and retains a key it creates', () => {
    // GIVEN a KMS queue with the default removal policy
    const { stack } = newStack();
    new WorkQueue(stack, 'Jobs', { encryption: WorkQueueEncryption.KMS });
    const template = templateOf(stack);
    // THEN the queues go with the stack (sqs.Queue's default) and the key stays (kms.Key's)
    const policies = (type: string) => Object.values(template.findResources(type)).map((r) => r.DeletionPolicy);
    expect(policies('AWS::SQS::Queue')).toEqual(['Delete', 'Delete']);
    expect(policies('AWS::KMS::Key')).toEqual(['Retain']);
  });

  test('retains its queues and its key with removalPolicy RETAIN', () => {
    const { stack } = newStack();
    new WorkQueue(stack, 'Jobs', { encryption: WorkQueueEncryption.KMS, removalPolicy: RemovalPolicy.RETAIN });
    const template = templateOf(stack);
    for (const type of ['AWS::SQS::Queue', 'AWS::KMS::Key']) {
      for (const resource of Object.values(template.findResources(type))) expect([type, resource.DeletionPolicy]).toEqual([type, 'Retain']);
    }
    template.resourceCountIs('AWS::SQS::Queue', 2);
  });

  test('fails when removalPolicy comes with an existing queue', () => {
    const { stack } = newStack();
    const queue = sqs.Queue.fromQueueArn(stack, 'Existing', 'arn:aws:sqs:us-east-1:123456789012:existing');
    expect(() => new WorkQueue(stack, 'Jobs', { queue, removalPolicy: RemovalPolicy.RETAIN })).toThrow(/queue \+ removalPolicy: an existing queue is used as it is/);
  });
});

describe('WorkQueue visibility timeout', () => {
  test('grows to the longest need of its workers', () => {
    const { stack } = newStack();
    const workQueue = new WorkQueue(stack, 'Jobs');
    workQueue.ensureVisibilityTimeout(Duration.seconds(180), 'A');
    workQueue.ensureVisibilityTimeout(Duration.seconds(600), 'B');
    templateOf(stack).hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 600, RedrivePolicy: Match.anyValue() });
  });

  test('fails when an explicit visibility timeout is shorter than a worker needs, naming both', () => {
    const { workQueue } = build({ visibilityTimeout: Duration.seconds(60) });
    expect(() => workQueue.ensureVisibilityTimeout(Duration.seconds(180), 'Stack/Worker (6 x timeout 30 s)'))
      .toThrow(/visibilityTimeout: is 60 seconds, but Stack\/Worker \(6 x timeout 30 s\) needs at least 180 seconds. Raise visibilityTimeout/);
    expect(() => workQueue.ensureVisibilityTimeout(Duration.seconds(180), 'Worker')).toThrow(PatternPropsError);
  });
});

describe('WorkQueue grants and metrics', () => {
  test('grantConsumeJobs allows exactly receive, delete and change visibility on the queue', () => {
    const { stack, workQueue } = build();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    workQueue.grantConsumeJobs(role);
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'], Resource: stack.resolve(workQueue.queue.queueArn) }] },
    });
  });

  test('grantConsumeJobs also allows decrypting with the queue\'s KMS key', () => {
    const { stack, workQueue } = build({ encryption: WorkQueueEncryption.KMS });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    workQueue.grantConsumeJobs(role);
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'kms:Decrypt', Resource: stack.resolve(workQueue.encryptionKey!.keyArn) })]) },
    });
  });

  test('grantSendJobs allows exactly sending to the queue', () => {
    const { stack, workQueue } = build();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    workQueue.grantSendJobs(role);
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: stack.resolve(workQueue.queue.queueArn) }] },
    });
  });

  test('grantSendJobs on a KMS queue allows exactly kms:GenerateDataKey and kms:Decrypt on its key', () => {
    const { stack, workQueue } = build({ encryption: WorkQueueEncryption.KMS });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    workQueue.grantSendJobs(role);
    templateOf(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: stack.resolve(workQueue.queue.queueArn) },
          { Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: stack.resolve(workQueue.encryptionKey!.keyArn) },
        ],
      },
    });
  });

  test('a user\'s sender on a KMS queue passes cdk-nag\'s AwsSolutions-IAM5 without an acknowledgement', () => {
    // GIVEN a user's function that sends jobs to a KMS-encrypted queue, checked by the AwsSolutions pack
    const { app, stack } = newStack();
    const workQueue = new WorkQueue(stack, 'Jobs', { encryption: WorkQueueEncryption.KMS });
    const sender = new iam.Role(stack, 'Sender', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    workQueue.grantSendJobs(sender);
    Validations.of(app).addPlugins(new nag.AwsSolutionsChecks(app));
    // WHEN it synthesizes THEN no finding stops it
    expect(() => app.synth()).not.toThrow();
  });

  test('exposes backlog, in-flight, oldest-age and dead-letter metrics of the right queues', () => {
    const { workQueue } = build();
    expect(workQueue.metricBacklog()).toMatchObject({ metricName: 'ApproximateNumberOfMessagesVisible', statistic: 'Maximum', namespace: 'AWS/SQS' });
    expect(workQueue.metricJobsInFlight()).toMatchObject({ metricName: 'ApproximateNumberOfMessagesNotVisible' });
    expect(workQueue.metricOldestJobAge({ period: Duration.minutes(5) })).toMatchObject({ metricName: 'ApproximateAgeOfOldestMessage', period: Duration.minutes(5) });
    expect(workQueue.metricDeadLetterJobs().dimensions).toEqual({ QueueName: workQueue.deadLetterQueue!.queueName });
  });
});

describe('WorkQueue validation', () => {
  const existing = (stack: ReturnType<typeof newStack>['stack']) => sqs.Queue.fromQueueArn(stack, 'Existing', 'arn:aws:sqs:us-east-1:123456789012:existing');

  test('fails when queue-shaping props come with an existing queue, listing them all in one error', () => {
    const { stack } = newStack();
    expect(() => new WorkQueue(stack, 'Jobs', { queue: existing(stack), fifo: true, maxReceiveCount: 3, retentionPeriod: Duration.days(1) }))
      .toThrow(/queue \+ fifo, retentionPeriod, maxReceiveCount: an existing queue is used as it is/);
  });

  test.each([0, 1001, 2.5])('fails when maxReceiveCount is %p', (maxReceiveCount) => {
    expect(() => build({ maxReceiveCount })).toThrow(new RegExp(`maxReceiveCount: must be an integer from 1 to 1000, received ${maxReceiveCount}`));
  });

  test('fails when retentionPeriod is under a minute', () => {
    expect(() => build({ retentionPeriod: Duration.seconds(30) })).toThrow(/retentionPeriod: must be from 60 seconds to 14 days, received 30 seconds/);
  });

  test('fails when visibilityTimeout is over 12 hours', () => {
    expect(() => build({ visibilityTimeout: Duration.hours(13) })).toThrow(/visibilityTimeout: must be from 0 to 43,200 seconds \(12 hours\), received 46800 seconds/);
  });

  test('fails when oldestJobAgeThreshold is under a minute', () => {
    expect(() => build({ oldestJobAgeThreshold: Duration.seconds(10) })).toThrow(/oldestJobAgeThreshold: must be from 1 minute to 14 days, received 10 seconds/);
  });

  test('fails when encryptionKey comes with SQS-managed encryption', () => {
    const { stack } = newStack();
    const key = new kms.Key(stack, 'Key');
    expect(() => new WorkQueue(stack, 'Jobs', { encryption: WorkQueueEncryption.SQS_MANAGED, encryptionKey: key }))
      .toThrow(/encryptionKey: means KMS encryption, but `encryption` is SQS_MANAGED\. Leave `encryption` out \(a key means WorkQueueEncryption\.KMS\) or remove `encryptionKey`/);
  });

  test('fails when the dead-letter queue is standard and the queue FIFO', () => {
    const { stack } = newStack();
    const dlq = new sqs.Queue(stack, 'Dlq');
    expect(() => new WorkQueue(stack, 'Jobs', { fifo: true, deadLetterQueue: dlq })).toThrow(/deadLetterQueue: must be a FIFO queue like the work queue \(fifo: true\), received a standard queue/);
  });

  test('fails when a FIFO queue name does not end in .fifo', () => {
    expect(() => build({ fifo: true, queueName: 'orders' })).toThrow(/queueName: a FIFO queue's name must end in ".fifo".*received "orders" with fifo: true/);
  });

  test('reports every broken rule at once', () => {
    expect(() => build({ maxReceiveCount: 0, retentionPeriod: Duration.seconds(1) })).toThrow(/maxReceiveCount[\s\S]*retentionPeriod/);
  });

  test('skips the checks of deploy-time values', () => {
    expect(() => build({ maxReceiveCount: Token.asNumber({ Ref: 'Count' }) })).not.toThrow();
  });
});
