/** Jest's globalTeardown: stops the motos globalSetup started. */
import { stopSharedMotos } from './shared-moto';

export default async function globalTeardown(): Promise<void> {
  await stopSharedMotos();
}
