/**
 * The constructs in every CDK language: the packed `cdk-cloud-patterns` (one `npm pack` per run,
 * shared with packed.test.ts: its prepack compiles lib/ with jsii, and any jsii error or warning
 * fails the pack) carries the jsii assembly; every export of lib/index.ts is a type of it, so
 * nothing was silently dropped; the package meets Construct Hub's requirements; and jsii-pacmak
 * generates Python bindings from the packed assembly that Python byte-compiles, in which a boot
 * step is made with the same factories as in TypeScript. (No Python CDK app runs here: the
 * registries this machine reaches serve no Python packages, so aws-cdk-lib for Python cannot be
 * installed; see docs/decisions.md.)
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { exportedNames } from '../support/exports';
import { packedPackages } from '../support/packed-package';
import { REPO_ROOT } from '../support/paths';

interface JsiiMethod { readonly name: string; readonly static?: boolean }
interface JsiiType { readonly kind: 'class' | 'interface' | 'enum'; readonly name: string; readonly methods?: JsiiMethod[]; readonly datatype?: boolean }
interface Assembly {
  readonly name: string;
  readonly types: Record<string, JsiiType>;
  readonly targets: Record<string, unknown>;
  readonly repository: { readonly url: string };
  readonly author: { readonly name: string };
  readonly license: string;
  readonly keywords?: string[];
}

/** The licenses Construct Hub lists packages under. */
const CONSTRUCT_HUB_LICENSES = /^(Apache-2\.0|MIT|ISC|MPL-2\.0|EPL-\d\.\d|BSD-\d-Clause|CDDL-1\.\d)$/;

let tarball: string;
let scratch: string;
let unpacked: string;
let assembly: Assembly;

beforeAll(async () => {
  tarball = (await packedPackages()).constructs;
  // Under the repository's node_modules, so the bindings' generator finds aws-cdk-lib's and constructs' assemblies.
  const cache = path.join(REPO_ROOT, 'node_modules', '.cache');
  fs.mkdirSync(cache, { recursive: true });
  scratch = fs.mkdtempSync(path.join(cache, 'jsii-test-'));
  execFileSync('tar', ['-xzf', tarball, '-C', scratch]);
  unpacked = path.join(scratch, 'package');
  assembly = JSON.parse(fs.readFileSync(path.join(unpacked, '.jsii'), 'utf8')) as Assembly;
}, 600_000);
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const typeName = (fqn: string) => fqn.replace(/^cdk-cloud-patterns\./, '');

describe('the jsii assembly of the packed constructs', () => {
  test('holds every export of lib/index.ts, values and types: nothing was dropped', () => {
    // GIVEN every name the root entry exports, and every type of the assembly
    const exported = exportedNames(['lib/index.ts'])['lib/index.ts']!;
    const types = Object.keys(assembly.types).map(typeName).sort();
    // THEN they are the same names
    expect({ dropped: exported.filter((n) => !types.includes(n)), notExported: types.filter((n) => !exported.includes(n)) })
      .toEqual({ dropped: [], notExported: [] });
  });

  test('makes boot steps, timings and the secret check with static members, which exist in every language', () => {
    const statics = (name: string) => (assembly.types[`cdk-cloud-patterns.${name}`]?.methods ?? []).filter((m) => m.static).map((m) => m.name).sort();
    expect(statics('BootStep')).toEqual(['commands', 'environment', 'file', 'fileFromAsset', 'fileFromS3', 'packages', 'secret', 'service']);
    expect(statics('SecretSource')).toEqual(['fromParameter', 'fromSecret']);
    expect(statics('WebTierTimings')).toEqual(['derive']);
    expect(statics('SecretGuard')).toEqual(['findLookalikes']);
  });

  test('meets Construct Hub\'s requirements: jsii, a permissive license, the awscdk keyword, a repository and an author', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf8'));
    expect(assembly.name).toBe('cdk-cloud-patterns');
    expect(manifest.license).toMatch(CONSTRUCT_HUB_LICENSES);
    expect(manifest.keywords).toEqual(expect.arrayContaining(['cdk', 'awscdk']));
    expect(manifest.repository.url).toMatch(/^https:\/\/github\.com\/.+\.git$/);
    expect(manifest.author.name).toEqual(expect.any(String));
    expect(manifest.stability).toEqual(expect.any(String));
    expect(Object.keys(assembly.targets).sort()).toEqual(['dotnet', 'go', 'java', 'js', 'python']);
    // AND its peers are jsii packages, as jsii requires of a construct library's dependencies
    for (const peer of Object.keys(manifest.peerDependencies)) {
      expect([peer, fs.existsSync(path.join(REPO_ROOT, 'node_modules', peer, '.jsii'))]).toEqual([peer, true]);
    }
  });
});

describe('the Python bindings', () => {
  let module: string;

  beforeAll(() => {
    // WHEN jsii-pacmak generates the Python package from the packed assembly (the tarball as it is, not packed again)
    const out = path.join(scratch, 'bindings');
    execFileSync(process.execPath, [
      require.resolve('jsii-pacmak/bin/jsii-pacmak'), '--code-only', '--targets', 'python', '--outdir', out,
      '--pack-command', `echo ${JSON.stringify(tarball)}`, unpacked,
    ], { stdio: 'pipe', env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' } });
    module = path.join(out, 'python', 'src', 'cdk_cloud_patterns');
  }, 300_000);

  test('byte-compile with Python', () => {
    // THEN every generated file compiles (a syntax error fails the command)
    expect(fs.existsSync(path.join(module, '__init__.py'))).toBe(true);
    expect(() => execFileSync('python3', ['-m', 'compileall', '-q', '-f', path.dirname(module)], { stdio: 'pipe' })).not.toThrow();
  });

  test('let a Python user make every kind of boot step and derive the timings', () => {
    // GIVEN the classes and methods the generated module defines, read with Python's own parser
    const script = [
      'import ast, json, sys',
      'tree = ast.parse(open(sys.argv[1]).read())',
      'print(json.dumps({c.name: sorted(f.name for f in c.body if isinstance(f, ast.FunctionDef)) for c in tree.body if isinstance(c, ast.ClassDef)}))',
    ].join('\n');
    const classes = JSON.parse(execFileSync('python3', ['-c', script, path.join(module, '__init__.py')], { encoding: 'utf8' })) as Record<string, string[]>;
    // THEN BootStep has every factory, in Python's names, and the other statics are there
    expect(classes.BootStep).toEqual(expect.arrayContaining(['commands', 'environment', 'file', 'file_from_asset', 'file_from_s3', 'packages', 'secret', 'service']));
    expect(classes.WebTierTimings).toEqual(expect.arrayContaining(['derive']));
    expect(classes.SecretGuard).toEqual(expect.arrayContaining(['find_lookalikes']));
    // AND every construct of the package is a Python class
    const constructs = ['WorkQueue', 'LambdaWorker', 'FleetWorker', 'BootstrappedImage', 'SharedStorage', 'SessionStore', 'WebTier'];
    expect(constructs.filter((c) => !(c in classes))).toEqual([]);
  });
});
