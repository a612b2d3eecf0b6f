/**
 * The log groups the catalog's constructs create: kept for a retention, retained with the stack's
 * removal (logs are evidence), and encrypted with a KMS key when one is given, with the key
 * policy CloudWatch Logs needs to use it (`logs.LogGroup` leaves that to its user).
 */
import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Options of {@link newLogGroup}. */
export interface CatalogLogGroupOptions {
  /** How long to keep logs. */
  readonly retention: logs.RetentionDays;
  /** Encrypt the logs with this key. */
  readonly encryptionKey?: kms.IKey;
}

/** A new log group with the catalog's defaults. */
export function newLogGroup(scope: Construct, id: string, options: CatalogLogGroupOptions): logs.LogGroup {
  const group = new logs.LogGroup(scope, id, {
    retention: options.retention,
    encryptionKey: options.encryptionKey,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // CloudWatch Logs encrypts with the key itself, and only for log groups of this account and
  // region (the encryption context names the group). The group's own ARN cannot be named here: the
  // group refers to the key, so the key's policy referring to the group would be a cycle.
  // An imported key's policy is not ours to change: addToResourcePolicy is then a no-op.
  options.encryptionKey?.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'CloudWatchLogsUse',
    principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    resources: ['*'],
    conditions: {
      ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*` },
    },
  }));
  return group;
}
