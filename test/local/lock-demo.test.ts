/**
 * The local cloud's report demo (local/lock-demo.ts) against moto and LockStack's real report
 * worker behind the local SQS event source, three invocations at a time: the report jobs it
 * sends take the lock one after the other and its check passes; then the check fails, naming
 * what is wrong, when an acquisition wrote no report, the lock is left held or a job is
 * dead-lettered.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { LOCK_STACK_REPORT_LOCK, LOCK_STACK_REPORTS_TABLE_ENV, LOCK_TABLE_ENV } from '../../contracts/locks';
import { DEMO_REPORT_JOBS, reportDemo, reportDemoStatus, sendReportJobs, type ReportDemoTarget } from '../../local/lock-demo';
import { startSqsEventSource } from '../../local/sqs-event-source';
import { LockClient } from '../../runtime/locks/client';
import { createWorkQueue, queueDepth, useLocalAws, waitFor } from '../support/local-aws';
import { createLockTable } from '../runtime/locks/support';

const aws = useLocalAws();

test('the report jobs take the lock in turn and the check passes; it names a report not written under the latest token, a held lock and a dead letter', async () => {
  // GIVEN LockStack's resources and its report worker behind the local SQS event source
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const reportsTable = 'reports';
  await aws.dynamodb.send(new CreateTableCommand({
    TableName: reportsTable, KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
  }));
  const lockTableName = await createLockTable(aws.dynamodb);
  const queues = await createWorkQueue(aws.sqs, { visibilityTimeout: 30 });
  Object.assign(process.env, { [LOCK_TABLE_ENV]: lockTableName, [LOCK_STACK_REPORTS_TABLE_ENV]: reportsTable });
  // The handler reads its environment when loaded, as in Lambda.
  // (A require: an import() expression in this CommonJS file is an ECMAScript import under nodenext resolution.)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require('../../lambda/locks/nightly-report') as typeof import('../../lambda/locks/nightly-report');
  const target: ReportDemoTarget = { stackName: 'LockStack', reportsTable, lockTableName, lockName: LOCK_STACK_REPORT_LOCK, ...queues };
  const clients = { sqs: aws.sqs, dynamodb: aws.dynamodb };
  const source = startSqsEventSource({ sqs: aws.sqs, queueUrl: queues.queueUrl, invoke: (event, context) => handler(event, context), maxConcurrency: 3, batchSize: 1 });
  try {
    // WHEN the demo sends its report jobs for one day at once (the lock never taken before)
    const run = await sendReportJobs(target, clients, DEMO_REPORT_JOBS);
    const demo = reportDemo(run, clients);
    expect(run.jobIds).toHaveLength(DEMO_REPORT_JOBS);
    expect(run.day).toBe(new Date(run.sentAt).toISOString().slice(0, 10));

    // THEN each job takes the lock once, the report carries the latest token, and the check is clean
    await waitFor('every report job done', async () => (await demo.progress()).done === DEMO_REPORT_JOBS, 60_000);
    await waitFor('the queue to drain', async () => {
      const d = await queueDepth(aws.sqs, queues.queueUrl);
      return d.visible === 0 && d.inFlight === 0;
    }, 15_000);
    const status = await reportDemoStatus(run, clients);
    expect(status).toMatchObject({ done: DEMO_REPORT_JOBS, acquisitions: DEMO_REPORT_JOBS, token: run.tokenBefore + DEMO_REPORT_JOBS, held: false, queued: 0, deadLettered: 0 });
    expect(status.report).toEqual({ token: run.tokenBefore + DEMO_REPORT_JOBS, builtBy: expect.stringMatching(/.+/) });
    expect(run.jobIds).toContain(status.report!.builtBy);
    expect(await demo.problems()).toEqual([]);
    await source.stop();

    // AND WHEN someone takes the lock and keeps it without writing a report, and a message is dead-lettered
    const held = await new LockClient({ tableName: lockTableName, dynamodb: aws.dynamodb, leaseSeconds: 60 }).acquire(LOCK_STACK_REPORT_LOCK);
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: queues.deadLetterQueueUrl, MessageBody: '{"day":"yesterday"}' }));

    // THEN the check names each, and the progress no longer counts the last acquisition as done
    const latest = run.tokenBefore + DEMO_REPORT_JOBS + 1;
    expect(await demo.problems()).toEqual([
      `LockStack: lock ${LOCK_STACK_REPORT_LOCK} is still held`,
      `LockStack: the report for ${run.day} carries fencing token ${latest - 1}, the lock's latest is ${latest}: the latest holder did not write it`,
      'LockStack: 1 jobs in the dead-letter queue',
    ]);
    expect((await demo.progress()).done).toBe(DEMO_REPORT_JOBS);
    await held.release();
  } finally {
    await source.stop();
  }
});

test('a check right after sending names the jobs that have not taken the lock, and the missing report', async () => {
  // GIVEN the report demo's resources without a worker
  const reportsTable = 'reports-idle';
  await aws.dynamodb.send(new CreateTableCommand({
    TableName: reportsTable, KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
  }));
  const lockTableName = await createLockTable(aws.dynamodb);
  const queues = await createWorkQueue(aws.sqs);
  const target: ReportDemoTarget = { stackName: 'LockStack', reportsTable, lockTableName, lockName: LOCK_STACK_REPORT_LOCK, ...queues };
  const clients = { sqs: aws.sqs, dynamodb: aws.dynamodb };

  // WHEN two report jobs are sent and nothing runs them
  const run = await sendReportJobs(target, clients, 2);

  // THEN none is done and the check says why
  const demo = reportDemo(run, clients);
  expect(await demo.progress()).toEqual({ done: 0 });
  expect(await demo.problems()).toEqual([
    `LockStack: 2 report jobs were sent, but lock ${LOCK_STACK_REPORT_LOCK} was taken 0 times since (token ${run.tokenBefore} -> ${run.tokenBefore})`,
    `LockStack: no report for ${run.day} in ${reportsTable}`,
    'LockStack: 2 report jobs are still in the queue',
  ]);
});
