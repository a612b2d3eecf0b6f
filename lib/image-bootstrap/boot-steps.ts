/**
 * The typed boot steps of a BootstrappedImage: what an instance needs done to it, in order.
 * A step is plain data (the boot script is generated from it by a pure function), made by the
 * static factories of {@link BootStep}, which exist in every CDK language. Each step has a phase: IMAGE steps may be baked into an AMI,
 * INSTANCE steps run on every instance at boot; secrets are always INSTANCE steps.
 */
import * as path from 'path';
import type { Duration } from 'aws-cdk-lib/core';
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

/** When systemd restarts a service (`Restart=`). */
export enum ServiceRestart {
  /** Whatever way the service stopped. */
  ALWAYS = 'always',
  /** When it exited with an error, was killed by a signal or timed out. */
  ON_FAILURE = 'on-failure',
  /** Never. */
  NO = 'no',
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

/** The kinds of boot step (the class of each is named after it: `PACKAGES` is a {@link PackagesStep}). */
export enum BootStepKind {
  /** {@link PackagesStep}: OS packages installed with dnf. */
  PACKAGES = 'packages',
  /** {@link FileStep}: a file whose content is in the step. */
  FILE = 'file',
  /** {@link S3FileStep}: a file (or an extracted zip archive) downloaded from S3. */
  S3_FILE = 's3File',
  /** {@link EnvironmentStep}: an environment file, exported to later steps. */
  ENVIRONMENT = 'environment',
  /** {@link CommandsStep}: bash commands. */
  COMMANDS = 'commands',
  /** {@link ServiceStep}: a systemd service. */
  SERVICE = 'service',
  /** {@link SecretStep}: a secret or parameter read at boot into a file. */
  SECRET = 'secret',
}

/** Which AWS service a {@link SecretSource} reads from. */
export enum SecretService {
  /** Systems Manager Parameter Store. */
  SSM = 'ssm',
  /** Secrets Manager. */
  SECRETS_MANAGER = 'secretsmanager',
}

/** Options of {@link SecretSource.fromSecret}. */
export interface SecretFieldOptions {
  /**
   * For a secret holding JSON: the field to take.
   *
   * @default - the whole secret string
   */
  readonly jsonField?: string;
}

/**
 * A secret or parameter to read at boot, and how to grant reading it. Made with
 * {@link SecretSource.fromParameter} or {@link SecretSource.fromSecret}.
 */
export abstract class SecretSource {
  /**
   * A Systems Manager parameter (String or SecureString, read with decryption). For a
   * SecureString under a customer-managed key, import it with its key
   * (`ssm.StringParameter.fromSecureStringParameterAttributes(..., { encryptionKey })`) so the
   * grant includes `kms:Decrypt`.
   */
  public static fromParameter(parameter: ssm.IParameter): SecretSource {
    return new (class extends SecretSource {
      public override readonly service = SecretService.SSM;
      public override readonly id = parameter.parameterName;
      public override grantRead(grantee: iam.IGrantable): void {
        parameter.grantRead(grantee);
      }
    })();
  }

  /** A Secrets Manager secret (its string value, or one field of it when it holds JSON). */
  public static fromSecret(secret: secretsmanager.ISecret, options: SecretFieldOptions = {}): SecretSource {
    return new (class extends SecretSource {
      public override readonly service = SecretService.SECRETS_MANAGER;
      // A partial ARN (a secret imported by name) may not resolve: the name does.
      public override readonly id = secret.secretFullArn ?? secret.secretName;
      public override readonly jsonField = options.jsonField;
      public override grantRead(grantee: iam.IGrantable): void {
        secret.grantRead(grantee);
      }
    })();
  }

  /** The service the value is read from. */
  public abstract readonly service: SecretService;
  /** The parameter name, or the secret's ARN or name. */
  public abstract readonly id: string;
  /** For a secret holding JSON: the field to take. */
  public readonly jsonField?: string;

  /** Lets `grantee` read the value (and decrypt it). */
  public abstract grantRead(grantee: iam.IGrantable): void;
}

/**
 * One step of a boot, made with the static factories of this class (`BootStep.packages(...)`,
 * `BootStep.service(...)`...), each returning the step's own class. A step is plain data: the
 * boot script is generated from it by a pure function.
 */
export abstract class BootStep {
  /** The directory of environment files (`BootStep.environment`'s default path is `<this>/<name>.env`). */
  public static readonly ENVIRONMENT_DIRECTORY = '/etc/bootstrap';
  /** The directory of secret files (`BootStep.secret`'s default path is `<this>/<name>`): on tmpfs, root-only listing. */
  public static readonly SECRETS_DIRECTORY = '/run/bootstrap/secrets';
  /** The directory of service logs shipped to CloudWatch Logs (`<this>/<service name>.log`). */
  public static readonly SERVICE_LOGS_DIRECTORY = '/var/log/bootstrap';

  /** Installs OS packages with `dnf install -y`. */
  public static packages(name: string, packages: string[], options: BootStepOptions = {}): PackagesStep {
    return PackagesStep._of(name, packages, options);
  }

  /** Writes a file from text in the step. For large or binary files use {@link BootStep.fileFromAsset}. */
  public static file(name: string, options: FileStepOptions): FileStep {
    return FileStep._of(name, options);
  }

  /** Downloads an asset (bundled into the cloud assembly, uploaded by `cdk deploy`) with the instance role. */
  public static fileFromAsset(name: string, options: AssetFileStepOptions): S3FileStep {
    const { asset, extract, ...rest } = options;
    return BootStep.fileFromS3(name, { ...rest, bucket: asset.bucket, objectKey: asset.s3ObjectKey, extract: extract ?? asset.isZipArchive });
  }

  /** Downloads an S3 object with the instance role (the grant covers that one object). */
  public static fileFromS3(name: string, options: S3FileStepOptions): S3FileStep {
    return S3FileStep._of(name, options);
  }

  /** Writes `variables` to an environment file and exports them to the later steps. */
  public static environment(name: string, variables: { [name: string]: string }, options: EnvironmentStepOptions = {}): EnvironmentStep {
    return EnvironmentStep._of(name, variables, options);
  }

  /** Runs bash commands in a subshell of the boot script; a failing command fails the boot. */
  public static commands(name: string, commands: string[], options: BootStepOptions = {}): CommandsStep {
    return CommandsStep._of(name, commands, options);
  }

  /** Installs a systemd service `<name>.service`, enables it and starts it (and checks it is active) at boot. */
  public static service(name: string, options: ServiceStepOptions): ServiceStep {
    return ServiceStep._of(name, options);
  }

  /**
   * Reads a secret or a parameter at boot with the instance role (the read is granted
   * automatically) into a file, `/run/bootstrap/secrets/<name>` by default. The value is never
   * in user data, the template or the image; the step always runs at boot, also in bake mode.
   */
  public static secret(name: string, source: SecretSource, options: SecretStepOptions = {}): SecretStep {
    return SecretStep._of(name, source, options);
  }

  /** The step's kind. */
  public readonly kind: BootStepKind;
  /** A name for logs and errors: letters, digits, `-` and `_`, unique within an image. */
  public readonly name: string;
  /** The phase given by the user, if any (without one: INSTANCE for secrets and services, IMAGE for the others). */
  public readonly phase?: BootPhase;
  /** Why the step's secret-looking literals are not secrets; turns the secret guard off for it. */
  public readonly notASecret?: string;

  protected constructor(kind: BootStepKind, name: string, options: BootStepOptions) {
    this.kind = kind;
    this.name = name;
    this.phase = options.phase;
    this.notASecret = options.notASecret;
  }
}

/** Installs OS packages with dnf. Made with {@link BootStep.packages}. */
export class PackagesStep extends BootStep {
  /** @internal */
  public static _of(name: string, packages: string[], options: BootStepOptions): PackagesStep {
    return new PackagesStep(name, packages, options);
  }

  /** Package names (a name, optionally with a version: `nodejs22`, `jq-1.7.1`). */
  public readonly packageNames: string[];

  private constructor(name: string, packages: string[], options: BootStepOptions) {
    super(BootStepKind.PACKAGES, name, options);
    this.packageNames = [...packages];
  }
}

/** Writes a file whose content is in the step (and so in user data, the template and the image). Made with {@link BootStep.file}. */
export class FileStep extends BootStep {
  /** @internal */
  public static _of(name: string, options: FileStepOptions): FileStep {
    return new FileStep(name, options);
  }

  /** Absolute path of the file. */
  public readonly path: string;
  /** Its content, written as it is (deploy-time values such as a queue URL may be part of it). */
  public readonly content: string;
  /** Octal mode, e.g. `0644`. */
  public readonly mode: string;
  /** `user:group` that owns it. */
  public readonly owner: string;

  private constructor(name: string, options: FileStepOptions) {
    super(BootStepKind.FILE, name, options);
    this.path = options.path;
    this.content = options.content;
    this.mode = options.mode ?? '0644';
    this.owner = options.owner ?? 'root:root';
  }
}

/**
 * Downloads an object from S3 (an asset) to a file, or extracts a zip archive into a directory.
 * Made with {@link BootStep.fileFromS3} or {@link BootStep.fileFromAsset}.
 */
export class S3FileStep extends BootStep {
  /** @internal */
  public static _of(name: string, options: S3FileStepOptions): S3FileStep {
    return new S3FileStep(name, options);
  }

  /** Absolute path of the file, or of the directory to extract into. */
  public readonly path: string;
  /** The bucket of the object. */
  public readonly bucketName: string;
  /** The key of the object. */
  public readonly objectKey: string;
  /** The object's ARN, for the read grant. */
  public readonly objectArn: string;
  /** Extract the object, a zip archive, into the directory `path` (keeping file modes). */
  public readonly extract: boolean;
  /** Octal mode of the file (or of the directory when extracting). */
  public readonly mode: string;
  /** `user:group` that owns the file (recursively when extracting). */
  public readonly owner: string;

  private constructor(name: string, options: S3FileStepOptions) {
    super(BootStepKind.S3_FILE, name, options);
    const isDir = options.extract ?? false;
    this.path = options.path;
    this.bucketName = options.bucket.bucketName;
    this.objectKey = options.objectKey;
    this.objectArn = options.bucket.arnForObjects(options.objectKey);
    this.extract = isDir;
    this.mode = options.mode ?? (isDir ? '0755' : '0644');
    this.owner = options.owner ?? 'root:root';
  }
}

/**
 * Writes environment variables to a file (usable as a systemd EnvironmentFile) and exports them
 * to later steps. Made with {@link BootStep.environment}.
 */
export class EnvironmentStep extends BootStep {
  /** @internal */
  public static _of(name: string, variables: { [name: string]: string }, options: EnvironmentStepOptions): EnvironmentStep {
    return new EnvironmentStep(name, variables, options);
  }

  /** Absolute path of the environment file. */
  public readonly path: string;
  /** The variables (not secrets: use a secret step for those). */
  public readonly variables: { [name: string]: string };

  private constructor(name: string, variables: { [name: string]: string }, options: EnvironmentStepOptions) {
    super(BootStepKind.ENVIRONMENT, name, options);
    this.path = options.path ?? `${BootStep.ENVIRONMENT_DIRECTORY}/${name}.env`;
    this.variables = { ...variables };
  }
}

/** Runs bash commands, in a subshell of the boot script (with `set -euo pipefail`). Made with {@link BootStep.commands}. */
export class CommandsStep extends BootStep {
  /** @internal */
  public static _of(name: string, commands: string[], options: BootStepOptions): CommandsStep {
    return new CommandsStep(name, commands, options);
  }

  /** The lines of bash to run. */
  public readonly commandLines: string[];

  private constructor(name: string, commands: string[], options: BootStepOptions) {
    super(BootStepKind.COMMANDS, name, options);
    this.commandLines = [...commands];
  }
}

/** Installs a systemd service, enables it and (at boot) starts it. Made with {@link BootStep.service}. */
export class ServiceStep extends BootStep {
  /** @internal */
  public static _of(name: string, options: ServiceStepOptions): ServiceStep {
    return new ServiceStep(name, options);
  }

  /** The unit's name without `.service`. */
  public readonly serviceName: string;
  /** The unit file's content. */
  public readonly unit: string;
  /** The command line, when the unit was built from options. */
  public readonly execStart?: string;
  /** The complete unit file the user gave, if any. */
  public readonly unitFile?: string;
  /** A named user the service runs as, created at boot when missing; undefined with a dynamic user. */
  public readonly user?: string;
  /** The log file the service writes to (shipped to CloudWatch Logs); undefined when it logs to the journal only. */
  public readonly logFile?: string;
  /** The secret steps whose files the unit loads as systemd credentials. */
  public readonly credentials: SecretStep[];
  /** @internal The unit options given besides `unitFile` (which a complete unit file cannot take). */
  public readonly _unitOptions: string[];
  /** @internal The user-given parts of the unit, which the secret guard checks (the generated parts are known to be clean). */
  public readonly _userText: string[];

  private constructor(name: string, options: ServiceStepOptions) {
    super(BootStepKind.SERVICE, name, options);
    const logFile = options.unitFile === undefined && (options.logToCloudWatch ?? true)
      ? `${BootStep.SERVICE_LOGS_DIRECTORY}/${name}.log`
      : undefined;
    const credentials = [...(options.credentials ?? [])];
    this.serviceName = name;
    this.execStart = options.execStart;
    this.unitFile = options.unitFile;
    this.user = options.user;
    this.logFile = logFile;
    this.credentials = credentials;
    this._unitOptions = (['execStart', 'description', 'user', 'environmentFiles', 'environment', 'workingDirectory', 'credentials', 'restart', 'stopTimeout'] as const)
      .filter((k) => options[k] !== undefined);
    this._userText = [
      options.execStart, options.unitFile, options.description, options.workingDirectory,
      ...(options.environmentFiles ?? []),
      ...Object.entries(options.environment ?? {}).map(([k, v]) => `${k}=${v}`),
    ].filter((t): t is string => t !== undefined);
    this.unit = options.unitFile ?? renderUnit(name, options, logFile, credentials);
  }
}

/**
 * Reads a secret or a parameter at boot into a file (on tmpfs by default), never into the
 * template or the image. Made with {@link BootStep.secret}.
 */
export class SecretStep extends BootStep {
  /** @internal */
  public static _of(name: string, source: SecretSource, options: SecretStepOptions): SecretStep {
    return new SecretStep(name, source, options);
  }

  /** Where the value comes from. */
  public readonly source: SecretSource;
  /** Absolute path of the file the value is written to. */
  public readonly path: string;
  /** Octal mode of the file. */
  public readonly mode: string;
  /** `user:group` that owns the file. */
  public readonly owner: string;
  /** Also export the value to later steps of the boot script under this name. */
  public readonly envVar?: string;

  private constructor(name: string, source: SecretSource, options: SecretStepOptions) {
    super(BootStepKind.SECRET, name, { phase: BootPhase.INSTANCE });
    this.source = source;
    this.path = options.path ?? `${BootStep.SECRETS_DIRECTORY}/${name}`;
    this.mode = options.mode ?? '0400';
    this.owner = options.owner ?? 'root:root';
    this.envVar = options.envVar;
  }
}

/** Every kind of step, one function each (internal: the renderers and rules go through {@link visitStep}). */
export interface BootStepVisitor<T> {
  readonly packages: (step: PackagesStep) => T;
  readonly file: (step: FileStep) => T;
  readonly s3File: (step: S3FileStep) => T;
  readonly environment: (step: EnvironmentStep) => T;
  readonly commands: (step: CommandsStep) => T;
  readonly service: (step: ServiceStep) => T;
  readonly secret: (step: SecretStep) => T;
}

/** True for a step made by {@link BootStep}'s factories (a subclass of users' own is not one the script can render). */
export function isKnownStep(step: BootStep): boolean {
  return step instanceof PackagesStep || step instanceof FileStep || step instanceof S3FileStep || step instanceof EnvironmentStep ||
    step instanceof CommandsStep || step instanceof ServiceStep || step instanceof SecretStep;
}

/** Calls the visitor's function for the step's kind. */
export function visitStep<T>(step: BootStep, visitor: BootStepVisitor<T>): T {
  if (step instanceof PackagesStep) return visitor.packages(step);
  if (step instanceof FileStep) return visitor.file(step);
  if (step instanceof S3FileStep) return visitor.s3File(step);
  if (step instanceof EnvironmentStep) return visitor.environment(step);
  if (step instanceof CommandsStep) return visitor.commands(step);
  if (step instanceof ServiceStep) return visitor.service(step);
  if (step instanceof SecretStep) return visitor.secret(step);
  throw new Error(`boot step "${step.name}" (${step.kind}) was not made by BootStep's factories`);
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
  /** `Restart=`. @default ServiceRestart.ON_FAILURE */
  readonly restart?: ServiceRestart;
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

/** The phase a step has when the user gave none. */
export function defaultPhase(step: BootStep): BootPhase {
  return step.kind === BootStepKind.SECRET || step.kind === BootStepKind.SERVICE ? BootPhase.INSTANCE : BootPhase.IMAGE;
}

/** The phase of a step, given or default. */
export function effectivePhase(step: BootStep): BootPhase {
  return step.phase ?? defaultPhase(step);
}

/**
 * Splits the steps for bake mode: the image holds the steps before the first INSTANCE step,
 * the boot runs that one and all after it, so both modes run the steps in the same order.
 */
export function splitForBake(steps: readonly BootStep[]): { readonly image: BootStep[]; readonly instance: BootStep[] } {
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
    `Restart=${options.restart ?? ServiceRestart.ON_FAILURE}`,
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
