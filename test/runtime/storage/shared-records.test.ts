/**
 * Shared records against moto's DynamoDB: UUID ids, conditional writes on a version, concurrent
 * writers that lose no update, a retried write recognizing its own success, and the IAM actions
 * the client calls.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RECORDS_READ_ACTIONS, RECORDS_WRITE_ACTIONS, STORAGE_RECORDS_TABLE_ENV } from '../../../contracts/shared-storage';
import { isUuid } from '../../../runtime/jobs/parse-job';
import { NotFoundError, RecordConflictError, SharedRecords, StorageOptionsError } from '../../../runtime/storage';
import { useLocalAws } from '../../support/local-aws';

const aws = useLocalAws();
const TABLE = 'shared-records';
const commandsCalled = new Set<string>();
let dynamodb: DynamoDBClient;

interface Counter extends Record<string, unknown> {
  count: number;
  by?: string[];
}

beforeAll(async () => {
  dynamodb = new DynamoDBClient({});
  dynamodb.middlewareStack.add((next, context) => async (args) => {
    commandsCalled.add(context.commandName ?? '?');
    return next(args);
  }, { step: 'initialize', name: 'recordCommands' });
  // As SharedStorage creates it: partition key `id`, a string.
  await aws.dynamodb.send(new CreateTableCommand({
    TableName: TABLE,
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
});
afterAll(() => dynamodb?.destroy());

const records = () => new SharedRecords<Counter>({ tableName: TABLE, dynamodb });

describe('SharedRecords', () => {
  test('creates a record under a new UUID at version 1, and reads it back', async () => {
    const created = await records().create({ count: 0 });
    expect(isUuid(created.id)).toBe(true);
    expect(created.version).toBe(1);
    expect(await records().get(created.id)).toEqual({ id: created.id, version: 1, data: { count: 0 } });
    expect(await records().get('no-such-record')).toBeUndefined();
  });

  test('refuses to create a record whose id exists', async () => {
    const { id } = await records().create({ count: 1 });
    await expect(records().create({ count: 2 }, { id })).rejects.toThrow(RecordConflictError);
    expect((await records().get(id))?.data.count).toBe(1);
  });

  test('replaces at the version read, and refuses a stale version naming both', async () => {
    const { id } = await records().create({ count: 1 });
    const second = await records().replace(id, { count: 2 }, 1);
    expect(second.version).toBe(2);
    await expect(records().replace(id, { count: 99 }, 1)).rejects.toThrow(/record .* is at version 2, not 1: another writer changed it/);
    expect(await records().get(id)).toMatchObject({ version: 2, data: { count: 2 } });
  });

  test('loses no update when two writers increment the same record at once', async () => {
    // GIVEN a counter, and two writers (separate clients) incrementing it 10 times each, concurrently
    const { id } = await records().create({ count: 0, by: [] });
    const writer = (name: string) => async () => {
      const mine = new SharedRecords<Counter>({ tableName: TABLE, dynamodb, maxUpdateAttempts: 50 });
      for (let i = 0; i < 10; i++) await mine.update(id, (c) => ({ count: c.count + 1, by: [...(c.by ?? []), name] }));
    };
    // WHEN both run
    await Promise.all([writer('a')(), writer('b')()]);
    // THEN every increment is there: 20, in 20 versions after the first
    const final = await records().get(id);
    expect(final?.data.count).toBe(20);
    expect(final?.version).toBe(21);
    expect(final?.data.by?.filter((n) => n === 'a')).toHaveLength(10);
  });

  test('a write retried after a lost response recognizes its own success instead of reporting a conflict', async () => {
    // GIVEN a client whose first PutItem response is lost after DynamoDB applied it (a fault moto cannot make)
    const flaky = new DynamoDBClient({});
    let lost = 0;
    flaky.middlewareStack.add((next, context) => async (args) => {
      const out = await next(args);
      if (context.commandName === 'PutItemCommand' && lost === 0) {
        lost += 1;
        throw Object.assign(new Error('socket hang up (injected after the write was applied)'), { name: 'TimeoutError', $metadata: {} });
      }
      return out;
    }, { step: 'deserialize', name: 'loseFirstPutResponse' });
    const { id } = await records().create({ count: 1 });

    // WHEN it replaces the record (the SDK retries the lost PutItem, whose condition now fails)
    const out = await new SharedRecords<Counter>({ tableName: TABLE, dynamodb: flaky }).replace(id, { count: 2 }, 1);

    // THEN it reports success, and the update was applied once
    expect(lost).toBe(1);
    expect(out.version).toBe(2);
    expect(await records().get(id)).toMatchObject({ version: 2, data: { count: 2 } });
    flaky.destroy();
  });

  test('deletes at the version read only', async () => {
    const { id } = await records().create({ count: 1 });
    await expect(records().delete(id, 7)).rejects.toThrow(RecordConflictError);
    await records().delete(id, 1);
    expect(await records().get(id)).toBeUndefined();
    await expect(records().update(id, (c) => c)).rejects.toThrow(NotFoundError);
  });

  test('sets the TTL attribute from expiresInSeconds, and refuses it without one', async () => {
    const ttl = new SharedRecords<Counter>({ tableName: TABLE, dynamodb, timeToLiveAttribute: 'expiresAt' });
    const { id } = await ttl.create({ count: 1 }, { expiresInSeconds: 3600 });
    const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    const item = (await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: id } } }))).Item!;
    expect(Number(item.expiresAt.N) - Date.now() / 1000).toBeGreaterThan(3500);
    await expect(records().create({ count: 1 }, { expiresInSeconds: 60 })).rejects.toThrow(/expiresInSeconds needs the table's TTL attribute/);
  });

  test('reads its table from the environment SharedStorage sets, and says which variable is missing', () => {
    expect(SharedRecords.fromEnvironment({}, { [STORAGE_RECORDS_TABLE_ENV]: TABLE }).tableName).toBe(TABLE);
    expect(() => SharedRecords.fromEnvironment({}, {})).toThrow(StorageOptionsError);
    expect(() => SharedRecords.fromEnvironment({}, {})).toThrow(new RegExp(STORAGE_RECORDS_TABLE_ENV));
  });

  test('calls only the DynamoDB actions SharedStorage grants for records', () => {
    const granted = new Set<string>([...RECORDS_READ_ACTIONS, ...RECORDS_WRITE_ACTIONS]);
    const actions = [...commandsCalled].map((c) => `dynamodb:${c.replace(/Command$/, '')}`);
    expect(actions.length).toBeGreaterThanOrEqual(3);
    for (const action of actions) expect([action, granted.has(action)]).toEqual([action, true]);
  });
});
