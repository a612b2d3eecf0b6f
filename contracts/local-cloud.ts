/**
 * What the local cloud tells the app it synthesizes: `npm start` (and `cdk-cloud-patterns local`)
 * runs `cdk synth` with the context value below set to `true`, so that an app may choose, explicitly
 * and visibly in its own code, what only makes sense on a machine of its developer: the catalog app
 * chooses plain HTTP for its demos with a web page (the local balancer speaks no TLS) and shorter
 * job leases for the render farm's fleet (lib/stacks/catalog-app.ts). Plain TypeScript.
 */

/** The context key set to `true` when the local cloud synthesizes the app. */
export const LOCAL_CLOUD_CONTEXT = 'cdk-cloud-patterns:local-cloud';
