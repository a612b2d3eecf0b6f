/**
 * The validation rules of boot steps, as `{ failed, prop, message }` rows (see core/validation):
 * names, paths, modes and owners, what each kind of step needs, the bake order, and the secret
 * guard. Deploy-time values (tokens) are skipped where they cannot be checked.
 */
import { Token } from 'aws-cdk-lib/core';
import type { PropRule } from '../core/validation';
import { RESERVED_STEP_NAMES } from './boot-script';
import { BootPhase, BootStepKind, effectivePhase, isKnownStep, visitStep, type BootStep } from './boot-steps';
import { describeLookalikes, findSecretsInStep, secretGuardAdvice } from './secret-guard';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const MODE = /^[0-7]{3,4}$/;
const OWNER = /^(?:[a-z_][a-z0-9_-]*\$?|\d+)(?::(?:[a-z_][a-z0-9_-]*\$?|\d+))?$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const PACKAGE = /^[A-Za-z0-9][A-Za-z0-9._+:~-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Text with its deploy-time tokens removed (what can be checked at synth time). */
function literal(text: string): string {
  return text.replace(/\$\{Token\[[^\]]*\]\}/g, '');
}

function badPath(p: string): boolean {
  return Token.isUnresolved(p) || !p.startsWith('/') || p.endsWith('/') || p.includes('//') ||
    p.split('/').some((part) => part === '..' || part === '.') || /[\n\0]/.test(p);
}

function pathRule(prop: string, p: string): PropRule {
  return {
    failed: badPath(p),
    prop: `${prop}.path`,
    message: `must be a literal absolute path without "." or ".." parts or a trailing "/", received "${p}".`,
  };
}

function modeOwnerRules(prop: string, mode: string, owner: string): PropRule[] {
  return [
    { failed: !MODE.test(mode), prop: `${prop}.mode`, message: `must be an octal mode like "0644", received "${mode}".` },
    {
      failed: !OWNER.test(owner),
      prop: `${prop}.owner`,
      message: `must be "user" or "user:group" (names or numeric ids), received "${owner}".`,
    },
  ];
}

/**
 * The rules for `step`, the step at `index` of the image's steps, given the steps before it.
 */
export function stepRules(step: BootStep, index: number, before: readonly BootStep[]): PropRule[] {
  const prop = `steps[${index}] ("${step.name}")`;
  const firstInstance = before.find((s) => effectivePhase(s) === BootPhase.INSTANCE);
  const secrets = isKnownStep(step) ? findSecretsInStep(step) : [];
  const rules: PropRule[] = [
    {
      failed: !NAME.test(step.name),
      prop: `steps[${index}].name`,
      message: `must be 1 to 63 letters, digits, "-" or "_", starting with a letter or digit, received "${step.name}".`,
    },
    {
      failed: before.some((s) => s.name === step.name) || RESERVED_STEP_NAMES.includes(step.name),
      prop: `steps[${index}].name`,
      message: `"${step.name}" is ${RESERVED_STEP_NAMES.includes(step.name) ? 'reserved for the boot script\'s own steps' : 'already the name of an earlier step'}: give each step its own name.`,
    },
    {
      failed: step.phase === BootPhase.IMAGE && firstInstance !== undefined,
      prop: `${prop}.phase`,
      message: `is IMAGE, but it comes after "${firstInstance?.name}", which runs at boot; the image holds only the steps before the first per-instance step. Move this step before "${firstInstance?.name}", or leave its phase unset.`,
    },
    {
      failed: secrets.length > 0,
      prop,
      message: `holds what looks like a secret: ${describeLookalikes(secrets)}. ${secretGuardAdvice('a step')}`,
    },
  ];

  if (!isKnownStep(step)) {
    rules.push({
      failed: true,
      prop,
      message: `was not made by BootStep's factories (it is a ${step.constructor.name} of kind "${step.kind}"), so the boot script cannot run it. Make it with BootStep.${step.kind === BootStepKind.S3_FILE ? 'fileFromS3' : step.kind}(...).`,
    });
    return rules;
  }
  rules.push(...visitStep<PropRule[]>(step, {
    packages: (s) => [
      { failed: s.packageNames.length === 0, prop: `${prop}.packages`, message: 'must name at least one package, received none.' },
      {
        failed: s.packageNames.some((p) => !PACKAGE.test(p)),
        prop: `${prop}.packages`,
        message: `must be package names like "jq" or "nodejs22", received ${JSON.stringify(s.packageNames.filter((p) => !PACKAGE.test(p)))}.`,
      },
    ],
    file: (s) => [pathRule(prop, s.path), ...modeOwnerRules(prop, s.mode, s.owner)],
    s3File: (s) => [pathRule(prop, s.path), ...modeOwnerRules(prop, s.mode, s.owner)],
    environment: (s) => {
      const names = Object.keys(s.variables);
      const badNames = names.filter((n) => !ENV_NAME.test(n));
      const badValues = Object.entries(s.variables).filter(([, v]) => /['\n\r\0]/.test(literal(v))).map(([k]) => k);
      return [
        pathRule(prop, s.path),
        { failed: names.length === 0, prop: `${prop}.variables`, message: 'must hold at least one variable, received none.' },
        {
          failed: badNames.length > 0,
          prop: `${prop}.variables`,
          message: `names must be letters, digits and "_", not starting with a digit, received ${JSON.stringify(badNames)}.`,
        },
        {
          failed: badValues.length > 0,
          prop: `${prop}.variables`,
          message: `values may not hold a single quote or a line break (the file is read by both bash and systemd), received them in ${JSON.stringify(badValues)}.`,
        },
      ];
    },
    commands: (s) => [{ failed: s.commandLines.length === 0, prop: `${prop}.commands`, message: 'must hold at least one command, received none.' }],
    service: (s) => {
      const missing = s.credentials.filter((c) => !before.includes(c));
      return [
        {
          failed: (s.execStart === undefined) === (s.unitFile === undefined),
          prop: `${prop}.execStart, unitFile`,
          message: `give exactly one: \`execStart\` (a unit is built from the options) or \`unitFile\` (a complete unit); received ${s.execStart === undefined ? 'neither' : 'both'}.`,
        },
        {
          failed: s.unitFile !== undefined && s._unitOptions.some((o) => o !== 'execStart'),
          prop: `${prop}.unitFile`,
          message: `is a complete unit, so ${s._unitOptions.filter((o) => o !== 'execStart').join(', ')} cannot be set with it. Put them in the unit file, or build the unit from \`execStart\` and the options.`,
        },
        {
          failed: s.execStart !== undefined && (s.execStart.trim() === '' || /[\n\r]/.test(s.execStart)),
          prop: `${prop}.execStart`,
          message: `must be one non-empty command line, received ${JSON.stringify(s.execStart)}.`,
        },
        {
          failed: s.user !== undefined && !USER.test(s.user),
          prop: `${prop}.user`,
          message: `must be a Linux user name (lower-case letters, digits, "_", "-"), received "${s.user}".`,
        },
        {
          failed: missing.length > 0,
          prop: `${prop}.credentials`,
          message: `must be secret steps that come before the service in the steps, but ${missing.map((c) => `"${c.name}"`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not. Add them before the service.`,
        },
      ];
    },
    secret: (s) => [
      pathRule(prop, s.path),
      ...modeOwnerRules(prop, s.mode, s.owner),
      {
        failed: s.phase !== undefined && s.phase !== BootPhase.INSTANCE,
        prop: `${prop}.phase`,
        message: `is ${s.phase}, but a secret is read at every boot and never baked into an image. Leave the phase of a secret step unset.`,
      },
      {
        failed: s.envVar !== undefined && !ENV_NAME.test(s.envVar),
        prop: `${prop}.envVar`,
        message: `must be letters, digits and "_", not starting with a digit, received "${s.envVar}".`,
      },
      {
        failed: s.source.jsonField !== undefined && s.source.jsonField === '',
        prop: `${prop}.source.jsonField`,
        message: 'must name a field of the secret\'s JSON, received an empty string.',
      },
    ],
  }));
  return rules;
}
