/**
 * Rules more than one pattern checks, written once so that every construct words and decides them
 * the same way: bring-your-own conflicts, environment variable names, capacity bounds. Each
 * returns `PropRule` rows for the construct's `assertProps`, so all of a construct's broken rules
 * are still reported together in one error.
 */
import { Token } from 'aws-cdk-lib/core';
import { isKnown, outsideInt, type PropRule } from './validation';

/**
 * An existing resource is used as it is: none of the props that shape a new one may be set with
 * it. One row naming every conflicting prop given.
 *
 * @param existingProp the prop holding the existing resource (`queue`, `table`, `bucket`)
 * @param props the construct's props
 * @param shaping the props that only shape a resource the construct creates
 * @param owner the construct's name, for the fix ("remove `table` to let SessionStore create one")
 */
export function existingResourceRule<P extends object>(
  existingProp: keyof P & string, props: P, shaping: readonly (keyof P & string)[], owner: string, hints: Partial<Record<keyof P & string, string>> = {},
): PropRule {
  const given = props[existingProp] !== undefined;
  const conflicts = given ? shaping.filter((k) => props[k] !== undefined) : [];
  const noun = existingProp.replace(/([A-Z])/g, ' $1').toLowerCase();
  const why = conflicts.map((k) => hints[k]).filter((h): h is string => h !== undefined);
  return {
    failed: conflicts.length > 0,
    prop: `${existingProp} + ${conflicts.join(', ')}`,
    message: `an existing ${noun} is used as it is, so ${conflicts.join(', ')} cannot be set with it; received both. Remove ${conflicts.length === 1 ? 'it' : 'them'}, or remove \`${existingProp}\` to let ${owner} create one` +
      why.map((h) => ` (${h})`).join('') + '.',
  };
}

/** A name a program's environment may hold: letters, digits and "_", not starting with a digit. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The names of an `environment` prop: valid variable names, none of them one the construct sets
 * itself (`reserved`).
 */
export function environmentRules(environment: { readonly [name: string]: string } | undefined, reserved: readonly string[], owner: string, prop = 'environment'): PropRule[] {
  const names = Object.keys(environment ?? {});
  const reservedGiven = names.filter((k) => reserved.includes(k));
  const badNames = names.filter((k) => !ENV_NAME.test(k));
  return [
    {
      failed: reservedGiven.length > 0,
      prop,
      message: `${reservedGiven.join(', ')} ${reservedGiven.length === 1 ? 'is' : 'are'} set by ${owner} itself, received ${reservedGiven.length === 1 ? 'it' : 'them'} in ${prop}. Use other names.`,
    },
    {
      failed: badNames.length > 0,
      prop,
      message: `names must be letters, digits and "_", not starting with a digit; received ${badNames.map((n) => JSON.stringify(n)).join(', ')}.`,
    },
  ];
}

/** The bounds of a group's size, for {@link capacityRules}. */
export interface CapacityBounds {
  /** The smallest `minCapacity` allowed, and why (for the message), e.g. 1 and "a web tier with no server serves nothing". */
  readonly minLowest: number;
  readonly minWhy?: string;
  /** The smallest `maxCapacity` allowed, and why. */
  readonly maxLowest: number;
  readonly maxWhy?: string;
  /** The largest either may be. @default 10,000 */
  readonly highest?: number;
}

/** `minCapacity` and `maxCapacity` are whole numbers within their bounds, the first not above the second. */
export function capacityRules(minCapacity: number, maxCapacity: number, bounds: CapacityBounds): PropRule[] {
  const highest = bounds.highest ?? 10_000;
  const why = (text?: string) => (text ? ` (${text})` : '');
  return [
    {
      failed: outsideInt(minCapacity, bounds.minLowest, highest),
      prop: 'minCapacity',
      message: `must be an integer from ${bounds.minLowest} to ${highest.toLocaleString('en-US')}${why(bounds.minWhy)}, received ${minCapacity}.`,
    },
    {
      failed: outsideInt(maxCapacity, bounds.maxLowest, highest),
      prop: 'maxCapacity',
      message: `must be an integer from ${bounds.maxLowest} to ${highest.toLocaleString('en-US')}${why(bounds.maxWhy)}, received ${maxCapacity}.`,
    },
    {
      failed: isKnown(minCapacity) && isKnown(maxCapacity) && minCapacity > maxCapacity,
      prop: 'minCapacity, maxCapacity',
      message: `minCapacity (${minCapacity}) must not exceed maxCapacity (${maxCapacity}). Raise maxCapacity or lower minCapacity.`,
    },
  ];
}

/** True when `value` is a string known at synth time. */
export function isKnownString(value: string | undefined): value is string {
  return value !== undefined && !Token.isUnresolved(value);
}
