/**
 * Jest's globalTeardown: stops the motos globalSetup started, and removes the folder it made for
 * the run (the run's bundle cache is inside it; in npm test's own folder, npm test removes both).
 */
import { removeRunScratch } from './run-scratch';
import { stopSharedMotos } from './shared-moto';

export default async function globalTeardown(): Promise<void> {
  await stopSharedMotos();
  removeRunScratch();
}
