/** Jest's globalTeardown: stops the motos globalSetup started, and removes the run's bundle cache and the folder it made for the run. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BUNDLE_CACHE_ENV } from '../../lib/core/bundle-cache';
import { removeRunScratch } from './run-scratch';
import { stopSharedMotos } from './shared-moto';

export default async function globalTeardown(): Promise<void> {
  await stopSharedMotos();
  const cache = process.env[BUNDLE_CACHE_ENV];
  // Only the folder globalSetup made (a cache someone named for the run is theirs).
  if (cache && path.dirname(cache) === os.tmpdir() && path.basename(cache).startsWith('cdk-cloud-patterns-bundles-')) fs.rmSync(cache, { recursive: true, force: true });
  removeRunScratch();
}
