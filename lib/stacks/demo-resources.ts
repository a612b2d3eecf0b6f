/**
 * Resources the demo stacks share: a network that costs nothing while idle, the results table
 * the demo job handler writes to, and a demo web app on a web tier with its sessions. Construct ids are fixed here, as they are logical ids.
 */
import { Annotations, CfnParameter, CfnRule, Duration, Fn, RemovalPolicy, Stack, type CfnResource } from 'aws-cdk-lib/core';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { DEMO_JOBS_WORKLOAD } from '../../contracts/work-queue';
import { SAME_CHECK, acknowledgeCheck } from '../core/nag';
import { assertProps } from '../core/validation';
import { declareWorkload } from '../core/workload';
import { SessionStore } from '../session-store/session-store';
import { WebTier } from '../web-tier/web-tier';
import type { WorkQueue } from '../work-queue/work-queue';

/**
 * Two public subnets, no NAT gateway (instances reach AWS over HTTPS through the internet
 * gateway; nothing comes in), and REJECT flow logs, which show the inbound traffic nothing lets in.
 */
export function newDemoVpc(scope: Construct, cidr: string): ec2.Vpc {
  const vpc = new ec2.Vpc(scope, 'Vpc', {
    ipAddresses: ec2.IpAddresses.cidr(cidr),
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26 }],
    // true would add a Lambda-backed custom resource (which the local cloud cannot run); the
    // default security group is used by nothing here.
    restrictDefaultSecurityGroup: false,
  });
  const flowLogs = new logs.LogGroup(scope, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.REJECT });
  return vpc;
}

/**
 * The context key that chooses plain HTTP for the demos with a web page (WebTierStack,
 * RenderFarmStack) when they have no certificate: `npx cdk deploy RenderFarmStack -c
 * cdk-cloud-patterns:plain-http-demo=true`. Without a certificate and without this choice (or the
 * stacks' `allowPlainHttp` prop, or the stack parameter below at deploy time), CloudFormation
 * refuses to deploy the stack: its session cookie would cross the internet unencrypted.
 */
export const PLAIN_HTTP_DEMO_CONTEXT = 'cdk-cloud-patterns:plain-http-demo';

/** The stack parameter that makes the choice at deploy time, when it was not made at synth. */
export const PLAIN_HTTP_PARAMETER = 'PlainHttpChoice';

/** What a demo web app needs: its program, where it runs, and how its code finds its secret. */
export interface DemoWebAppProps {
  /** Who reads the cookie secret, for its description, e.g. "WebTierStack's demo app". */
  readonly appName: string;
  /** The app's module (catalogWebEntry), bundled with the web server. */
  readonly entry: string;
  /** The servers run in its public subnets, or in its private ones with egress when it has none. */
  readonly vpc: ec2.IVpc;
  /** For HTTPS. @default - plain HTTP, if `allowPlainHttp` (else a synth error) */
  readonly certificate?: acm.ICertificate;
  /**
   * Plain HTTP without a certificate, chosen explicitly.
   *
   * @default - the context value `cdk-cloud-patterns:plain-http-demo`, else false
   */
  readonly allowPlainHttp?: boolean;
  /** The variables that give the app the secret's ARN and say whether the balancer speaks plain HTTP. */
  readonly secretArnEnv: string;
  readonly plainHttpEnv: string;
  /** More of the app's environment. */
  readonly environment?: Readonly<Record<string, string>>;
}

/** A demo web app and what it keeps: the web tier, its sessions and its cookie-signing secret. */
export interface DemoWebApp {
  readonly web: WebTier;
  readonly sessions: SessionStore;
  readonly sessionSecret: secretsmanager.Secret;
}

/**
 * A demo web app on a WebTier (`Web`, 2 to 4 servers in the VPC's public subnets, plain HTTP
 * without a certificate, no deletion protection), with its sessions in a SessionStore
 * (`Sessions`) and its cookie-signing key a generated secret (`SessionSecret`) that the servers
 * read at start-up: never in the template or user data. Demo data, destroyed with the stack.
 */
export function newDemoWebApp(scope: Construct, props: DemoWebAppProps): DemoWebApp {
  checkPlainHttpChoice(scope, props.certificate, props.allowPlainHttp);
  const sessions = new SessionStore(scope, 'Sessions');
  const sessionSecret = new secretsmanager.Secret(scope, 'SessionSecret', {
    description: `Signs the session cookies of ${props.appName}; read by its servers at start-up`,
    generateSecretString: { passwordLength: 48, excludePunctuation: true },
    removalPolicy: RemovalPolicy.DESTROY,
  });
  acknowledgeCheck(sessionSecret, SAME_CHECK.secretsManagerRotation,
    'The demo\'s cookie-signing key: rotating it needs a rotation function and a second key verified during the change (SessionManager takes a list for that); a production app should rotate it.');
  const web = new WebTier(scope, 'Web', {
    vpc: props.vpc,
    entry: props.entry,
    certificate: props.certificate,
    vpcSubnets: props.vpc.publicSubnets.length > 0 ? { subnetType: ec2.SubnetType.PUBLIC } : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    // The demos' requests are short: checks every 5 s, a server leaves in about 20 s.
    requestTimeout: Duration.seconds(6),
    minCapacity: 2,
    maxCapacity: 4,
    deletionProtection: false,
    environment: {
      ...sessions.environment,
      ...props.environment,
      [props.secretArnEnv]: sessionSecret.secretArn,
      [props.plainHttpEnv]: props.certificate === undefined ? 'true' : 'false',
    },
  });
  sessions.grantReadWrite(web);
  sessionSecret.grantRead(web);
  return { web, sessions, sessionSecret };
}

/**
 * Plain HTTP is never a demo's quiet default: without a certificate, the stack deploys only when
 * plain HTTP was chosen: at synth (`allowPlainHttp`, or the context value
 * {@link PLAIN_HTTP_DEMO_CONTEXT}; a warning says it serves plain HTTP), or at deploy (the stack
 * parameter {@link PLAIN_HTTP_PARAMETER} set to `chosen`). Otherwise the template carries a rule
 * that makes CloudFormation refuse it, with the message below (a warning says so at synth). A
 * rule and not a synth error: the catalog app synthesizes every stack on each run, and an error
 * in one would stop the deployment of the others. True when the demo serves plain HTTP.
 */
export function checkPlainHttpChoice(scope: Construct, certificate: acm.ICertificate | undefined, allowPlainHttp: boolean | undefined): boolean {
  const stack = Stack.of(scope);
  const raw: unknown = scope.node.tryGetContext(PLAIN_HTTP_DEMO_CONTEXT);
  assertProps(stack, [{
    failed: raw !== undefined && ![true, false, 'true', 'false'].includes(raw as string | boolean),
    prop: `context ${PLAIN_HTTP_DEMO_CONTEXT}`,
    message: `must be true or false, received ${JSON.stringify(raw)}.`,
  }]);
  if (certificate !== undefined) return false;
  const allowed = allowPlainHttp ?? (raw === true || raw === 'true');
  if (allowed) {
    Annotations.of(stack).addWarningV2(PLAIN_HTTP_DEMO_CONTEXT,
      `${stack.stackName} serves its page and session cookie over plain HTTP, as chosen (allowPlainHttp or ${PLAIN_HTTP_DEMO_CONTEXT}): for trials only; pass \`certificate\` for HTTPS.`);
    return true;
  }
  const message = `${stack.stackName} has no certificate, and plain HTTP was not chosen: its page and session cookie would cross the internet unencrypted. ` +
    `Pass \`certificate\` for HTTPS, or choose plain HTTP for a trial explicitly: \`allowPlainHttp: true\`, \`-c ${PLAIN_HTTP_DEMO_CONTEXT}=true\` on the cdk command line, ` +
    `or \`--parameters ${stack.stackName}:${PLAIN_HTTP_PARAMETER}=chosen\` at deploy.`;
  const choice = new CfnParameter(stack, PLAIN_HTTP_PARAMETER, {
    type: 'String',
    default: 'not-chosen',
    allowedValues: ['not-chosen', 'chosen'],
    description: 'This stack has no certificate: "chosen" serves its page and session cookie over plain HTTP (for a trial); otherwise deploy it with a certificate.',
  });
  new CfnRule(stack, 'PlainHttpMustBeChosen', {
    assertions: [{ assert: Fn.conditionEquals(choice.valueAsString, 'chosen'), assertDescription: message }],
  });
  Annotations.of(stack).addWarningV2(`${PLAIN_HTTP_DEMO_CONTEXT}-not-chosen`, `${message} CloudFormation refuses to deploy it until then.`);
  return true;
}

/** One item per finished demo job (`jobId`), encrypted, with point-in-time recovery; demo data, destroyed with the stack. */
export function newResultsTable(scope: Construct): dynamodb.Table {
  return new dynamodb.Table(scope, 'Results', {
    partitionKey: { name: 'jobId', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/**
 * Declares that `table` records the demo jobs sent to `workQueue` (contracts/work-queue.ts), so
 * that the local cloud sends demo jobs to this stack and checks each was done once.
 */
export function declareDemoJobs(table: dynamodb.Table, workQueue: WorkQueue): void {
  declareWorkload(table.node.defaultChild as CfnResource, DEMO_JOBS_WORKLOAD.declare({
    queueUrl: workQueue.queue.queueUrl,
    deadLetterQueueUrl: workQueue.deadLetterQueue!.queueUrl,
  }));
}
