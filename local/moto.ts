/**
 * The embedded AWS: moto's server (from the machine's Python) on 127.0.0.1 at a free port, with
 * the local cloud's adjustments (moto_launcher.py). On Linux it is started with
 * PR_SET_PDEATHSIG, so it dies with the process that started it even when that process is
 * killed with SIGKILL (elsewhere it notices within a second); `stop()` ends it sooner.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as net from 'net';
import * as path from 'path';

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
  /** The adjustments that could not be applied to this moto version, one line each (also given to `onWarning`). */
  warnings(): readonly string[];
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

/**
 * The Python program that runs moto's server with the local cloud's adjustments (moto_launcher.py,
 * beside this file in the source and in the package). argv: host port parent-pid
 * local-queue-urls builtin-event-sources.
 */
export const MOTO_LAUNCHER: string = path.join(__dirname, 'moto_launcher.py');

/** The moto versions the local cloud and its adjustments are tested with. */
export const MOTO_TESTED_RANGE = { min: '5.2.1', below: '5.3' } as const;

/** The tested range as pip and the README write it. */
export const MOTO_TESTED_RANGE_TEXT: string = `>=${MOTO_TESTED_RANGE.min} <${MOTO_TESTED_RANGE.below}`;

/** Lines the launcher writes when an adjustment cannot be applied start with this. */
const WARNING_PREFIX = 'local cloud: ';

function versionParts(version: string): number[] {
  return version.split(/[.+-]/).slice(0, 3).map((p) => Number.parseInt(p, 10) || 0);
}

function compareVersions(a: string, b: string): number {
  const [x, y] = [versionParts(a), versionParts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/**
 * The Python program that checks for moto's server and prints moto's version: it finds moto,
 * Flask, flask-cors and werkzeug (what `moto[server]` installs) without importing them, and reads
 * the version from moto's `__init__.py`; only when that file does not state it plainly does it
 * import moto. Importing moto's server took 0.34 s of CPU, this 0.04 s: the local cloud and every
 * test file that starts an embedded AWS run it. Exits 3 when one of those modules is missing.
 */
export const MOTO_PROBE: string = [
  'import importlib.util as u, re, sys',
  'spec = u.find_spec("moto")',
  'if not spec or not all(u.find_spec(m) for m in ("flask", "flask_cors", "werkzeug")): sys.exit(3)',
  'm = re.search(r"^__version__ = [\'\\"]([^\'\\"]+)[\'\\"]$", open(spec.origin, encoding="utf-8").read(), re.M)',
  'if m: print(m.group(1))',
  'else:',
  '    import moto',
  '    print(moto.__version__)',
].join('\n');

/** The version of moto that `python` has, e.g. `5.2.1` (read by findMotoPython's probe when it is that Python). */
export function motoVersion(python: string = findMotoPython()): string {
  if (pythonChecked?.python === python) return pythonChecked.version;
  const probe = spawnSync(python, ['-c', MOTO_PROBE], { encoding: 'utf8' });
  return probe.stdout.trim();
}

/**
 * A warning when `version` is outside {@link MOTO_TESTED_RANGE} (the local cloud still starts:
 * an adjustment that cannot be applied says so), or undefined when it is inside.
 */
export function motoVersionWarning(version: string): string | undefined {
  if (compareVersions(version, MOTO_TESTED_RANGE.min) >= 0 && compareVersions(version, MOTO_TESTED_RANGE.below) < 0) return undefined;
  return (
    `moto ${version || '(version unknown)'} is outside the range the local cloud is tested with (${MOTO_TESTED_RANGE_TEXT}): ` +
    'its adjustments to moto may not apply, and then say so below. To use a tested version:\n' +
    `  pip install "moto[server]>=${MOTO_TESTED_RANGE.min},<${MOTO_TESTED_RANGE.below}"`
  );
}


/** The Python found, with its moto's version (one probe reads both). */
let pythonChecked: { readonly python: string; readonly version: string } | undefined;

/** The Python that has moto installed; throws MotoMissingError when there is none. */
export function findMotoPython(): string {
  if (pythonChecked) return pythonChecked.python;
  for (const python of [process.env.MOTO_PYTHON, 'python3', 'python'].filter((p): p is string => !!p)) {
    const probe = spawnSync(python, ['-c', MOTO_PROBE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    if (probe.status === 0) {
      pythonChecked = { python, version: probe.stdout.trim() };
      return python;
    }
  }
  throw new MotoMissingError(
    'moto\'s server is not installed, and the local cloud needs it as its embedded AWS.\n' +
      `  Install it with:  pip install "moto[server]>=${MOTO_TESTED_RANGE.min},<${MOTO_TESTED_RANGE.below}"\n` +
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
  /**
   * Called with each line moto's launcher writes about an adjustment it could not apply (a
   * skipped adjustment can send good jobs to the dead-letter queue, so it is never silent).
   *
   * @default - the line goes to this process's stderr
   */
  readonly onWarning?: (line: string) => void;
  /** The environment of moto's process. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** Starts moto's server and resolves once it answers. */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const python = findMotoPython();
  const port = options.port ?? (await freePort());
  if (options.port !== undefined && (await portInUse(port))) {
    throw new Error(`port ${port} is already in use on 127.0.0.1: choose another, or leave the port unset to pick a free one.`);
  }
  const child: ChildProcess = spawn(python, [
    MOTO_LAUNCHER, '127.0.0.1', String(port), String(process.pid),
    options.localQueueUrls === false ? '0' : '1',
    options.builtInEventSources === true ? '1' : '0',
  ], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: options.env ?? process.env,
    // Its own process group: Ctrl-C in a terminal reaches the process that started it, which
    // stops it after the processes that use it (PR_SET_PDEATHSIG still ties it to that process).
    detached: true,
  });
  let stderr = '';
  let partial = '';
  const warnings: string[] = [];
  const onWarning = options.onWarning ?? ((line: string) => process.stderr.write(`${line}\n`));
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    stderr = (stderr + text).slice(-4000);
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith(WARNING_PREFIX)) continue;
      warnings.push(line);
      onWarning(line);
    }
  });
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
    warnings: () => [...warnings],
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
