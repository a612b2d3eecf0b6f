/**
 * The image-bootstrap pattern's contract between the boot script lib/ generates and the tools
 * that read a deployed launch template's user data (local/: the local cloud runs a FleetWorker's
 * agent with the environment file its instances would get, and boots a BootstrappedImage's
 * instances from its declared steps). The file-writing lines and the environment file's format are
 * rendered and parsed here, so that writer and reader cannot drift.
 */
import { defineWorkloadKind, type WorkloadDeclaration, type WorkloadKindContract } from './workload';

/** Single-quotes `value` for bash. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** An absolute path under `$BOOT_ROOT` (empty on an instance, a sandbox in tests), quoted. */
export function bootRootedPath(p: string): string {
  return `"\${BOOT_ROOT}"${shellQuote(p)}`;
}

/** The line that starts writing `p` with a quoted here-document ending at `delimiter`. */
export function heredocOpening(p: string, delimiter: string): string {
  return `cat > ${bootRootedPath(p)} <<'${delimiter}'`;
}

/** The line that drops the newline a here-document adds, for a content without a final one. */
export function heredocTruncation(p: string): string {
  return `truncate -s -1 ${bootRootedPath(p)}`;
}

/** An environment file (`NAME='value'` lines, for systemd's EnvironmentFile and for `. file`). */
export function environmentFileContent(variables: { readonly [name: string]: string }): string {
  return Object.entries(variables).map(([k, v]) => `${k}='${v}'\n`).join('');
}

/** The variables of an environment file written by {@link environmentFileContent}. */
export function parseEnvironmentFile(content: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of content.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)='(.*)'$/.exec(line);
    if (m) variables[m[1]!] = m[2]!;
  }
  return variables;
}

/**
 * The content the boot script `script` writes to `p` with a here-document
 * ({@link heredocOpening}), or undefined when it writes no such file.
 */
export function fileFromBootScript(script: string, p: string): string | undefined {
  const lines = script.split('\n');
  const opening = new RegExp(`^${escapeRegExp(heredocOpening(p, '\u0000')).replace('\u0000', '(BOOT_EOF(?:_\\d+)?)')}$`);
  for (let i = 0; i < lines.length; i++) {
    const delimiter = opening.exec(lines[i]!)?.[1];
    if (delimiter === undefined) continue;
    const end = lines.indexOf(delimiter, i + 1);
    if (end < 0) return undefined;
    const body = lines.slice(i + 1, end).join('\n');
    return lines[end + 1] === heredocTruncation(p) ? body : `${body}\n`;
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A boot step as a BootstrappedImage declares it for the tools that run its instances elsewhere
 * (the local cloud): what the step does, without the contents the boot script already holds.
 * A file's, an environment file's and a unit's content is read from the deployed user data
 * ({@link fileFromBootScript}), so what runs is what was deployed.
 */
export type BootStepDeclaration =
  | { readonly kind: 'packages'; readonly name: string; readonly packages: readonly string[] }
  | { readonly kind: 'file'; readonly name: string; readonly path: string; readonly mode: string; readonly owner: string }
  | {
    readonly kind: 's3File'; readonly name: string; readonly path: string; readonly bucketName: string; readonly objectKey: string;
    readonly extract: boolean; readonly mode: string; readonly owner: string;
  }
  | { readonly kind: 'environment'; readonly name: string; readonly path: string }
  | { readonly kind: 'commands'; readonly name: string; readonly lines: number }
  | { readonly kind: 'service'; readonly name: string; readonly serviceName: string; readonly unitPath: string }
  | {
    readonly kind: 'secret'; readonly name: string; readonly service: 'ssm' | 'secretsmanager'; readonly id: string;
    readonly jsonField?: string; readonly path: string; readonly mode: string; readonly owner: string; readonly envVar?: string;
  };

/**
 * BootstrappedImage's workload declaration, on its launch template: the instances that launch
 * from it boot with these steps. The local cloud boots each instance of every Auto Scaling group
 * that launches from the template (but for a group another workload runs: a FleetWorker's, a
 * WebTier's), in a folder of its own.
 */
export interface BootstrappedImageWorkload extends WorkloadDeclaration<'image-bootstrap/instances', 1> {
  /** Every step, in order. */
  readonly steps: readonly BootStepDeclaration[];
  /** True in bake mode: the steps before the first per-instance step are in the image, not in the user data. */
  readonly baked: boolean;
  /** The instance role: the boot's reads (secrets, S3 objects) and the services run with it. */
  readonly roleArn: string;
  /** The resource the boot signals its result to, when it signals (createAutoScalingGroup's group). */
  readonly signal?: { readonly stackName: string; readonly logicalId: string };
}

/** BootstrappedImage's workload kind: lib/image-bootstrap declares it, local/workloads/bootstrapped-image.ts runs it. */
export const BOOTSTRAPPED_IMAGE_WORKLOAD: WorkloadKindContract<BootstrappedImageWorkload> = defineWorkloadKind<BootstrappedImageWorkload>('image-bootstrap/instances', 1);

/**
 * A status page that a service of a BootstrappedImage group answers on each instance (declared on
 * the group): HTTP GET / over the Unix socket `socket` in the service's runtime directory
 * (systemd's RuntimeDirectory=, /run/<name>), which needs no open port. ImageBootstrapStack's
 * demo declares it; `npm start -- --smoke` asks each instance.
 */
export interface ImageStatusWorkload extends WorkloadDeclaration<'image-bootstrap/status', 1> {
  /** The service's unit name (without `.service`). */
  readonly service: string;
  /** The socket's file name, in the service's runtime directory. */
  readonly socket: string;
}

/** The status page's workload kind. */
export const IMAGE_STATUS_WORKLOAD: WorkloadKindContract<ImageStatusWorkload> = defineWorkloadKind<ImageStatusWorkload>('image-bootstrap/status', 1);
