/**
 * The runtime inside one local Lambda sandbox (a child process of the local cloud). Like
 * Lambda's Node.js runtime it loads the handler that `_HANDLER` names from `LAMBDA_TASK_ROOT`
 * once (the init phase), then runs one invocation at a time, here on request from the parent
 * over the IPC channel. The local cloud builds this file with esbuild into an ES module, so
 * that it imports the function's code (ESM or CommonJS) natively and needs no TypeScript
 * loader in every sandbox.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';

/** An invocation request from the parent. */
export interface InvokeRequest {
  readonly type: 'invoke';
  readonly id: number;
  readonly event: unknown;
  readonly context: {
    readonly awsRequestId: string;
    readonly functionName: string;
    readonly functionVersion: string;
    readonly invokedFunctionArn: string;
    readonly memoryLimitInMB: string;
    readonly logGroupName: string;
    readonly logStreamName: string;
    /** Epoch ms at which the invocation times out. */
    readonly deadline: number;
  };
}

/** A serialized error, with the name Lambda would report. */
export interface RuntimeError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stack?: string;
}

/** What the sandbox tells the parent. */
export type RuntimeMessage =
  | { readonly type: 'ready'; readonly initMs: number }
  | { readonly type: 'init-error'; readonly error: RuntimeError }
  | { readonly type: 'result'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'result'; readonly id: number; readonly ok: false; readonly error: RuntimeError };

type Handler = (event: unknown, context: unknown) => unknown;

function serializeError(e: unknown, fallbackType = 'Error'): RuntimeError {
  if (e instanceof Error) return { errorType: e.name || fallbackType, errorMessage: e.message, stack: e.stack };
  return { errorType: fallbackType, errorMessage: String(e) };
}

function send(message: RuntimeMessage): void {
  process.send?.(message);
}

/** Loads `module.export` from the task root, trying the extensions Lambda's runtime tries. */
async function loadHandler(root: string, spec: string): Promise<Handler> {
  const dot = spec.lastIndexOf('.');
  if (dot <= 0) throw Object.assign(new Error(`Bad handler ${spec}: expected file.export`), { name: 'Runtime.MalformedHandlerName' });
  const moduleName = spec.slice(0, dot);
  const exportPath = spec.slice(dot + 1);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => path.join(root, moduleName + ext)).find((f) => fs.existsSync(f));
  if (!file) {
    throw Object.assign(new Error(`Cannot find module '${moduleName}' in ${root} (tried .js, .mjs, .cjs)`), { name: 'Runtime.ImportModuleError' });
  }
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown> & { default?: Record<string, unknown> };
  const handler = mod[exportPath] ?? mod.default?.[exportPath];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${spec} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return handler as Handler;
}

async function main(): Promise<void> {
  const started = Date.now();
  const root = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  let handler: Handler;
  try {
    handler = await loadHandler(root, process.env._HANDLER ?? 'index.handler');
  } catch (e) {
    send({ type: 'init-error', error: serializeError(e, 'Runtime.ImportModuleError') });
    // Let the message reach the parent before exiting.
    setTimeout(() => process.exit(1), 50);
    return;
  }

  process.on('message', (request: InvokeRequest) => {
    if (request?.type !== 'invoke') return;
    const fail = () => {
      throw new Error('callback-style completion is not supported by the Node.js 24 runtime: return a promise');
    };
    const context = {
      ...request.context,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, request.context.deadline - Date.now()),
      done: fail,
      fail,
      succeed: fail,
    };
    Promise.resolve()
      .then(() => handler(request.event, context))
      .then(
        (value) => send({ type: 'result', id: request.id, ok: true, value: value === undefined ? null : value }),
        (error) => send({ type: 'result', id: request.id, ok: false, error: serializeError(error) }),
      );
  });
  // The exit-with-parent preload unrefs the channel so that short-lived children end by
  // themselves; a sandbox lives to wait for invocations, so it keeps the channel referenced.
  process.channel?.ref();
  send({ type: 'ready', initMs: Date.now() - started });
}

void main();
