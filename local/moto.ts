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

// Exit with the parent (prctl PR_SET_PDEATHSIG = 1), then run moto's server quietly.
const LAUNCHER = `
import ctypes, os, signal, sys, logging
ctypes.CDLL(None).prctl(1, signal.SIGTERM)
if os.getppid() != int(sys.argv[3]):
    sys.exit(0)
logging.getLogger('werkzeug').setLevel(logging.ERROR)
from moto.server import main
main(['-H', sys.argv[1], '-p', sys.argv[2]])
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
}

/** Starts moto's server and resolves once it answers. */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const python = findMotoPython();
  const port = options.port ?? (await freePort());
  if (options.port !== undefined && (await portInUse(port))) {
    throw new Error(`port ${port} is already in use on 127.0.0.1: choose another, or leave the port unset to pick a free one.`);
  }
  const child: ChildProcess = spawn(python, ['-c', LAUNCHER, '127.0.0.1', String(port), String(process.pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));

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
