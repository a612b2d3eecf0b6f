/**
 * `cdk-cloud-patterns/testing`: the helpers the catalog tests itself with, for users' own
 * template tests (cdk-nag packs, hash-masked snapshots).
 *
 * @module testing
 */
export { addCatalogChecks } from './checks';
export { maskAssetHashes, snapshotTemplate } from './template';
