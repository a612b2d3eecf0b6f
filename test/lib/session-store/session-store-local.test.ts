/**
 * SessionStoreStack deployed into moto with CloudFormation, then used through its outputs by the
 * session library: the wiring (key schema, user index, attribute names, output names) works, not
 * only the code. The same template `cdk deploy` and `npm start` send.
 */
import { IncomingMessage, ServerResponse } from 'http';
import { Socket } from 'net';
import { App } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { SESSION_ATTRIBUTES } from '../../../contracts/session-store';
import { SessionStoreStack } from '../../../lib/stacks/session-store-stack';
import { SessionManager } from '../../../runtime/index';
import { useLocalAws, waitFor } from '../../support/local-aws';

describe('SessionStoreStack on the local cloud', () => {
  const aws = useLocalAws();

  test('deploys, and the session library keeps and lists sessions in the deployed table through its outputs', async () => {
    // GIVEN the stack's template, created in moto by CloudFormation
    const template = Template.fromStack(new SessionStoreStack(new App(), 'SessionStoreStack')).toJSON();
    // No `cdk bootstrap` here: drop the check of the bootstrap version's SSM parameter (the local cloud bootstraps first)
    delete template.Parameters?.BootstrapVersion;
    delete template.Rules?.CheckBootstrapVersion;
    const cloudformation = new CloudFormationClient({});
    await cloudformation.send(new CreateStackCommand({ StackName: 'SessionStoreStack', TemplateBody: JSON.stringify(template) }));
    let outputs: Record<string, string> = {};
    await waitFor('SessionStoreStack to be created', async () => {
      const stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: 'SessionStoreStack' }))).Stacks![0]!;
      outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
      return stack.StackStatus === 'CREATE_COMPLETE';
    }, 20_000, 100);
    cloudformation.destroy();

    // THEN the table is as the construct declared it
    const table = (await aws.dynamodb.send(new DescribeTableCommand({ TableName: outputs.SessionTableName }))).Table!;
    expect(table.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual([outputs.SessionUserIndexName]);
    expect(table.KeySchema).toEqual([{ AttributeName: SESSION_ATTRIBUTES.key, KeyType: 'HASH' }]);
    // (moto's CloudFormation applies neither the TTL setting nor the alarm; the template test checks both, and
    // the library never relies on TTL: it refuses expired sessions on read)

    // WHEN a server configured from the outputs (as the environment would) starts a signed-in session
    const sessions = new SessionManager({ tableName: outputs.SessionTableName, userIndexName: outputs.SessionUserIndexName, secrets: ['local-cloud-test-secret-'.padEnd(40, 's')] });
    const req = new IncomingMessage(new Socket());
    const res = new ServerResponse(req);
    const session = await sessions.load(req);
    session.data.cart = ['book'];
    await sessions.regenerate(session, res, { userId: 'user-7' });
    const cookie = String((res.getHeader('set-cookie') as string[])[0]).split(';')[0]!;

    // THEN another server reads it back, and the user index lists it
    const next = new IncomingMessage(new Socket());
    next.headers.cookie = cookie;
    expect((await sessions.load(next)).data).toEqual({ cart: ['book'] });
    expect(await sessions.listUserSessions('user-7')).toHaveLength(1);
  });
});
