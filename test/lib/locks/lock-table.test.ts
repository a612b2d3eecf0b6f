/**
 * LockTable's template: the table's secure defaults and key from the shared contract, a grant of
 * exactly the actions the lock client calls (the client's own test, test/runtime/locks/client.test.ts,
 * records the commands it sends and compares them with the same contract list), the environment
 * the client reads, KMS, imports that grant the same, metrics, and a `fails when ...` test for
 * every validation rule. LockStack's cdk-nag, cfn-lint and snapshot checks are the catalog test's.
 */
import { Duration, RemovalPolicy, type Stack } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { LOCK_ATTRIBUTES, LOCK_DYNAMODB_ACTIONS, LOCK_TABLE_ENV } from '../../../contracts/locks';
import { LockTable, LockTableEncryption, type ILockTable, type LockTableProps } from '../../../lib/locks';
import { newStack, templateOf } from '../../support/stacks';

function withGrant(make: (stack: Stack) => ILockTable) {
  const { stack } = newStack();
  const locks = make(stack);
  const role = new iam.Role(stack, 'WorkerRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const grant = locks.grantReadWrite(role);
  const template = templateOf(stack);
  const statements = Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
  return { stack, locks, role, grant, template, statements };
}
const newLocks = (props: LockTableProps = {}) => withGrant((stack) => new LockTable(stack, 'Locks', props));
const actionsOf = (statements: { Action: string | string[] }[], service: string) => statements.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith(`${service}:`)).sort();

describe('LockTable', () => {
  test('grantRead inspects (GetItem), grantWrite takes and releases (UpdateItem): together what grantReadWrite grants', () => {
    const { stack } = newStack();
    const locks = new LockTable(stack, 'Locks');
    const [reader, writer] = ['Reader', 'Writer'].map((id) => new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    locks.grantRead(reader!);
    locks.grantWrite(writer!);
    const actions = (r: iam.IRole) => Object.values(templateOf(stack).findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([stack.resolve(r.roleName)]))
      .flatMap((p) => (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap((st) => [st.Action].flat()));
    expect(actions(reader!)).toEqual(['dynamodb:GetItem']);
    expect(actions(writer!)).toEqual(['dynamodb:UpdateItem']);
    expect([...actions(reader!), ...actions(writer!)].sort()).toEqual([...LOCK_DYNAMODB_ACTIONS].sort());
  });

  test('makes an on-demand table keyed by the lock name, encrypted, with point-in-time recovery and TTL on deleteAfter, retained on removal', () => {
    // GIVEN / WHEN a lock table with defaults
    const { template } = newLocks();
    // THEN
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: LOCK_ATTRIBUTES.name, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: LOCK_ATTRIBUTES.name, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: LOCK_ATTRIBUTES.deleteAfter, Enabled: true },
      SSESpecification: { SSEEnabled: false },
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('grants exactly the actions the lock client calls, on the table only, and nothing else', () => {
    const { stack, locks, statements } = newLocks();
    expect(statements).toHaveLength(1);
    expect([statements[0]!.Action].flat().sort()).toEqual([...LOCK_DYNAMODB_ACTIONS].sort());
    expect(statements[0]!.Resource).toEqual(stack.resolve(locks.table.tableArn));
    expect(JSON.stringify(statements)).not.toMatch(/PutItem|DeleteItem|Scan|Query|DescribeTable|\*/);
  });

  test('gives the lock client the table name under the contract\'s variable name', () => {
    const { stack, locks } = newLocks();
    expect(stack.resolve(locks.environment)).toEqual({ [LOCK_TABLE_ENV]: stack.resolve(locks.table.tableName) });
  });

  test('with a key (which means KMS) or KMS asked for: the table is encrypted with it, rotation on for a new one, and the grant covers it', () => {
    const created = newLocks({ encryption: LockTableEncryption.KMS });
    created.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    created.template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: created.stack.resolve(created.locks.encryptionKey!.keyArn) },
    });
    expect(actionsOf(created.statements, 'kms')).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']);

    const given = withGrant((stack) => new LockTable(stack, 'Locks', { encryptionKey: new kms.Key(stack, 'MyKey', { enableKeyRotation: true }) }));
    given.template.resourceCountIs('AWS::KMS::Key', 1);
    given.template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEType: 'KMS' } });
  });

  test('takes a removal policy', () => {
    const { template } = newLocks({ removalPolicy: RemovalPolicy.DESTROY, tableName: 'demo-locks' });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: { TableName: 'demo-locks' } });
  });

  test('an imported lock table (by name or ARN) creates nothing and grants the same, its key included', () => {
    const byName = withGrant((stack) => LockTable.fromLockTableAttributes(stack, 'Locks', { tableName: 'shared-locks' }));
    byName.template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect([byName.statements[0]!.Action].flat().sort()).toEqual([...LOCK_DYNAMODB_ACTIONS].sort());
    expect(JSON.stringify(byName.statements[0]!.Resource)).toContain(':table/shared-locks');
    expect(byName.stack.resolve(byName.locks.environment)).toEqual({ [LOCK_TABLE_ENV]: 'shared-locks' });

    const byArn = withGrant((stack) => LockTable.fromLockTableAttributes(stack, 'Locks', {
      tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/shared-locks',
      encryptionKey: kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
    }));
    expect(byArn.statements.find((s) => [s.Action].flat().includes('dynamodb:UpdateItem'))!.Resource).toBe('arn:aws:dynamodb:eu-west-1:123456789012:table/shared-locks');
    expect(actionsOf(byArn.statements, 'kms')).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']);
  });

  test('metrics take MetricOptions over their defaults: throttles of the client\'s operations, failed conditions, write capacity', () => {
    const { stack, locks } = newLocks();
    const failed = locks.metricConditionalCheckFailedRequests({ period: Duration.minutes(1) });
    expect(failed.metricName).toBe('ConditionalCheckFailedRequests');
    expect(failed.period.toMinutes()).toBe(1);
    expect(failed.statistic).toBe('Sum');
    expect(locks.metricConsumedWriteCapacityUnits({ statistic: 'Maximum' }).statistic).toBe('Maximum');
    const throttled = JSON.stringify(stack.resolve(locks.metricThrottledRequests().toMetricConfig()));
    expect(throttled).toContain('GetItem');
    expect(throttled).toContain('UpdateItem');
  });

  test('fails when encryptionKey is given with AWS-owned encryption', () => {
    const { stack } = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    expect(() => new LockTable(stack, 'Locks', { encryption: LockTableEncryption.AWS_OWNED, encryptionKey: key }))
      .toThrow(/encryptionKey: means KMS encryption, but `encryption` is AWS_OWNED\. Leave `encryption` out \(a key means LockTableEncryption\.KMS\)/);
  });

  test('fails when tableName is not a valid DynamoDB table name', () => {
    expect(() => newLocks({ tableName: 'my locks!' })).toThrow(/tableName: must be 3 to 255 letters, digits, underscores, hyphens or dots, received "my locks!"/);
  });

  test('fails when an import gives both or neither of tableArn and tableName, or a malformed one', () => {
    const { stack } = newStack();
    expect(() => LockTable.fromLockTableAttributes(stack, 'Neither', {})).toThrow(/tableArn \+ tableName: give exactly one of them, received neither/);
    expect(() => LockTable.fromLockTableAttributes(stack, 'Both', { tableName: 'locks', tableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/locks' }))
      .toThrow(/tableArn \+ tableName: give exactly one of them, received both/);
    expect(() => LockTable.fromLockTableAttributes(stack, 'BadArn', { tableArn: 'arn:aws:sqs:eu-west-1:123456789012:locks' })).toThrow(/tableArn: must be a DynamoDB table ARN/);
    expect(() => LockTable.fromLockTableAttributes(stack, 'BadName', { tableName: 'x' })).toThrow(/tableName: must be 3 to 255 letters/);
  });

  test('reports every broken rule at once', () => {
    const { stack } = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    expect(() => new LockTable(stack, 'Locks', { tableName: 'x', encryption: LockTableEncryption.AWS_OWNED, encryptionKey: key })).toThrow(/encryptionKey[\s\S]*tableName/);
  });
});
