/**
 * The agent program FleetWorker ships, run for real: the bundle synthesized from the handler file
 * the LambdaWorker tests use (unchanged), started as a process with the environment the
 * template gives it, against fauxqs started by this file. It takes the jobs and does them.
 */
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';
import { JobClient } from '../../../runtime/index';
import { FLEET_ENV, LIFECYCLE_HOOK_ENV, QUEUE_URL_ENV } from '../../../runtime/jobs/environment';
import { LOCAL_AWS_ENV } from '../../../local/moto';
import { fileFromBootScript, parseEnvironmentFile } from '../../../contracts/image-bootstrap';
import { FLEET_AGENT_ENV_FILE } from '../../../contracts/work-queue';
import { FleetWorker } from '../../../lib/work-queue/fleet-worker';
import { cfnText, userData } from '../image-bootstrap/support/template';
import { WorkQueue } from '../../../lib/work-queue/work-queue';
import { createQueueWithDlq, useFauxqs } from '../../support/fauxqs';
import { queueDepth, waitFor } from '../../support/local-aws';
import { newStack, newVpc, templateOf } from '../../support/stacks';

const aws = useFauxqs();
const LAMBDA_HANDLER = path.join(__dirname, 'fixtures', 'job-handler.ts');

let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  child = undefined;
});

/** The agent's environment file as the synthesized user data writes it (references as `<Ref X>`). */
function agentEnvironmentOf(template: ReturnType<typeof templateOf>): Record<string, string> {
  return parseEnvironmentFile(fileFromBootScript(userData(template), FLEET_AGENT_ENV_FILE) ?? '');
}

describe('the agent program of a FleetWorker', () => {
  test('runs the handler a LambdaWorker runs, unchanged, on the jobs of its queue', async () => {
    // GIVEN the program synthesized from the LambdaWorker tests' handler file
    const { app, stack } = newStack();
    const fleet = new FleetWorker(stack, 'Fleet', {
      workQueue: new WorkQueue(stack, 'Jobs'),
      vpc: newVpc(stack, { subnets: 'public-and-private' }),
      entry: LAMBDA_HANDLER,
      concurrency: 3,
    });
    const program = path.join(app.outdir, fleet.program.assetPath, 'index.mjs');

    // AND the environment the template gives it, with the deploy-time values of a local queue;
    // no Auto Scaling here, so without fleet mode (as the local cloud runs it)
    const { queueUrl } = await createQueueWithDlq(aws.sqs, { visibilityTimeout: 60, maxReceiveCount: 5 });
    const deployed = agentEnvironmentOf(templateOf(stack));
    expect(deployed[QUEUE_URL_ENV]).toEqual(cfnText(stack.resolve(fleet.programEnvironment[QUEUE_URL_ENV])));
    const env: Record<string, string> = { ...deployed, [QUEUE_URL_ENV]: queueUrl, AWS_REGION: LOCAL_AWS_ENV.AWS_REGION } as Record<string, string>;
    delete env[FLEET_ENV];
    delete env[LIFECYCLE_HOOK_ENV];
    expect(Object.values(env).every((v) => typeof v === 'string')).toBe(true);

    // WHEN it runs as its own process and jobs arrive
    let output = '';
    child = fork(program, [], {
      execArgv: [],
      env: { PATH: process.env.PATH ?? '', ...LOCAL_AWS_ENV, AWS_ENDPOINT_URL: aws.fauxqs.endpoint, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    const names = ['Ada', 'Grace', 'Edsger', 'Barbara', 'Tony'];
    await new JobClient<{ name: string }>({ queueUrl, sqs: aws.sqs }).send(names.map((name) => ({ name })));

    // THEN the handler ran on every job, and every message was deleted
    await waitFor('every job to be done', () => names.every((n) => output.includes(`"name":"${n}"`)), 30_000, 50);
    await waitFor('the queue to be empty', async () => {
      const depth = await queueDepth(aws.sqs, queueUrl);
      return depth.visible === 0 && depth.inFlight === 0;
    }, 10_000);
    const hellos = output.split('\n').filter((l) => l.includes('"message":"hello"'));
    expect(hellos).toHaveLength(5);
    expect(output).not.toMatch(/"level":"ERROR"/);
  });
});
