/**
 * The code of the catalog's example stacks: the demo handlers under lambda/ and the demo web apps
 * under apps/, found in this repository (the examples are not part of any package). A handler is
 * bundled into node_modules/.cache/cdk-cloud-patterns/, with the options LambdaWorker uses for
 * `entry`, at every synthesis (through the bundle cache when CDK_CLOUD_PATTERNS_BUNDLE_CACHE names
 * one, as the test suite does: ../core/bundle-cache.ts), so that an unchanged handler's asset
 * keeps its hash; agent and web programs are bundled from their `entry` by FleetWorker and WebTier.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { cachedBuildSync } from '../core/bundle-cache';
import { HANDLER_ESBUILD_OPTIONS, loadEsbuild } from '../core/bundling';

/** The repository's root folder (this file is lib/stacks/catalog-code.ts). */
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** File name and handler string of every catalog handler bundle. */
export const CATALOG_BUNDLE_FILE = 'index.js';
export const CATALOG_BUNDLE_HANDLER = 'index.handler';

/** The code of one of the catalog's Lambda handlers (`lambda/<name>.ts`), bundled into the cache. */
export function catalogHandlerCode(name: string): lambda.Code {
  const source = path.join(REPO_ROOT, 'lambda', `${name}.ts`);
  if (!fs.existsSync(source)) throw new Error(`the catalog has no handler lambda/${name}.ts`);
  const outDir = path.join(REPO_ROOT, 'node_modules', '.cache', 'cdk-cloud-patterns', 'lambda', name);
  bundleHandler(source, outDir);
  return lambda.Code.fromAsset(outDir);
}

/** Bundles one handler entry into `outDir/index.js` with the options LambdaWorker uses. */
export function bundleHandler(entry: string, outDir: string): void {
  const esbuild = loadEsbuild('cdk-cloud-patterns (a catalog handler)', entry);
  // Several synths (tests, the local cloud) may share outDir: build aside, then rename the file
  // into place, so a reader sees the old bundle or the new one, never a half-written or missing one.
  const staging = `${outDir}.${process.pid}.${Date.now()}.building`;
  try {
    cachedBuildSync(esbuild, { ...HANDLER_ESBUILD_OPTIONS, entryPoints: [entry], outfile: path.join(staging, CATALOG_BUNDLE_FILE) }, staging);
    fs.mkdirSync(outDir, { recursive: true });
    fs.renameSync(path.join(staging, CATALOG_BUNDLE_FILE), path.join(outDir, CATALOG_BUNDLE_FILE));
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** The entry of one of the catalog's job handlers (`lambda/<name>.ts`), for a FleetWorker. */
export function catalogAgentEntry(name: string): string {
  return existing(path.join(REPO_ROOT, 'lambda', `${name}.ts`));
}

/** The entry of one of the catalog's web apps (`apps/<name>.ts`), for a WebTier. */
export function catalogWebEntry(name: string): string {
  return existing(path.join(REPO_ROOT, 'apps', `${name}.ts`));
}

function existing(file: string): string {
  if (!fs.existsSync(file)) throw new Error(`the catalog has no file ${path.relative(REPO_ROOT, file)}`);
  return file;
}
