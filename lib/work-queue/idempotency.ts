/**
 * The DynamoDB table in which workers record finished jobs, shared by LambdaWorker and
 * FleetWorker so that both paths remember jobs the same way (Powertools' persistence layout).
 */
import { RemovalPolicy } from 'aws-cdk-lib/core';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { DYNAMODB_KEY_ACTIONS } from '../core/encryption';
import { SAME_CHECK, acknowledgeCheck } from '../core/nag';
import { AGENT_DYNAMODB_ACTIONS, IDEMPOTENCY_KEY_ATTRIBUTE, IDEMPOTENCY_TTL_ATTRIBUTE } from '../../contracts/work-queue';

/** The DynamoDB actions Powertools' persistence layer calls, and nothing more. */
export const IDEMPOTENCY_ACTIONS = [...AGENT_DYNAMODB_ACTIONS];

/**
 * A table for idempotency records: partition key `id`, TTL on `expiration`, on-demand,
 * point-in-time recovery, encrypted. Its records are only a memory of finished jobs, so by
 * default it is destroyed with the stack.
 */
export function newIdempotencyTable(scope: Construct, id: string, removalPolicy: RemovalPolicy = RemovalPolicy.DESTROY): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: { name: IDEMPOTENCY_KEY_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: IDEMPOTENCY_TTL_ATTRIBUTE,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy,
  });
  acknowledgeCheck(table, SAME_CHECK.dynamoDbInBackupPlan, 'Idempotency records are a short-lived memory of finished jobs (a TTL expires them, and the table goes with the stack): a restored backup would hold only expired or stale records. Point-in-time recovery is on for mistakes within the TTL.');
  return table;
}

/** Lets `grantee` read, write and delete idempotency records in `table` (and use its key). */
export function grantIdempotencyRecords(table: dynamodb.ITable, grantee: iam.IGrantable): iam.Grant {
  const grant = iam.Grant.addToPrincipal({ grantee, actions: IDEMPOTENCY_ACTIONS, resourceArns: [table.tableArn] });
  table.encryptionKey?.grant(grantee, ...DYNAMODB_KEY_ACTIONS);
  return grant;
}
