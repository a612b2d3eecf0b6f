/**
 * The embedded AWS's version check and its adjustments' warnings: a moto outside the tested
 * range is named with the range and the install command, and an adjustment that cannot be
 * applied to moto says so at once (instead of vanishing into a buffer while good jobs go to
 * the dead-letter queue).
 */
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { CreateTableCommand, GetItemCommand, PutItemCommand, TransactWriteItemsCommand, UpdateItemCommand, type AttributeValue, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { queryCall } from '../../local/aws-query';
import { MOTO_PROBE, MOTO_TESTED_RANGE_TEXT, motoVersion, motoVersionWarning, startMoto } from '../../local/moto';
import { useLocalAws } from '../support/local-aws';

describe('the moto version check', () => {
  test.each(['5.2.1', '5.2.9', '5.2.10'])('accepts %s, inside the tested range', (version) => {
    expect(motoVersionWarning(version)).toBeUndefined();
  });

  test.each(['5.3.0', '5.1.9', '6.0.0', '4.2.14', ''])('warns on "%s", naming the tested range and how to install it', (version) => {
    expect(motoVersionWarning(version)).toMatch(new RegExp(`outside the range the local cloud is tested with \\(>=5\\.2\\.1 <5\\.3\\)[\\s\\S]*pip install "moto\\[server\\]>=5\\.2\\.1,<5\\.3"`));
  });

  describe('the probe (finds moto without importing it)', () => {
    let site: string;
    beforeAll(() => { site = fs.mkdtempSync(path.join(os.tmpdir(), 'moto-probe-')); });
    afterAll(() => fs.rmSync(site, { recursive: true, force: true }));
    /** Runs the probe with a package named moto in `site`, first on the path, whose __init__.py is `init`. */
    const probeWith = (init: string) => {
      fs.mkdirSync(path.join(site, 'moto'), { recursive: true });
      fs.writeFileSync(path.join(site, 'moto', '__init__.py'), init);
      return spawnSync('python3', ['-c', MOTO_PROBE], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: site } });
    };

    test('reads the version that moto\'s __init__.py states, without running it', () => {
      const probe = probeWith('raise SystemExit("imported")\n__version__ = "5.2.7"\n');
      expect([probe.status, probe.stdout]).toEqual([0, '5.2.7\n']);
    });

    test('imports moto for its version when the file computes it', () => {
      const probe = probeWith('__version__ = ".".join(["5", "2", "8"])\n');
      expect([probe.status, probe.stdout]).toEqual([0, '5.2.8\n']);
    });

    test('exits 3 when moto or its server\'s modules are missing', () => {
      const probe = spawnSync('python3', ['-S', '-c', MOTO_PROBE], { encoding: 'utf8' });
      expect([probe.status, probe.stdout]).toEqual([3, '']);
    });
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
        // and botocore's models, read once for every Session (the launcher's first adjustment),
        // still give EC2 the regions of every partition, as each Session's own reading did
        const { status, xml } = await queryCall(moto.endpoint, 'ec2', { Action: 'DescribeRegions', Version: '2016-11-15', AllRegions: 'true' });
        expect(status).toBe(200);
        const regions = [...xml.matchAll(/<regionName>([^<]+)<\/regionName>/g)].map((m) => m[1]);
        expect(regions).toEqual(expect.arrayContaining(['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-gov-west-1', 'cn-north-1']));
        expect(regions.length).toBeGreaterThanOrEqual(30);
      } finally {
        await moto.stop();
      }
    } finally {
      fs.rmSync(site, { recursive: true, force: true });
    }
  });
});

describe('DynamoDB transactions and expressions in the embedded AWS', () => {
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

  test('an expression lexed once is still read with each request\'s own names and values; a bad one is refused every time', async () => {
    // The launcher lexes each condition and update expression's text once: the same text, sent with
    // other names and values, must still mean what they say.
    const name = await table('lexed-once', false);
    await aws.dynamodb.send(new PutItemCommand({ TableName: name, Item: { pk: s('a'), hits: n(5), seen: n(0) } }));
    const bump = (attribute: string, by: number, below: number) => aws.dynamodb.send(new UpdateItemCommand({
      TableName: name, Key: { pk: s('a') },
      UpdateExpression: 'SET #f = #f + :by', ConditionExpression: 'attribute_exists(pk) AND #f < :below',
      ExpressionAttributeNames: { '#f': attribute }, ExpressionAttributeValues: { ':by': n(by), ':below': n(below) },
    }));
    await bump('hits', 2, 10);
    await bump('seen', 3, 10);
    await expect(bump('hits', 1, 7)).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(await get(name, { pk: s('a') })).toEqual({ pk: s('a'), hits: n(7), seen: n(3) });
    for (let i = 0; i < 2; i++) {
      await expect(aws.dynamodb.send(new UpdateItemCommand({ TableName: name, Key: { pk: s('a') }, UpdateExpression: 'SET hits = hits +', ExpressionAttributeValues: {} })))
        .rejects.toMatchObject({ name: 'ValidationException' });
      // (moto answers a condition it cannot lex with an internal error, not a ValidationException, with or without the adjustment)
      await expect(aws.dynamodb.send(new PutItemCommand({ TableName: name, Item: { pk: s('b') }, ConditionExpression: 'attribute_not_exists(pk) AND $' })))
        .rejects.toThrow();
    }
    expect(await get(name, { pk: s('b') })).toBeUndefined();
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

  test('answer named attributes as they answer All, and refuse a name no queue has', async () => {
    // GIVEN a queue with a message in it and attributes of its own
    const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: 'named-attributes', Attributes: { VisibilityTimeout: '45', MessageRetentionPeriod: '3600' } }));
    await aws.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'a' }));
    const all = (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes!;

    // WHEN some are asked for by name
    const names = ['ApproximateNumberOfMessages', 'VisibilityTimeout', 'MessageRetentionPeriod', 'QueueArn'] as const;
    const named = (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: [...names] }))).Attributes!;

    // THEN they are those of All, and nothing else
    expect(named).toEqual(Object.fromEntries(names.map((n) => [n, all[n]])));
    expect(named).toMatchObject({ ApproximateNumberOfMessages: '1', VisibilityTimeout: '45', MessageRetentionPeriod: '3600' });
    // AND the message, inside its retention period, is received
    expect((await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages?.map((m) => m.Body)).toEqual(['a']);
    // AND a name no queue has is refused as SQS refuses it
    await expect(aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['NoSuchAttribute' as 'All'] }))).rejects.toMatchObject({ name: expect.stringMatching(/InvalidAttributeName/) });
  });
});

describe('HTTP connections to the embedded AWS', () => {
  // The launcher serves keep-alive connections (werkzeug's development server closed each one after
  // one response, a new connection and thread per request): a connection must carry request after
  // request intact, whatever the application read of each body.
  const aws = useLocalAws();
  let agent: http.Agent;
  beforeEach(() => { agent = new http.Agent({ keepAlive: true, maxSockets: 1 }); });
  afterEach(() => agent.destroy());

  /** moto finds the service of a request in its credential scope (it checks no signature); a body as bytes, not a form. */
  const S3_REQUEST = { authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0', 'content-type': 'application/octet-stream' };
  interface Reply { readonly status: number; readonly body: string; readonly reused: boolean; readonly connection: string | undefined }
  /** One request through the one-socket agent; `chunks` are written without a Content-Length (a chunked body). */
  function request(method: string, urlPath: string, body?: string | string[]): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers = { ...S3_REQUEST, ...(typeof body === 'string' ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
      const req = http.request({ host: '127.0.0.1', port: aws.moto.port, method, path: urlPath, agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode!, body: text, reused: req.reusedSocket, connection: res.headers.connection }));
      });
      req.on('error', reject);
      for (const chunk of typeof body === 'string' ? [body] : body ?? []) req.write(chunk);
      req.end();
    });
  }

  test('carry request after request on one connection, a body the service did not read dropped before the next', async () => {
    // GIVEN a request whose 256 KiB body the service does not read (a GET of moto's state)
    const ignored = await request('GET', '/moto-api/data.json', 'x'.repeat(256 * 1024));
    expect(ignored).toMatchObject({ status: 200, reused: false, connection: undefined });

    // WHEN the next requests use the same connection
    const next = await request('GET', '/moto-api/data.json');

    // THEN each is answered in full, on that connection
    expect(next).toMatchObject({ status: 200, reused: true });
    expect(JSON.parse(next.body)).toEqual(expect.any(Object));
  });

  test('read a chunked body (no Content-Length) to its end, and answer the next request on the same connection', async () => {
    // GIVEN a bucket, and an object sent in three chunks
    expect((await request('PUT', '/chunked-body-bucket')).status).toBe(200);
    const put = await request('PUT', '/chunked-body-bucket/object', ['first chunk, ', 'second, ', 'third']);
    expect(put).toMatchObject({ status: 200, reused: true });

    // WHEN it is read back on the same connection
    const got = await request('GET', '/chunked-body-bucket/object');

    // THEN it is the whole body
    expect(got).toMatchObject({ status: 200, reused: true, body: 'first chunk, second, third' });
  });

  test('close an HTTP/1.0 connection after its response, as HTTP/1.0 expects', async () => {
    // GIVEN a client speaking HTTP/1.0
    const socket = net.connect(aws.moto.port, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => { received += d.toString(); });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));

    // WHEN it sends a request
    socket.write('GET /moto-api/data.json HTTP/1.0\r\nHost: localhost\r\n\r\n');

    // THEN the whole response comes, and then the server closes the connection
    await closed;
    expect(received).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(received.slice(received.indexOf('\r\n\r\n') + 4)).toMatch(/^\{[\s\S]*\}$/);
  });
});
