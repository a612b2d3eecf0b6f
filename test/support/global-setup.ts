/**
 * Jest's globalSetup: a temporary folder for the run unless `npm test` made one (test/support/run-scratch.ts),
 * one moto per worker for the files that run code against AWS
 * (test/support/shared-moto.ts), and one bundle cache for the run (lib/core/bundle-cache.ts: an
 * instance program synthesized by many files is bundled once per run). All three are named to the
 * workers through the environment they inherit, which the processes they start inherit in turn.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BUNDLE_CACHE_ENV } from '../../lib/core/bundle-cache';
import { useRunScratch } from './run-scratch';
import { startSharedMotos } from './shared-moto';

export default async function globalSetup(globalConfig: { readonly maxWorkers: number }): Promise<void> {
  useRunScratch();
  // In the run's folder (os.tmpdir() names it now), removed with it.
  if (!process.env[BUNDLE_CACHE_ENV]) process.env[BUNDLE_CACHE_ENV] = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-cloud-patterns-bundles-'));
  await startSharedMotos(globalConfig.maxWorkers);
}
