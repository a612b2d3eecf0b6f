/**
 * The program a WebTier instance runs: WebTier bundles (esbuild) a generated entry
 * `import * as app from '<user entry>'; runWebServerFromEnv(app.handler, { start: app.start });`
 * with this module into one file and starts it as a systemd service. Configured from the
 * environment WebTier writes (contracts/web-tier.ts: WEB_TIER_ENV); SIGTERM and SIGINT shut it
 * down gracefully and it exits 0; a failed start-up hook exits 1 (systemd restarts it; the
 * balancer never sees it ready).
 */
import { WEB_TIER_ENV } from '../../contracts/web-tier';
import { createLogger, errorFields } from '../jobs/logger';
import { serveWebApp, type RequestHandler, type WebServer, type WebServerOptions } from './server';

/** Options of {@link runWebServerFromEnv}. */
export interface RunWebServerOptions {
  /** The app's start-up hook (the entry's `start` export). @default - none */
  readonly start?: () => unknown;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Ends the program. @default process.exit */
  readonly exit?: (code: number) => void;
  /** Options over those from the environment (tests shorten timings). @default - none */
  readonly server?: Partial<WebServerOptions>;
}

/** Reads the server's options from the environment; throws naming the variable when one is unusable. */
export function webServerOptionsFromEnv(env: NodeJS.ProcessEnv): WebServerOptions {
  const num = (name: string, min: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number of at least ${min}, received "${raw}"`);
    return value;
  };
  return {
    port: num(WEB_TIER_ENV.port, 0),
    host: env[WEB_TIER_ENV.host] || undefined,
    requestTimeoutSeconds: num(WEB_TIER_ENV.requestTimeout, 1),
    idleTimeoutSeconds: num(WEB_TIER_ENV.idleTimeout, 1),
    bodyLimitBytes: num(WEB_TIER_ENV.bodyLimit, 0),
  };
}

/**
 * Runs `handler` as the instance's web server until SIGTERM or SIGINT, then shuts down
 * gracefully (readiness false, notice, drain) and exits 0.
 *
 * @example
 * // server.ts, what WebTier generates around your entry
 * import { runWebServerFromEnv } from '@cdk-cloud-patterns/runtime';
 * import { handler, start } from './app';
 * void runWebServerFromEnv(handler, { start });
 */
export async function runWebServerFromEnv(handler: RequestHandler, options: RunWebServerOptions = {}): Promise<WebServer | undefined> {
  const env = options.env ?? process.env;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log = createLogger({ component: 'web-server', server: env[WEB_TIER_ENV.serverName] });
  let server: WebServer;
  try {
    if (typeof handler !== 'function') throw new Error(`the entry exports no request handler function (received ${typeof handler})`);
    server = await serveWebApp(handler, { ...webServerOptionsFromEnv(env), start: options.start, logger: log, ...options.server });
  } catch (e) {
    log.error('the web server cannot start', errorFields(e));
    exit(1);
    return undefined;
  }
  const stop = (signal: string) => {
    log.info('signal received', { signal });
    server.shutdown().then(() => exit(0), (e: unknown) => {
      log.error('shutdown failed', errorFields(e));
      exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  server.started.catch(() => exit(1));
  return server;
}
