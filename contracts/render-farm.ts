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
  /** `true` when the balancer serves plain HTTP (no certificate): cookies without Secure, no HSTS. */
  plainHttp: 'RENDER_FARM_PLAIN_HTTP',
  /** The Cognito user pool the users sign up in and sign in with (its id, e.g. `us-east-1_AbC123`). */
  userPoolId: 'RENDER_FARM_USER_POOL_ID',
  /** The pool's app client the web app signs users in through (USER_PASSWORD_AUTH); the tokens' audience. */
  userPoolClientId: 'RENDER_FARM_USER_POOL_CLIENT_ID',
} as const;

/** The workers' time limits, which the render budget below is made to fit. */
export const RENDER_WORKER_TIMEOUT_SECONDS = {
  /** The Lambda worker (small renders), at 1,024 MB (about 0.6 of a vCPU). */
  lambda: 60,
  /** A fleet worker's job (large renders), on a t4g.micro. */
  fleet: 300,
} as const;

/**
 * The most work one tile may ask for, in pixel-iterations (its pixels x `maxIterations`): a tile
 * whose every point stays in the set costs about 25 ns per pixel-iteration on one core of the
 * project's machine (3 x 3 samples per pixel), so 500,000,000 is about 12.5 s there and about 22 s
 * on the Lambda worker's 0.6 vCPU: inside its 60 s timeout with room, and far inside the fleet's
 * 5 minutes. The web app refuses at submission a render whose work (size² x maxIterations) is
 * over tiles x this (docs/decisions.md, Render farm).
 */
export const TILE_WORK_BUDGET = 500_000_000;

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
