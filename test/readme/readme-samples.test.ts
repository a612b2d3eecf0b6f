/**
 * The README's examples are code: every ```ts sample in README.md is type-checked against the
 * public API as a user's app imports it (`cdk-cloud-patterns`, `/runtime`, `/testing`, mapped
 * to the source), all in one TypeScript program; and each construct sample (one that imports
 * `cdk-cloud-patterns`) is synthesized in-process with cdk-nag on. A sample may use the names of
 * the preamble (preamble.ts) without declaring them; a sample whose first line is
 * `// src/<file>.ts` is that file of the project, so others can import it or use it as `entry`.
 * A sample that defines a jest `test(...)` is type-checked only.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ts from 'typescript';
import { addCatalogChecks } from '../../lib/testing';
import { PREAMBLE, PROJECT_FILES } from './preamble';
import { REPO_ROOT } from '../support/paths';


interface Sample {
  /** The README line of the sample's first line of code. */
  readonly line: number;
  readonly code: string;
  /** Where the sample sits in the project around the samples. */
  readonly file: string;
}

/** Every ```ts fence of the README, in order. */
export function readmeSamples(markdown: string): Sample[] {
  const samples: Sample[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```ts') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== '```') end++;
    const code = lines.slice(start, end).join('\n') + '\n';
    const named = /^\/\/ (src\/[\w./-]+\.ts)\s*$/.exec(lines[start] ?? '');
    samples.push({ line: start + 1, code, file: named ? named[1] : `src/readme-line-${start + 1}.ts` });
    i = end;
  }
  return samples;
}

const SAMPLES = readmeSamples(fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
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

describe('the README samples', () => {
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

  test('are there: the README has construct, runtime and testing samples', () => {
    expect(SAMPLES.filter(isConstructSample).length).toBeGreaterThanOrEqual(3);
    expect(SAMPLES.some((s) => s.code.includes("from '@cdk-cloud-patterns/runtime'"))).toBe(true);
    expect(SAMPLES.some((s) => s.code.includes("from 'cdk-cloud-patterns/testing'"))).toBe(true);
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
    const sampleFiles = SAMPLES.map((s) => path.join(project, s.file));
    // and one sample that is wrong on purpose, so a blind check (everything \`any\`) cannot pass
    const wrong = path.join(project, 'src', 'wrong-on-purpose.ts');
    fs.writeFileSync(wrong, "import { WorkQueue } from 'cdk-cloud-patterns';\nnew WorkQueue(stack, 'Jobs', { maxReceiveCount: 'five' });\n");
    const program = ts.createProgram([...sampleFiles, wrong, path.join(__dirname, 'sample-globals.d.ts')], options);

    // WHEN it is checked
    const problems = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...SAMPLES.flatMap((_sample, i) => {
      const source = program.getSourceFile(sampleFiles[i])!;
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    }).map((d) => {
      const sample = SAMPLES.find((s) => d.file && path.join(project, s.file) === d.file.fileName);
      const at = sample && d.file && d.start !== undefined ? `README.md:${sample.line + d.file.getLineAndCharacterOfPosition(d.start).line}: ` : '';
      return `${at}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    })];

    // THEN nothing is wrong but the wrong one
    const wrongProblems = [...program.getSemanticDiagnostics(program.getSourceFile(wrong))].map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
    expect(wrongProblems).toEqual([expect.stringMatching(/Type 'string' is not assignable to type 'number'/)]);
    expect(problems).toEqual([]);
  });

  test.each(SAMPLES.filter(isConstructSample).map((s) => [s.line, s] as const))('the construct sample at README.md:%d synthesizes with cdk-nag on', (_line, sample) => {
    // GIVEN an app with cdk-nag, bundling skipped (no esbuild runs: the constructs are the point),
    // and the preamble's names the sample uses
    process.env.CDK_VALIDATION = 'false';
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

      // THEN the stack has the sample's resources, and cdk-nag found nothing
      const template = assembly.getStackByName('Sample').template as { Resources?: Record<string, unknown> };
      expect(Object.keys(template.Resources ?? {}).length).toBeGreaterThan(0);
    } finally {
      process.chdir(cwd);
    }
  });
});
