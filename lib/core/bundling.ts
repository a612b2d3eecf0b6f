/**
 * How the catalog bundles code, in one place: the options LambdaWorker gives esbuild for a
 * user's handler, and the same options for the catalog's own handlers, which are bundled when
 * the package is built (users of the package then need no esbuild for them); and the agent
 * programs FleetWorker runs on EC2, made the same way from the same handler modules.
 *
 * Why these options (measured in bench/cold-start): the AWS SDK bundled and minified into one
 * file loads faster than NodejsFunction's default, which reads the runtime's SDK from dozens of
 * files. Handlers are CommonJS (5-8% faster to load than an ES module on Node) and leave out
 * the SDK's credential providers that Lambda never loads (credentials come from environment
 * variables there, the first link of the chain): a third of the bundle, read at every cold start.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { START_HOOK_EXPORT } from '../../contracts/web-tier';

/** Lets bundled CommonJS dependencies call `require` inside an ES module (agent programs). */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __cloudPatternsRequire } from 'module';const require = __cloudPatternsRequire(import.meta.url);";

/** The Node.js version the bundles target; keep in step with the default Lambda runtime. */
export const BUNDLE_TARGET = 'node24';

/** The default Lambda runtime of the catalog: the latest Node.js that Lambda offers. */
export const DEFAULT_NODE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * SDK credential providers a Lambda function never loads: Lambda sets credentials in environment
 * variables, which the SDK's default chain reads first, and it loads the other providers only
 * when that fails. Left out of handler bundles; were they ever needed, they would come from the
 * SDK in the Lambda runtime. Not left out of agent programs, which get credentials from IMDS.
 */
export const LAMBDA_UNUSED_SDK_MODULES: readonly string[] = [
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@smithy/credential-provider-imds',
];

/** What every bundle shares (a subset of esbuild's BuildOptions, without importing esbuild). */
const COMMON_ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node' as const,
  minify: true,
  sourcemap: false,
  mainFields: ['module', 'main'],
  legalComments: 'none' as const,
  logLevel: 'warning' as const,
};

/** esbuild options for a Lambda handler bundle. */
export const HANDLER_ESBUILD_OPTIONS = {
  ...COMMON_ESBUILD_OPTIONS,
  format: 'cjs' as const,
  target: BUNDLE_TARGET,
  external: [...LAMBDA_UNUSED_SDK_MODULES],
};

/** The same options in the shape NodejsFunction takes. */
export const HANDLER_NODEJS_BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.CJS,
  target: BUNDLE_TARGET,
  minify: true,
  sourceMap: false,
  mainFields: ['module', 'main'],
  // Bundle the SDK: one file to load at cold start, and the version we tested against.
  bundleAwsSDK: true,
  externalModules: [...LAMBDA_UNUSED_SDK_MODULES],
  logLevel: nodejs.LogLevel.WARNING,
};

// --- esbuild: a dev tool of the user's project, found where NodejsFunction looks for it ---

/** The one line a synth fails with when `entry` needs esbuild and the project has none. */
export function esbuildMissingMessage(what: string, entry: string): string {
  return `${what}: bundling entry ${entry} needs esbuild, which is not installed in this project: run \`npm i -D esbuild\``;
}

function resolvableFrom(dir: string): boolean {
  try {
    require.resolve('esbuild/package.json', { paths: [dir] });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether NodejsFunction will find esbuild: next to aws-cdk-lib (where it requires it from), or
 * an `esbuild` on the PATH. When it finds none it silently bundles in Docker instead, which
 * the catalog never wants: the caller fails with {@link esbuildMissingMessage} first.
 */
export function esbuildInstalled(): boolean {
  if (resolvableFrom(path.dirname(require.resolve('aws-cdk-lib')))) return true;
  return (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).some((dir) => {
    try {
      fs.accessSync(path.join(dir, 'esbuild'), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Throws the one line of {@link esbuildMissingMessage} unless {@link esbuildInstalled}. */
export function assertEsbuildInstalled(what: string, entry: string): void {
  if (!esbuildInstalled()) throw new Error(esbuildMissingMessage(what, entry));
}

/** esbuild's API for the catalog's own bundling (agent programs, catalog handlers), or the one line. */
export function loadEsbuild(what: string, entry: string): typeof import('esbuild') {
  try {
    // Loaded lazily: prebuilt handlers and programs in the installed package need no esbuild.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('esbuild') as typeof import('esbuild');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'MODULE_NOT_FOUND' && message.includes("'esbuild'")) throw new Error(esbuildMissingMessage(what, entry));
    throw error;
  }
}

/** File name and handler string of every catalog bundle. */
export const CATALOG_BUNDLE_FILE = 'index.js';
export const CATALOG_BUNDLE_HANDLER = 'index.handler';

/**
 * The code of one of the catalog's own Lambda handlers (`lambda/<name>.ts` in the source tree).
 *
 * In the installed package the handler was bundled by `npm run build` into
 * `dist/lambda/<name>/index.js`; from the source tree it is bundled now, with the same
 * options, into `node_modules/.cache/cdk-cloud-patterns/`. Both paths sit at the same place
 * relative to this file (`<root>/lib/core` and `<root>/dist/lib/core`).
 */
export function catalogHandlerCode(name: string): lambda.Code {
  const prebuilt = path.resolve(__dirname, '..', '..', 'lambda', name);
  if (fs.existsSync(path.join(prebuilt, CATALOG_BUNDLE_FILE))) {
    return lambda.Code.fromAsset(prebuilt);
  }
  const source = `${prebuilt}.ts`;
  if (!fs.existsSync(source)) {
    throw new Error(`cdk-cloud-patterns: no bundled handler at ${prebuilt} and no source at ${source}. Reinstall the package or run \`npm run build\`.`);
  }
  const outDir = path.resolve(__dirname, '..', '..', 'node_modules', '.cache', 'cdk-cloud-patterns', 'lambda', name);
  bundleHandler(source, outDir);
  return lambda.Code.fromAsset(outDir);
}

/** Bundles one handler entry into `outDir/index.js` with the catalog's options (esbuild is a dev tool here). */
export function bundleHandler(entry: string, outDir: string): void {
  // The installed package never reaches this line (its handlers come prebundled).
  const esbuild = loadEsbuild('cdk-cloud-patterns (a catalog handler)', entry);
  // Several synths (tests, the local cloud) may share outDir: build aside, then rename the file
  // into place, so a reader sees the old bundle or the new one, never a half-written or missing one.
  const staging = `${outDir}.${process.pid}.${Date.now()}.building`;
  try {
    esbuild.buildSync({ ...HANDLER_ESBUILD_OPTIONS, entryPoints: [entry], outfile: path.join(staging, CATALOG_BUNDLE_FILE) });
    fs.mkdirSync(outDir, { recursive: true });
    fs.renameSync(path.join(staging, CATALOG_BUNDLE_FILE), path.join(outDir, CATALOG_BUNDLE_FILE));
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

// --- Agent programs: the worker agent running a job handler, for FleetWorker instances ---

/** The Node.js major version FleetWorker instances run: Amazon Linux 2023's `nodejs22` package. */
export const AGENT_NODE_MAJOR = 22;

/** esbuild options for an agent program: those of a handler bundle, for the instances' Node.js. */
export const AGENT_ESBUILD_OPTIONS = {
  ...COMMON_ESBUILD_OPTIONS,
  format: 'esm' as const,
  target: `node${AGENT_NODE_MAJOR}`,
  banner: { js: ESM_REQUIRE_BANNER },
};

/** File name of every agent program bundle (the program systemd starts). */
export const AGENT_PROGRAM_FILE = 'index.mjs';

/** The catalog's own web server programs: request handlers under `apps/`, served by WebTier. */
export const CATALOG_WEB_PROGRAMS: readonly string[] = ['web-tier/demo-app', 'render-farm/web-app'];

/** The catalog's own agent programs: job handlers under `lambda/` that also run on a fleet. */
export const CATALOG_AGENT_PROGRAMS: readonly string[] = ['work-queue/demo-job', 'render-farm/render-job'];

/**
 * A module of the catalog's runtime, by its path under `runtime/` without extension: the `.ts`
 * file in the source tree, the `.js` file in the installed package (both two levels above this
 * file: `<root>/lib/core` and `<root>/dist/lib/core`).
 */
export function runtimeModule(modulePath: string): string {
  const base = path.resolve(__dirname, '..', '..', 'runtime', ...modulePath.split('/'));
  const found = ['.ts', '.js'].map((ext) => base + ext).find((file) => fs.existsSync(file));
  if (!found) throw new Error(`cdk-cloud-patterns: the runtime module ${modulePath} is missing (no ${base}.ts or .js). Reinstall the package or run \`npm run build\`.`);
  return found;
}

/** The module that exports `runWorkerFromEnv`. */
export function workerAgentMainModule(): string {
  return runtimeModule('worker-agent/main');
}

/** The module that exports `runWebServerFromEnv` (WebTier's server program). */
export function webServerMainModule(): string {
  return runtimeModule('web-server/main');
}

/**
 * The entry of an agent program: imports the job handler exported as `exportName` from
 * `handlerModule` (the file a LambdaWorker runs, unchanged) and runs the worker agent with it.
 */
export function agentProgramSource(handlerModule: string, exportName = 'handler', agentModule = workerAgentMainModule()): string {
  return [
    '// Generated by cdk-cloud-patterns (FleetWorker): the worker agent running a job handler.',
    `import { ${exportName} as handler } from ${JSON.stringify(handlerModule)};`,
    `import { runWorkerFromEnv } from ${JSON.stringify(agentModule)};`,
    'void runWorkerFromEnv(handler);',
    '',
  ].join('\n');
}

/**
 * The entry of a web server program: imports the request handler exported as `exportName`
 * from `appModule` (and its start-up hook `start`, when it exports one) and serves it with
 * the web-server runtime. A namespace import, so that an app without `start` still bundles.
 */
export function webServerProgramSource(appModule: string, exportName = 'handler', serverModule = webServerMainModule()): string {
  return [
    '// Generated by cdk-cloud-patterns (WebTier): the web server running a request handler.',
    `import * as app from ${JSON.stringify(appModule)};`,
    `import { runWebServerFromEnv } from ${JSON.stringify(serverModule)};`,
    `void runWebServerFromEnv(app[${JSON.stringify(exportName)}], { start: app[${JSON.stringify(START_HOOK_EXPORT)}] });`,
    '',
  ].join('\n');
}

/** Options of {@link bundleAgentProgram} and {@link bundleWebServerProgram}. */
export interface AgentBundleOptions {
  /** The name the handler is exported under. @default 'handler' */
  readonly exportName?: string;
  /** esbuild options over the catalog's ({@link AGENT_ESBUILD_OPTIONS}). @default - none */
  readonly esbuild?: Readonly<Record<string, unknown>>;
  /** Who bundles, for the message when esbuild is missing. @default 'FleetWorker' */
  readonly what?: string;
}

/**
 * Bundles a program for an instance from a generated entry (esbuild's stdin) into
 * `outDir/index.mjs`: one ES module with the AWS SDK inside, nothing to install on the instance
 * but Node.js. The user's file stays exactly what they wrote.
 */
function bundleProgram(contents: string, userEntry: string, sourcefile: string, outDir: string, options: AgentBundleOptions): void {
  const esbuild = loadEsbuild(options.what ?? 'FleetWorker', userEntry);
  fs.rmSync(outDir, { recursive: true, force: true });
  esbuild.buildSync({
    ...AGENT_ESBUILD_OPTIONS,
    ...options.esbuild,
    stdin: { contents, resolveDir: path.dirname(userEntry), sourcefile, loader: 'js' },
    outfile: path.join(outDir, AGENT_PROGRAM_FILE),
  });
}

/** Bundles the agent program for the job handler in `handlerEntry` into `outDir/index.mjs`. */
export function bundleAgentProgram(handlerEntry: string, outDir: string, options: AgentBundleOptions = {}): void {
  const entry = path.resolve(handlerEntry);
  bundleProgram(agentProgramSource(entry, options.exportName), entry, 'fleet-worker-agent.mjs', outDir, options);
}

/** Bundles the web server program for the request handler in `appEntry` into `outDir/index.mjs`. */
export function bundleWebServerProgram(appEntry: string, outDir: string, options: AgentBundleOptions = {}): void {
  const entry = path.resolve(appEntry);
  bundleProgram(webServerProgramSource(entry, options.exportName), entry, 'web-server.mjs', outDir, { what: 'WebTier', ...options });
}

/**
 * Where one of the catalog's agent programs comes from: in the installed package, the directory
 * `npm run build` bundled it into (`dist/agents/<name>/index.mjs`: users need no esbuild); in
 * the source tree, the handler module `lambda/<name>.ts`, bundled at synth like a user's entry.
 */
export function catalogAgentProgram(name: string): { readonly programDirectory: string } | { readonly entry: string } {
  const prebuilt = path.resolve(__dirname, '..', '..', 'agents', name);
  if (fs.existsSync(path.join(prebuilt, AGENT_PROGRAM_FILE))) return { programDirectory: prebuilt };
  const source = path.resolve(__dirname, '..', '..', 'lambda', `${name}.ts`);
  if (!fs.existsSync(source)) {
    throw new Error(`cdk-cloud-patterns: no bundled agent program at ${prebuilt} and no handler at ${source}. Reinstall the package or run \`npm run build\`.`);
  }
  return { entry: source };
}

/**
 * Where one of the catalog's web server programs comes from: in the installed package,
 * `dist/web-programs/<name>/index.mjs` (bundled by `npm run build`); in the source tree, the app
 * module `apps/<name>.ts`, bundled at synth like a user's entry.
 */
export function catalogWebProgram(name: string): { readonly code: string } | { readonly entry: string } {
  const prebuilt = path.resolve(__dirname, '..', '..', 'web-programs', name);
  if (fs.existsSync(path.join(prebuilt, AGENT_PROGRAM_FILE))) return { code: prebuilt };
  const source = path.resolve(__dirname, '..', '..', 'apps', `${name}.ts`);
  if (!fs.existsSync(source)) {
    throw new Error(`cdk-cloud-patterns: no bundled web program at ${prebuilt} and no app at ${source}. Reinstall the package or run \`npm run build\`.`);
  }
  return { entry: source };
}
