/**
 * The documentation's examples are code: every ```ts sample of README.md and of every page under
 * docs/ (the pattern pages, the compliance page...; not docs/api/, which TypeDoc generates) is
 * type-checked against the public API as a user's app imports it (`cdk-cloud-patterns`,
 * `/runtime`, `/testing`, mapped to the source; `aws-cdk-lib` as its index declares it, with the
 * core and the namespaces the samples name), all in one project that the repository's
 * type-checker (TypeScript 7's tsc, scripts/bins.ts) checks; and each
 * construct sample (one that imports `cdk-cloud-patterns`) is synthesized in-process with
 * cdk-nag on. A sample may use the names of the preamble (preamble.ts) without declaring them; a
 * sample whose first line is `// src/<file>.ts` is that file of the project, so others (on any
 * page) can import it or use it as `entry`. A sample that defines a jest `test(...)` is
 * type-checked only. Problems are reported as `<page>:<line>`.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib/core';
import * as ts from 'typescript';
import { addCatalogChecks } from '../../lib/testing';
import { SUITE_TYPE_CHECK_FLAGS, typeChecker } from '../../scripts/bins';
import { documentationPages, patternPages } from './pages';
import { PREAMBLE, PROJECT_FILES } from './preamble';
import { REPO_ROOT } from '../support/paths';


interface Sample {
  /** The page the sample is on, relative to the repository (`README.md`, `docs/patterns/work-queue.md`). */
  readonly page: string;
  /** The page's line of the sample's first line of code. */
  readonly line: number;
  readonly code: string;
  /** Where the sample sits in the project around the samples. */
  readonly file: string;
}

/** Every ```ts fence of a page, in order. */
export function readmeSamples(markdown: string, page = 'README.md'): Sample[] {
  const samples: Sample[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```ts') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    const code = lines.slice(start, end).join('\n') + '\n';
    const named = /^\/\/ (src\/[\w./-]+\.ts)\s*$/.exec(lines[start] ?? '');
    const slug = page.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
    samples.push({ page, line: start + 1, code, file: named ? named[1] : `src/${slug}-line-${start + 1}.ts` });
    i = end;
  }
  return samples;
}

const PAGES = documentationPages();
const SAMPLES = PAGES.flatMap((page) => readmeSamples(fs.readFileSync(path.join(REPO_ROOT, page), 'utf8'), page));
const at = (s: Sample) => `${s.page}:${s.line}`;
const isConstructSample = (s: Sample) => /from 'cdk-cloud-patterns'/.test(s.code) && !/\btest\(/.test(s.code);
const PACKAGE_PATHS: Record<string, string> = {
  'cdk-cloud-patterns': 'lib/index.ts',
  '@cdk-cloud-patterns/runtime': 'runtime/index.ts',
  'cdk-cloud-patterns/testing': 'lib/testing/index.ts',
};

/** The package a user's app imports, mapped to the source for synthesis. */
function sampleRequire(id: string): unknown {
  const mapped = PACKAGE_PATHS[id];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(mapped ? path.join(REPO_ROOT, mapped) : id);
}

/** A diagnostic of tsc's plain output (`--pretty false`): `<file>(<line>,<col>): error TS<n>: <message>`, continued on indented lines. */
interface TscDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** tsc's diagnostics (file names resolved from `cwd`, where tsc ran), with any line of its output that is neither a diagnostic nor its continuation. */
export function tscDiagnostics(stdout: string, cwd: string): { found: TscDiagnostic[]; unread: string[] } {
  const found: { file: string; line: number; message: string }[] = [];
  const unread: string[] = [];
  for (const line of stdout.split('\n')) {
    const d = /^(.+)\((\d+),\d+\): error TS\d+: (.*)$/.exec(line);
    if (d) found.push({ file: path.resolve(cwd, d[1]!), line: Number(d[2]), message: d[3]! });
    else if (/^\s+\S/.test(line) && found.length > 0) found[found.length - 1]!.message += ` ${line.trim()}`;
    else if (line.trim() !== '') unread.push(line);
  }
  return { found, unread };
}

describe('the documentation samples', () => {
  let project: string;

  beforeAll(() => {
    // The project around the samples sits inside the repository, so that aws-cdk-lib, zod... resolve.
    fs.mkdirSync(path.join(REPO_ROOT, '.tmp'), { recursive: true });
    project = fs.mkdtempSync(path.join(REPO_ROOT, '.tmp', 'readme-samples-'));
    const files: Record<string, string> = { ...PROJECT_FILES, ...Object.fromEntries(SAMPLES.map((s) => [s.file, s.code])) };
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(project, file)), { recursive: true });
      fs.writeFileSync(path.join(project, file), content);
    }
  });
  afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

  test('are there: construct, runtime and testing samples, and a construct sample on every pattern page', () => {
    expect(SAMPLES.filter(isConstructSample).length).toBeGreaterThanOrEqual(3);
    expect(SAMPLES.some((s) => s.code.includes("from '@cdk-cloud-patterns/runtime'"))).toBe(true);
    expect(SAMPLES.some((s) => s.code.includes("from 'cdk-cloud-patterns/testing'"))).toBe(true);
    const patterns = patternPages();
    expect(patterns.length).toBeGreaterThanOrEqual(6);
    expect(patterns.filter((p) => !SAMPLES.some((s) => s.page === p && isConstructSample(s)))).toEqual([]);
  });

  test('name each project file once: two samples that claim one `// src/<file>.ts` would overwrite each other', () => {
    // GIVEN the samples that say which file they are
    const byFile = new Map<string, string[]>();
    for (const s of SAMPLES) byFile.set(s.file, [...(byFile.get(s.file) ?? []), at(s)]);
    // THEN no file is claimed twice (nor is one of the preamble's project files)
    const twice = [...byFile].filter(([file, where]) => where.length > 1 || file in PROJECT_FILES).map(([file, where]) => `${file}: ${where.join(', ')}`);
    expect(twice).toEqual([]);
  });

  test('type-check against the public API, as a user\'s app imports it', () => {
    // GIVEN one project of every sample, the preamble's declarations and the package mapped to the
    // source, checked by the repository's type-checker (TypeScript 7's tsc: scripts/bins.ts)
    const compilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      incremental: false,
      target: 'es2022',
      lib: ['es2022'],
      module: 'esnext',
      moduleResolution: 'bundler',
      esModuleInterop: true,
      types: ['node', 'jest'],
      paths: Object.fromEntries(Object.entries(PACKAGE_PATHS).map(([id, file]) => [id, [path.join(REPO_ROOT, file)]])) as Record<string, string[]>,
    };
    // The root of aws-cdk-lib as the samples use it: the module the package's own index declares,
    // with its core and those of its 352 namespaces (`aws_s3`...) that a sample names, each from the
    // same declarations. The whole root put a million lines of declarations no sample uses into
    // this program; a name of the root that a sample uses and this lacks fails the check, named.
    const resolution = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
    const rootFile = ts.resolveModuleName('aws-cdk-lib', path.join(project, 'src', 'x.ts'), resolution, ts.sys).resolvedModule?.resolvedFileName;
    expect(rootFile).toMatch(/node_modules\/aws-cdk-lib\/index\.d\.ts$/);
    const rootIndex = fs.readFileSync(rootFile!, 'utf8');
    // (with two probes of its own: a namespace named is there; one no sample names is not, and fails)
    const namesRoot = "import { Stack, aws_sqs as sqs } from 'aws-cdk-lib';\nexport const queueOf = (stack: Stack) => new sqs.Queue(stack, 'Queue');\n";
    const lacksRoot = "import { pipelines } from 'aws-cdk-lib';\nexport const none: pipelines.CodePipeline | undefined = undefined;\n";
    const namespaces = [...rootIndex.matchAll(/^export \* as (\w+) from '\.\/([\w-]+)';$/gm)]
      .filter(([, name]) => [...SAMPLES.map((s) => s.code), namesRoot].some((code) => new RegExp(`\\b${name}\\b`).test(code)));
    expect(rootIndex).toMatch(/^export \* from '\.\/core';$/m);
    const root = path.join(project, 'aws-cdk-lib-as-the-samples-use-it.d.ts');
    fs.writeFileSync(root, ["export * from 'aws-cdk-lib/core';", ...namespaces.map(([, name, dir]) => `export * as ${name} from 'aws-cdk-lib/${dir}';`)].join('\n') + '\n');
    compilerOptions.paths['aws-cdk-lib'] = [root];
    const sampleFiles = SAMPLES.map((s) => path.join(project, s.file));
    // and one sample that is wrong on purpose, so a blind check (everything \`any\`) cannot pass
    const wrong = path.join(project, 'src', 'wrong-on-purpose.ts');
    fs.writeFileSync(wrong, "import { WorkQueue } from 'cdk-cloud-patterns';\nnew WorkQueue(stack, 'Jobs', { maxReceiveCount: 'five' });\n");
    const [names, lacks] = [path.join(project, 'src', 'names-a-root-namespace.ts'), path.join(project, 'src', 'lacks-a-root-namespace.ts')];
    fs.writeFileSync(names, namesRoot);
    fs.writeFileSync(lacks, lacksRoot);
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [...sampleFiles, wrong, names, lacks, path.join(__dirname, 'sample-globals.d.ts')] }, null, 2));

    // WHEN it is checked
    const run = spawnSync(process.execPath, [typeChecker(), '-p', project, '--pretty', 'false', ...SUITE_TYPE_CHECK_FLAGS], { cwd: project, encoding: 'utf8' });
    const diagnostics = tscDiagnostics(run.stdout, project);
    // (it exits non-zero: the wrong sample and the probe that lacks a namespace have errors; it prints nothing else)
    expect({ failed: run.status !== 0, stderr: run.stderr, unread: diagnostics.unread }).toEqual({ failed: true, stderr: '', unread: [] });
    const of = (file: string) => diagnostics.found.filter((d) => d.file === file).map((d) => d.message);

    // THEN nothing is wrong but the wrong one (a sample's problem named by its page and line)
    expect(of(wrong)).toEqual([expect.stringMatching(/Type 'string' is not assignable to type 'number'/)]);
    const problems = diagnostics.found.filter((d) => d.file !== wrong && d.file !== lacks).map((d) => {
      const sample = SAMPLES.find((s) => path.join(project, s.file) === d.file);
      return `${sample ? `${sample.page}:${sample.line + d.line - 1}` : `${path.relative(REPO_ROOT, d.file)}:${d.line}`}: ${d.message}`;
    });
    expect(problems).toEqual([]);
    // AND the root as the samples use it has what they name, and nothing else of the root's
    expect(of(names)).toEqual([]);
    expect(of(lacks)).toEqual([expect.stringMatching(/has no exported member named 'pipelines'|has no exported member 'pipelines'/)]);
  });

  test.each(SAMPLES.filter(isConstructSample).map((s) => [at(s), s] as const))('the construct sample at %s synthesizes with cdk-nag on', (_at, sample) => {
    // GIVEN an app with cdk-nag, bundling skipped (no esbuild runs: the constructs are the point),
    // and the preamble's names the sample uses
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Sample');
    addCatalogChecks(app);
    const names = Object.keys(PREAMBLE).filter((name) => new RegExp(`\\b${name}\\b`).test(sample.code));
    const values = names.map((name) => PREAMBLE[name](stack));
    const js = ts.transpileModule(sample.code, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const cwd = process.cwd();
    process.chdir(project); // relative paths (entry, assets) start from the user's project
    try {
      // WHEN the sample runs (in a block, so that its own declarations may shadow the preamble's) and the app synthesizes
      const module = { exports: {} };
      new Function('require', 'module', 'exports', ...names, `{\n${js}\n}`)(sampleRequire, module, module.exports, ...values);
      const assembly = app.synth();

      // THEN the app has the sample's resources (in `stack`, or in stacks of its own), and cdk-nag found nothing
      const resources = assembly.stacks.flatMap((s) => Object.keys((s.template as { Resources?: Record<string, unknown> }).Resources ?? {}));
      expect(resources.length).toBeGreaterThan(0);
    } finally {
      process.chdir(cwd);
    }
  });
});
