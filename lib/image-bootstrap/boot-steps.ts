/**
 * The typed boot steps of a BootstrappedImage: what an instance needs done to it, in order.
 * A step is plain data (the boot script is generated from it by a pure function), made by the
 * factories of {@link BootStep}. Each step has a phase: IMAGE steps may be baked into an AMI,
 * INSTANCE steps run on every instance at boot; secrets are always INSTANCE steps.
 */
import * as path from 'path';
import type { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as s3Assets from 'aws-cdk-lib/aws-s3-assets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as ssm from 'aws-cdk-lib/aws-ssm';

/** When a step runs, in bake mode (in boot mode every step runs at boot, in order). */
export enum BootPhase {
  /** Baked into the image in bake mode: installs and files that are the same on every instance. */
  IMAGE = 'IMAGE',
  /** Runs at every instance's boot, in both modes: secrets, per-deployment settings, starting services. */
  INSTANCE = 'INSTANCE',
}

/** Options every step takes. */
export interface BootStepOptions {
  /**
   * When the step runs in bake mode. The image holds every step up to the first INSTANCE step;
   * that step and every step after it run at boot, so the order is the same in both modes.
   * An explicit IMAGE after an INSTANCE step is an error.
   *
   * @default - BootPhase.INSTANCE for secrets and services, BootPhase.IMAGE for the others
   */
  readonly phase?: BootPhase;

  /**
   * Why the literals of this step that look like a secret are not one (for example an example
   * key from the AWS documentation). Turns the secret guard off for this step only.
   *
   * @default - the secret guard checks the step
   */
  readonly notASecret?: string;
}

/** What every step carries. */
export interface BootStepBase {
  /** The step's kind. */
  readonly kind: BootStepKind;
  /** A name for logs and errors: letters, digits, `-` and `_`, unique within an image. */
  readonly name: string;
  /** The phase given by the user, if any; see {@link effectivePhase}. */
  readonly phase?: BootPhase;
  /** Why the step's secret-looking literals are not secrets; turns the secret guard off for it. */
  readonly notASecret?: string;
}

/** The kinds of boot step. */
export type BootStepKind = 'packages' | 'file' | 's3File' | 'environment' | 'commands' | 'service' | 'secret';

/** Installs OS packages with dnf. */
export interface PackagesStep extends BootStepBase {
  readonly kind: 'packages';
  /** Package names (a name, optionally with a version: `nodejs22`, `jq-1.7.1`). */
  readonly packages: readonly string[];
}

/** Writes a file whose content is in the step (and so in user data, the template and the image). */
export interface FileStep extends BootStepBase {
  readonly kind: 'file';
  /** Absolute path of the file. */
  readonly path: string;
  /** Its content, written as it is (deploy-time values such as a queue URL may be part of it). */
  readonly content: string;
  /** Octal mode, e.g. `0644`. */
  readonly mode: string;
  /** `user:group` that owns it. */
  readonly owner: string;
}

/** Downloads an object from S3 (an asset) to a file, or extracts a zip archive into a directory. */
export interface S3FileStep extends BootStepBase {
  readonly kind: 's3File';
  /** Absolute path of the file, or of the directory to extract into. */
  readonly path: string;
  /** The bucket of the object. */
  readonly bucketName: string;
  /** The key of the object. */
  readonly objectKey: string;
  /** The object's ARN, for the read grant. */
  readonly objectArn: string;
  /** Extract the object, a zip archive, into the directory `path` (keeping file modes). */
  readonly extract: boolean;
  /** Octal mode of the file (or of the directory when extracting). */
  readonly mode: string;
  /** `user:group` that owns the file (recursively when extracting). */
  readonly owner: string;
}

/** Writes environment variables to a file (usable as a systemd EnvironmentFile) and exports them to later steps. */
export interface EnvironmentStep extends BootStepBase {
  readonly kind: 'environment';
  /** Absolute path of the environment file. */
  readonly path: string;
  /** The variables (not secrets: use a secret step for those). */
  readonly variables: { readonly [name: string]: string };
}

/** Runs bash commands, in a subshell of the boot script (with `set -euo pipefail`). */
export interface CommandsStep extends BootStepBase {
  readonly kind: 'commands';
  /** The lines of bash to run. */
  readonly commands: readonly string[];
}

/** Installs a systemd service, enables it and (at boot) starts it. */
export interface ServiceStep extends BootStepBase {
  readonly kind: 'service';
  /** The unit's name without `.service`. */
  readonly serviceName: string;
  /** The unit file's content. */
  readonly unit: string;
  /** The command line, when the unit was built from options. */
  readonly execStart?: string;
  /** The complete unit file the user gave, if any. */
  readonly unitFile?: string;
  /** The unit options given besides `unitFile` (which a complete unit file cannot take). */
  readonly unitOptions: readonly string[];
  /** The user-given parts of the unit, which the secret guard checks (the generated parts are known to be clean). */
  readonly userText: readonly string[];
  /** A named user the service runs as, created at boot when missing; undefined with a dynamic user. */
  readonly user?: string;
  /** The log file the service writes to (shipped to CloudWatch Logs); undefined when it logs to the journal only. */
  readonly logFile?: string;
  /** The secret steps whose files the unit loads as systemd credentials. */
  readonly credentials: readonly SecretStep[];
}

/** Where a secret (or a parameter) is read from at boot, with the instance role. */
export interface SecretReference {
  /** `ssm` for Parameter Store, `secretsmanager` for Secrets Manager. */
  readonly service: 'ssm' | 'secretsmanager';
  /** The parameter name, or the secret's ARN or name. */
  readonly id: string;
  /** For a secret holding JSON: the field to take. */
  readonly jsonField?: string;
}

/** Reads a secret or a parameter at boot into a file (on tmpfs by default), never into the template or the image. */
export interface SecretStep extends BootStepBase {
  readonly kind: 'secret';
  /** Where the value comes from. */
  readonly source: SecretSource;
  /** Absolute path of the file the value is written to. */
  readonly path: string;
  /** Octal mode of the file. */
  readonly mode: string;
  /** `user:group` that owns the file. */
  readonly owner: string;
  /** Also export the value to later steps of the boot script under this name. */
  readonly envVar?: string;
}

/** One step of a boot: see the factories of {@link BootStep}. */
export type BootStep = PackagesStep | FileStep | S3FileStep | EnvironmentStep | CommandsStep | ServiceStep | SecretStep;

/**
 * A secret or parameter to read at boot, and how to grant reading it. Made with
 * {@link SecretSource.fromParameter} or {@link SecretSource.fromSecret}.
 */
export abstract class SecretSource implements SecretReference {
  /**
   * A Systems Manager parameter (String or SecureString, read with decryption). For a
   * SecureString under a customer-managed key, import it with its key
   * (`ssm.StringParameter.fromSecureStringParameterAttributes(..., { encryptionKey })`) so the
   * grant includes `kms:Decrypt`.
   */
  public static fromParameter(parameter: ssm.IParameter): SecretSource {
    return new (class extends SecretSource {
      public override readonly service = 'ssm' as const;
      public override readonly id = parameter.parameterName;
      public override grantRead(grantee: iam.IGrantable): void {
        parameter.grantRead(grantee);
      }
    })();
  }

  /** A Secrets Manager secret (its string value, or one field of it when it holds JSON). */
  public static fromSecret(secret: secretsmanager.ISecret, options: { readonly jsonField?: string } = {}): SecretSource {
    return new (class extends SecretSource {
      public override readonly service = 'secretsmanager' as const;
      // A partial ARN (a secret imported by name) may not resolve: the name does.
      public override readonly id = secret.secretFullArn ?? secret.secretName;
      public override readonly jsonField = options.jsonField;
      public override grantRead(grantee: iam.IGrantable): void {
        secret.grantRead(grantee);
      }
    })();
  }

  public abstract readonly service: 'ssm' | 'secretsmanager';
  public abstract readonly id: string;
  public readonly jsonField?: string;

  /** Lets `grantee` read the value (and decrypt it). */
  public abstract grantRead(grantee: iam.IGrantable): void;
}

/** Options of {@link BootStep.file}. */
export interface FileStepOptions extends BootStepOptions {
  /** Absolute path of the file. */
  readonly path: string;
  /** Its content. Never a secret: the secret guard fails the synth when it looks like one. */
  readonly content: string;
  /** @default '0644' */
  readonly mode?: string;
  /** @default 'root:root' */
  readonly owner?: string;
}

/** Options of {@link BootStep.fileFromAsset}. */
export interface AssetFileStepOptions extends BootStepOptions {
  /** Absolute path of the file, or of the directory a zip asset is extracted into. */
  readonly path: string;
  /** The asset (a file, or a directory, which CDK zips). */
  readonly asset: s3Assets.Asset;
  /**
   * Extract the asset into the directory `path`.
   *
   * @default - true for a directory asset (a zip archive), false for a file asset
   */
  readonly extract?: boolean;
  /** @default - '0644' for a file, '0755' for a directory */
  readonly mode?: string;
  /** @default 'root:root' */
  readonly owner?: string;
}

/** Options of {@link BootStep.fileFromS3}. */
export interface S3FileStepOptions extends BootStepOptions {
  /** Absolute path of the file, or of the directory a zip archive is extracted into. */
  readonly path: string;
  /** The bucket. */
  readonly bucket: s3.IBucket;
  /** The object's key. */
  readonly objectKey: string;
  /** Extract the object (a zip archive) into the directory `path`. @default false */
  readonly extract?: boolean;
  /** @default - '0644' for a file, '0755' for a directory */
  readonly mode?: string;
  /** @default 'root:root' */
  readonly owner?: string;
}

/** Options of {@link BootStep.environment}. */
export interface EnvironmentStepOptions extends BootStepOptions {
  /** @default - `/etc/bootstrap/<name>.env` */
  readonly path?: string;
}

/** Options of {@link BootStep.service}. */
export interface ServiceStepOptions extends BootStepOptions {
  /** The command line (`ExecStart=`); give either this or `unitFile`. @default - none; `unitFile` must be given */
  readonly execStart?: string;
  /** A complete unit file instead of the options below. @default - a unit built from the options */
  readonly unitFile?: string;
  /** @default - "<name> (installed at boot by cdk-cloud-patterns)" */
  readonly description?: string;
  /**
   * A named user to run as, created at boot as a system user when missing.
   *
   * @default - a dynamic user (systemd `DynamicUser=yes`): no login, no writes outside its own directories
   */
  readonly user?: string;
  /** Environment files (`EnvironmentFile=`), e.g. the path of an environment step. @default - none */
  readonly environmentFiles?: string[];
  /** Environment variables of the service (not secrets). @default - none */
  readonly environment?: { readonly [name: string]: string };
  /** @default - the service user's default */
  readonly workingDirectory?: string;
  /**
   * Secret steps whose files the service reads as systemd credentials (`LoadCredential=`: the
   * file `$CREDENTIALS_DIRECTORY/<step name>`, readable by the service user only). They must come
   * before the service.
   *
   * @default - none
   */
  readonly credentials?: SecretStep[];
  /** `Restart=`. @default 'on-failure' */
  readonly restart?: 'always' | 'on-failure' | 'no';
  /** How long systemd waits after SIGTERM before SIGKILL (`TimeoutStopSec=`). @default - systemd's default (90 s) */
  readonly stopTimeout?: Duration;
  /**
   * Append the service's output to `/var/log/bootstrap/<name>.log`, which is shipped to the
   * image's boot log group and rotated daily.
   *
   * @default true
   */
  readonly logToCloudWatch?: boolean;
}

/** Options of {@link BootStep.secret}. */
export interface SecretStepOptions {
  /** @default - `/run/bootstrap/secrets/<name>` (tmpfs: the value never reaches a disk) */
  readonly path?: string;
  /** @default '0400' */
  readonly mode?: string;
  /** @default 'root:root' */
  readonly owner?: string;
  /** Also export the value to the later steps of the boot script under this name. @default - not exported */
  readonly envVar?: string;
}

/** Where steps put their files unless told otherwise. */
export const BOOT_DEFAULT_PATHS = {
  /** Directory of environment files. */
  environment: '/etc/bootstrap',
  /** Directory of secret files: on tmpfs, root-only listing. */
  secrets: '/run/bootstrap/secrets',
  /** Directory of service logs shipped to CloudWatch Logs. */
  serviceLogs: '/var/log/bootstrap',
} as const;

/**
 * The factories of the boot steps (a value with the name of the {@link BootStep} type, so that
 * `BootStep.packages(...)` makes a `BootStep`).
 */
export const BootStep = {
  /** Installs OS packages with `dnf install -y`. */
  packages(name: string, packages: string[], options: BootStepOptions = {}): PackagesStep {
    return { kind: 'packages', name, packages: [...packages], ...options };
  },

  /** Writes a file from text in the step. For large or binary files use {@link BootStep.fileFromAsset}. */
  file(name: string, options: FileStepOptions): FileStep {
    const { path: filePath, content, mode, owner, ...common } = options;
    return { kind: 'file', name, path: filePath, content, mode: mode ?? '0644', owner: owner ?? 'root:root', ...common };
  },

  /** Downloads an asset (bundled into the cloud assembly, uploaded by `cdk deploy`) with the instance role. */
  fileFromAsset(name: string, options: AssetFileStepOptions): S3FileStep {
    const { asset, extract, ...rest } = options;
    return BootStep.fileFromS3(name, { ...rest, bucket: asset.bucket, objectKey: asset.s3ObjectKey, extract: extract ?? asset.isZipArchive });
  },

  /** Downloads an S3 object with the instance role (the grant covers that one object). */
  fileFromS3(name: string, options: S3FileStepOptions): S3FileStep {
    const { path: filePath, bucket, objectKey, extract, mode, owner, ...common } = options;
    const isDir = extract ?? false;
    return {
      kind: 's3File',
      name,
      path: filePath,
      bucketName: bucket.bucketName,
      objectKey,
      objectArn: bucket.arnForObjects(objectKey),
      extract: isDir,
      mode: mode ?? (isDir ? '0755' : '0644'),
      owner: owner ?? 'root:root',
      ...common,
    };
  },

  /** Writes `variables` to an environment file and exports them to the later steps. */
  environment(name: string, variables: { [name: string]: string }, options: EnvironmentStepOptions = {}): EnvironmentStep {
    const { path: filePath, ...common } = options;
    return { kind: 'environment', name, path: filePath ?? `${BOOT_DEFAULT_PATHS.environment}/${name}.env`, variables: { ...variables }, ...common };
  },

  /** Runs bash commands in a subshell of the boot script; a failing command fails the boot. */
  commands(name: string, commands: string[], options: BootStepOptions = {}): CommandsStep {
    return { kind: 'commands', name, commands: [...commands], ...options };
  },

  /** Installs a systemd service `<name>.service`, enables it and starts it (and checks it is active) at boot. */
  service(name: string, options: ServiceStepOptions): ServiceStep {
    const logFile = options.unitFile === undefined && (options.logToCloudWatch ?? true)
      ? `${BOOT_DEFAULT_PATHS.serviceLogs}/${name}.log`
      : undefined;
    const credentials = options.credentials ?? [];
    const userText = [
      options.execStart, options.unitFile, options.description, options.workingDirectory,
      ...(options.environmentFiles ?? []),
      ...Object.entries(options.environment ?? {}).map(([k, v]) => `${k}=${v}`),
    ].filter((t): t is string => t !== undefined);
    const unitOptions = (['execStart', 'description', 'user', 'environmentFiles', 'environment', 'workingDirectory', 'credentials', 'restart', 'stopTimeout'] as const)
      .filter((k) => options[k] !== undefined);
    return {
      kind: 'service',
      name,
      serviceName: name,
      execStart: options.execStart,
      unitFile: options.unitFile,
      unitOptions,
      unit: options.unitFile ?? renderUnit(name, options, logFile, credentials),
      userText,
      user: options.user,
      logFile,
      credentials,
      phase: options.phase,
      notASecret: options.notASecret,
    };
  },

  /**
   * Reads a secret or a parameter at boot with the instance role (the read is granted
   * automatically) into a file, `/run/bootstrap/secrets/<name>` by default. The value is never
   * in user data, the template or the image; the step always runs at boot, also in bake mode.
   */
  secret(name: string, source: SecretSource, options: SecretStepOptions = {}): SecretStep {
    return {
      kind: 'secret',
      name,
      source,
      path: options.path ?? `${BOOT_DEFAULT_PATHS.secrets}/${name}`,
      mode: options.mode ?? '0400',
      owner: options.owner ?? 'root:root',
      envVar: options.envVar,
      phase: BootPhase.INSTANCE,
    };
  },
};

/** The phase a step has when the user gave none. */
export function defaultPhase(step: BootStep): BootPhase {
  return step.kind === 'secret' || step.kind === 'service' ? BootPhase.INSTANCE : BootPhase.IMAGE;
}

/** The phase of a step, given or default. */
export function effectivePhase(step: BootStep): BootPhase {
  return step.phase ?? defaultPhase(step);
}

/**
 * Splits the steps for bake mode: the image holds the steps before the first INSTANCE step,
 * the boot runs that one and all after it, so both modes run the steps in the same order.
 */
export function splitForBake(steps: readonly BootStep[]): { readonly image: readonly BootStep[]; readonly instance: readonly BootStep[] } {
  const first = steps.findIndex((s) => effectivePhase(s) === BootPhase.INSTANCE);
  const at = first === -1 ? steps.length : first;
  return { image: steps.slice(0, at), instance: steps.slice(at) };
}

/** A systemd unit for {@link BootStep.service}. */
function renderUnit(name: string, options: ServiceStepOptions, logFile: string | undefined, credentials: readonly SecretStep[]): string {
  const lines = [
    '[Unit]',
    `Description=${options.description ?? `${name} (installed at boot by cdk-cloud-patterns)`}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${options.execStart ?? ''}`,
    `Restart=${options.restart ?? 'on-failure'}`,
    'RestartSec=5',
    options.user === undefined ? 'DynamicUser=yes' : `User=${options.user}`,
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    ...(options.workingDirectory ? [`WorkingDirectory=${options.workingDirectory}`] : []),
    ...(options.environmentFiles ?? []).map((f) => `EnvironmentFile=${f}`),
    ...Object.entries(options.environment ?? {}).map(([k, v]) => `Environment="${systemdEscape(`${k}=${v}`)}"`),
    ...credentials.map((c) => `LoadCredential=${c.name}:${c.path}`),
    ...(options.stopTimeout ? [`TimeoutStopSec=${options.stopTimeout.toSeconds()}`] : []),
    ...(logFile ? [`StandardOutput=append:${logFile}`, 'StandardError=inherit'] : []),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}

/** Escapes a value for a double-quoted systemd setting (`%` is a specifier, `\` and `"` need escaping). */
function systemdEscape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
}

/** The parent directory of an absolute path. */
export function parentDir(filePath: string): string {
  return path.posix.dirname(filePath);
}
