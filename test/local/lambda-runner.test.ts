/**
 * The local cloud's Lambda sandboxes (local/lambda-runner.ts), with a small handler and no AWS:
 * the sandbox a LambdaWorker's workload warms as it starts is the one its first invocation runs
 * in, also when that invocation comes while the sandbox is still loading, and a handler that does
 * not load fails the warm-up with its own error. (The Lambda path end to end, with the embedded
 * AWS: test/local/workloads/lambda-sqs.test.ts.)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Context } from 'aws-lambda';
import { FunctionHost, buildLambdaRuntime } from '../../local/lambda-runner';
import type { DeployedFunction } from '../../local/inventory';

let dir: string;
let runtimeFile: string;
const hosts: FunctionHost[] = [];
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-runner-'));
  runtimeFile = buildLambdaRuntime(dir);
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A host of a function whose handler module (index.js) is `source`. */
function hostOf(name: string, source: string): FunctionHost {
  const codeDir = path.join(dir, name);
  fs.mkdirSync(codeDir);
  fs.writeFileSync(path.join(codeDir, 'package.json'), '{}\n');
  fs.writeFileSync(path.join(codeDir, 'index.js'), source);
  const fn: DeployedFunction = {
    stackName: 'Test', logicalId: name, name, arn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`, runtime: 'nodejs24.x',
    handler: 'index.handler', timeoutSeconds: 10, memoryMb: 128, environment: {}, codeSha256: '', codeLocation: '',
  };
  const host = new FunctionHost({ fn, codeDir, runtimeFile, endpoint: 'http://localhost:9' });
  hosts.push(host);
  return host;
}

const context = { awsRequestId: 'r1', functionName: 'f', functionVersion: '$LATEST', invokedFunctionArn: '', logStreamName: 'local', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

/** A handler that answers with its process id and how many calls its process served; its module takes `initMs` to load. */
const COUNTING = (initMs: number) => `
const until = Date.now() + ${initMs};
while (Date.now() < until) { /* a slow init */ }
let calls = 0;
exports.handler = async () => ({ pid: process.pid, calls: ++calls });
`;

describe('a function host', () => {
  test('runs the first invocation in the sandbox it warmed, starting no other', async () => {
    // GIVEN a host warmed before any invocation (as the workload does when it starts)
    const host = hostOf('warmed', COUNTING(0));
    await host.warm();
    const [warmedPid] = host.pids;

    // WHEN it is invoked THEN the warm sandbox answers: one cold start in all
    expect(await host.invoke({}, context)).toEqual({ pid: warmedPid, calls: 1 });
    expect(host.stats).toMatchObject({ sandboxes: 1, coldStarts: 1, invocations: 1 });
  });

  test('an invocation that comes while the warm-up still loads waits for that sandbox instead of starting another', async () => {
    // GIVEN a warm-up under way, its handler taking 700 ms to load
    const host = hostOf('loading', COUNTING(700));
    const warming = host.warm();

    // WHEN an invocation comes at once
    const answer = await host.invoke({}, context) as { pid: number; calls: number };
    await warming;

    // THEN it ran in the warmed sandbox, the only one started, which then waits for the next
    expect(host.pids).toEqual([answer.pid]);
    expect(answer.calls).toBe(1);
    expect(host.stats).toMatchObject({ sandboxes: 1, coldStarts: 1, invocations: 1, busy: 0 });
    expect(await host.invoke({}, context)).toEqual({ pid: answer.pid, calls: 2 });
  });

  test('a handler that does not load fails the warm-up with its error, and each invocation after it', async () => {
    const host = hostOf('broken', 'throw new Error("missing configuration: TABLE_NAME");');
    await expect(host.warm()).rejects.toThrow(/missing configuration: TABLE_NAME/);
    await expect(host.invoke({}, context)).rejects.toThrow(/missing configuration: TABLE_NAME/);
  });
});
