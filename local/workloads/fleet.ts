/**
 * FleetWorker groups, run locally: the local cloud plays EC2 and Auto Scaling. An Auto Scaling
 * group that declares a FleetWorker workload (contracts/work-queue.ts: the program's s3:// URL,
 * the queue, the target backlog per instance, the launch template) gets one agent process per
 * "instance": the deployed program, downloaded from the embedded AWS, with the environment file
 * that the deployed launch template's user data writes, plus the local endpoint. How many follows target tracking on the
 * backlog per instance (jobs waiting / agents), between the group's deployed minimum and
 * maximum (read from the embedded AWS at each look, so a changed group size applies): out at once when jobs wait, in after the queue has been quiet for a while, each
 * agent stopped with SIGTERM so that it drains as on a terminating instance. An agent that dies
 * is replaced, as Auto Scaling replaces an unhealthy instance; its jobs come back after their
 * visibility timeout. The desired capacity is also set on the group in the embedded AWS.
 *
 * Not emulated: instance metadata and the termination lifecycle hook. Agents run with
 * CLOUD_PATTERNS_FLEET=0 (no scale-in protection, no CompleteLifecycleAction); the drain on
 * SIGTERM is the same.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ChildProcess } from 'child_process';
import { DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { fileFromBootScript, parseEnvironmentFile } from '../../contracts/image-bootstrap';
import {
  AUTO_SCALING_GROUP_ENV, CONCURRENCY_ENV, FLEET_ENV, FLEET_WORKER_WORKLOAD, JOB_TIMEOUT_ENV, LIFECYCLE_HOOK_ENV, VISIBILITY_TIMEOUT_ENV,
  type FleetWorkerWorkload,
} from '../../contracts/work-queue';
import { launchTemplateUserData } from '../aws-query';
import type { DeployedDeclaration } from '../declarations';
import { QUIET_SDK_ENV } from '../deploy';
import type { DeployedAutoScalingGroup, Inventory } from '../inventory';
import { LOCAL_AWS_ENV } from '../moto';
import { eachLine, spawnNode, stopChild } from '../processes';
import { QUEUE_METRICS, queueMetricSum } from '../queue-metrics';
import { extractZip } from '../zip';
import { startEach, workloadLogFile, type Workload, type WorkloadContext, type WorkloadKind } from './types';

/** How often the local Auto Scaling looks at the backlog (AWS: 1-minute metrics). */
export const SCALE_EVERY_MS = 2_000;
/** How long the desired count must stay below the agents running before agents are stopped. */
export const SCALE_IN_AFTER_MS = 15_000;
/** How long a stopping local cloud lets an agent drain before it is killed. */
const STOP_GRACE_MS = 3_000;

/** What a group's agents run: from its declaration, and its environment from the deployed user data. */
export interface FleetAgentSpec {
  /** s3://bucket/key of a zip archive with index.mjs. */
  readonly program: URL;
  readonly queueUrl: string;
  readonly targetBacklogPerInstance: number;
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * The agent spec of a declared FleetWorker group. Its environment is the environment file that
 * the deployed launch template's user data writes (the version the group launches), exactly what
 * an instance's agent would start with. Throws an Error saying what is missing.
 */
export async function fleetAgentSpec(
  declared: DeployedDeclaration<FleetWorkerWorkload>,
  group: DeployedAutoScalingGroup,
  endpoint: string,
): Promise<FleetAgentSpec> {
  const { program, queueUrl, targetBacklogPerInstance, launchTemplateId, environmentFile } = declared.declaration;
  if (!program.startsWith('s3://')) throw new Error(`its declared program is not an s3:// URL: ${program}`);
  const version = group.launchTemplate?.id === launchTemplateId && group.launchTemplate.version ? group.launchTemplate.version : '$Latest';
  const userData = await launchTemplateUserData(endpoint, launchTemplateId, version);
  if (!userData) throw new Error(`its launch template ${launchTemplateId} (version ${version}) has no user data`);
  const content = fileFromBootScript(userData, environmentFile);
  if (content === undefined) throw new Error(`the user data of its launch template ${launchTemplateId} writes no environment file ${environmentFile}`);
  return {
    program: new URL(program),
    queueUrl,
    targetBacklogPerInstance: targetBacklogPerInstance > 0 ? targetBacklogPerInstance : 1,
    environment: parseEnvironmentFile(content),
  };
}

/**
 * The number of agents target tracking on the backlog per instance asks for: enough that each
 * has at most `target` jobs waiting, between the group's minimum and maximum.
 */
export function desiredAgents(waiting: number, target: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.ceil(waiting / target)));
}

async function downloadProgram(url: URL, context: WorkloadContext, dir: string): Promise<string> {
  const object = await context.s3.send(new GetObjectCommand({ Bucket: url.hostname, Key: decodeURIComponent(url.pathname.replace(/^\//, '')) }));
  fs.rmSync(dir, { recursive: true, force: true });
  extractZip(Buffer.from(await object.Body!.transformToByteArray()), dir);
  const program = path.join(dir, 'index.mjs');
  if (!fs.existsSync(program)) throw new Error(`the agent program ${url} has no index.mjs`);
  return program;
}

/** Timing of the local Auto Scaling. */
export interface FleetScalingOptions {
  /** How often the backlog is looked at. @default 2000 (ms) */
  readonly scaleEveryMs?: number;
  /** How long fewer agents must be wanted before some are stopped. @default 15000 (ms) */
  readonly scaleInAfterMs?: number;
}

/** The fleet kind with its own timing (tests shorten it). */
export function fleetWorkloadKind(scaling: FleetScalingOptions = {}): WorkloadKind {
  return {
    name: 'FleetWorker groups (worker agents)',
    declares: [FLEET_WORKER_WORKLOAD],
    async start(inventory: Inventory, context: WorkloadContext): Promise<Workload[]> {
      const declared = inventory.declarations(FLEET_WORKER_WORKLOAD);
      if (declared.length === 0) return [];
      const autoscaling = context.autoscaling;
      if (!autoscaling) throw new Error('the fleet workload needs an Auto Scaling client');
      return startEach(declared, async (d) => {
        const group = inventory.autoScalingGroups.find((g) => g.stackName === d.stackName && g.logicalId === d.logicalId);
        let spec: FleetAgentSpec;
        try {
          if (!group) throw new Error('the embedded AWS does not describe the group');
          spec = await fleetAgentSpec(d, group, context.endpoint);
        } catch (e) {
          context.note(`${d.stackName}: skipped FleetWorker group ${d.logicalId}: ${(e as Error).message}.`);
          return undefined;
        }
        // Per stack: two stacks may hold groups of the same logical id (the same construct path).
        const program = await downloadProgram(spec.program, context, path.join(context.workDir, 'agents', group.stackName, group.logicalId));
        return startFleet(group, spec, program, context, autoscaling, {
          scaleEveryMs: scaling.scaleEveryMs ?? SCALE_EVERY_MS,
          scaleInAfterMs: scaling.scaleInAfterMs ?? SCALE_IN_AFTER_MS,
        });
      });
    },
  };
}

export const fleetWorkloads: WorkloadKind = fleetWorkloadKind();

interface Agent {
  readonly child: ChildProcess;
  draining: boolean;
  readonly launchedAt: number;
}

function startFleet(
  group: DeployedAutoScalingGroup,
  spec: FleetAgentSpec,
  program: string,
  context: WorkloadContext,
  autoscaling: AutoScalingClient,
  scaling: Required<FleetScalingOptions>,
): Workload {
  const queueUrl = spec.queueUrl;
  const agents = new Set<Agent>();
  let stopping = false;
  let crashed = 0;
  let belowSince: number | undefined;
  let desiredSet = group.desiredCapacity;

  const note = (line: string) => context.note(`${group.stackName}: ${line}`);
  const log = fs.createWriteStream(workloadLogFile(context, group.stackName, group.logicalId), { flags: 'a' });
  log.on('error', () => undefined);

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ...spec.environment,
    // Not on an instance: no metadata to read the group from, no lifecycle hook to complete.
    [FLEET_ENV]: '0',
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL: context.endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...QUIET_SDK_ENV,
  };
  delete env[LIFECYCLE_HOOK_ENV];
  delete env[AUTO_SCALING_GROUP_ENV];

  const launch = (): Agent => {
    const child = spawnNode([program], { cwd: path.dirname(program), env, detached: true });
    const agent: Agent = { child, draining: false, launchedAt: Date.now() };
    agents.add(agent);
    const write = (line: string) => {
      if (log.writable) log.write(`[${child.pid}] ${line}\n`);
      if (context.echoLogs) note(`  ${group.logicalId} ${child.pid} | ${line}`);
    };
    eachLine(child.stdout, write);
    eachLine(child.stderr, write);
    child.once('exit', (code, signal) => {
      agents.delete(agent);
      if (stopping || agent.draining) return;
      crashed++;
      const why = signal ? `was killed (${signal})` : `exited with code ${code}`;
      const jobTimeout = spec.environment[JOB_TIMEOUT_ENV];
      note(
        `worker agent ${child.pid} of ${group.logicalId} ${why}: its jobs come back after their visibility timeout ` +
          `(${spec.environment[VISIBILITY_TIMEOUT_ENV] ?? '?'} s, extended while they ran), and one that had started runs again once its ` +
          `deadline has passed (job timeout${jobTimeout ? ` ${jobTimeout} s` : ''}: until then it might still be running elsewhere); Auto Scaling replaces the agent.`,
      );
    });
    return agent;
  };

  const running = () => [...agents].filter((a) => !a.draining);

  const scale = async () => {
    const a = (await context.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes ?? {};
    // The group's bounds as the embedded AWS has them now: a change (`aws autoscaling
    // update-auto-scaling-group --max-size 1`) applies from the next look, as in AWS.
    const described = (await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] })).catch(() => undefined))?.AutoScalingGroups?.[0];
    if (stopping) return;
    const want = desiredAgents(Number(a.ApproximateNumberOfMessages ?? 0), spec.targetBacklogPerInstance, described?.MinSize ?? group.minSize, described?.MaxSize ?? group.maxSize);
    const now = running();
    if (want > now.length) {
      belowSince = undefined;
      for (let i = now.length; i < want; i++) launch();
    } else if (want < now.length) {
      belowSince ??= Date.now();
      if (Date.now() - belowSince >= scaling.scaleInAfterMs) {
        belowSince = undefined;
        // The newest first; each drains its running jobs, as on a terminating instance.
        for (const agent of now.slice(want).reverse()) {
          agent.draining = true;
          agent.child.kill('SIGTERM');
        }
      }
    } else {
      belowSince = undefined;
    }
    const desired = running().length;
    if (desired !== desiredSet) {
      desiredSet = desired;
      // So that the embedded AWS tells the same story (describe-auto-scaling-groups); best effort.
      await autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group.name, DesiredCapacity: desired, HonorCooldown: false })).catch(() => undefined);
    }
  };

  let ticking: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    ticking = ticking.then(scale).catch(() => undefined);
  }, scaling.scaleEveryMs);
  ticking = scale().catch(() => undefined);

  const settings = [
    `min ${group.minSize}`,
    `max ${group.maxSize}`,
    `target backlog ${spec.targetBacklogPerInstance} per agent`,
    `concurrency ${spec.environment[CONCURRENCY_ENV] ?? '?'} per agent`,
    `visibility ${spec.environment[VISIBILITY_TIMEOUT_ENV] ?? '?'} s`,
  ];
  return {
    title: `Fleet ${group.logicalId} (worker agent ${path.basename(program)}) <- SQS: ${settings.join(', ')}`,
    stackName: group.stackName,
    resources: [group.logicalId],
    queueUrl,
    stats: () => ({ processes: agents.size, done: 0, failed: 0, crashed }),
    pids: () => [...agents].map((a) => a.child.pid!).filter(Boolean),
    busyPids: () => running().map((a) => a.child.pid!).filter(Boolean),
    async check() {
      // The agents poll their queue (a ReceiveMessage call since they started). With none running
      // (an empty queue, a minimum of 0), one is started for the check, as if the group had
      // launched an instance, and drained after.
      const where = `${group.stackName}/${group.logicalId}`;
      const described = (await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] })).catch(() => undefined))?.AutoScalingGroups?.[0];
      if (running().length === 0 && (described?.MaxSize ?? group.maxSize) === 0) {
        return { summary: `FleetWorker group ${where}: parked at a maximum of 0 agents, nothing polls its queue`, problems: [] };
      }
      const probe = running().length === 0 ? launch() : undefined;
      const since = Math.min(...running().map((a) => a.launchedAt));
      let receives: number;
      try {
        const until = Date.now() + 20_000;
        for (;;) {
          receives = await queueMetricSum(context.endpoint, queueUrl, QUEUE_METRICS.receiveCalls, since).catch(() => 0);
          if (receives > 0 || Date.now() > until || (probe && probe.child.exitCode !== null)) break;
          await new Promise((r) => setTimeout(r, 250));
        }
      } finally {
        if (probe && probe.child.exitCode === null) {
          probe.draining = true;
          probe.child.kill('SIGTERM');
        }
      }
      const exited = probe && probe.child.exitCode !== null && !probe.draining ? `: the agent exited with code ${probe.child.exitCode} (its log: ${path.relative(process.cwd(), workloadLogFile(context, group.stackName, group.logicalId))})` : '';
      return {
        summary: `FleetWorker group ${where}: ${probe ? 'an agent started for the check' : `${running().length} agents`} with the deployed environment polled ${queueUrl.split('/').pop()} (${receives} ReceiveMessage calls)`,
        problems: receives > 0 ? [] : [`${where}: no worker agent polled its queue within 20 s${exited}`],
      };
    },
    async stop() {
      stopping = true;
      clearInterval(timer);
      await ticking;
      await Promise.all([...agents].map((a) => stopChild(a.child, STOP_GRACE_MS)));
      log.end();
    },
  };
}
