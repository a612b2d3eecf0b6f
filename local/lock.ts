/**
 * One local cloud per checkout: a lock file (`.local-cloud/lock`) holding the pid, endpoint and
 * start time of the local cloud that runs. A second `npm start` finds it and stops with a
 * clear message before starting anything; a lock left by a process that no longer runs (killed
 * with SIGKILL, machine rebooted) is taken over.
 */
import * as fs from 'fs';
import * as path from 'path';

/** What the lock file says. */
export interface LockInfo {
  readonly pid: number;
  readonly startedAt: string;
  /** The embedded AWS's endpoint, once known. */
  readonly endpoint?: string;
}

/** Thrown when another local cloud holds the lock. */
export class LocalCloudRunningError extends Error {
  override readonly name = 'LocalCloudRunningError';
  constructor(readonly holder: LockInfo, lockFile: string) {
    super(
      `another local cloud is running in this checkout (pid ${holder.pid}, started ${holder.startedAt}` +
        `${holder.endpoint ? `, embedded AWS at ${holder.endpoint}` : ''}).\n` +
        `  Use that one, or stop it first (Ctrl-C in its terminal, or \`kill ${holder.pid}\`).\n` +
        `  Lock file: ${lockFile}`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock of one state folder. */
export class LocalCloudLock {
  readonly file: string;
  private held = false;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'lock');
  }

  /** Takes the lock or throws LocalCloudRunningError; a stale lock is replaced. */
  acquire(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const info: LockInfo = { pid: process.pid, startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        // 'wx': fails when the file exists, so two starts at the same moment cannot both win.
        fs.writeFileSync(this.file, JSON.stringify(info), { flag: 'wx' });
        this.held = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = this.read();
      if (holder && holder.pid !== process.pid && alive(holder.pid)) throw new LocalCloudRunningError(holder, this.file);
      fs.rmSync(this.file, { force: true }); // stale: its process is gone
    }
    throw new Error(`could not take the lock ${this.file}: it keeps reappearing. Is another local cloud starting?`);
  }

  /** Adds the endpoint, so that a second start can say where the first one is. */
  update(endpoint: string): void {
    const current = this.read();
    if (!this.held || current?.pid !== process.pid) return;
    fs.writeFileSync(this.file, JSON.stringify({ ...current, endpoint }));
  }

  /** Removes the lock, if it is still ours. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.read()?.pid === process.pid) fs.rmSync(this.file, { force: true });
  }

  /** The lock's content, or undefined when there is none or it is unreadable. */
  read(): LockInfo | undefined {
    try {
      const info = JSON.parse(fs.readFileSync(this.file, 'utf8')) as LockInfo;
      return typeof info.pid === 'number' ? info : undefined;
    } catch {
      return undefined;
    }
  }
}
