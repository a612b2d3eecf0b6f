/**
 * FleetWorker groups, run locally: the local cloud plays EC2 and Auto Scaling. An Auto Scaling
 * group whose tags describe a worker agent (FleetWorker's `cloud-patterns:fleet-worker:*` tags:
 * the program's s3:// URL, the target backlog per instance, the agent's environment) gets one
 * agent process per "instance": the deployed program, downloaded from the embedded AWS, with
 * the deployed environment plus the local endpoint. How many follows target tracking on the
 * backlog per instance (jobs waiting / agents), between the group's deployed minimum and
 * maximum: out at once when jobs wait, in after the queue has been quiet for a while, each
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
import { SetDesiredCapacityCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import {
  AUTO_SCALING_GROUP_ENV, CONCURRENCY_ENV, FLEET_ENV, JOB_TIMEOUT_ENV, LIFECYCLE_HOOK_ENV, QUEUE_URL_ENV, VISIBILITY_TIMEOUT_ENV,
} from '../../runtime/jobs/environment';
import { QUIET_SDK_ENV } from '../deploy';
import type { DeployedAutoScalingGroup, Inventory } from '../inventory';
import { LOCAL_AWS_ENV } from '../moto';
import { eachLine, spawnNode, stopChild } from '../processes';
import { extractZip } from '../zip';
import type { Workload, WorkloadContext, WorkloadKind } from './types';

/** FleetWorker's tags (FLEET_WORKER_TAGS in lib/work-queue/fleet-worker.ts; a test keeps them equal). */
export const FLEET_TAGS = {
  program: 'cloud-patterns:fleet-worker:program',
  targetBacklogPerInstance: 'cloud-patterns:fleet-worker:target-backlog-per-instance',
  environmentPrefix: 'cloud-patterns:fleet-worker:env:',
} as const;

/** How often the local Auto Scaling looks at the backlog (AWS: 1-minute metrics). */
export const SCALE_EVERY_MS = 2_000;
/** How long the desired count must stay below the agents running before agents are stopped. */
export const SCALE_IN_AFTER_MS = 15_000;
/** How long a stopping local cloud lets an agent drain before it is killed. */
const STOP_GRACE_MS = 3_000;

/** The agent's deployed settings, from the group's tags. */
export interface FleetAgentSpec {
  /** s3://bucket/key of a zip archive with index.mjs. */
  readonly program: URL;
  readonly targetBacklogPerInstance: number;
  readonly environment: Readonly<Record<string, string>>;
}

/** The agent spec of a group, or undefined when its tags describe none. */
export function fleetAgentSpec(group: DeployedAutoScalingGroup): FleetAgentSpec | undefined {
  const program = group.tags[FLEET_TAGS.program];
  if (!program?.startsWith('s3://')) return undefined;
  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(group.tags)) {
    if (key.startsWith(FLEET_TAGS.environmentPrefix)) environment[key.slice(FLEET_TAGS.environmentPrefix.length)] = value;
  }
  const target = Number(group.tags[FLEET_TAGS.targetBacklogPerInstance]);
  return { program: new URL(program), targetBacklogPerInstance: target > 0 ? target : 1, environment };
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
    declares: [],
    async start(inventory: Inventory, context: WorkloadContext): Promise<Workload[]> {
      const workloads: Workload[] = [];
      for (const group of inventory.autoScalingGroups) {
        const spec = fleetAgentSpec(group);
        if (!spec) continue;
        if (!context.autoscaling) throw new Error('the fleet workload needs an Auto Scaling client');
        const program = await downloadProgram(spec.program, context, path.join(context.workDir, 'agents', group.logicalId));
        workloads.push(startFleet(group, spec, program, context, context.autoscaling, {
          scaleEveryMs: scaling.scaleEveryMs ?? SCALE_EVERY_MS,
          scaleInAfterMs: scaling.scaleInAfterMs ?? SCALE_IN_AFTER_MS,
        }));
      }
      return workloads;
    },
  };
}

export const fleetWorkloads: WorkloadKind = fleetWorkloadKind();

interface Agent {
  readonly child: ChildProcess;
  draining: boolean;
}

function startFleet(
  group: DeployedAutoScalingGroup,
  spec: FleetAgentSpec,
  program: string,
  context: WorkloadContext,
  autoscaling: AutoScalingClient,
  scaling: Required<FleetScalingOptions>,
): Workload {
  const queueUrl = spec.environment[QUEUE_URL_ENV];
  if (!queueUrl) throw new Error(`Auto Scaling group ${group.name}: its tags give the agent no ${QUEUE_URL_ENV}`);
  const agents = new Set<Agent>();
  let stopping = false;
  let crashed = 0;
  let belowSince: number | undefined;
  let desiredSet = group.desiredCapacity;

  fs.mkdirSync(context.logDir, { recursive: true });
  const log = fs.createWriteStream(path.join(context.logDir, `${group.logicalId}.log`), { flags: 'a' });
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

  const launch = () => {
    const child = spawnNode([program], { cwd: path.dirname(program), env, detached: true });
    const agent: Agent = { child, draining: false };
    agents.add(agent);
    const write = (line: string) => {
      if (log.writable) log.write(`[${child.pid}] ${line}\n`);
      if (context.echoLogs) context.note(`  ${group.logicalId} ${child.pid} | ${line}`);
    };
    eachLine(child.stdout, write);
    eachLine(child.stderr, write);
    child.once('exit', (code, signal) => {
      agents.delete(agent);
      if (stopping || agent.draining) return;
      crashed++;
      const why = signal ? `was killed (${signal})` : `exited with code ${code}`;
      const jobTimeout = spec.environment[JOB_TIMEOUT_ENV];
      context.note(
        `worker agent ${child.pid} of ${group.logicalId} ${why}: its jobs come back after their visibility timeout ` +
          `(${spec.environment[VISIBILITY_TIMEOUT_ENV] ?? '?'} s, extended while they ran), and one that had started runs again once its ` +
          `deadline has passed (job timeout${jobTimeout ? ` ${jobTimeout} s` : ''}: until then it might still be running elsewhere); Auto Scaling replaces the agent.`,
      );
    });
  };

  const running = () => [...agents].filter((a) => !a.draining);

  const scale = async () => {
    const a = (await context.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes ?? {};
    if (stopping) return;
    const want = desiredAgents(Number(a.ApproximateNumberOfMessages ?? 0), spec.targetBacklogPerInstance, group.minSize, group.maxSize);
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
    async stop() {
      stopping = true;
      clearInterval(timer);
      await ticking;
      await Promise.all([...agents].map((a) => stopChild(a.child, STOP_GRACE_MS)));
      log.end();
    },
  };
}
