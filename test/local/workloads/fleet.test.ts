/**
 * The local cloud's FleetWorker path, without the CDK CLI: an Auto Scaling group created in moto
 * by CloudFormation with FleetWorker's declaration (the agent program, the real demo handler
 * bundled with the worker agent, in S3; the target backlog; the launch template whose user data
 * writes the agent's environment file), read back by the
 * inventory and run by the fleet workload as `npm start` runs it. A short visibility timeout
 * (4 s) and scale-in delay (2 s) let the drills finish in seconds.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { AGENT_PROGRAM_FILE, bundleAgentProgram } from '../../../lib/core/bundling';
import {
  CONCURRENCY_ENV, DEMO_JOBS_WORKLOAD, FLEET_AGENT_ENV_FILE, FLEET_ENV, FLEET_LIFECYCLE_HOOK_NAME, FLEET_WORKER_WORKLOAD, IDEMPOTENCY_TABLE_ENV,
  JOB_TIMEOUT_ENV, LIFECYCLE_HOOK_ENV, QUEUE_URL_ENV, STOP_TIMEOUT_ENV, VISIBILITY_TIMEOUT_ENV,
} from '../../../contracts/work-queue';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { BootStep } from '../../../lib/image-bootstrap/boot-steps';
import { renderBootScript } from '../../../lib/image-bootstrap/boot-script';
import { demoStatus, demoTargets, sendDemoJobs, type DemoTarget } from '../../../local/demo';
import { readInventory, type Inventory } from '../../../local/inventory';
import { runningPids } from '../../../local/processes';
import { sampleProgress } from '../../../local/progress';
import { desiredAgents, fleetAgentSpec, fleetWorkloadKind } from '../../../local/workloads/fleet';
import { startWorkloads, type Workload } from '../../../local/workloads';
import { deployDrill, drillContext } from '../../support/drill';
import { queueDepth, useLocalAws, waitFor } from '../../support/local-aws';
import { REPO_ROOT } from '../../support/paths';

const aws = useLocalAws();
const STACK = 'FleetDrill';

/**
 * The user data FleetWorker's boot script would hold: the real renderer's environment step for
 * the agent's file, with `@@LogicalId@@` placeholders turned into CloudFormation references.
 */
function userDataWith(variables: Record<string, string>) {
  const script = renderBootScript({ steps: [BootStep.environment('fleet-worker-env', variables, { path: FLEET_AGENT_ENV_FILE })] });
  const parts = script.split(/@@(\w+)@@/).map((part, i) => (i % 2 === 1 ? { Ref: part } : part));
  return { 'Fn::Base64': { 'Fn::Join': ['', parts] } };
}

/** A stack shaped like FleetWorkerStack: what matters to the local cloud is the group's declaration and its launch template's user data. */
function drillTemplate(programUrl: string) {
  return {
    Resources: {
      Results: {
        Type: 'AWS::DynamoDB::Table',
        Properties: { KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'jobId', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' },
        Metadata: { [WORKLOAD_METADATA_KEY]: DEMO_JOBS_WORKLOAD.declare({ queueUrl: { Ref: 'Queue' } as never, deadLetterQueueUrl: { Ref: 'DeadLetterQueue' } as never }) },
      },
      Idempotency: { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' } },
      DeadLetterQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
      Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 4, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] }, maxReceiveCount: 5 } } },
      Template: {
        Type: 'AWS::EC2::LaunchTemplate',
        Properties: {
          LaunchTemplateData: {
            ImageId: 'ami-12c6146b',
            InstanceType: 't4g.micro',
            UserData: userDataWith({
              [QUEUE_URL_ENV]: '@@Queue@@',
              [CONCURRENCY_ENV]: '2',
              [VISIBILITY_TIMEOUT_ENV]: '4',
              // The idempotency layer holds a job whose agent died until its deadline has passed.
              [JOB_TIMEOUT_ENV]: '3',
              [STOP_TIMEOUT_ENV]: '5',
              [FLEET_ENV]: '1',
              [LIFECYCLE_HOOK_ENV]: FLEET_LIFECYCLE_HOOK_NAME,
              [IDEMPOTENCY_TABLE_ENV]: '@@Idempotency@@',
              RESULTS_TABLE: '@@Results@@',
              // Longer than an Auto Scaling tag could hold: the user data has no such limit.
              NOTES: 'n'.repeat(1_000),
            }),
          },
        },
      },
      Group: {
        Type: 'AWS::AutoScaling::AutoScalingGroup',
        Properties: {
          MinSize: '0',
          MaxSize: '2',
          AvailabilityZones: ['us-east-1a'],
          LaunchTemplate: { LaunchTemplateId: { Ref: 'Template' }, Version: { 'Fn::GetAtt': ['Template', 'LatestVersionNumber'] } },
        },
        Metadata: {
          [WORKLOAD_METADATA_KEY]: FLEET_WORKER_WORKLOAD.declare({
            queueUrl: { Ref: 'Queue' } as never,
            program: programUrl,
            targetBacklogPerInstance: 2,
            launchTemplateId: { Ref: 'Template' } as never,
            environmentFile: FLEET_AGENT_ENV_FILE,
          }),
        },
      },
    },
  };
}

describe('the local cloud running a deployed FleetWorker group', () => {
  let workDir: string;
  let inventory: Inventory;
  let target: DemoTarget;
  let workloads: Workload[] = [];
  const notes: string[] = [];
  const startedAt = Date.now();

  beforeAll(async () => {
    // GIVEN the demo handler bundled with the worker agent, and a group whose tags point at it
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-fleet-'));
    bundleAgentProgram(path.join(REPO_ROOT, 'lambda', 'work-queue', 'demo-job.ts'), path.join(workDir, 'agent'));
    const { cloudformation, s3 } = await deployDrill({
      bucket: 'fleet-assets', key: 'agent.zip', name: AGENT_PROGRAM_FILE, file: path.join(workDir, 'agent', AGENT_PROGRAM_FILE),
      stackName: STACK, template: drillTemplate('s3://fleet-assets/agent.zip'),
    });

    const autoscaling = new AutoScalingClient({});
    inventory = await readInventory(aws.moto.endpoint, { cloudformation, lambda: new LambdaClient({}), sqs: aws.sqs, autoscaling }, [STACK]);
    workloads = await startWorkloads(inventory, drillContext({ endpoint: aws.moto.endpoint, workDir, s3, sqs: aws.sqs, autoscaling, notes }), [fleetWorkloadKind({ scaleEveryMs: 500, scaleInAfterMs: 2_000 })]);
    [target] = demoTargets(inventory);
  });

  afterAll(async () => {
    await Promise.all(workloads.map((w) => w.stop()));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('reads the group, its size and its agent from the embedded AWS, and runs no agent while the queue is empty', async () => {
    expect(inventory.autoScalingGroups).toEqual([expect.objectContaining({ minSize: 0, maxSize: 2 })]);
    expect(target).toEqual(expect.objectContaining({ stackName: STACK, queueUrl: inventory.queues.find((q) => q.logicalId === 'Queue')!.url }));
    // the agent's environment comes from the deployed launch template's user data, references resolved
    const [declared] = inventory.declarations(FLEET_WORKER_WORKLOAD);
    const spec = await fleetAgentSpec(declared!, inventory.autoScalingGroups[0]!, aws.moto.endpoint);
    expect(spec.environment).toEqual(expect.objectContaining({
      [QUEUE_URL_ENV]: target!.queueUrl, [CONCURRENCY_ENV]: '2', RESULTS_TABLE: target!.resultsTable, NOTES: 'n'.repeat(1_000),
    }));
    expect(workloads).toHaveLength(1);
    expect(workloads[0]!.title).toMatch(/min 0, max 2, target backlog 2 per agent, concurrency 2 per agent, visibility 4 s/);
    expect(workloads[0]!.stats().processes).toBe(0);
  });

  test('grows the farm with the backlog, loses no job when an agent is killed mid-job, and shrinks when the queue empties', async () => {
    // (A job killed between its effect and the record of its end runs again, as in AWS: the
    // demo's conditional write keeps its effect once and counts the rerun.)
    // GIVEN 20 jobs of heavy hashing: 10 waiting jobs per agent wanted, so the maximum of 2 agents
    const run = await sendDemoJobs(target, aws.sqs, 20, false, 100_000);
    const [fleet] = workloads;
    await waitFor('two agents', () => fleet!.stats().processes === 2, 20_000, 100);

    // WHEN an agent is killed while jobs run
    await waitFor('a first job done', async () => (await demoStatus(run, aws.dynamodb)).done > 0, 30_000, 100);
    const killed = fleet!.busyPids()[0]!;
    process.kill(killed, 'SIGKILL');

    // THEN it is replaced, no job is lost, and the agents stop once the queue is empty
    await waitFor('every job done and the queue empty', async () => {
      const depth = await queueDepth(aws.sqs, target.queueUrl);
      return depth.visible + depth.inFlight === 0 && (await demoStatus(run, aws.dynamodb)).done === 20;
    }, 60_000, 250);
    // and every job's effect was applied exactly once; a job whose effect was written and not yet
    // recorded as finished when its agent died ran again (at most the agent's 2 running jobs)
    const status = await demoStatus(run, aws.dynamodb);
    expect(status.missing).toEqual([]);
    expect(status.duplicates.size).toBe(0);
    expect(status.reruns.size).toBeLessThanOrEqual(2);
    expect(fleet!.stats().crashed).toBe(1);
    expect(notes).toContainEqual(expect.stringMatching(new RegExp(`worker agent ${killed} of Group was killed \\(SIGKILL\\): its jobs come back after their visibility timeout \\(4 s`)));
    await waitFor('the farm to shrink to its minimum of 0', () => fleet!.stats().processes === 0, 30_000, 250);
    // AND the progress line counted every job the agents finished: sent here with a JobClient, not
    // as a demo of the local cloud (before, the agents' jobs read "done 0")
    const [row] = await sampleProgress(inventory, workloads, [], { sqs: aws.sqs, dynamodb: aws.dynamodb }, startedAt);
    expect(row).toEqual(expect.objectContaining({ stackName: STACK, done: 20, backlog: 0, inFlight: 0 }));
    expect(row!.demo).toBeUndefined();
  }, 120_000);

  test('leaves no process running once stopped', async () => {
    await Promise.all(workloads.map((w) => w.stop()));
    expect(runningPids()).toEqual([]);
  });
});

describe('the local Auto Scaling of a fleet', () => {
  test.each([
    [0, 2, 0, 2, 0],
    [1, 2, 0, 2, 1],
    [5, 2, 0, 2, 2],
    [31, 2, 0, 20, 16],
    [0, 2, 1, 3, 1],
  ])('with %i jobs waiting, a target of %i per agent and sizes %i to %i, wants %i agents', (waiting, target, min, max, want) => {
    expect(desiredAgents(waiting, target, min, max)).toBe(want);
  });
});
