/**
 * The local cloud's Lambda path, without the CDK CLI: a small stack created in moto by
 * CloudFormation (queue, dead-letter queue, results and idempotency tables, the demo handler's
 * real bundle from S3, an event source mapping), read back by the inventory and run by the
 * workloads exactly as `npm start` runs them. Short timeouts (function 2 s, visibility 4 s)
 * let the failure drill finish in seconds instead of the deployed stack's 180 s.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CATALOG_BUNDLE_FILE, CATALOG_BUNDLE_HANDLER, bundleHandler } from '../../../lib/stacks/catalog-code';
import { DEMO_JOBS_WORKLOAD, LAMBDA_WORKER_WORKLOAD } from '../../../contracts/work-queue';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { demoStatus, demoTargets, sendDemoJobs, type DemoTarget } from '../../../local/demo';
import { readInventory, type Inventory } from '../../../local/inventory';
import { runningPids } from '../../../local/processes';
import { sampleProgress } from '../../../local/progress';
import { startWorkloads, type Workload } from '../../../local/workloads';
import { deployDrill, drillContext } from '../../support/drill';
import { queueDepth, useLocalAws, waitFor } from '../../support/local-aws';
import { REPO_ROOT } from '../../support/paths';

const aws = useLocalAws();
const STACK = 'LambdaDrill';

/** A stack shaped like WorkQueueStack, with timeouts short enough for a test. */
function drillTemplate(bucket: string, key: string) {
  return {
    Resources: {
      Results: {
        Type: 'AWS::DynamoDB::Table',
        Properties: { KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'jobId', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' },
        Metadata: { [WORKLOAD_METADATA_KEY]: DEMO_JOBS_WORKLOAD.declare({ queueUrl: { Ref: 'Queue' } as never, deadLetterQueueUrl: { Ref: 'DeadLetterQueue' } as never }) },
      },
      Idempotency: { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' } },
      DeadLetterQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
      Queue: {
        Type: 'AWS::SQS::Queue',
        Properties: { VisibilityTimeout: 4, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] }, maxReceiveCount: 5 } },
      },
      Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] } } },
      Function: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Runtime: 'nodejs24.x',
          Handler: CATALOG_BUNDLE_HANDLER,
          Timeout: 2,
          MemorySize: 256,
          Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
          Code: { S3Bucket: bucket, S3Key: key },
          Environment: { Variables: { RESULTS_TABLE: { Ref: 'Results' }, CLOUD_PATTERNS_IDEMPOTENCY_TABLE: { Ref: 'Idempotency' } } },
        },
      },
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          FunctionName: { Ref: 'Function' },
          EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
          BatchSize: 5,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          ScalingConfig: { MaximumConcurrency: 2 },
        },
        Metadata: { [WORKLOAD_METADATA_KEY]: LAMBDA_WORKER_WORKLOAD.declare({ functionName: { Ref: 'Function' } as never, queueUrl: { Ref: 'Queue' } as never }) },
      },
      // An event source mapping that no LambdaWorker declares: the local cloud leaves it alone.
      Other: { Type: 'AWS::SQS::Queue', Properties: {} },
      Undeclared: { Type: 'AWS::Lambda::EventSourceMapping', Properties: { FunctionName: { Ref: 'Function' }, EventSourceArn: { 'Fn::GetAtt': ['Other', 'Arn'] } } },
    },
  };
}

describe('the local cloud running a deployed Lambda worker', () => {
  let workDir: string;
  let inventory: Inventory;
  let target: DemoTarget;
  let workloads: Workload[] = [];
  const notes: string[] = [];
  const startedAt = Date.now();

  beforeAll(async () => {
    // GIVEN the demo handler's real bundle, deployed by CloudFormation from S3
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-test-'));
    bundleHandler(path.join(REPO_ROOT, 'lambda', 'work-queue', 'demo-job.ts'), path.join(workDir, 'bundle'));
    const { cloudformation, s3 } = await deployDrill({
      bucket: 'drill-assets', key: 'demo-job.zip', name: CATALOG_BUNDLE_FILE, file: path.join(workDir, 'bundle', CATALOG_BUNDLE_FILE),
      stackName: STACK, template: drillTemplate('drill-assets', 'demo-job.zip'),
    });

    inventory = await readInventory(aws.moto.endpoint, { cloudformation, lambda: new LambdaClient({}), sqs: aws.sqs }, [STACK]);
    workloads = await startWorkloads(inventory, drillContext({ endpoint: aws.moto.endpoint, workDir, s3, sqs: aws.sqs, notes }));
    [target] = demoTargets(inventory);
  });

  afterAll(async () => {
    await Promise.all(workloads.map((w) => w.stop()));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('reads the mapping, function and queue settings from the embedded AWS', () => {
    // THEN the inventory holds what CloudFormation deployed, not what a construct said
    expect(inventory.sqsMappings.find((m) => m.logicalId === 'Mapping')).toEqual(expect.objectContaining({ batchSize: 5, maxConcurrency: 2, reportBatchItemFailures: true, enabled: true }));
    expect(inventory.functions).toEqual([expect.objectContaining({ handler: 'index.handler', timeoutSeconds: 2, memoryMb: 256 })]);
    expect(inventory.functions[0]!.environment.RESULTS_TABLE).toBe(target.resultsTable);
    expect(inventory.queues.find((q) => q.logicalId === 'Queue')).toEqual(expect.objectContaining({ visibilityTimeoutSeconds: 4, redrive: expect.objectContaining({ maxReceiveCount: 5 }) }));
    // and the queue URL reaches the embedded AWS, as a real queue URL reaches SQS
    expect(target.queueUrl).toMatch(new RegExp(`^${aws.moto.endpoint}/123456789012/`));
    // one workload: the declared mapping's; the undeclared one is not run
    expect(workloads).toHaveLength(1);
    expect(workloads[0]!.resources).toContain('Mapping');
    expect(workloads[0]!.title).toMatch(/batch 5, window 0 s, max concurrency 2, ReportBatchItemFailures, timeout 2 s, visibility 4 s/);
  });

  test('starts one sandbox of the function as it starts, before any job is sent, for the first batch to take', async () => {
    // (No job was sent yet: this test runs before the drill below.)
    expect(await queueDepth(aws.sqs, target.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    await waitFor('a warm sandbox', () => workloads[0]!.pids().length > 0, 10_000);
    expect(workloads[0]!.pids()).toHaveLength(1);
    expect(workloads[0]!.busyPids()).toEqual([]);
  });

  test('loses no job when a worker process is killed mid-batch: the batch comes back after the visibility timeout and is done', async () => {
    // GIVEN 20 jobs of some CPU work each, and a job that always fails (no job can be received
    // before sentAt)
    const sentAt = Date.now();
    const run = await sendDemoJobs(target, aws.sqs, 20, true);
    const [workload] = workloads;

    // WHEN a sandbox is killed while it runs a batch
    let killed: number | undefined;
    await waitFor('a sandbox running a batch', () => {
      killed = workload!.busyPids()[0];
      return killed !== undefined;
    }, 20_000, 5);
    process.kill(killed!, 'SIGKILL');

    // THEN the killed batch's messages come back after the 4 s visibility timeout and are consumed,
    // until only the failing job is left (in the queue or the dead-letter queue)
    const left = async () => {
      const [queue, dlq] = await Promise.all([queueDepth(aws.sqs, target.queueUrl), queueDepth(aws.sqs, target.deadLetterQueueUrl!)]);
      return queue.visible + queue.inFlight + dlq.visible + dlq.inFlight;
    };
    await waitFor('only the failing job to be left', async () => (await left()) === 1, 40_000, 250);
    // (the killed batch was received after sentAt, so it cannot be back before sentAt + 4 s; a
    // bound from the kill would depend on how late the poll above saw the batch, 558 ms once
    // under load)
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(4_000);
    // and every good job's effect was applied exactly once (a job whose effect was written and not
    // yet recorded as finished when the sandbox died ran again, as in AWS, and kept the first
    // result), the failing one never
    const status = await demoStatus(run, aws.dynamodb);
    expect(status.missing).toEqual([]);
    expect(status.failingDone).toBe(false);
    expect(status.duplicates.size).toBe(0);
    expect(status.reruns.size).toBeLessThanOrEqual(5); // the batch size
    expect(workload!.stats().crashed).toBeGreaterThanOrEqual(1);
    expect(workload!.pids()).not.toContain(killed);
    expect(notes).toContainEqual(expect.stringMatching(new RegExp(`sandbox ${killed} of Function was killed \\(SIGKILL\\) during an invocation: .*visibility timeout \\(4 s\\)`)));
    // AND the progress line counts every job finished (the 20 good ones; the failing one is never
    // deleted), sent by whoever: here not through a demo the local cloud knows of
    const [row] = await sampleProgress(inventory, workloads, [], { sqs: aws.sqs, dynamodb: aws.dynamodb }, startedAt);
    expect(row).toEqual(expect.objectContaining({ stackName: STACK, done: 20 }));
    expect(row!.demo).toBeUndefined();
  });

  test('leaves no process running once stopped', async () => {
    // WHEN the workloads stop
    await Promise.all(workloads.map((w) => w.stop()));

    // THEN none of their sandboxes is left
    expect(workloads.flatMap((w) => w.pids())).toEqual([]);
    expect(runningPids()).toEqual([]);
  });
});
