/**
 * The log groups the catalog's constructs create: kept for a retention, retained with the stack's
 * removal (logs are evidence), and encrypted with a KMS key when one is given, with the key
 * policy CloudWatch Logs needs to use it (`logs.LogGroup` leaves that to its user).
 */
import { Aws, RemovalPolicy } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PropRule } from './validation';

/**
 * What every construct that runs your code takes for its logs and its role: LambdaWorker,
 * FleetWorker, WebTier and BootstrappedImage take these same four props, checked by the same rules.
 */
export interface ComputeProps {
  /**
   * How long the logs are kept (in the log group the construct creates).
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * A log group of your own for the logs, used as it is (its retention and encryption are yours):
   * `logRetention` and `logEncryptionKey` cannot be set with it.
   *
   * @default - a new log group, kept for `logRetention` and retained when the stack is deleted
   */
  readonly logGroup?: logs.ILogGroup;

  /**
   * Encrypt the log group the construct creates with this KMS key (CloudWatch Logs is allowed to
   * use it for the log groups of this account and region).
   *
   * @default - encrypted by CloudWatch Logs with its own keys
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Put the permissions of the role the construct creates in a customer-managed policy instead of
   * an inline one, for rules that forbid inline policies (cdk-nag's IAMNoInlinePolicy in the
   * HIPAA, NIST and PCI packs). Later `grant...()` calls to it land there too.
   *
   * @default false
   */
  readonly customerManagedPolicies?: boolean;
}

/** The checks of {@link ComputeProps}: an existing log group keeps its own retention and encryption. */
export function logGroupRules(props: ComputeProps): PropRule[] {
  const conflicts = (['logRetention', 'logEncryptionKey'] as const).filter((k) => props[k] !== undefined);
  return [
    {
      failed: props.logGroup !== undefined && conflicts.length > 0,
      prop: `logGroup + ${conflicts.join(', ')}`,
      message: `an existing log group keeps its own retention and encryption, so ${conflicts.join(' and ')} cannot be set with it; received both. Remove ${conflicts.length === 1 ? 'it' : 'them'}, or remove \`logGroup\` to let the construct create one.`,
    },
  ];
}

/** The log group of a construct that runs code: the one given, or a new one (`id`) as {@link ComputeProps} says. */
export function logGroupFor(scope: Construct, id: string, props: ComputeProps): logs.ILogGroup {
  return props.logGroup ?? newLogGroup(scope, id, { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, encryptionKey: props.logEncryptionKey });
}

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
