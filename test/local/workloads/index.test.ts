/**
 * How the local cloud starts what it runs: every stack on its own and side by side (in a stack,
 * the kinds that start first, then the others at once), so that a demo starts as soon as its own
 * workload runs and never waits for another stack's (a web tier's health checks take seconds).
 * Fake kinds and plans that resolve when the test says: no emulator needed.
 */
import { defineWorkloadKind, type WorkloadDeclaration } from '../../../contracts/workload';
import { DemoStarter, type DemoPlan, type RunningDemo } from '../../../local/demo';
import type { DeployedDeclaration } from '../../../local/declarations';
import { declarationsOf, type Inventory } from '../../../local/inventory';
import { startWorkloads, type Workload, type WorkloadContext, type WorkloadKind } from '../../../local/workloads';

const KIND = defineWorkloadKind<WorkloadDeclaration<'test/thing', 1>>('test/thing', 1);

/** An inventory of stacks that each declare one `test/thing`. */
function inventoryOf(...stackNames: string[]): Inventory {
  const declared: DeployedDeclaration[] = stackNames.map((stackName) => ({
    stackName, logicalId: 'Thing', type: 'AWS::SQS::Queue', physicalId: `${stackName}-thing`, declaration: KIND.declare({}),
  }));
  return {
    endpoint: 'http://localhost:1',
    stacks: stackNames.map((name) => ({ name, id: name, status: 'CREATE_COMPLETE', parameters: {}, outputs: {}, resources: [] })),
    functions: [], queues: [], sqsMappings: [], autoScalingGroups: [], declared, declarationProblems: [],
    declarations: (kind) => declarationsOf(declared, kind),
  };
}

const CONTEXT = {} as WorkloadContext;

/** A promise the test settles. */
function gate() {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<void>((resolve, reject) => { open = resolve; fail = reject; });
  return { promise, open, fail };
}

function fakeWorkload(stackName: string, kind: string, events: string[]): Workload {
  return {
    title: kind, stackName, resources: ['Thing'], queueUrl: `${stackName}-queue`,
    stats: () => ({ processes: 0, done: 0, failed: 0, crashed: 0 }),
    pids: () => [], busyPids: () => [],
    stop: async () => { events.push(`stopped ${stackName} ${kind}`); },
  };
}

/** A kind whose start in a stack waits for that stack's gate (open at once when it has none). */
function fakeKind(name: string, events: string[], gates: Record<string, Promise<void>> = {}, startsFirst = false): WorkloadKind {
  return {
    name,
    declares: [KIND],
    startsFirst,
    async start(inventory) {
      const [d] = inventory.declarations(KIND);
      if (!d) return [];
      events.push(`start ${d.stackName} ${name}`);
      await gates[d.stackName];
      events.push(`ready ${d.stackName} ${name}`);
      return [fakeWorkload(d.stackName, name, events)];
    },
  };
}

describe('startWorkloads', () => {
  test('starts each stack side by side, and tells of a stack\'s workloads while another stack\'s are still starting', async () => {
    // GIVEN two stacks, the slow one's workload held back (a web tier waiting for its health checks)
    const events: string[] = [];
    const slow = gate();
    const kinds = [fakeKind('worker', events, { Slow: slow.promise })];

    // WHEN their workloads start
    const started: string[] = [];
    const all = startWorkloads(inventoryOf('Slow', 'Fast'), CONTEXT, kinds, (ws) => started.push(...ws.map((w) => w.stackName)));
    await new Promise((r) => setImmediate(r));

    // THEN the fast stack's workload is told of at once, before the slow one is ready
    expect(started).toEqual(['Fast']);
    expect(events).toEqual(['start Slow worker', 'start Fast worker', 'ready Fast worker']);
    slow.open();
    expect((await all).map((w) => w.stackName).sort()).toEqual(['Fast', 'Slow']);
    expect(started).toEqual(['Fast', 'Slow']);
  });

  test('in a stack, starts the kinds that start first before the others, and the others side by side', async () => {
    // GIVEN a stack with a kind that starts first (held back) and two others
    const events: string[] = [];
    const buckets = gate();
    const kinds = [fakeKind('web', events), fakeKind('buckets', events, { A: buckets.promise }, true), fakeKind('worker', events)];

    // WHEN they start
    const all = startWorkloads(inventoryOf('A'), CONTEXT, kinds);
    await new Promise((r) => setImmediate(r));

    // THEN nothing else started while the first kind was starting, then both others at once
    expect(events).toEqual(['start A buckets']);
    buckets.open();
    await all;
    expect(events).toEqual(['start A buckets', 'ready A buckets', 'start A web', 'start A worker', 'ready A web', 'ready A worker']);
  });

  test('fails with the first error, having stopped every workload that started, before and after it', async () => {
    // GIVEN a stack whose start fails while another stack's is still starting
    const events: string[] = [];
    const broken = gate();
    const late = gate();
    const kinds = [fakeKind('worker', events, { Broken: broken.promise, Late: late.promise, Early: Promise.resolve() })];
    const all = startWorkloads(inventoryOf('Early', 'Broken', 'Late'), CONTEXT, kinds);
    await new Promise((r) => setImmediate(r));

    // WHEN one fails, then the other becomes ready
    broken.fail(new Error('the program is not in S3'));
    late.open();

    // THEN the error is the failure's, and both workloads that started were stopped
    await expect(all).rejects.toThrow(/the program is not in S3/);
    expect(events.filter((e) => e.startsWith('stopped')).sort()).toEqual(['stopped Early worker', 'stopped Late worker']);
  });
});

describe('DemoStarter', () => {
  function plan(stackName: string, sent: string[]): DemoPlan {
    return {
      stackName,
      ready: (workloads) => workloads.some((w) => w.queueUrl === `${stackName}-queue`),
      start: async () => {
        sent.push(stackName);
        return { stackName } as RunningDemo;
      },
    };
  }

  test('sends a stack\'s demo as soon as its worker runs, without waiting for the others', async () => {
    // GIVEN demos for two stacks
    const sent: string[] = [];
    const heard: string[] = [];
    const starter = new DemoStarter([plan('A', sent), plan('B', sent)], (demo) => heard.push(demo.stackName));

    // WHEN only A's worker runs, then an unrelated one, then B's
    const running = [fakeWorkload('A', 'worker', [])];
    starter.workloadsStarted(running);
    await starter.sent();

    // THEN A's demo was sent alone; B's once its worker ran, and only once
    expect(sent).toEqual(['A']);
    expect(starter.allSent).toBe(false);
    running.push(fakeWorkload('C', 'web', []));
    starter.workloadsStarted(running);
    running.push(fakeWorkload('B', 'worker', []));
    starter.workloadsStarted(running);
    starter.workloadsStarted(running);
    await starter.sent();
    expect(sent).toEqual(['A', 'B']);
    expect(heard).toEqual(['A', 'B']);
    expect(starter.allSent).toBe(true);
  });
});
