/** The web server of WebTier instances: serveWebApp and the program entry runWebServerFromEnv. */
export { serveWebApp } from './server';
export type { RequestHandler, WebServer, WebServerOptions, WebServerState, ShutdownReport } from './server';
export { runWebServerFromEnv, webServerOptionsFromEnv } from './main';
export type { RunWebServerOptions } from './main';
