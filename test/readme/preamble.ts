/**
 * What a documentation sample may use without declaring it: the names a user's app would already
 * have (README.md, "About the samples"). Declared in sample-globals.d.ts for the type-check (kept
 * out of the project's own tsconfig), and made here for real when a construct sample is
 * synthesized (only the names the sample uses).
 *
 * To let a new sample use a new name: declare it in sample-globals.d.ts and make it in PREAMBLE.
 */
import { ArnFormat, type App, type Stack } from 'aws-cdk-lib/core';
import { Construct } from 'constructs';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { BootStep, WorkQueue } from '../../lib';

/** The files of the project around the samples (paths relative to it), for `entry` and assets. */
export const PROJECT_FILES: Readonly<Record<string, string>> = {
  'src/render-frame.ts': "import { defineJobHandler } from '@cdk-cloud-patterns/runtime';\nexport const handler = defineJobHandler(async () => undefined);\n",
  'dist/app/index.js': "console.log('the app');\n",
  'src/thumbnail.ts': "import { defineJobHandler } from '@cdk-cloud-patterns/runtime';\nexport const handler = defineJobHandler(async () => undefined);\n",
};

/** The scope of the preamble's resources in a sample's stack, so their ids never meet a sample's. */
function preambleScope(stack: Stack): Construct {
  return stack.node.tryFindChild('Preamble') as Construct | undefined ?? new Construct(stack, 'Preamble');
}

/** A VPC as users have them: public and private subnets (isolated: no NAT to pay for here), flow logs on. */
function userVpc(scope: Construct): ec2.Vpc {
  const vpc = new ec2.Vpc(scope, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }, { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    restrictDefaultSecurityGroup: false,
  });
  const flowLogs = new logs.LogGroup(scope, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH });
  vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.REJECT });
  return vpc;
}

/** How to make each name of the preamble in the sample's stack (all of them pass cdk-nag). */
export const PREAMBLE: Readonly<Record<string, (stack: Stack) => unknown>> = {
  stack: (stack) => stack,
  app: (stack) => stack.node.root as App,
  vpc: (stack) => userVpc(preambleScope(stack)),
  queue: (stack) => new WorkQueue(preambleScope(stack), 'UserQueue').queue,
  previews: (stack) => new WorkQueue(preambleScope(stack), 'Previews'),
  apiFunction: (stack) => lambda.Function.fromFunctionAttributes(preambleScope(stack), 'ApiFunction', {
    functionArn: stack.formatArn({ service: 'lambda', resource: 'function', resourceName: 'api', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    role: iam.Role.fromRoleName(preambleScope(stack), 'ApiRole', 'api-role'),
    sameEnvironment: true,
  }),
  resultsTable: (stack) => dynamodb.Table.fromTableName(preambleScope(stack), 'ResultsTable', 'results'),
  dbSecret: (stack) => secretsmanager.Secret.fromSecretNameV2(preambleScope(stack), 'DbSecret', 'db-password'),
  steps: () => [BootStep.packages('runtime', ['nodejs22'])],
};
