/**
 * The local cloud's WebTier path, without the CDK CLI: an Auto Scaling group created in moto by
 * CloudFormation with WebTier's declaration (the server program in S3: the catalog's web server
 * with a drill app; the health check; the grace period), read back by the inventory and run by
 * the web tier workload as `npm start` runs it. The declared health checks run every second and
 * the servers' shutdown is scaled to match, so the drill takes seconds; the local start allowance
 * is set by the test (the knob the local cloud has for it).
 *
 * The drill: both servers get SIGTERM under load (a stray signal, a `systemctl stop`), drain and
 * exit. With the grace period scaled to a local start the group replaces them and the site serves
 * again within the health checks' time; with the deployed grace period (which holds an instance's
 * boot, minutes) it is still down then.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { READINESS_PATH, WEB_TIER_WORKLOAD } from '../../../contracts/web-tier';
import { WORKLOAD_METADATA_KEY } from '../../../contracts/workload';
import { readInventory, type Inventory } from '../../../local/inventory';
import { runningPids } from '../../../local/processes';
import { localGracePeriodSeconds, localRecoverySeconds, runningWebTiers, webTierWorkloadKind, type WebTierWorkloadRun } from '../../../local/workloads/web-tier';
import { startWorkloads, type Workload } from '../../../local/workloads';
import { bundleDrillServers } from '../../lib/web-tier/fixtures/bundle';
import { deployDrill, drillContext } from '../../support/drill';
import { useLocalAws, waitFor } from '../../support/local-aws';

const aws = useLocalAws();
const STACK = 'WebDrill';

/** The drill's health checks: every second, two to change state (the ALB's are every 5 to 300 s). */
const HEALTH = { interval: 1, timeout: 1, healthy: 2, unhealthy: 2 };
/** The servers' shutdown, scaled to those checks: readiness off for longer than the balancer takes to notice, then a drain. */
const SERVER_TIMINGS = { unreadyNoticeSeconds: HEALTH.unhealthy * HEALTH.interval + HEALTH.timeout, drainSeconds: 1, shutdownSeconds: 4 };
/** The deployed grace period of the drill's group (an instance boots for minutes; WebTierStack's is 315 s). */
const DEPLOYED_GRACE_SECONDS = 120;
/** The local start allowance the drill sets: its servers start in a fraction of a second, a few seconds on a loaded machine. */
const BOOT_ALLOWANCE_SECONDS = 4;

function drillTemplate(programUrl: string) {
  return {
    Resources: {
      Template: { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: { ImageId: 'ami-12c6146b', InstanceType: 't4g.micro' } } },
      Group: {
        Type: 'AWS::AutoScaling::AutoScalingGroup',
        Properties: {
          MinSize: '2',
          MaxSize: '2',
          AvailabilityZones: ['us-east-1a'],
          LaunchTemplate: { LaunchTemplateId: { Ref: 'Template' }, Version: { 'Fn::GetAtt': ['Template', 'LatestVersionNumber'] } },
        },
        Metadata: {
          [WORKLOAD_METADATA_KEY]: WEB_TIER_WORKLOAD.declare({
            program: programUrl,
            environment: { DRILL_DELAY_MS: '20', DRILL_TIMINGS: JSON.stringify(SERVER_TIMINGS) },
            requestTimeoutSeconds: 2,
            idleTimeoutSeconds: 60,
            healthCheckPath: READINESS_PATH,
            healthCheckIntervalSeconds: HEALTH.interval,
            healthCheckTimeoutSeconds: HEALTH.timeout,
            healthyThreshold: HEALTH.healthy,
            unhealthyThreshold: HEALTH.unhealthy,
            deregistrationDelaySeconds: 3,
            gracePeriodSeconds: DEPLOYED_GRACE_SECONDS,
            https: false,
            minCapacity: 2,
            maxCapacity: 2,
            targetRequestsPerMinute: 1_000_000,
            targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/drill/0123456789abcdef',
          }),
        },
      },
    },
  };
}

/** Requests at `concurrency` until stopped (30 s at most): when each ended and whether it was answered 200. */
function load(url: string, concurrency: number) {
  const results: { at: number; ok: boolean }[] = [];
  let running = true;
  const until = Date.now() + 30_000;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running && Date.now() < until) {
      const ok = await fetch(url, { signal: AbortSignal.timeout(5_000) }).then(async (r) => { await r.arrayBuffer(); return r.status === 200; }, () => false);
      results.push({ at: Date.now(), ok });
      if (!ok) await new Promise((r) => setTimeout(r, 20));
    }
  });
  return { results, stop: async () => { running = false; await Promise.all(loops); } };
}

describe('the local cloud running a deployed WebTier group', () => {
  let workDir: string;
  let inventory: Inventory;
  const started: Workload[] = [];
  const notes: string[] = [];

  beforeAll(async () => {
    // GIVEN the catalog's web server with a drill app, deployed as a WebTier group's program
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-web-'));
    const program = bundleDrillServers(path.join(workDir, 'bundle')).ours;
    const { cloudformation, s3 } = await deployDrill({
      bucket: 'web-assets', key: 'server.zip', name: 'index.mjs', file: program, stackName: STACK, template: drillTemplate('s3://web-assets/server.zip'),
    });
    const autoscaling = new AutoScalingClient({});
    inventory = await readInventory(aws.moto.endpoint, { cloudformation, lambda: new LambdaClient({}), sqs: aws.sqs, autoscaling }, [STACK]);
    const context = drillContext({ endpoint: aws.moto.endpoint, workDir, s3, sqs: aws.sqs, autoscaling, notes });
    // AND the same group run twice side by side: with the local start allowance, and with one past
    // the deployed grace period (the protection off: the deployed 120 s stays)
    const [scaled, deployed] = await Promise.all([
      startWorkloads(inventory, { ...context, workDir: path.join(workDir, 'scaled') }, [webTierWorkloadKind({ bootAllowanceSeconds: BOOT_ALLOWANCE_SECONDS })]),
      startWorkloads(inventory, { ...context, workDir: path.join(workDir, 'deployed') }, [webTierWorkloadKind({ bootAllowanceSeconds: DEPLOYED_GRACE_SECONDS })]),
    ]);
    started.push(...scaled, ...deployed);
  });

  afterAll(async () => {
    await Promise.all(started.map((w) => w.stop()));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('scales the grace period to a local start, and says so with the deployed one', () => {
    const [scaled, deployed] = runningWebTiers(started);
    const [declared] = inventory.declarations(WEB_TIER_WORKLOAD);
    expect(localGracePeriodSeconds(declared!.declaration, BOOT_ALLOWANCE_SECONDS)).toBe(BOOT_ALLOWANCE_SECONDS + 3 * HEALTH.interval);
    expect(scaled!.title).toMatch(/health \/healthz\/ready every 1 s \(2 up, 2 down\), .*grace 7 s \(deployed: 120 s, for an instance's boot\)/);
    expect(deployed!.title).toMatch(/grace 120 s \(deployed: 120 s/);
    // WebTierStack's timings: 10 s to start and three 5 s checks, not the 315 s an instance's boot needs
    expect(localGracePeriodSeconds({ gracePeriodSeconds: 315, healthCheckIntervalSeconds: 5, healthyThreshold: 2 })).toBe(25);
  });

  test('both servers SIGTERMed under load: the group replaces them and the site serves again within the health checks\' time; with the deployed grace period it does not', async () => {
    // GIVEN both tiers serving under load
    const [scaled, deployed] = runningWebTiers(started) as [WebTierWorkloadRun, WebTierWorkloadRun];
    const scaledLoad = load(`${scaled.url}/`, 4);
    const deployedLoad = load(`${deployed.url}/`, 4);
    const [declared] = inventory.declarations(WEB_TIER_WORKLOAD);
    const bound = localRecoverySeconds(declared!.declaration, BOOT_ALLOWANCE_SECONDS) * 1000;
    const before = scaled.pool.live().map((s) => s.id);
    let signalledAt: number;
    let backAt: number;
    const since = (results: { at: number; ok: boolean }[], at: number) => results.filter((r) => r.at > at + 100);
    try {
      await new Promise((r) => setTimeout(r, 300));
      // WHEN every server of both gets SIGTERM (they drain and exit 0, as after a stray signal)
      signalledAt = Date.now();
      for (const tier of [scaled, deployed]) for (const server of tier.pool.live()) tier.pool.kill(server.id, 'SIGTERM');
      await waitFor('the scaled tier to have two new healthy servers', () => {
        const live = scaled.pool.live();
        return live.length === 2 && live.every((s) => !before.includes(s.id) && scaled.balancer.target(s.id)?.state === 'healthy');
      }, bound + 5_000, 50);
      backAt = Date.now();
      // AND the load goes on for a second and at least 20 of the scaled tier's requests (on a busy
      // machine a second held 10: the count below is the load's, not the tier's)
      await waitFor('20 requests to the scaled tier after its new servers were healthy', () => Date.now() - backAt >= 1_000 && since(scaledLoad.results, backAt).length >= 20, 15_000, 50);
    } finally {
      await Promise.all([scaledLoad.stop(), deployedLoad.stop()]);
    }

    // THEN the scaled tier's replacements took over within the health checks' time, and answered every request since
    expect(backAt - signalledAt).toBeLessThanOrEqual(bound);
    expect(since(scaledLoad.results, backAt).length).toBeGreaterThan(10);
    expect(since(scaledLoad.results, backAt).filter((r) => !r.ok)).toEqual([]);
    expect(scaled.pool.stats.replaced).toBe(2);
    expect(notes).toContainEqual(expect.stringMatching(/^WebDrill: server Group\w*-\d is unhealthy in the local balancer: replacing it/));
    // AND with the deployed grace period nothing was replaced: the site still fails then
    expect(deployed.pool.stats.replaced).toBe(0);
    expect(since(deployedLoad.results, backAt).length).toBeGreaterThan(0);
    expect(since(deployedLoad.results, backAt).every((r) => !r.ok)).toBe(true);
  }, 60_000);

  test('leaves no process running once stopped', async () => {
    await Promise.all(started.map((w) => w.stop()));
    expect(runningPids()).toEqual([]);
  });
});
