/** Jest's globalSetup: one moto per worker for the files that run code against AWS (test/support/shared-moto.ts). */
import { startSharedMotos } from './shared-moto';

export default async function globalSetup(globalConfig: { readonly maxWorkers: number }): Promise<void> {
  await startSharedMotos(globalConfig.maxWorkers);
}
