/**
 * A service fleet: a Node program run as a systemd service on the instances of a
 * BootstrappedImage group. FleetWorker (the worker agent running a job handler) and WebTier (the
 * web server running a request handler) are both one, built here once: the program bundled at
 * synth from the user's `entry` with the runtime's main (or taken prebuilt from
 * `programDirectory`) and shipped as an asset, its environment file, the systemd unit, the image
 * with the user's steps, the Auto Scaling group, and the role and security group to grant and
 * connect to. The props users give are {@link ServiceFleetProps}, the same names on both.
 */
import { Aws, type Duration } from 'aws-cdk-lib/core';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3Assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import {
  AGENT_NODE_MAJOR, AGENT_PROGRAM_FILE, bundleAgentProgram, bundleWebServerProgram, loadEsbuild, webServerMainModule, workerAgentMainModule,
} from '../core/bundling';
import { logGroupRules, type ComputeProps } from '../core/log-groups';
import { programAsset, programSourceRules } from '../core/program-asset';
import { environmentRules } from '../core/rules';
import type { PropRule } from '../core/validation';
import { BootStep, type EnvironmentStep, type ServiceRestart } from './boot-steps';
import { BootstrappedImage, type BootstrappedGroupProps } from './bootstrapped-image';

/** The props of every fleet of instances running a Node program: FleetWorker and WebTier. */
export interface ServiceFleetProps extends ComputeProps {
  /** The VPC the instances run in; they need a way out to AWS APIs over HTTPS. */
  readonly vpc: ec2.IVpc;

  /**
   * Where the instances run.
   *
   * @default - the VPC's default selection: private subnets with egress, else isolated, else public
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The instance type; its architecture picks the Amazon Linux 2023 image.
   *
   * @default ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * The file that exports the handler the program runs: a job handler for a FleetWorker (the
   * same file a LambdaWorker runs), a request handler for a WebTier. It is bundled at synth with
   * esbuild (on this machine, no Docker) together with the worker agent or the web server of the
   * `@cdk-cloud-patterns/runtime` installed in your project into one program. Give either `entry`
   * or `programDirectory`.
   *
   * @default - none; `programDirectory` must be given
   */
  readonly entry?: string;

  /**
   * The name the handler is exported under in `entry`.
   *
   * @default "handler"
   */
  readonly handler?: string;

  /**
   * A directory holding a program already bundled, instead of `entry`: its `index.mjs` runs
   * `runWorkerFromEnv(handler)` (FleetWorker) or `runWebServerFromEnv(handler)` (WebTier) from
   * `@cdk-cloud-patterns/runtime`, and needs nothing but Node.js 22.
   *
   * @default - none; `entry` must be given
   */
  readonly programDirectory?: string;

  /**
   * More environment variables for the program (not secrets: they are in the instances' user
   * data, readable by anyone who may describe the launch template). A composed construct's
   * `environment` (a SessionStore's, a SharedStorage's) goes here as it is.
   *
   * @default - only the construct's own settings
   */
  readonly environment?: { readonly [name: string]: string };

  /**
   * More boot steps, run before the program is installed and started: a package the handler
   * needs (`BootStep.packages('render', ['ImageMagick'])`), a secret it reads.
   *
   * @default - none
   */
  readonly steps?: BootStep[];
}

/** What a construct runs on its fleet (internal): which runtime main, where, under which unit. */
export interface ServiceProgram {
  /** The construct, as messages name it: "FleetWorker" or "WebTier". */
  readonly owner: 'FleetWorker' | 'WebTier';
  /** The runtime's main the program runs: the worker agent or the web server. */
  readonly runtime: 'worker-agent' | 'web-server';
  /** The systemd service (and log stream suffix). */
  readonly serviceName: string;
  /** Where the program is extracted on an instance. */
  readonly directory: string;
  /** Where its environment file is. */
  readonly environmentFile: string;
  /** The unit's description. */
  readonly description: string;
  /** The construct's own settings of the program: names users may not set in `environment`. */
  readonly settings: { readonly [name: string]: string };
  /** Names the construct sets elsewhere (not in `settings`), also closed to users. */
  readonly reservedNames?: readonly string[];
  /** systemd's Restart=. */
  readonly restart: ServiceRestart.ALWAYS | ServiceRestart.ON_FAILURE;
  /** How long systemd waits for the program to stop before SIGKILL. */
  readonly stopTimeout: Duration;
  /** Let instances read their tags from the instance metadata. @default false */
  readonly instanceMetadataTags?: boolean;
}

/** What a service fleet is made of (FleetWorker and WebTier expose each part). */
export interface ServiceFleetParts {
  /** The program (bundled from `entry`, or `programDirectory`), an S3 asset. */
  readonly program: s3Assets.Asset;
  /** The launch template, instance role, security group and log group. */
  readonly image: BootstrappedImage;
  /** The group of instances. */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The instance role: grant it what the handler calls. */
  readonly role: iam.IRole;
  /** The instances' security group. */
  readonly connections: ec2.Connections;
  /** The program's environment, as the instances' environment file holds it. */
  readonly programEnvironment: { readonly [name: string]: string };
  /** The boot step that writes that file. */
  readonly environmentStep: EnvironmentStep;
}

const RUNTIMES = {
  'worker-agent': { handlerKind: 'a job handler', programKind: 'agent', mainModule: workerAgentMainModule, bundle: bundleAgentProgram },
  'web-server': { handlerKind: 'a request handler', programKind: 'server', mainModule: webServerMainModule, bundle: bundleWebServerProgram },
} as const;

/** The checks of {@link ServiceFleetProps} for `program`: one program source, environment names, log group. */
export function serviceFleetRules(props: ServiceFleetProps, program: ServiceProgram): PropRule[] {
  const runtime = RUNTIMES[program.runtime];
  return [
    ...programSourceRules({
      entry: props.entry, handler: props.handler, prebuilt: { prop: 'programDirectory', directory: props.programDirectory },
      handlerKind: runtime.handlerKind, programKind: runtime.programKind,
    }),
    ...environmentRules(props.environment, [...Object.keys(program.settings), ...(program.reservedNames ?? []), 'AWS_REGION'], program.owner),
    ...logGroupRules(props),
  ];
}

/**
 * Builds a service fleet under `scope`, with the ids its constructs always had (`Program`,
 * `Image`, `Group`), so that their logical ids do not move. The caller has checked
 * {@link serviceFleetRules} with its own rules.
 */
export function buildServiceFleet(scope: Construct, props: ServiceFleetProps, program: ServiceProgram, group: BootstrappedGroupProps): ServiceFleetParts {
  const runtime = RUNTIMES[program.runtime];
  const what = `${program.owner} ${scope.node.path}`;
  const exportName = props.handler ?? 'handler';
  // Fails here with one line when esbuild or the runtime is missing, not wrapped in the asset's bundling error.
  if (props.entry !== undefined) loadEsbuild(what, props.entry);
  const asset = programAsset(scope, 'Program', {
    entry: props.entry,
    directory: props.programDirectory,
    exportName,
    runtimeModule: props.entry === undefined ? '' : runtime.mainModule(props.entry, what),
    bundle: (entry, outDir, name) => runtime.bundle(entry, outDir, { exportName: name, what }),
  });

  const programEnvironment: Record<string, string> = { ...props.environment, AWS_REGION: Aws.REGION, ...program.settings };
  const environmentStep = BootStep.environment(`${program.serviceName}-env`, programEnvironment, { path: program.environmentFile });
  const image = new BootstrappedImage(scope, 'Image', {
    vpc: props.vpc,
    instanceType: props.instanceType,
    logRetention: props.logRetention,
    logGroup: props.logGroup,
    logEncryptionKey: props.logEncryptionKey,
    customerManagedPolicies: props.customerManagedPolicies,
    instanceMetadataTags: program.instanceMetadataTags,
    steps: [
      BootStep.packages('nodejs', [`nodejs${AGENT_NODE_MAJOR}`]),
      ...(props.steps ?? []),
      BootStep.fileFromAsset(`${program.serviceName}-program`, { path: program.directory, asset, extract: true }),
      environmentStep,
      BootStep.service(program.serviceName, {
        execStart: `/usr/bin/node-${AGENT_NODE_MAJOR} ${program.directory}/${AGENT_PROGRAM_FILE}`,
        description: program.description,
        environmentFiles: [environmentStep.path],
        restart: program.restart,
        stopTimeout: program.stopTimeout,
      }),
    ],
  });
  const autoScalingGroup = image.createAutoScalingGroup(scope, 'Group', { vpcSubnets: props.vpcSubnets, ...group });
  return {
    program: asset,
    image,
    autoScalingGroup,
    role: image.role,
    connections: new ec2.Connections({ securityGroups: [image.securityGroup] }),
    programEnvironment,
    environmentStep,
  };
}

