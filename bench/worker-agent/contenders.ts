/**
 * The contenders of the worker-agent benchmark as the parent sees them: each runs in its own
 * long-lived child process (bench/worker-agent/child.ts, bundled as FleetWorker bundles an agent
 * program), which takes one run at a time; and the idle agent and sqs-consumer whose requests a
 * minute are counted.
 */
import { fork, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import { AGENT_ESBUILD_OPTIONS } from '../../lib/core/bundling';
import { defineJobHandler, startWorker } from '../../runtime/index';
import type { ContenderSpec, RunReport, RunRequest } from './child';

export type { ContenderSpec, JobBody, RunReport } from './child';

const BUNDLE_DIR = path.join(__dirname, '..', '..', '.tmp', 'bench-worker-agent');
const CHILD = path.join(BUNDLE_DIR, 'child.mjs');

/**
 * Bundles bench/worker-agent/child.ts into one ES module with the options FleetWorker bundles an
 * agent program with (the SDK, sqs-consumer and the runtime inside): every side starts from the
 * same kind of file, and the agent's job threads can run it again.
 */
export function bundleChild(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  fs.mkdirSync(BUNDLE_DIR, { recursive: true });
  esbuild.buildSync({ ...AGENT_ESBUILD_OPTIONS, entryPoints: [path.join(__dirname, 'child.ts')], outfile: CHILD });
  return CHILD;
}

/** A child process that runs one contender at a time. */
export class ContenderProcess {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private nextId = 0;
  private stderr = '';

  constructor() {
    if (!fs.existsSync(CHILD)) bundleChild();
    this.child = fork(CHILD, [], { execArgv: [], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
      process.stderr.write(d);
    });
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (m: { type?: string }) => {
        if (m.type === 'ready') { this.child.off('message', onMessage); resolve(); }
      };
      this.child.on('message', onMessage);
      this.child.once('exit', (code) => reject(new Error(`benchmark child exited with ${code} while starting:\n${this.stderr}`)));
    });
  }

  /**
   * Starts a run: resolves `started` once the consumer is polling (the moment to start a
   * stream of jobs), and `done` with the child's report.
   */
  public async run(spec: Omit<RunRequest, 'type' | 'id'>): Promise<{ started: Promise<void>; done: Promise<RunReport> }> {
    await this.ready;
    const id = this.nextId++;
    let onStarted!: () => void;
    const started = new Promise<void>((resolve) => { onStarted = resolve; });
    const done = new Promise<RunReport>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`benchmark child exited with ${code} during a run:\n${this.stderr}`));
      const onMessage = (m: { type?: string; id?: number }) => {
        if (m.id !== id) return;
        if (m.type === 'started') onStarted();
        if (m.type === 'done') {
          this.child.off('message', onMessage);
          this.child.off('exit', onExit);
          resolve(m as RunReport);
        }
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
    this.child.send({ type: 'run', id, ...spec } satisfies RunRequest);
    return { started, done };
  }

  public async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** A short label of a contender. */
export function describe(c: ContenderSpec): string {
  if (c.kind === 'agent') {
    const window = c.receiveBatchWindowMs === undefined ? '' : `, receiveBatchWindowMs ${c.receiveBatchWindowMs}`;
    const deletes = c.deleteBatchWindowMs === undefined ? '' : `, deleteBatchWindowMs ${c.deleteBatchWindowMs}`;
    return `agent, concurrency ${c.concurrency}${window}${deletes}${c.jobThreads ? `, ${c.jobThreads} job threads` : ''}`;
  }
  const handler = c.batchHandler ? 'handleMessageBatch' : 'handleMessage';
  return `sqs-consumer${c.instances > 1 ? ` x${c.instances}` : ''}, batchSize ${c.batchSize}, ${handler}`;
}

/** Jobs a contender has running at once at most. */
export function jobsInFlight(c: ContenderSpec): number {
  return c.kind === 'agent' ? c.concurrency : c.instances * c.batchSize;
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Starts an idle agent or sqs-consumer on an empty queue; returns a function that stops it. */
export function startIdle(kind: 'agent' | 'sqs-consumer', sqs: SQSClient, queueUrl: string): () => Promise<void> {
  if (kind === 'agent') {
    const worker = startWorker({ queueUrl, handler: defineJobHandler(() => undefined), sqs, idempotency: false, logger: quiet });
    return async () => { await worker.stop(0); };
  }
  const consumer = Consumer.create({ queueUrl, sqs, batchSize: 10, waitTimeSeconds: 20, handleMessage: async (m: Message) => m });
  consumer.on('error', () => undefined); // its aborted poll at stop
  consumer.start();
  return async () => { consumer.stop({ abort: true }); };
}
