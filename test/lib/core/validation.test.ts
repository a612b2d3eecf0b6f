/**
 * PatternPropsError is an Error by prototype, not by `extends Error` (jsii cannot represent a
 * subclass of a JavaScript built-in): TypeScript users still catch it as one.
 */
import * as util from 'util';
import { Stack } from 'aws-cdk-lib/core';
import { PatternPropsError } from '../../../lib';
import { assertProps } from '../../../lib/core/validation';

function thrownBy(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('nothing was thrown');
}

describe('PatternPropsError', () => {
  const rules = [
    { failed: true, prop: 'maxCapacity', message: 'must be at least 1, received 0.' },
    { failed: false, prop: 'minCapacity', message: 'never shown' },
    { failed: true, prop: 'vpc', message: 'must span 2 Availability Zones, received 1.' },
  ];

  test('is an Error and a PatternPropsError, with every broken rule in its message and in problems', () => {
    // WHEN a construct's props break two rules
    const error = thrownBy(() => assertProps(new Stack(undefined, 'Checked'), rules));
    // THEN it is caught as both, named, with the broken rules only
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(PatternPropsError);
    const e = error as PatternPropsError;
    expect(e.name).toBe('PatternPropsError');
    expect(e.message).toBe('Invalid props for Checked:\n  - maxCapacity: must be at least 1, received 0.\n  - vpc: must span 2 Availability Zones, received 1.');
    expect(e.problems.map((p) => p.prop)).toEqual(['maxCapacity', 'vpc']);
  });

  test('has a stack that starts at the throw, as Node prints an error', () => {
    const error = thrownBy(() => assertProps(new Stack(undefined, 'Checked'), rules)) as Error;
    expect(error.stack).toMatch(/^PatternPropsError: Invalid props for Checked:\n/);
    expect(error.stack).toMatch(/at assertProps/);
    expect(util.inspect(error)).toMatch(/^PatternPropsError: Invalid props for Checked/);
    expect(Object.prototype.toString.call(error)).toBe('[object Error]');
  });
});
