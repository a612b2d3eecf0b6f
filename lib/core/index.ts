/**
 * What every pattern shares: the error a construct throws for invalid props, and the log and role
 * props of every construct that runs code.
 *
 * @module core
 */
// The rest of lib/core is internal.
export { PatternPropsError } from './validation';
export type { PropRule } from './validation';
export type { ComputeProps } from './log-groups';
