/**
 * LambdaWorkers, run locally: for each enabled event source mapping that declares a LambdaWorker
 * workload (contracts/work-queue.ts), the
 * local poller (local/sqs-event-source.ts) with the mapping's deployed batch size, batching
 * window, maximum concurrency and ReportBatchItemFailures, invoking the deployed function in
 * sandboxes (local/lambda-runner.ts). Without MaximumConcurrency, Lambda starts with five
 * concurrent pollers per queue; so does this (it does not scale further).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { SQSBatchResponse } from 'aws-lambda';
import { LAMBDA_WORKER_WORKLOAD } from '../../contracts/work-queue';
import { functionByArn, queueByArn, type DeployedFunction, type DeployedSqsMapping, type Inventory } from '../inventory';
import { FunctionHost, buildLambdaRuntime, fetchFunctionCode, type SandboxEvent } from '../lambda-runner';
import { startSqsEventSource, type InvocationOutcome } from '../sqs-event-source';
import type { Workload, WorkloadContext, WorkloadKind } from './types';

/** Lambda's initial number of concurrent pollers per SQS queue. */
export const DEFAULT_SQS_POLLERS = 5;

export const lambdaSqsWorkloads: WorkloadKind = {
  name: 'LambdaWorkers (Lambda event source mappings on SQS)',
  declares: [LAMBDA_WORKER_WORKLOAD],
  async start(inventory: Inventory, context: WorkloadContext): Promise<Workload[]> {
    const mappings: DeployedSqsMapping[] = [];
    for (const d of inventory.declarations(LAMBDA_WORKER_WORKLOAD)) {
      const mapping = inventory.sqsMappings.find((m) => m.stackName === d.stackName && m.logicalId === d.logicalId);
      if (!mapping) context.note(`${d.stackName}: skipped LambdaWorker ${d.logicalId}: the embedded AWS describes no SQS event source mapping ${d.physicalId}.`);
      else if (mapping.enabled) mappings.push(mapping);
    }
    if (mappings.length === 0) return [];
    const runtimeFile = buildLambdaRuntime(context.workDir);
    const hosts = new Map<string, FunctionHost>();
    const workloads: Workload[] = [];

    const hostFor = async (fn: DeployedFunction): Promise<FunctionHost> => {
      const existing = hosts.get(fn.name);
      if (existing) return existing;
      const codeDir = await fetchFunctionCode(fn, context.s3, path.join(context.workDir, 'functions'));
      fs.mkdirSync(context.logDir, { recursive: true });
      const log = fs.createWriteStream(path.join(context.logDir, `${fn.name}.log`), { flags: 'a' });
      log.on('error', () => undefined);
      const host = new FunctionHost({
        fn,
        codeDir,
        runtimeFile,
        endpoint: context.endpoint,
        onLog: (line) => {
          if (log.writable) log.write(`${line}\n`);
          if (context.echoLogs) context.note(`  ${fn.stackName}/${fn.logicalId} | ${line}`);
        },
        onEvent: (event) => noteSandboxEvent(event, fn, inventory, context, () => stopping, initErrors),
      });
      hosts.set(fn.name, host);
      // One sandbox starts now, while the pollers make their first receive: the first batch finds
      // it loading or ready instead of starting one (a cold start of about a second on a busy
      // machine). A handler that does not load is reported by its 'init-failed' event, as on an
      // invocation; the smoke check warms it again and says so.
      host.warm().catch(() => undefined);
      closers.set(fn.name, async () => {
        await host.stop();
        log.end();
      });
      return host;
    };

    let stopping = false;
    // A function that cannot start fails on every invocation: say so once per distinct error.
    const initErrors = new Set<string>();
    const closers = new Map<string, () => Promise<void>>();
    for (const mapping of mappings) {
      const fn = functionByArn(inventory, mapping.functionArn);
      const queue = queueByArn(inventory, mapping.queueArn);
      if (!fn || !queue) {
        context.note(`${mapping.stackName}: skipped event source mapping ${mapping.logicalId}: its ${!fn ? `function ${mapping.functionArn}` : `queue ${mapping.queueArn}`} is not in the deployed stacks.`);
        continue;
      }
      const host = await hostFor(fn);
      const counts = { done: 0, failed: 0 };
      const pollers = mapping.maxConcurrency ?? DEFAULT_SQS_POLLERS;
      const source = startSqsEventSource({
        sqs: context.sqs,
        queueUrl: queue.url,
        invoke: (event, ctx) => host.invoke(event, ctx) as Promise<SQSBatchResponse | undefined>,
        batchSize: mapping.batchSize,
        maxBatchingWindowSeconds: mapping.maxBatchingWindowSeconds,
        maxConcurrency: pollers,
        reportBatchItemFailures: mapping.reportBatchItemFailures,
        functionTimeoutSeconds: fn.timeoutSeconds,
        functionName: fn.name,
        onInvoke: (o: InvocationOutcome) => {
          counts.done += o.deleted;
          counts.failed += o.failed;
        },
      });
      const settings = [
        `batch ${mapping.batchSize}`,
        `window ${mapping.maxBatchingWindowSeconds} s`,
        `max concurrency ${mapping.maxConcurrency ?? `${pollers} (unset)`}`,
        mapping.reportBatchItemFailures ? 'ReportBatchItemFailures' : 'whole-batch retries',
        `timeout ${fn.timeoutSeconds} s`,
        `visibility ${queue.visibilityTimeoutSeconds} s`,
      ];
      workloads.push({
        title: `Lambda ${fn.logicalId} (${fn.handler}, ${fn.runtime}) <- SQS ${queue.logicalId}: ${settings.join(', ')}`,
        stackName: mapping.stackName,
        resources: [mapping.logicalId, fn.logicalId],
        queueUrl: queue.url,
        stats: () => ({ processes: host.stats.sandboxes, crashed: host.stats.crashes, ...counts }),
        async check() {
          // Wired as deployed: the mapping's function and queue, polled; the handler loads in a sandbox.
          const where = `${mapping.stackName}/${mapping.logicalId}`;
          const problems: string[] = [];
          // Polling: a receive answered, or one waiting in its long poll that SQS did not refuse (a missing queue fails at once).
          const until = Date.now() + 10_000;
          while (source.receivesStarted === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
          await new Promise((r) => setTimeout(r, 500));
          if (source.receivesStarted === 0) problems.push(`${where}: its poller made no receive on ${queue.logicalId} within 10 s`);
          else if (source.lastReceiveError) problems.push(`${where}: its poller's receives on ${queue.logicalId} fail: ${source.lastReceiveError.message}`);
          await host.warm().catch((e: Error) => problems.push(`${where}: the function ${fn.logicalId} does not start: ${e.message}`));
          return {
            summary: `LambdaWorker ${mapping.stackName}/${fn.logicalId}: its deployed mapping feeds it ${queue.logicalId} (its pollers long-polling, ${source.receivesStarted} receives so far), its handler loaded in a sandbox`,
            problems,
          };
        },
        pids: () => host.pids,
        busyPids: () => host.busyPids,
        async stop() {
          stopping = true;
          // Stop polling first, then end the sandboxes: an invocation still running fails
          // and its messages stay in the queue, as when Lambda is stopped mid-batch.
          const polling = source.stop();
          await closers.get(fn.name)!();
          await polling;
        },
      });
    }
    return workloads;
  },
};

function noteSandboxEvent(
  event: SandboxEvent,
  fn: DeployedFunction,
  inventory: Inventory,
  context: WorkloadContext,
  stopping: () => boolean,
  initErrors: Set<string>,
): void {
  if (event.kind === 'init-failed') {
    const text = `function ${fn.name} failed to start (${event.error.errorType}): ${event.error.errorMessage}`;
    if (!initErrors.has(text)) context.note(`${fn.stackName}: ${text}. Its jobs stay in the queue and are retried after the visibility timeout.`);
    initErrors.add(text);
  } else if (event.kind === 'exited' && event.during === 'idle' && !stopping()) {
    const why = event.signal ? `was killed (${event.signal})` : `exited with code ${event.code}`;
    context.note(`${fn.stackName}: sandbox ${event.pid} of ${fn.logicalId} ${why} while idle: no job was running in it; the next invocation starts a new sandbox.`);
  } else if (event.kind === 'exited' && (event.during === 'invocation' || event.during === 'timeout') && !stopping()) {
    const queue = inventory.sqsMappings
      .filter((m) => m.functionArn === fn.arn)
      .map((m) => queueByArn(inventory, m.queueArn))
      .find(Boolean);
    const why = event.during === 'timeout'
      ? `was stopped at the function's timeout (${fn.timeoutSeconds} s)`
      : event.signal ? `was killed (${event.signal})` : `exited with code ${event.code}`;
    context.note(
      `${fn.stackName}: sandbox ${event.pid} of ${fn.logicalId} ${why} during an invocation: its batch stays in the queue and comes back ` +
        `after the visibility timeout${queue ? ` (${queue.visibilityTimeoutSeconds} s)` : ''}; the next invocation starts a new sandbox.`,
    );
  }
}
