/**
 * The embedded AWS: moto's server (from the machine's Python) on 127.0.0.1 at a free port.
 * It is started with PR_SET_PDEATHSIG, so it dies with the process that started it even when
 * that process is killed with SIGKILL; `stop()` ends it sooner.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as net from 'net';

/** A running moto server. */
export interface MotoServer {
  /** `http://localhost:<port>`: use it as AWS_ENDPOINT_URL (CloudFormation needs `localhost`, not 127.0.0.1). */
  readonly endpoint: string;
  readonly port: number;
  /** Its process id (to check that it stopped). */
  readonly pid: number | undefined;
  /** Resolves when the server's process has exited, for whatever reason, with how it ended. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  /** The last lines the server wrote to stderr (why it died, when it did). */
  stderrTail(): string;
  /** Wipes every resource in it (moto's reset API). */
  reset(): Promise<void>;
  /** Stops it and waits for it to exit. */
  stop(): Promise<void>;
}

/** Thrown when moto's server is not installed; says how to install it. */
export class MotoMissingError extends Error {
  override readonly name = 'MotoMissingError';
}

/** The dummy credentials and region every local AWS client uses. */
export const LOCAL_AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_SESSION_TOKEN: 'testing',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
} as const;

// Exit with the parent (prctl PR_SET_PDEATHSIG = 1), apply the local cloud's adjustments
// (below), then run moto's server quietly. argv: host port parent-pid local-queue-urls builtin-event-sources
const LAUNCHER = `
import ctypes, os, signal, sys, logging
ctypes.CDLL(None).prctl(1, signal.SIGTERM)
if os.getppid() != int(sys.argv[3]):
    sys.exit(0)
logging.getLogger('werkzeug').setLevel(logging.ERROR)
port = sys.argv[2]

def warn(what, error):
    sys.stderr.write('local cloud: could not %s in this moto version (%r); continuing without it\\n' % (what, error))

if sys.argv[4] == '1':
    # CloudFormation's Ref of a queue is its URL. moto makes it https://sqs.<region>.amazonaws.com/...,
    # which SDKs then call directly (they send to the QueueUrl's host): make it reach this server,
    # as a real queue URL reaches real SQS.
    try:
        from moto.sqs.models import Queue
        Queue.physical_resource_id = property(lambda self: 'http://localhost:%s/%s/%s' % (port, self.account_id, self.name))
    except Exception as e:
        warn('give CloudFormation queues local URLs', e)

if sys.argv[5] == '0':
    # moto feeds event source mappings itself on every SendMessage: it receives the messages (raising
    # their receive count, so good jobs reach the dead-letter queue) and fails to run the function
    # without Docker. The local cloud runs Lambda's pollers instead; the mappings stay stored and listed.
    def detached(cls):
        cls.lambda_event_source_mappings = property(lambda self: {}, lambda self, value: None)
    for module, name in (('moto.sqs.models', 'Queue'), ('moto.dynamodb.models.table', 'Table'), ('moto.kinesis.models', 'Stream')):
        try:
            detached(getattr(__import__(module, fromlist=[name]), name))
        except Exception as e:
            warn('detach event source mappings from ' + name, e)

# When a resource fails to create, moto answers CreateStack with an error and leaves the stack
# in CREATE_IN_PROGRESS without events. Record what CloudFormation would: a *_FAILED event for
# the resource with the reason, and the stack's failed status, so a failed deploy can say which
# resource failed and why.
try:
    from moto.cloudformation import parsing as cfn_parsing
    from moto.cloudformation.models import Event, cloudformation_backends

    def reason(e):
        text = getattr(e, 'message', None) or ' '.join(str(a) for a in getattr(e, 'args', ()) if a) or repr(e)
        return '%s: %s' % (type(e).__name__, text)

    def recording(original, action):
        def wrapper(logical_id, resource_json, resources_map, account_id, region_name):
            try:
                return original(logical_id, resource_json, resources_map, account_id, region_name)
            except Exception as e:
                try:
                    stack = cloudformation_backends[account_id][region_name].stacks[resources_map.stack_id]
                    stack.events.append(Event(stack.stack_id, stack.name, logical_id, '', resource_json.get('Type', ''),
                                              action + '_FAILED', reason(e), None))
                    stack.events.append(Event(stack.stack_id, stack.name, stack.name, stack.stack_id, 'AWS::CloudFormation::Stack',
                                              action + '_FAILED', 'The following resource(s) failed to %s: [%s].' % (action.lower(), logical_id), None))
                    stack.status = action + '_FAILED'
                except Exception:
                    pass
                raise
        return wrapper

    cfn_parsing.parse_and_create_resource = recording(cfn_parsing.parse_and_create_resource, 'CREATE')
    cfn_parsing.parse_and_update_resource = recording(cfn_parsing.parse_and_update_resource, 'UPDATE')
except Exception as e:
    warn('record failed CloudFormation resources as stack events', e)

# moto's DynamoDB checks a write's condition and applies the write in separate steps, and its
# server serves requests on threads, so two conditional writes of one item can both pass (a lost
# update that DynamoDB never allows: it applies each item operation atomically). One lock around
# moto's DynamoDB item operations restores that.
try:
    import functools, threading
    from moto.dynamodb.models import DynamoDBBackend
    dynamodb_lock = threading.RLock()

    def atomic(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with dynamodb_lock:
                return fn(*args, **kwargs)
        return wrapper
    for name in ('get_item', 'put_item', 'update_item', 'delete_item', 'query', 'scan', 'batch_get_item', 'batch_write_item',
                 'transact_get_items', 'transact_write_items', 'execute_transaction', 'batch_execute_statement'):
        setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))
except Exception as e:
    warn('make DynamoDB item operations atomic', e)

from moto.server import main
main(['-H', sys.argv[1], '-p', port])
`;

let pythonChecked: string | undefined;

/** The Python that has moto installed; throws MotoMissingError when there is none. */
export function findMotoPython(): string {
  if (pythonChecked) return pythonChecked;
  for (const python of [process.env.MOTO_PYTHON, 'python3', 'python'].filter((p): p is string => !!p)) {
    const probe = spawnSync(python, ['-c', 'import moto.server'], { stdio: 'ignore' });
    if (probe.status === 0) return (pythonChecked = python);
  }
  throw new MotoMissingError(
    'moto\'s server is not installed, and the local cloud needs it as its embedded AWS.\n' +
      '  Install it with:  pip install "moto[server]"\n' +
      '  (set MOTO_PYTHON to the Python that has it, if it is not python3 on the PATH).\n' +
      '  `npx cdk synth` and the template tests work without it.',
  );
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when something accepts connections on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** Options of {@link startMoto}. */
export interface StartMotoOptions {
  /** The port. @default - a free one */
  readonly port?: number;
  /** How long to wait for it to answer, in ms. @default 30000 */
  readonly startTimeoutMs?: number;
  /**
   * Give queues that CloudFormation creates URLs on this server (`http://localhost:<port>/...`)
   * instead of moto's `https://sqs.<region>.amazonaws.com/...`, which SDK clients would call
   * directly, ignoring AWS_ENDPOINT_URL.
   *
   * @default true
   */
  readonly localQueueUrls?: boolean;
  /**
   * Let moto feed Lambda event source mappings itself. Without Docker it cannot run the
   * function, yet it receives the messages on every send (raising their receive count until
   * they are dead-lettered), so the local cloud turns this off and polls with its own pollers.
   *
   * @default false
   */
  readonly builtInEventSources?: boolean;
}

/** Starts moto's server and resolves once it answers. */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const python = findMotoPython();
  const port = options.port ?? (await freePort());
  if (options.port !== undefined && (await portInUse(port))) {
    throw new Error(`port ${port} is already in use on 127.0.0.1: choose another, or leave the port unset to pick a free one.`);
  }
  const child: ChildProcess = spawn(python, [
    '-c', LAUNCHER, '127.0.0.1', String(port), String(process.pid),
    options.localQueueUrls === false ? '0' : '1',
    options.builtInEventSources === true ? '1' : '0',
  ], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group: Ctrl-C in a terminal reaches the process that started it, which
    // stops it after the processes that use it (PR_SET_PDEATHSIG still ties it to that process).
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => {
    exited = true;
    resolve({ code, signal });
  }));

  const endpoint = `http://localhost:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) throw new Error(`moto's server exited while starting on port ${port}:\n${stderr.trim()}`);
    if (await portInUse(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto's server did not answer on port ${port} within ${options.startTimeoutMs ?? 30_000} ms:\n${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    endpoint,
    port,
    pid: child.pid,
    exited: exit,
    stderrTail: () => stderr.trim(),
    async reset() {
      const res = await fetch(`http://127.0.0.1:${port}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}
