/**
 * The documentation's examples are code: every ```ts sample of README.md and of every page under
 * docs/ (the pattern pages, the compliance page...; not docs/api/, which TypeDoc generates) is
 * type-checked against the public API as a user's app imports it (`cdk-cloud-patterns`,
 * `/runtime`, `/testing`, mapped to the source; `aws-cdk-lib` as its index declares it, with the
 * core and the namespaces the samples name), all in one TypeScript program; and each
 * construct sample (one that imports `cdk-cloud-patterns`) is synthesized in-process with
 * cdk-nag on. A sample may use the names of the preamble (preamble.ts) without declaring them; a
 * sample whose first line is `// src/<file>.ts` is that file of the project, so others (on any
 * page) can import it or use it as `entry`. A sample that defines a jest `test(...)` is
 * type-checked only. Problems are reported as `<page>:<line>`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib/core';
import * as ts from 'typescript';
import { addCatalogChecks } from '../../lib/testing';
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
    // GIVEN one program of every sample, the preamble's declarations and the package mapped to the source
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts'],
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      esModuleInterop: true,
      types: ['node', 'jest'],
      baseUrl: REPO_ROOT,
      paths: Object.fromEntries(Object.entries(PACKAGE_PATHS).map(([id, file]) => [id, [path.join(REPO_ROOT, file)]])),
    };
    // The root of aws-cdk-lib as the samples use it: the module the package's own index declares,
    // with its core and those of its 352 namespaces (`aws_s3`...) that a sample names, each from the
    // same declarations. The whole root put a million lines of declarations no sample uses into
    // this program; a name of the root that a sample uses and this lacks fails the check, named.
    const rootFile = ts.resolveModuleName('aws-cdk-lib', path.join(project, 'src', 'x.ts'), options, ts.sys).resolvedModule?.resolvedFileName;
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
    options.paths = { ...options.paths, 'aws-cdk-lib': [root] };
    const sampleFiles = SAMPLES.map((s) => path.join(project, s.file));
    // and one sample that is wrong on purpose, so a blind check (everything \`any\`) cannot pass
    const wrong = path.join(project, 'src', 'wrong-on-purpose.ts');
    fs.writeFileSync(wrong, "import { WorkQueue } from 'cdk-cloud-patterns';\nnew WorkQueue(stack, 'Jobs', { maxReceiveCount: 'five' });\n");
    const [names, lacks] = [path.join(project, 'src', 'names-a-root-namespace.ts'), path.join(project, 'src', 'lacks-a-root-namespace.ts')];
    fs.writeFileSync(names, namesRoot);
    fs.writeFileSync(lacks, lacksRoot);
    // JSDoc parsed only where it can change a type error (in JavaScript), as tsc does: most of the
    // time of this program went to parsing the doc comments of aws-cdk-lib's declarations
    const host = ts.createCompilerHost(options);
    host.jsDocParsingMode = ts.JSDocParsingMode.ParseForTypeErrors;
    const program = ts.createProgram([...sampleFiles, wrong, names, lacks, path.join(__dirname, 'sample-globals.d.ts')], options, host);

    // WHEN it is checked
    const problems = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...SAMPLES.flatMap((_sample, i) => {
      const source = program.getSourceFile(sampleFiles[i])!;
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    }).map((d) => {
      const sample = SAMPLES.find((s) => d.file && path.join(project, s.file) === d.file.fileName);
      const where = sample && d.file && d.start !== undefined ? `${sample.page}:${sample.line + d.file.getLineAndCharacterOfPosition(d.start).line}: ` : '';
      return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    })];

    // THEN nothing is wrong but the wrong one
    const wrongProblems = [...program.getSemanticDiagnostics(program.getSourceFile(wrong))].map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
    expect(wrongProblems).toEqual([expect.stringMatching(/Type 'string' is not assignable to type 'number'/)]);
    expect(problems).toEqual([]);
    // AND the root as the samples use it has what they name, and nothing else of the root's
    const problemsOf = (file: string) => [...program.getSemanticDiagnostics(program.getSourceFile(file))].map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
    expect(problemsOf(names)).toEqual([]);
    expect(problemsOf(lacks)).toEqual([expect.stringMatching(/has no exported member named 'pipelines'|has no exported member 'pipelines'/)]);
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
