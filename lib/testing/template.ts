/**
 * Template helpers for snapshot tests: a snapshot that does not change on every dependency
 * bump, because the hashes of assets (bundled code) are masked.
 */
import { Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';

const ASSET_HASH = /[0-9a-f]{64}/g;

/** Replaces every 64-hex-digit asset hash in a template (or any JSON value) with `<asset-hash>`. */
export function maskAssetHashes<T>(template: T): T {
  return JSON.parse(JSON.stringify(template).replace(ASSET_HASH, '<asset-hash>')) as T;
}

/** The synthesized template of `stack`, asset hashes masked: ready for `toMatchSnapshot()`. */
export function snapshotTemplate(stack: Stack): Record<string, unknown> {
  return maskAssetHashes(Template.fromStack(stack).toJSON());
}
