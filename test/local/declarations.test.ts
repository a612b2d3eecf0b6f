/**
 * The workload contract end to end: a construct declares its workload as resource Metadata
 * (lib/core/workload.ts), CloudFormation deploys the template into moto, and the local cloud
 * reads the declaration back from the deployed template with its references resolved to what
 * moto created (local/declarations.ts, the inventory).
 */
import { App, CfnResource, Fn, Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { WORKLOAD_METADATA_KEY, defineWorkloadKind, type WorkloadDeclaration } from '../../contracts/workload';
import { declareWorkload, declaredWorkload } from '../../lib/core/workload';
import { UnresolvableReferenceError, resolveReferences, type ResolutionContext } from '../../local/declarations';
import { readInventory } from '../../local/inventory';
import { notRunDeclarations, type WorkloadKind } from '../../local/workloads';
import { useLocalAws } from '../support/local-aws';

interface PollerWorkload extends WorkloadDeclaration<'test/poller', 1> {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly tableName: string;
  readonly label: string;
  readonly settings: { readonly batch: number; readonly names: readonly string[] };
}
const POLLER = defineWorkloadKind<PollerWorkload>('test/poller', 1);

function newStack(tableProps: Partial<dynamodb.TableProps> = {}) {
  const stack = new Stack(new App(), 'DeclarationStack');
  const queue = new sqs.Queue(stack, 'Queue');
  const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING }, ...tableProps });
  return { stack, queue, table };
}

describe('declareWorkload', () => {
  test('writes the declaration as Metadata of the resource, with tokens as references', () => {
    // GIVEN a queue and a table
    const { stack, queue, table } = newStack();
    // WHEN a workload is declared on the table, naming the queue
    const tableResource = table.node.defaultChild as CfnResource;
    declareWorkload(tableResource, POLLER.declare({
      queueUrl: queue.queueUrl, queueArn: queue.queueArn, tableName: 'x', label: 'x', settings: { batch: 5, names: ['a'] },
    }));
    // THEN the template holds it under the contract's key, references unresolved
    const tables = Template.fromStack(stack).findResources('AWS::DynamoDB::Table');
    const metadata = Object.values(tables)[0]!.Metadata[WORKLOAD_METADATA_KEY];
    expect(metadata).toEqual({
      kind: 'test/poller',
      version: 1,
      queueUrl: { Ref: stack.resolve((queue.node.defaultChild as CfnResource).logicalId) },
      queueArn: { 'Fn::GetAtt': [stack.resolve((queue.node.defaultChild as CfnResource).logicalId), 'Arn'] },
      tableName: 'x',
      label: 'x',
      settings: { batch: 5, names: ['a'] },
    });
    expect(declaredWorkload(tableResource)?.kind).toBe('test/poller');
  });

  test('fails when a resource already declares a workload, naming both', () => {
    const { queue } = newStack();
    const cfn = queue.node.defaultChild as CfnResource;
    declareWorkload(cfn, POLLER.declare({ queueUrl: 'u', queueArn: 'a', tableName: 't', label: 'x', settings: { batch: 1, names: [] } }));
    expect(() => declareWorkload(cfn, { kind: 'test/other', version: 1 })).toThrow(/DeclarationStack\/Queue\/Resource already declares a workload \(test\/poller v1\); declare test\/other/);
  });

  test('fails at synth when a declaration refers to the resource that carries it (CloudFormation: a circular dependency)', () => {
    const { stack, queue } = newStack();
    declareWorkload(queue.node.defaultChild as CfnResource, { kind: 'test/self', version: 1, url: queue.queueUrl } as WorkloadDeclaration);
    expect(() => Template.fromStack(stack)).toThrow(/\[DeclarationStack\/Queue\/Resource\] its workload declaration test\/self refers to the resource itself \(Queue\w+\).*physicalId/);
  });

  test('fails when a kind is not "<pattern>/<workload>"', () => {
    expect(() => defineWorkloadKind('Poller', 1)).toThrow(/"<pattern>\/<workload>".*received "Poller"/);
    expect(() => defineWorkloadKind('a/b', 0)).toThrow(/version is a whole number from 1, received 0/);
  });
});

describe('resolveReferences', () => {
  const context: ResolutionContext = {
    stackName: 'S',
    stackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/S/x',
    account: '123456789012',
    region: 'us-east-1',
    resources: new Map([
      ['Q', { type: 'AWS::SQS::Queue', physicalId: 'http://localhost:1/123456789012/S-Q-1' }],
      ['B', { type: 'AWS::S3::Bucket', physicalId: 'bucket-1' }],
      ['W', { type: 'AWS::CloudWatch::Dashboard', physicalId: 'dash' }],
    ]),
    parameters: { Ami: 'ami-1' },
    exports: { 'Other:Name': 'exported' },
    mappings: { M: { 'us-east-1': { v: 'mapped' } } },
  };

  test('resolves what CDK writes: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::ImportValue, Fn::FindInMap, pseudo parameters', () => {
    expect(resolveReferences({
      url: { Ref: 'Q' },
      arn: { 'Fn::GetAtt': ['Q', 'Arn'] },
      name: { 'Fn::GetAtt': 'Q.QueueName' },
      s3: { 'Fn::Join': ['', ['s3://', { Ref: 'B' }, '/k.zip']] },
      sub: { 'Fn::Sub': ['${AWS::Region}/${Q.Arn}/${X}/${!Lit}', { X: { Ref: 'Ami' } }] },
      part: { 'Fn::Select': [1, { 'Fn::Split': ['-', 'a-b-c'] }] },
      imported: { 'Fn::ImportValue': 'Other:Name' },
      mapped: { 'Fn::FindInMap': ['M', { Ref: 'AWS::Region' }, 'v'] },
      list: [{ Ref: 'AWS::AccountId' }, 3, true],
    }, context)).toEqual({
      url: 'http://localhost:1/123456789012/S-Q-1',
      arn: 'arn:aws:sqs:us-east-1:123456789012:S-Q-1',
      name: 'S-Q-1',
      s3: 's3://bucket-1/k.zip',
      sub: 'us-east-1/arn:aws:sqs:us-east-1:123456789012:S-Q-1/ami-1/${Lit}',
      part: 'b',
      imported: 'exported',
      mapped: 'mapped',
      list: ['123456789012', 3, true],
    });
  });

  test('fails on what it cannot resolve, naming the reference', () => {
    expect(() => resolveReferences({ Ref: 'Nope' }, context)).toThrow(UnresolvableReferenceError);
    expect(() => resolveReferences({ Ref: 'Nope' }, context)).toThrow(/Ref Nope/);
    expect(() => resolveReferences({ 'Fn::GetAtt': ['W', 'DashboardArn'] }, context)).toThrow(/W\.DashboardArn: the local cloud does not know AWS::CloudWatch::Dashboard's DashboardArn/);
    expect(() => resolveReferences({ 'Fn::If': ['C', 'a', 'b'] }, context)).toThrow(/Fn::If is not resolved/);
  });
});

describe('the inventory of a deployed stack', () => {
  const aws = useLocalAws();

  test('reads each declaration from the deployed template, resolved to what the embedded AWS created', async () => {
    // GIVEN a stack with two declarations: one the local cloud can resolve, one it cannot
    const { stack, queue, table } = newStack({ stream: dynamodb.StreamViewType.NEW_IMAGE });
    const tableResource = table.node.defaultChild as CfnResource;
    declareWorkload(tableResource, POLLER.declare({
      queueUrl: queue.queueUrl, queueArn: queue.queueArn, tableName: 'see physicalId', label: Fn.join('-', ['a', stack.region]), settings: { batch: 5, names: ['a'] },
    }));
    declareWorkload(new sqs.Queue(stack, 'Other').node.defaultChild as CfnResource, { kind: 'test/stream', version: 1, stream: table.tableStreamArn! } as WorkloadDeclaration);
    const template = Template.fromStack(stack).toJSON();
    delete template.Parameters; // the bootstrap version check: not deployed by CDK here
    delete template.Rules;
    // One attempt: a retried CreateStack that had in fact succeeded would fail with AlreadyExists.
    const cfn = new CloudFormationClient({ maxAttempts: 1 });
    await cfn.send(new CreateStackCommand({ StackName: 'DeclarationStack', TemplateBody: JSON.stringify(template) }));

    // WHEN the local cloud reads what was deployed
    const inventory = await readInventory(aws.moto.endpoint, { cloudformation: cfn, lambda: new LambdaClient({}), sqs: aws.sqs }, ['DeclarationStack']);

    // THEN the poller's fields are the deployed queue's URL and ARN and the table's name
    const [poller, ...others] = inventory.declarations(POLLER);
    expect(others).toEqual([]);
    const queueUrl = inventory.queues[0]!.url;
    const queueArn = (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn;
    expect(poller).toEqual({
      stackName: 'DeclarationStack',
      logicalId: stack.resolve(tableResource.logicalId),
      type: 'AWS::DynamoDB::Table',
      physicalId: inventory.stacks[0]!.resources.find((r) => r.type === 'AWS::DynamoDB::Table')!.physicalId,
      declaration: { kind: 'test/poller', version: 1, queueUrl, queueArn, tableName: 'see physicalId', label: 'a-us-east-1', settings: { batch: 5, names: ['a'] } },
    });
    // AND the declaration it cannot resolve is a problem that says why, not a wrong value
    expect(inventory.declarationProblems).toEqual([expect.objectContaining({ kind: 'test/stream', problem: expect.stringMatching(/StreamArn/) })]);
    // AND a declaration that no kind runs is reported, with the versions that are run
    const kinds: WorkloadKind[] = [{ name: 'old poller', declares: [defineWorkloadKind('test/poller', 2)], start: async () => [] }];
    expect(notRunDeclarations(inventory, kinds, [])).toEqual([
      expect.stringMatching(/DeclarationStack\/Table\w+ declares workload test\/poller v1: this local cloud runs v2 of it/),
    ]);
    expect(notRunDeclarations(inventory, [{ ...kinds[0]!, declares: [POLLER] }], [])).toEqual([]);
    cfn.destroy();
  });
});
