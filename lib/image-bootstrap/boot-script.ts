/**
 * The boot script of a BootstrappedImage, generated from its steps by a pure function (no CDK
 * scope needed, so it is tested on its own, shellchecked and run in a sandbox).
 *
 * The script is bash with `set -Eeuo pipefail`: each step is logged with its number and time,
 * a failure anywhere (a failing command, an unset variable, an `exit 1` in a command step) runs
 * the EXIT trap, which logs the step that failed, signals FAILURE to CloudFormation and shuts
 * the instance down so that its Auto Scaling group replaces it. Every path it writes is
 * prefixed with `$BOOT_ROOT` (empty on an instance), so a test can run it in a temporary
 * directory with stand-ins for dnf, aws and systemctl first on the PATH.
 */
import {
  BootStep, EnvironmentStep, ServiceStep, SecretService, parentDir, splitForBake, visitStep,
  type CommandsStep, type FileStep, type PackagesStep, type S3FileStep, type SecretStep,
} from './boot-steps';
import { bootRootedPath, environmentFileContent, heredocOpening, heredocTruncation, shellQuote } from '../../contracts/image-bootstrap';

/** Which part of the boot a script is. */
export enum ScriptPart {
  /** Boot mode: every step, at boot. */
  BOOT = 'BOOT',
  /** Bake mode, in EC2 Image Builder: the steps before the first per-instance step. */
  IMAGE = 'IMAGE',
  /** Bake mode, at boot of the baked image: the first per-instance step and all after it. */
  INSTANCE = 'INSTANCE',
}

/** The CloudFormation resource that waits for the boot's signal (an Auto Scaling group with a creation policy). */
export interface BootSignalTarget {
  /** Name of the stack of the resource. */
  readonly stackName: string;
  /** Logical id of the resource. */
  readonly logicalId: string;
}

/** Input of {@link renderBootScript}. */
export interface BootScriptOptions {
  /** Every step of the image, in order (the part picks its share). */
  readonly steps: readonly BootStep[];
  /** @default ScriptPart.BOOT */
  readonly part?: ScriptPart;
  /** Says whose script it is, in its header and logs. @default 'BootstrappedImage' */
  readonly title?: string;
  /** The region for the AWS CLI. @default - the CLI's own resolution */
  readonly region?: string;
  /** Ship the boot log and the services' logs to this log group with the CloudWatch agent. @default - no shipping */
  readonly logGroupName?: string;
  /** Signal SUCCESS or FAILURE to this resource. @default - no signal */
  readonly signal?: BootSignalTarget;
  /** Shut the instance down one minute after a failed boot, so that its group replaces it. @default false */
  readonly shutdownOnFailure?: boolean;
}

/** The boot log on the instance (and in the log group, stream `<instance id>/bootstrap`). */
export const BOOT_LOG_FILE = '/var/log/bootstrap.log';
/** The log of the image part in bake mode (kept in the image, not shipped). */
export const BAKE_LOG_FILE = '/var/log/bootstrap-bake.log';
/** Step names the script uses for its own steps. */
export const RESERVED_STEP_NAMES: readonly string[] = ['boot-logs', 'boot-logs-agent'];

const AGENT_DIR = '/opt/aws/amazon-cloudwatch-agent';
const AGENT_CONFIG = `${AGENT_DIR}/etc/bootstrap-logs.json`;

// Shared with the readers of a deployed boot script (contracts/image-bootstrap.ts).
export { shellQuote };

/** An absolute path under `$BOOT_ROOT`, quoted. */
function rooted(p: string): string {
  return bootRootedPath(p);
}

/** A section of the script: one step, with the lines that do it. */
interface Section {
  readonly name: string;
  readonly lines: readonly string[];
}

/**
 * Generates the bash boot script for `options.steps`. Pure: the same input gives the same text,
 * with deploy-time tokens left in place for CDK to resolve.
 */
export function renderBootScript(options: BootScriptOptions): string {
  const part = options.part ?? ScriptPart.BOOT;
  const { image, instance } = splitForBake(options.steps);
  const steps = part === ScriptPart.BOOT ? options.steps : part === ScriptPart.IMAGE ? image : instance;
  const atBoot = part !== ScriptPart.IMAGE;
  const title = options.title ?? 'BootstrappedImage';

  const sections: Section[] = [];
  const logsWanted = options.logGroupName !== undefined;
  if (logsWanted && part !== ScriptPart.INSTANCE) {
    sections.push({ name: part === ScriptPart.IMAGE ? 'boot-logs-agent' : 'boot-logs', lines: installAgentLines() });
  }
  if (logsWanted && atBoot) {
    const serviceLogs = options.steps.filter((s): s is ServiceStep => s instanceof ServiceStep && s.logFile !== undefined);
    const startLines = startAgentLines(options.logGroupName!, serviceLogs);
    if (part === ScriptPart.BOOT) {
      sections[0] = { name: 'boot-logs', lines: [...sections[0].lines, ...startLines] };
    } else {
      sections.push({ name: 'boot-logs', lines: startLines });
    }
  }
  if (part === ScriptPart.INSTANCE) {
    // Environment files baked into the image are exported to the steps that run at boot too.
    const baked = image.filter((s): s is EnvironmentStep => s instanceof EnvironmentStep);
    if (baked.length > 0) {
      sections.push({ name: 'baked-environment', lines: baked.flatMap((s) => sourceEnvLines(s.path)) });
    }
  }
  for (const step of steps) {
    sections.push({ name: step.name, lines: stepLines(step, atBoot) });
  }

  const partLabel = {
    [ScriptPart.BOOT]: 'every step, at boot',
    [ScriptPart.IMAGE]: 'the image part, baked by EC2 Image Builder',
    [ScriptPart.INSTANCE]: 'the per-instance part, at boot of the baked image',
  }[part];
  const out: string[] = [
    '#!/bin/bash',
    `# Boot script of ${title}: ${partLabel}.`,
    '# Generated by cdk-cloud-patterns (BootstrappedImage) from its steps: change the steps, not this script.',
    '# BOOT_ROOT prefixes every path it writes (empty on an instance; a sandbox directory in tests).',
    'set -Eeuo pipefail',
    'umask 022',
    'BOOT_ROOT="${BOOT_ROOT:-}"',
    ...(atBoot && options.signal ? ['BOOT_IMDS="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}"'] : []),
    'BOOT_RETRY_DELAY="${BOOT_RETRY_DELAY:-3}"',
    "BOOT_STEP='(start)'",
    'BOOT_STEP_STARTED=0',
    "BOOT_FAILED_LINE=''",
    ...(options.region !== undefined ? [`export AWS_DEFAULT_REGION=${shellQuote(options.region)}`] : []),
    'mkdir -p "${BOOT_ROOT}/var/log"',
    `exec > >(tee -a "\${BOOT_ROOT}"${shellQuote(atBoot ? BOOT_LOG_FILE : BAKE_LOG_FILE)}) 2>&1`,
    '',
    'log() {',
    `  printf '%s bootstrap: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2`,
    '}',
    '',
    '# Runs a command up to 5 times, waiting longer each time (boot-time calls meet a network or IAM still settling).',
    'boot_retry() {',
    '  local attempt=1',
    '  until "$@"; do',
    '    if [ "${attempt}" -ge 5 ]; then',
    '      return 1',
    '    fi',
    `    log "attempt \${attempt} of $1 failed; retrying in $((attempt * BOOT_RETRY_DELAY)) s"`,
    '    sleep "$((attempt * BOOT_RETRY_DELAY))"',
    '    attempt=$((attempt + 1))',
    '  done',
    '}',
    '',
    'boot_begin() {',
    '  BOOT_STEP=$1',
    '  BOOT_STEP_STARTED=${SECONDS}',
    '  log "step $2/$3 $1: start"',
    '}',
    '',
    'boot_end() {',
    '  log "step ${BOOT_STEP}: done in $((SECONDS - BOOT_STEP_STARTED)) s"',
    '}',
    '',
    ...(atBoot ? signalFunctions(options.signal) : []),
    'boot_on_exit() {',
    '  local status=$?',
    '  set +e',
    '  trap - EXIT',
    '  if [ "${status}" -ne 0 ]; then',
    '    log "FAILED: step ${BOOT_STEP} ended with status ${status}${BOOT_FAILED_LINE:+ at line ${BOOT_FAILED_LINE} of this script}"',
    ...(atBoot ? ['    boot_signal FAILURE'] : []),
    ...(atBoot && options.shutdownOnFailure
      ? [
        '    log "shutting down in 1 minute, so that the Auto Scaling group replaces this instance"',
        "    shutdown -h +1 'boot failed: see /var/log/bootstrap.log'",
      ]
      : []),
    '  fi',
    '  exit "${status}"',
    '}',
    'trap boot_on_exit EXIT',
    "trap 'BOOT_FAILED_LINE=${LINENO}' ERR",
    '',
    `log ${shellQuote(`${title}: ${partLabel}, ${sections.length} steps`)}`,
  ];
  sections.forEach((section, i) => {
    out.push('', `# --- step ${i + 1} of ${sections.length}: ${section.name} ---`);
    out.push(`boot_begin ${shellQuote(section.name)} ${i + 1} ${sections.length}`);
    out.push(...section.lines);
    out.push('boot_end');
  });
  out.push('', "BOOT_STEP='(finished)'", `log "finished ${sections.length} steps in \${SECONDS} s"`);
  if (atBoot) out.push('boot_signal SUCCESS');
  return `${out.join('\n')}\n`;
}

/** The functions that read the instance id (IMDSv2) and signal CloudFormation. */
function signalFunctions(signal: BootSignalTarget | undefined): string[] {
  if (signal === undefined) {
    return [
      'boot_signal() {',
      '  log "no CloudFormation resource waits for a $1 signal from this instance"',
      '}',
      '',
    ];
  }
  const stack = shellQuote(signal.stackName);
  const resource = shellQuote(signal.logicalId);
  return [
    '# IMDSv2: a session token first, then the request with it.',
    'boot_imds() {',
    '  local token',
    "  token=$(curl -sSf --max-time 2 -X PUT \"${BOOT_IMDS}/latest/api/token\" -H 'X-aws-ec2-metadata-token-ttl-seconds: 60') || return 1",
    '  curl -sSf --max-time 2 -H "X-aws-ec2-metadata-token: ${token}" "${BOOT_IMDS}/latest/meta-data/$1"',
    '}',
    '',
    '# Tells CloudFormation whether this instance booted (SUCCESS) or not (FAILURE).',
    'boot_signal() {',
    '  local instance_id',
    '  if ! instance_id=$(boot_retry boot_imds instance-id); then',
    '    log "no $1 signal sent: the instance id could not be read from the instance metadata service"',
    '    return 0',
    '  fi',
    `  if aws cloudformation signal-resource --stack-name ${stack} --logical-resource-id ${resource} --unique-id "\${instance_id}" --status "$1" > /dev/null; then`,
    `    log "signalled $1 for \${instance_id} to resource "${resource}" of stack "${stack}`,
    '  else',
    '    log "CloudFormation did not take the $1 signal: no stack operation waits for this instance"',
    '  fi',
    '}',
    '',
  ];
}

/** Installs the CloudWatch agent (and logrotate for the services' log files). */
function installAgentLines(): string[] {
  return ['boot_retry dnf install -y amazon-cloudwatch-agent logrotate'];
}

/** Configures and starts the CloudWatch agent: the boot log and each service's log to the log group. */
function startAgentLines(logGroupName: string, services: readonly ServiceStep[]): string[] {
  const collect = [
    { file_path: BOOT_LOG_FILE, log_group_name: logGroupName, log_stream_name: '{instance_id}/bootstrap' },
    ...services.map((s) => ({ file_path: s.logFile!, log_group_name: logGroupName, log_stream_name: `{instance_id}/${s.serviceName}` })),
  ];
  const config = `${JSON.stringify({ logs: { logs_collected: { files: { collect_list: collect } } } }, undefined, 2)}\n`;
  const rotate = [
    '/var/log/bootstrap/*.log {',
    '    daily',
    '    rotate 7',
    '    compress',
    '    missingok',
    '    notifempty',
    '    copytruncate',
    '}',
    '',
  ].join('\n');
  return [
    `mkdir -p ${rooted(`${AGENT_DIR}/etc`)} ${rooted('/etc/logrotate.d')}`,
    ...writeFileLines(AGENT_CONFIG, config),
    ...writeFileLines('/etc/logrotate.d/bootstrap', rotate),
    `${rooted(`${AGENT_DIR}/bin/amazon-cloudwatch-agent-ctl`)} -a fetch-config -m ec2 -s -c "file:\${BOOT_ROOT}${AGENT_CONFIG}"`,
  ];
}

/** The lines of one step. `atBoot` is false when the step is being baked into an image. */
function stepLines(step: BootStep, atBoot: boolean): string[] {
  return visitStep(step, {
    packages: packagesLines,
    file: fileLines,
    s3File: s3FileLines,
    environment: environmentLines,
    commands: commandsLines,
    service: (s) => serviceLines(s, atBoot),
    secret: secretLines,
  });
}

function packagesLines(step: PackagesStep): string[] {
  return [`boot_retry dnf install -y ${step.packageNames.map(shellQuote).join(' ')}`];
}

function fileLines(step: FileStep): string[] {
  return [
    `mkdir -p ${rooted(parentDir(step.path))}`,
    ...writeFileLines(step.path, step.content),
    ...modeOwnerLines(step.path, step.mode, step.owner),
  ];
}

function s3FileLines(step: S3FileStep): string[] {
  const url = shellQuote(`s3://${step.bucketName}/${step.objectKey}`);
  if (!step.extract) {
    return [
      `mkdir -p ${rooted(parentDir(step.path))}`,
      `boot_retry aws s3 cp --only-show-errors ${url} ${rooted(step.path)}`,
      ...modeOwnerLines(step.path, step.mode, step.owner),
    ];
  }
  return [
    'BOOT_ARCHIVE=$(mktemp)',
    `boot_retry aws s3 cp --only-show-errors ${url} "\${BOOT_ARCHIVE}"`,
    `mkdir -p ${rooted(step.path)}`,
    // Python's zipfile (always on Amazon Linux 2023: dnf needs it), keeping each file's mode.
    `python3 - "\${BOOT_ARCHIVE}" ${rooted(step.path)} <<'BOOT_PY'`,
    'import os, sys, zipfile',
    'with zipfile.ZipFile(sys.argv[1]) as archive:',
    '    for info in archive.infolist():',
    '        target = archive.extract(info, sys.argv[2])',
    '        mode = (info.external_attr >> 16) & 0o777',
    '        if mode and not info.is_dir():',
    '            os.chmod(target, mode)',
    'BOOT_PY',
    'rm -f "${BOOT_ARCHIVE}"',
    `chmod ${step.mode} ${rooted(step.path)}`,
    `chown -R ${shellQuote(step.owner)} ${rooted(step.path)}`,
  ];
}

function environmentLines(step: EnvironmentStep): string[] {
  const content = environmentFileContent(step.variables);
  return [
    `mkdir -p ${rooted(parentDir(step.path))}`,
    ...writeFileLines(step.path, content),
    ...modeOwnerLines(step.path, '0644', 'root:root'),
    ...sourceEnvLines(step.path),
  ];
}

function sourceEnvLines(envPath: string): string[] {
  return ['set -a', '# shellcheck source=/dev/null', `. ${rooted(envPath)}`, 'set +a'];
}

function commandsLines(step: CommandsStep): string[] {
  return ['(', ...step.commandLines, ')'];
}

function serviceLines(step: ServiceStep, atBoot: boolean): string[] {
  const unit = `${step.serviceName}.service`;
  const unitPath = `/etc/systemd/system/${unit}`;
  const lines = [
    ...(step.user !== undefined
      ? [`getent passwd ${shellQuote(step.user)} > /dev/null || useradd --system --no-create-home --shell /sbin/nologin ${shellQuote(step.user)}`]
      : []),
    ...(step.logFile !== undefined ? [`mkdir -p ${rooted(parentDir(step.logFile))}`] : []),
    `mkdir -p ${rooted('/etc/systemd/system')}`,
    ...writeFileLines(unitPath, step.unit),
    `chmod 0644 ${rooted(unitPath)}`,
    'systemctl daemon-reload',
  ];
  if (!atBoot) {
    return [...lines, `systemctl enable ${shellQuote(unit)}`];
  }
  return [
    ...lines,
    `systemctl enable --now ${shellQuote(unit)}`,
    `if ! systemctl is-active --quiet ${shellQuote(unit)}; then`,
    `  systemctl status --no-pager ${shellQuote(unit)} || true`,
    `  log ${shellQuote(`service ${unit} is not active`)}`,
    '  false',
    'fi',
  ];
}

function secretLines(step: SecretStep): string[] {
  const { source } = step;
  const fetch = source.service === SecretService.SSM
    ? `boot_retry aws ssm get-parameter --name ${shellQuote(source.id)} --with-decryption --query Parameter.Value --output text`
    : `boot_retry aws secretsmanager get-secret-value --secret-id ${shellQuote(source.id)} --query SecretString --output text`;
  const dir = parentDir(step.path);
  const lines = [
    `mkdir -p ${rooted(dir)}`,
    // The default directory lets owners reach their files but lists them to no one; another is left as it is.
    ...(dir === BootStep.SECRETS_DIRECTORY ? [`chmod 0711 ${rooted(dir)}`] : []),
    `BOOT_VALUE=$(${fetch})`,
  ];
  if (source.jsonField !== undefined) {
    lines.push(
      `BOOT_VALUE=$(printf '%s' "\${BOOT_VALUE}" | python3 -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; sys.stdout.write(v if isinstance(v, str) else json.dumps(v))' ${shellQuote(source.jsonField)})`,
    );
  }
  lines.push(
    `(umask 077 && printf '%s' "\${BOOT_VALUE}" > ${rooted(step.path)})`,
    ...modeOwnerLines(step.path, step.mode, step.owner),
  );
  if (step.envVar !== undefined) lines.push(`export ${step.envVar}="\${BOOT_VALUE}"`);
  lines.push('unset BOOT_VALUE');
  return lines;
}

function modeOwnerLines(p: string, mode: string, owner: string): string[] {
  return [`chmod ${mode} ${rooted(p)}`, `chown ${shellQuote(owner)} ${rooted(p)}`];
}

/**
 * Writes `content` exactly with a quoted here-document (no expansion inside, so deploy-time
 * values and `$` stay as they are); a content without a final newline is truncated by one byte.
 */
function writeFileLines(p: string, content: string): string[] {
  const delimiter = heredocDelimiter(content);
  const endsWithNewline = content.endsWith('\n');
  const body = endsWithNewline ? content.slice(0, -1) : content;
  return [
    heredocOpening(p, delimiter),
    body,
    delimiter,
    ...(endsWithNewline ? [] : [heredocTruncation(p)]),
  ];
}

/** A here-document delimiter that no line of `content` equals. */
function heredocDelimiter(content: string): string {
  const lines = new Set(content.split('\n'));
  let delimiter = 'BOOT_EOF';
  for (let i = 1; lines.has(delimiter); i++) delimiter = `BOOT_EOF_${i}`;
  return delimiter;
}

/**
 * An EC2 Image Builder (AWSTOE) component document that runs `script` in its build phase.
 * The script is a YAML literal block, so it needs no escaping.
 */
export function renderComponentDocument(name: string, description: string, script: string): string {
  const indent = ' '.repeat(14);
  const body = script.replace(/\n$/, '').split('\n').map((l) => (l === '' ? '' : `${indent}${l}`)).join('\n');
  return [
    `name: ${JSON.stringify(name)}`,
    `description: ${JSON.stringify(description)}`,
    'schemaVersion: 1.0',
    'phases:',
    '  - name: build',
    '    steps:',
    '      - name: Bootstrap',
    '        action: ExecuteBash',
    '        inputs:',
    '          commands:',
    '            - |',
    body,
    '',
  ].join('\n');
}
