/**
 * Runs a deployed Lambda function as Lambda would, on this machine: its deployed package
 * (downloaded from the embedded AWS and checked against the function's CodeSha256), in child
 * processes ("sandboxes", one invocation at a time each, started on demand and kept warm),
 * with the deployed handler, timeout, memory and environment variables plus the local
 * endpoint and dummy credentials. A sandbox that dies or times out fails its invocation, as
 * in Lambda, and the next invocation starts a new one.
 */
import type { ChildProcess } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { GetObjectCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { QUIET_SDK_ENV } from './deploy';
import type { DeployedFunction } from './inventory';
import type { InvokeRequest, RuntimeError, RuntimeMessage } from './lambda-runtime';
import { LOCAL_AWS_ENV } from './moto';
import { eachLine, spawnNode, stopChild } from './processes';
import { extractZip } from './zip';

/** An invocation that failed: the function threw, timed out, or its sandbox died or failed to start. */
export class InvocationError extends Error {
  override readonly name = 'InvocationError';
  constructor(message: string, readonly errorType: string) {
    super(message);
  }
}

/**
 * Builds the sandbox runtime (local/lambda-runtime.ts) into `dir` as an ES module and
 * returns its path. Once per folder and process: a few milliseconds with esbuild.
 */
export function buildLambdaRuntime(dir: string): string {
  // The installed package ships it built (npm run build), so a user's app needs no esbuild for it.
  const prebuilt = path.join(__dirname, 'lambda-runtime.mjs');
  if (fs.existsSync(prebuilt)) return prebuilt;
  // Once per folder: each stack's LambdaWorkers start on their own and all ask for it.
  const built = runtimesBuilt.get(dir);
  if (built !== undefined && fs.existsSync(built)) return built;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const outfile = path.join(dir, 'lambda-runtime.mjs');
  esbuild.buildSync({
    entryPoints: [path.join(__dirname, 'lambda-runtime.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  runtimesBuilt.set(dir, outfile);
  return outfile;
}

const runtimesBuilt = new Map<string, string>();

/**
 * Downloads the deployed package of `fn` into `dir` and returns the folder it was extracted to.
 *
 * moto's GetFunction gives a Code.Location it does not serve, whose path is the package's S3
 * key; the package itself is in the bucket it was deployed from (the CDK bootstrap's asset
 * bucket). The key is looked up in every bucket and the bytes are checked against the
 * function's CodeSha256, so what runs is exactly what was deployed.
 */
export async function fetchFunctionCode(fn: DeployedFunction, s3: S3Client, dir: string): Promise<string> {
  // As in Lambda's /var/task, a `.js` file is CommonJS unless the package says otherwise: this
  // empty package.json keeps Node from reading the type of a project folder above.
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, 'package.json'))) fs.writeFileSync(path.join(dir, 'package.json'), '{}\n');
  const target = path.join(dir, `${fn.name}-${createHash('sha256').update(fn.codeSha256).digest('hex').slice(0, 12)}`);
  if (fs.existsSync(path.join(target, '.complete'))) return target;
  const key = decodeURIComponent(new URL(fn.codeLocation).pathname.replace(/^\//, ''));
  if (!key) throw new Error(`function ${fn.name}: GetFunction gave no code location (received ${JSON.stringify(fn.codeLocation)}).`);
  // The CDK bootstrap's asset bucket first: it holds the packages `cdk deploy` uploaded.
  const buckets = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).sort((a, b) => Number(/-assets-/.test(b.Name ?? '')) - Number(/-assets-/.test(a.Name ?? '')));
  for (const bucket of buckets) {
    let bytes: Buffer;
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket.Name!, Key: key }));
      bytes = Buffer.from(await object.Body!.transformToByteArray());
    } catch {
      continue;
    }
    const sha = createHash('sha256').update(bytes).digest('base64');
    if (sha !== fn.codeSha256) continue;
    fs.rmSync(target, { recursive: true, force: true });
    extractZip(bytes, target);
    fs.writeFileSync(path.join(target, '.complete'), sha);
    return target;
  }
  throw new Error(
    `function ${fn.name}: its deployed package (key ${key}, CodeSha256 ${fn.codeSha256}) is in none of the ${buckets.length} buckets of the embedded AWS.`,
  );
}

/** The environment of a sandbox: what Lambda sets, the deployed variables, then the local endpoint. */
export function sandboxEnvironment(fn: DeployedFunction, codeDir: string, endpoint: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    LAMBDA_TASK_ROOT: codeDir,
    _HANDLER: fn.handler,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'local',
    ...fn.environment,
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...QUIET_SDK_ENV,
  };
}

/** Something that happened to a sandbox, for progress and logs. */
export type SandboxEvent =
  | { readonly kind: 'started'; readonly fn: string; readonly pid: number; readonly initMs: number }
  | { readonly kind: 'init-failed'; readonly fn: string; readonly pid: number; readonly error: RuntimeError }
  | {
    readonly kind: 'exited';
    readonly fn: string;
    readonly pid: number;
    readonly code: number | null;
    readonly signal: string | null;
    /** What it was doing: starting, running an invocation, waiting for one, or stopped by its timeout. */
    readonly during: 'init' | 'invocation' | 'idle' | 'timeout';
  };

/** Options of a {@link FunctionHost}. */
export interface FunctionHostOptions {
  readonly fn: DeployedFunction;
  /** The extracted package. */
  readonly codeDir: string;
  /** From {@link buildLambdaRuntime}. */
  readonly runtimeFile: string;
  readonly endpoint: string;
  /** Receives every line the function prints (its CloudWatch Logs). */
  readonly onLog?: (line: string) => void;
  readonly onEvent?: (event: SandboxEvent) => void;
}

/** One sandbox: a child process running one invocation at a time. */
class Sandbox {
  private nextId = 1;
  private pending?: { id: number; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
  readonly ready: Promise<void>;
  exited = false;
  private isReady = false;
  private timedOut = false;

  constructor(readonly child: ChildProcess, private readonly options: FunctionHostOptions) {
    const fn = options.fn.name;
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (m: RuntimeMessage) => {
        if (m.type === 'ready') {
          this.isReady = true;
          options.onEvent?.({ kind: 'started', fn, pid: child.pid!, initMs: m.initMs });
          resolve();
        } else if (m.type === 'init-error') {
          options.onEvent?.({ kind: 'init-failed', fn, pid: child.pid!, error: m.error });
          reject(new InvocationError(`${m.error.errorType}: ${m.error.errorMessage}`, m.error.errorType));
        } else if (m.type === 'result' && this.pending?.id === m.id) {
          const p = this.pending;
          this.pending = undefined;
          clearTimeout(p.timer);
          if (m.ok) p.resolve(m.value);
          else p.reject(new InvocationError(`${m.error.errorType}: ${m.error.errorMessage}`, m.error.errorType));
        }
      });
      child.once('error', (e) => reject(new InvocationError(`could not start the sandbox: ${e.message}`, 'Runtime.ExitError')));
      child.once('exit', (code, signal) => {
        this.exited = true;
        const during = this.timedOut ? 'timeout' : !this.isReady ? 'init' : this.pending ? 'invocation' : 'idle';
        options.onEvent?.({ kind: 'exited', fn, pid: child.pid!, code, signal, during });
        const why = signal ? `signal ${signal}` : `exit code ${code}`;
        reject(new InvocationError(`Runtime exited with ${why} before it was ready`, 'Runtime.ExitError'));
        if (this.pending) {
          const p = this.pending;
          this.pending = undefined;
          clearTimeout(p.timer);
          p.reject(new InvocationError(`Runtime exited with ${why} during the invocation`, 'Runtime.ExitError'));
        }
      });
    });
    // Not awaited by anyone when the sandbox dies idle.
    this.ready.catch(() => undefined);
    // Failures to spawn or to send end in 'exit' or in the send callback; an unheard 'error' would crash the local cloud.
    child.on('error', () => undefined);
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  invoke(event: unknown, context: Context, timeoutMs: number): Promise<unknown> {
    const id = this.nextId++;
    const request: InvokeRequest = {
      type: 'invoke',
      id,
      event,
      context: {
        awsRequestId: context.awsRequestId,
        functionName: context.functionName,
        functionVersion: context.functionVersion,
        invokedFunctionArn: this.options.fn.arn || context.invokedFunctionArn,
        memoryLimitInMB: String(this.options.fn.memoryMb),
        logGroupName: `/aws/lambda/${this.options.fn.name}`,
        logStreamName: context.logStreamName,
        deadline: Date.now() + timeoutMs,
      },
    };
    return new Promise((resolve, reject) => {
      // Lambda stops a function at its timeout; so does this (the sandbox is not reused).
      const timer = setTimeout(() => {
        if (this.pending?.id !== id) return;
        this.pending = undefined;
        this.timedOut = true;
        reject(new InvocationError(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`, 'Sandbox.Timedout'));
        void stopChild(this.child, 0);
      }, timeoutMs);
      this.pending = { id, resolve, reject, timer };
      // A sandbox that is dying cannot take the request: the invocation fails (its 'exit' follows).
      this.child.send(request, (error) => {
        if (!error || this.pending?.id !== id) return;
        this.pending = undefined;
        clearTimeout(timer);
        reject(new InvocationError(`the sandbox could not take the invocation: ${error.message}`, 'Runtime.ExitError'));
      });
    });
  }
}

/** Counters of a function host. */
export interface FunctionHostStats {
  /** Sandboxes alive now. */
  readonly sandboxes: number;
  /** Sandboxes busy with an invocation now. */
  readonly busy: number;
  readonly coldStarts: number;
  readonly invocations: number;
  readonly errors: number;
  /** Sandboxes that died while running an invocation (killed, crashed or timed out). */
  readonly crashes: number;
}

/**
 * The sandboxes of one function. `invoke` takes an idle sandbox or starts one, so the number
 * of sandboxes follows the concurrency the event sources ask for, as in Lambda.
 */
export class FunctionHost {
  private readonly idle: Sandbox[] = [];
  /** A sandbox {@link warm} is starting that no invocation took yet: the first invocation waits for it instead of starting another. */
  private warming?: Promise<Sandbox>;
  private readonly all = new Set<Sandbox>();
  private stopped = false;
  private counters = { coldStarts: 0, invocations: 0, errors: 0, crashes: 0 };

  constructor(private readonly options: FunctionHostOptions) {}

  get fn(): DeployedFunction {
    return this.options.fn;
  }

  /** Pids of the live sandboxes (a user may kill one to see nothing lost). */
  get pids(): number[] {
    return [...this.all].map((s) => s.child.pid!).filter(Boolean);
  }

  /** Pids of the sandboxes running an invocation now. */
  get busyPids(): number[] {
    return [...this.all].filter((s) => s.busy).map((s) => s.child.pid!).filter(Boolean);
  }

  get stats(): FunctionHostStats {
    return { sandboxes: this.all.size, busy: [...this.all].filter((s) => s.busy).length, ...this.counters };
  }

  /** Invokes the function with `event`, as the event source would; rejects with InvocationError when it fails. */
  async invoke(event: unknown, context: Context): Promise<unknown> {
    if (this.stopped) throw new InvocationError('the local cloud is stopping', 'Local.Stopping');
    this.counters.invocations++;
    let sandbox = this.idle.pop();
    while (sandbox?.exited) sandbox = this.idle.pop();
    try {
      if (!sandbox && this.warming) {
        const starting = this.warming;
        this.warming = undefined;
        sandbox = await starting.catch(() => undefined);
        if (sandbox?.exited) sandbox = undefined;
      }
      sandbox ??= await this.start();
      const value = await sandbox.invoke(event, context, this.options.fn.timeoutSeconds * 1000);
      return value;
    } catch (e) {
      this.counters.errors++;
      if (sandbox?.exited || (e instanceof InvocationError && e.errorType === 'Sandbox.Timedout')) this.counters.crashes++;
      throw e;
    } finally {
      if (sandbox && !sandbox.exited && !this.stopped) this.idle.push(sandbox);
    }
  }

  /** Starts a sandbox unless one waits already, as a warm-up would: rejects with the function's init error when its handler does not load. */
  async warm(): Promise<void> {
    if (this.stopped) throw new InvocationError('the local cloud is stopping', 'Local.Stopping');
    if (this.idle.some((s) => !s.exited)) return;
    if (this.warming) {
      await this.warming;
      return;
    }
    const starting = this.start();
    this.warming = starting;
    try {
      const sandbox = await starting;
      // Not taken by an invocation meanwhile: it waits for the next one.
      if (this.warming === starting && !sandbox.exited && !this.stopped) this.idle.push(sandbox);
    } finally {
      if (this.warming === starting) this.warming = undefined;
    }
  }

  private async start(): Promise<Sandbox> {
    const { fn, codeDir, runtimeFile, endpoint } = this.options;
    this.counters.coldStarts++;
    const child = spawnNode([
      // Lambda sizes the heap from the function's memory.
      `--max-old-space-size=${Math.max(64, Math.floor(fn.memoryMb * 0.9))}`,
      runtimeFile,
    ], {
      cwd: codeDir,
      env: sandboxEnvironment(fn, codeDir, endpoint),
      // Its own process group: Ctrl-C reaches the local cloud, which stops sandboxes in order.
      detached: true,
    });
    const sandbox = new Sandbox(child, this.options);
    this.all.add(sandbox);
    child.once('exit', () => {
      this.all.delete(sandbox);
      const i = this.idle.indexOf(sandbox);
      if (i >= 0) this.idle.splice(i, 1);
    });
    const log = (line: string) => this.options.onLog?.(line);
    eachLine(child.stdout, log);
    eachLine(child.stderr, log);
    await sandbox.ready;
    return sandbox;
  }

  /** Stops every sandbox (running invocations fail, as when Lambda is stopped). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.all].map((s) => stopChild(s.child, 1000)));
  }
}
