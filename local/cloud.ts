/**
 * The local cloud, start to stop: the embedded AWS (moto) and the app's synthesis side by
 * side, the CDK CLI's bootstrap template deployed and `cdk deploy` of the real templates, the
 * deployed state read back from the embedded AWS, what AWS would run started from it
 * (local/workloads), demo jobs with live progress, and a stop that ends every process it
 * started. local/start.ts is its CLI.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BOOTSTRAPPED_IMAGE_WORKLOAD } from '../contracts/image-bootstrap';
import type { LocalClients } from './after-deploy';
import { queryCall, xmlField } from './aws-query';
import type { CompletedResource } from './cognito';
import type { RunningDemo } from './demo';
import { DeployError, bootstrap, deploy, localClientConfig, selectStacks, synth, type AssemblyStack } from './deploy';
import type { Inventory } from './inventory';
import { LOCAL_AWS_ENV, freePort, startMoto, type MotoServer } from './moto';
import { runningPids, stopAll } from './processes';
import type { Progress, ProgressRow } from './progress';
import type { Workload } from './workloads';

/** The modules needed once the stacks are deployed (local/after-deploy.ts), loaded while moto starts and the app synthesizes. */
function afterDeploy(): typeof import('./after-deploy') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./after-deploy') as typeof import('./after-deploy');
}

/** Moments of a start, for the benchmark and the smoke summary. */
export type Milestone = 'moto' | 'synth' | 'bootstrap' | 'deploy' | 'workers' | 'jobsSent' | 'firstDone' | 'allDone';

/** Options of a {@link LocalCloud}. */
export interface LocalCloudOptions {
  /** Stacks to deploy, by id or name. @default - all stacks of the app */
  readonly stacks?: readonly string[];
  /** Port of the embedded AWS. @default - a free port */
  readonly port?: number;
  /** Run CDK's template validation and cdk-nag during synthesis. @default true */
  readonly checks?: boolean;
  /** Good demo jobs per demo stack (a stack that takes demo uploads gets {@link DEMO_UPLOADS} of them when this is not 0). @default 30 */
  readonly jobs?: number;
  /** Also send one job that always fails. @default true */
  readonly failingJob?: boolean;
  /** Echo the workloads' logs to the console too (they always go to files). @default false */
  readonly echoLogs?: boolean;
  /** The state folder (cloud assembly, code packages, logs). */
  readonly stateDir: string;
  /** The CDK app's project folder (its cdk.json). @default - the catalog's own */
  readonly projectDir?: string;
  /** Prints a line for the user. */
  readonly print: (line: string) => void;
  /** Called at each milestone with Date.now(). */
  readonly onMilestone?: (milestone: Milestone, at: number) => void;
  /** Called when the local cloud can no longer run (the embedded AWS died); stop() it then. */
  readonly onFatal?: (message: string) => void;
}

/** The endpoint, account and region of the embedded AWS. */
export interface LocalAws {
  readonly endpoint: string;
  readonly account: string;
  readonly region: string;
}

type Clients = LocalClients;

/** The account moto reports through STS (no STS client needed: one query call). */
async function callerAccount(endpoint: string): Promise<string> {
  const { status, xml } = await queryCall(endpoint, 'sts', { Action: 'GetCallerIdentity', Version: '2011-06-15' });
  const account = xmlField(xml, 'Account');
  if (!account || !/^\d{12}$/.test(account)) throw new Error(`the embedded AWS did not report an account through STS (HTTP ${status})`);
  return account;
}

/** A local cloud: `start()`, then `waitForDemo()` or wait for Ctrl-C, then `stop()`. */
export class LocalCloud {
  private motoStarting?: Promise<MotoServer>;
  private clients?: Clients;
  private workloads: Workload[] = [];
  private progress?: Progress;
  private demos: RunningDemo[] = [];
  /** True once every demo that the deployed stacks take was sent. */
  private demosSent = false;
  private readonly abort = new AbortController();
  private stopping?: Promise<void>;
  private readonly startedAt = Date.now();
  private milestones = new Map<Milestone, number>();
  /** What was deployed, once it is. */
  inventory?: Inventory;
  /** The embedded AWS, once it runs. */
  aws?: LocalAws;

  constructor(private readonly options: LocalCloudOptions) {}

  /** True once stop() was called. */
  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Milestone -> ms since the start. */
  get timings(): ReadonlyMap<Milestone, number> {
    return new Map([...this.milestones].map(([k, v]) => [k, v - this.startedAt]));
  }

  /** The workloads running now. */
  get running(): readonly Workload[] {
    return this.workloads;
  }

  /** The demos sent: jobs to queues, files to buckets. */
  get demoRuns(): readonly RunningDemo[] {
    return this.demos;
  }

  private mark(milestone: Milestone): void {
    if (this.milestones.has(milestone)) return;
    const at = Date.now();
    this.milestones.set(milestone, at);
    this.options.onMilestone?.(milestone, at);
  }

  private elapsed(): string {
    return `${((Date.now() - this.startedAt) / 1000).toFixed(1)} s`;
  }

  private checkNotStopping(): void {
    if (this.stopping) throw new DeployError('the local cloud was stopped');
  }

  /** Starts everything, up to the demo jobs and the live progress. Throws when a step fails (call stop() then). */
  async start(): Promise<void> {
    const { print } = this.options;
    const stateDir = this.options.stateDir;
    const assemblyDir = path.join(stateDir, 'cdk.out');
    // Code packages and logs of the previous run belong to an embedded AWS that is gone.
    for (const old of ['run', 'logs']) fs.rmSync(path.join(stateDir, old), { recursive: true, force: true });
    fs.mkdirSync(stateDir, { recursive: true });

    // The port is known before moto answers, so synthesis runs while moto starts.
    const port = this.options.port ?? (await freePort());
    const endpoint = `http://localhost:${port}`;
    const checks = this.options.checks ?? true;
    print(`Starting the embedded AWS (moto) on ${endpoint} and synthesizing the app${checks ? '' : ' (template validation and cdk-nag skipped)'}...`);
    this.motoStarting = startMoto({ port, onWarning: (line) => print(`  ${line}`) });
    void this.motoStarting.then((moto) => moto.exited.then(({ code, signal }) => {
      if (this.stopping) return;
      const log = moto.stderrTail().split('\n').slice(-5).join('\n    ');
      this.options.onFatal?.(`the embedded AWS (moto) exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})${log ? `; its last log lines:\n    ${log}` : ''}`);
    }), () => undefined);
    // Loaded once moto and the synthesis run (below), before either can be waited for.
    let parts!: ReturnType<typeof afterDeploy>; // eslint-disable-line prefer-const -- assigned once, after the closures below are created
    // Bootstrapping needs the embedded AWS but not the app: it runs while the app synthesizes.
    const bootstrapped = this.motoStarting.then(async () => {
      if (this.stopping) return;
      this.clients = parts.clientsFor(endpoint);
      const account = await callerAccount(endpoint);
      this.aws = { endpoint, account, region: LOCAL_AWS_ENV.AWS_REGION };
      this.mark('moto');
      print(`  embedded AWS ready: account ${account}, ${LOCAL_AWS_ENV.AWS_REGION} (${this.elapsed()}); bootstrapping it (the CDK CLI's bootstrap template, as cdk bootstrap deploys it)...`);
      // moto loads each service on its first request (CloudFormation takes seconds): load the
      // ones the deployment and the workers use now, alongside the bootstrap.
      await Promise.all([
        parts.warmUp(this.clients, endpoint),
        bootstrap({ endpoint, projectDir: this.options.projectDir, workDir: stateDir, account, region: this.aws.region, signal: this.abort.signal, onLine: (l) => print(`  bootstrap | ${l}`) }),
      ]);
      this.mark('bootstrap');
      print(`  bootstrapped aws://${account}/${this.aws.region} (${this.elapsed()})`);
    });
    const synthesized = synth({ endpoint, projectDir: this.options.projectDir, outDir: assemblyDir, checks, signal: this.abort.signal, onLine: (l) => print(`  synth | ${l}`) })
      .then((all) => {
        this.mark('synth');
        print(`  synthesized ${all.map((s) => s.id).join(', ')} (${this.elapsed()})`);
        return selectStacks(all, this.options.stacks ?? []);
      });
    parts = afterDeploy();
    // The first failure (an unknown stack name, moto failing to start) stops the other step;
    // both settle before it is thrown, so nothing is left running half-way.
    let firstError: unknown;
    const failFast = <T>(step: Promise<T>) => step.catch((e: unknown) => {
      firstError ??= e;
      this.abort.abort();
      throw e;
    });
    const [, synthResult] = await Promise.allSettled([failFast(bootstrapped), failFast(synthesized)]);
    if (firstError !== undefined) throw firstError;
    const stacks = (synthResult as PromiseFulfilledResult<AssemblyStack[]>).value;
    this.checkNotStopping();

    print(`Deploying ${stacks.map((s) => s.id).join(', ')} (cdk deploy)...`);
    await deploy({ endpoint, projectDir: this.options.projectDir, assemblyDir, stacks, signal: this.abort.signal, onLine: (l) => print(`  ${l}`) });
    this.mark('deploy');
    this.checkNotStopping();

    const clients = this.clients!;
    // What moto's CloudFormation accepted without creating (Cognito user pools), created through
    // the service's API first, so that the inventory reads them as deployed.
    const completed = await parts.completeCognitoUserPools(clients, stacks.map((s) => s.stackName));
    // What moto did not model is read alongside the inventory (each needs only the stacks' names).
    const [inventory, skipped] = await Promise.all([
      parts.readInventory(endpoint, clients, stacks.map((s) => s.stackName), completed),
      Promise.all(stacks.map((s) => parts.notModelled(clients.cloudformation, s.stackName).catch(() => new Map<string, number>()))),
    ]);
    this.inventory = inventory;
    this.printDeployed(skipped, completed);
    this.checkNotStopping();

    // Progress from now on: each stack's line appears once its workloads run.
    this.progress = parts.startProgress({
      since: this.startedAt,
      print: (line) => print(`  ${line}`),
      sample: async () => this.onSample(await parts.sampleProgress(inventory, this.workloads, this.demos, clients, this.startedAt)),
    });

    // Every stack's workloads start side by side; a demo starts as soon as what it needs runs.
    const jobs = this.options.jobs ?? 30;
    const plans = jobs > 0 ? parts.DEMO_KINDS.flatMap((kind) => kind(inventory, { clients, jobs, failingJob: this.options.failingJob ?? true, print })) : [];
    const demos = new parts.DemoStarter(plans, (demo) => {
      this.demos.push(demo);
      if (!this.milestones.has('jobsSent')) void this.watchFirstDone();
      this.mark('jobsSent');
      // Every demo sent: from now on "all done" can be told, before the slowest workload is up.
      if (demos.allSent) this.demosSent = true;
    });
    print('Running what AWS would run:');
    try {
      await parts.startWorkloads(inventory, {
        endpoint,
        workDir: path.join(stateDir, 'run'),
        logDir: path.join(stateDir, 'logs'),
        s3: clients.s3,
        sqs: clients.sqs,
        lambda: clients.lambda,
        autoscaling: clients.autoscaling,
        clientConfig: localClientConfig(endpoint),
        note: (line) => print(line),
        echoLogs: this.options.echoLogs ?? false,
      }, parts.WORKLOAD_KINDS, (started) => {
        if (this.stopping) return;
        this.workloads.push(...started);
        for (const w of started) print(`  ${w.stackName}: ${w.title} (${this.elapsed()})`);
        demos.workloadsStarted(this.workloads);
      });
    } catch (e) {
      // Every workload was stopped; the demos under way have nothing left to wait for.
      this.workloads = [];
      await demos.sent().catch(() => undefined);
      throw e;
    }
    this.mark('workers');
    await demos.sent();
    // Demos whose workload never came (none runs for their queue) are not waited for.
    this.demosSent = true;
    if (this.workloads.length > 0) {
      print(`  (their logs: ${path.relative(process.cwd(), path.join(stateDir, 'logs')) || '.'}/<function, or group-stack>.log)`);
    } else {
      print('  nothing: no deployed resource declares a workload that the local cloud runs.');
    }
    for (const p of inventory.declarationProblems) {
      print(`  ${p.stackName}/${p.logicalId}: its workload declaration${p.kind ? ` (${p.kind} v${p.version})` : ''} cannot be read, so nothing runs for it: ${p.problem}`);
    }
    for (const line of parts.notRunDeclarations(inventory)) print(`  ${line}`);
    const runs = (stackName: string, logicalId: string) => this.workloads.some((w) => w.stackName === stackName && w.resources.includes(logicalId));
    // A group of a declared image that is not run (a baked one) was explained by its kind.
    const images = new Set(inventory.declarations(BOOTSTRAPPED_IMAGE_WORKLOAD).map((d) => d.physicalId));
    for (const g of inventory.autoScalingGroups.filter((g) => !runs(g.stackName, g.logicalId) && !images.has(g.launchTemplate?.id ?? ''))) {
      print(
        `  ${g.stackName}: Auto Scaling group ${g.logicalId} (min ${g.minSize}, max ${g.maxSize}, desired ${g.desiredCapacity}) is deployed, ` +
          'but nothing runs for it locally: it launches from no BootstrappedImage (the local cloud boots those, and runs FleetWorker and WebTier groups\' programs).',
      );
    }
    this.checkNotStopping();
    await this.progress.tick();
  }

  /**
   * Prints each deployed stack, its outputs, what the local cloud created in moto's place
   * (`completed`) and what moto accepted without modelling it (`skipped`, per stack in order).
   */
  private printDeployed(skipped: readonly ReadonlyMap<string, number>[], completed: readonly CompletedResource[]): void {
    const { print } = this.options;
    for (const [i, stack] of this.inventory!.stacks.entries()) {
      for (const c of completed.filter((r) => r.stackName === stack.name)) {
        const left = (skipped[i]!.get(c.type) ?? 0) - 1;
        const missing = skipped[i] as Map<string, number>;
        if (left > 0) missing.set(c.type, left);
        else missing.delete(c.type);
      }
    }
    print(`Deployed (${this.elapsed()}), as the embedded AWS describes it:`);
    this.inventory!.stacks.forEach((stack, i) => {
      print(`  ${stack.name}: ${stack.status}, ${stack.resources.length} resources`);
      for (const [key, value] of Object.entries(stack.outputs)) print(`    ${key} = ${value}`);
      for (const c of completed.filter((r) => r.stackName === stack.name)) {
        print(`    ${c.logicalId} (${c.type}) = ${c.physicalId}: created by the local cloud through the Cognito API (moto's CloudFormation does not model it)` +
          `${c.skipped.length > 0 ? `; left out: ${c.skipped.join(', ')}` : ''}`);
      }
      if (skipped[i]!.size > 0) {
        print(`    accepted but not modelled by moto (nothing runs for them locally): ${[...skipped[i]!].map(([t, n]) => `${t} x${n}`).join(', ')}`);
      }
    });
  }

  /**
   * Marks firstDone as soon as a demo item is done: the demos' own progress is read every 200 ms
   * (a few scans of their results), where the progress lines sample every stack once a second.
   */
  private async watchFirstDone(): Promise<void> {
    const until = Date.now() + 120_000;
    while (!this.milestones.has('firstDone') && !this.stopping && Date.now() < until) {
      const done = await Promise.all(this.demos.map((d) => d.progress().then((p) => p.done, () => 0)));
      if (done.some((n) => n > 0)) this.mark('firstDone');
      else await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Marks firstDone/allDone from a progress sample. */
  private onSample(rows: ProgressRow[]): ProgressRow[] {
    this.onDemoProgress(rows.map((r) => r.demo).filter((d): d is NonNullable<ProgressRow['demo']> => d !== undefined));
    return rows;
  }

  /** Marks firstDone/allDone from the demos' progress (their items done, of their totals). */
  private onDemoProgress(demos: readonly { readonly done: number; readonly total: number }[]): void {
    if (demos.some((d) => d.done > 0)) this.mark('firstDone');
    // All done only once every demo was sent: a stack's demo starts when its workloads run.
    if (this.demosSent && demos.length > 0 && demos.every((d) => d.done >= d.total) && !this.milestones.has('allDone')) {
      this.mark('allDone');
      const t = this.timings;
      const since = (m: Milestone) => (((t.get(m) ?? 0) - (t.get('jobsSent') ?? 0)) / 1000).toFixed(1);
      this.options.print(
        `All demo ${[...new Set(this.demos.map((d) => d.kind))].join(' and ')} done: first ${since('firstDone')} s and all ${since('allDone')} s after sending (${this.elapsed()} after the start).`,
      );
    }
  }

  /** Waits until every demo item (good job, upload) is done; false when `timeoutMs` passed first. Reads the demos alone, twice a second. */
  async waitForDemo(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.demos.length > 0 && !this.milestones.has('allDone') && Date.now() < until && !this.stopping) {
      await new Promise((r) => setTimeout(r, 500));
      this.onDemoProgress(await Promise.all(this.demos.map((d) => d.progress().then((p) => ({ done: p.done, total: d.total }), () => ({ done: 0, total: d.total })))));
    }
    return this.milestones.has('allDone');
  }

  /**
   * Checks the demos (after {@link waitForDemo}): every good job done exactly once and the failing
   * one never, every upload a summary and one record. Returns the problems; empty when all is well.
   */
  async checkDemo(): Promise<string[]> {
    return (await Promise.all(this.demos.map((demo) => demo.problems()))).flat();
  }

  /** How to send more jobs, for the running local cloud. */
  howToUse(): string[] {
    const aws = this.aws;
    if (!aws) return [];
    const env = `AWS_ACCESS_KEY_ID=${LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY=${LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY} AWS_REGION=${aws.region} AWS_DEFAULT_REGION=${aws.region}`;
    const lines: string[] = [
      `The embedded AWS runs at ${aws.endpoint} (account ${aws.account}, ${aws.region}): use it with any AWS tool,`,
      `  with ${env} and --endpoint-url ${aws.endpoint} (or AWS_ENDPOINT_URL=${aws.endpoint}).`,
    ];
    for (const demo of this.demos) lines.push(...demo.howToUse(aws.endpoint, env));
    for (const w of this.workloads) lines.push(...(w.howToUse?.() ?? []));
    const pids = this.workloads.filter((w) => w.queueUrl !== undefined).flatMap((w) => w.pids());
    if (pids.length > 0) lines.push(`Worker processes now: ${pids.join(' ')} (kill one: no job is lost, its jobs come back after their visibility timeout).`);
    lines.push('Ctrl-C stops everything.');
    return lines;
  }

  /** Stops the progress, the workloads, the CLI if it runs, and the embedded AWS. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      this.progress?.stop();
      await Promise.allSettled(this.workloads.map((w) => w.stop()));
      // Anything else this process started (a CLI run that was aborted, a sandbox starting).
      await stopAll(2000);
      for (const client of Object.values(this.clients ?? {})) client.destroy();
      const moto = await this.motoStarting?.catch(() => undefined);
      await moto?.stop();
    })();
    return this.stopping;
  }

  /** Pids of child processes still running (empty after stop()). */
  leftovers(): number[] {
    return runningPids();
  }

  /** The elapsed line of a final summary. */
  summary(): string {
    const t = this.timings;
    const s = (m: Milestone) => (t.has(m) ? `${(t.get(m)! / 1000).toFixed(1)} s` : '-');
    return `timings since start: embedded AWS ${s('moto')}, synth ${s('synth')}, bootstrap ${s('bootstrap')}, deploy ${s('deploy')}, ` +
      `first job done ${s('firstDone')}, all done ${s('allDone')}`;
  }
}
