/**
 * The public API (`cdk-cloud-patterns`): each pattern exports what users build with from its
 * own index, which lib/index.ts re-exports; internal helpers (script renderers, metric math,
 * agent paths, defaults) stay out, so they can change without breaking users.
 */
import * as api from '../../lib';
import * as imageBootstrap from '../../lib/image-bootstrap';
import * as sharedStorage from '../../lib/shared-storage';
import * as workQueue from '../../lib/work-queue';

describe('the public API', () => {
  test('the work queue pattern exports its constructs and stacks, nothing else', () => {
    expect(Object.keys(workQueue).sort()).toEqual(['BacklogScaling', 'FleetWorker', 'FleetWorkerStack', 'LambdaWorker', 'WorkQueue', 'WorkQueueEncryption', 'WorkQueueStack']);
  });

  test('the image bootstrap pattern exports its constructs, steps, guard and stack, nothing else', () => {
    expect(Object.keys(imageBootstrap).sort()).toEqual([
      'BOOT_DEFAULT_PATHS', 'BootPhase', 'BootStep', 'BootstrappedImage', 'ImageBakery', 'ImageBootstrapStack', 'SecretGuard', 'SecretSource', 'findSecretLookalikes',
    ]);
  });

  test('the shared storage pattern exports its construct, its encryption choice and its stack, nothing else', () => {
    expect(Object.keys(sharedStorage).sort()).toEqual(['SharedStorage', 'SharedStorageEncryption', 'SharedStorageStack']);
  });

  test('re-exports every pattern\'s index', () => {
    for (const pattern of [workQueue, imageBootstrap, sharedStorage]) {
      for (const [name, value] of Object.entries(pattern)) expect((api as Record<string, unknown>)[name]).toBe(value);
    }
  });

  test('leaves internal helpers out', () => {
    const internal = Object.keys(api).filter((name) => /^render|Script|EXPRESSION|^FLEET_|^DEFAULT_|_FILE$|Parameter$/.test(name));
    expect(internal).toEqual([]);
  });
});
