/**
 * What the local cloud needs once the stacks are deployed: the SDK clients of the embedded AWS,
 * the inventory, the workloads, the demos and the progress. local/cloud.ts loads this module
 * after it has spawned moto and the synthesis, so that loading the SDK (most of a second) runs
 * while they do, not before them.
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CognitoIdentityProviderClient, ListUserPoolsCommand } from '@aws-sdk/client-cognito-identity-provider';
import { CloudFormationClient, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { launchTemplateUserData } from './aws-query';
import { localCredentials } from './deploy';
import { LOCAL_AWS_ENV } from './moto';
import { QUEUE_METRICS, queueMetricSum } from './queue-metrics';

export { completeCognitoUserPools } from './cognito';
export { DemoStarter } from './demo';
export { DEMO_KINDS } from './demos';
export { notModelled } from './deploy';
export { readInventory } from './inventory';
export { sampleProgress, startProgress } from './progress';
export { WORKLOAD_KINDS, notRunDeclarations, startWorkloads } from './workloads';

/** Clients of the embedded AWS ({@link clientsFor}). */
export interface LocalClients {
  readonly cloudformation: CloudFormationClient;
  readonly autoscaling: AutoScalingClient;
  readonly lambda: LambdaClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly cognito: CognitoIdentityProviderClient;
}

/** Clients of the embedded AWS, with its endpoint and the dummy credentials set explicitly. */
export function clientsFor(endpoint: string): LocalClients {
  const config = { endpoint, region: LOCAL_AWS_ENV.AWS_REGION, credentials: localCredentials() };
  return {
    cloudformation: new CloudFormationClient(config),
    autoscaling: new AutoScalingClient(config),
    lambda: new LambdaClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    dynamodb: new DynamoDBClient(config),
    cognito: new CognitoIdentityProviderClient(config),
  };
}

/** A queue, a launch template: names nothing has, so that a call finds nothing and changes nothing. */
const NOTHING = { queueUrl: 'http://localhost/000000000000/cdk-cloud-patterns-warm-up', launchTemplateId: 'lt-00000000000000000' };

/**
 * moto loads each service on its first request (CloudFormation takes seconds), and answers an
 * action's first call slower than the next (it compiles the answer's template): the services the
 * deployment uses, then the calls the workloads make as soon as the stacks are deployed (the
 * groups, their launch templates, the queues' metrics for the progress, the user pools), so that
 * moto, which answers on one core, does that now, while the app synthesizes, rather than in front
 * of the first demo job's requests. Answers are ignored: a call that finds nothing is enough.
 */
export async function warmUp(clients: LocalClients, endpoint: string): Promise<void> {
  await Promise.allSettled([
    clients.cloudformation.send(new ListStacksCommand({})),
    clients.s3.send(new ListBucketsCommand({})),
    clients.lambda.send(new ListFunctionsCommand({})),
    clients.sqs.send(new ListQueuesCommand({})),
    clients.dynamodb.send(new ListTablesCommand({})),
  ]);
  await Promise.allSettled([
    clients.autoscaling.send(new DescribeAutoScalingGroupsCommand({})),
    launchTemplateUserData(endpoint, NOTHING.launchTemplateId, '$Latest'),
    queueMetricSum(endpoint, NOTHING.queueUrl, QUEUE_METRICS.deleted, Date.now()),
    clients.cognito.send(new ListUserPoolsCommand({ MaxResults: 1 })),
  ]);
}
