/**
 * cdk-cloud-patterns: the public API of the construct library. Each pattern's own index says
 * what it exports; internals (script renderers, metric math, agent paths) stay in their files.
 */
export { PatternPropsError } from './core/validation';
export type { PropRule } from './core/validation';
export type { ComputeProps } from './core/log-groups';

export * from './work-queue';
export * from './image-bootstrap';
export * from './session-store';
export * from './shared-storage';
export * from './web-tier';
