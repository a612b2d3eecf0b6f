/**
 * RenderFarmStack as it deploys: the same handler module on a LambdaWorker and a FleetWorker
 * (from zero instances), the web app on a WebTier, its users in a Cognito user pool, the sweep's
 * lock table, grants that are what the running code calls, and plain HTTP only when chosen.
 * cdk-nag, cfn-lint and the snapshot come from the catalog test.
 */
import * as path from 'path';
import { App, Duration } from 'aws-cdk-lib/core';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { LOCK_DYNAMODB_ACTIONS, LOCK_TABLE_ENV } from '../../../contracts/locks';
import { RENDER_FARM_ENV, RENDER_WORKER_TIMEOUT_SECONDS } from '../../../contracts/render-farm';
import { VISIBILITY_TIMEOUT_ENV } from '../../../contracts/work-queue';
import { catalogAgentEntry, catalogWebEntry } from '../../../lib/stacks/catalog-code';
import { PLAIN_HTTP_DEMO_CONTEXT, PLAIN_HTTP_PARAMETER } from '../../../lib/stacks/demo-resources';
import { RenderFarmStack } from '../../../lib/stacks/render-farm-stack';
import { REPO_ROOT } from '../../support/paths';

// Bundling skipped: the catalog test synthesizes this stack with its programs. Plain HTTP chosen, as for a trial.
const newApp = (context: Record<string, unknown> = { [PLAIN_HTTP_DEMO_CONTEXT]: true }) => new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });

describe('RenderFarmStack', () => {
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

  test('lets the web servers do what the app calls: records, presigned reads, jobs to both queues, their depth, the fleet\'s size, the sweep\'s lock, confirming sign-ups', () => {
    const web = stack.web.role.roleName;
    expect(actionsOn(web, stack.storage.recordsTable!.tableArn)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(actionsOn(web, stack.locks.table.tableArn)).toEqual([...LOCK_DYNAMODB_ACTIONS].sort());
    // SignUp and InitiateAuth take no permission; AdminConfirmSignUp on this pool only (its ARN built from the pool's id)
    expect(statements).toEqual(expect.arrayContaining([expect.objectContaining({
      Sid: 'ConfirmSignUps',
      Action: 'cognito-idp:AdminConfirmSignUp',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cognito-idp:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':userpool/', stack.resolve(stack.users.userPoolId)]] },
    })]));
    expect(statements.flatMap((st: { Action: string | string[] }) => [st.Action].flat()).filter((a: string) => a.startsWith('cognito-idp:'))).toEqual(['cognito-idp:AdminConfirmSignUp']);
    expect(actionsOn(web, stack.storage.bucket.bucketArn)).toEqual(['s3:GetObject']);
    for (const q of [stack.smallRenders, stack.largeRenders]) expect(actionsOn(web, q.queue.queueArn)).toEqual(['sqs:GetQueueAttributes', 'sqs:SendMessage']);
    expect(statements).toEqual(expect.arrayContaining([expect.objectContaining({ Sid: 'DescribeFleetGroup', Action: 'autoscaling:DescribeAutoScalingGroups', Resource: '*' })]));
    expect(stack.web.programEnvironment).toMatchObject({
      [RENDER_FARM_ENV.smallQueueUrl]: stack.smallRenders.queue.queueUrl,
      [RENDER_FARM_ENV.largeQueueUrl]: stack.largeRenders.queue.queueUrl,
      [RENDER_FARM_ENV.fleetGroupName]: stack.fleet.autoScalingGroup.autoScalingGroupName,
      [RENDER_FARM_ENV.sessionSecretArn]: stack.sessionSecret.secretArn,
      [RENDER_FARM_ENV.plainHttp]: 'true',
      [RENDER_FARM_ENV.userPoolId]: stack.users.userPoolId,
      [RENDER_FARM_ENV.userPoolClientId]: stack.usersClient.userPoolClientId,
      [LOCK_TABLE_ENV]: stack.locks.table.tableName,
    });
  });

  test('keeps its users in a user pool with a strong password policy and threat protection enforced, and signs them in through a client without a secret or OAuth (USER_PASSWORD_AUTH)', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: { PasswordPolicy: { MinimumLength: 12, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true } },
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
      UsernameConfiguration: { CaseSensitive: false },
      AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'admin_only', Priority: 1 }] },
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: false,
      PreventUserExistenceErrors: 'ENABLED',
      UserPoolId: stack.resolve(stack.users.userPoolId),
    });
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
  });

  test('gives the workers the time limits the render budget was made to fit', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: RENDER_WORKER_TIMEOUT_SECONDS.lambda, MemorySize: 1024 });
    expect(stack.fleet.jobTimeoutSeconds).toBe(RENDER_WORKER_TIMEOUT_SECONDS.fleet);
    expect(stack.fleet.visibilityTimeoutSeconds).toBe(60);
  });

  test('hides a tile from other fleet workers for fleetVisibilityTimeout when given (the local cloud\'s run sets 5 s)', () => {
    const quick = new RenderFarmStack(newApp(), 'Quick', { fleetVisibilityTimeout: Duration.seconds(5) });
    expect(quick.fleet.programEnvironment[VISIBILITY_TIMEOUT_ENV]).toBe('5');
  });

  test('fails to deploy when it has no certificate and plain HTTP was not chosen: a CloudFormation rule refuses it, naming certificate, allowPlainHttp, the context value and the parameter', () => {
    // GIVEN no certificate and no choice
    const unchosen = new RenderFarmStack(newApp({}), 'Unchosen');
    const t = Template.fromStack(unchosen);

    // THEN its template holds a rule that holds only once the deploy-time parameter says "chosen", with the fixes in its message; synth warns the same
    const fixes = 'Unchosen has no certificate, and plain HTTP was not chosen.*`certificate`.*`allowPlainHttp: true`.*-c cdk-cloud-patterns:plain-http-demo=true.*--parameters Unchosen:PlainHttpChoice=chosen';
    t.hasParameter(PLAIN_HTTP_PARAMETER, { Default: 'not-chosen', AllowedValues: ['not-chosen', 'chosen'] });
    expect(t.toJSON().Rules.PlainHttpMustBeChosen).toEqual({
      Assertions: [{ Assert: { 'Fn::Equals': [{ Ref: PLAIN_HTTP_PARAMETER }, 'chosen'] }, AssertDescription: expect.stringMatching(new RegExp(fixes)) }],
    });
    Annotations.fromStack(unchosen).hasWarning('*', Match.stringLikeRegexp(`${fixes}.*CloudFormation refuses to deploy it until then`));
    Annotations.fromStack(unchosen).hasNoError('*', Match.anyValue()); // an error would stop the synthesis of every stack of the app
  });

  test('serves plain HTTP when it is chosen (the prop or the context value), with a warning; HTTPS with a certificate, with neither', () => {
    const byProp = new RenderFarmStack(newApp({}), 'ByProp', { allowPlainHttp: true });
    Annotations.fromStack(byProp).hasWarning('*', Match.stringLikeRegexp('serves its page and session cookie over plain HTTP, as chosen'));
    for (const chosen of [byProp, stack]) expect(Template.fromStack(chosen).toJSON().Rules.PlainHttpMustBeChosen).toBeUndefined(); // stack: by the context value
    const secured = new RenderFarmStack(newApp({}), 'Secured', { certificate: acm.Certificate.fromCertificateArn(new App(), 'Cert', 'arn:aws:acm:us-east-1:123456789012:certificate/abc') });
    expect(Template.fromStack(secured).toJSON().Rules.PlainHttpMustBeChosen).toBeUndefined();
    Annotations.fromStack(secured).hasNoWarning('*', Match.stringLikeRegexp('over plain HTTP, as chosen'));
    expect(secured.web.programEnvironment[RENDER_FARM_ENV.plainHttp]).toBe('false');
  });

  test('fails when the plain-HTTP context value is neither true nor false, naming it and the value', () => {
    expect(() => new RenderFarmStack(newApp({ [PLAIN_HTTP_DEMO_CONTEXT]: 'yes' }), 'Bad')).toThrow(/context cdk-cloud-patterns:plain-http-demo: must be true or false, received "yes"/);
  });

  test('outputs the page\'s URL', () => {
    template.hasOutput('Url', { Value: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [stack.getLogicalId(stack.web.loadBalancer.node.defaultChild as never), 'DNSName'] }, '/']] } });
  });

  test('fails when maxWorkers is outside 1 to 20, naming the prop and the value', () => {
    expect(() => new RenderFarmStack(newApp(), 'Bad', { maxWorkers: 0 })).toThrow(/maxWorkers.*received 0/);
  });
});
