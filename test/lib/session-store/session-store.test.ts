/**
 * SessionStore's template: the table's secure defaults, the user index and TTL from the shared
 * contract, a grant of exactly the actions the session library calls, the throttle alarm, bring
 * your own table, and a `fails when ...` test for every validation rule. SessionStoreStack's
 * cdk-nag, cfn-lint and snapshot checks are the catalog test's (test/lib/stacks/catalog-app.test.ts).
 */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import { Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  SESSION_ATTRIBUTES, SESSION_DYNAMODB_ACTIONS, SESSION_READ_ACTIONS, SESSION_TABLE_ENV, SESSION_USER_INDEX_ENV, SESSION_USER_INDEX_NAME, SESSION_WRITE_ACTIONS,
} from '../../../contracts/session-store';
import { SessionStore, SessionStoreEncryption, type SessionStoreProps } from '../../../lib';
import { SessionStoreStack } from '../../../lib/stacks/session-store-stack';
import { newStack, templateOf } from '../../support/stacks';

function newStore(props: SessionStoreProps = {}) {
  const { stack } = newStack();
  const store = new SessionStore(stack, 'Sessions', props);
  const role = new iam.Role(stack, 'WebRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  store.grantReadWrite(role);
  return { stack, store, role, template: templateOf(stack) };
}

/** The actions granted to the web role, by resource. */
function grantedStatements(stack: Stack, template: ReturnType<typeof templateOf>) {
  void stack;
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
}

describe('SessionStore', () => {
  test('makes an on-demand table keyed by the id hash, encrypted, with point-in-time recovery and TTL on expiresAt', () => {
    // GIVEN / WHEN a store with defaults
    const { template } = newStore();

    // THEN
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: SESSION_ATTRIBUTES.key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: SESSION_ATTRIBUTES.expiresAt, Enabled: true },
    });
    // DynamoDB always encrypts; SSEEnabled false selects the free AWS-owned key rather than a KMS key
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: false } });
  });

  test('indexes signed-in sessions by user, sparse, with what listing a user\'s sessions needs', () => {
    const { template, store } = newStore();
    expect(store.userIndexName).toBe(SESSION_USER_INDEX_NAME);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [{
        IndexName: SESSION_USER_INDEX_NAME,
        KeySchema: [{ AttributeName: SESSION_ATTRIBUTES.userId, KeyType: 'HASH' }, { AttributeName: SESSION_ATTRIBUTES.createdAt, KeyType: 'RANGE' }],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [SESSION_ATTRIBUTES.lastSeenAt, SESSION_ATTRIBUTES.expiresAt] },
      }],
    });
  });

  test('grants exactly the actions the session library calls, on the table and its index, and nothing else', () => {
    const { stack, store, template } = newStore();
    const statements = grantedStatements(stack, template);
    expect(statements).toHaveLength(1);
    expect([statements[0]!.Action].flat().sort()).toEqual([...SESSION_DYNAMODB_ACTIONS].sort());
    const tableArn = stack.resolve(store.table.tableArn);
    expect(statements[0]!.Resource).toEqual([tableArn, { 'Fn::Join': ['', [tableArn, `/index/${SESSION_USER_INDEX_NAME}`]] }]);
    expect(JSON.stringify(statements)).not.toMatch(/Scan|CreateTable|DescribeTable|\*/);
  });

  test('gives the servers the table and index names under the contract\'s variable names', () => {
    const { stack, store } = newStore();
    expect(stack.resolve(store.environment)).toEqual({
      [SESSION_TABLE_ENV]: stack.resolve(store.table.tableName),
      [SESSION_USER_INDEX_ENV]: SESSION_USER_INDEX_NAME,
    });
  });

  test('alarms on any throttled session request, summed over the operations the library performs, notifying a topic', () => {
    const { stack } = newStack();
    const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
    new SessionStore(stack, 'Sessions', { alarmTopic: topic });
    const template = templateOf(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [stack.resolve(topic.topicArn)],
      Metrics: Match.arrayWith([Match.objectLike({ Expression: Match.stringLikeRegexp('GetItem|getitem') })]),
    });
    const operations = JSON.stringify(template.findResources('AWS::CloudWatch::Alarm'));
    for (const op of ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query']) expect(operations).toContain(`{"Name":"Operation","Value":"${op}"}`);
  });

  test('with KMS: a key with rotation on encrypts the table, and the grant covers the key', () => {
    const { stack, store, template } = newStore({ encryption: SessionStoreEncryption.KMS });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: stack.resolve(store.encryptionKey!.keyArn) },
    });
    const kmsActions = grantedStatements(stack, template).flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('kms:'));
    expect(kmsActions.sort()).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']);
  });

  test('uses an existing table as it is, without an index unless told it has one', () => {
    const { stack } = newStack();
    const table = dynamodb.Table.fromTableName(stack, 'Existing', 'my-sessions');
    const plain = new SessionStore(stack, 'Plain', { table });
    const indexed = new SessionStore(stack, 'Indexed', { table, userIndex: true });
    expect(plain.table).toBe(table);
    expect(plain.createdTable).toBe(false);
    expect(plain.userIndexName).toBeUndefined();
    expect(indexed.userIndexName).toBe(SESSION_USER_INDEX_NAME);
    templateOf(stack).resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  test('retains its table when it leaves the stack, unless removalPolicy says otherwise', () => {
    // GIVEN / WHEN a store with defaults, and one with RemovalPolicy.DESTROY
    // THEN sessions outlive a stack deleted by mistake (CDK's default for tables), unless told
    newStore().template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    newStore({ removalPolicy: RemovalPolicy.DESTROY }).template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  test('can leave the user index out', () => {
    const { template, store } = newStore({ userIndex: false });
    expect(store.userIndexName).toBeUndefined();
    template.hasResourceProperties('AWS::DynamoDB::Table', { GlobalSecondaryIndexes: Match.absent() });
  });

  test('fails when an existing table comes with table-shaping props, naming them', () => {
    const { stack } = newStack();
    const table = dynamodb.Table.fromTableName(stack, 'Existing', 'my-sessions');
    expect(() => new SessionStore(stack, 'Sessions', { table, tableName: 'x-sessions', pointInTimeRecovery: false, removalPolicy: RemovalPolicy.DESTROY }))
      .toThrow(/table \+ tableName, pointInTimeRecovery, removalPolicy: an existing table is used as it is/);
  });

  test('a key alone means KMS, as it does for WorkQueue and sqs.Queue: the table is encrypted with it', () => {
    // GIVEN a key, and no encryption setting
    const { stack } = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    // WHEN the store is given the key alone
    const store = new SessionStore(stack, 'Sessions', { encryptionKey: key });
    // THEN the table uses it, and grants cover it
    expect(store.encryptionKey).toBe(key);
    templateOf(stack).hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: stack.resolve(key.keyArn) } });
  });

  test('fails when encryptionKey comes with AWS-owned encryption', () => {
    const { stack } = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    expect(() => new SessionStore(stack, 'Sessions', { encryption: SessionStoreEncryption.AWS_OWNED, encryptionKey: key }))
      .toThrow(/encryptionKey: means KMS encryption, but `encryption` is AWS_OWNED\. Leave `encryption` out \(a key means SessionStoreEncryption\.KMS\)/);
  });

  test('fails when throttleAlarmThreshold is not a whole number from 1', () => {
    expect(() => newStore({ throttleAlarmThreshold: 0 })).toThrow(/throttleAlarmThreshold: must be a whole number from 1 to 1,000,000, received 0/);
    expect(() => newStore({ throttleAlarmThreshold: 1.5 })).toThrow(/throttleAlarmThreshold: .*received 1.5/);
  });

  test('fails when tableName is not a valid DynamoDB table name', () => {
    expect(() => newStore({ tableName: 'my sessions!' })).toThrow(/tableName: must be 3 to 255 letters, digits, underscores, hyphens or dots, received "my sessions!"/);
  });

  test('reports every broken rule at once', () => {
    expect(() => newStore({ tableName: 'x', throttleAlarmThreshold: -1 })).toThrow(/throttleAlarmThreshold[\s\S]*tableName/);
  });
});

describe('SessionStore grants and imports, as every stateful construct has them', () => {
  const actionsOf = (stack: Stack, role: iam.IRole) => Object.values(templateOf(stack).findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([stack.resolve(role.roleName)]))
    .flatMap((p) => (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap((st) => [st.Action].flat())).sort();

  test('grantRead loads and lists sessions, grantWrite saves and destroys them: together what grantReadWrite grants', () => {
    const { stack } = newStack();
    const store = new SessionStore(stack, 'Sessions');
    const [reader, writer] = ['Reader', 'Writer'].map((id) => new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }));
    store.grantRead(reader!);
    store.grantWrite(writer!);
    expect(actionsOf(stack, reader!)).toEqual([...SESSION_READ_ACTIONS].sort());
    expect(actionsOf(stack, writer!)).toEqual([...SESSION_WRITE_ACTIONS].sort());
    expect([...SESSION_READ_ACTIONS, ...SESSION_WRITE_ACTIONS].sort()).toEqual([...SESSION_DYNAMODB_ACTIONS].sort());
  });

  test('a store imported from another stack gives the same grants and environment, and creates nothing', () => {
    // GIVEN the store's table of another stack, by name, with its index and key
    const { stack } = newStack();
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const sessions = SessionStore.fromSessionStoreAttributes(stack, 'Sessions', { tableName: 'sessions', userIndex: true, encryptionKey: key });
    const role = new iam.Role(stack, 'WebRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    // WHEN the web role is granted
    sessions.grantReadWrite(role);
    // THEN the library's actions on the table and its index, the key's actions, and the environment
    const template = templateOf(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(actionsOf(stack, role)).toEqual([...SESSION_DYNAMODB_ACTIONS, 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'].sort());
    expect(stack.resolve(sessions.environment)).toEqual({ [SESSION_TABLE_ENV]: 'sessions', [SESSION_USER_INDEX_ENV]: SESSION_USER_INDEX_NAME });
  });

  test('fails when an import names neither or both of tableName and tableArn', () => {
    const { stack } = newStack();
    expect(() => SessionStore.fromSessionStoreAttributes(stack, 'A', {})).toThrow(/tableName, tableArn: give exactly one of them, received neither/);
    expect(() => SessionStore.fromSessionStoreAttributes(stack, 'B', { tableName: 's', tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/s' }))
      .toThrow(/tableName, tableArn: give exactly one of them, received both/);
  });
});

describe('SessionStoreStack', () => {
  // cdk-nag, cfn-lint and the snapshot come from the catalog test, like every catalog stack's.
  test('outputs the table and index names, and removes the table with the stack', () => {
    const stack = new SessionStoreStack(new App(), 'SessionStoreStack');
    const template = templateOf(stack);
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual(['SessionTableName', 'SessionUserIndexName', 'ThrottleAlarmName']);
    template.hasOutput('SessionTableName', { Value: stack.resolve(stack.sessionStore.table.tableName) });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });
});
