/**
 * LockStack as `cdk synth` makes it: cdk-nag (AwsSolutions, Serverless) with no unacknowledged
 * finding, and the wiring of its demo: a nightly schedule to the work queue (with its dead-letter
 * queue), the report worker with the lock table's environment and exactly the lock client's
 * actions, and the one write it makes to the reports table. cfn-lint and the snapshot run in
 * test/lib/stacks/catalog-app.test.ts over every catalog stack.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration } from 'aws-cdk-lib/core';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { LOCK_DYNAMODB_ACTIONS, LOCK_TABLE_ENV } from '../../../contracts/locks';
import { LockStack } from '../../../lib/stacks/lock-stack';
import { addCatalogChecks } from '../../../lib/testing';

describe('LockStack', () => {
  let outdir: string;
  let stack: LockStack;
  let template: Template;

  beforeAll(() => {
    // GIVEN the stack in an app with the catalog's checks WHEN it synthesizes (a cdk-nag finding throws here)
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-stack-'));
    const app = new App({ outdir });
    stack = new LockStack(app, 'LockStack');
    addCatalogChecks(app);
    app.synth();
    template = Template.fromStack(stack);
  });
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  test('sends the report job every night at 02:00 UTC to the work queue, failed deliveries to its dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      Targets: [Match.objectLike({
        Arn: stack.resolve(stack.workQueue.queue.queueArn),
        Input: '{}',
        DeadLetterConfig: { Arn: stack.resolve(stack.workQueue.deadLetterQueue!.queueArn) },
      })],
    });
  });

  test('the report worker gets the lock table\'s environment, exactly the lock client\'s actions, and PutItem on the reports table only', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [LOCK_TABLE_ENV]: stack.resolve(stack.locks.table.tableName), REPORTS_TABLE: stack.resolve(stack.reportsTable.tableName) }) },
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const on = (arn: unknown) => statements.filter((s) => [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(stack.resolve(arn)))).flatMap((s) => [s.Action].flat()).sort();
    expect(on(stack.locks.table.tableArn)).toEqual([...LOCK_DYNAMODB_ACTIONS].sort());
    expect(on(stack.reportsTable.tableArn)).toEqual(['dynamodb:PutItem']);
  });

  test('takes another schedule, and removes its demo tables with the stack', () => {
    const other = new LockStack(new App(), 'Other', { schedule: events.Schedule.rate(Duration.hours(1)) });
    Template.fromStack(other).hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});
