/**
 * WebTier's template for every default and option: the balancer (listeners, redirect, access
 * logs with the regional ELB principal in more than one region, hardening attributes), the
 * target group and group timings derived from the one setting, the boot that signals only once
 * healthy in the target group, scaling without DesiredCapacity, alarms, grants; and each
 * validation rule. cdk-nag, cfn-lint and the snapshot run on WebTierStack (web-tier-stack.test.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { WEB_TIER_BOOT_ACTIONS, deriveWebTierTimings } from '../../../contracts/web-tier';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { webServerMainModule, webServerProgramSource } from '../../../lib/core/bundling';
import { BootStep } from '../../../lib/image-bootstrap/boot-steps';
import { ELB_LOG_DELIVERY_SERVICE, legacyElbAccounts } from '../../../lib/web-tier/access-logs';
import { WebTier, type WebTierProps } from '../../../lib/web-tier/web-tier';
import { cfnText, onlyResource, userData } from '../image-bootstrap/support/template';
import { newVpc } from '../../support/stacks';

const PREBUILT = path.join(__dirname, 'fixtures', 'prebuilt-server');
const APP_ENTRY = path.join(__dirname, 'fixtures', 'app.ts');

function newStack(props: Partial<WebTierProps> = {}, env?: { region: string; account: string }) {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env });
  const vpc = newVpc(stack);
  const codeOrEntry = props.entry === undefined ? { programDirectory: PREBUILT } : {};
  const web = new WebTier(stack, 'Web', { vpc, ...codeOrEntry, ...props });
  let template: Template | undefined;
  return { app, stack, vpc, web, get template() { return (template ??= Template.fromStack(stack)); } };
}

function lbAttributes(template: Template): Record<string, unknown> {
  const lb = onlyResource(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
  return Object.fromEntries((lb.Properties.LoadBalancerAttributes as { Key: string; Value: unknown }[]).map((a) => [a.Key, a.Value]));
}

function tgAttributes(template: Template): Record<string, unknown> {
  const tg = onlyResource(template, 'AWS::ElasticLoadBalancingV2::TargetGroup');
  return Object.fromEntries((tg.Properties.TargetGroupAttributes as { Key: string; Value: unknown }[]).map((a) => [a.Key, a.Value]));
}

/** The server's environment file as the boot script writes it. */
function serverEnv(template: Template): Record<string, string> {
  const body = /cat > "\$\{BOOT_ROOT\}"'\/etc\/web-tier\/server\.env' <<'(\w+)'\n([\s\S]*?)\n\1\n/.exec(userData(template));
  if (!body) throw new Error('no server environment file in the boot script');
  return Object.fromEntries(body[2]!.split('\n').map((line) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)='(.*)'$/.exec(line)!;
    return [m[1]!, m[2]!];
  }));
}

function elbStatement(template: Template): { Principal: unknown; Resource: unknown } {
  const policy = onlyResource(template, 'AWS::S3::BucketPolicy');
  const statements = (policy.Properties.PolicyDocument as { Statement: { Sid: string }[] }).Statement;
  return statements.find((s) => s.Sid === 'ElbAccessLogDelivery') as never;
}

/** Evaluates the template's CloudFormation condition and mapping for a region, as CloudFormation would. */
function principalIn(template: Template, region: string): unknown {
  const json = template.toJSON() as { Conditions: Record<string, unknown>; Mappings: Record<string, Record<string, Record<string, string>>> };
  const evaluate = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(evaluate);
    if (node === null || typeof node !== 'object') return node;
    const obj = node as Record<string, unknown>;
    if ('Ref' in obj) return obj.Ref === 'AWS::Region' ? region : obj.Ref === 'AWS::Partition' ? 'aws' : `<${obj.Ref as string}>`;
    if ('Fn::Equals' in obj) { const [a, b] = evaluate(obj['Fn::Equals']) as unknown[]; return a === b; }
    if ('Fn::Or' in obj) return (evaluate(obj['Fn::Or']) as boolean[]).some(Boolean);
    if ('Condition' in obj && Object.keys(obj).length === 1) return evaluate(json.Conditions[obj.Condition as string]);
    if ('Fn::If' in obj) {
      const [name, yes, no] = obj['Fn::If'] as [string, unknown, unknown];
      return evaluate(json.Conditions[name]) ? evaluate(yes) : evaluate(no);
    }
    if ('Fn::FindInMap' in obj) {
      const [map, key, field] = evaluate(obj['Fn::FindInMap']) as string[];
      const value = json.Mappings[map]?.[key]?.[field];
      if (value === undefined) throw new Error(`no mapping ${map}.${key}.${field}`);
      return value;
    }
    if ('Fn::Join' in obj) { const [sep, parts] = obj['Fn::Join'] as [string, unknown[]]; return (evaluate(parts) as string[]).join(sep); }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, evaluate(v)]));
  };
  return evaluate(elbStatement(template).Principal);
}

describe('WebTier defaults', () => {
  const built = newStack();
  const { stack, web } = built;
  const t = deriveWebTierTimings({ requestTimeoutSeconds: 30, idleTimeoutSeconds: 60 });

  test('derives every timing from a 30 s request timeout and the 60 s idle timeout, and exposes them', () => {
    expect(web.timings).toEqual(t);
    expect(web.timingRules().every((r) => r.holds)).toBe(true);
  });

  test('puts an internet-facing balancer in the public subnets, hardened: invalid headers dropped, strictest desync mitigation, deletion protection, 60 s idle timeout', () => {
    built.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Scheme: 'internet-facing', Subnets: stack.resolve(built.vpc.publicSubnets.map((s) => s.subnetId)),
    });
    expect(lbAttributes(built.template)).toMatchObject({
      'routing.http.drop_invalid_header_fields.enabled': 'true',
      'routing.http.desync_mitigation_mode': 'strictest',
      'deletion_protection.enabled': 'true',
      'idle_timeout.timeout_seconds': '60',
    });
  });

  test('without a certificate serves plain HTTP on port 80, with a warning that it is for trials', () => {
    built.template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    built.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP', DefaultActions: [Match.objectLike({ Type: 'forward' })] });
    Annotations.fromStack(stack).hasWarning('/TestStack/Web', Match.stringLikeRegexp('plain HTTP: for trials only'));
    expect(web.https).toBe(false);
  });

  test('logs access to an SSE-S3, versioned, private, TLS-only bucket kept 90 days, delivered under alb/', () => {
    built.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 90 })] },
    });
    expect(lbAttributes(built.template)).toMatchObject({
      'access_logs.s3.enabled': 'true', 'access_logs.s3.bucket': stack.resolve(web.accessLogsBucket.bucketName), 'access_logs.s3.prefix': 'alb',
    });
    const policy = onlyResource(built.template, 'AWS::S3::BucketPolicy');
    expect(policy.Properties.PolicyDocument).toMatchObject({ Statement: expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) });
    expect(cfnText(elbStatement(built.template).Resource)).toBe('<GetAtt WebAccessLogsBucketB1042E04.Arn>/alb/AWSLogs/<Ref AWS::AccountId>/*');
    // The balancer is created only once it may write there
    expect(onlyResource(built.template, 'AWS::ElasticLoadBalancingV2::LoadBalancer').DependsOn).toContain(stack.getLogicalId(web.node.findChild('AccessLogs').node.findChild('Policy') as never));
  });

  test('without a region at synth, lets the ELB deliver as its regional account in legacy regions and as the log delivery service in newer ones', () => {
    expect(principalIn(built.template, 'us-east-1')).toEqual({ AWS: 'arn:aws:iam::127311923021:root' });
    expect(principalIn(built.template, 'eu-west-1')).toEqual({ AWS: `arn:aws:iam::${RegionInfo.get('eu-west-1').elbv2Account}:root` });
    expect(principalIn(built.template, 'eu-central-2')).toEqual({ Service: ELB_LOG_DELIVERY_SERVICE });
    expect(principalIn(built.template, 'ap-southeast-5')).toEqual({ Service: ELB_LOG_DELIVERY_SERVICE });
    expect(Object.keys(legacyElbAccounts()).length).toBeGreaterThan(20);
  });

  test('health-checks the servers\' readiness path on port 8080 every 10 s (5 s timeout, 2 to be healthy, 2 to be unhealthy)', () => {
    built.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080, Protocol: 'HTTP', TargetType: 'instance',
      HealthCheckPath: '/healthz/ready', HealthCheckPort: '8080', HealthCheckIntervalSeconds: 10, HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2, UnhealthyThresholdCount: 2, Matcher: { HttpCode: '200' },
    });
  });

  test('drains a leaving server 35 s (its 30 s drain plus 5) and ramps a new one up over 30 s', () => {
    expect(tgAttributes(built.template)).toMatchObject({ 'deregistration_delay.timeout_seconds': '35', 'slow_start.duration_seconds': '30' });
  });

  test('runs 2 to 4 servers with ELB health checks after the grace period, and no DesiredCapacity, so a deploy never resets capacity', () => {
    built.template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '2', MaxSize: '4', DesiredCapacity: Match.absent(), HealthCheckType: 'ELB', HealthCheckGracePeriod: t.gracePeriodSeconds,
      DefaultInstanceWarmup: t.gracePeriodSeconds, TargetGroupARNs: [stack.resolve(web.targetGroup.targetGroupArn)],
    });
  });

  test('rolls updates one server at a time, keeping the others in service, waiting for each boot\'s signal', () => {
    const group = onlyResource(built.template, 'AWS::AutoScaling::AutoScalingGroup');
    expect(group.UpdatePolicy).toMatchObject({
      AutoScalingRollingUpdate: { MaxBatchSize: 1, MinInstancesInService: 2, WaitOnResourceSignals: true, PauseTime: Duration.seconds(t.signalTimeoutSeconds).toIsoString() },
    });
    expect(group.CreationPolicy).toEqual({ ResourceSignal: { Count: 2, Timeout: Duration.seconds(t.signalTimeoutSeconds).toIsoString() } });
  });

  test('signals only once the instance is healthy in the target group: the last boot step polls its own target health', () => {
    const script = userData(built.template);
    const wait = script.indexOf("boot_begin 'wait-healthy-in-target-group'");
    expect(wait).toBeGreaterThan(script.indexOf("boot_begin 'web-server'"));
    expect(script.indexOf('boot_signal SUCCESS', wait)).toBeGreaterThan(wait);
    expect(script.slice(wait)).toContain(`aws elbv2 describe-target-health --target-group-arn '<Ref ${stack.getLogicalId(web.targetGroup.node.defaultChild as never)}>' --targets "Id=\${instance_id},Port=8080"`);
    expect(script.slice(wait)).toContain(`deadline=$((SECONDS + ${t.signalTimeoutSeconds - 60}))`);
    const statements = Object.values(built.template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Sid: 'WaitHealthyInTargetGroup', Action: WEB_TIER_BOOT_ACTIONS[0], Resource: '*' }));
  });

  test('runs the server as a systemd service with the timing inputs in its environment and a stop timeout past its shutdown', () => {
    expect(serverEnv(built.template)).toEqual({
      AWS_REGION: '<Ref AWS::Region>', WEB_TIER_PORT: '8080', WEB_TIER_REQUEST_TIMEOUT_SECONDS: '30', WEB_TIER_IDLE_TIMEOUT_SECONDS: '60', WEB_TIER_BODY_LIMIT_BYTES: '1048576',
    });
    const script = userData(built.template);
    expect(script).toContain('ExecStart=/usr/bin/node-22 /opt/web-server/index.mjs');
    expect(script).toContain(`TimeoutStopSec=${t.stopTimeoutSeconds}`);
    expect(script).toContain('DynamicUser=yes');
    // A server ends with 0 after a stray SIGTERM (its drain): systemd restarts it whatever its exit, not only on a failure.
    expect(script).toContain('Restart=always');
  });

  test('lets into the servers only the balancer, on the server port', () => {
    built.template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: stack.resolve(web.securityGroup.securityGroupId), FromPort: 8080, ToPort: 8080,
      SourceSecurityGroupId: stack.resolve(web.loadBalancer.connections.securityGroups[0].securityGroupId),
    });
    const serverGroup = Object.entries(built.template.findResources('AWS::EC2::SecurityGroup')).find(([id]) => id === stack.getLogicalId(web.securityGroup.node.defaultChild as never))!;
    expect(serverGroup[1].Properties.SecurityGroupIngress).toBeUndefined();
  });

  test('scales on requests per server (1,000 a minute) and on CPU (60%)', () => {
    built.template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: Match.objectLike({ PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }), TargetValue: 1000 }),
    });
    built.template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: Match.objectLike({ PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' }, TargetValue: 60 }),
    });
  });

  test('alarms on a 5xx rate over 5% for 3 minutes and on a server unhealthy for 5', () => {
    built.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5, EvaluationPeriods: 3, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([Match.objectLike({ Expression: '100 * (target5xx + elb5xx) / MAX([requests, 1])' })]),
    });
    built.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'UnHealthyHostCount', Threshold: 1, EvaluationPeriods: 5, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(web.metricTargetResponseTime().statistic).toBe('p99');
    expect(web.metricHealthyHosts().metricName).toBe('HealthyHostCount');
    expect(web.metricRequests().metricName).toBe('RequestCount');
  });

  test('declares its workload on the group for the local cloud: the program, environment and deployed health check', () => {
    const group = onlyResource(built.template, 'AWS::AutoScaling::AutoScalingGroup') as { Metadata?: Record<string, Record<string, unknown>> };
    const declared = group.Metadata?.[WORKLOAD_METADATA_KEY];
    expect(declared).toMatchObject({
      kind: 'web-tier/servers', version: 1, requestTimeoutSeconds: 30, idleTimeoutSeconds: 60, https: false, minCapacity: 2, maxCapacity: 4,
      healthCheckPath: '/healthz/ready', healthCheckIntervalSeconds: 10, healthCheckTimeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2,
      deregistrationDelaySeconds: 35, gracePeriodSeconds: t.gracePeriodSeconds, targetRequestsPerMinute: 1000,
      targetGroupArn: stack.resolve(web.targetGroup.targetGroupArn),
    });
    expect(cfnText(declared!.program)).toMatch(/^s3:\/\/.+\/[0-9a-f]{64}\.zip$/);
    expect(declared!.environment).toMatchObject({ WEB_TIER_REQUEST_TIMEOUT_SECONDS: '30', WEB_TIER_PORT: '8080' });
  });

  test('grants go to the instance role', () => {
    const { stack, web } = newStack();
    const table = new dynamodb.Table(stack, 'Extra', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    table.grantReadData(web);
    expect(web.grantPrincipal).toBe(web.role);
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    const roleRef = JSON.stringify(stack.resolve(web.role.roleName));
    expect(Object.values(policies).some((p) => JSON.stringify(p.Properties.Roles).includes(roleRef) && JSON.stringify(p).includes('dynamodb:GetItem'))).toBe(true);
  });
});

describe('WebTier options', () => {
  test('with a certificate: HTTPS on 443 with the TLS 1.3 policy, and HTTP redirected to it', () => {
    const { stack, web, template } = (() => {
      const app = new App();
      const s = new Stack(app, 'S');
      const vpc = newVpc(s);
      const certificate = acm.Certificate.fromCertificateArn(s, 'Cert', 'arn:aws:acm:us-east-1:111111111111:certificate/abc');
      const w = new WebTier(s, 'Web', { vpc, programDirectory: PREBUILT, certificate });
      return { stack: s, web: w, template: Template.fromStack(s) };
    })();
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443, Protocol: 'HTTPS', SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06', Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/abc' }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'redirect', RedirectConfig: { Port: '443', Protocol: 'HTTPS', StatusCode: 'HTTP_301' } }],
    });
    expect(web.https).toBe(true);
    expect(web.redirectListener).toBeDefined();
    Annotations.fromStack(stack).hasNoWarning('/S/Web', Match.stringLikeRegexp('plain HTTP'));
  });

  test('requestTimeout drives the health checks, drain, deregistration delay, slow start and stop timeout', () => {
    const { web, template } = newStack({ requestTimeout: Duration.seconds(45), idleTimeout: Duration.seconds(120) });
    expect(web.timings).toMatchObject({ healthCheckIntervalSeconds: 15, drainSeconds: 45, deregistrationDelaySeconds: 50, slowStartSeconds: 45, keepAliveTimeoutSeconds: 125 });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckIntervalSeconds: 15, HealthCheckTimeoutSeconds: 5 });
    expect(tgAttributes(template)).toMatchObject({ 'deregistration_delay.timeout_seconds': '50', 'slow_start.duration_seconds': '45' });
    expect(lbAttributes(template)['idle_timeout.timeout_seconds']).toBe('120');
    expect(serverEnv(template)).toMatchObject({ WEB_TIER_REQUEST_TIMEOUT_SECONDS: '45', WEB_TIER_IDLE_TIMEOUT_SECONDS: '120' });
    expect(userData(template)).toContain(`TimeoutStopSec=${web.timings.stopTimeoutSeconds}`);
  });

  test('internal balancer, no deletion protection, sizes, scaling targets, body limit, error rate, log retention and app environment', () => {
    const { template } = newStack({
      internetFacing: false, deletionProtection: false, minCapacity: 3, maxCapacity: 9, targetRequestsPerMinute: 300, targetCpuUtilization: 40,
      bodyLimitBytes: 2048, serverErrorRateThreshold: 1, accessLogRetention: Duration.days(30), environment: { GREETING: 'hi' },
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    expect(lbAttributes(template)['deletion_protection.enabled']).toBe('false');
    const lbGroup = Object.values(template.findResources('AWS::EC2::SecurityGroup')).find((g) => JSON.stringify(g).includes('ELB'))!;
    expect(JSON.stringify(lbGroup)).not.toContain('0.0.0.0/0');
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '3', MaxSize: '9' });
    expect(onlyResource(template, 'AWS::AutoScaling::AutoScalingGroup').UpdatePolicy).toMatchObject({ AutoScalingRollingUpdate: { MinInstancesInService: 3 } });
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { TargetTrackingConfiguration: Match.objectLike({ TargetValue: 300 }) });
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { TargetTrackingConfiguration: Match.objectLike({ TargetValue: 40 }) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 1, EvaluationPeriods: 3 });
    template.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30 })] } });
    expect(serverEnv(template)).toMatchObject({ GREETING: 'hi', WEB_TIER_BODY_LIMIT_BYTES: '2048' });
  });

  test('runs extra boot steps before the server is installed', () => {
    const { template } = newStack({ steps: [BootStep.packages('tools', ['jq'])] });
    const script = userData(template);
    expect(script.indexOf("boot_begin 'tools'")).toBeLessThan(script.indexOf("boot_begin 'web-server-program'"));
  });

  test('with a region at synth, names that region\'s ELB principal directly', () => {
    const legacy = newStack({}, { region: 'us-east-1', account: '111111111111' });
    expect(elbStatement(legacy.template).Principal).toEqual({ AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::127311923021:root']] } });
    expect(legacy.template.toJSON().Conditions).toBeUndefined();
    const newer = newStack({}, { region: 'eu-central-2', account: '111111111111' });
    expect(elbStatement(newer.template).Principal).toEqual({ Service: ELB_LOG_DELIVERY_SERVICE });
  });

  test('bundles `entry` with the web server into one program at synth, its start-up hook included', () => {
    const { app, web } = newStack({ entry: APP_ENTRY });
    expect(webServerProgramSource(APP_ENTRY, webServerMainModule(APP_ENTRY, 'WebTier'))).toContain('runWebServerFromEnv(app["handler"], { start: app["start"] })');
    expect(web.program.isZipArchive).toBe(true);
    const bundle = fs.readFileSync(path.join(app.outdir, web.program.assetPath, 'index.mjs'), 'utf8');
    expect(bundle).toContain('hello from the fixture app');
    expect(bundle).toContain('/healthz/ready');
    expect(bundle).not.toMatch(/from\s*["'](\.|\/)/); // one file: no import of a local module left
  });
});

describe('WebTier logs and role, as every construct that runs code takes them', () => {
  test('encrypts the servers\' log group with logEncryptionKey and keeps it for logRetention', () => {
    // GIVEN a key
    const app = new App();
    const stack = new Stack(app, 'KeyStack');
    const key = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
    const vpc = newVpc(stack);
    // WHEN the web tier is given it
    new WebTier(stack, 'Web', { vpc, programDirectory: PREBUILT, logEncryptionKey: key, logRetention: logs.RetentionDays.ONE_WEEK });
    // THEN its log group uses it
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: stack.resolve(key.keyArn), RetentionInDays: 7 });
  });

  test('writes to a log group it is given, and creates none', () => {
    const { stack, web, template } = newStack({ logGroup: logs.LogGroup.fromLogGroupName(new Stack(), 'Theirs', 'web-logs') });
    template.resourceCountIs('AWS::Logs::LogGroup', 0);
    expect(stack.resolve(web.image.logGroup.logGroupName)).toBe('web-logs');
  });

  test('with customerManagedPolicies, puts the servers\' permissions in customer-managed policies, none inline', () => {
    const { stack, web } = newStack({ customerManagedPolicies: true });
    web.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket/*'] }));
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    expect(Object.keys(template.findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: [stack.resolve(web.role.roleName)] } })).length).toBeGreaterThanOrEqual(2);
  });
});

describe('WebTier for a compliance review: every pack reachable with its own props', () => {
  const certificate = (stack: Stack) => acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc');

  test('notifies alarmTopic from both alarms', () => {
    const app = new App();
    const stack = new Stack(app, 'Alarmed');
    const topic = new sns.Topic(stack, 'Alarms');
    new WebTier(stack, 'Web', { vpc: newVpc(stack), programDirectory: PREBUILT, alarmTopic: topic });
    const alarms = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(2);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([stack.resolve(topic.topicArn)]);
  });

  test('with httpRedirect off, listens on 443 only', () => {
    const { stack, web } = newStack({ certificate: certificate(new Stack()), httpRedirect: false });
    expect(web.redirectListener).toBeUndefined();
    Template.fromStack(stack).resourcePropertiesCountIs('AWS::ElasticLoadBalancingV2::Listener', {}, 1);
    Template.fromStack(stack).hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS' });
  });

  test('destroys its access-log bucket with removalPolicy DESTROY (retains it by default)', () => {
    newStack({ removalPolicy: RemovalPolicy.DESTROY }).template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    newStack().template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  test('associates the WAF web ACL of webAclArn with the balancer', () => {
    const acl = 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/app/0123';
    const { stack, web } = newStack({ webAclArn: acl });
    Template.fromStack(stack).hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: acl, ResourceArn: stack.resolve(web.loadBalancer.loadBalancerArn) });
  });

  test('logs to an accessLogsBucket of the user\'s, creating none, with ELB delivery added to its policy', () => {
    // GIVEN a log archive bucket of the user's app (region-agnostic stack)
    const app = new App();
    const stack = new Stack(app, 'Archived');
    const archive = new s3.Bucket(stack, 'Archive', { encryption: s3.BucketEncryption.S3_MANAGED, enforceSSL: true });
    // WHEN the web tier is given it
    const web = new WebTier(stack, 'Web', { vpc: newVpc(stack), programDirectory: PREBUILT, accessLogsBucket: archive });
    // THEN the balancer logs there, no bucket of its own is made, and the archive lets ELB write under the prefix
    const template = Template.fromStack(stack);
    expect(web.accessLogsBucket).toBe(archive);
    template.resourceCountIs('AWS::S3::Bucket', 1);
    expect(lbAttributes(template)['access_logs.s3.bucket']).toEqual(stack.resolve(archive.bucketName));
    const statements = (onlyResource(template, 'AWS::S3::BucketPolicy').Properties.PolicyDocument as { Statement: unknown }).Statement as { Sid?: string; Principal: { Service?: unknown; AWS?: unknown }; Resource: unknown }[];
    const delivery = statements.find((st) => st.Sid === 'ElbAccessLogDelivery')!;
    expect(delivery.Principal.Service).toBe('logdelivery.elasticloadbalancing.amazonaws.com');
    expect(cfnText(delivery.Resource)).toMatch(/\/alb\/AWSLogs\/<Ref AWS::AccountId>\/\*$/);
  });

  test.each([
    ['httpRedirect is set without a certificate', { httpRedirect: false }, /httpRedirect: redirects HTTP to HTTPS, so it only applies with `certificate`; received httpRedirect: false/],
    ['webAclArn is not a regional WAFv2 web ACL ARN', { webAclArn: 'arn:aws:waf::123456789012:webacl/x' }, /webAclArn: must be the ARN of a regional WAFv2 web ACL.*received "arn:aws:waf::123456789012:webacl\/x"/],
    ['accessLogsBucket comes with accessLogRetention', { accessLogsBucket: s3.Bucket.fromBucketName(new Stack(), 'B', 'logs'), accessLogRetention: Duration.days(7) },
      /accessLogsBucket \+ accessLogRetention: an existing access logs bucket is used as it is/],
  ] as const)('fails when %s', (_name, props, message) => {
    expect(() => newStack(props as Partial<WebTierProps>)).toThrow(message);
  });
});

describe('WebTier validation', () => {
  const cases: Array<[string, Partial<WebTierProps>, RegExp]> = [
    ['neither entry nor programDirectory is given', { programDirectory: undefined, entry: undefined }, /entry, programDirectory: give exactly one.*received neither/],
    ['the entry file does not exist', { entry: '/nowhere/app.ts' }, /entry: must be the request handler's file, but there is no file at \/nowhere\/app\.ts/],
    ['programDirectory holds no index.mjs', { programDirectory: __dirname }, /programDirectory: must hold the bundled server program index\.mjs/],
    ['handler is given with programDirectory', { handler: 'app' }, /handler: only applies to `entry`/],
    ['handler is not an identifier', { entry: APP_ENTRY, handler: 'my-app' }, /handler: must be the name .* received "my-app"/],
    ['requestTimeout is over an hour', { requestTimeout: Duration.hours(2), idleTimeout: Duration.seconds(4000) }, /requestTimeout: must be from 1 second to 1 hour.*received 7200 seconds/],
    ['idleTimeout is over 4,000 s', { idleTimeout: Duration.seconds(4001) }, /idleTimeout: must be from 1 to 4,000 seconds.*received 4001/],
    ['a request does not fit in the idle timeout', { requestTimeout: Duration.seconds(90) }, /requestTimeout, idleTimeout: a request \(requestTimeout 90 s\) must fit in the balancer's idle timeout \(idleTimeout 60 s\)/],
    ['minCapacity is 0', { minCapacity: 0 }, /minCapacity: must be an integer from 1 .* received 0/],
    ['maxCapacity is 1', { minCapacity: 1, maxCapacity: 1 }, /maxCapacity: must be an integer from 2 .* received 1/],
    ['minCapacity exceeds maxCapacity', { minCapacity: 5, maxCapacity: 3 }, /minCapacity, maxCapacity: minCapacity \(5\) must not exceed maxCapacity \(3\)/],
    ['targetRequestsPerMinute is 0', { targetRequestsPerMinute: 0 }, /targetRequestsPerMinute: must be an integer from 1 .* received 0/],
    ['targetCpuUtilization is 100', { targetCpuUtilization: 100 }, /targetCpuUtilization: must be a percentage from 10 to 90.*received 100/],
    ['bodyLimitBytes is negative', { bodyLimitBytes: -1 }, /bodyLimitBytes: must be an integer from 0 to 1 GiB, received -1/],
    ['serverErrorRateThreshold is 0', { serverErrorRateThreshold: 0 }, /serverErrorRateThreshold: must be a percentage above 0.*received 0/],
    ['environment sets a server variable', { environment: { WEB_TIER_PORT: '80' } }, /environment: WEB_TIER_PORT is set by WebTier/],
    ['environment has a bad name', { environment: { 'MY-VAR': 'x' } }, /environment: names must be letters.*"MY-VAR"/],
    ['logGroup and logRetention are both set', { logGroup: logs.LogGroup.fromLogGroupName(new Stack(), 'Mine', 'web-logs'), logRetention: logs.RetentionDays.ONE_DAY },
      /logGroup \+ logRetention: an existing log group keeps its own retention and encryption/],
  ];
  test.each(cases)('fails when %s', (_name, props, message) => {
    expect(() => newStack(props)).toThrow(message);
  });

  test('fails when the VPC has a single Availability Zone', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const vpc = newVpc(stack, { maxAzs: 1 });
    expect(() => new WebTier(stack, 'Web', { vpc, programDirectory: PREBUILT })).toThrow(/vpc: must span at least 2 Availability Zones.*received a VPC with 1/);
  });

  test('reports every broken rule at once', () => {
    expect(() => newStack({ minCapacity: 0, targetCpuUtilization: 5 })).toThrow(/minCapacity:[\s\S]*targetCpuUtilization:/);
  });

  test('the fixtures exist', () => {
    expect(fs.existsSync(path.join(PREBUILT, 'index.mjs'))).toBe(true);
  });
});
