/**
 * cdk-cloud-patterns: the public API of the construct library. Each pattern's own index says
 * what it exports; internals (script renderers, metric math, agent paths) stay in their files.
 */
export * from './core';

export * from './work-queue';
export * from './image-bootstrap';
export * from './session-store';
export * from './shared-storage';
export * from './web-tier';
export * from './locks';
