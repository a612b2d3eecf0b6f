/**
 * The catalog app: one stack per pattern. bin/app.ts runs it for the CDK CLI; tests build it
 * with a fresh App to check every stack the way `cdk synth` does.
 */
import type { App } from 'aws-cdk-lib';
import { FleetWorkerStack } from './fleet-worker-stack';
import { ImageBootstrapStack } from './image-bootstrap-stack';
import { LockStack } from './lock-stack';
import { RenderFarmStack } from './render-farm-stack';
import { SessionStoreStack } from './session-store-stack';
import { SharedStorageStack } from './shared-storage-stack';
import { WebTierStack } from './web-tier-stack';
import { WorkQueueStack } from './work-queue-stack';

/** The stacks of the catalog, by construct id (which is also the CloudFormation stack name). */
export function addCatalogStacks(app: App): void {
  new WorkQueueStack(app, 'WorkQueueStack');
  new ImageBootstrapStack(app, 'ImageBootstrapStack');
  new FleetWorkerStack(app, 'FleetWorkerStack');
  new SessionStoreStack(app, 'SessionStoreStack');
  new SharedStorageStack(app, 'SharedStorageStack');
  new WebTierStack(app, 'WebTierStack');
  new RenderFarmStack(app, 'RenderFarmStack');
  new LockStack(app, 'LockStack');
}
