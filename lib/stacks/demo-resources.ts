/**
 * Resources the demo stacks share: a network that costs nothing while idle, the results table
 * the demo job handler writes to, and the demo web apps' cookie-signing secret. Construct ids are fixed here, as they are logical ids.
 */
import { RemovalPolicy, type CfnResource } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { DEMO_JOBS_WORKLOAD } from '../../contracts/work-queue';
import { SAME_CHECK, acknowledgeCheck } from '../core/nag';
import { declareWorkload } from '../core/workload';
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
 * The secret that signs a demo web app's session cookies (`SessionSecret`): generated, read by
 * the servers at start-up, never in the template or user data; demo data, destroyed with the stack.
 */
export function newSessionSecret(scope: Construct, appName: string): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, 'SessionSecret', {
    description: `Signs the session cookies of ${appName}; read by its servers at start-up`,
    generateSecretString: { passwordLength: 48, excludePunctuation: true },
    removalPolicy: RemovalPolicy.DESTROY,
  });
  acknowledgeCheck(secret, SAME_CHECK.secretsManagerRotation,
    'The demo\'s cookie-signing key: rotating it needs a rotation function and a second key verified during the change (SessionManager takes a list for that); a production app should rotate it.');
  return secret;
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
