/**
 * RenderFarmStack as it deploys: the same handler module on a LambdaWorker and a FleetWorker
 * (from zero instances), the web app on a WebTier, and grants that are what the running code
 * calls. cdk-nag, cfn-lint and the snapshot come from the catalog test.
 */
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RENDER_FARM_ENV } from '../../../contracts/render-farm';
import { catalogAgentEntry, catalogWebEntry } from '../../../lib/stacks/catalog-code';
import { RenderFarmStack } from '../../../lib/stacks/render-farm-stack';
import { REPO_ROOT } from '../../support/paths';
import '../../support/stacks'; // CDK_VALIDATION=false for template tests

// Bundling skipped: the catalog test synthesizes this stack with its programs.
const newApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

describe('RenderFarmStack', () => {
  process.env.CDK_VALIDATION = 'false';
  const stack = new RenderFarmStack(newApp(), 'RenderFarmStack');
  const template = Template.fromStack(stack);
  const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
  /** The actions a role's policies allow on resources whose ARN mentions `arn`. */
  const actionsOn = (role: unknown, arn: unknown) => [...new Set(Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(JSON.stringify(stack.resolve(role))))
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s: { Resource: unknown }) => JSON.stringify(s.Resource).includes(JSON.stringify(stack.resolve(arn))))
    .flatMap((s: { Action: string | string[] }) => [s.Action].flat()))].sort();

  test('runs one handler module, lambda/render-farm/render-job.ts, on both workers, and the web app apps/render-farm/web-app.ts', () => {
    expect(catalogAgentEntry('render-farm/render-job')).toBe(path.join(REPO_ROOT, 'lambda', 'render-farm', 'render-job.ts'));
    expect(catalogWebEntry('render-farm/web-app')).toBe(path.join(REPO_ROOT, 'apps', 'render-farm', 'web-app.ts'));
  });

  test('costs nothing for workers while idle: the fleet scales from 0 to 4 instances, the Lambda worker is per request', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '0', MaxSize: '4' });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '2', MaxSize: '4' });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  test('lets each worker read and write content-addressed objects, read and update render records, and send to its own queue only', () => {
    for (const [worker, own, other] of [
      [stack.lambdaWorker.role.roleName, stack.smallRenders, stack.largeRenders],
      [stack.fleet.role.roleName, stack.largeRenders, stack.smallRenders],
    ] as const) {
      expect(actionsOn(worker, stack.storage.recordsTable!.tableArn)).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
      expect(actionsOn(worker, stack.storage.bucket.bucketArn)).toEqual(['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject']);
      expect(actionsOn(worker, own.queue.queueArn)).toContain('sqs:SendMessage');
      expect(actionsOn(worker, other.queue.queueArn)).toEqual([]);
    }
  });

  test('lets the web servers do what the app calls: records, presigned reads, jobs to both queues, their depth, the fleet\'s size', () => {
    const web = stack.web.role.roleName;
    expect(actionsOn(web, stack.storage.recordsTable!.tableArn)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(actionsOn(web, stack.storage.bucket.bucketArn)).toEqual(['s3:GetObject']);
    for (const q of [stack.smallRenders, stack.largeRenders]) expect(actionsOn(web, q.queue.queueArn)).toEqual(['sqs:GetQueueAttributes', 'sqs:SendMessage']);
    expect(statements).toEqual(expect.arrayContaining([expect.objectContaining({ Sid: 'DescribeFleetGroup', Action: 'autoscaling:DescribeAutoScalingGroups', Resource: '*' })]));
    expect(stack.web.programEnvironment).toMatchObject({
      [RENDER_FARM_ENV.smallQueueUrl]: stack.smallRenders.queue.queueUrl,
      [RENDER_FARM_ENV.largeQueueUrl]: stack.largeRenders.queue.queueUrl,
      [RENDER_FARM_ENV.fleetGroupName]: stack.fleet.autoScalingGroup.autoScalingGroupName,
      [RENDER_FARM_ENV.sessionSecretArn]: stack.sessionSecret.secretArn,
      [RENDER_FARM_ENV.plainHttp]: 'true',
    });
  });

  test('outputs the page\'s URL', () => {
    template.hasOutput('Url', { Value: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [stack.getLogicalId(stack.web.loadBalancer.node.defaultChild as never), 'DNSName'] }, '/']] } });
  });

  test('fails when maxWorkers is outside 1 to 20, naming the prop and the value', () => {
    expect(() => new RenderFarmStack(newApp(), 'Bad', { maxWorkers: 0 })).toThrow(/maxWorkers.*received 0/);
  });
});
