/**
 * SharedStorage's buckets in the local cloud. moto's CloudFormation creates an AWS::S3::Bucket
 * with its encryption and tags only; its S3 API supports the rest. For every bucket declared
 * `shared-storage/bucket`, this kind reads the bucket's properties from the deployed template,
 * resolves their references to what moto deployed (the queue's ARN, the log bucket's name) and
 * applies them through the S3 API, so the bucket behaves as deployed: its bucket policy,
 * versioned, public access blocked, ACLs off, lifecycle rules, access logs, CORS, and object-created events sent to the
 * work queue (moto then delivers them, and the deployed worker takes them as jobs). It lists
 * what it applied, and what it could not.
 */
import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import {
  PutBucketCorsCommand, PutBucketLifecycleConfigurationCommand, PutBucketLoggingCommand, PutBucketMetricsConfigurationCommand,
  PutBucketNotificationConfigurationCommand, PutBucketOwnershipControlsCommand, PutBucketPolicyCommand, PutBucketVersioningCommand, PutPublicAccessBlockCommand,
  type LifecycleRule, type S3Client,
} from '@aws-sdk/client-s3';
import { SHARED_STORAGE_BUCKET_WORKLOAD } from '../../contracts/shared-storage';
import { resolveReferences, type DeployedTemplate } from '../declarations';
import type { Inventory } from '../inventory';
import type { Workload, WorkloadKind } from './types';

/** The properties of an AWS::S3::Bucket this kind applies, as CloudFormation spells them (resolved). */
interface BucketProperties {
  readonly VersioningConfiguration?: { Status: 'Enabled' | 'Suspended' };
  readonly PublicAccessBlockConfiguration?: { BlockPublicAcls?: boolean; BlockPublicPolicy?: boolean; IgnorePublicAcls?: boolean; RestrictPublicBuckets?: boolean };
  readonly OwnershipControls?: { Rules: { ObjectOwnership: 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter' }[] };
  readonly LifecycleConfiguration?: { Rules: CfnLifecycleRule[] };
  readonly LoggingConfiguration?: { DestinationBucketName?: string; LogFilePrefix?: string };
  readonly CorsConfiguration?: { CorsRules: { Id?: string; AllowedHeaders?: string[]; AllowedMethods: string[]; AllowedOrigins: string[]; ExposedHeaders?: string[]; MaxAge?: number }[] };
  readonly NotificationConfiguration?: {
    QueueConfigurations?: { Event: string; Queue: string; Filter?: { S3Key?: { Rules: { Name: string; Value: string }[] } } }[];
    TopicConfigurations?: unknown[];
    LambdaConfigurations?: unknown[];
    EventBridgeConfiguration?: unknown;
  };
  readonly MetricsConfigurations?: { Id: string; Prefix?: string }[];
}

interface CfnLifecycleRule {
  Id?: string;
  Status: 'Enabled' | 'Disabled';
  Prefix?: string;
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number };
  NoncurrentVersionExpiration?: { NoncurrentDays: number; NewerNoncurrentVersions?: number };
  NoncurrentVersionExpirationInDays?: number;
  ExpirationInDays?: number;
  ExpiredObjectDeleteMarker?: boolean;
}

/** What applying a bucket's properties did: one line per property applied, one per property that failed (with why), one per property kept out on purpose. */
export interface AppliedBucket {
  readonly bucket: string;
  readonly applied: string[];
  readonly failed: string[];
  /** Left out by design, not by a failure (the TLS-only statements, notifications SharedStorage does not write). */
  readonly keptOut: string[];
}

/** Applies `properties` (CloudFormation's, resolved) to `bucket` through the S3 API. */
export async function applyBucketProperties(s3: S3Client, bucket: string, properties: BucketProperties, policy?: { Statement: unknown[] }): Promise<AppliedBucket> {
  const applied: string[] = [];
  const failed: string[] = [];
  const keptOut: string[] = [];
  const step = async (what: string, run: () => Promise<unknown>) => {
    try {
      await run();
      applied.push(what);
    } catch (e) {
      failed.push(`${what}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  };
  const p = properties;
  if (policy) {
    // Its AWS::S3::BucketPolicy, which moto's CloudFormation does not create either. moto enforces
    // bucket policies, and the embedded AWS speaks plain HTTP on loopback: the statements that
    // deny requests without TLS (or below a TLS version) would refuse every local request, so
    // they are kept out, and listed as such.
    const tls = (st: unknown) => /aws:SecureTransport|s3:TlsVersion/.test(JSON.stringify((st as { Condition?: unknown }).Condition ?? {})) && (st as { Effect?: string }).Effect === 'Deny';
    const kept = policy.Statement.filter((st) => !tls(st));
    const left = policy.Statement.length - kept.length;
    if (kept.length > 0) await step(`bucket policy (${kept.length} statements)`, () => s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ ...policy, Statement: kept }) })));
    if (left > 0) keptOut.push(`${left} TLS-only bucket policy statements: kept out (the embedded AWS speaks plain HTTP on loopback)`);
  }
  if (p.VersioningConfiguration) {
    await step(`versioning ${p.VersioningConfiguration.Status}`, () => s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: p.VersioningConfiguration!.Status } })));
  }
  if (p.PublicAccessBlockConfiguration) {
    const block = p.PublicAccessBlockConfiguration;
    const on = Object.entries(block).filter(([, v]) => v === true).map(([k]) => k);
    await step(`public access block (${on.join(', ') || 'none'})`, () => s3.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: block })));
  }
  if (p.OwnershipControls) {
    const rules = p.OwnershipControls.Rules;
    await step(`object ownership ${rules.map((r) => r.ObjectOwnership).join(', ')}`, () => s3.send(new PutBucketOwnershipControlsCommand({ Bucket: bucket, OwnershipControls: { Rules: rules } })));
  }
  if (p.LifecycleConfiguration) {
    const rules = p.LifecycleConfiguration.Rules.map(lifecycleRule);
    await step(`lifecycle rules ${rules.map((r) => r.ID).join(', ')}`, () => s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: rules } })));
  }
  if (p.LoggingConfiguration?.DestinationBucketName) {
    const target = p.LoggingConfiguration.DestinationBucketName;
    const prefix = p.LoggingConfiguration.LogFilePrefix ?? '';
    await step(`access logs to s3://${target}/${prefix}`, () => s3.send(new PutBucketLoggingCommand({ Bucket: bucket, BucketLoggingStatus: { LoggingEnabled: { TargetBucket: target, TargetPrefix: prefix } } })));
  }
  if (p.CorsConfiguration) {
    const rules = p.CorsConfiguration.CorsRules.map((r) => ({
      ID: r.Id, AllowedHeaders: r.AllowedHeaders, AllowedMethods: r.AllowedMethods, AllowedOrigins: r.AllowedOrigins, ExposedHeaders: r.ExposedHeaders, MaxAgeSeconds: r.MaxAge,
    }));
    await step(`CORS for ${rules.flatMap((r) => r.AllowedOrigins).join(', ')}`, () => s3.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: rules } })));
  }
  const n = p.NotificationConfiguration;
  if (n?.QueueConfigurations?.length) {
    const queues = n.QueueConfigurations.map((q) => ({
      QueueArn: q.Queue,
      Events: [q.Event as never],
      Filter: q.Filter?.S3Key ? { Key: { FilterRules: q.Filter.S3Key.Rules.map((r) => ({ Name: r.Name as never, Value: r.Value })) } } : undefined,
    }));
    const what = n.QueueConfigurations.map((q) => {
      const filters = q.Filter?.S3Key?.Rules.map((r) => `${r.Name} ${r.Value}`).join(', ');
      return `${q.Event} events${filters ? ` (${filters})` : ''} to queue ${q.Queue.split(':').pop()}`;
    }).join('; ');
    await step(what, () => s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: { QueueConfigurations: queues } })));
  }
  if (n?.TopicConfigurations?.length || n?.LambdaConfigurations?.length || n?.EventBridgeConfiguration) {
    keptOut.push('topic, Lambda and EventBridge notifications: not applied (SharedStorage writes queue notifications only)');
  }
  for (const m of p.MetricsConfigurations ?? []) {
    await step(`request metrics ${m.Id}`, () => s3.send(new PutBucketMetricsConfigurationCommand({ Bucket: bucket, Id: m.Id, MetricsConfiguration: { Id: m.Id, Filter: m.Prefix ? { Prefix: m.Prefix } : undefined } })));
  }
  return { bucket, applied, failed, keptOut };
}

/** A lifecycle rule as CloudFormation writes it, in the S3 API's shape. */
function lifecycleRule(r: CfnLifecycleRule): LifecycleRule {
  const noncurrentDays = r.NoncurrentVersionExpiration?.NoncurrentDays ?? r.NoncurrentVersionExpirationInDays;
  return {
    ID: r.Id,
    Status: r.Status,
    Filter: { Prefix: r.Prefix ?? '' },
    AbortIncompleteMultipartUpload: r.AbortIncompleteMultipartUpload,
    NoncurrentVersionExpiration: noncurrentDays === undefined ? undefined : { NoncurrentDays: noncurrentDays, NewerNoncurrentVersions: r.NoncurrentVersionExpiration?.NewerNoncurrentVersions },
    Expiration: r.ExpirationInDays !== undefined ? { Days: r.ExpirationInDays } : r.ExpiredObjectDeleteMarker !== undefined ? { ExpiredObjectDeleteMarker: r.ExpiredObjectDeleteMarker } : undefined,
  };
}

/** SharedStorage buckets: their deployed properties applied through the S3 API. */
export const sharedStorageBuckets: WorkloadKind = {
  name: 'SharedStorage buckets',
  // The buckets' events must be wired before an upload (the demo's) is to become a job.
  startsFirst: true,
  declares: [SHARED_STORAGE_BUCKET_WORKLOAD],
  async start(inventory: Inventory, context) {
    const declared = inventory.declarations(SHARED_STORAGE_BUCKET_WORKLOAD);
    if (declared.length === 0) return [];
    const cfn = new CloudFormationClient(context.clientConfig);
    const templates = new Map<string, DeployedTemplate & { Resources?: Record<string, { Properties?: unknown }> }>();
    const workloads: Workload[] = [];
    try {
      // Log buckets first: a bucket's logging configuration names its log bucket, which must be ready.
      const ordered = [...declared].sort((a, b) => Number(b.declaration.role === 'access-logs') - Number(a.declaration.role === 'access-logs'));
      for (const d of ordered) {
        const stack = inventory.stacks.find((s) => s.name === d.stackName)!;
        if (!templates.has(stack.name)) {
          const body = (await cfn.send(new GetTemplateCommand({ StackName: stack.name }))).TemplateBody ?? '{}';
          templates.set(stack.name, JSON.parse(body) as DeployedTemplate & { Resources?: Record<string, { Properties?: unknown }> });
        }
        const template = templates.get(stack.name)!;
        const [, , , region = '', account = ''] = stack.id.split(':');
        const resolve = (value: unknown) => resolveReferences(value, {
          stackName: stack.name,
          stackId: stack.id,
          account,
          region,
          resources: new Map(stack.resources.map((r) => [r.logicalId, { type: r.type, physicalId: r.physicalId }])),
          parameters: stack.parameters,
          exports: {},
          mappings: template.Mappings ?? {},
        });
        const properties = resolve(template.Resources?.[d.logicalId]?.Properties ?? {}) as BucketProperties;
        // Only this bucket's policy is resolved: another bucket's (say a balancer's log bucket,
        // with a condition on the region) may hold what declarations do not resolve.
        const policy = Object.values(template.Resources ?? {})
          .filter((r) => r.Type === 'AWS::S3::BucketPolicy' && resolve((r.Properties as { Bucket?: unknown } | undefined)?.Bucket) === d.physicalId)
          .map((r) => resolve(r.Properties) as { PolicyDocument?: { Statement: unknown[] } })[0]?.PolicyDocument;
        const result = await applyBucketProperties(context.s3, d.physicalId, properties, policy);
        workloads.push({
          title: `S3 bucket ${d.physicalId} (${d.declaration.role}): applied ${result.applied.join('; ') || 'nothing'}` +
            (result.failed.length + result.keptOut.length > 0 ? `; not applied: ${[...result.failed, ...result.keptOut].join('; ')}` : ''),
          stackName: d.stackName,
          resources: [d.logicalId],
          stats: () => ({ processes: 0, done: 0, failed: 0, crashed: 0 }),
          pids: () => [],
          busyPids: () => [],
          check: async () => ({
            summary: `SharedStorage bucket ${d.stackName}/${d.logicalId} (${d.declaration.role}): ${result.applied.length} properties applied`,
            problems: result.failed.map((f) => `${d.stackName}/${d.logicalId}: could not apply ${f}`),
          }),
          stop: async () => undefined,
        });
      }
    } finally {
      cfn.destroy();
    }
    return workloads;
  },
};
