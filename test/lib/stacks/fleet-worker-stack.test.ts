/**
 * FleetWorkerStack as it deploys: the demo handler on a fleet that starts empty, in a VPC
 * without NAT, granted its results table, with the outputs users and the local cloud read.
 * cdk-nag, cfn-lint and the snapshot come from the catalog test, like every catalog stack's.
 */
import * as path from 'path';
import { App } from 'aws-cdk-lib/core';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { catalogAgentEntry } from '../../../lib/stacks/catalog-code';
import { FleetWorkerStack, type FleetWorkerStackProps } from '../../../lib/stacks/fleet-worker-stack';
import { REPO_ROOT } from '../../support/paths';


function newFleetStack(props: FleetWorkerStackProps = {}) {
  const stack = new FleetWorkerStack(new App(), 'FleetWorkerStack', props);
  return { stack, template: Template.fromStack(stack) };
}

describe('FleetWorkerStack', () => {
  const { stack, template } = newFleetStack();

  test('runs the demo job handler, the module WorkQueueStack\'s Lambda worker runs, bundled with the agent', () => {
    expect(catalogAgentEntry('work-queue/demo-job')).toBe(path.join(REPO_ROOT, 'lambda', 'work-queue', 'demo-job.ts'));
    expect(stack.fleet.program.isZipArchive).toBe(true);
  });

  test('starts with no instance and at most 2, in public subnets of a VPC without NAT gateways or Lambda-backed resources', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '0', MaxSize: '2', VPCZoneIdentifier: stack.resolve(stack.vpc.publicSubnets.map((s) => s.subnetId)),
    });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    const types = Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types.filter((t) => t.startsWith('Custom::') || t === 'AWS::CloudFormation::CustomResource')).toEqual([]);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
  });

  test('runs the demo jobs with idempotency, two at a time per instance, and lets them write only results', () => {
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { TargetTrackingConfiguration: Match.objectLike({ TargetValue: 2 }) });
    expect(stack.fleet.programEnvironment).toMatchObject({ CLOUD_PATTERNS_CONCURRENCY: '2', RESULTS_TABLE: stack.resultsTable.tableName });
    expect(stack.fleet.idempotencyTable).toBeDefined();
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const resultsArn = JSON.stringify(stack.resolve(stack.resultsTable.tableArn));
    expect(statements.filter((s) => JSON.stringify(s.Resource).includes(resultsArn))).toEqual([expect.objectContaining({ Action: 'dynamodb:UpdateItem' })]);
  });

  test('outputs the queues, the results table, the group and its log group', () => {
    const outputs = Object.keys(template.findOutputs('*')).sort();
    expect(outputs).toEqual(['AutoScalingGroupName', 'DeadLetterQueueUrl', 'QueueUrl', 'ResultsTableName', 'WorkerLogGroupName']);
    template.hasOutput('AutoScalingGroupName', { Value: stack.resolve(stack.fleet.autoScalingGroup.autoScalingGroupName) });
  });

  test('fails when maxCapacity is over 20', () => {
    expect(() => newFleetStack({ maxCapacity: 21 })).toThrow(/maxCapacity: must be an integer from 1 to 20.*received 21/);
  });
});
