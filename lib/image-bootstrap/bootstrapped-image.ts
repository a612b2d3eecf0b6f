/**
 * BootstrappedImage: the book's image pattern. Instances start from Amazon Linux 2023 and are
 * finished at boot by a generated script built from typed steps (a "prototype" image), or the
 * same steps are baked into an AMI by EC2 Image Builder and only the per-instance steps run at
 * boot (a "prepackaged" image). Secrets never enter user data, the template or the image: a
 * secret step reads them at boot with the instance role. A boot signals its result to
 * CloudFormation, so a group's creation or rolling update waits for booted instances and rolls
 * back when a boot fails.
 */
import { Aws, Duration, Lazy, Stack, Token, Validations, type CfnResource } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BOOTSTRAPPED_IMAGE_WORKLOAD, type BootStepDeclaration, type BootstrappedImageWorkload } from '../../contracts/image-bootstrap';
import { logGroupFor, logGroupRules, type ComputeProps } from '../core/log-groups';
import { newAttachedPolicy, newRole } from '../core/roles';
import { declareWorkload } from '../core/workload';
import { assertProps, isKnown, outsideInt, type PropRule } from '../core/validation';
import { ScriptPart, renderBootScript, renderComponentDocument, type BootSignalTarget } from './boot-script';
import {
  CommandsStep, EnvironmentStep, FileStep, PackagesStep, S3FileStep, SecretStep, ServiceStep, splitForBake, type BootStep,
} from './boot-steps';
import { ImageBakery } from './image-bakery';
import { markGuarded } from './secret-guard';
import { stepRules } from './step-rules';

/** Options of bake mode: EC2 Image Builder bakes the image part of the steps into an AMI. */
export interface BakeOptions {
  /**
   * Where the build instance runs; it needs a way out to the internet (dnf, SSM).
   *
   * @default - the VPC's default selection (private subnets with egress, else public subnets)
   */
  readonly subnetSelection?: ec2.SubnetSelection;

  /**
   * The SSM parameter each build publishes its AMI id to; instances resolve it at launch.
   *
   * @default - `/cdk-cloud-patterns/<stack name>/<construct id path>/ami-id`
   */
  readonly amiParameterName?: string;

  /**
   * Rebuild on this schedule (an Image Builder cron expression, e.g. `cron(0 4 ? * sun *)`),
   * only when Amazon Linux or the component has changed. New instances use the newest AMI;
   * an instance refresh rolls the running ones.
   *
   * @default - no schedule: a build on each deploy that changes the image part, or on demand
   */
  readonly schedule?: string;

  /**
   * Instance types of the build instance.
   *
   * @default - the image's instance type
   */
  readonly buildInstanceTypes?: ec2.InstanceType[];

  /**
   * Build the first AMI while the stack deploys (20 to 40 minutes), so that the SSM parameter
   * exists before an instance launches. Without it, run the pipeline before any instance launches.
   *
   * @default true
   */
  readonly buildOnDeploy?: boolean;
}

/**
 * Properties of a {@link BootstrappedImage}. Its log group (from {@link ComputeProps}) holds the
 * boot log and the services' logs (streams `<instance id>/bootstrap` and `<instance id>/<service>`);
 * `customerManagedPolicies` also applies to the boot policy.
 */
export interface BootstrappedImageProps extends ComputeProps {
  /** The VPC the instances (and, in bake mode, the build instance) run in. */
  readonly vpc: ec2.IVpc;

  /**
   * The boot steps, in order; more can be added with {@link BootstrappedImage.addSteps}.
   *
   * @default - none: the boot only ships its log and signals
   */
  readonly steps?: BootStep[];

  /**
   * The instance type; its architecture picks the Amazon Linux 2023 image.
   *
   * @default ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO) (Graviton, 1 GiB: enough for dnf)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * The image to start from, instead of Amazon Linux 2023. It must have bash, the AWS CLI,
   * curl, python3, dnf and systemd, as Amazon Linux 2023 has. In bake mode it is the parent
   * image of the recipe.
   *
   * @default - Amazon Linux 2023 for the instance type's architecture, resolved from the public SSM parameter at deploy time
   */
  readonly machineImage?: ec2.IMachineImage;

  /**
   * The instance role. What the boot needs (its steps' assets and secrets, the boot log, the
   * signal, Session Manager) is granted in a policy of its own, {@link BootstrappedImage.bootPolicy}.
   *
   * @default - a new role with only what the boot needs
   */
  readonly role?: iam.IRole;

  /**
   * The security group of the instances.
   *
   * @default - a new group without inbound rules and with outbound HTTPS only (or all outbound with `allowAllOutbound`)
   */
  readonly securityGroup?: ec2.ISecurityGroup;

  /**
   * Let the new security group send any outbound traffic, not only HTTPS.
   *
   * @default false
   */
  readonly allowAllOutbound?: boolean;

  /**
   * Let Session Manager open shells on the instances (the only way in: there is no SSH key
   * and no inbound port), with the few actions its agent needs.
   *
   * @default true
   */
  readonly sessionManager?: boolean;

  /**
   * Size of the encrypted gp3 root volume in GiB (at least the image's snapshot: 8 for Amazon Linux 2023).
   *
   * @default 8
   */
  readonly rootVolumeSize?: number;

  /**
   * The IMDSv2 hop limit. 1 keeps the instance metadata (and the role's credentials) away
   * from containers on the instance; 2 lets containers reach it.
   *
   * @default 1
   */
  readonly httpPutResponseHopLimit?: number;

  /**
   * Let instances read their tags from the instance metadata (`/latest/meta-data/tags/instance/`),
   * e.g. `aws:autoscaling:groupName`, the name of their Auto Scaling group.
   *
   * @default false
   */
  readonly instanceMetadataTags?: boolean;

  /**
   * Shut an instance down (and so terminate it) one minute after its boot failed, so that its
   * Auto Scaling group replaces it instead of counting a broken instance as capacity. Its log
   * stays in the log group.
   *
   * @default true
   */
  readonly shutdownOnBootFailure?: boolean;

  /**
   * Bake the image part of the steps into an AMI with EC2 Image Builder. Not supported by the
   * local cloud (moto has no Image Builder).
   *
   * @default - boot mode: every step runs at boot
   */
  readonly bake?: BakeOptions;
}

/**
 * Instance types and Spot capacity of a {@link BootstrappedImage.createAutoScalingGroup} group:
 * `autoscaling.MixedInstancesPolicy` without its launch template, which is the image's.
 */
export interface BootstrappedMixedInstancesPolicy {
  /**
   * On-Demand and Spot shares and strategies.
   *
   * @default - the defaults of each of its properties
   */
  readonly instancesDistribution?: autoscaling.InstancesDistribution;

  /**
   * Instance types (or requirements) to launch; they must have the image's architecture.
   *
   * @default - the launch template's instance type only
   */
  readonly launchTemplateOverrides?: autoscaling.LaunchTemplateOverrides[];
}

/**
 * Properties of {@link BootstrappedImage.createAutoScalingGroup}: the props of
 * `autoscaling.AutoScalingGroup` that the image does not set itself (it sets the launch template,
 * the block devices, the key pair, the monitoring, the signals and the update policy), passed on
 * as they are, and the boot signal's settings.
 */
export interface BootstrappedGroupProps {
  /** The fewest instances. @default 1 */
  readonly minCapacity?: number;
  /** The most instances. @default - desiredCapacity, else minCapacity */
  readonly maxCapacity?: number;
  /** The initial number of instances, left unchanged by later deployments. @default - minCapacity */
  readonly desiredCapacity?: number;
  /** Where the instances run. @default - all private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** SNS topics notified of the group's scaling events. @default - no notification */
  readonly notifications?: autoscaling.NotificationConfiguration[];
  /** Leave the sizes unchanged when a deployment does not change them. @default true */
  readonly ignoreUnmodifiedSizeProperties?: boolean;
  /** The time between two scaling activities. @default Duration.minutes(5) */
  readonly cooldown?: Duration;
  /**
   * How the group checks its instances' health.
   *
   * @default - EC2 checks with no grace period
   * @deprecated use `healthChecks`, as `autoscaling.AutoScalingGroup` asks
   */
  readonly healthCheck?: autoscaling.HealthCheck;
  /** How the group checks its instances' health. @default - EC2 checks with no grace period */
  readonly healthChecks?: autoscaling.HealthChecks;
  /** Replace an instance after it has run this long (1 to 365 days). @default - no limit */
  readonly maxInstanceLifetime?: Duration;
  /** The group metrics sent to CloudWatch. @default - none */
  readonly groupMetrics?: autoscaling.GroupMetrics[];
  /** New instances are protected from scale-in. @default false */
  readonly newInstancesProtectedFromScaleIn?: boolean;
  /** The group's name. @default - generated by CloudFormation */
  readonly autoScalingGroupName?: string;
  /** Which instances go first at scale-in. @default - TerminationPolicy.DEFAULT */
  readonly terminationPolicies?: autoscaling.TerminationPolicy[];
  /** The Lambda function of a CUSTOM_LAMBDA_FUNCTION termination policy. @default - none */
  readonly terminationPolicyCustomLambdaFunctionArn?: string;
  /** How long a new instance's metrics are left out of scaling. @default - none */
  readonly defaultInstanceWarmup?: Duration;
  /** Replace Spot instances at an elevated risk of interruption. @default false */
  readonly capacityRebalance?: boolean;
  /** How instances spread over Availability Zones when one fails to launch. @default - balanced best effort */
  readonly azCapacityDistributionStrategy?: autoscaling.CapacityDistributionStrategy;
  /** Protect the group from deletion. @default DeletionProtection.NONE */
  readonly deletionProtection?: autoscaling.DeletionProtection;
  /** Whether instances are retained when their lifecycle fails. @default - none */
  readonly instanceLifecyclePolicy?: autoscaling.InstanceLifecyclePolicy;

  /**
   * How long CloudFormation waits for an instance's boot signal, at creation and at each
   * batch of a rolling update (from 1 minute to 12 hours).
   *
   * @default Duration.minutes(15)
   */
  readonly bootTimeout?: Duration;

  /**
   * The percentage of instances that must signal success for a creation or a batch to succeed.
   *
   * @default 100
   */
  readonly minSuccessPercentage?: number;

  /**
   * Instances replaced at once by a rolling update.
   *
   * @default 1
   */
  readonly maxBatchSize?: number;

  /**
   * Instances kept in service during a rolling update.
   *
   * @default 0
   */
  readonly minInstancesInService?: number;

  /**
   * Mix instance types and Spot capacity; the launch template is filled in. The types must
   * have the image's architecture.
   *
   * @default - every instance from the launch template, On-Demand
   */
  readonly mixedInstancesPolicy?: BootstrappedMixedInstancesPolicy;
}

/** The steps of a {@link BootstrappedImage} by phase. */
export interface BootStepsByPhase {
  /** The steps baked into the image (bake mode only; none in boot mode). */
  readonly image: BootStep[];
  /** The steps that run at every boot. */
  readonly instance: BootStep[];
}

/** The public SSM parameter of Amazon Linux 2023 (standard image, default kernel) per architecture. */
export function amazonLinux2023Parameter(architecture: ec2.InstanceArchitecture): string {
  const arch = architecture === ec2.InstanceArchitecture.ARM_64 ? 'arm64' : 'x86_64';
  return `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${arch}`;
}

/** The largest user data EC2 takes, in bytes (before base64). */
const USER_DATA_LIMIT = 16_384;

/** The actions Session Manager's agent needs (the custom instance profile AWS documents for it). */
const SESSION_MANAGER_ACTIONS = [
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
];

/**
 * A launch template for instances finished at boot (or baked ahead) from typed steps, with
 * secure defaults: Amazon Linux 2023 resolved at deploy time, IMDSv2 only with a hop limit
 * of 1, an encrypted gp3 root volume, no SSH key, no inbound port, Session Manager, the boot
 * log in CloudWatch Logs, and the boot's result signalled to CloudFormation.
 *
 * @example
 * const image = new BootstrappedImage(this, 'Image', {
 *   vpc,
 *   steps: [
 *     BootStep.packages('tools', ['jq']),
 *     BootStep.secret('db-password', SecretSource.fromSecret(dbSecret)),
 *     BootStep.service('app', { execStart: '/opt/app/run', credentials: [...] }),
 *   ],
 * });
 * const group = image.createAutoScalingGroup(this, 'Group', { minCapacity: 1, maxCapacity: 3 });
 */
export class BootstrappedImage extends Construct {
  /** The launch template instances start from. */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /**
   * The instance role: grant it what the instances' programs call. Those grants go to its
   * default policy, which nothing here depends on, so they may name the Auto Scaling group.
   */
  public readonly role: iam.IRole;
  /**
   * The policy with what the boot itself needs (the boot log, Session Manager, the steps'
   * secrets and assets, the signal). The launch template depends on it, so that no instance
   * boots before it exists.
   */
  public readonly bootPolicy: iam.Policy | iam.ManagedPolicy;
  /** The instance profile of the role, which the launch template names. */
  public readonly instanceProfile: iam.CfnInstanceProfile;
  /** The instances' security group. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** Where the boot log and the services' logs go. */
  public readonly logGroup: logs.ILogGroup;
  /** The image instances boot from: Amazon Linux 2023 (boot mode), or the newest baked AMI (bake mode). */
  public readonly machineImage: ec2.IMachineImage;
  /** The instance type of the launch template. */
  public readonly instanceType: ec2.InstanceType;
  /** The VPC of the instances. */
  public readonly vpc: ec2.IVpc;
  /** The Image Builder resources, in bake mode. */
  public readonly bakery?: ImageBakery;
  /** Whether instances shut down after a failed boot. */
  public readonly shutdownOnBootFailure: boolean;

  private readonly bootSteps: BootStep[] = [];
  private readonly bootGrantee: iam.IGrantable;
  private signalTarget?: CfnResource;

  constructor(scope: Construct, id: string, props: BootstrappedImageProps) {
    super(scope, id);

    const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO);
    const rootVolumeSize = props.rootVolumeSize ?? 8;
    const hopLimit = props.httpPutResponseHopLimit ?? 1;
    const sessionManager = props.sessionManager ?? true;
    const minRootSize = props.machineImage === undefined ? 8 : 1;
    const amiParameterName = props.bake?.amiParameterName;

    assertProps(this, [
      {
        failed: outsideInt(rootVolumeSize, minRootSize, 16_384),
        prop: 'rootVolumeSize',
        message: `must be an integer from ${minRootSize} to 16,384 GiB${props.machineImage === undefined ? ' (the Amazon Linux 2023 snapshot is 8 GiB)' : ''}, received ${rootVolumeSize}.`,
      },
      {
        failed: outsideInt(hopLimit, 1, 64),
        prop: 'httpPutResponseHopLimit',
        message: `must be an integer from 1 to 64 (1 for the host only, 2 to let containers reach the instance metadata), received ${hopLimit}.`,
      },
      ...logGroupRules(props),
      {
        failed: props.securityGroup !== undefined && props.allowAllOutbound !== undefined,
        prop: 'securityGroup + allowAllOutbound',
        message: 'an existing security group keeps its own rules, so allowAllOutbound cannot be set with it. Remove one of them.',
      },
      {
        failed: amiParameterName !== undefined && !Token.isUnresolved(amiParameterName) &&
          (!/^\/?[A-Za-z0-9_.\-/]{1,1000}$/.test(amiParameterName) || /^\/?(aws|ssm)/i.test(amiParameterName)),
        prop: 'bake.amiParameterName',
        message: `must be an SSM parameter name (letters, digits, "_", ".", "-", "/"; not starting with "aws" or "ssm"), received "${amiParameterName}".`,
      },
      {
        failed: props.bake?.schedule !== undefined && !Token.isUnresolved(props.bake.schedule) && !/^cron\(.+\)$/.test(props.bake.schedule),
        prop: 'bake.schedule',
        message: `must be an Image Builder cron expression like "cron(0 4 ? * sun *)", received "${props.bake?.schedule}".`,
      },
      {
        failed: props.bake?.buildInstanceTypes !== undefined && props.bake.buildInstanceTypes.some((t) => t.architecture !== instanceType.architecture),
        prop: 'bake.buildInstanceTypes',
        message: `must have the architecture of instanceType ${instanceType} (${instanceType.architecture}), received ${props.bake?.buildInstanceTypes?.map((t) => `${t} (${t.architecture})`).join(', ')}.`,
      },
    ]);

    this.vpc = props.vpc;
    this.instanceType = instanceType;
    this.shutdownOnBootFailure = props.shutdownOnBootFailure ?? true;

    this.logGroup = logGroupFor(this, 'BootLogs', props);

    const customerManagedPolicies = props.customerManagedPolicies ?? false;
    const role = props.role ?? newRole(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Instances of ${this.node.path}: the boot's reads, its log and its signal`,
      customerManagedPolicies,
    });
    this.role = role;
    this.bootPolicy = newAttachedPolicy(this, 'BootPolicy', role, customerManagedPolicies);
    this.bootGrantee = new PolicyPrincipal(role, this.bootPolicy);
    this.logGroup.grantWrite(this.bootGrantee);
    this.logGroup.grant(this.bootGrantee, 'logs:DescribeLogStreams');
    if (sessionManager) {
      // Not AmazonSSMManagedInstanceCore: that policy also allows ssm:GetParameter(s) on every
      // parameter of the account, which would hand every instance every SecureString.
      this.bootPolicy.addStatements(new iam.PolicyStatement({ sid: 'SessionManager', actions: SESSION_MANAGER_ACTIONS, resources: ['*'] }));
      Validations.of(this.bootPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Session Manager\'s ssmmessages actions support no resource-level permissions; these five actions are the custom instance profile AWS documents for Session Manager, narrower than AmazonSSMManagedInstanceCore.',
      });
    }

    this.securityGroup = props.securityGroup ?? this.newSecurityGroup(props.allowAllOutbound ?? false);

    if (props.bake) {
      // Image Builder resolves the `ssm:` parent at each build, so every build starts from the newest Amazon Linux.
      const parentImage = props.machineImage?.getImage(this).imageId ?? `ssm:${amazonLinux2023Parameter(instanceType.architecture)}`;
      const pathInStack = this.node.path.split('/').slice(1).map((part) => part.replace(/[^A-Za-z0-9_.-]/g, '-')).join('/');
      const parameterName = amiParameterName ?? `/cdk-cloud-patterns/${Aws.STACK_NAME}/${pathInStack}/ami-id`;
      this.bakery = new ImageBakery(this, 'Bakery', {
        vpc: props.vpc,
        subnetSelection: props.bake.subnetSelection ?? {},
        instanceTypes: props.bake.buildInstanceTypes ?? [instanceType],
        parentImage,
        rootVolumeSize,
        componentDocument: Lazy.string({
          produce: () => renderComponentDocument('bootstrap', `Image part of the boot steps of ${this.node.path}`, this.imageScript()!),
        }),
        amiParameterName: parameterName,
        schedule: props.bake.schedule,
        buildOnDeploy: props.bake.buildOnDeploy ?? true,
      });
      this.machineImage = ec2.MachineImage.resolveSsmParameterAtLaunch(parameterName);
    } else {
      this.machineImage = props.machineImage ?? ec2.MachineImage.fromSsmParameter(amazonLinux2023Parameter(instanceType.architecture));
    }

    // The profile is set on the template below rather than through `role`: with `role`,
    // ec2.LaunchTemplate makes the template depend on the role's default policy, and a grant
    // there that names the group (as FleetWorker's do) would close a dependency cycle.
    this.instanceProfile = new iam.CfnInstanceProfile(this, 'InstanceProfile', { roles: [role.roleName] });

    const bakedImageId = this.bakery?.image?.attrImageId;
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType,
      machineImage: this.machineImage,
      userData: ec2.UserData.custom(Lazy.string({
        // A rebuilt image changes the user data, so a deploy that rebuilds also rolls the group.
        produce: () => this.bootScript() + (bakedImageId ? `# Image built at deploy time: ${bakedImageId}\n` : ''),
      })),
      securityGroup: this.securityGroup,
      requireImdsv2: true,
      httpEndpoint: true,
      httpPutResponseHopLimit: hopLimit,
      instanceMetadataTags: props.instanceMetadataTags ?? false,
      blockDevices: [{
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(rootVolumeSize, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true }),
      }],
      // A boot that fails shuts the instance down: terminate it rather than keep a stopped one.
      instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
    });
    const cfnTemplate = this.launchTemplate.node.defaultChild as ec2.CfnLaunchTemplate;
    cfnTemplate.addPropertyOverride('LaunchTemplateData.IamInstanceProfile', { Arn: this.instanceProfile.attrArn });
    markGuarded(cfnTemplate);
    // What the local cloud boots in the instances' place: the steps as data, their contents in the user data.
    declareWorkload(cfnTemplate, BOOTSTRAPPED_IMAGE_WORKLOAD.declare({
      steps: Lazy.any({ produce: () => this.bootSteps.map(declaredStep) }) as unknown as BootStepDeclaration[],
      baked: props.bake !== undefined,
      roleArn: role.roleArn,
      signal: Lazy.any({ produce: () => this.signalTargetInfo() }) as unknown as BootstrappedImageWorkload['signal'],
    }));
    // Instances must not boot before the boot's grants exist: their first reads would be denied.
    this.launchTemplate.node.addDependency(this.bootPolicy);
    if (this.bakery?.image) this.launchTemplate.node.addDependency(this.bakery.image);

    this.addSteps(...(props.steps ?? []));

    this.node.addValidation({
      validate: () => {
        // Deploy-time values count as 40 bytes each: an estimate, as their values are not known yet.
        const size = Buffer.byteLength(this.bootScript().replace(/\$\{Token\[[^\]]*\]\}/g, 'x'.repeat(40)));
        return size > USER_DATA_LIMIT
          ? [`steps: the boot script is about ${size} bytes, over the ${USER_DATA_LIMIT}-byte user data limit of EC2. Move large file contents to assets (BootStep.fileFromAsset)${props.bake ? '' : ' or bake the image part (bake)'}.`]
          : [];
      },
    });
  }

  /** The boot steps, in order. */
  public get steps(): BootStep[] {
    return [...this.bootSteps];
  }

  /** True in bake mode. */
  public get baked(): boolean {
    return this.bakery !== undefined;
  }

  /**
   * Adds steps after the existing ones and grants the instance role what they read (in bake
   * mode, the build role for the steps baked into the image). Throws, listing every broken
   * rule, when a step is invalid or looks like it holds a secret.
   */
  public addSteps(...steps: BootStep[]): void {
    const rules: PropRule[] = [];
    const all = [...this.bootSteps];
    for (const step of steps) {
      rules.push(...stepRules(step, all.length, all));
      all.push(step);
    }
    assertProps(this, rules);

    const baked = new Set(this.bakery ? splitForBake(all).image : []);
    for (const step of steps) {
      const reader = baked.has(step) ? this.bakery!.buildRole : this.bootGrantee;
      if (step instanceof S3FileStep) {
        iam.Grant.addToPrincipal({ grantee: reader, actions: ['s3:GetObject'], resourceArns: [step.objectArn] });
      } else if (step instanceof SecretStep) {
        step.source.grantRead(this.bootGrantee);
      }
      this.bootSteps.push(step);
    }
  }

  /**
   * Makes the boot signal its result to `resource`, which must have a creation policy (and
   * an update policy) that waits for signals, in this image's stack. {@link createAutoScalingGroup}
   * does this; call it for a group you configure yourself. One resource per image.
   */
  public signalTo(resource: CfnResource): void {
    assertProps(this, [
      {
        failed: this.signalTarget !== undefined,
        prop: 'signalTo',
        message: `this image already signals ${this.signalTarget?.node.path}, received ${resource.node.path}. One launch template's instances signal one resource: make another BootstrappedImage for another group.`,
      },
      {
        failed: Stack.of(resource) !== Stack.of(this),
        prop: 'signalTo',
        message: `the resource must be in the stack of the image (${Stack.of(this).stackName}), received one in ${Stack.of(resource).stackName}.`,
      },
    ]);
    this.signalTarget = resource;
    iam.Grant.addToPrincipal({ grantee: this.bootGrantee, actions: ['cloudformation:SignalResource'], resourceArns: [Stack.of(this).stackId] });
  }

  /**
   * Creates an Auto Scaling group that launches from this image and waits for each instance's
   * boot signal: at creation (a creation policy) and at each batch of a rolling update when the
   * launch template changes (an update policy). A FAILURE signal or a timeout fails the
   * operation and CloudFormation rolls back.
   */
  public createAutoScalingGroup(scope: Construct, id: string, props: BootstrappedGroupProps = {}): autoscaling.AutoScalingGroup {
    const {
      bootTimeout = Duration.minutes(15), minSuccessPercentage, maxBatchSize, minInstancesInService, mixedInstancesPolicy, ...groupProps
    } = props;
    const timeoutSeconds = bootTimeout.toSeconds();
    assertProps(this, [
      {
        failed: outsideInt(timeoutSeconds, 60, 43_200),
        prop: 'bootTimeout',
        message: `must be from 1 minute to 12 hours, received ${timeoutSeconds} seconds.`,
      },
      {
        failed: outsideInt(minSuccessPercentage, 0, 100),
        prop: 'minSuccessPercentage',
        message: `must be an integer from 0 to 100, received ${minSuccessPercentage}.`,
      },
      {
        failed: outsideInt(maxBatchSize, 1, 10_000),
        prop: 'maxBatchSize',
        message: `must be a positive integer, received ${maxBatchSize}.`,
      },
      {
        failed: outsideInt(minInstancesInService, 0, 10_000) ||
          (isKnown(minInstancesInService) && isKnown(props.maxCapacity) && minInstancesInService >= props.maxCapacity && props.maxCapacity > 0),
        prop: 'minInstancesInService',
        message: `must be an integer from 0 to less than maxCapacity (${props.maxCapacity ?? 'unset'}), or a rolling update cannot replace anything; received ${minInstancesInService}.`,
      },
    ]);

    const group = new autoscaling.AutoScalingGroup(scope, id, {
      ...groupProps,
      vpc: this.vpc,
      ...(mixedInstancesPolicy
        ? { mixedInstancesPolicy: { ...mixedInstancesPolicy, launchTemplate: this.launchTemplate } }
        : { launchTemplate: this.launchTemplate }),
    });
    // The policies are set here rather than with the group's `signals` and `updatePolicy`
    // props, which need the launch template's role (see the instance profile above).
    const cfnGroup = group.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    const creationPolicy = autoscaling.Signals.waitForAll({ timeout: bootTimeout, minSuccessPercentage })
      .renderCreationPolicy({ desiredCapacity: props.desiredCapacity, minCapacity: props.minCapacity ?? 1 });
    // A group that starts empty has no boot to wait for: omit the policy rather than ask for 0 signals.
    if (creationPolicy.resourceSignal?.count !== 0) cfnGroup.cfnOptions.creationPolicy = creationPolicy;
    cfnGroup.cfnOptions.updatePolicy = {
      autoScalingRollingUpdate: {
        maxBatchSize,
        minInstancesInService,
        minSuccessfulInstancesPercent: minSuccessPercentage,
        waitOnResourceSignals: true,
        pauseTime: bootTimeout.toIsoString(),
        // As CDK suspends them during a rolling update: nothing else replaces instances meanwhile.
        suspendProcesses: ['HealthCheck', 'ReplaceUnhealthy', 'AZRebalance', 'AlarmNotification', 'ScheduledActions', 'InstanceRefresh'],
      },
      autoScalingScheduledAction: { ignoreUnmodifiedGroupSizeProperties: true },
    };
    this.signalTo(cfnGroup);
    if (props.notifications === undefined) {
      Validations.of(group).acknowledge({
        id: 'AwsSolutions-AS3',
        reason: 'A failed boot fails the CloudFormation operation through the resource signal and leaves its log in the boot log group; scaling activity stays in the group\'s activity history. Pass `notifications` to also get SNS messages.',
      });
    }
    return group;
  }

  /** The user data script: every step in boot mode, the per-instance steps in bake mode. */
  public bootScript(): string {
    return renderBootScript({
      steps: this.bootSteps,
      part: this.bakery ? ScriptPart.INSTANCE : ScriptPart.BOOT,
      title: this.node.path,
      region: Stack.of(this).region,
      logGroupName: this.logGroup.logGroupName,
      signal: this.signalTargetInfo(),
      shutdownOnFailure: this.shutdownOnBootFailure,
    });
  }

  /** The script baked into the image by the Image Builder component; undefined in boot mode. */
  public imageScript(): string | undefined {
    if (!this.bakery) return undefined;
    return renderBootScript({
      steps: this.bootSteps,
      part: ScriptPart.IMAGE,
      title: this.node.path,
      region: Stack.of(this).region,
      logGroupName: this.logGroup.logGroupName,
    });
  }

  /** The steps by phase: what is baked into the image (bake mode only) and what runs at boot. */
  public stepsByPhase(): BootStepsByPhase {
    if (!this.bakery) return { image: [], instance: this.steps };
    return splitForBake(this.bootSteps);
  }

  private signalTargetInfo(): BootSignalTarget | undefined {
    const target = this.signalTarget;
    if (!target) return undefined;
    return { stackName: Stack.of(target).stackName, logicalId: target.logicalId };
  }

  private newSecurityGroup(allowAllOutbound: boolean): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      allowAllOutbound,
      description: `Instances of ${this.node.path}: no inbound rule (Session Manager needs none)${allowAllOutbound ? '' : ', outbound HTTPS only'}`,
    });
    if (!allowAllOutbound) {
      group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and the Amazon Linux repositories');
    }
    return group;
  }
}

/** A step as the workload declaration holds it (contracts/image-bootstrap.ts). */
function declaredStep(step: BootStep): BootStepDeclaration {
  if (step instanceof PackagesStep) return { kind: 'packages', name: step.name, packages: [...step.packageNames] };
  if (step instanceof FileStep) return { kind: 'file', name: step.name, path: step.path, mode: step.mode, owner: step.owner };
  if (step instanceof S3FileStep) {
    return { kind: 's3File', name: step.name, path: step.path, bucketName: step.bucketName, objectKey: step.objectKey, extract: step.extract, mode: step.mode, owner: step.owner };
  }
  if (step instanceof EnvironmentStep) return { kind: 'environment', name: step.name, path: step.path };
  if (step instanceof CommandsStep) return { kind: 'commands', name: step.name, lines: step.commandLines.length };
  if (step instanceof ServiceStep) return { kind: 'service', name: step.name, serviceName: step.serviceName, unitPath: `/etc/systemd/system/${step.serviceName}.service` };
  if (step instanceof SecretStep) {
    return {
      kind: 'secret', name: step.name, service: step.source.service, id: step.source.id, jsonField: step.source.jsonField,
      path: step.path, mode: step.mode, owner: step.owner, envVar: step.envVar,
    };
  }
  // addSteps refuses any other step: this is never reached.
  throw new Error(`${step.name}: a boot step of an unknown kind`);
}

/**
 * The instance role as a grantee whose grants land in one given policy (the boot policy)
 * instead of the role's default policy: resource grant helpers (`grantRead`...) add to it.
 */
class PolicyPrincipal implements iam.IPrincipal {
  public readonly grantPrincipal: iam.IPrincipal = this;

  constructor(private readonly role: iam.IRole, private readonly policy: iam.Policy | iam.ManagedPolicy) {}

  public get assumeRoleAction(): string {
    return this.role.assumeRoleAction;
  }

  public get policyFragment(): iam.PrincipalPolicyFragment {
    return this.role.policyFragment;
  }

  public get principalAccount(): string | undefined {
    return this.role.principalAccount;
  }

  public addToPolicy(statement: iam.PolicyStatement): boolean {
    return this.addToPrincipalPolicy(statement).statementAdded;
  }

  public addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }
}
