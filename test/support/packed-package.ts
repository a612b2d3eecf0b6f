/**
 * The repository's three packages packed once per test run (`npm pack` of every workspace and the
 * root: each prepack builds its package), shared by the test files that install them into scratch
 * projects: the first file to ask packs, the others (other jest workers of the same run, which
 * share a parent process) wait for its tarballs. They live in the system's temporary folder under
 * the run's id; folders of earlier runs older than a day go.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from './paths';

const PREFIX = 'cdk-cloud-patterns-pack-';

/** The tarball of each package, by package name. */
export interface PackedPackages {
  /** `cdk-cloud-patterns`: the constructs. */
  readonly constructs: string;
  /** `@cdk-cloud-patterns/runtime`: what handlers and instance programs import. */
  readonly runtime: string;
  /** `@cdk-cloud-patterns/local`: the local cloud's command. */
  readonly local: string;
}

/** This run's packed tarballs, packing them first if no other test file has. */
export async function packedPackages(timeoutMs = 600_000): Promise<PackedPackages> {
  for (const old of fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith(PREFIX))) {
    const dir = path.join(os.tmpdir(), old);
    if (Date.now() - fs.statSync(dir).mtimeMs > 86_400_000) fs.rmSync(dir, { recursive: true, force: true });
  }
  const dir = path.join(os.tmpdir(), `${PREFIX}${process.ppid}`);
  const done = path.join(dir, 'tarballs.json');
  let mine = false;
  try {
    fs.mkdirSync(dir);
    mine = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (mine) {
    try {
      const out = execFileSync('npm', ['pack', '--workspaces', '--include-workspace-root', '--pack-destination', dir, '--json'], {
        cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' },
      });
      // The prepack scripts print to stdout too: the JSON report starts at the line that is "[".
      const lines = out.split('\n');
      const report = JSON.parse(lines.slice(lines.indexOf('[')).join('\n')) as { name: string; filename: string }[];
      const file = (name: string) => path.join(dir, report.find((p) => p.name === name)!.filename);
      const packed: PackedPackages = { constructs: file('cdk-cloud-patterns'), runtime: file('@cdk-cloud-patterns/runtime'), local: file('@cdk-cloud-patterns/local') };
      fs.writeFileSync(done, JSON.stringify(packed));
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
  return JSON.parse(fs.readFileSync(done, 'utf8')) as PackedPackages;
}
