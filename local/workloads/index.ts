/**
 * The registry of "what AWS would run": one kind per declared workload (contracts/workload.ts),
 * each in its own file here. A kind reads its declarations from the inventory
 * (`inventory.declarations(KIND)`: fields resolved to what the embedded AWS deployed, with the
 * deployed resources' own descriptions beside them) and starts local processes that do what the
 * AWS service would do with them:
 *
 * - LambdaWorker: Lambda's SQS pollers, invoking the function in sandboxes ({@link lambdaSqsWorkloads}).
 * - SharedStorage: the bucket properties moto's CloudFormation ignores, applied through the S3 API ({@link sharedStorageBuckets}).
 * - FleetWorker: worker-agent processes, as many as target tracking on the backlog per instance
 *   asks for within the group's size ({@link fleetWorkloads}).
 * - WebTier: web servers behind a local load balancer that behaves as the deployed ALB
 *   ({@link webTierWorkloads}).
 * - BootstrappedImage: the instances of the groups that launch from one, each booted from its
 *   typed steps in a folder of its own ({@link bootstrappedImageWorkloads}).
 *
 * A pattern plugs in with one file (`local/workloads/<kind>.ts` exporting a {@link WorkloadKind})
 * and one line in {@link WORKLOAD_KINDS}; the local cloud starts, shows and stops every kind the
 * same way, and reports declarations that no kind runs.
 */
import type { WorkloadKindContract } from '../../contracts/workload';
import { REPORT_DEMO_WORKLOAD } from '../../contracts/locks';
import { UPLOAD_DEMO_WORKLOAD } from '../../contracts/shared-storage';
import { DEMO_JOBS_WORKLOAD } from '../../contracts/work-queue';
import { declarationsOf, type Inventory } from '../inventory';
import { bootstrappedImageWorkloads } from './bootstrapped-image';
import { fleetWorkloads } from './fleet';
import { lambdaSqsWorkloads } from './lambda-sqs';
import { sharedStorageBuckets } from './shared-storage';
import { webTierWorkloads } from './web-tier';
import type { Workload, WorkloadContext, WorkloadKind } from './types';

export type { Workload, WorkloadCheck, WorkloadContext, WorkloadKind, WorkloadStats } from './types';

/**
 * Every kind the local cloud runs. Kinds with `startsFirst` start before the other kinds of the
 * same stack; the others start side by side.
 */
export const WORKLOAD_KINDS: readonly WorkloadKind[] = [
  sharedStorageBuckets,
  lambdaSqsWorkloads,
  fleetWorkloads,
  webTierWorkloads,
  bootstrappedImageWorkloads,
];

/** The view of `inventory` a kind gets for one stack: that stack's declarations; every deployed resource for look-ups (a mapping may name a function of another stack). */
export function stackInventory(inventory: Inventory, stackName: string): Inventory {
  const declared = inventory.declared.filter((d) => d.stackName === stackName);
  return { ...inventory, declared, declarations: (kind) => declarationsOf(declared, kind) };
}

/**
 * Starts every kind's workloads, each stack on its own and side by side: in a stack, the kinds
 * that start first (buckets whose events must be wired), then the others at once. `onStarted`
 * hears of each stack's workloads of a kind as soon as they run, so a caller can use them (send a
 * demo) without waiting for another stack or kind. When one start fails, every workload started
 * (before or after it) is stopped before the first error is thrown, so nothing is left
 * half-started.
 */
export async function startWorkloads(
  inventory: Inventory,
  context: WorkloadContext,
  kinds: readonly WorkloadKind[] = WORKLOAD_KINDS,
  onStarted: (workloads: readonly Workload[]) => void = () => undefined,
): Promise<Workload[]> {
  const started: Workload[] = [];
  let failure: { error: unknown } | undefined;
  const run = async (kind: WorkloadKind, stackName: string) => {
    if (failure) return;
    try {
      const workloads = await kind.start(stackInventory(inventory, stackName), context);
      started.push(...workloads);
      if (!failure && workloads.length > 0) onStarted(workloads);
    } catch (error) {
      failure ??= { error };
    }
  };
  const stackNames = [...new Set([...inventory.stacks.map((s) => s.name), ...inventory.declared.map((d) => d.stackName)])];
  await Promise.all(stackNames.map(async (stackName) => {
    for (const kind of kinds.filter((k) => k.startsFirst)) await run(kind, stackName);
    await Promise.all(kinds.filter((k) => !k.startsFirst).map((kind) => run(kind, stackName)));
  }));
  if (failure) {
    await Promise.all(started.map((w) => w.stop()));
    throw failure.error;
  }
  return started;
}

/**
 * Declarations on the deployed resources that none of `kinds` runs (an unknown kind, or a
 * version this local cloud does not know), one line each, for the user.
 */
export function notRunDeclarations(
  inventory: Inventory,
  kinds: readonly WorkloadKind[] = WORKLOAD_KINDS,
  /** Declared kinds that the local cloud uses itself, without a workload (the demos). */
  usedElsewhere: readonly WorkloadKindContract[] = [DEMO_JOBS_WORKLOAD, UPLOAD_DEMO_WORKLOAD, REPORT_DEMO_WORKLOAD],
): string[] {
  const known = [...kinds.flatMap((k) => k.declares), ...usedElsewhere];
  return inventory.declared.flatMap(({ stackName, logicalId, declaration: { kind, version } }) => {
    if (known.some((k) => k.kind === kind && k.version === version)) return [];
    const versions = known.filter((k) => k.kind === kind).map((k) => `v${k.version}`);
    const why = versions.length > 0
      ? `this local cloud runs ${versions.join(', ')} of it (a newer cdk-cloud-patterns may run it)`
      : 'no workload kind of this local cloud runs it';
    return [`${stackName}/${logicalId} declares workload ${kind} v${version}: ${why}.`];
  });
}

/**
 * What `--smoke` finds missing among the workloads: a declared resource that no workload runs (a
 * mapping that was skipped, a program that could not be read: the lines printed at the start say
 * why), and a declaration that no kind runs or that cannot be read. One line each.
 */
export function declaredNotRunning(inventory: Inventory, workloads: readonly Workload[], kinds: readonly WorkloadKind[] = WORKLOAD_KINDS): string[] {
  const runs = (stackName: string, logicalId: string) => workloads.some((w) => w.stackName === stackName && w.resources.includes(logicalId));
  const missing = kinds.flatMap((kind) => {
    const expected = kind.expects?.(inventory)
      ?? kind.declares.flatMap((k) => inventory.declarations(k).map((d) => ({ stackName: d.stackName, logicalId: d.logicalId })));
    return expected.filter((e) => !runs(e.stackName, e.logicalId))
      .map((e) => `${e.stackName}/${e.logicalId}: declares a workload of ${kind.name}, but nothing runs for it (the lines at the start say why)`);
  });
  return [
    ...missing,
    ...inventory.declarationProblems.map((p) => `${p.stackName}/${p.logicalId}: its workload declaration cannot be read: ${p.problem}`),
    ...notRunDeclarations(inventory, kinds),
  ];
}
