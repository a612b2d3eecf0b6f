/**
 * `--smoke`: checks what the app has, once the local cloud has started it. The demos, where the
 * app has any (the catalog's demo stacks): every job and upload done exactly once, report jobs
 * one at a time under their lock. Every declared
 * workload: started (a declaration nothing runs is a failure, with the reason printed at the
 * start), and healthy by its own check: web servers answer their readiness path through the
 * balancer, workers poll their queue, functions are wired to their source and load, instances
 * booted every step and their services run. An app without demos passes on its workloads; an app
 * where nothing runs fails, saying so.
 */
import type { LocalCloud } from './cloud';
import { declaredNotRunning } from './workloads';

/** How long the demos may take. */
export const SMOKE_DEMO_TIMEOUT_MS = 120_000;

/** What the smoke check found. */
export interface SmokeReport {
  /** What went wrong, one line each; empty when the check passed. */
  readonly problems: readonly string[];
  /** What was checked and passed, one line each. */
  readonly passed: readonly string[];
}

/** Runs the smoke check on a started local cloud (it leaves it running: the caller stops it). */
export async function smokeCheck(cloud: LocalCloud, options: { readonly demoTimeoutMs?: number; readonly failingJob?: boolean } = {}): Promise<SmokeReport> {
  const problems: string[] = [];
  const passed: string[] = [];
  const timeoutMs = options.demoTimeoutMs ?? SMOKE_DEMO_TIMEOUT_MS;

  // The demos (while they run, the workloads are checked too: neither waits for the other).
  const demos = (async () => {
    if (cloud.demoRuns.length === 0) return;
    const done = await cloud.waitForDemo(timeoutMs);
    const found = await cloud.checkDemo();
    if (!done) problems.push(`the demos were not all done within ${timeoutMs / 1000} s${found.length > 0 ? ':' : ''}`);
    problems.push(...found);
    if (found.length > 0 || !done) return;
    const jobRuns = cloud.demoRuns.filter((r) => r.kind === 'jobs');
    if (jobRuns.length > 0) {
      passed.push(`all ${jobRuns.reduce((n, r) => n + r.total, 0)} demo jobs (${jobRuns.map((r) => r.stackName).sort().join(', ')}) done exactly once${options.failingJob === false ? '' : ', and the failing ones never'}.`);
    }
    for (const r of cloud.demoRuns.filter((d) => d.kind === 'uploads')) {
      passed.push(`all ${r.total} demo uploads to ${r.stackName} became a job, a summary with their SHA-256 and exactly one record each, with nothing dead-lettered.`);
    }
    for (const r of cloud.demoRuns.filter((d) => d.kind === 'reports')) {
      passed.push(`all ${r.total} report jobs to ${r.stackName} took its lock one at a time (the fencing token up by one each), the report carries the latest token, the lock is free and nothing was dead-lettered.`);
    }
  })();

  // Every declared workload started, and each is healthy.
  const inventory = cloud.inventory;
  const workloads = cloud.running;
  const missing = inventory ? declaredNotRunning(inventory, workloads) : ['nothing was deployed'];
  const checks = await Promise.all(workloads.map(async (w) => {
    try {
      return await w.check?.();
    } catch (e) {
      return { summary: `${w.stackName}: ${w.title}`, problems: [`${w.stackName}: its check failed: ${(e as Error).message}`] };
    }
  }));
  await demos;
  problems.push(...missing);
  for (const check of checks) {
    if (!check) continue;
    problems.push(...check.problems);
    if (check.problems.length === 0) passed.push(`${check.summary}.`);
  }
  if (workloads.length === 0 && cloud.demoRuns.length === 0 && missing.length === 0) {
    problems.push('nothing ran: no deployed resource declares a workload that the local cloud runs, and no stack takes demo jobs.');
  }
  return { problems, passed };
}
