/**
 * WebTier, run locally: the local cloud plays the ALB and the Auto Scaling group. For each
 * deployed `web-tier/servers` declaration (contracts/web-tier.ts, on the group) it downloads the
 * deployed server program from the embedded AWS, starts a local load balancer on a loopback port
 * with the deployed target group's health check, deregistration delay, idle timeout and listener
 * redirect, and runs as many server processes as the group's minimum, each with the deployed
 * environment (the app's table names and the like) plus the local endpoint. Under load the
 * number follows the deployed target (requests per server per minute), between the group's
 * minimum and maximum. A server the balancer marks unhealthy is replaced, once past the grace
 * period, as the group does. The grace period is scaled to a local start: a server process is up
 * in about a second where an instance boots for minutes, so locally it is
 * {@link LOCAL_BOOT_ALLOWANCE_SECONDS} plus the health checks' time to find a new server healthy,
 * not the deployed boot allowance (see {@link localGracePeriodSeconds}).
 *
 * Not emulated: TLS (the local listener speaks HTTP), slow start, CPU-based scaling.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { WEB_TIER_WORKLOAD, deriveWebTierTimings, type WebTierWorkload } from '../../contracts/web-tier';
import type { DeployedDeclaration } from '../declarations';
import { QUIET_SDK_ENV } from '../deploy';
import type { Inventory } from '../inventory';
import { LOCAL_AWS_ENV } from '../moto';
import { LocalLoadBalancer } from '../web-tier/load-balancer';
import { ServerPool } from '../web-tier/server-pool';
import { checkWebTier } from '../web-tier/smoke';
import { extractZip } from '../zip';
import { startEach, workloadLogFile, type Workload, type WorkloadContext, type WorkloadKind } from './types';

/** How often the local group looks at the request rate (AWS: 1-minute metrics). */
export const WEB_SCALE_EVERY_MS = 2_000;
/** How long fewer servers must be wanted before some are stopped. */
export const WEB_SCALE_IN_AFTER_MS = 15_000;
/** How long a server of a stopping local cloud may take after SIGTERM (its balancer is gone: it has nothing to drain). */
const STOP_GRACE_MS = 1_000;

/**
 * How long a local server may take to start (a Node process, where an instance's boot takes
 * minutes: the deployed grace period holds BOOT_ALLOWANCE_SECONDS (contracts/web-tier.ts) for it). Ten times what a
 * server takes here on a quiet machine, for a loaded one.
 */
export const LOCAL_BOOT_ALLOWANCE_SECONDS = 10;

/**
 * The grace period of a local web tier: a local start (`bootAllowanceSeconds`) plus the health
 * checks' time to find a new server healthy (its healthy threshold of checks, and one interval for
 * the first check to fall due), at most the deployed one. WebTierStack: 10 + 2 x 5 + 5 = 25 s, not
 * 315 s.
 */
export function localGracePeriodSeconds(
  d: Pick<WebTierWorkload, 'gracePeriodSeconds' | 'healthCheckIntervalSeconds' | 'healthyThreshold'>,
  bootAllowanceSeconds: number = LOCAL_BOOT_ALLOWANCE_SECONDS,
): number {
  return Math.min(d.gracePeriodSeconds, bootAllowanceSeconds + (d.healthyThreshold + 1) * d.healthCheckIntervalSeconds);
}

/**
 * How long after its servers stop answering a local web tier serves again: the balancer's checks
 * find them unhealthy (unhealthy threshold x interval, plus a check's timeout), then their
 * replacements start and pass theirs within the grace period.
 */
export function localRecoverySeconds(
  d: Pick<WebTierWorkload, 'gracePeriodSeconds' | 'healthCheckIntervalSeconds' | 'healthCheckTimeoutSeconds' | 'healthyThreshold' | 'unhealthyThreshold'>,
  bootAllowanceSeconds: number = LOCAL_BOOT_ALLOWANCE_SECONDS,
): number {
  return d.unhealthyThreshold * d.healthCheckIntervalSeconds + d.healthCheckTimeoutSeconds + localGracePeriodSeconds(d, bootAllowanceSeconds);
}

/** Timing of the local web tiers (tests shorten it). */
export interface WebTierLocalOptions {
  /**
   * How long a local server may take to start: the boot part of the local grace period
   * ({@link localGracePeriodSeconds}). A value past the deployed grace period keeps that one.
   *
   * @default LOCAL_BOOT_ALLOWANCE_SECONDS (10)
   */
  readonly bootAllowanceSeconds?: number;
}

/** A web tier running locally: its balancer and servers, for the smoke check and the drills. */
export interface WebTierWorkloadRun extends Workload {
  readonly kind: 'web-tier';
  /** The local balancer's URL: the demo page. */
  readonly url: string;
  readonly balancer: LocalLoadBalancer;
  readonly pool: ServerPool;
}

/** The web tiers among running workloads. */
export function runningWebTiers(workloads: readonly Workload[]): WebTierWorkloadRun[] {
  return workloads.filter((w): w is WebTierWorkloadRun => (w as Partial<WebTierWorkloadRun>).kind === 'web-tier');
}

/** Servers target tracking on requests per server asks for, between the group's bounds. */
export function desiredServers(requestsPerMinute: number, targetPerServer: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.ceil(requestsPerMinute / targetPerServer)));
}

/** The web tier kind with its own timing. */
export function webTierWorkloadKind(options: WebTierLocalOptions = {}): WorkloadKind {
  return {
    name: 'WebTier groups (web servers behind a local load balancer)',
    declares: [WEB_TIER_WORKLOAD],
    async start(inventory: Inventory, context: WorkloadContext): Promise<Workload[]> {
      // Side by side: each waits for its servers' health checks.
      return startEach(inventory.declarations(WEB_TIER_WORKLOAD), (declared) => startWebTier(declared, context, options));
    },
  };
}

export const webTierWorkloads: WorkloadKind = webTierWorkloadKind();

async function downloadProgram(url: URL, context: WorkloadContext, dir: string): Promise<string> {
  const object = await context.s3.send(new GetObjectCommand({ Bucket: url.hostname, Key: decodeURIComponent(url.pathname.replace(/^\//, '')) }));
  fs.rmSync(dir, { recursive: true, force: true });
  extractZip(Buffer.from(await object.Body!.transformToByteArray()), dir);
  const program = path.join(dir, 'index.mjs');
  if (!fs.existsSync(program)) throw new Error(`the web server program ${url} has no index.mjs`);
  return program;
}

async function startWebTier(declared: DeployedDeclaration<WebTierWorkload>, context: WorkloadContext, options: WebTierLocalOptions): Promise<WebTierWorkloadRun> {
  const d = declared.declaration;
  const id = declared.logicalId;
  // Per stack: two stacks may hold web tiers of the same logical id (RenderFarmStack's and
  // WebTierStack's are both `Web`), whose programs must not overwrite each other.
  const program = await downloadProgram(new URL(d.program), context, path.join(context.workDir, 'web-servers', declared.stackName, id));
  const timings = deriveWebTierTimings({ requestTimeoutSeconds: d.requestTimeoutSeconds, idleTimeoutSeconds: d.idleTimeoutSeconds });

  const gracePeriodSeconds = localGracePeriodSeconds(d, options.bootAllowanceSeconds);
  const note = (line: string) => context.note(`${declared.stackName}: ${line}`);

  const log = fs.createWriteStream(workloadLogFile(context, declared.stackName, id), { flags: 'a' });
  log.on('error', () => undefined);

  const balancer: LocalLoadBalancer = new LocalLoadBalancer({
    healthCheck: {
      path: d.healthCheckPath,
      intervalMs: d.healthCheckIntervalSeconds * 1000,
      timeoutMs: d.healthCheckTimeoutSeconds * 1000,
      healthyThreshold: d.healthyThreshold,
      unhealthyThreshold: d.unhealthyThreshold,
    },
    deregistrationDelayMs: d.deregistrationDelaySeconds * 1000,
    idleTimeoutMs: d.idleTimeoutSeconds * 1000,
    redirect: d.https,
    onTargetState: (target, previous) => {
      if (log.writable) log.write(`[balancer] ${target.id}: ${previous} -> ${target.state}\n`);
      pool.onTargetState(target, previous);
    },
  });
  const pool: ServerPool = new ServerPool({
    nodeArgs: [program],
    cwd: path.dirname(program),
    env: { PATH: process.env.PATH, ...d.environment, ...LOCAL_AWS_ENV, AWS_ENDPOINT_URL: context.endpoint, AWS_EC2_METADATA_DISABLED: 'true', ...QUIET_SDK_ENV },
    balancer,
    name: id,
    gracePeriodMs: gracePeriodSeconds * 1000,
    healthyTimeoutMs: gracePeriodSeconds * 1000,
    stopTimeoutMs: timings.stopTimeoutSeconds * 1000,
    onLine: (server, line) => {
      if (log.writable) log.write(`[${server}] ${line}\n`);
      if (context.echoLogs) note(`  ${server} | ${line}`);
    },
    note,
  });
  await balancer.start();
  await pool.launchHealthy(d.minCapacity);

  // Target tracking on requests per server, as the deployed scaling policy does.
  let stopping = false;
  let lastCount = balancer.stats.requests;
  let lastAt = Date.now();
  let belowSince: number | undefined;
  let desiredSet = -1;
  const scale = async () => {
    const now = Date.now();
    const count = balancer.stats.requests;
    const perMinute = ((count - lastCount) / Math.max(1, now - lastAt)) * 60_000;
    lastCount = count;
    lastAt = now;
    if (stopping) return;
    const want = desiredServers(perMinute, d.targetRequestsPerMinute, d.minCapacity, d.maxCapacity);
    const have = pool.live().length;
    if (want > have) {
      belowSince = undefined;
      await pool.scaleTo(want);
    } else if (want < have) {
      belowSince ??= now;
      if (now - belowSince >= WEB_SCALE_IN_AFTER_MS) {
        belowSince = undefined;
        await pool.scaleTo(want);
      }
    } else {
      belowSince = undefined;
    }
    const desired = pool.live().length;
    if (desired !== desiredSet && context.autoscaling) {
      desiredSet = desired;
      // So that the embedded AWS tells the same story; best effort.
      await context.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: declared.physicalId, DesiredCapacity: desired, HonorCooldown: false })).catch(() => undefined);
    }
  };
  let ticking: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    ticking = ticking.then(scale).catch(() => undefined);
  }, WEB_SCALE_EVERY_MS);

  const settings = [
    `${d.minCapacity}-${d.maxCapacity} servers`,
    `health ${d.healthCheckPath} every ${d.healthCheckIntervalSeconds} s (${d.healthyThreshold} up, ${d.unhealthyThreshold} down)`,
    `deregistration ${d.deregistrationDelaySeconds} s`,
    `idle ${d.idleTimeoutSeconds} s`,
    `target ${d.targetRequestsPerMinute} requests/server/min`,
    `grace ${gracePeriodSeconds} s (deployed: ${d.gracePeriodSeconds} s, for an instance's boot)`,
  ];
  return {
    kind: 'web-tier',
    title: `Web tier ${id} at ${balancer.url}/ (local balancer${d.https ? `; HTTP redirect at ${balancer.redirectUrl}/` : ''}): ${settings.join(', ')}`,
    stackName: declared.stackName,
    resources: [id],
    url: balancer.url,
    balancer,
    pool,
    stats: () => ({ processes: pool.live().length, done: balancer.stats.requests, failed: balancer.stats.targetFailures, crashed: pool.stats.replaced }),
    pids: () => pool.pids(),
    busyPids: () => pool.pids(),
    check: () => checkWebTier({ stackName: declared.stackName, logicalId: id, url: balancer.url, readinessPath: d.healthCheckPath, balancer, pool }),
    howToUse: () => [
      `Open ${balancer.url}/ in a browser: the ${declared.stackName} demo page, served by ${pool.live().length} servers behind the local load balancer (kill one: it is replaced).`,
    ],
    async stop() {
      stopping = true;
      clearInterval(timer);
      await ticking;
      // The balancer first: then no request reaches a server, and each may go without its notice.
      await balancer.stop();
      await pool.stop(STOP_GRACE_MS);
      log.end();
    },
  };
}
