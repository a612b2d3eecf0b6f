/**
 * The render farm's contract: what RenderFarmStack (lib/), its job handler (lambda/render-farm)
 * and its web app (apps/render-farm) all read. Plain TypeScript, no aws-cdk-lib and no SDK.
 */

/** Environment of the web app and the workers. */
export const RENDER_FARM_ENV = {
  /** The queue of small renders (a LambdaWorker takes them). */
  smallQueueUrl: 'RENDER_FARM_SMALL_QUEUE_URL',
  /** The queue of large renders (a FleetWorker takes them). */
  largeQueueUrl: 'RENDER_FARM_LARGE_QUEUE_URL',
  /** On a worker: the queue it takes tiles from, where it also sends the render's assemble job. */
  assembleQueueUrl: 'RENDER_FARM_ASSEMBLE_QUEUE_URL',
  /** The FleetWorker's Auto Scaling group, whose size the page shows as "workers". */
  fleetGroupName: 'RENDER_FARM_FLEET_GROUP',
  /** The Secrets Manager secret that signs the session cookies (read once at start-up). */
  sessionSecretArn: 'RENDER_FARM_SESSION_SECRET_ARN',
  /** `true` when the balancer serves plain HTTP (no certificate): cookies without Secure. */
  plainHttp: 'RENDER_FARM_PLAIN_HTTP',
} as const;

/** Renders of at most this many tiles go to the small queue (Lambda); larger ones to the fleet. */
export const SMALL_RENDER_MAX_TILES = 4;

/** Which queue a render's jobs go to. */
export type RenderLane = 'small' | 'large';

/** The lane of a render of `tiles` tiles. */
export function laneFor(tiles: number): RenderLane {
  return tiles <= SMALL_RENDER_MAX_TILES ? 'small' : 'large';
}

/** The outputs of RenderFarmStack. */
export const RENDER_FARM_OUTPUTS = {
  url: 'Url',
  smallQueueUrl: 'SmallRendersQueueUrl',
  largeQueueUrl: 'LargeRendersQueueUrl',
  fleetGroupName: 'FleetGroupName',
  bucketName: 'BucketName',
  recordsTableName: 'RecordsTableName',
} as const;
