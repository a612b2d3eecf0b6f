/**
 * The runtime's and the local cloud's JavaScript and declarations, emitted file by file with
 * TypeScript's own transpilers (`ts.transpileModule`, `ts.transpileDeclaration`) instead of a tsc
 * program. A program reads every declaration file the sources reach (about 170,000 lines of the
 * AWS SDK's, 1,241 files) before it writes a line, even with `--noCheck`: 4.8 and 5.9 CPU s for
 * the two packages on this project's 2-core machine; file by file, about 2 s each.
 *
 * What makes it the same output: every file is written on its own anyway (`isolatedModules`), and
 * the packages' tsconfig.build.json set `isolatedDeclarations`, under which a file's declarations
 * follow from the file alone (an exported value's type is written in it). A file that does not
 * say enough fails the emit with TypeScript's message (`tsc -p <package>/tsconfig.build.json`
 * says the same). The files are those of the package's tsconfig and every repository file they
 * import, as a program pulls them in (the contracts, and the runtime modules the local cloud
 * uses), each written at its path under `rootDir` in `outDir`, as tsc writes it.
 * test/scripts/emit.test.ts compares the output with a tsc program's, file for file.
 */
import * as fs from 'fs';
import * as path from 'path';
import type * as TS from 'typescript';

/** TypeScript, loaded when a package is emitted (this module is imported by tests that never emit). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const typescript = (): typeof TS => require('typescript') as typeof TS;

/** What {@link emitPackage} wrote. */
export interface Emitted {
  /** The source files emitted, absolute, sorted. */
  readonly sources: string[];
  /** The files written (JavaScript and declarations), absolute, sorted. */
  readonly written: string[];
}

/** TypeScript's messages, one per line, each naming its file and line (relative to `dir`). */
function formatDiagnostics(diagnostics: readonly TS.Diagnostic[], dir: string = process.cwd()): string {
  return typescript().formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' });
}

/** The config file's options and root files, or an error naming the file and TypeScript's messages. */
export function readConfig(configFile: string): TS.ParsedCommandLine {
  const ts = typescript();
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(`${configFile}: ${formatDiagnostics([d])}`); },
  });
  if (!parsed) throw new Error(`${configFile}: TypeScript could not read it`);
  if (parsed.errors.length > 0) throw new Error(`${configFile}: ${formatDiagnostics(parsed.errors)}`);
  return parsed;
}

const TS_SOURCE = /\.(ts|tsx|mts|cts)$/;
const isSource = (file: string) => TS_SOURCE.test(file) && !/\.d\.(ts|mts|cts)$/.test(file);

/**
 * The root files and every source file of the repository they import, directly or not (relative
 * imports, `import type` and `export ... from` included, as a program follows them; packages in
 * node_modules are not emitted, as tsc does not emit them).
 */
export function sourceClosure(roots: readonly string[], options: TS.CompilerOptions): string[] {
  const ts = typescript();
  const seen = new Set<string>();
  const pending = roots.filter(isSource).map((f) => path.resolve(f));
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const reference of info.referencedFiles) {
      const target = path.resolve(path.dirname(file), reference.fileName);
      if (isSource(target) && fs.existsSync(target)) pending.push(target);
    }
    for (const imported of info.importedFiles) {
      const resolved = ts.resolveModuleName(imported.fileName, file, options, ts.sys).resolvedModule;
      if (resolved && !resolved.isExternalLibraryImport && isSource(resolved.resolvedFileName)) pending.push(path.resolve(resolved.resolvedFileName));
    }
  }
  return [...seen].sort();
}

/** Where tsc writes a source's output with these options (`.js` or `.d.ts`). */
export function outputPath(source: string, options: TS.CompilerOptions, extension: '.js' | '.d.ts'): string {
  if (!options.outDir || !options.rootDir) throw new Error('the package\'s tsconfig.build.json sets no outDir or rootDir: set both, as tsc needs them to place its files');
  const relative = path.relative(options.rootDir, source);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`${source} is outside rootDir ${options.rootDir}: tsc would refuse it too (TS6059)`);
  return path.join(options.outDir, relative.replace(TS_SOURCE, extension));
}

/**
 * Emits the package whose tsconfig is `configFile` (its `include`, and what those files import)
 * into its `outDir`. Throws, writing nothing, when a file cannot be emitted on its own: the error
 * names each file, line and TypeScript's message.
 */
export function emitPackage(configFile: string): Emitted {
  const ts = typescript();
  const { options, fileNames } = readConfig(configFile);
  if (!options.isolatedDeclarations) {
    throw new Error(`${configFile}: set "isolatedDeclarations": true in its compilerOptions: the build emits each file's declarations from the file alone, which only that option makes exact`);
  }
  const sources = sourceClosure(fileNames, options);
  // transpileModule writes no declarations, and TypeScript refuses isolatedDeclarations without them.
  const jsOptions: TS.CompilerOptions = { ...options, declaration: false, isolatedDeclarations: false };
  const outputs: { file: string; text: string }[] = [];
  const problems: TS.Diagnostic[] = [];
  for (const source of sources) {
    const text = fs.readFileSync(source, 'utf8');
    const js = ts.transpileModule(text, { compilerOptions: jsOptions, fileName: source, reportDiagnostics: true });
    const dts = ts.transpileDeclaration(text, { compilerOptions: options, fileName: source, reportDiagnostics: true });
    problems.push(...(js.diagnostics ?? []), ...(dts.diagnostics ?? []));
    outputs.push({ file: outputPath(source, options, '.js'), text: js.outputText });
    if (options.declaration) outputs.push({ file: outputPath(source, options, '.d.ts'), text: dts.outputText });
  }
  if (problems.length > 0) {
    const report = formatDiagnostics(problems, path.dirname(configFile));
    throw new Error(`${path.relative(process.cwd(), configFile)}: ${problems.length} file problem(s) stop the emit (each exported value's type must be written in its file):\n${report}`);
  }
  for (const { file, text } of outputs) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return { sources, written: outputs.map((o) => o.file).sort() };
}
