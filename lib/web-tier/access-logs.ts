/**
 * The bucket of an Application Load Balancer's access logs, with the regional ELB delivery
 * policy, for region-agnostic stacks. ELB writes access logs as an AWS account of its own in
 * the regions opened before August 2022, and as the service principal
 * `logdelivery.elasticloadbalancing.amazonaws.com` in the newer ones. CDK's `logAccessLogs`
 * picks the account at synth and so refuses a stack without a region; here, with the region
 * known at synth the policy names the right principal, and without it a mapping of the legacy
 * regions' ELB accounts (from CDK's own region facts) and a condition choose at deploy time.
 */
import { Annotations, Aws, CfnCondition, CfnMapping, Duration, Fn, RemovalPolicy, Stack, Token, type ICfnConditionExpression } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { SAME_CHECK, acknowledgeCheck } from '../core/nag';

/** The principal ELB writes access logs as in regions opened from August 2022 on. */
export const ELB_LOG_DELIVERY_SERVICE = 'logdelivery.elasticloadbalancing.amazonaws.com';

/** Regions where ELB writes logs as its own account, with that account (CDK's region facts). */
export function legacyElbAccounts(): Record<string, string> {
  const accounts: Record<string, string> = {};
  for (const region of RegionInfo.regions) {
    if (region.elbv2Account) accounts[region.name] = region.elbv2Account;
  }
  return accounts;
}

/** Properties of an {@link AccessLogsBucket}. */
export interface AccessLogsBucketProps {
  /** The key prefix the balancer writes under (its `access_logs.s3.prefix`). */
  readonly prefix: string;
  /** How long logs are kept. */
  readonly retention: Duration;
  /** @default RemovalPolicy.RETAIN (logs are evidence) */
  readonly removalPolicy?: RemovalPolicy;
}

/** A bucket for ALB access logs: SSE-S3 (the only encryption ELB delivers to), TLS only, no public access, versioned, expiring. */
export class AccessLogsBucket extends Construct {
  public readonly bucket: s3.Bucket;
  /** The bucket policy: TLS only, and the ELB's right to write under the prefix. */
  public readonly policy: s3.CfnBucketPolicy;

  constructor(scope: Construct, id: string, props: AccessLogsBucketProps) {
    super(scope, id);
    const days = props.retention.toDays();
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(days), noncurrentVersionExpiration: Duration.days(1) }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    acknowledgeCheck(this.bucket, SAME_CHECK.s3BucketLogging, 'This bucket holds access logs itself; logging its own accesses would need yet another log bucket (and that one another).');
    acknowledgeCheck(this.bucket, SAME_CHECK.s3DefaultEncryptionKms, 'Elastic Load Balancing delivers access logs only to buckets encrypted with SSE-S3, not SSE-KMS: AWS offers no way to put them under a KMS key. Pass WebTier `accessLogsBucket` to log to a bucket of your own.');

    // The whole policy is written here rather than through bucket.addToResourcePolicy, whose
    // principals cannot be chosen by a condition.
    this.policy = new s3.CfnBucketPolicy(this, 'Policy', {
      bucket: this.bucket.bucketName,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'TlsOnly',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Resource: [this.bucket.bucketArn, `${this.bucket.bucketArn}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
          {
            Sid: 'ElbAccessLogDelivery',
            Effect: 'Allow',
            Principal: this.elbPrincipal(),
            Action: 's3:PutObject',
            Resource: `${this.bucket.bucketArn}/${props.prefix}/AWSLogs/${Aws.ACCOUNT_ID}/*`,
          },
        ],
      },
    });
  }

  /** The principal ELB writes as: picked at synth when the region is known, by a condition otherwise. */
  private elbPrincipal(): unknown {
    const accounts = legacyElbAccounts();
    const accountPrincipal = (account: string) => ({ AWS: `arn:${Aws.PARTITION}:iam::${account}:root` });
    const service = { Service: ELB_LOG_DELIVERY_SERVICE };
    const region = Stack.of(this).region;
    if (!Token.isUnresolved(region)) {
      return accounts[region] ? accountPrincipal(accounts[region]) : service;
    }
    const mapping = new CfnMapping(this, 'ElbAccounts', {
      mapping: Object.fromEntries(Object.entries(accounts).map(([r, account]) => [r, { account }])),
    });
    const condition = new CfnCondition(this, 'LegacyElbRegion', { expression: anyOf(Object.keys(accounts).map((r) => Fn.conditionEquals(Aws.REGION, r))) });
    return Fn.conditionIf(condition.logicalId, accountPrincipal(mapping.findInMap(Aws.REGION, 'account')), service);
  }
}

/**
 * Lets the ELB deliver access logs under `prefix` of a bucket the user brought (WebTier
 * `accessLogsBucket`), as a statement of its bucket policy. Without a region at synth the statement
 * names both principals ELB may write as: the service principal (regions from August 2022) and,
 * by a condition, the region's ELB account (older regions; the account's own root elsewhere, which
 * grants nothing the account's own IAM does not). An imported bucket's policy is not ours to
 * change: a warning says what to add there.
 */
export function allowElbLogDelivery(scope: Construct, bucket: s3.IBucket, prefix: string): void {
  const resource = `${bucket.bucketArn}/${prefix}/AWSLogs/${Aws.ACCOUNT_ID}/*`;
  const accounts = legacyElbAccounts();
  const region = Stack.of(scope).region;
  let principals: iam.IPrincipal[];
  if (!Token.isUnresolved(region)) {
    principals = [accounts[region] ? new iam.AccountPrincipal(accounts[region]) : new iam.ServicePrincipal(ELB_LOG_DELIVERY_SERVICE)];
  } else {
    const mapping = new CfnMapping(scope, 'ElbAccounts', { mapping: Object.fromEntries(Object.entries(accounts).map(([r, account]) => [r, { account }])) });
    const legacy = new CfnCondition(scope, 'LegacyElbRegion', { expression: anyOf(Object.keys(accounts).map((r) => Fn.conditionEquals(Aws.REGION, r))) });
    const account = Fn.conditionIf(legacy.logicalId, mapping.findInMap(Aws.REGION, 'account'), Aws.ACCOUNT_ID).toString();
    principals = [new iam.ServicePrincipal(ELB_LOG_DELIVERY_SERVICE), new iam.ArnPrincipal(`arn:${Aws.PARTITION}:iam::${account}:root`)];
  }
  const added = bucket.addToResourcePolicy(new iam.PolicyStatement({ sid: 'ElbAccessLogDelivery', principals, actions: ['s3:PutObject'], resources: [resource] }));
  if (!added.statementAdded) {
    Annotations.of(scope).addWarningV2('cdk-cloud-patterns:access-logs-bucket-policy',
      `accessLogsBucket is imported, so its policy cannot be changed here: it must let Elastic Load Balancing write s3:PutObject to ${prefix}/AWSLogs/<account>/* (see "Enable access logs for your Application Load Balancer" in the ELB guide), or the balancer fails to deploy.`);
  }
}

/** Fn::Or of any number of conditions (CloudFormation takes 2 to 10 per Fn::Or). */
function anyOf(conditions: ICfnConditionExpression[]): ICfnConditionExpression {
  if (conditions.length === 1) return conditions[0];
  if (conditions.length <= 10) return Fn.conditionOr(...conditions);
  const groups: ICfnConditionExpression[] = [];
  for (let i = 0; i < conditions.length; i += 10) groups.push(anyOf(conditions.slice(i, i + 10)));
  return anyOf(groups);
}
