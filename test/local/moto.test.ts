/**
 * The embedded AWS's version check and its adjustments' warnings: a moto outside the tested
 * range is named with the range and the install command, and an adjustment that cannot be
 * applied to moto says so at once (instead of vanishing into a buffer while good jobs go to
 * the dead-letter queue).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CreateTableCommand, GetItemCommand, PutItemCommand, TransactWriteItemsCommand, type AttributeValue, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { MOTO_TESTED_RANGE_TEXT, motoVersion, motoVersionWarning, startMoto } from '../../local/moto';
import { useLocalAws } from '../support/local-aws';

describe('the moto version check', () => {
  test.each(['5.2.1', '5.2.9', '5.2.10'])('accepts %s, inside the tested range', (version) => {
    expect(motoVersionWarning(version)).toBeUndefined();
  });

  test.each(['5.3.0', '5.1.9', '6.0.0', '4.2.14', ''])('warns on "%s", naming the tested range and how to install it', (version) => {
    expect(motoVersionWarning(version)).toMatch(new RegExp(`outside the range the local cloud is tested with \\(>=5\\.2\\.1 <5\\.3\\)[\\s\\S]*pip install "moto\\[server\\]>=5\\.2\\.1,<5\\.3"`));
  });

  test('finds the moto of this machine inside the range', () => {
    expect(MOTO_TESTED_RANGE_TEXT).toBe('>=5.2.1 <5.3');
    expect(motoVersionWarning(motoVersion())).toBeUndefined();
  });
});

describe('the adjustments to moto', () => {
  test('say at once, while moto runs on, when one cannot be applied to this moto', async () => {
    // GIVEN a moto whose CloudFormation lacks what one adjustment wraps (as a later moto might)
    const site = fs.mkdtempSync(path.join(os.tmpdir(), 'moto-site-'));
    fs.writeFileSync(path.join(site, 'sitecustomize.py'), 'from moto.cloudformation import parsing\ndel parsing.parse_and_create_resource\n');
    const warnings: string[] = [];
    try {
      // WHEN the embedded AWS starts
      const moto = await startMoto({ onWarning: (line) => warnings.push(line), env: { ...process.env, PYTHONPATH: site } });
      try {
        // THEN that adjustment's warning is given as a line, the others applied, and moto answers
        expect(warnings).toEqual([expect.stringMatching(/^local cloud: could not record failed CloudFormation resources as stack events in this moto version \(AttributeError/)]);
        expect(moto.warnings()).toEqual(warnings);
        const res = await fetch(`http://127.0.0.1:${moto.port}/moto-api/`);
        expect(res.ok).toBe(true);
      } finally {
        await moto.stop();
      }
    } finally {
      fs.rmSync(site, { recursive: true, force: true });
    }
  });
});

describe('DynamoDB transactions in the embedded AWS', () => {
  // The launcher backs up the items a transaction names instead of deep-copying its tables (what
  // made each commit cost as much as the table is big): a cancelled transaction must still leave
  // every item as it was, in a table with a sort key too, and a transaction that passes applies.
  const aws = useLocalAws();
  const s = (v: string): AttributeValue => ({ S: v });
  const n = (v: number): AttributeValue => ({ N: String(v) });

  async function table(name: string, sortKey: boolean): Promise<string> {
    await aws.dynamodb.send(new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, ...(sortKey ? [{ AttributeName: 'sk', KeyType: 'RANGE' as const }] : [])],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, ...(sortKey ? [{ AttributeName: 'sk', AttributeType: 'N' as const }] : [])],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    return name;
  }
  const get = async (TableName: string, Key: Record<string, AttributeValue>) =>
    (await aws.dynamodb.send(new GetItemCommand({ TableName, Key, ConsistentRead: true }))).Item;

  test.each([false, true])('a cancelled transaction leaves every item as it was (sort key: %s); one that passes applies', async (sortKey) => {
    // GIVEN two items, one to update and one to delete, in a table of other items
    const name = await table(`tx-${sortKey ? 'sorted' : 'plain'}`, sortKey);
    const key = (pk: string): Record<string, AttributeValue> => (sortKey ? { pk: s(pk), sk: n(1) } : { pk: s(pk) });
    for (const pk of ['updated', 'deleted', ...Array.from({ length: 20 }, (_, i) => `other-${i}`)]) {
      await aws.dynamodb.send(new PutItemCommand({ TableName: name, Item: { ...key(pk), v: n(1) } }));
    }
    const writes: TransactWriteItem[] = [
      { Update: { TableName: name, Key: key('updated'), UpdateExpression: 'SET v = :two', ExpressionAttributeValues: { ':two': n(2) } } },
      { Delete: { TableName: name, Key: key('deleted') } },
      { Put: { TableName: name, Item: { ...key('created'), v: n(1) } } },
    ];

    // WHEN a transaction writes all three and its last check fails (after the writes before it applied in moto)
    const cancelled = aws.dynamodb.send(new TransactWriteItemsCommand({
      TransactItems: [...writes, { ConditionCheck: { TableName: name, Key: key('missing'), ConditionExpression: 'attribute_exists(pk)' } }],
    }));

    // THEN it is cancelled, and the items are as they were
    await expect(cancelled).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    expect(await get(name, key('updated'))).toEqual({ ...key('updated'), v: n(1) });
    expect(await get(name, key('deleted'))).toEqual({ ...key('deleted'), v: n(1) });
    expect(await get(name, key('created'))).toBeUndefined();
    expect(await get(name, key('other-7'))).toEqual({ ...key('other-7'), v: n(1) });

    // AND the same writes without the failing check apply
    await aws.dynamodb.send(new TransactWriteItemsCommand({ TransactItems: writes }));
    expect(await get(name, key('updated'))).toEqual({ ...key('updated'), v: n(2) });
    expect(await get(name, key('deleted'))).toBeUndefined();
    expect(await get(name, key('created'))).toEqual({ ...key('created'), v: n(1) });
  });
});

describe('SQS queues in the embedded AWS', () => {
  // The launcher gives moto's queues views of their messages that read the clock once (moto read it
  // through datetime arithmetic for every message, so each send cost as much as the queue held):
  // what is visible, in flight and delayed must be what SQS says.
  const aws = useLocalAws();

  test('count and hand out only the visible messages: not one in flight, nor one delayed; the latest receipt handle deletes its message', async () => {
    // GIVEN a queue of five messages, one of them delayed, with one received (in flight)
    const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: 'views' }));
    for (const body of ['a', 'b', 'c', 'd']) await aws.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
    await aws.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'later', DelaySeconds: 60 }));
    const first = (await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 60 }))).Messages!;
    const counts = async () => (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes;

    // THEN the counts say so
    expect(await counts()).toMatchObject({ ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '1', ApproximateNumberOfMessagesDelayed: '1' });

    // AND a receive hands out the three visible ones only
    const rest = (await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }))).Messages!;
    expect(rest.map((m) => m.Body).sort()).toEqual(['a', 'b', 'c', 'd'].filter((b) => b !== first[0]!.Body));
    expect(await counts()).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '4', ApproximateNumberOfMessagesDelayed: '1' });

    // WHEN one is made visible again and received anew (a new receipt handle), and two are deleted
    await aws.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: first[0]!.ReceiptHandle, VisibilityTimeout: 0 }));
    const again = (await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }))).Messages!;
    expect(again.map((m) => m.Body)).toEqual([first[0]!.Body]);
    expect(again[0]!.ReceiptHandle).not.toBe(first[0]!.ReceiptHandle);
    await aws.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: again[0]!.ReceiptHandle }));
    await aws.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: rest[0]!.ReceiptHandle }));

    // THEN those two are gone, and a handle no message had is refused
    expect(await counts()).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '2', ApproximateNumberOfMessagesDelayed: '1' });
    await expect(aws.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: 'not-a-handle' }))).rejects.toMatchObject({ name: expect.stringMatching(/ReceiptHandleIsInvalid/) });
  });
});
