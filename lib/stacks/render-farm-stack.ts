/**
 * RenderFarmStack: the reference application, every pattern of the catalog composed. A web page
 * (WebTier, with sessions in a SessionStore and the cookie key in Secrets Manager) where a user
 * signs up and signs in (a Cognito user pool; the web app verifies the pool's tokens before it
 * makes a session) and submits a fractal render; the render is split into tiles, each tile a job on a
 * WorkQueue: small renders on one taken by a LambdaWorker, large ones on another taken by a
 * FleetWorker that grows from zero instances with the backlog. Both run the same handler module
 * (lambda/render-farm/render-job.ts). Tiles and images go content-addressed into SharedStorage's
 * bucket, renders are records in its table; the last tile sends the assemble job (map, reduce).
 * A sweep of stuck renders runs on any web server under a lock of a LockTable, one at a time.
 *
 * Every grant is what the running code calls, no more. Idle, it costs the balancer's hours, the
 * web servers' minimum (two t4g.micro) with their public IPv4 addresses, and one Secrets
 * Manager secret; the fleet is at zero instances, the user pool is paid per monthly active user,
 * and the rest per request.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib/core';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Validations } from 'aws-cdk-lib/core';
import type { Construct } from 'constructs';
import { RENDER_FARM_ENV, RENDER_FARM_OUTPUTS, RENDER_WORKER_TIMEOUT_SECONDS } from '../../contracts/render-farm';
import { CONTENT_ADDRESSED_PREFIX } from '../../contracts/shared-storage';
import { CATALOG_BUNDLE_HANDLER, catalogAgentEntry, catalogHandlerCode, catalogWebEntry } from './catalog-code';
import { assertProps, outsideInt } from '../core/validation';
import { LockTable } from '../locks/lock-table';
import type { SessionStore } from '../session-store/session-store';
import { SharedStorage } from '../shared-storage/shared-storage';
import { WEB_SERVER_SERVICE, type WebTier } from '../web-tier/web-tier';
import { FleetWorker } from '../work-queue/fleet-worker';
import { LambdaWorker } from '../work-queue/lambda-worker';
import { WorkQueue } from '../work-queue/work-queue';
import { newDemoVpc, newDemoWebApp } from './demo-resources';

/** Properties of a {@link RenderFarmStack}. */
export interface RenderFarmStackProps extends StackProps {
  /**
   * The VPC to run in; its public subnets are used (the servers and workers get no inbound rule
   * but the servers' from the balancer).
   *
   * @default - a new VPC with two public subnets and no NAT gateway
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The certificate for HTTPS.
   *
   * @default - none: plain HTTP if `allowPlainHttp`, else the stack does not synthesize
   */
  readonly certificate?: acm.ICertificate;

  /**
   * Serve plain HTTP when there is no certificate (for trials: passwords and the session cookie
   * then cross the network unencrypted). Without a certificate and without this choice, the
   * stack's synth reports an error.
   *
   * @default - the context value `cdk-cloud-patterns:plain-http-demo`, else false
   */
  readonly allowPlainHttp?: boolean;

  /**
   * How long a fleet worker hides a tile it took (extended while the tile renders): how long the
   * tiles of a worker that died come back after. The local cloud's run of the catalog sets 5 s, so
   * that its drills do not wait a production timeout.
   *
   * @default Duration.seconds(60) (FleetWorker's)
   */
  readonly fleetVisibilityTimeout?: Duration;

  /**
   * The most fleet workers (each a t4g.micro running two tiles at a time).
   *
   * @default 4
   */
  readonly maxWorkers?: number;
}

/** The render farm. */
export class RenderFarmStack extends Stack {
  public readonly vpc: ec2.IVpc;
  /** The page and its API. */
  public readonly web: WebTier;
  /** The users' sessions. */
  public readonly sessions: SessionStore;
  /** Signs the session cookies; read by the servers at start-up. */
  public readonly sessionSecret: secretsmanager.Secret;
  /** Tiles and images (content-addressed), and the render records. */
  public readonly storage: SharedStorage;
  /** Tiles of small renders, taken by {@link lambdaWorker}. */
  public readonly smallRenders: WorkQueue;
  /** Tiles of large renders, taken by {@link fleet}. */
  public readonly largeRenders: WorkQueue;
  public readonly lambdaWorker: LambdaWorker;
  public readonly fleet: FleetWorker;
  /** The users: sign-up and sign-in (USER_PASSWORD_AUTH through {@link usersClient}); renders are owned by their `sub`. */
  public readonly users: cognito.UserPool;
  /** The web app's client of {@link users}: the audience of the tokens the app verifies. */
  public readonly usersClient: cognito.UserPoolClient;
  /** The lock the stuck-render sweep holds (`render-farm/sweep`), so one server sweeps at a time. */
  public readonly locks: LockTable;

  constructor(scope: Construct, id: string, props: RenderFarmStackProps = {}) {
    super(scope, id, { description: 'cdk-cloud-patterns: the render farm, every pattern composed (web tier, sessions, shared storage, work queues, Lambda and EC2 workers)', ...props });

    const maxWorkers = props.maxWorkers ?? 4;
    assertProps(this, [{
      failed: outsideInt(maxWorkers, 1, 20),
      prop: 'maxWorkers',
      message: `must be an integer from 1 to 20 (a demo: each instance costs money), received ${maxWorkers}.`,
    }]);

    this.vpc = props.vpc ?? newDemoVpc(this, '10.43.0.0/24');
    const subnets = this.vpc.publicSubnets.length > 0 ? { subnetType: ec2.SubnetType.PUBLIC } : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    // Kept when the stack is deleted (SharedStorage's default): a bucket with objects cannot be deleted by CloudFormation.
    this.storage = new SharedStorage(this, 'Storage', { records: true });
    this.smallRenders = new WorkQueue(this, 'SmallRenders');
    this.largeRenders = new WorkQueue(this, 'LargeRenders');

    // The same handler module on both workers; each sends assemble jobs to its own queue.
    this.lambdaWorker = new LambdaWorker(this, 'LambdaWorker', {
      workQueue: this.smallRenders,
      code: catalogHandlerCode('render-farm/render-job'),
      handler: CATALOG_BUNDLE_HANDLER,
      idempotency: true,
      // A tile of a 1024-pixel render takes seconds of CPU: Lambda's CPU grows with memory.
      memorySize: 1024,
      timeout: Duration.seconds(RENDER_WORKER_TIMEOUT_SECONDS.lambda),
      batchSize: 1,
      maxConcurrency: 4,
      environment: { ...this.storage.environment, [RENDER_FARM_ENV.assembleQueueUrl]: this.smallRenders.queue.queueUrl },
    });
    this.fleet = new FleetWorker(this, 'Fleet', {
      workQueue: this.largeRenders,
      // The module lambda/render-farm/render-job.ts, bundled with the worker agent.
      entry: catalogAgentEntry('render-farm/render-job'),
      vpc: this.vpc,
      vpcSubnets: subnets,
      // CPU-bound tiles: two vCPUs, two tiles at a time.
      concurrency: 2,
      minCapacity: 0,
      maxCapacity: maxWorkers,
      jobTimeout: Duration.seconds(RENDER_WORKER_TIMEOUT_SECONDS.fleet),
      visibilityTimeout: props.fleetVisibilityTimeout,
      idempotency: true,
      environment: { ...this.storage.environment, [RENDER_FARM_ENV.assembleQueueUrl]: this.largeRenders.queue.queueUrl },
    });
    for (const [worker, queue] of [[this.lambdaWorker, this.smallRenders], [this.fleet, this.largeRenders]] as const) {
      // Tiles in, tiles and images out (content-addressed keys), the render's record; assemble jobs to its own queue.
      this.storage.grantReadPrefix(worker, CONTENT_ADDRESSED_PREFIX);
      this.storage.grantWritePrefix(worker, CONTENT_ADDRESSED_PREFIX);
      this.storage.grantReadRecords(worker);
      // The tile and finish writes: UpdateItem inside the job's commit transaction.
      this.storage.recordsTable!.grant(worker, 'dynamodb:UpdateItem');
      queue.grantSendJobs(worker);
    }

    // The users. Usernames and passwords only (no e-mail or phone: nothing personal is kept, and
    // nothing to verify); the web app signs users up (SignUp, then AdminConfirmSignUp) and in
    // (InitiateAuth, USER_PASSWORD_AUTH) and verifies the ID token before it makes a session.
    this.users = new cognito.UserPool(this, 'Users', {
      selfSignUpEnabled: true,
      signInAliases: { username: true },
      signInCaseSensitive: false,
      passwordPolicy: {
        minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true, tempPasswordValidity: Duration.days(1),
      },
      accountRecovery: cognito.AccountRecovery.NONE,
      mfa: cognito.Mfa.OFF,
      // Threat protection: compromised-credential checks and adaptive authentication, enforced.
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.users).acknowledge({
      id: 'AwsSolutions-COG2',
      reason: 'The demo keeps no e-mail or phone number to send a code to, and enrolling an authenticator app (TOTP) is not part of its page; sign-in is rate-limited per address and session by the web app and checked by threat protection (Plus plan, enforced). A production app should require MFA.',
    });
    this.usersClient = this.users.addClient('WebClient', {
      authFlows: { userPassword: true },
      generateSecret: false,
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.minutes(60),
      accessTokenValidity: Duration.minutes(60),
      refreshTokenValidity: Duration.days(1),
    });
    this.locks = new LockTable(this, 'Locks', { removalPolicy: RemovalPolicy.DESTROY });

    // The module apps/render-farm/web-app.ts, bundled with the web server.
    ({ web: this.web, sessions: this.sessions, sessionSecret: this.sessionSecret } = newDemoWebApp(this, {
      appName: 'RenderFarmStack\'s web app',
      entry: catalogWebEntry('render-farm/web-app'),
      vpc: this.vpc,
      certificate: props.certificate,
      allowPlainHttp: props.allowPlainHttp,
      secretArnEnv: RENDER_FARM_ENV.sessionSecretArn,
      plainHttpEnv: RENDER_FARM_ENV.plainHttp,
      environment: {
        ...this.storage.environment,
        [RENDER_FARM_ENV.smallQueueUrl]: this.smallRenders.queue.queueUrl,
        [RENDER_FARM_ENV.largeQueueUrl]: this.largeRenders.queue.queueUrl,
        [RENDER_FARM_ENV.fleetGroupName]: this.fleet.autoScalingGroup.autoScalingGroupName,
        [RENDER_FARM_ENV.userPoolId]: this.users.userPoolId,
        [RENDER_FARM_ENV.userPoolClientId]: this.usersClient.userPoolClientId,
        ...this.locks.environment,
      },
    }));
    // Confirms the users it signs up (SignUp and InitiateAuth are the pool's public API and take
    // no permission). The ARN is built from the pool's id (Ref), as AWS documents it.
    this.web.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ConfirmSignUps',
      actions: ['cognito-idp:AdminConfirmSignUp'],
      resources: [Stack.of(this).formatArn({ service: 'cognito-idp', resource: 'userpool', resourceName: this.users.userPoolId })],
    }));
    // The stuck-render sweep's lock: exactly what the lock client calls.
    this.locks.grantReadWrite(this.web);
    // Creates and reads renders, users' lists and the list of renders in flight (SharedRecords'
    // get and conditional put; the app deletes nothing); presigns GETs of finished images.
    this.storage.recordsTable!.grant(this.web, 'dynamodb:GetItem', 'dynamodb:PutItem');
    this.storage.grantReadPrefix(this.web, CONTENT_ADDRESSED_PREFIX);
    for (const queue of [this.smallRenders, this.largeRenders]) {
      queue.grantSendJobs(this.web);
      // The page's backlog.
      queue.queue.grant(this.web, 'sqs:GetQueueAttributes');
    }
    // The page's "workers": the fleet group's size. Describe calls take no resource-level permission.
    this.web.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DescribeFleetGroup',
      actions: ['autoscaling:DescribeAutoScalingGroups'],
      resources: ['*'],
    }));
    Validations.of(this.web.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'autoscaling:DescribeAutoScalingGroups supports no resource-level permissions (AWS\'s service authorization reference): the page reads the fleet group\'s size with it, and it reads nothing else.',
    });

    const url = `${this.web.https ? 'https' : 'http'}://${this.web.loadBalancer.loadBalancerDnsName}/`;
    new CfnOutput(this, RENDER_FARM_OUTPUTS.url, { value: url, description: 'The render farm\'s page' });
    new CfnOutput(this, RENDER_FARM_OUTPUTS.smallQueueUrl, { value: this.smallRenders.queue.queueUrl, description: 'Tiles of small renders (Lambda worker)' });
    new CfnOutput(this, RENDER_FARM_OUTPUTS.largeQueueUrl, { value: this.largeRenders.queue.queueUrl, description: 'Tiles of large renders (fleet)' });
    new CfnOutput(this, RENDER_FARM_OUTPUTS.fleetGroupName, { value: this.fleet.autoScalingGroup.autoScalingGroupName, description: 'The fleet of render workers' });
    new CfnOutput(this, RENDER_FARM_OUTPUTS.bucketName, { value: this.storage.bucket.bucketName, description: 'Tiles and images, under sha256/' });
    new CfnOutput(this, RENDER_FARM_OUTPUTS.recordsTableName, { value: this.storage.recordsTable!.tableName, description: 'Renders and users\' lists of renders' });
    new CfnOutput(this, 'ServerLogGroupName', {
      value: this.web.image.logGroup.logGroupName,
      description: `Streams <instance id>/bootstrap and <instance id>/${WEB_SERVER_SERVICE} (JSON access logs)`,
    });
  }
}
