/** The one-local-cloud-per-checkout lock. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LocalCloudLock, LocalCloudRunningError } from '../../local/lock';

describe('LocalCloudLock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cloud-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('writes its pid, adds the endpoint, and removes the file on release', () => {
    // GIVEN a lock taken in an empty state folder
    const lock = new LocalCloudLock(dir);
    lock.acquire();

    // WHEN the endpoint becomes known, then the lock is released
    lock.update('http://localhost:4566');
    const held = lock.read();
    lock.release();

    // THEN the file said who held it, and is gone
    expect(held).toEqual({ pid: process.pid, startedAt: expect.any(String), endpoint: 'http://localhost:4566' });
    expect(fs.existsSync(lock.file)).toBe(false);
  });

  test('fails when a live process holds it, naming the pid and how to stop it', () => {
    // GIVEN a lock file of a live process that is not this one (pid 1 always runs)
    fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: 1, startedAt: 'then' }));

    // WHEN this process tries to take it
    const take = () => new LocalCloudLock(dir).acquire();

    // THEN it is refused with the holder's pid
    expect(take).toThrow(LocalCloudRunningError);
    expect(take).toThrow(/another local cloud is running in this checkout \(pid 1, started then\)[\s\S]*kill 1/);
  });

  test('takes over a lock whose process no longer runs', () => {
    // GIVEN a lock left by a process that is gone (beyond Linux's largest pid)
    fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: 2 ** 22 + 1, startedAt: 'then' }));

    // WHEN this process takes it
    const lock = new LocalCloudLock(dir);
    lock.acquire();

    // THEN it holds it now
    expect(lock.read()?.pid).toBe(process.pid);
    lock.release();
  });

  test('release leaves a lock that another process took meanwhile', () => {
    // GIVEN a lock this process took, then found replaced by another's
    const lock = new LocalCloudLock(dir);
    lock.acquire();
    fs.writeFileSync(lock.file, JSON.stringify({ pid: 1, startedAt: 'later' }));

    // WHEN this process releases its lock
    lock.release();

    // THEN the other's lock stays
    expect(lock.read()?.pid).toBe(1);
  });
});
