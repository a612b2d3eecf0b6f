/**
 * The package packed once per test run (`npm pack`: prepack builds it), shared by the test files
 * that install it into a scratch app: the first file to ask packs, the others (other jest workers
 * of the same run, which share a parent process) wait for its tarball. Each tarball lives in the
 * system's temporary folder under the run's id; folders of earlier runs older than a day go.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const PREFIX = 'cdk-cloud-patterns-pack-';

/** The path of this run's packed tarball, packing it first if no other test file has. */
export async function packedTarball(timeoutMs = 600_000): Promise<string> {
  for (const old of fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith(PREFIX))) {
    const dir = path.join(os.tmpdir(), old);
    if (Date.now() - fs.statSync(dir).mtimeMs > 86_400_000) fs.rmSync(dir, { recursive: true, force: true });
  }
  const dir = path.join(os.tmpdir(), `${PREFIX}${process.ppid}`);
  const done = path.join(dir, 'tarball');
  let mine = false;
  try {
    fs.mkdirSync(dir);
    mine = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (mine) {
    try {
      const name = execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, npm_config_loglevel: 'error' } })
        .trim().split('\n').pop()!;
      fs.writeFileSync(done, path.join(dir, name));
    } catch (e) {
      fs.writeFileSync(path.join(dir, 'failed'), String((e as Error).message));
      throw e;
    }
  }
  const until = Date.now() + timeoutMs;
  while (!fs.existsSync(done)) {
    if (fs.existsSync(path.join(dir, 'failed'))) throw new Error(`npm pack failed in another test file: ${fs.readFileSync(path.join(dir, 'failed'), 'utf8')}`);
    if (Date.now() > until) throw new Error(`npm pack (in another test file) did not finish within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return fs.readFileSync(done, 'utf8');
}
