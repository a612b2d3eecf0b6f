/**
 * The fencing helpers against moto: a protected resource refuses a write carrying an older token
 * than one it already holds (DynamoDB items, SharedRecords records, S3 objects), accepts the same
 * or a newer one, and keeps the caller's own conditions; the S3 helper's If-Match path, taken for
 * real when another writer gets in between, and the ETag limitation its documentation states.
 */
import { ConditionalCheckFailedException, CreateTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'stream';
import { FENCING_TOKEN_ATTRIBUTE, FENCING_TOKEN_METADATA_KEY } from '../../../contracts/locks';
import { FencedOutError, putItemFenced, putObjectFenced, updateItemFenced, writeRecordFenced } from '../../../runtime/locks';
import { SharedRecords } from '../../../runtime/storage';
import { useLocalAws } from '../../support/local-aws';

const aws = useLocalAws();
const TABLE = 'fenced-resource';
const BUCKET = 'fenced-bucket';
let s3: S3Client;

beforeAll(async () => {
  await aws.dynamodb.send(new CreateTableCommand({
    TableName: TABLE, KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
  }));
  s3 = new S3Client({ forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(() => s3?.destroy());

let n = 0;
const id = () => `item-${++n}`;
const getItem = async (key: string) => (await aws.dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: key } }, ConsistentRead: true }))).Item;

describe('putItemFenced and updateItemFenced (DynamoDB)', () => {
  test('a write under an older token than the stored one is refused, naming both; the same or a newer token passes', async () => {
    // GIVEN an item written under token 7
    const key = id();
    await putItemFenced(aws.dynamodb, { TableName: TABLE, Item: { id: { S: key }, report: { S: 'by 7' } } }, 7);
    // WHEN a holder with token 6 writes THEN it is refused and the item is unchanged
    await expect(putItemFenced(aws.dynamodb, { TableName: TABLE, Item: { id: { S: key }, report: { S: 'by 6' } } }, 6))
      .rejects.toThrow(/refused a write to item .* with fencing token 6: it already holds a write made under token 7/);
    expect((await getItem(key))!.report!.S).toBe('by 7');
    // WHEN token 7 writes again, then 8 THEN both pass and the item carries 8
    await putItemFenced(aws.dynamodb, { TableName: TABLE, Item: { id: { S: key }, report: { S: 'by 7 again' } } }, 7);
    await putItemFenced(aws.dynamodb, { TableName: TABLE, Item: { id: { S: key }, report: { S: 'by 8' } } }, 8);
    expect(await getItem(key)).toMatchObject({ report: { S: 'by 8' }, [FENCING_TOKEN_ATTRIBUTE]: { N: '8' } });
  });

  test('the caller\'s own condition still applies, and its failure stays a ConditionalCheckFailedException', async () => {
    const key = id();
    await putItemFenced(aws.dynamodb, { TableName: TABLE, Item: { id: { S: key } } }, 3);
    const own = putItemFenced(aws.dynamodb, { TableName: TABLE, Item: { id: { S: key } }, ConditionExpression: 'attribute_not_exists(id)' }, 4);
    await expect(own).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await expect(own).rejects.not.toBeInstanceOf(FencedOutError);
  });

  test('an update stores the token in its SET clause (or a new one), and an older token is refused', async () => {
    const key = id();
    await updateItemFenced(aws.dynamodb, {
      TableName: TABLE, Key: { id: { S: key } }, UpdateExpression: 'SET #r = :r ADD #n :one',
      ExpressionAttributeNames: { '#r': 'report', '#n': 'runs' }, ExpressionAttributeValues: { ':r': { S: 'by 10' }, ':one': { N: '1' } },
    }, 10);
    await updateItemFenced(aws.dynamodb, {
      TableName: TABLE, Key: { id: { S: key } }, UpdateExpression: 'ADD #n :one', ExpressionAttributeNames: { '#n': 'runs' }, ExpressionAttributeValues: { ':one': { N: '1' } },
    }, 11);
    await expect(updateItemFenced(aws.dynamodb, {
      TableName: TABLE, Key: { id: { S: key } }, UpdateExpression: 'SET #r = :r', ExpressionAttributeNames: { '#r': 'report' }, ExpressionAttributeValues: { ':r': { S: 'by 9' } },
    }, 9)).rejects.toMatchObject({ name: 'FencedOutError', token: 9, storedToken: 11 });
    expect(await getItem(key)).toMatchObject({ report: { S: 'by 10' }, runs: { N: '2' }, [FENCING_TOKEN_ATTRIBUTE]: { N: '11' } });
  });

  test('fails when the token is not a fencing token', async () => {
    await expect(putItemFenced(aws.dynamodb, { TableName: TABLE, Item: { id: { S: id() } } }, 0)).rejects.toThrow(/token: must be a lock's fencing token \(a positive whole number\), received 0/);
  });
});

interface Report extends Record<string, unknown> { text: string; fencingToken?: number }

describe('writeRecordFenced (SharedRecords)', () => {
  const records = () => new SharedRecords<Report>({ tableName: TABLE, dynamodb: aws.dynamodb });

  test('creates a record carrying the token, refuses an older writer, and lets the same or a newer one change it', async () => {
    const key = id();
    await writeRecordFenced(records(), key, 20, () => ({ text: 'first by 20' }));
    await expect(writeRecordFenced(records(), key, 19, () => ({ text: 'late by 19' }))).rejects.toMatchObject({ name: 'FencedOutError', token: 19, storedToken: 20 });
    const next = await writeRecordFenced(records(), key, 21, (current) => ({ text: `${current!.text}, then by 21` }));
    expect(next.data).toEqual({ text: 'first by 20, then by 21', fencingToken: 21 });
    expect((await records().get(key))!.version).toBe(2);
  });

  test('two writers racing with tokens 5 and 6 always end with 6\'s write, whichever runs first', async () => {
    for (let round = 0; round < 5; round++) {
      const key = id();
      const outcomes = await Promise.allSettled([
        writeRecordFenced(records(), key, 5, () => ({ text: 'by 5' })),
        writeRecordFenced(records(), key, 6, () => ({ text: 'by 6' })),
      ]);
      expect(outcomes[1]!.status).toBe('fulfilled');
      if (outcomes[0]!.status === 'rejected') expect(outcomes[0]!.reason).toBeInstanceOf(FencedOutError);
      expect((await records().get(key))!.data).toEqual({ text: 'by 6', fencingToken: 6 });
    }
  });
});

describe('putObjectFenced (S3)', () => {
  const body = async (key: string) => (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
  let k = 0;
  const objectKey = () => `reports/r-${++k}.txt`;

  test('creates the object with its token (If-None-Match), refuses an older writer, passes a newer one (If-Match)', async () => {
    const key = objectKey();
    await putObjectFenced(s3, { Bucket: BUCKET, Key: key, Body: 'by 30' }, 30);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.Metadata?.[FENCING_TOKEN_METADATA_KEY]).toBe('30');
    await expect(putObjectFenced(s3, { Bucket: BUCKET, Key: key, Body: 'by 29' }, 29)).rejects.toThrow(/refused a write to s3:\/\/fenced-bucket\/reports\/r-\d+\.txt with fencing token 29: it already holds a write made under token 30/);
    await putObjectFenced(s3, { Bucket: BUCKET, Key: key, Body: Buffer.from('by 31') }, 31);
    expect(await body(key)).toBe('by 31');
  });

  test('a newer writer that gets in between the older one\'s check and write makes S3 refuse it (412), and the retry refuses it for good', async () => {
    // GIVEN an object by token 40, and a client that lets token 41 write just before its own PUT goes out
    const key = objectKey();
    await putObjectFenced(s3, { Bucket: BUCKET, Key: key, Body: 'by 40' }, 40);
    const racing = new S3Client({ forcePathStyle: true });
    let raced = 0;
    racing.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'PutObjectCommand' && raced++ === 0) await putObjectFenced(s3, { Bucket: BUCKET, Key: key, Body: 'by 41' }, 41);
      return next(args);
    }, { step: 'initialize', name: 'newerWriterFirst' });
    // WHEN the older holder (token 40, which the HEAD still allows) writes
    const older = putObjectFenced(racing, { Bucket: BUCKET, Key: key, Body: 'late by 40' }, 40);
    // THEN S3's If-Match refused its PUT, the re-read found 41, and the newer write stands
    await expect(older).rejects.toMatchObject({ name: 'FencedOutError', storedToken: 41 });
    expect(raced).toBe(1);
    expect(await body(key)).toBe('by 41');
    racing.destroy();
  });

  test('limitation, as documented: a newer writer that rewrites the same bytes keeps the ETag, so an older write in between passes', async () => {
    const key = objectKey();
    await putObjectFenced(s3, { Bucket: BUCKET, Key: key, Body: 'same bytes' }, 50);
    const racing = new S3Client({ forcePathStyle: true });
    let raced = 0;
    racing.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'PutObjectCommand' && raced++ === 0) await putObjectFenced(s3, { Bucket: BUCKET, Key: key, Body: 'same bytes' }, 51);
      return next(args);
    }, { step: 'initialize', name: 'identicalRewriteFirst' });
    await putObjectFenced(racing, { Bucket: BUCKET, Key: key, Body: 'late by 50' }, 50);
    expect(await body(key)).toBe('late by 50');
    racing.destroy();
  });

  test('a plain PUT bypasses the fence: every writer of the key must use the helper', async () => {
    const key = objectKey();
    await putObjectFenced(s3, { Bucket: BUCKET, Key: key, Body: 'by 60' }, 60);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'unfenced' }));
    await putObjectFenced(s3, { Bucket: BUCKET, Key: key, Body: 'by 59' }, 59);
    expect(await body(key)).toBe('by 59');
  });

  test('fails when the body is a stream, which a retried PUT could not send again', async () => {
    await expect(putObjectFenced(s3, { Bucket: BUCKET, Key: objectKey(), Body: Readable.from(['x']) }, 1)).rejects.toThrow(/Body: must be a string, Buffer or Uint8Array/);
  });
});

