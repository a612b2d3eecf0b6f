/**
 * A user's app hardened for a compliance review: every pattern's constructs with their own
 * hardening props reach zero findings under every pack cdk-nag ships, with no escape hatch. The
 * user acknowledges only on their own log archive (outside the catalog: ELB delivers logs only to
 * SSE-S3 buckets, and a real archive replicates to another region). Wherever the catalog acknowledges a check, it
 * does so under the id of every pack that ships that check (derived here from cdk-nag's own packs,
 * not from a list kept by hand).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib/core';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BootStep, BootstrappedImage, FleetWorker, LambdaWorker, LockTable, SessionStore, SharedStorage, WebTier, WorkQueue } from '../../lib';
import { nag } from '../support/cdk-nag';
import { templateOf } from '../support/stacks';

const PREBUILT = path.join(__dirname, 'work-queue', 'fixtures', 'prebuilt-agent');
const PREBUILT_SERVER = path.join(__dirname, 'web-tier', 'fixtures', 'prebuilt-server');
const PACKS_DIR = path.join(path.dirname(require.resolve('cdk-nag')), 'packs');

/** Every pack cdk-nag ships, on `app`. */
function addEveryPack(app: App): void {
  Validations.of(app).addPlugins(
    new nag.AwsSolutionsChecks(app), new nag.ServerlessChecks(app), new nag.HIPAASecurityChecks(app),
    new nag.NIST80053R4Checks(app), new nag.NIST80053R5Checks(app), new nag.PCIDSS321Checks(app),
  );
}

/**
 * The user's network, as a compliance review wants it: private subnets only (AWS APIs through
 * VPC endpoints, not drawn here), the default security group closed, flow logs encrypted, and the
 * flow log role's permissions in a managed policy.
 */
function reviewedVpc(stack: Stack, key: kms.IKey): ec2.Vpc {
  const flowLogGroup = new logs.LogGroup(stack, 'FlowLogs', { encryptionKey: key, retention: logs.RetentionDays.ONE_YEAR });
  key.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    resources: ['*'],
  }));
  const flowLogRole = new iam.Role(stack, 'FlowLogRole', { assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com') });
  new iam.ManagedPolicy(stack, 'FlowLogPolicy', {
    roles: [flowLogRole],
    statements: [
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], resources: [flowLogGroup.logGroupArn] }),
      new iam.PolicyStatement({ actions: ['iam:PassRole'], resources: [flowLogRole.roleArn] }),
    ],
  });
  return new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'Private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    restrictDefaultSecurityGroup: true,
    flowLogs: {
      All: {
        // Immutable: the role's permissions are the managed policy above, not an inline one.
        destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup, iam.Role.fromRoleArn(stack, 'FlowLogRoleRef', flowLogRole.roleArn, { mutable: false })),
      },
    },
  });
}

/**
 * The user's app: every pattern with the hardening props (or without them), in two stacks as a
 * team would split them: the data (shared storage, sessions, locks, the job queue, the key, the
 * log archive) in one, the compute (the web tier and the workers) in another, which imports the
 * data by interface (`from<Name>Attributes`) and gets the same scoped grants.
 */
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) fs.rmSync(dir, { recursive: true, force: true });
});

function userApp(hardened: boolean) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'packs-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  const env = { account: '123456789012', region: 'eu-west-1' };
  const harden = <T>(props: T): T | Record<string, never> => (hardened ? props : {});

  // --- The data stack ---
  const data = new Stack(app, 'ReviewedData', { env });
  const key = new kms.Key(data, 'Key', { enableKeyRotation: true, description: 'Queues, tables, topics and logs of the app' });
  const alarmTopic = new sns.Topic(data, 'Alarms', { masterKey: key, enforceSSL: true });
  const logArchive = new s3.Bucket(data, 'LogArchive', {
    encryption: s3.BucketEncryption.S3_MANAGED, enforceSSL: true, versioned: true, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
  });
  // The user's own answer for their archive, which this review does not cover (a real archive
  // logs to another account's bucket, replicates to another region and locks its objects; ELB
  // and S3 deliver logs only to SSE-S3 buckets).
  const ids = (check: string, packs: string[]) => packs.map((p) => ({ id: `${p}-${check}`, reason: `The user's log archive, outside the catalog's review: ${check}.` }));
  Validations.of(logArchive).acknowledge(
    { id: 'AwsSolutions-S1', reason: 'The user\'s log archive, outside the catalog\'s review: it logs to the organization\'s audit account.' },
    ...ids('S3BucketLoggingEnabled', ['HIPAA.Security', 'NIST.800.53.R4', 'NIST.800.53.R5', 'PCI.DSS.321']),
    ...ids('S3BucketReplicationEnabled', ['HIPAA.Security', 'NIST.800.53.R4', 'NIST.800.53.R5', 'PCI.DSS.321']),
    ...ids('S3DefaultEncryptionKMS', ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321']),
    ...ids('S3BucketDefaultLockEnabled', ['NIST.800.53.R4']),
  );
  const jobs = new WorkQueue(data, 'Jobs', harden({ encryptionKey: key, alarmTopic }));
  const sessions = new SessionStore(data, 'Sessions', harden({ encryptionKey: key, alarmTopic }));
  const locks = new LockTable(data, 'Locks', harden({ encryptionKey: key }));
  // Shared storage replicated to the user's disaster-recovery bucket, its records in the user's
  // backup plan, its objects locked, its server access logs in the user's archive.
  const drKey = new kms.Key(data, 'DrKey', { enableKeyRotation: true, description: 'The disaster-recovery copies' });
  const drBucket = s3.Bucket.fromBucketAttributes(data, 'DrBucket', { bucketName: 'shared-objects-dr', encryptionKey: drKey });
  const plan = new backup.BackupPlan(data, 'BackupPlan', { backupPlanRules: [backup.BackupPlanRule.daily()] });
  const storage = new SharedStorage(data, 'Storage', {
    records: true,
    ...harden({
      encryptionKey: key, accessLogsBucket: logArchive, replication: { destination: drBucket, destinationKey: drKey }, backupPlan: plan,
      objectLockDefaultRetention: s3.ObjectLockRetention.governance(Duration.days(30)),
    }),
  });

  // --- The compute stack: the data imported by interface ---
  const compute = new Stack(app, 'ReviewedCompute', { env });
  const computeKey = kms.Key.fromKeyArn(compute, 'Key', key.keyArn);
  const logKey = new kms.Key(compute, 'LogKey', { enableKeyRotation: true, description: 'The logs of the compute' });
  const vpc = reviewedVpc(compute, logKey);
  const computeAlarms = sns.Topic.fromTopicArn(compute, 'Alarms', alarmTopic.topicArn);
  const theJobs = WorkQueue.fromWorkQueueAttributes(compute, 'Jobs', {
    queueArn: jobs.queue.queueArn, deadLetterQueueArn: jobs.deadLetterQueue!.queueArn, visibilityTimeout: Duration.minutes(10), maxReceiveCount: 5,
    ...harden({ encryptionKey: computeKey }),
  });
  const theSessions = SessionStore.fromSessionStoreAttributes(compute, 'Sessions', { tableName: sessions.table.tableName, userIndex: true, ...harden({ encryptionKey: computeKey }) });
  const theLocks = LockTable.fromLockTableAttributes(compute, 'Locks', { tableName: locks.table.tableName, ...harden({ encryptionKey: computeKey }) });
  const theStorage = SharedStorage.fromSharedStorageAttributes(compute, 'Storage', {
    bucketName: storage.bucket.bucketName, recordsTableName: storage.recordsTable!.tableName, ...harden({ encryptionKey: computeKey }),
  });
  const worker = new LambdaWorker(compute, 'Worker', {
    workQueue: theJobs,
    code: lambda.Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] });'),
    idempotency: true,
    maxConcurrency: 5,
    timeout: Duration.seconds(60),
    ...harden({ vpc, reservedConcurrentExecutions: 10, logEncryptionKey: logKey, customerManagedPolicies: true }),
  });
  const farm = new FleetWorker(compute, 'Farm', {
    workQueue: theJobs,
    programDirectory: PREBUILT,
    vpc,
    idempotency: true,
    environment: { ...theStorage.environment, ...theLocks.environment },
    ...harden({ logEncryptionKey: logKey, customerManagedPolicies: true }),
  });
  const image = new BootstrappedImage(compute, 'Image', {
    vpc,
    steps: [BootStep.packages('tools', ['jq'])],
    ...harden({ logEncryptionKey: logKey, customerManagedPolicies: true }),
  });
  // The web tier inside the network (no public subnet), behind the user's web ACL, logging to the
  // user's log archive.
  const web = new WebTier(compute, 'Web', {
    vpc,
    programDirectory: PREBUILT_SERVER,
    internetFacing: false,
    certificate: acm.Certificate.fromCertificateArn(compute, 'Certificate', 'arn:aws:acm:eu-west-1:123456789012:certificate/0123'),
    environment: { ...theSessions.environment, ...theStorage.environment },
    ...harden({
      logEncryptionKey: logKey, customerManagedPolicies: true, alarmTopic: computeAlarms, httpRedirect: false,
      accessLogsBucket: s3.Bucket.fromBucketName(compute, 'LogArchive', logArchive.bucketName),
      webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/app/0123',
    }),
  });
  // Each program gets exactly what its runtime clients call, through the imports.
  theSessions.grantReadWrite(web);
  theStorage.grantRead(web, 'results/');
  theLocks.grantReadWrite(farm);
  theStorage.grantReadWrite(farm, 'results/');
  theJobs.grantSendJobs(worker);
  theJobs.grantSendJobs(farm);
  addEveryPack(app);
  return { app, data, compute, key, logKey, jobs, worker, farm, image, web, sessions };
}

/** cdk-nag's rule ids, grouped by the rule (check) they run: `IAMNoInlinePolicy -> [HIPAA.Security-IAMNoInlinePolicy, ...]`. */
function ruleIdsByCheck(): Map<string, string[]> {
  const byCheck = new Map<string, string[]>();
  for (const file of fs.readdirSync(PACKS_DIR).filter((f) => f.endsWith('.js'))) {
    const source = fs.readFileSync(path.join(PACKS_DIR, file), 'utf8');
    const pack = /packName = '([^']+)'/.exec(source)?.[1];
    if (!pack) continue;
    for (const call of source.split('this.applyRule({').slice(1)) {
      const check = /\brule: \w+\.(\w+)/.exec(call)?.[1];
      if (!check) continue;
      const suffix = /ruleSuffixOverride: '(\w+)'/.exec(call)?.[1] ?? check;
      byCheck.set(check, [...(byCheck.get(check) ?? []), `${pack}-${suffix}`]);
    }
  }
  return byCheck;
}

/** Every acknowledgement recorded on the tree under `root`: construct path -> ids (without `[finding]`). */
function acknowledgements(root: App): Map<string, Set<string>> {
  const byPath = new Map<string, Set<string>>();
  for (const c of root.node.findAll()) {
    for (const m of c.node.metadata.filter((e) => e.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)) {
      const ids = Object.keys(m.data as Record<string, string>).map((k) => k.replace(/^annotation::/i, '').replace(/\[.*\]$/, ''));
      byPath.set(c.node.path, new Set([...(byPath.get(c.node.path) ?? []), ...ids]));
    }
  }
  return byPath;
}

/** The findings of every pack on `app`, as `<rule id> <construct path>` lines (none when it synthesizes clean). */
function findings(app: App): string[] {
  try {
    app.synth();
    return [];
  } catch (e) {
    const lines = (e as Error).message.split('\n');
    const found = lines.flatMap((line, i) => {
      const rule = /Acknowledge with '[^:]+::([^']+)'/.exec(line)?.[1];
      const where = /^\s+(Reviewed\w*\/\S+)/.exec(lines[i - 1] ?? '')?.[1];
      return rule && where ? [`${rule} ${where}`] : [];
    });
    // A synth that failed for another reason than findings is not a clean one.
    if (found.length === 0) throw e;
    return found;
  }
}

describe('a user app hardened with the catalog\'s props', () => {
  const built = userApp(true);
  let all: string[];
  beforeAll(() => {
    all = findings(built.app);
  });

  test('synthesizes with zero findings under every pack cdk-nag ships', () => {
    expect(all).toEqual([]);
  });

  test('acknowledges each check the catalog answers under every pack\'s rule id for it', () => {
    // GIVEN the checks of every pack, grouped from cdk-nag's own sources
    const byCheck = ruleIdsByCheck();
    expect(byCheck.get('LambdaDLQ')).toEqual(expect.arrayContaining(['Serverless-LambdaDLQ', 'HIPAA.Security-LambdaDLQ', 'NIST.800.53.R5-LambdaDLQ']));
    const checkOf = new Map([...byCheck].flatMap(([check, ids]) => ids.map((id) => [id, check] as const)));
    const packs = new Set([...checkOf.keys()].map((id) => id.slice(0, id.lastIndexOf('-'))));

    // WHEN every acknowledgement on the tree is looked up
    const missing: string[] = [];
    for (const [where, ids] of acknowledgements(built.app)) {
      // Only cdk-nag's: CDK's own template validation has acknowledgements too.
      for (const id of [...ids].filter((i) => packs.has(i.slice(0, i.lastIndexOf('-'))))) {
        const check = checkOf.get(id);
        expect(`${id} is a rule of some pack: ${check !== undefined}`).toBe(`${id} is a rule of some pack: true`);
        for (const same of byCheck.get(check!) ?? []) {
          if (!ids.has(same)) missing.push(`${where}: ${id} is acknowledged, ${same} (the same ${check} check) is not`);
        }
      }
    }

    // THEN no pack's id for an acknowledged check is left out
    expect(missing).toEqual([]);
  });

  test('puts every permission in managed policies, every log group under the key, and the function in the VPC with reserved concurrency', () => {
    const template = templateOf(built.compute);
    const keyArn = built.compute.resolve(built.logKey.keyArn);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.KmsKeyId).toEqual(keyArn);
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 10,
      VpcConfig: { SubnetIds: built.compute.resolve(built.image.vpc.isolatedSubnets.map((s) => s.subnetId)) },
    });
  });
});

describe('the same app without the hardening props', () => {
  test('fails the packs on what the props fix, naming the rules (so the test above is not blind)', () => {
    // GIVEN
    const { app } = userApp(false);
    // WHEN it synthesizes THEN the findings the props fix are reported
    let report = '';
    try {
      app.synth();
    } catch (e) {
      report = (e as Error).message;
    }
    for (const rule of ['IAMNoInlinePolicy', 'CloudWatchLogGroupEncrypted', 'LambdaInsideVPC', 'LambdaConcurrency', 'CloudWatchAlarmAction', 'ALBWAFEnabled', 'ELBv2ACMCertificateRequired',
      'S3BucketReplicationEnabled', 'DynamoDBInBackupPlan', 'S3BucketDefaultLockEnabled']) {
      expect(report).toContain(rule);
    }
  });
});
