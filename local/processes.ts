/**
 * The child processes of the local cloud, and how they die with it. Every Node child is
 * started with an IPC channel and a preload that exits when the channel closes, so a child
 * never outlives the local cloud, even when the local cloud is killed with SIGKILL (moto has
 * PR_SET_PDEATHSIG for the same reason). `stopAll()` ends the ones still running.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'child_process';
import * as path from 'path';

/** Exit code of a child whose parent went away (set in exit-with-parent.cjs). */
export const ORPHANED_EXIT_CODE = 70;

/**
 * Node options that make a child exit when its parent's IPC channel closes. A CommonJS
 * preload (`-r`), not `--import`: with `--import` Node loads the main script as an ES module,
 * and a TypeScript entry run through esbuild-register would no longer load.
 */
export const EXIT_WITH_PARENT_ARGS: readonly string[] = ['-r', path.join(__dirname, 'exit-with-parent.cjs')];

const running = new Set<ChildProcess>();

/**
 * Starts `node <args>` with an IPC channel (stdio index 3) and the exit-with-parent preload.
 * The child is tracked until it exits.
 */
export function spawnNode(args: readonly string[], options: Omit<SpawnOptions, 'stdio'> & { stdio?: ['ignore' | 'pipe' | 'inherit', 'ignore' | 'pipe' | 'inherit', 'ignore' | 'pipe' | 'inherit'] } = {}): ChildProcess {
  const [stdin, stdout, stderr] = options.stdio ?? ['ignore', 'pipe', 'pipe'];
  const child = spawn(process.execPath, [...EXIT_WITH_PARENT_ARGS, ...args], { ...options, stdio: [stdin, stdout, stderr, 'ipc'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  // A child that fails to start emits 'error' and no 'exit'.
  child.once('error', () => running.delete(child));
  return child;
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}

/** Sends SIGTERM, then SIGKILL after `graceMs`, and waits for the exit. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/** Stops every child started with {@link spawnNode} that is still running. */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...running].map((c) => stopChild(c, graceMs)));
}

/** Pids of the children still running. */
export function runningPids(): number[] {
  return [...running].map((c) => c.pid).filter((p): p is number => p !== undefined);
}

/** Calls `onLine` with each complete line of `stream`. */
export function eachLine(stream: NodeJS.ReadableStream | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line.replace(/\r$/, ''));
  });
  stream.on('end', () => {
    if (rest) onLine(rest);
    rest = '';
  });
}
