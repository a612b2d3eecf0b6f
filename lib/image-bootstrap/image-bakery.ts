/**
 * ImageBakery: the EC2 Image Builder half of a BootstrappedImage in bake mode. The image part of
 * the boot steps becomes one component; a recipe puts it on Amazon Linux 2023 (resolved by Image
 * Builder at each build from the public SSM parameter); a pipeline rebuilds on demand or on a
 * schedule; and every build publishes its AMI id to an SSM parameter through the distribution
 * configuration, which the launch template resolves at launch (`resolve:ssm:`). The first image
 * is built while the stack deploys, so the parameter exists before any instance launches.
 *
 * Image Builder components and recipes are immutable name+version pairs, so their names carry a
 * hash of their content: a change of steps makes new ones (CloudFormation replaces them) instead
 * of failing on an existing version.
 */
import * as crypto from 'crypto';
import { Aws, Lazy, Names, Stack, Validations } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as imagebuilder from 'aws-cdk-lib/aws-imagebuilder';
import { Construct } from 'constructs';
import { markGuarded } from './secret-guard';

/** Properties of an {@link ImageBakery} (BootstrappedImage makes one from its `bake` options). */
export interface ImageBakeryProps {
  /** The VPC of the build instance. */
  readonly vpc: ec2.IVpc;
  /** Where in the VPC the build instance runs; it needs a way out to the internet (dnf, SSM). */
  readonly subnetSelection: ec2.SubnetSelection;
  /** Instance types of the build instance (same architecture as the image). */
  readonly instanceTypes: ec2.InstanceType[];
  /** The parent image: an AMI id, an Image Builder image ARN, or `ssm:<parameter name>`. */
  readonly parentImage: string;
  /** Size of the root volume of the image, in GiB. */
  readonly rootVolumeSize: number;
  /** The component document (YAML) that bakes the image part of the steps. */
  readonly componentDocument: string;
  /** The SSM parameter every build publishes its AMI id to. */
  readonly amiParameterName: string;
  /** A cron expression of Image Builder; builds run only when the parent image or the component changed. */
  readonly schedule?: string;
  /** Build the first image while the stack deploys. */
  readonly buildOnDeploy: boolean;
}

/** The Image Builder resources that bake the image part of a BootstrappedImage's steps into an AMI. */
export class ImageBakery extends Construct {
  /** The role of the build instance (SSM-managed, as Image Builder requires). */
  public readonly buildRole: iam.Role;
  /** The security group of the build instance: no inbound rule, outbound HTTPS only. */
  public readonly buildSecurityGroup: ec2.SecurityGroup;
  /** The component that runs the image part of the boot script. */
  public readonly component: imagebuilder.CfnComponent;
  /** The recipe: the parent image, the component and an encrypted gp3 root volume. */
  public readonly recipe: imagebuilder.CfnImageRecipe;
  /** Where builds run. */
  public readonly infrastructure: imagebuilder.CfnInfrastructureConfiguration;
  /** Names each AMI and publishes its id to {@link amiParameterName}. */
  public readonly distribution: imagebuilder.CfnDistributionConfiguration;
  /** Rebuilds the image on demand (`aws imagebuilder start-image-pipeline-execution`) or on the schedule. */
  public readonly pipeline: imagebuilder.CfnImagePipeline;
  /** The image built while the stack deploys; undefined when `buildOnDeploy` is false. */
  public readonly image?: imagebuilder.CfnImage;
  /** The SSM parameter that holds the id of the newest AMI. */
  public readonly amiParameterName: string;

  constructor(scope: Construct, id: string, props: ImageBakeryProps) {
    super(scope, id);
    this.amiParameterName = props.amiParameterName;
    const base = Names.uniqueResourceName(this, { maxLength: 90, separator: '-' });
    const stack = Stack.of(this);
    const hashOf = (value: unknown) => crypto.createHash('sha256').update(JSON.stringify(stack.resolve(value))).digest('hex').slice(0, 10);

    this.buildRole = new iam.Role(this, 'BuildRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Build instance of ${this.node.path} (EC2 Image Builder)`,
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore'),
        iam.ManagedPolicy.fromAwsManagedPolicyName('EC2InstanceProfileForImageBuilder'),
      ],
    });
    Validations.of(this.buildRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'EC2 Image Builder runs components on the build instance through SSM Run Command, which needs this policy; the role belongs to short-lived build instances only, never to the fleet.',
    }, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/EC2InstanceProfileForImageBuilder]',
      reason: 'The policy EC2 Image Builder documents for its build instances (component downloads, build logs); the role belongs to short-lived build instances only.',
    });
    const profile = new iam.CfnInstanceProfile(this, 'BuildInstanceProfile', { roles: [this.buildRole.roleName] });

    this.buildSecurityGroup = new ec2.SecurityGroup(this, 'BuildSecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'Image Builder build instances: no inbound rule, outbound HTTPS only',
    });
    this.buildSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and the Amazon Linux repositories');

    const componentHash = Lazy.string({ produce: () => hashOf(props.componentDocument) });
    this.component = new imagebuilder.CfnComponent(this, 'Component', {
      name: `${base}-${componentHash}`,
      version: '1.0.0',
      platform: 'Linux',
      supportedOsVersions: ['Amazon Linux 2023'],
      description: `Boot steps of ${scope.node.path} that are baked into the image`,
      data: props.componentDocument,
    });
    markGuarded(this.component);

    const blockDeviceMappings = [{
      deviceName: '/dev/xvda',
      ebs: { encrypted: true, volumeType: 'gp3', volumeSize: props.rootVolumeSize, deleteOnTermination: true },
    }];
    const recipeHash = Lazy.string({ produce: () => hashOf([props.componentDocument, props.parentImage, blockDeviceMappings]) });
    this.recipe = new imagebuilder.CfnImageRecipe(this, 'Recipe', {
      name: `${base}-${recipeHash}`,
      version: '1.0.0',
      parentImage: props.parentImage,
      components: [{ componentArn: this.component.attrArn }],
      blockDeviceMappings,
      description: `Amazon Linux 2023 with the image part of the boot steps of ${scope.node.path}`,
    });

    const subnets = props.vpc.selectSubnets(props.subnetSelection);
    this.infrastructure = new imagebuilder.CfnInfrastructureConfiguration(this, 'Infrastructure', {
      name: base,
      description: `Build instances of ${scope.node.path}`,
      instanceProfileName: profile.ref,
      instanceTypes: props.instanceTypes.map((t) => t.toString()),
      subnetId: subnets.subnetIds[0],
      securityGroupIds: [this.buildSecurityGroup.securityGroupId],
      terminateInstanceOnFailure: true,
      instanceMetadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 },
    });

    this.distribution = new imagebuilder.CfnDistributionConfiguration(this, 'Distribution', {
      name: base,
      description: `Publishes each AMI of ${scope.node.path} to ${props.amiParameterName}`,
      distributions: [{
        region: Aws.REGION,
        // Untyped in the L1 (passed as it is), hence CloudFormation's casing.
        amiDistributionConfiguration: { Name: `${base}-{{ imagebuilder:buildDate }}` },
        ssmParameterConfigurations: [{ parameterName: props.amiParameterName, dataType: 'aws:ec2:image' }],
      }],
    });

    const arns = {
      imageRecipeArn: this.recipe.attrArn,
      infrastructureConfigurationArn: this.infrastructure.attrArn,
      distributionConfigurationArn: this.distribution.attrArn,
    };
    this.pipeline = new imagebuilder.CfnImagePipeline(this, 'Pipeline', {
      name: base,
      description: `Rebuilds the image of ${scope.node.path}`,
      ...arns,
      status: 'ENABLED',
      enhancedImageMetadataEnabled: true,
      schedule: props.schedule === undefined
        ? undefined
        : { scheduleExpression: props.schedule, pipelineExecutionStartCondition: 'EXPRESSION_MATCH_AND_DEPENDENCY_UPDATES_AVAILABLE' },
    });
    if (props.buildOnDeploy) {
      this.image = new imagebuilder.CfnImage(this, 'Image', { ...arns, enhancedImageMetadataEnabled: true });
      // The build reads the baked steps' assets with the build role's grants.
      this.image.node.addDependency(this.buildRole);
    }
  }
}
