/**
 * The public API (`cdk-cloud-patterns`): each pattern exports what users build with from its
 * own index, which lib/index.ts re-exports; internal helpers (script renderers, metric math,
 * agent paths, defaults) stay out, so they can change without breaking users. The catalog's
 * example stacks (lib/stacks/) are not library API: nothing of them is exported.
 */
import * as api from '../../lib';
import * as imageBootstrap from '../../lib/image-bootstrap';
import * as sessionStore from '../../lib/session-store';
import * as sharedStorage from '../../lib/shared-storage';
import * as webTier from '../../lib/web-tier';
import * as workQueue from '../../lib/work-queue';

const PATTERNS = { imageBootstrap, sessionStore, sharedStorage, webTier, workQueue };

describe('the public API', () => {
  test('the work queue pattern exports its constructs, nothing else', () => {
    expect(Object.keys(workQueue).sort()).toEqual(['BacklogScaling', 'FleetWorker', 'LambdaWorker', 'WorkQueue', 'WorkQueueEncryption']);
  });

  test('the image bootstrap pattern exports its constructs, steps and guard, nothing else', () => {
    expect(Object.keys(imageBootstrap).sort()).toEqual([
      'BootPhase', 'BootStep', 'BootStepKind', 'BootstrappedImage', 'CommandsStep', 'EnvironmentStep', 'FileStep', 'ImageBakery', 'PackagesStep',
      'S3FileStep', 'SecretGuard', 'SecretService', 'SecretSource', 'SecretStep', 'ServiceRestart', 'ServiceStep',
    ]);
  });

  test('the shared storage pattern exports its construct and its encryption choice, nothing else', () => {
    expect(Object.keys(sharedStorage).sort()).toEqual(['SharedStorage', 'SharedStorageEncryption']);
  });

  test('the session store pattern exports its construct and its encryption choice, nothing else', () => {
    expect(Object.keys(sessionStore).sort()).toEqual(['SessionStore', 'SessionStoreEncryption']);
  });

  test('re-exports every pattern\'s index', () => {
    for (const pattern of Object.values(PATTERNS)) {
      for (const [name, value] of Object.entries(pattern)) expect((api as Record<string, unknown>)[name]).toBe(value);
    }
  });

  test('exports no example stack: the catalog\'s stacks are examples, not library API', () => {
    expect(Object.keys(api).filter((name) => /Stack(Props)?$/.test(name))).toEqual([]);
  });

  test('leaves internal helpers out', () => {
    const internal = Object.keys(api).filter((name) => /^render|Script|EXPRESSION|^FLEET_|^DEFAULT_|_FILE$|Parameter$/.test(name));
    expect(internal).toEqual([]);
  });
});
