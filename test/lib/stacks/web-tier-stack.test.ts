/**
 * WebTierStack as it deploys: the demo app bundled with the web server, 2 to 4 servers in a VPC
 * without NAT, the shared visits table it may read and count in, and the outputs users and the
 * local cloud read. cdk-nag, cfn-lint and the snapshot come from the catalog test.
 */
import * as path from 'path';
import { App } from 'aws-cdk-lib/core';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { catalogWebEntry } from '../../../lib/stacks/catalog-code';
import { PLAIN_HTTP_DEMO_CONTEXT } from '../../../lib/stacks/demo-resources';
import { WebTierStack } from '../../../lib/stacks/web-tier-stack';
import { REPO_ROOT } from '../../support/paths';


describe('WebTierStack', () => {
  // Bundling skipped: the catalog test synthesizes this stack with its program. Plain HTTP chosen, as for a trial.
  const newApp = (context: Record<string, unknown> = { [PLAIN_HTTP_DEMO_CONTEXT]: 'true' }) => new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new WebTierStack(newApp(), 'WebTierStack');
  const template = Template.fromStack(stack);

  test('serves the demo app, apps/web-tier/demo-app.ts, bundled with the web server', () => {
    expect(catalogWebEntry('web-tier/demo-app')).toBe(path.join(REPO_ROOT, 'apps', 'web-tier', 'demo-app.ts'));
    expect(stack.web.program.isZipArchive).toBe(true);
  });

  test('runs 2 to 4 servers in public subnets of a VPC without NAT gateways, with 6 s requests (checks every 5 s)', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '2', MaxSize: '4', VPCZoneIdentifier: stack.resolve(stack.vpc.publicSubnets.map((s) => s.subnetId)) });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckIntervalSeconds: 5 });
    expect(stack.web.timings.requestTimeoutSeconds).toBe(6);
  });

  test('keeps each visitor\'s counter in the session store, signed with a generated secret the servers read at start-up', () => {
    // The servers may use the session table exactly as the session library does, and read the secret
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const tableArn = JSON.stringify(stack.resolve(stack.sessions.table.tableArn));
    const tableActions = statements.filter((s) => JSON.stringify(s.Resource).includes(tableArn)).flatMap((s) => [s.Action].flat());
    expect([...new Set(tableActions)].sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    const secretArn = JSON.stringify(stack.resolve(stack.sessionSecret.secretArn));
    expect(statements.filter((s) => JSON.stringify(s.Resource).includes(secretArn)).flatMap((s) => [s.Action].flat())).toEqual(
      expect.arrayContaining(['secretsmanager:GetSecretValue']));
    // The environment names the table and the secret's ARN, never its value; plain HTTP without a certificate
    expect(stack.web.programEnvironment).toMatchObject({
      ...stack.sessions.environment,
      DEMO_SESSION_SECRET_ARN: stack.sessionSecret.secretArn,
      DEMO_PLAIN_HTTP: 'true',
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true } });
  });

  test('can be destroyed (no deletion protection) and outputs the page URL, the session table, the group and its logs', () => {
    const lb = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0];
    expect(lb.Properties.LoadBalancerAttributes).toContainEqual({ Key: 'deletion_protection.enabled', Value: 'false' });
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual(['AutoScalingGroupName', 'ServerLogGroupName', 'SessionTableName', 'Url']);
    template.hasOutput('Url', { Value: { 'Fn::Join': ['', ['http://', stack.resolve(stack.web.loadBalancer.loadBalancerDnsName), '/']] } });
  });

  test('fails to deploy when it has no certificate and plain HTTP was not chosen, as RenderFarmStack does: a CloudFormation rule naming the fixes', () => {
    const unchosen = new WebTierStack(newApp({}), 'Unchosen');
    const rule = Template.fromStack(unchosen).toJSON().Rules.PlainHttpMustBeChosen.Assertions[0];
    expect(rule.Assert).toEqual({ 'Fn::Equals': [{ Ref: 'PlainHttpChoice' }, 'chosen'] });
    expect(rule.AssertDescription).toMatch(/Unchosen has no certificate, and plain HTTP was not chosen.*`allowPlainHttp: true`.*plain-http-demo=true/);
    Annotations.fromStack(unchosen).hasWarning('*', Match.stringLikeRegexp('CloudFormation refuses to deploy it until then'));
  });

  test('serves plain HTTP when chosen by the prop or the context value, with a warning', () => {
    const byProp = new WebTierStack(newApp({}), 'ByProp', { allowPlainHttp: true });
    for (const s of [byProp, stack]) {
      expect(Template.fromStack(s).toJSON().Rules.PlainHttpMustBeChosen).toBeUndefined();
      Annotations.fromStack(s).hasWarning('*', Match.stringLikeRegexp('serves its page and session cookie over plain HTTP, as chosen'));
    }
  });
});
