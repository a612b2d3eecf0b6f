/**
 * WebTier: the book's n-tier web pattern. An Application Load Balancer in front of an Auto
 * Scaling group of identical servers built on BootstrappedImage, each running the user's request
 * handler with the catalog's web server (bundled at synth, shipped as an asset, run by systemd,
 * as FleetWorker ships its agent). Every timing of the tier (health checks, grace period, boot
 * signal, deregistration delay, slow start, the server's shutdown and keep-alive) is derived in
 * contracts/web-tier.ts from the request timeout and the balancer's idle timeout, so the
 * balancer and the server cannot disagree.
 */
import { Annotations, Duration, Token, Validations, type CfnResource, type RemovalPolicy } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type * as s3Assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import {
  DEFAULT_BODY_LIMIT_BYTES, LIVENESS_PATH, READINESS_PATH, WEB_SERVER_PORT, WEB_TIER_BOOT_ACTIONS, WEB_TIER_ENV, WEB_TIER_WORKLOAD,
} from '../../contracts/web-tier';
import { capacityRules, existingResourceRule } from '../core/rules';
import { assertProps, isKnown, outsideInt } from '../core/validation';
import { declareWorkload } from '../core/workload';
import { BootStep, ServiceRestart } from '../image-bootstrap/boot-steps';
import type { BootstrappedImage } from '../image-bootstrap/bootstrapped-image';
import { buildServiceFleet, serviceFleetRules, type ServiceFleetProps, type ServiceProgram } from '../image-bootstrap/service-fleet';
import { AccessLogsBucket, allowElbLogDelivery } from './access-logs';
import { waitUntilHealthyCommands } from './health-wait';
import { WebTierTimings, type TimingRule } from './timings';

/**
 * Properties of a {@link WebTier}: the service fleet's (the program, the VPC, the instances, the
 * logs and the role, as a FleetWorker takes them) and the balancer's. `entry` is the file that
 * exports the request handler: a Node `(req, res)` function, or an Express (or similar) app, which
 * is one; it may also export `start`, a start-up hook the server runs (readiness stays false until
 * it is done). The VPC needs at least 2 Availability Zones: the balancer goes in its public
 * subnets (or private ones when not internet-facing).
 */
export interface WebTierProps extends ServiceFleetProps {

  /**
   * The certificate of the HTTPS listener; HTTP then redirects to HTTPS. Without one the
   * balancer serves plain HTTP, with a synth warning: for trials only.
   *
   * @default - plain HTTP on port 80 (a warning)
   */
  readonly certificate?: acm.ICertificate;

  /**
   * A balancer reachable from the internet (in public subnets), or only from inside the VPC.
   *
   * @default true
   */
  readonly internetFacing?: boolean;

  /**
   * THE timing setting: the longest a request may take. Everything else is derived from it
   * (see {@link WebTier.timings}): the health check interval is a third of it (5 to 30 s), the
   * server drains requests in flight for this long, the deregistration delay is 5 s longer.
   * Must fit within `idleTimeout`.
   *
   * @default Duration.seconds(30)
   */
  readonly requestTimeout?: Duration;

  /**
   * The balancer's idle timeout: a connection with no bytes for this long is closed. The
   * server's keep-alive is 5 s longer, so the balancer always closes first.
   *
   * @default Duration.seconds(60) (the ALB's default)
   */
  readonly idleTimeout?: Duration;

  /**
   * Keep the balancer from being deleted (a stack deletion fails until it is turned off).
   *
   * @default true
   */
  readonly deletionProtection?: boolean;

  /**
   * The fewest servers. At least 1; 2 or more keeps serving when an Availability Zone fails.
   *
   * @default 2
   */
  readonly minCapacity?: number;

  /**
   * The most servers: the tier's cost limit. At least 2, so a rolling update can replace a
   * server while another serves.
   *
   * @default 4
   */
  readonly maxCapacity?: number;

  /**
   * Requests per server per minute that scaling holds (target tracking on the target group's
   * RequestCountPerTarget): more servers when each gets more, fewer when each gets less.
   *
   * @default 1000
   */
  readonly targetRequestsPerMinute?: number;

  /**
   * The average CPU utilization (percent) that scaling holds (target tracking, alongside the
   * requests: the group follows whichever asks for more servers).
   *
   * @default 60
   */
  readonly targetCpuUtilization?: number;

  /**
   * The largest request body (by Content-Length) the server accepts; larger ones get 413.
   *
   * @default 1048576 (1 MiB)
   */
  readonly bodyLimitBytes?: number;

  /**
   * The share of requests answered with a 5xx (by the servers or the balancer), in percent,
   * over which the error-rate alarm goes off (3 minutes in a row).
   *
   * @default 5
   */
  readonly serverErrorRateThreshold?: number;

  /**
   * How long the access logs are kept (in the bucket WebTier creates).
   *
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;

  /**
   * What happens to the access-log bucket WebTier creates when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN (logs are evidence)
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * A bucket of your own for the balancer's access logs (a replicated, object-locked log archive,
   * say, for a compliance review), used as it is: `accessLogRetention` cannot be set with it. It
   * must be encrypted with SSE-S3 (the only encryption Elastic Load Balancing delivers to); WebTier
   * adds the delivery statement to its policy when the bucket is defined in your app.
   *
   * @default - a new bucket: SSE-S3, TLS only, no public access, versioned, expiring after `accessLogRetention`
   */
  readonly accessLogsBucket?: s3.IBucket;

  /**
   * An SNS topic to notify when an alarm fires (the error-rate and unhealthy-server alarms).
   *
   * @default - the alarms have no action
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * With a `certificate`: also listen on port 80 and redirect to HTTPS. Turn it off where rules
   * forbid any listener without a certificate (cdk-nag's ELBv2ACMCertificateRequired in the HIPAA,
   * NIST and PCI packs): clients must then use https:// themselves.
   *
   * @default true
   */
  readonly httpRedirect?: boolean;

  /**
   * The ARN of an AWS WAF web ACL (WAFv2, scope REGIONAL) to associate with the balancer, to
   * filter requests before they reach the servers.
   *
   * @default - no web ACL
   */
  readonly webAclArn?: string;
}

/** Where the server program is extracted on an instance, and where its settings are. */
export const WEB_SERVER_DIRECTORY = '/opt/web-server';
export const WEB_SERVER_ENV_FILE = '/etc/web-tier/server.env';
/** The systemd service (and log stream suffix) of the server. */
export const WEB_SERVER_SERVICE = 'web-server';
/** The key prefix of the balancer's access logs in their bucket. */
export const ACCESS_LOGS_PREFIX = 'alb';

/**
 * A load-balanced, autoscaled, self-healing tier of web servers running one request handler.
 *
 * @example
 * const web = new WebTier(this, 'Web', {
 *   vpc,
 *   entry: path.join(__dirname, 'app.ts'), // exports handler (an Express app works) and maybe start()
 *   certificate,
 *   requestTimeout: Duration.seconds(10),
 *   minCapacity: 2,
 *   maxCapacity: 10,
 * });
 * table.grantReadWriteData(web); // what the app calls
 */
export class WebTier extends Construct implements iam.IGrantable, ec2.IConnectable {
  /** The port the servers listen on (not privileged: the service runs as a dynamic user without capabilities). */
  public static readonly SERVER_PORT: number = WEB_SERVER_PORT;
  /** The server's readiness path, the balancer's health check: 200 once started and until a SIGTERM, 503 otherwise. */
  public static readonly READINESS_PATH: string = READINESS_PATH;
  /** The server's liveness path: 200 while the process can answer at all. */
  public static readonly LIVENESS_PATH: string = LIVENESS_PATH;
  /** The key prefix of the balancer's access logs in their bucket. */
  public static readonly ACCESS_LOGS_PREFIX: string = ACCESS_LOGS_PREFIX;

  /** The Application Load Balancer. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The listener that forwards to the servers: HTTPS with a certificate, else HTTP. */
  public readonly listener: elbv2.ApplicationListener;
  /** The HTTP listener that redirects to HTTPS, with a certificate. */
  public readonly redirectListener?: elbv2.ApplicationListener;
  /** The servers' target group, health-checked on the server's readiness path. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The Auto Scaling group of the servers. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The launch template, instance role, security group and log group of the servers. */
  public readonly image: BootstrappedImage;
  /** The bucket of the balancer's access logs (SSE-S3, as the ELB requires; TLS only; no public access). */
  public readonly accessLogsBucket: s3.IBucket;
  /** The servers' security group: it lets in only the balancer, on the server's port. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** The servers' security group, to open a way to a database and the like. */
  public readonly connections: ec2.Connections;
  /** The instance role: grant it what the app calls. */
  public readonly role: iam.IRole;
  public readonly grantPrincipal: iam.IPrincipal;
  /** The server program (bundled from `entry`, or `code`), an S3 asset. */
  public readonly program: s3Assets.Asset;
  /** Every timing of the tier, derived from `requestTimeout` and `idleTimeout`. */
  public readonly timings: WebTierTimings;
  /** The server's environment, as the instances' environment file holds it. */
  public readonly programEnvironment: { readonly [name: string]: string };
  /** The group's size and scaling targets. */
  public readonly minCapacity: number;
  public readonly maxCapacity: number;
  public readonly targetRequestsPerMinute: number;
  public readonly targetCpuUtilization: number;
  /** Whether the balancer serves HTTPS (with HTTP redirected to it). */
  public readonly https: boolean;
  /** Goes off when more than `serverErrorRateThreshold` percent of requests get a 5xx. */
  public readonly serverErrorRateAlarm: cloudwatch.Alarm;
  /** Goes off when a server has been unhealthy for 5 minutes (a replacement takes less). */
  public readonly unhealthyHostsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WebTierProps) {
    super(scope, id);

    const requestTimeoutSeconds = (props.requestTimeout ?? Duration.seconds(30)).toSeconds();
    const idleTimeoutSeconds = (props.idleTimeout ?? Duration.seconds(60)).toSeconds();
    const minCapacity = props.minCapacity ?? 2;
    const maxCapacity = props.maxCapacity ?? 4;
    const targetRequests = props.targetRequestsPerMinute ?? 1000;
    const targetCpu = props.targetCpuUtilization ?? 60;
    const bodyLimit = props.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
    const errorRate = props.serverErrorRateThreshold ?? 5;
    const internetFacing = props.internetFacing ?? true;
    const azs = props.vpc.availabilityZones.length;

    const timingsKnown = isKnown(requestTimeoutSeconds) && isKnown(idleTimeoutSeconds);
    const timings = WebTierTimings.derive({ requestTimeoutSeconds, idleTimeoutSeconds });
    const program: ServiceProgram = {
      owner: 'WebTier',
      runtime: 'web-server',
      serviceName: WEB_SERVER_SERVICE,
      directory: WEB_SERVER_DIRECTORY,
      environmentFile: WEB_SERVER_ENV_FILE,
      description: `Web server of ${this.node.path}: serves the app behind the load balancer`,
      settings: {
        [WEB_TIER_ENV.port]: String(WEB_SERVER_PORT),
        [WEB_TIER_ENV.requestTimeout]: String(requestTimeoutSeconds),
        [WEB_TIER_ENV.idleTimeout]: String(idleTimeoutSeconds),
        [WEB_TIER_ENV.bodyLimit]: String(bodyLimit),
      },
      reservedNames: Object.values<string>(WEB_TIER_ENV),
      // A server that exits on its own (a stray signal, a crash) comes back in seconds; `systemctl
      // stop` at shutdown does not restart it.
      restart: ServiceRestart.ALWAYS,
      // Past the server's own shutdown (notice, then drain), then SIGKILL.
      stopTimeout: Duration.seconds(timings.stopTimeoutSeconds),
    };
    assertProps(this, [
      ...serviceFleetRules(props, program),
      existingResourceRule('accessLogsBucket', props, ['accessLogRetention', 'removalPolicy'], 'WebTier'),
      {
        failed: props.httpRedirect !== undefined && props.certificate === undefined,
        prop: 'httpRedirect',
        message: `redirects HTTP to HTTPS, so it only applies with \`certificate\`; received httpRedirect: ${props.httpRedirect} without one. Give \`certificate\` or remove \`httpRedirect\`.`,
      },
      {
        failed: props.webAclArn !== undefined && !Token.isUnresolved(props.webAclArn) && !/^arn:[^:]+:wafv2:[^:]+:\d{12}:regional\/webacl\/.+/.test(props.webAclArn),
        prop: 'webAclArn',
        message: `must be the ARN of a regional WAFv2 web ACL, like "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/name/id", received "${props.webAclArn}".`,
      },
      {
        failed: !Token.isUnresolved(props.vpc.availabilityZones) && azs < 2,
        prop: 'vpc',
        message: `must span at least 2 Availability Zones (an Application Load Balancer needs subnets in two), received a VPC with ${azs}.`,
      },
      {
        failed: outsideInt(requestTimeoutSeconds, 1, 3600),
        prop: 'requestTimeout',
        message: `must be from 1 second to 1 hour (whole seconds), received ${requestTimeoutSeconds} seconds.`,
      },
      {
        failed: outsideInt(idleTimeoutSeconds, 1, 4000),
        prop: 'idleTimeout',
        message: `must be from 1 to 4,000 seconds (the ALB's range, whole seconds), received ${idleTimeoutSeconds} seconds.`,
      },
      {
        failed: timingsKnown && requestTimeoutSeconds > idleTimeoutSeconds,
        prop: 'requestTimeout, idleTimeout',
        message: `a request (requestTimeout ${requestTimeoutSeconds} s) must fit in the balancer's idle timeout (idleTimeout ${idleTimeoutSeconds} s), or the balancer answers 504 while the server still works. Raise idleTimeout or lower requestTimeout.`,
      },
      ...capacityRules(minCapacity, maxCapacity, {
        minLowest: 1, minWhy: 'a web tier with no server serves nothing', maxLowest: 2, maxWhy: 'a rolling update replaces a server while another serves',
      }),
      {
        failed: outsideInt(targetRequests, 1, 1_000_000),
        prop: 'targetRequestsPerMinute',
        message: `must be an integer from 1 to 1,000,000 requests per server per minute, received ${targetRequests}.`,
      },
      {
        failed: isKnown(targetCpu) && !(targetCpu >= 10 && targetCpu <= 90),
        prop: 'targetCpuUtilization',
        message: `must be a percentage from 10 to 90 (at 100 the group scales out only once servers are already saturated), received ${targetCpu}.`,
      },
      {
        failed: outsideInt(bodyLimit, 0, 1024 ** 3),
        prop: 'bodyLimitBytes',
        message: `must be an integer from 0 to 1 GiB, received ${bodyLimit}.`,
      },
      {
        failed: isKnown(errorRate) && !(errorRate > 0 && errorRate <= 100),
        prop: 'serverErrorRateThreshold',
        message: `must be a percentage above 0, up to 100, received ${errorRate}.`,
      },
    ]);

    this.timings = timings;
    this.minCapacity = minCapacity;
    this.maxCapacity = maxCapacity;
    this.targetRequestsPerMinute = targetRequests;
    this.targetCpuUtilization = targetCpu;
    this.https = props.certificate !== undefined;
    // The derived values are checked again once the tree is complete: a contract change that
    // breaks an ordering fails every synth, not a deployment.
    this.node.addValidation({ validate: () => (timingsKnown ? this.timings.rules().filter((r) => !r.holds).map((r) => `timings: ${r.rule}`) : []) });

    // --- The balancer, its logs and its listeners ---
    const logs = props.accessLogsBucket ? undefined : new AccessLogsBucket(this, 'AccessLogs', {
      prefix: ACCESS_LOGS_PREFIX, retention: props.accessLogRetention ?? Duration.days(90), removalPolicy: props.removalPolicy,
    });
    this.accessLogsBucket = props.accessLogsBucket ?? logs!.bucket;
    if (props.accessLogsBucket) allowElbLogDelivery(this, props.accessLogsBucket, ACCESS_LOGS_PREFIX);
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing,
      vpcSubnets: internetFacing ? { subnetType: ec2.SubnetType.PUBLIC } : undefined,
      idleTimeout: Duration.seconds(idleTimeoutSeconds),
      dropInvalidHeaderFields: true,
      desyncMitigationMode: elbv2.DesyncMitigationMode.STRICTEST,
      deletionProtection: props.deletionProtection ?? true,
    });
    // Not logAccessLogs(): it needs the region at synth to pick the ELB account, and the
    // catalog's stacks are region-agnostic. The bucket's policy picks it at deploy time instead.
    this.loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    this.loadBalancer.setAttribute('access_logs.s3.bucket', this.accessLogsBucket.bucketName);
    this.loadBalancer.setAttribute('access_logs.s3.prefix', ACCESS_LOGS_PREFIX);
    // The ELB checks that it may write when the attribute is set (the balancer alone waits, not its listeners).
    const logsPolicy = logs?.policy ?? (props.accessLogsBucket instanceof s3.Bucket ? props.accessLogsBucket.policy?.node.defaultChild as CfnResource | undefined : undefined);
    if (logsPolicy) (this.loadBalancer.node.defaultChild as CfnResource).addResourceDependency(logsPolicy);
    if (props.webAclArn !== undefined) {
      new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', { resourceArn: this.loadBalancer.loadBalancerArn, webAclArn: props.webAclArn });
    }
    const lbSecurityGroup = this.loadBalancer.connections.securityGroups[0];

    if (props.certificate) {
      this.listener = this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromCertificateManager(props.certificate)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        open: internetFacing,
      });
      if (props.httpRedirect ?? true) this.redirectListener = this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 });
    } else {
      this.listener = this.loadBalancer.addListener('Http', { port: 80, protocol: elbv2.ApplicationProtocol.HTTP, open: internetFacing });
      Annotations.of(this).addWarningV2(
        'cdk-cloud-patterns:web-tier-plain-http',
        'WebTier without a certificate serves plain HTTP: for trials only. Pass `certificate` (an ACM certificate) for HTTPS with HTTP redirected to it.',
      );
    }
    if (internetFacing) {
      Validations.of(lbSecurityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: 'The balancer of a public web tier takes requests from anyone on its listener ports (and only those); the servers behind it take traffic from the balancer only.',
      });
    }

    // --- The servers ---
    const fleet = buildServiceFleet(this, props, program, {
      minCapacity,
      maxCapacity,
      // No desiredCapacity: a deploy must never reset what scaling has set.
      bootTimeout: Duration.seconds(timings.signalTimeoutSeconds),
      maxBatchSize: 1,
      // A rolling update keeps the servers it found serving (launching the new one first).
      minInstancesInService: isKnown(minCapacity) && isKnown(maxCapacity) ? Math.min(minCapacity, maxCapacity - 1) : undefined,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: Duration.seconds(timings.gracePeriodSeconds),
      }),
      defaultInstanceWarmup: Duration.seconds(timings.gracePeriodSeconds),
    });
    this.program = fleet.program;
    this.image = fleet.image;
    this.autoScalingGroup = fleet.autoScalingGroup;
    this.programEnvironment = fleet.programEnvironment;
    this.securityGroup = fleet.image.securityGroup;
    this.connections = fleet.connections;
    this.role = fleet.role;
    this.grantPrincipal = fleet.role;

    this.targetGroup = this.listener.addTargets('Servers', {
      port: WEB_SERVER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.autoScalingGroup],
      deregistrationDelay: Duration.seconds(timings.deregistrationDelaySeconds),
      slowStart: Duration.seconds(timings.slowStartSeconds),
      healthCheck: {
        path: READINESS_PATH,
        port: String(WEB_SERVER_PORT),
        protocol: elbv2.Protocol.HTTP,
        healthyHttpCodes: '200',
        interval: Duration.seconds(timings.healthCheckIntervalSeconds),
        timeout: Duration.seconds(timings.healthCheckTimeoutSeconds),
        healthyThresholdCount: timings.healthyThreshold,
        unhealthyThresholdCount: timings.unhealthyThreshold,
      },
    });

    // The boot signals only once this instance is healthy in the target group, not when its
    // script ends: a rolling update moves on only with a server that takes traffic.
    this.image.addSteps(BootStep.commands('wait-healthy-in-target-group',
      waitUntilHealthyCommands(this.targetGroup.targetGroupArn, timings.signalTimeoutSeconds - 60), { notASecret: 'commands that poll the target health' }));
    this.image.bootPolicy.addStatements(new iam.PolicyStatement({ sid: 'WaitHealthyInTargetGroup', actions: [...WEB_TIER_BOOT_ACTIONS], resources: ['*'] }));
    Validations.of(this.image.bootPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'elasticloadbalancing:DescribeTargetHealth takes no resource-level permission (it is read-only); the boot calls it to signal only once its instance is healthy in the target group. The other wildcard is Session Manager\'s (see BootstrappedImage).',
    });

    // What the local cloud runs in this group's place (contracts/web-tier.ts), on the group itself.
    declareWorkload(this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup, WEB_TIER_WORKLOAD.declare({
      program: `s3://${this.program.s3BucketName}/${this.program.s3ObjectKey}`,
      environment: this.programEnvironment,
      requestTimeoutSeconds,
      idleTimeoutSeconds,
      healthCheckPath: READINESS_PATH,
      healthCheckIntervalSeconds: timings.healthCheckIntervalSeconds,
      healthCheckTimeoutSeconds: timings.healthCheckTimeoutSeconds,
      healthyThreshold: timings.healthyThreshold,
      unhealthyThreshold: timings.unhealthyThreshold,
      deregistrationDelaySeconds: timings.deregistrationDelaySeconds,
      gracePeriodSeconds: timings.gracePeriodSeconds,
      https: this.https,
      minCapacity,
      maxCapacity,
      targetRequestsPerMinute: targetRequests,
      targetGroupArn: this.targetGroup.targetGroupArn,
    }));

    this.autoScalingGroup.scaleOnRequestCount('RequestsPerServer', { targetRequestsPerMinute: targetRequests });
    this.autoScalingGroup.scaleOnCpuUtilization('CpuUtilization', { targetUtilizationPercent: targetCpu });

    // --- Alarms ---
    const minute = Duration.minutes(1);
    this.serverErrorRateAlarm = new cloudwatch.MathExpression({
      expression: '100 * (target5xx + elb5xx) / MAX([requests, 1])',
      usingMetrics: {
        target5xx: this.metricTarget5xx({ period: minute }),
        elb5xx: this.metricBalancer5xx({ period: minute }),
        requests: this.metricRequests({ period: minute }),
      },
      period: minute,
      label: '5xx responses, percent of requests',
    }).createAlarm(this, 'ServerErrorRateAlarm', {
      threshold: errorRate,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `More than ${errorRate}% of the requests to ${this.node.path} got a 5xx, 3 minutes in a row.`,
    });
    this.unhealthyHostsAlarm = this.metricUnhealthyHosts({ period: minute, statistic: 'Maximum' }).createAlarm(this, 'UnhealthyHostsAlarm', {
      threshold: 1,
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `A server of ${this.node.path} has been unhealthy for 5 minutes (a replacement takes about ${Math.ceil(timings.gracePeriodSeconds / 60)}).`,
    });
    if (props.alarmTopic) {
      const action = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of [this.serverErrorRateAlarm, this.unhealthyHostsAlarm]) alarm.addAlarmAction(action);
    }
  }

  /** Requests the balancer received. */
  public metricRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.loadBalancer.metrics.requestCount({ statistic: 'Sum', ...props });
  }

  /** Responses with a 5xx from the servers. */
  public metricTarget5xx(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum', ...props });
  }

  /** Responses with a 5xx from the balancer itself (no healthy server, a server that dropped the connection). */
  public metricBalancer5xx(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', ...props });
  }

  /** How long the servers take to answer (p99 by default). */
  public metricTargetResponseTime(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.loadBalancer.metrics.targetResponseTime({ statistic: 'p99', ...props });
  }

  /** Servers healthy in the target group. */
  public metricHealthyHosts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum', ...props });
  }

  /** Servers unhealthy in the target group. */
  public metricUnhealthyHosts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.unhealthyHostCount({ statistic: 'Maximum', ...props });
  }

  /** Lists the timing rules and whether each holds (for docs and tests). */
  public timingRules(): TimingRule[] {
    return this.timings.rules();
  }

}
