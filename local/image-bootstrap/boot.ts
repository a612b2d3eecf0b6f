/**
 * The boot of one BootstrappedImage instance on this machine: the declared steps, in order, in a
 * folder of the instance's own (its root: every path a step writes is under it), with the
 * contents the deployed user data holds (files, environment files, units), as the generated boot
 * script does them on an instance:
 *
 * - packages are checked on this machine and reported, never installed;
 * - files and environment files are written with their modes (owners are not applied: everything
 *   runs as you);
 * - S3 objects are downloaded (a zip extracted, keeping its files' modes) and secrets read, both
 *   with the instance role's credentials (STS AssumeRole); secrets land in a private folder
 *   (0700) with their mode;
 * - services run as supervised processes (local/image-bootstrap/service.ts), each checked to be
 *   running as `systemctl is-active` checks it;
 * - commands steps are not run: arbitrary bash could change this machine, where the boot script
 *   changes an instance made for it. They are reported.
 *
 * A failing step ends the boot there, as the script's `set -e` does, with the step and why. The
 * boot log is the instance's /var/log/bootstrap.log.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { fileFromBootScript, type BootStepDeclaration } from '../../contracts/image-bootstrap';
import { QUIET_SDK_ENV } from '../deploy';
import { LOCAL_AWS_ENV } from '../moto';
import { extractZip } from '../zip';
import { readParameter, readSecret, type RoleCredentials } from './instance-role';
import { LocalService, localCommand } from './service';
import { parseServiceUnit } from './unit';

/** Where the boot script writes its log on an instance (here: under the instance's folder). */
export const LOCAL_BOOT_LOG = '/var/log/bootstrap.log';

/** Options of {@link bootInstance}. */
export interface InstanceBootOptions {
  readonly instanceId: string;
  /** The instance's folder (its `/`). */
  readonly root: string;
  readonly steps: readonly BootStepDeclaration[];
  /** The deployed boot script (the launch template's user data, decoded). */
  readonly userData: string;
  /** The embedded AWS. */
  readonly endpoint: string;
  /** The instance role's credentials. */
  readonly credentials: RoleCredentials;
  /** Each line a service writes. */
  readonly onServiceLine?: (service: string, line: string) => void;
  /** Told when a service ends, and what follows. */
  readonly onServiceExit?: (service: string, why: string, next: 'restart' | 'failed' | 'stopped' | 'done') => void;
  /** How long a started service must keep running to count as active. @default 200 (ms) */
  readonly activeAfterMs?: number;
}

/** A package step's package, as found on this machine. */
export interface CheckedPackage {
  readonly name: string;
  /** Where or which version this machine has it; undefined when it has not. */
  readonly found?: string;
}

/** What a boot did. */
export interface BootResult {
  readonly instanceId: string;
  readonly ok: boolean;
  /** Steps done, of `steps.length`. */
  readonly stepsDone: number;
  /** The step that failed (1-based number, name) and why. */
  readonly failed?: { readonly step: number; readonly name: string; readonly error: string };
  readonly ms: number;
  readonly services: readonly LocalService[];
  readonly packages: readonly CheckedPackage[];
  /** The commands steps, not run (`name (n lines)`). */
  readonly commandsNotRun: readonly string[];
  /** What was not applied as on an instance: owners, unit directives. */
  readonly notApplied: readonly string[];
}

/** Where `name` is on this machine: on the PATH, else its dpkg or rpm version; undefined when neither has it. */
export function findPackage(name: string): string | undefined {
  const program = name.replace(/-\d[\w.:-]*$/, '');
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    try {
      fs.accessSync(path.join(dir, program), fs.constants.X_OK);
      return path.join(dir, program);
    } catch {
      // not in this directory
    }
  }
  for (const [cmd, args] of [['dpkg-query', ['-W', '-f', '${Version}', program]], ['rpm', ['-q', '--qf', '%{VERSION}', program]]] as const) {
    const out = spawnSync(cmd, args, { encoding: 'utf8' });
    if (out.status === 0 && out.stdout.trim()) return `${cmd === 'rpm' ? 'rpm' : 'dpkg'} ${program} ${out.stdout.trim()}`;
  }
  return undefined;
}

/** The environment every service of the instance starts from: this machine's PATH, the instance's folder, the role's AWS settings. */
export function serviceBaseEnvironment(root: string, endpoint: string, credentials: RoleCredentials): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    BOOT_ROOT: root,
    AWS_REGION: LOCAL_AWS_ENV.AWS_REGION,
    AWS_DEFAULT_REGION: LOCAL_AWS_ENV.AWS_REGION,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...QUIET_SDK_ENV,
  };
}

const mode = (octal: string) => Number.parseInt(octal, 8);

/** Boots one instance; never throws for a step's failure (the result says which step failed). */
export async function bootInstance(options: InstanceBootOptions): Promise<BootResult> {
  const { root, steps, userData, credentials } = options;
  const started = Date.now();
  const services: LocalService[] = [];
  const packages: CheckedPackage[] = [];
  const commandsNotRun: string[] = [];
  const notApplied = new Set<string>();
  fs.mkdirSync(path.join(root, path.dirname(LOCAL_BOOT_LOG)), { recursive: true });
  const logFile = path.join(root, LOCAL_BOOT_LOG);
  const log = (line: string) => fs.appendFileSync(logFile, `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} bootstrap: ${line}\n`);
  const at = (p: string) => path.join(root, p);
  const owned = (owner: string) => {
    if (owner !== 'root:root') notApplied.add(`owner ${owner}`);
  };
  const contentOf = (p: string) => {
    const content = fileFromBootScript(userData, p);
    if (content === undefined) throw new Error(`the deployed user data writes no ${p}`);
    return content;
  };
  const s3 = new S3Client({ endpoint: options.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, forcePathStyle: true, credentials });
  log(`${options.instanceId}: ${steps.length} steps, in ${root} (the local cloud)`);

  let done = 0;
  try {
    for (const [i, step] of steps.entries()) {
      log(`step ${i + 1}/${steps.length} ${step.name}: start`);
      const began = Date.now();
      try {
        switch (step.kind) {
          case 'packages':
            for (const name of step.packages) {
              const found = findPackage(name);
              packages.push({ name, ...(found ? { found } : {}) });
              log(`  ${name}: ${found ? `on this machine (${found})` : 'not on this machine (dnf installs it on an instance; the local cloud installs nothing)'}`);
            }
            break;
          case 'file':
            fs.mkdirSync(path.dirname(at(step.path)), { recursive: true });
            fs.writeFileSync(at(step.path), contentOf(step.path));
            fs.chmodSync(at(step.path), mode(step.mode));
            owned(step.owner);
            break;
          case 'environment': {
            const content = contentOf(step.path);
            fs.mkdirSync(path.dirname(at(step.path)), { recursive: true });
            fs.writeFileSync(at(step.path), content);
            fs.chmodSync(at(step.path), 0o644);
            break;
          }
          case 's3File': {
            const object = await s3.send(new GetObjectCommand({ Bucket: step.bucketName, Key: step.objectKey }));
            const bytes = Buffer.from(await object.Body!.transformToByteArray());
            if (step.extract) {
              fs.mkdirSync(at(step.path), { recursive: true });
              extractZip(bytes, at(step.path));
            } else {
              fs.mkdirSync(path.dirname(at(step.path)), { recursive: true });
              fs.writeFileSync(at(step.path), bytes);
            }
            fs.chmodSync(at(step.path), mode(step.mode));
            owned(step.owner);
            break;
          }
          case 'secret': {
            let value = step.service === 'ssm'
              ? await readParameter(options.endpoint, credentials, step.id)
              : await readSecret(options.endpoint, credentials, step.id);
            if (step.jsonField !== undefined) {
              const field = (JSON.parse(value) as Record<string, unknown>)[step.jsonField];
              if (field === undefined) throw new Error(`the secret ${step.id} has no field ${step.jsonField}`);
              value = typeof field === 'string' ? field : JSON.stringify(field);
            }
            // A private folder: nobody else on this machine lists or reads it.
            fs.mkdirSync(path.dirname(at(step.path)), { recursive: true, mode: 0o700 });
            fs.chmodSync(path.dirname(at(step.path)), 0o700);
            fs.writeFileSync(at(step.path), value, { mode: 0o600 });
            fs.chmodSync(at(step.path), mode(step.mode));
            owned(step.owner);
            break;
          }
          case 'commands':
            commandsNotRun.push(`${step.name} (${step.lines} line${step.lines === 1 ? '' : 's'})`);
            log('  not run by the local cloud: bash commands could change this machine (they run on an instance)');
            break;
          case 'service': {
            const unitText = contentOf(step.unitPath);
            fs.mkdirSync(path.dirname(at(step.unitPath)), { recursive: true });
            fs.writeFileSync(at(step.unitPath), unitText);
            const unit = parseServiceUnit(unitText);
            for (const directive of unit.notApplied) notApplied.add(`${step.serviceName}: ${directive}`);
            const service = new LocalService({
              name: step.serviceName,
              unit,
              root,
              command: localCommand(unit.execStart, root),
              baseEnvironment: serviceBaseEnvironment(root, options.endpoint, credentials),
              onLine: (line) => options.onServiceLine?.(step.serviceName, line),
              onExit: (why, next) => options.onServiceExit?.(step.serviceName, why, next),
            });
            services.push(service);
            service.start();
            // `systemctl is-active`, as the script checks right after `enable --now`.
            await service.spawned();
            await new Promise((r) => setTimeout(r, options.activeAfterMs ?? 200));
            if (service.state !== 'running') throw new Error(`service ${step.serviceName}.service is not active: ${service.lastExit ?? service.state}`);
            break;
          }
        }
      } catch (e) {
        const error = (e as Error).message;
        log(`FAILED: step ${step.name} ended: ${error}`);
        return { instanceId: options.instanceId, ok: false, stepsDone: done, failed: { step: i + 1, name: step.name, error }, ms: Date.now() - started, services, packages, commandsNotRun, notApplied: [...notApplied] };
      }
      log(`step ${step.name}: done in ${((Date.now() - began) / 1000).toFixed(1)} s`);
      done++;
    }
  } finally {
    s3.destroy();
  }
  log(`finished ${steps.length} steps in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { instanceId: options.instanceId, ok: true, stepsDone: done, ms: Date.now() - started, services, packages, commandsNotRun, notApplied: [...notApplied] };
}
