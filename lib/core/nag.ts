/**
 * Acknowledging a cdk-nag check the same way under every pack that ships it. cdk-nag's packs
 * share rules under different ids (AwsSolutions-SMG4 is HIPAA.Security-SecretsManagerRotationEnabled
 * is NIST.800.53.R5-SecretsManagerRotationEnabled): a reason that holds for one holds for all,
 * and a user who turns on another pack must not meet a finding the catalog already answered.
 * test/lib/compliance-packs.test.ts derives these groups from cdk-nag's own packs and
 * checks every acknowledgement of the catalog against them.
 */
import { Stack, Validations } from 'aws-cdk-lib/core';
import type { IConstruct } from 'constructs';

/** One check under the id of each pack that ships it. */
export const SAME_CHECK = {
  /** A Lambda function has a dead-letter queue (lambda.LambdaDLQ). */
  lambdaDlq: ['Serverless-LambdaDLQ', 'HIPAA.Security-LambdaDLQ', 'NIST.800.53.R5-LambdaDLQ'],
  /** A DynamoDB table is in an AWS Backup plan (dynamodb.DynamoDBInBackupPlan). */
  dynamoDbInBackupPlan: ['HIPAA.Security-DynamoDBInBackupPlan', 'NIST.800.53.R4-DynamoDBInBackupPlan', 'NIST.800.53.R5-DynamoDBInBackupPlan'],
  /** An S3 bucket is encrypted with a KMS key by default (s3.S3DefaultEncryptionKMS). */
  s3DefaultEncryptionKms: ['HIPAA.Security-S3DefaultEncryptionKMS', 'NIST.800.53.R5-S3DefaultEncryptionKMS', 'PCI.DSS.321-S3DefaultEncryptionKMS'],
  /** An S3 bucket logs its accesses (s3.S3BucketLoggingEnabled). */
  s3BucketLogging: ['AwsSolutions-S1', 'HIPAA.Security-S3BucketLoggingEnabled', 'NIST.800.53.R4-S3BucketLoggingEnabled', 'NIST.800.53.R5-S3BucketLoggingEnabled', 'PCI.DSS.321-S3BucketLoggingEnabled'],
  /** A CloudWatch alarm has an action (cloudwatch.CloudWatchAlarmAction). */
  cloudWatchAlarmAction: ['HIPAA.Security-CloudWatchAlarmAction', 'NIST.800.53.R4-CloudWatchAlarmAction', 'NIST.800.53.R5-CloudWatchAlarmAction'],
  /** A Secrets Manager secret rotates (secretsmanager.SecretsManagerRotationEnabled). */
  secretsManagerRotation: ['AwsSolutions-SMG4', 'HIPAA.Security-SecretsManagerRotationEnabled', 'NIST.800.53.R5-SecretsManagerRotationEnabled'],
} as const;

/** Acknowledges one check on `scope` under every id it has, with one reason. */
export function acknowledgeCheck(scope: IConstruct, ids: readonly string[], reason: string): void {
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

/**
 * A CloudFormation value as cdk-nag names it in a finding (`arn:<AWS::Partition>:s3:::<Bucket.Arn>/*`):
 * references as `<LogicalId>` and `<LogicalId.Attribute>`, joins flattened. So that an
 * acknowledgement of one wildcard names that wildcard exactly, and no other.
 */
export function nagFindingText(scope: IConstruct, value: string): string {
  const visit = (node: unknown): string => {
    if (node === undefined) return '';
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
    const n = node as Record<string, unknown>;
    if (n['Fn::Join']) {
      const [delimiter, items] = n['Fn::Join'] as [string, unknown[]];
      return items.map(visit).join(delimiter);
    }
    if (n['Fn::Sub']) return visit(n['Fn::Sub']);
    if (n['Fn::GetAtt']) {
      const [resource, attribute] = n['Fn::GetAtt'] as [unknown, unknown];
      return `<${visit(resource)}.${visit(attribute)}>`;
    }
    if (n['Fn::ImportValue']) return visit(n['Fn::ImportValue']);
    if (n.Ref) return `<${visit(n.Ref)}>`;
    return JSON.stringify(node);
  };
  return visit(Stack.of(scope).resolve(value));
}

/**
 * Acknowledges AwsSolutions-IAM5 on `scope` for exactly these wildcard resources, with one reason.
 * The finding's text is computed when the tree is validated, once references between stacks are
 * resolved (a bucket of another stack renders as its `Fn::ImportValue`), as cdk-nag will read it.
 */
export function acknowledgeWildcardResources(scope: IConstruct, resources: readonly string[], reason: string): void {
  scope.node.addValidation({
    validate: () => {
      Validations.of(scope).acknowledge(...resources.map((r) => ({ id: `AwsSolutions-IAM5[Resource::${nagFindingText(scope, r)}]`, reason })));
      return [];
    },
  });
}
