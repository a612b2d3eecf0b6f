/**
 * LockStack's report worker on moto: two report jobs delivered at once build the report one
 * after the other under the lock (consecutive tokens), and the stored report carries the later
 * token; a malformed day fails the job as malformed.
 */
import { randomUUID } from 'crypto';
import { CreateTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { LOCK_TABLE_ENV } from '../../../contracts/locks';
import { JobRunner } from '../../../runtime/jobs/job-runner';
import type { JobMessage } from '../../../runtime/jobs/types';
import { useLocalAws } from '../../support/local-aws';
import { createLockTable } from '../../runtime/locks/support';

const aws = useLocalAws();
let reports: string;
let runner: JobRunner<unknown, { day: string; token: number }>;

beforeAll(async () => {
  reports = 'reports';
  await aws.dynamodb.send(new CreateTableCommand({
    TableName: reports, KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
  }));
  Object.assign(process.env, { [LOCK_TABLE_ENV]: await createLockTable(aws.dynamodb), REPORTS_TABLE: reports });
  // The handler reads its environment when loaded, as in Lambda.
  // (A require: an import() expression in this CommonJS file is an ECMAScript import under nodenext resolution.)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require('../../../lambda/locks/nightly-report') as typeof import('../../../lambda/locks/nightly-report');
  runner = new JobRunner(handler.definition, undefined) as typeof runner;
});
beforeEach(() => { jest.spyOn(console, 'log').mockImplementation(() => undefined); jest.spyOn(console, 'error').mockImplementation(() => undefined); });
afterEach(() => jest.restoreAllMocks());

const delivery = (job: unknown): JobMessage => ({ messageId: randomUUID(), body: JSON.stringify(job), receiveCount: 1 });

test('two report jobs at once build one after the other under the lock, and the report keeps the later token', async () => {
  // WHEN two jobs for the same day run together
  const outcomes = await Promise.all([1, 2].map(() => runner.run(delivery({ day: '2026-01-31' }), Date.now() + 30_000)));
  // THEN both built it, with consecutive tokens, and the stored report is the later one's
  expect(outcomes.every((o) => o.ok)).toBe(true);
  const tokens = outcomes.map((o) => (o as { result: { token: number } }).result.token).sort();
  expect(tokens[1]! - tokens[0]!).toBe(1);
  const item = (await aws.dynamodb.send(new GetItemCommand({ TableName: reports, Key: { id: { S: '2026-01-31' } }, ConsistentRead: true }))).Item!;
  expect(Number(item.fencingToken!.N)).toBe(tokens[1]);
});

test('a malformed day fails the job as malformed, naming the field', async () => {
  const outcome = await runner.run(delivery({ day: 'yesterday' }), Date.now() + 30_000);
  expect(outcome).toMatchObject({ ok: false, malformed: true });
  expect((outcome as { error: Error }).error.message).toMatch(/day must be a date like "2026-01-31", received "yesterday"/);
});
