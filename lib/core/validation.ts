/**
 * Props validation shared by every pattern: rules are rows of `{ failed, prop, message }`,
 * so a check and its message sit side by side and cannot drift apart, and every broken
 * rule of a construct is reported together in one error.
 */
import { Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** One validation rule of a construct's props. */
export interface PropRule {
  /** True when the props break the rule. */
  readonly failed: boolean;
  /** The prop (or props) the rule is about, as the user wrote them. */
  readonly prop: string;
  /** What is wrong, with the value received and how to fix it. */
  readonly message: string;
}

/** Thrown at synth time when a construct's props break one or more rules. */
export class PatternPropsError extends Error {
  /** The broken rules, in the order they were checked. */
  public readonly problems: readonly PropRule[];

  constructor(constructPath: string, problems: readonly PropRule[]) {
    const lines = problems.map((p) => `  - ${p.prop}: ${p.message}`);
    super(`Invalid props for ${constructPath}:\n${lines.join('\n')}`);
    this.name = 'PatternPropsError';
    this.problems = problems;
  }
}

/** Throws one {@link PatternPropsError} listing every failed rule; does nothing when all pass. */
export function assertProps(scope: IConstruct, rules: readonly PropRule[]): void {
  const problems = rules.filter((r) => r.failed);
  if (problems.length > 0) {
    throw new PatternPropsError(scope.node.path, problems);
  }
}

/** True when `value` is known at synth time (not undefined and not a deploy-time token). */
export function isKnown(value: number | undefined): value is number {
  return value !== undefined && !Token.isUnresolved(value);
}

/** True when a known number lies outside `[min, max]` or is not an integer. */
export function outsideInt(value: number | undefined, min: number, max: number): boolean {
  return isKnown(value) && (!Number.isInteger(value) || value < min || value > max);
}
