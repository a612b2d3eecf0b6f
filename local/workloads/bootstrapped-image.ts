/**
 * BootstrappedImage groups, run locally: the local cloud plays EC2 for the Auto Scaling groups
 * that launch from a declared BootstrappedImage (contracts/image-bootstrap.ts: the steps as data,
 * on the launch template). Each instance the group has in the embedded AWS (its desired capacity;
 * moto names the instances) is booted from the declared steps with the contents of the deployed
 * user data (the launch template's version the group launches), in a folder of its own, with the
 * instance role's credentials (local/image-bootstrap/boot.ts). Its boot's end is signalled to
 * CloudFormation as the boot script does (SUCCESS or FAILURE, with the instance id); a failed boot
 * is reported with the step that failed and left down. The group's size is looked at again every
 * few seconds: a new instance in the embedded AWS is booted, one that left it is stopped.
 *
 * Groups another workload runs (a FleetWorker's agents, a WebTier's servers) are left to it, and a
 * baked image (bake mode) is not booted: its image part is in an AMI that Image Builder builds.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { DescribeAutoScalingGroupsCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, SignalResourceCommand } from '@aws-sdk/client-cloudformation';
import {
  BOOTSTRAPPED_IMAGE_WORKLOAD, IMAGE_STATUS_WORKLOAD, type BootstrappedImageWorkload, type ImageStatusWorkload,
} from '../../contracts/image-bootstrap';
import { launchTemplateUserData } from '../aws-query';
import type { DeployedDeclaration } from '../declarations';
import type { DeployedAutoScalingGroup, Inventory } from '../inventory';
import { bootInstance, LOCAL_BOOT_LOG, type BootResult } from '../image-bootstrap/boot';
import { assumeInstanceRole } from '../image-bootstrap/instance-role';
import { startEach, workloadLogFile, type Workload, type WorkloadContext, type WorkloadKind } from './types';

/** How often the local EC2 looks at each group's instances in the embedded AWS. */
export const IMAGE_GROUP_LOOK_EVERY_MS = 2_000;

/** Timing of the local BootstrappedImage groups (tests shorten it). */
export interface BootstrappedImageLocalOptions {
  /** How often a group's instances are looked at again. @default 2000 (ms) */
  readonly lookEveryMs?: number;
}

/** A group launching from a declared image, with what it needs to boot its instances. */
interface ImageGroup {
  readonly group: DeployedAutoScalingGroup;
  readonly image: DeployedDeclaration<BootstrappedImageWorkload>;
  readonly status?: ImageStatusWorkload;
}

/** The groups of `inventory` (one stack's) that launch from a declared image and that no other workload runs. */
export function imageGroups(inventory: Inventory): ImageGroup[] {
  const images = inventory.declarations(BOOTSTRAPPED_IMAGE_WORKLOAD);
  return inventory.autoScalingGroups.flatMap((group) => {
    const image = images.find((d) => d.stackName === group.stackName && d.physicalId === group.launchTemplate?.id);
    if (!image) return [];
    const own = inventory.declared.filter((d) => d.stackName === group.stackName && d.logicalId === group.logicalId);
    // A FleetWorker's or WebTier's group: its own workload runs it.
    if (own.some((d) => d.declaration.kind !== IMAGE_STATUS_WORKLOAD.kind)) return [];
    const status = own.find((d) => d.declaration.kind === IMAGE_STATUS_WORKLOAD.kind && d.declaration.version === IMAGE_STATUS_WORKLOAD.version);
    return [{ group, image, ...(status ? { status: status.declaration as ImageStatusWorkload } : {}) }];
  });
}

/** The BootstrappedImage kind with its own timing. */
export function bootstrappedImageWorkloadKind(options: BootstrappedImageLocalOptions = {}): WorkloadKind {
  return {
    name: 'BootstrappedImage groups (instances booted from their steps, each in a folder)',
    declares: [BOOTSTRAPPED_IMAGE_WORKLOAD, IMAGE_STATUS_WORKLOAD],
    // The groups, not the launch templates: an image may have none, or only groups another workload runs.
    expects: (inventory) => imageGroups(inventory).filter((g) => !g.image.declaration.baked).map((g) => ({ stackName: g.group.stackName, logicalId: g.group.logicalId })),
    async start(inventory: Inventory, context: WorkloadContext): Promise<Workload[]> {
      const groups = imageGroups(inventory);
      if (groups.length === 0) return [];
      const autoscaling = context.autoscaling;
      if (!autoscaling) throw new Error('the BootstrappedImage workload needs an Auto Scaling client');
      return startEach(groups, async (g) => {
        const note = (line: string) => context.note(`${g.group.stackName}: ${line}`);
        if (g.image.declaration.baked) {
          note(`Auto Scaling group ${g.group.logicalId} launches a baked image (bake mode): not booted locally, its image part is in an AMI that Image Builder builds.`);
          return undefined;
        }
        const userData = await deployedUserData(context.endpoint, g.group, g.image.physicalId);
        return startImageGroup(g, userData, context, autoscaling, options.lookEveryMs ?? IMAGE_GROUP_LOOK_EVERY_MS);
      });
    },
  };
}

export const bootstrappedImageWorkloads: WorkloadKind = bootstrappedImageWorkloadKind();

/** The boot script of the launch template version the group launches, decoded. */
async function deployedUserData(endpoint: string, group: DeployedAutoScalingGroup, templateId: string): Promise<string> {
  const version = group.launchTemplate?.version ?? '$Latest';
  const userData = await launchTemplateUserData(endpoint, templateId, version);
  if (!userData) throw new Error(`the launch template ${templateId} (version ${version}) of ${group.stackName}/${group.logicalId} has no user data`);
  return userData;
}

/** A local instance of a group. */
interface LocalInstance {
  readonly id: string;
  readonly root: string;
  booting?: Promise<void>;
  result?: BootResult;
  stopped: boolean;
}

/** A random instance id, for an instance the embedded AWS did not name. */
function newInstanceId(): string {
  return `i-${[...crypto.getRandomValues(new Uint8Array(9))].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, 17)}`;
}

/** GET / over the Unix socket `socketPath` (through a short link when the path is longer than a socket address holds). */
async function getOverSocket(socketPath: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  let socket = socketPath;
  let link: string | undefined;
  if (Buffer.byteLength(socketPath) > 100) {
    link = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-'));
    fs.symlinkSync(path.dirname(socketPath), path.join(link, 'd'));
    socket = path.join(link, 'd', path.basename(socketPath));
  }
  try {
    return await new Promise((resolve, reject) => {
      const req = http.get({ socketPath: socket, path: '/', timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
    });
  } finally {
    if (link) fs.rmSync(link, { recursive: true, force: true });
  }
}

/** Boots the group's instances (resolves once their first boots ended) and follows its size. */
async function startImageGroup(g: ImageGroup, userData: string, context: WorkloadContext, autoscaling: AutoScalingClient, lookEveryMs: number): Promise<Workload> {
  const { group, image, status } = g;
  const decl = image.declaration;
  const note = (line: string) => context.note(`${group.stackName}: ${line}`);
  const instances = new Map<string, LocalInstance>();
  const cloudformation = new CloudFormationClient(context.clientConfig);
  const log = fs.createWriteStream(workloadLogFile(context, group.stackName, group.logicalId), { flags: 'a' });
  log.on('error', () => undefined);
  const relative = (p: string) => path.relative(process.cwd(), p) || '.';
  let stopping = false;
  let desired = group.desiredCapacity;

  const signal = async (instanceId: string, ok: boolean): Promise<string> => {
    if (!decl.signal) return 'no resource waits for a signal';
    try {
      await cloudformation.send(new SignalResourceCommand({
        StackName: decl.signal.stackName, LogicalResourceId: decl.signal.logicalId, UniqueId: instanceId, Status: ok ? 'SUCCESS' : 'FAILURE',
      }));
      return `${ok ? 'SUCCESS' : 'FAILURE'} signalled to ${decl.signal.stackName}/${decl.signal.logicalId}`;
    } catch (e) {
      return `the ${ok ? 'SUCCESS' : 'FAILURE'} signal was not taken (${(e as Error).message})`;
    }
  };

  const boot = async (instance: LocalInstance) => {
    fs.rmSync(instance.root, { recursive: true, force: true });
    fs.mkdirSync(instance.root, { recursive: true });
    let result: BootResult;
    try {
      const credentials = await assumeInstanceRole(context.endpoint, decl.roleArn, instance.id);
      result = await bootInstance({
        instanceId: instance.id,
        root: instance.root,
        steps: decl.steps,
        userData,
        endpoint: context.endpoint,
        credentials,
        onServiceLine: (service, line) => {
          if (log.writable) log.write(`[${instance.id} ${service}] ${line}\n`);
          if (context.echoLogs) note(`  ${instance.id} ${service} | ${line}`);
        },
        onServiceExit: (service, why, next) => {
          if (stopping || instance.stopped || next === 'stopped') return;
          note(`instance ${instance.id} of ${group.logicalId}: service ${service} ${why}; ${next === 'restart' ? 'systemd restarts it (its Restart=)' : next === 'failed' ? 'it stays failed' : 'it is done'}.`);
        },
      });
    } catch (e) {
      result = { instanceId: instance.id, ok: false, stepsDone: 0, failed: { step: 0, name: '(instance role)', error: (e as Error).message }, ms: 0, services: [], packages: [], commandsNotRun: [], notApplied: [] };
    }
    instance.result = result;
    if (stopping || instance.stopped) {
      await Promise.all(result.services.map((s) => s.stop()));
      return;
    }
    const signalled = await signal(instance.id, result.ok);
    const missing = result.packages.filter((p) => p.found === undefined).map((p) => p.name);
    const details = [
      ...(result.packages.length > 0 ? [`packages checked, not installed: ${missing.length === 0 ? 'all on this machine' : `${missing.join(', ')} not on this machine`}`] : []),
      ...(result.commandsNotRun.length > 0 ? [`commands not run: ${result.commandsNotRun.join(', ')}`] : []),
      signalled,
    ];
    if (result.ok) {
      const services = result.services.map((s) => `${s.name} (pid ${s.pid ?? '-'})`);
      note(`instance ${instance.id} of ${group.logicalId} booted: ${result.stepsDone} steps in ${(result.ms / 1000).toFixed(1)} s in ${relative(instance.root)}; ${services.length > 0 ? `running ${services.join(', ')}` : 'no service'}; ${details.join('; ')}.`);
    } else {
      const f = result.failed!;
      note(
        `instance ${instance.id} of ${group.logicalId}: boot FAILED at step ${f.step} of ${decl.steps.length} (${f.name}): ${f.error}; ${details.join('; ')}. ` +
          `On AWS it shuts down and the group replaces it; here it stays down (its log: ${relative(path.join(instance.root, LOCAL_BOOT_LOG))}).`,
      );
    }
  };

  const launch = (id: string) => {
    const instance: LocalInstance = { id, root: path.join(context.workDir, 'instances', id), stopped: false };
    instances.set(id, instance);
    instance.booting = boot(instance);
  };

  const terminate = async (instance: LocalInstance) => {
    instance.stopped = true;
    instances.delete(instance.id);
    await instance.booting;
    await Promise.all((instance.result?.services ?? []).map((s) => s.stop()));
  };

  // The instances the embedded AWS has for the group (moto launches them), up to its desired
  // capacity; when it names fewer, the local cloud names the others.
  const madeUp = new Set<string>();
  const look = async () => {
    const described = (await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] }))).AutoScalingGroups?.[0];
    if (stopping || !described) return;
    desired = described.DesiredCapacity ?? desired;
    const named = (described.Instances ?? []).filter((i) => !/^Terminat/.test(i.LifecycleState ?? '')).map((i) => i.InstanceId!).filter(Boolean);
    const wanted = [...named, ...[...instances.keys()].filter((id) => madeUp.has(id))].slice(0, desired);
    while (wanted.length < desired) {
      const id = newInstanceId();
      madeUp.add(id);
      wanted.push(id);
    }
    await Promise.all([...instances.values()].filter((i) => !wanted.includes(i.id)).map(terminate));
    for (const id of wanted.filter((w) => !instances.has(w))) launch(id);
  };

  let looking: Promise<void> = look().catch((e: Error) => note(`could not read Auto Scaling group ${group.logicalId}: ${e.message}`));
  const timer = setInterval(() => {
    looking = looking.then(look).catch(() => undefined);
  }, lookEveryMs);

  // Started once every instance the group has now has booted (or failed to), as a group's creation waits for their signals.
  await looking;
  await Promise.all([...instances.values()].map((i) => i.booting));

  const services = () => [...instances.values()].flatMap((i) => i.result?.services ?? []);
  const statusSocket = (instance: LocalInstance): string | undefined => {
    const service = instance.result?.services.find((s) => s.name === status?.service);
    const dir = service?.runtimeDirectory();
    return dir && status ? path.join(dir, status.socket) : undefined;
  };

  return {
    title: `Instances of ${group.logicalId} (BootstrappedImage ${image.logicalId}, ${decl.steps.length} steps): ${group.desiredCapacity} of ${group.minSize}-${group.maxSize}, ` +
      `each booted in a folder of its own under ${relative(path.join(context.workDir, 'instances'))}/<instance id>`,
    stackName: group.stackName,
    resources: [group.logicalId, image.logicalId],
    stats: () => ({ processes: services().filter((s) => s.state === 'running').length, done: 0, failed: 0, crashed: services().reduce((n, s) => n + s.restarts, 0) }),
    pids: () => services().map((s) => s.pid).filter((p): p is number => p !== undefined),
    busyPids: () => [],
    async check() {
      await looking;
      const all = [...instances.values()];
      await Promise.all(all.map((i) => i.booting));
      const problems: string[] = [];
      const where = `${group.stackName}/${group.logicalId}`;
      if (all.length !== desired) problems.push(`${where}: ${all.length} instances run locally, the group wants ${desired}`);
      const answers: string[] = [];
      for (const i of all) {
        const r = i.result;
        if (!r?.ok) {
          problems.push(`${where}: instance ${i.id} did not boot${r?.failed ? `: step ${r.failed.step} (${r.failed.name}) failed: ${r.failed.error}` : ''}`);
          continue;
        }
        for (const s of r.services.filter((x) => x.state !== 'running')) problems.push(`${where}: instance ${i.id}: service ${s.name} is ${s.state} (${s.lastExit ?? 'not started'})`);
        const socket = statusSocket(i);
        if (status && socket) {
          const answer = await getOverSocket(socket).catch((e: Error) => ({ status: 0, body: e.message }));
          if (answer.status !== 200) problems.push(`${where}: instance ${i.id}: service ${status.service} did not answer on ${status.socket} (${answer.status || answer.body})`);
          else answers.push(answer.body.trim().split('\n')[0]!);
        } else if (status) {
          problems.push(`${where}: instance ${i.id}: no service ${status.service} with a runtime directory for its ${status.socket}`);
        }
      }
      const serviceCount = all.reduce((n, i) => n + (i.result?.services.length ?? 0), 0);
      return {
        summary: `BootstrappedImage group ${where}: ${all.filter((i) => i.result?.ok).length} of ${desired} instances booted every step, ${serviceCount} services running` +
          (answers.length > 0 ? `; ${status!.service} answered: "${answers[0]}"` : ''),
        problems,
      };
    },
    howToUse: () => [...instances.values()].flatMap((i) => {
      const socket = statusSocket(i);
      return [
        `${group.stackName}: instance ${i.id} of ${group.logicalId} is the folder ${relative(i.root)} (boot log: ${relative(path.join(i.root, LOCAL_BOOT_LOG))})` +
          (socket ? `; its ${status!.service} service answers: curl --unix-socket ${relative(socket)} http://localhost/` : ''),
      ];
    }),
    async stop() {
      stopping = true;
      clearInterval(timer);
      await looking;
      await Promise.all([...instances.values()].map(terminate));
      cloudformation.destroy();
      log.end();
    },
  };
}
