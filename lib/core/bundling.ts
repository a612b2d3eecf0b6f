/**
 * How the constructs bundle code, in one place: the options LambdaWorker gives esbuild for a
 * user's handler, and the programs FleetWorker and WebTier run on EC2 (the user's module with
 * the worker agent or the web server of @cdk-cloud-patterns/runtime, made the same way).
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
import { cachedBuildSync } from './bundle-cache';

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
    // No `cause`: Node prints it as a second stack, and one line saying what to install is the point.
    // eslint-disable-next-line preserve-caught-error
    if (code === 'MODULE_NOT_FOUND' && message.includes("'esbuild'")) throw new Error(esbuildMissingMessage(what, entry));
    throw error;
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

// --- The runtime package, found where the user's entry is, as esbuild would find it ---

/** The package whose worker agent and web server the programs of FleetWorker and WebTier run. */
export const RUNTIME_PACKAGE = '@cdk-cloud-patterns/runtime';

/**
 * A module of the runtime package (`worker-agent/main`, `web-server/main`) for a program bundled
 * from `entry`: the runtime installed in the user's project (resolved from the entry's folder,
 * then from the working folder), as its built `.js`, or its `.ts` source when it is a source
 * checkout (this repository's workspace). Throws one line saying what to install when there is none.
 */
export function runtimeModule(modulePath: string, entry: string, what: string): string {
  let packageJson: string;
  try {
    packageJson = require.resolve(`${RUNTIME_PACKAGE}/package.json`, { paths: [path.dirname(path.resolve(entry)), process.cwd()] });
  } catch {
    throw new Error(`${what}: bundling entry ${entry} needs ${RUNTIME_PACKAGE}, which is not installed in this project: run \`npm i ${RUNTIME_PACKAGE}\``);
  }
  const dir = path.dirname(packageJson);
  const candidates = [path.join(dir, ...modulePath.split('/')) + '.ts', path.join(dir, 'dist', 'runtime', ...modulePath.split('/')) + '.js'];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) throw new Error(`${what}: ${RUNTIME_PACKAGE} in ${dir} has no ${modulePath} module (looked for ${candidates.join(' and ')}): reinstall it.`);
  return found;
}

/** The module that exports `runWorkerFromEnv`, for the agent program of `entry`. */
export function workerAgentMainModule(entry: string, what: string): string {
  return runtimeModule('worker-agent/main', entry, what);
}

/** The module that exports `runWebServerFromEnv` (WebTier's server program), for the server program of `entry`. */
export function webServerMainModule(entry: string, what: string): string {
  return runtimeModule('web-server/main', entry, what);
}

/**
 * The entry of an agent program: imports the job handler exported as `exportName` from
 * `handlerModule` (the file a LambdaWorker runs, unchanged) and runs the worker agent with it.
 */
export function agentProgramSource(handlerModule: string, agentModule: string, exportName = 'handler'): string {
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
export function webServerProgramSource(appModule: string, serverModule: string, exportName = 'handler'): string {
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
  // Through the bundle cache when CDK_CLOUD_PATTERNS_BUNDLE_CACHE names one (./bundle-cache.ts).
  cachedBuildSync(esbuild, {
    ...AGENT_ESBUILD_OPTIONS,
    ...options.esbuild,
    stdin: { contents, resolveDir: path.dirname(userEntry), sourcefile, loader: 'js' },
    outfile: path.join(outDir, AGENT_PROGRAM_FILE),
  }, outDir);
}

/** Bundles the agent program for the job handler in `handlerEntry` into `outDir/index.mjs`. */
export function bundleAgentProgram(handlerEntry: string, outDir: string, options: AgentBundleOptions = {}): void {
  const entry = path.resolve(handlerEntry);
  const agentModule = workerAgentMainModule(entry, options.what ?? 'FleetWorker');
  bundleProgram(agentProgramSource(entry, agentModule, options.exportName), entry, 'fleet-worker-agent.mjs', outDir, options);
}

/** Bundles the web server program for the request handler in `appEntry` into `outDir/index.mjs`. */
export function bundleWebServerProgram(appEntry: string, outDir: string, options: AgentBundleOptions = {}): void {
  const entry = path.resolve(appEntry);
  const serverModule = webServerMainModule(entry, options.what ?? 'WebTier');
  bundleProgram(webServerProgramSource(entry, serverModule, options.exportName), entry, 'web-server.mjs', outDir, { what: 'WebTier', ...options });
}

