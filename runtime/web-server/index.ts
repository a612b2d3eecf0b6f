/** The web server of WebTier instances: serveWebApp and the program entry runWebServerFromEnv; readJsonBody for apps. */
export { serveWebApp } from './server';
export type { RequestHandler, WebServer, WebServerOptions, WebServerState, ShutdownReport } from './server';
export { runWebServerFromEnv, webServerOptionsFromEnv } from './main';
export type { RunWebServerOptions } from './main';
export { readJsonBody, RequestBodyError, DEFAULT_JSON_BODY_MAX_BYTES } from './body';
export type { ReadJsonBodyOptions } from './body';
