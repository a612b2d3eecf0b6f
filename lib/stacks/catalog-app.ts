/**
 * The catalog app: one stack per pattern. bin/app.ts runs it for the CDK CLI; tests build it
 * with a fresh App to check every stack the way `cdk synth` does.
 */
import { Duration, type App } from 'aws-cdk-lib/core';
import { LOCAL_CLOUD_CONTEXT } from '../../contracts/local-cloud';
import { FleetWorkerStack } from './fleet-worker-stack';
import { ImageBootstrapStack } from './image-bootstrap-stack';
import { LockStack } from './lock-stack';
import { RenderFarmStack } from './render-farm-stack';
import { SessionStoreStack } from './session-store-stack';
import { SharedStorageStack } from './shared-storage-stack';
import { WebTierStack } from './web-tier-stack';
import { WorkQueueStack } from './work-queue-stack';

/** How long the render farm's fleet hides a tile in the local cloud's run (deployed: 60 s). */
export const LOCAL_FLEET_VISIBILITY_SECONDS = 5;

/**
 * The stacks of the catalog, by construct id (which is also the CloudFormation stack name). In the
 * local cloud's synthesis (context `cdk-cloud-patterns:local-cloud`), the demos with a web page
 * choose plain HTTP explicitly (the local balancer speaks no TLS; deployed, they need a
 * certificate or that choice), and the render farm's fleet hides a tile for 5 s instead of 60 s,
 * so that a killed worker's tile comes back within seconds.
 */
export function addCatalogStacks(app: App): void {
  const local = [true, 'true'].includes(app.node.tryGetContext(LOCAL_CLOUD_CONTEXT) as boolean | string);
  new WorkQueueStack(app, 'WorkQueueStack');
  new ImageBootstrapStack(app, 'ImageBootstrapStack');
  new FleetWorkerStack(app, 'FleetWorkerStack');
  new SessionStoreStack(app, 'SessionStoreStack');
  new SharedStorageStack(app, 'SharedStorageStack');
  new WebTierStack(app, 'WebTierStack', local ? { allowPlainHttp: true } : {});
  new RenderFarmStack(app, 'RenderFarmStack', local ? { allowPlainHttp: true, fleetVisibilityTimeout: Duration.seconds(LOCAL_FLEET_VISIBILITY_SECONDS) } : {});
  new LockStack(app, 'LockStack');
}
