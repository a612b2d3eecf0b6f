/**
 * A user's stack with its own Secrets Manager secret, deployed into the embedded AWS as
 * CloudFormation deploys it: moto 5.2.1's CloudFormation has no model of
 * AWS::SecretsManager::Secret, so the local cloud adds one (local/moto_launcher.py) with
 * generated values, and resolves the dynamic references (`{{resolve:secretsmanager:...}}`) that
 * CDK writes for `secretValueFromJson`.
 */
import { App, CfnOutput, Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { CloudFormationClient, CreateStackCommand, DeleteStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { useLocalAws, waitFor } from '../support/local-aws';

const aws = useLocalAws();

/** A user's stack: a generated database password, a role allowed to read it, and a parameter that holds its user name. */
function userTemplate() {
  const stack = new Stack(new App(), 'UserStack');
  const secret = new secretsmanager.Secret(stack, 'DbPassword', {
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ username: 'app' }),
      generateStringKey: 'password',
      excludePunctuation: true,
      passwordLength: 24,
    },
  });
  const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  secret.grantRead(role);
  new ssm.StringParameter(stack, 'UserName', { parameterName: '/user-stack/db-user', stringValue: secret.secretValueFromJson('username').unsafeUnwrap() });
  new CfnOutput(stack, 'SecretArn', { value: secret.secretArn });
  const template = Template.fromStack(stack).toJSON();
  delete template.Parameters; // the bootstrap version check: not deployed by CDK here
  delete template.Rules;
  return template;
}

describe('a user\'s stack with its own secret, in the embedded AWS', () => {
  test('creates the secret with a generated value, gives its ARN to what refers to it, and resolves {{resolve:secretsmanager:...}}', async () => {
    // GIVEN the embedded AWS with every adjustment applied
    expect(aws.moto.warnings()).toEqual([]);
    // One attempt: a retried CreateStack that had in fact succeeded would fail with AlreadyExists.
    const cfn = new CloudFormationClient({ maxAttempts: 1 });
    const secrets = new SecretsManagerClient({});
    const ssmClient = new SSMClient({});

    // WHEN the stack is created
    await cfn.send(new CreateStackCommand({ StackName: 'UserStack', TemplateBody: JSON.stringify(userTemplate()), Capabilities: ['CAPABILITY_IAM'] }));
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'UserStack' }))).Stacks![0]!;

    // THEN the stack is complete and the secret exists, its ARN the stack's output
    expect(stack.StackStatus).toBe('CREATE_COMPLETE');
    const arn = stack.Outputs!.find((o) => o.OutputKey === 'SecretArn')!.OutputValue!;
    expect(arn).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:[\w-]*DbPassword[\w-]*-\w{6}$/);
    // AND its value was generated from the template: the user name kept, a 24-character password added
    const value = JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString!) as Record<string, string>;
    expect(value.username).toBe('app');
    expect(value.password).toMatch(/^[A-Za-z0-9]{24}$/);
    // AND the dynamic reference in the parameter was resolved to the secret's field
    expect((await ssmClient.send(new GetParameterCommand({ Name: '/user-stack/db-user' }))).Parameter!.Value).toBe('app');

    // WHEN the stack is deleted, THEN so is its secret
    await cfn.send(new DeleteStackCommand({ StackName: 'UserStack' }));
    await waitFor('the secret to be deleted', async () => ((await secrets.send(new ListSecretsCommand({}))).SecretList ?? []).length === 0, 10_000, 200);
    for (const c of [cfn, secrets, ssmClient]) c.destroy();
  }, 120_000);
});
