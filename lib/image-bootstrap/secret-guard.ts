/**
 * The secret guard: finds what looks like a secret in boot steps and user data at synth time.
 * A secret written into user data is readable by anyone who may describe the launch template
 * (or the instance's attribute), sits in the template and, in bake mode, in every copy of the
 * image; the fix is a secret step, which reads the value at boot with the instance role.
 */
import { Stack, type CfnResource, type IAspect } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as imagebuilder from 'aws-cdk-lib/aws-imagebuilder';
import type { IConstruct } from 'constructs';
import { visitStep, type BootStep } from './boot-steps';

/** One thing that looks like a secret. */
export interface SecretLookalike {
  /** What kind of secret it looks like, e.g. "an AWS access key id". */
  readonly kind: string;
  /** The start of the match, enough to find it, never the whole value. */
  readonly excerpt: string;
}

interface Detector {
  readonly kind: string;
  readonly pattern: RegExp;
  /** Characters of the match shown in messages. */
  readonly show: number;
}

// The value of a `key=value` must be a literal: not a variable ($X), a command substitution,
// a CloudFormation or template reference ({{...}}, <...>, %...), a path (/...) or an ARN; and
// the key must not be a part of a path or an ARN (`...:secret:name-AbCdEf`).
const KEYWORDS = 'password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret';
const DETECTORS: readonly Detector[] = [
  { kind: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, show: 8 },
  { kind: 'a private key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g, show: 40 },
  { kind: 'a GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b/g, show: 8 },
  { kind: 'a Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, show: 8 },
  {
    kind: 'a literal password, secret or token value',
    pattern: new RegExp(`(?<![A-Za-z0-9_.:/-])[A-Za-z0-9_.-]*(?:${KEYWORDS})["']?[ \\t]*[=:][ \\t]*["']?(?![$\`{<%/]|arn:)[^\\s"'\`;,&|)}]{6,}`, 'gi'),
    show: 0,
  },
];

/** A deploy-time value inside a string (a reference, not a literal). */
const TOKEN_MARKER = /\$\{Token\[[^\]]*\]\}/g;

/** Finds what looks like a secret in `text` (tokens count as references, not as literals). */
export function findSecretLookalikes(text: string): SecretLookalike[] {
  const literal = text.replace(TOKEN_MARKER, '$TOKEN');
  const found: SecretLookalike[] = [];
  for (const d of DETECTORS) {
    for (const m of literal.matchAll(d.pattern)) {
      const keyEnd = d.show === 0 ? m[0].search(/[=:]/) + 1 : d.show;
      found.push({ kind: d.kind, excerpt: `${m[0].slice(0, keyEnd)}…` });
    }
  }
  return found;
}

/** The texts of a step that the user wrote (generated parts and secret steps are not checked). */
export function userTextsOf(step: BootStep): string[] {
  return visitStep<string[]>(step, {
    packages: (s) => [...s.packageNames],
    file: (s) => [s.path, s.content],
    s3File: (s) => [s.path, s.objectKey],
    environment: (s) => [s.path, ...Object.entries(s.variables).map(([k, v]) => `${k}=${v}`)],
    commands: (s) => [...s.commandLines],
    service: (s) => [...s._userText],
    // A secret step holds only where the value is and where it goes: that is the point of it.
    secret: () => [],
  });
}

/** What looks like a secret in a step, unless the step says it holds none (`notASecret`). */
export function findSecretsInStep(step: BootStep): SecretLookalike[] {
  if (step.notASecret !== undefined) return [];
  return userTextsOf(step).flatMap(findSecretLookalikes);
}

/** The advice a secret-guard error ends with; `where` is "a step" or "user data". */
export function secretGuardAdvice(where: 'a step' | 'user data'): string {
  const exemption = where === 'a step'
    ? 'if it is no secret, set `notASecret` on the step with the reason'
    : 'or move the instance to a BootstrappedImage and its steps';
  return `What is in ${where} can be read by anyone who may describe the launch template or instance, sits in the template, ` +
    'and in bake mode in every copy of the image. Store the value in SSM Parameter Store (SecureString) or Secrets Manager and read it ' +
    `at boot with \`BootStep.secret(name, SecretSource.fromParameter(...) | SecretSource.fromSecret(...))\`; ${exemption}.`;
}

/** Describes the findings for an error message. */
export function describeLookalikes(found: readonly SecretLookalike[]): string {
  return found.map((f) => `${f.kind} ("${f.excerpt}")`).join(', ');
}

const guarded = new WeakSet<IConstruct>();

/** Marks a resource as checked step by step (by BootstrappedImage), so the aspect skips it. */
export function markGuarded(resource: IConstruct): void {
  guarded.add(resource);
}

/** The user data (or component document) of the resources the aspect checks, unresolved. */
function userDataOf(node: IConstruct): unknown {
  if (node instanceof ec2.CfnLaunchTemplate) {
    const data = Stack.of(node).resolve(node.launchTemplateData) as { userData?: unknown } | undefined;
    return data?.userData;
  }
  if (node instanceof ec2.CfnInstance) return node.userData;
  if (node instanceof autoscaling.CfnLaunchConfiguration) return node.userData;
  if (node instanceof imagebuilder.CfnComponent) return node.data;
  return undefined;
}

/**
 * An aspect that fails the synth when the user data of a launch template, instance or launch
 * configuration, or an Image Builder component, anywhere in its scope, looks like it holds a
 * secret. BootstrappedImage checks its own steps (with the step's name in the message); add this
 * to a stack or an app to check everything else.
 *
 * @example
 * Aspects.of(app).add(new SecretGuard());
 */
export class SecretGuard implements IAspect {
  /**
   * Finds what looks like a secret in `text` (deploy-time values count as references, not as
   * literals): the check behind the guard, for text of your own.
   */
  public static findLookalikes(text: string): SecretLookalike[] {
    return findSecretLookalikes(text);
  }

  /** Checks `node`'s user data (or component document), if it has any. */
  public visit(node: IConstruct): void {
    if (guarded.has(node)) return;
    const raw = userDataOf(node);
    if (raw === undefined) return;
    const text = decodeUserData(Stack.of(node).resolve(raw));
    const found = findSecretLookalikes(text);
    if (found.length > 0) {
      const type = (node as CfnResource).cfnResourceType;
      node.node.addValidation({
        validate: () => [
          `the user data of this ${type} holds what looks like a secret: ${describeLookalikes(found)}. ${secretGuardAdvice('user data')}`,
        ],
      });
    }
  }
}

/** The text of user data as CloudFormation would see it: literal strings of `Fn::Base64`/`Fn::Join`, references as `$TOKEN`. */
function decodeUserData(value: unknown): string {
  if (typeof value === 'string') {
    // Plain base64 user data (an encoded literal) is decoded; other strings are taken as they are.
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(value) && value.length % 4 === 0 && value.length >= 16) {
      return Buffer.from(value, 'base64').toString('utf8');
    }
    return value;
  }
  if (Array.isArray(value)) return value.map(decodeUserData).join('');
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if ('Fn::Base64' in obj) return decodeUserData(obj['Fn::Base64']);
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
      return parts.map(decodeUserData).join(sep);
    }
    if ('Fn::Sub' in obj) {
      const sub = obj['Fn::Sub'];
      const template = Array.isArray(sub) ? String(sub[0]) : String(sub);
      return template.replace(/\$\{[^}]+\}/g, '$TOKEN');
    }
    return '$TOKEN';
  }
  return '';
}
