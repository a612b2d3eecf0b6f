/**
 * A BootstrappedImage's service, run locally as systemd runs it on an instance: its command with
 * its environment (the unit's Environment= and EnvironmentFile= files), its credentials in a
 * private directory (CREDENTIALS_DIRECTORY), its runtime directories (RUNTIME_DIRECTORY), its
 * output appended to its StandardOutput= file, restarted as its Restart= and RestartSec= say
 * (with systemd's start limit: 5 starts in 10 s, then it stays failed), stopped with SIGTERM to
 * its whole process group and SIGKILL after its stop timeout.
 *
 * The command runs under a small Node supervisor (a child of the local cloud with the
 * exit-with-parent preload) that puts it in a process group of its own and kills that group when
 * it exits: a service never outlives the local cloud, even one killed with SIGKILL.
 */
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseEnvironmentFile } from '../../contracts/image-bootstrap';
import { eachLine, exited, spawnNode } from '../processes';
import { restartsAfter, type ServiceUnit } from './unit';

/**
 * The supervisor (`node -e`, so that it needs no file of its own in the package): runs its
 * arguments as a process group, forwards SIGTERM/SIGINT/SIGHUP to it, kills it when it exits
 * itself (its parent gone), and exits as the command did.
 */
const SUPERVISOR = `
const { spawn } = require('child_process');
const [command, ...args] = process.argv.slice(1);
const child = spawn(command, args, { stdio: 'inherit', detached: true });
// Its pid, for the local cloud to show and to clean up after, should this supervisor be killed.
if (child.pid && process.send) process.send({ servicePid: child.pid });
const group = (signal) => { try { process.kill(-child.pid, signal); } catch {} };
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => group(s));
// Whatever ends the supervisor ends what the service left running (systemd's control group).
process.on('exit', () => group('SIGKILL'));
child.on('error', (e) => { console.error('cannot start ' + command + ': ' + e.message); process.exit(e.code === 'ENOENT' ? 203 : 127); });
child.on('exit', (code, signal) => {
  if (!signal) process.exit(code);
  // End as it ended: by its signal (the handlers above would catch it).
  for (const s of ['exit', 'SIGTERM', 'SIGINT', 'SIGHUP']) process.removeAllListeners(s);
  group('SIGKILL');
  process.kill(process.pid, signal);
});
`;

/** How many starts within {@link START_LIMIT_WINDOW_MS} put a service in the failed state (systemd's StartLimitBurst). */
export const START_LIMIT_BURST = 5;
/** systemd's StartLimitIntervalSec. */
export const START_LIMIT_WINDOW_MS = 10_000;
/** How long a stopping service may take when its unit sets no TimeoutStopSec (systemd's 90 s is long for a local stop). */
const LOCAL_STOP_TIMEOUT_MS = 10_000;

/** What a local service is doing. */
export type ServiceState = 'running' | 'restarting' | 'failed' | 'stopped';

/** Options of a {@link LocalService}. */
export interface LocalServiceOptions {
  /** The unit's name without `.service`. */
  readonly name: string;
  readonly unit: ServiceUnit;
  /** The instance's folder: the unit's absolute paths are under it. */
  readonly root: string;
  /** The program's arguments, with the paths under the instance's folder (see {@link localCommand}). */
  readonly command: readonly string[];
  /** What every service of the instance gets (PATH, the AWS settings of the instance role, BOOT_ROOT). */
  readonly baseEnvironment: Readonly<Record<string, string>>;
  /** Each line the service writes (also appended to its output file). */
  readonly onLine?: (line: string) => void;
  /** Told when the service ends and what systemd does then. */
  readonly onExit?: (why: string, next: 'restart' | 'failed' | 'stopped' | 'done') => void;
}

/**
 * The command of a unit as it runs locally: each absolute path that exists under the instance's
 * folder is taken from there (the program a file step wrote); a program that is neither there nor
 * on this machine at its path runs from the PATH by its name (`/usr/bin/python3` where Python is
 * elsewhere).
 */
export function localCommand(execStart: readonly string[], root: string): string[] {
  return execStart.map((word, i) => {
    if (!word.startsWith('/')) return word;
    const inRoot = path.join(root, word);
    if (fs.existsSync(inRoot)) return inRoot;
    return i === 0 && !fs.existsSync(word) ? path.basename(word) : word;
  });
}

/** A service of a local instance. */
export class LocalService {
  private child?: ChildProcess;
  private stopping = false;
  private starts: number[] = [];
  private restartTimer?: NodeJS.Timeout;
  private output?: fs.WriteStream;
  /** The command's pid (and process group), as its supervisor reports it. */
  private servicePid?: number;
  private spawning: Promise<void> = Promise.resolve();
  state: ServiceState = 'stopped';
  /** How many times it was restarted. */
  restarts = 0;
  /** Why it last ended, when it has. */
  lastExit?: string;

  constructor(private readonly options: LocalServiceOptions) {}

  get name(): string {
    return this.options.name;
  }

  /** Its process (the command's, not its supervisor's) while it runs. */
  get pid(): number | undefined {
    return this.state === 'running' ? this.servicePid : undefined;
  }

  /** Resolves once the command was started (its pid known) or its supervisor has exited. */
  spawned(): Promise<void> {
    return this.spawning;
  }

  /** The directory of RuntimeDirectory=`name` (the first one when none is named). */
  runtimeDirectory(name?: string): string | undefined {
    const dir = name ?? this.options.unit.runtimeDirectories[0];
    return dir === undefined ? undefined : path.join(this.options.root, 'run', dir);
  }

  /** The environment systemd gives it: the instance's, Environment=, then EnvironmentFile= files (which win). */
  environment(): Record<string, string> {
    const { unit, root } = this.options;
    const env: Record<string, string> = { ...this.options.baseEnvironment, ...unit.environment };
    for (const file of unit.environmentFiles) {
      const local = path.join(root, file.path);
      if (!fs.existsSync(local)) {
        if (file.optional) continue;
        throw new Error(`its EnvironmentFile ${file.path} does not exist`);
      }
      Object.assign(env, parseEnvironmentFile(fs.readFileSync(local, 'utf8')));
    }
    if (unit.credentials.length > 0) env.CREDENTIALS_DIRECTORY = this.credentialsDirectory();
    if (unit.runtimeDirectories.length > 0) env.RUNTIME_DIRECTORY = unit.runtimeDirectories.map((d) => path.join(root, 'run', d)).join(':');
    return env;
  }

  /** Starts it (`systemctl start`): throws when its environment or credentials cannot be made. */
  start(): void {
    const { unit, root } = this.options;
    this.stopping = false;
    // Its credentials: copies readable by it alone, in a directory of its own (systemd's LoadCredential=).
    if (unit.credentials.length > 0) {
      const dir = this.credentialsDirectory();
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const c of unit.credentials) {
        const source = path.join(root, c.path);
        if (!fs.existsSync(source)) throw new Error(`its credential ${c.name} (${c.path}) does not exist`);
        fs.copyFileSync(source, path.join(dir, c.name));
        fs.chmodSync(path.join(dir, c.name), 0o400);
      }
    }
    for (const d of unit.runtimeDirectories) fs.mkdirSync(path.join(root, 'run', d), { recursive: true, mode: 0o755 });
    if (unit.outputFile && !this.output) {
      fs.mkdirSync(path.dirname(path.join(root, unit.outputFile)), { recursive: true });
      this.output = fs.createWriteStream(path.join(root, unit.outputFile), { flags: 'a' });
      this.output.on('error', () => undefined);
    }
    this.launch(this.environment());
  }

  private credentialsDirectory(): string {
    return path.join(this.options.root, 'run', 'credentials', `${this.options.name}.service`);
  }

  private launch(env: Record<string, string>): void {
    const { unit, root, command } = this.options;
    this.starts = [...this.starts.filter((t) => t > Date.now() - START_LIMIT_WINDOW_MS), Date.now()];
    const cwd = unit.workingDirectory ? path.join(root, unit.workingDirectory) : root;
    const child = spawnNode(['-e', SUPERVISOR, '--', ...command], { cwd, env, detached: true });
    this.child = child;
    this.servicePid = undefined;
    this.state = 'running';
    let servicePid: number | undefined;
    this.spawning = new Promise<void>((resolve) => {
      child.on('message', (m: { servicePid?: number }) => {
        if (typeof m.servicePid !== 'number') return;
        servicePid = m.servicePid;
        if (this.child === child) this.servicePid = servicePid;
        resolve();
      });
      child.once('exit', () => resolve());
    });
    const write = (line: string) => {
      if (this.output?.writable) this.output.write(`${line}\n`);
      this.options.onLine?.(line);
    };
    eachLine(child.stdout, write);
    eachLine(child.stderr, write);
    child.once('exit', (code, signal) => {
      // A supervisor that was killed could not end its service's processes: end them here.
      if (servicePid !== undefined) {
        try {
          process.kill(-servicePid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      if (this.child !== child) return;
      const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.lastExit = why;
      if (this.stopping) {
        this.state = 'stopped';
        this.options.onExit?.(why, 'stopped');
      } else if (!restartsAfter(unit.restart, code, signal)) {
        this.state = code === 0 && !signal ? 'stopped' : 'failed';
        this.options.onExit?.(why, this.state === 'failed' ? 'failed' : 'done');
      } else if (this.starts.length >= START_LIMIT_BURST) {
        this.state = 'failed';
        this.options.onExit?.(`${why}, started ${this.starts.length} times in ${START_LIMIT_WINDOW_MS / 1000} s (its start limit)`, 'failed');
      } else {
        this.state = 'restarting';
        this.options.onExit?.(why, 'restart');
        this.restartTimer = setTimeout(() => {
          if (this.stopping) return;
          this.restarts++;
          this.launch(this.environment());
        }, unit.restartMs);
      }
    });
  }

  /** Sends `signal` to the service's processes, as a fault would (it is not stopping: its Restart= applies). */
  kill(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Stops it (`systemctl stop`): SIGTERM to its processes, SIGKILL after its stop timeout. No restart follows. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), this.options.unit.stopTimeoutMs ?? LOCAL_STOP_TIMEOUT_MS);
      await exited(child);
      clearTimeout(timer);
    }
    this.state = this.state === 'failed' ? 'failed' : 'stopped';
    this.output?.end();
    this.output = undefined;
  }
}
