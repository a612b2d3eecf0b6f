/**
 * The real CDK CLI against the embedded AWS: synthesize the app once into a cloud assembly,
 * bootstrap (the CLI's own bootstrap template), deploy the assembly, and, when a deployment
 * fails, say which resources failed and why (from the stack's events and resources in the
 * embedded AWS).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CloudFormationClient, StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { LOCAL_CLOUD_CONTEXT } from '../contracts/local-cloud';
import { LOCAL_AWS_ENV } from './moto';
import { eachLine, exited, spawnNode, stopChild } from './processes';

/**
 * The CloudFormation client's module, loaded when first needed (a failed deploy, the list of what
 * moto did not model): the CLI runs start without it, and the local cloud spawns moto and the
 * synthesis before it loads the SDK.
 */
function cloudformationSdk(): typeof import('@aws-sdk/client-cloudformation') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-cloudformation') as typeof import('@aws-sdk/client-cloudformation');
}

/**
 * The catalog's own project (its cdk.json and CLI), in the source checkout; in the installed
 * package, the package's folder.
 */
export const PROJECT_ROOT: string = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === 'dist' ? '../..' : '..');

/** A stack of the synthesized app. */
export interface AssemblyStack {
  /** The id the CLI selects it by (`cdk deploy <id>`). */
  readonly id: string;
  /** Its CloudFormation stack name. */
  readonly stackName: string;
}

/** Thrown when a CLI step fails; `details` holds what to show the user. */
export class DeployError extends Error {
  override readonly name = 'DeployError';
  constructor(message: string, readonly details: readonly string[] = []) {
    super(message);
  }
}

/** Says how a CLI step goes: one line at a time, already stripped of noise. */
export type ProgressLine = (line: string) => void;

/**
 * The environment of every CLI run: the embedded AWS with dummy credentials, and nothing that
 * could reach a real account or the internet (profiles, instance metadata, telemetry, notices,
 * version checks).
 */
export function cliEnvironment(endpoint: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const key of Object.keys(env)) {
    if (/^AWS_/.test(key) || /^CDK_DEFAULT_/.test(key)) delete env[key];
  }
  return {
    ...env,
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    // The CLI would read the user's real profiles and SSO settings from these files.
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    CDK_DISABLE_CLI_TELEMETRY: '1',
    CDK_DISABLE_VERSION_CHECK: '1',
    FORCE_COLOR: '0',
    ...QUIET_SDK_ENV,
  };
}

/**
 * Silences the SDK's notice that its releases after January 2027 need Node 22 (printed by
 * every process that loads the SDK on Node 20); other warnings still show.
 */
export const QUIET_SDK_ENV = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } as const;

/** The CDK CLI of the project in `projectDir` (a user's app has its own), else the catalog's. */
export function cliPath(projectDir: string = PROJECT_ROOT): string {
  return require.resolve('aws-cdk/bin/cdk', { paths: [projectDir, PROJECT_ROOT] });
}

// Lines the CLI prints that tell the user nothing here.
const NOISE = [
  /^\s*$/,
  /feature flags are not configured/,
  /^Successfully synthesized to |^Supply a stack id \(/,
  /^Stack ARN:$/,
  /^arn:aws:cloudformation:/,
  /Trusted accounts for|Using default execution policy|--cloudformation-execution-policies/,
];

/** Options of {@link runCdk}. */
export interface RunCdkOptions {
  readonly endpoint: string;
  /** The CDK project (its cdk.json): the CLI runs there. @default PROJECT_ROOT (the catalog) */
  readonly projectDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Receives the lines to show as they come. */
  readonly onLine?: ProgressLine;
  /** Which lines go to `onLine`. @default - every line but the CLI's noise */
  readonly show?: (line: string) => boolean;
  readonly signal?: AbortSignal;
}

/**
 * Runs the CLI with `args`; resolves with its output lines. On failure throws DeployError
 * whose details are the lines that were not shown as they came.
 */
export async function runCdk(args: readonly string[], options: RunCdkOptions): Promise<string[]> {
  const child = spawnNode([cliPath(options.projectDir), ...args, '--no-notices', '--no-color'], {
    cwd: options.projectDir ?? PROJECT_ROOT,
    env: { ...cliEnvironment(options.endpoint), ...options.env },
  });
  const lines: string[] = [];
  const hidden: string[] = [];
  const onLine = (raw: string) => {
    if (NOISE.some((re) => re.test(raw))) return;
    // A crash inside minified code prints whole files as one line.
    const line = raw.length > 300 ? `${raw.slice(0, 300)}... (${raw.length} characters)` : raw;
    lines.push(line);
    if (options.onLine && (options.show?.(line) ?? true)) options.onLine(line);
    else hidden.push(line);
  };
  eachLine(child.stdout, onLine);
  eachLine(child.stderr, onLine);
  // Nothing to keep from a stopped step: the CLI gets a second to exit before SIGKILL.
  const abort = () => void stopChild(child, 1000);
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    await exited(child);
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
  if (options.signal?.aborted) throw new DeployError(`cdk ${args[0]} was stopped`);
  if (child.exitCode !== 0) {
    const shown = lines.length > hidden.length;
    throw new DeployError(`cdk ${args[0]} failed (exit code ${child.exitCode ?? child.signalCode})${shown ? ': see its output above' : ''}`, hidden.slice(-30));
  }
  return lines;
}

/** Lines of `cdk deploy` that only say it works as usual (asset building and publishing, outputs read again below). */
const DEPLOY_CHATTER = [
  /: (start|success): (Building|Built|Publishing|Published) /,
  /^\S+$/, // a stack's name alone, before its events
  /^✨ {2}Synthesis time/,
  /^Outputs:$/,
  /^\S+\.\S+ = /, // Stack.Output = value: printed from the embedded AWS once deployed
];

/** Options of {@link synth}. */
export interface SynthOptions {
  readonly endpoint: string;
  readonly projectDir?: string;
  /** The cloud assembly folder. */
  readonly outDir: string;
  /**
   * Run CDK's template validation and cdk-nag. They add seconds and are covered by the
   * template tests, so the smoke run skips them.
   */
  readonly checks: boolean;
  readonly onLine?: ProgressLine;
  readonly signal?: AbortSignal;
}

/**
 * Synthesizes the app (cdk.json's `app`) into `outDir` and lists its stacks, telling the app it
 * is the local cloud's synthesis (contracts/local-cloud.ts).
 */
export async function synth(options: SynthOptions): Promise<AssemblyStack[]> {
  fs.rmSync(options.outDir, { recursive: true, force: true });
  await runCdk(['synth', '--quiet', '--output', options.outDir, '--context', `${LOCAL_CLOUD_CONTEXT}=true`, ...(options.checks ? [] : ['--no-validation'])], {
    endpoint: options.endpoint,
    projectDir: options.projectDir,
    env: options.checks ? {} : { CDK_NAG: 'false' },
    onLine: options.onLine,
    signal: options.signal,
  });
  return assemblyStacks(options.outDir);
}

/** The stacks of a synthesized cloud assembly. */
export function assemblyStacks(dir: string): AssemblyStack[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type: string; displayName?: string; properties?: { stackName?: string } }>;
  };
  return Object.entries(manifest.artifacts ?? {})
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([id, a]) => ({ id: a.displayName ?? id, stackName: a.properties?.stackName ?? id }));
}

/**
 * The stacks to deploy: all of them, or the ones named (by id or stack name). Throws
 * DeployError naming the unknown ones and listing the known ones.
 */
export function selectStacks(all: readonly AssemblyStack[], names: readonly string[]): AssemblyStack[] {
  if (names.length === 0) return [...all];
  const unknown = names.filter((n) => !all.some((s) => s.id === n || s.stackName === n));
  if (unknown.length > 0) {
    throw new DeployError(
      `unknown stack${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}. The app has: ${all.map((s) => s.id).join(', ') || '(no stacks)'}.`,
    );
  }
  return all.filter((s) => names.includes(s.id) || names.includes(s.stackName));
}

/** The stack `cdk bootstrap` deploys. */
export const BOOTSTRAP_STACK = 'CDKToolkit';

/**
 * The parameters `cdk bootstrap` deploys its template with when given no options (the CLI's
 * bootstrapper: an AWS-managed key for the asset bucket, no trusted accounts, so no execution
 * policies and the template's AdministratorAccess default, public access blocked); the others
 * keep the template's defaults (qualifier hnb659fds, no permissions boundary).
 */
export const BOOTSTRAP_PARAMETERS: Readonly<Record<string, string>> = {
  FileAssetsBucketKmsKeyId: 'AWS_MANAGED_KEY',
  TrustedAccounts: '',
  TrustedAccountsForLookup: '',
  CloudFormationExecutionPolicies: '',
  PublicAccessBlockConfiguration: 'true',
};

/**
 * The bootstrap template of the project's CDK CLI (the file `cdk bootstrap` deploys, in the CLI
 * package); undefined when this CLI keeps none there.
 */
export function bootstrapTemplateFile(projectDir?: string): string | undefined {
  const file = path.join(path.dirname(cliPath(projectDir)), '..', 'lib', 'api', 'bootstrap', 'bootstrap-template.yaml');
  return fs.existsSync(file) ? file : undefined;
}

/** Options of {@link bootstrap}. */
export interface BootstrapOptions {
  readonly endpoint: string;
  readonly projectDir?: string;
  /** Where the CLI's placeholder assembly goes, when the CLI bootstraps. */
  readonly workDir: string;
  readonly account: string;
  readonly region: string;
  readonly onLine?: ProgressLine;
  readonly signal?: AbortSignal;
  /** How long the stack may take to create. @default {@link BOOTSTRAP_TIMEOUT_MS} */
  readonly timeoutMs?: number;
}

/** How long {@link bootstrap} waits for the stack by default. */
export const BOOTSTRAP_TIMEOUT_MS = 120_000;

/**
 * Bootstraps the embedded AWS's account and region as `cdk bootstrap` does by default, without
 * waiting for the app: the project's CLI's own bootstrap template, deployed as the CDKToolkit
 * stack with the parameters the CLI passes ({@link BOOTSTRAP_PARAMETERS}). The CLI itself is
 * not started for it: a CLI process costs about 2 s of CPU to do what one CreateStack does, and
 * the app synthesizes meanwhile. A CLI without the template file bootstraps with the CLI
 * ({@link bootstrapWithCli}). On failure throws DeployError with the failing resources.
 */
export async function bootstrap(options: BootstrapOptions): Promise<void> {
  const templateFile = bootstrapTemplateFile(options.projectDir);
  if (templateFile === undefined) {
    await bootstrapWithCli(options);
    return;
  }
  const { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } = cloudformationSdk();
  const cfn = new CloudFormationClient({ ...localClientConfig(options.endpoint), region: options.region });
  try {
    try {
      await cfn.send(new CreateStackCommand({
        StackName: BOOTSTRAP_STACK,
        TemplateBody: fs.readFileSync(templateFile, 'utf8'),
        Parameters: Object.entries(BOOTSTRAP_PARAMETERS).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      }), { abortSignal: options.signal });
    } catch (e) {
      // Bootstrapped already (as `cdk bootstrap` finds with no changes): its status is read below.
      if ((e as Error).name !== 'AlreadyExistsException') throw e;
    }
    // moto creates the stack within the call; a real CloudFormation would take a minute or two.
    const timeoutMs = options.timeoutMs ?? BOOTSTRAP_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = (await cfn.send(new DescribeStacksCommand({ StackName: BOOTSTRAP_STACK }), { abortSignal: options.signal })).Stacks?.[0]?.StackStatus ?? '';
      if (status.endsWith('_FAILED') || status.includes('ROLLBACK') || status.startsWith('DELETE')) {
        throw new DeployError(`cdk bootstrap failed: the ${BOOTSTRAP_STACK} stack is ${status}`, await failureReport(cfn, [BOOTSTRAP_STACK]));
      }
      if (status.endsWith('_COMPLETE')) return; // created now, or created (and updated) before
      if (Date.now() > deadline) throw new DeployError(`cdk bootstrap failed: the ${BOOTSTRAP_STACK} stack was still ${status || 'not created'} after ${Math.round(timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    if (options.signal?.aborted) throw new DeployError('cdk bootstrap was stopped');
    if (e instanceof DeployError) throw e;
    throw new DeployError(`cdk bootstrap failed: ${(e as Error).name}: ${(e as Error).message}`, await failureReport(cfn, [BOOTSTRAP_STACK]).catch(() => []));
  } finally {
    cfn.destroy();
  }
}

/**
 * `cdk bootstrap` of the embedded AWS's account and region with the CLI, without waiting for the
 * app: for a CLI that keeps no bootstrap template where {@link bootstrapTemplateFile} looks.
 *
 * The CLI runs the app before it bootstraps, even when the environment is named, and refuses
 * an app without stacks. Given this placeholder assembly (one empty stack that is never
 * deployed) it bootstraps at once, so bootstrapping runs while the real app synthesizes.
 */
export async function bootstrapWithCli(options: BootstrapOptions): Promise<void> {
  const placeholder = path.join(options.workDir, 'bootstrap.out');
  fs.mkdirSync(placeholder, { recursive: true });
  fs.writeFileSync(path.join(placeholder, 'Placeholder.template.json'), JSON.stringify({ Resources: { Nothing: { Type: 'AWS::CloudFormation::WaitConditionHandle' } } }));
  fs.writeFileSync(path.join(placeholder, 'manifest.json'), JSON.stringify({
    version: '55.0.0',
    artifacts: { Placeholder: { type: 'aws:cloudformation:stack', environment: 'aws://unknown-account/unknown-region', properties: { templateFile: 'Placeholder.template.json' } } },
  }));
  // Only the outcome is worth showing (the caller says it); on failure the error has every line.
  await runCdk(['bootstrap', '--app', placeholder, `aws://${options.account}/${options.region}`], { ...options, show: (l) => /❌|rror/.test(l) });
}

/** Options of {@link deploy}. */
export interface DeployOptions {
  readonly endpoint: string;
  readonly projectDir?: string;
  /** The cloud assembly from {@link synth}. */
  readonly assemblyDir: string;
  readonly stacks: readonly AssemblyStack[];
  readonly onLine?: ProgressLine;
  readonly signal?: AbortSignal;
}

/**
 * Deploys `stacks` from the synthesized assembly. Uses CreateStack/UpdateStack directly, not
 * change sets: moto does not compute a stack's outputs when it executes a change set.
 * On failure throws DeployError with the failing resources and reasons.
 */
export async function deploy(options: DeployOptions): Promise<void> {
  try {
    await runCdk([
      'deploy',
      '--app', options.assemblyDir,
      '--method', 'direct',
      '--require-approval', 'never',
      '--progress', 'events',
      '--concurrency', '4',
      ...options.stacks.map((s) => s.id),
    ], { ...options, show: (l) => !DEPLOY_CHATTER.some((re) => re.test(l)) });
  } catch (e) {
    if (!(e instanceof DeployError) || options.signal?.aborted) throw e;
    const cfn = new (cloudformationSdk().CloudFormationClient)({ endpoint: options.endpoint, region: LOCAL_AWS_ENV.AWS_REGION, credentials: localCredentials() });
    try {
      const reasons = await failureReport(cfn, options.stacks.map((s) => s.stackName));
      // The CLI's own messages were shown as they came; only the chatter was held back.
      throw new DeployError(e.message, reasons);
    } finally {
      cfn.destroy();
    }
  }
}

/** The dummy credentials of the embedded AWS ({@link localCredentials}). */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

/** The dummy credentials as an SDK credentials object. */
export function localCredentials(): LocalCredentials {
  return { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY, sessionToken: LOCAL_AWS_ENV.AWS_SESSION_TOKEN };
}

/** The settings of an SDK client of the embedded AWS ({@link localClientConfig}). */
export interface LocalClientConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: LocalCredentials;
}

/** The settings of an SDK client of the embedded AWS at `endpoint`. */
export function localClientConfig(endpoint: string): LocalClientConfig {
  return { endpoint, region: LOCAL_AWS_ENV.AWS_REGION, credentials: localCredentials() };
}

/** What failed in each stack, from its events and resources: one line per failure. */
export async function failureReport(cfn: CloudFormationClient, stackNames: readonly string[]): Promise<string[]> {
  const { DescribeStackEventsCommand, DescribeStacksCommand } = cloudformationSdk();
  const lines: string[] = [];
  for (const stackName of stackNames) {
    let status: string | undefined;
    try {
      status = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]?.StackStatus;
    } catch {
      lines.push(`${stackName}: the stack was not created (the error above says why).`);
      continue;
    }
    const failed: string[] = [];
    const events = (await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }))).StackEvents ?? [];
    const failures = events.filter((ev) => ev.ResourceStatus?.endsWith('_FAILED'));
    // The stack's own event only summarizes its resources' ("The following resource(s) failed...").
    const ofResources = failures.filter((ev) => ev.ResourceType !== 'AWS::CloudFormation::Stack');
    for (const ev of ofResources.length > 0 ? ofResources : failures) {
      failed.push(`  ${ev.LogicalResourceId} (${ev.ResourceType}): ${ev.ResourceStatus}: ${ev.ResourceStatusReason ?? 'no reason given'}`);
    }
    // moto cannot list the resources of a stack whose creation failed half-way.
    const resources = await listResources(cfn, stackName).catch(() => []);
    for (const r of resources) {
      if (r.ResourceStatus?.endsWith('_FAILED') && !failed.some((f) => f.includes(`${r.LogicalResourceId} (`))) {
        failed.push(`  ${r.LogicalResourceId} (${r.ResourceType}): ${r.ResourceStatus}: ${r.ResourceStatusReason ?? 'no reason given'}`);
      }
    }
    if (failed.length > 0 || !status?.endsWith('_COMPLETE') || status.includes('ROLLBACK')) {
      lines.push(`${stackName}: ${status ?? 'unknown status'}`, ...(failed.length > 0 ? failed : ['  the embedded AWS reported no failed resource (see the CLI\'s message below)']));
    }
  }
  return lines;
}

async function listResources(cfn: CloudFormationClient, stackName: string): Promise<StackResourceSummary[]> {
  const { ListStackResourcesCommand } = cloudformationSdk();
  const out: StackResourceSummary[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: token }));
    out.push(...(page.StackResourceSummaries ?? []));
    token = page.NextToken;
  } while (token);
  return out;
}

/**
 * Resources of the deployed template that the embedded AWS accepted without creating them
 * (moto skips the types it does not model, such as AWS::CloudWatch::Alarm): type -> count.
 * Shown after a deployment so that nobody mistakes them for running locally.
 */
export async function notModelled(cfn: CloudFormationClient, stackName: string): Promise<Map<string, number>> {
  const { GetTemplateCommand } = cloudformationSdk();
  const body = (await cfn.send(new GetTemplateCommand({ StackName: stackName }))).TemplateBody ?? '{}';
  let template: { Resources?: Record<string, { Type?: string }> };
  try {
    template = JSON.parse(body);
  } catch {
    return new Map();
  }
  const created = new Set((await listResources(cfn, stackName)).map((r) => r.LogicalResourceId).filter(Boolean));
  const missing = new Map<string, number>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (created.has(logicalId) || !resource.Type) continue;
    missing.set(resource.Type, (missing.get(resource.Type) ?? 0) + 1);
  }
  return missing;
}
