/**
 * Props validation shared by every pattern: rules are rows of `{ failed, prop, message }`,
 * so a check and its message sit side by side and cannot drift apart, and every broken
 * rule of a construct is reported together in one error.
 */
import { Token } from 'aws-cdk-lib/core';
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

/**
 * Thrown at synth time when a construct's props break one or more rules, with the broken rules
 * in {@link PatternPropsError.problems}. It is a native `Error` (`instanceof Error` and
 * `instanceof PatternPropsError` both hold; it has a stack, and `util.types.isNativeError` is
 * true) made without `extends Error`: jsii cannot represent a subclass of a JavaScript built-in,
 * and the class must be in the assembly for the other CDK languages, where it arrives as their
 * jsii runtime's exception with this message.
 */
export class PatternPropsError {
  /** Always "PatternPropsError". */
  public readonly name!: string;
  /** Every broken rule, one per line, under the construct's path. */
  public readonly message!: string;
  /** The broken rules, in the order they were checked. */
  public readonly problems!: PropRule[];

  constructor(constructPath: string, problems: PropRule[]) {
    const lines = problems.map((p) => `  - ${p.prop}: ${p.message}`);
    // The object returned is a native Error given this class's prototype (whose own prototype is
    // Error.prototype, below), so runtimes, loggers and test runners treat it as any error.
    const error = new Error(`Invalid props for ${constructPath}:\n${lines.join('\n')}`);
    Object.setPrototypeOf(error, new.target.prototype);
    Object.assign(error, { name: 'PatternPropsError', problems: [...problems] });
    Error.captureStackTrace(error, new.target);
    return error as unknown as PatternPropsError;
  }
}
Object.setPrototypeOf(PatternPropsError.prototype, Error.prototype);

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
