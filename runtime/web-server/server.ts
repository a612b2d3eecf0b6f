/**
 * serveWebApp: runs a Node request handler (a plain `(req, res)` function, or an Express or
 * similar app, which is one) as a server that a load balancer can rely on:
 *
 * - liveness and readiness endpoints; readiness is false until the app's start-up hook is done,
 *   and false again from the shutdown (SIGTERM), while the server keeps serving, so the balancer
 *   stops sending before the server stops accepting;
 * - a graceful shutdown: notice (readiness false, still serving), then stop accepting, finish the
 *   requests in flight within the drain time, close idle keep-alive connections, exit;
 * - keep-alive and headers timeouts longer than the balancer's idle timeout, so the balancer
 *   always closes an idle connection first (no 502 from a connection the server just closed);
 * - a JSON access log line per request, with the balancer's trace id;
 * - a request body limit counted on the bytes as they arrive, whatever the framing (a chunked body
 *   has no Content-Length to check): 413 and the connection closed, and the handler never reads
 *   past the limit (body.ts). The close lingers ({@link closeAfterRefusal}), so that a client
 *   still sending its body reads the 413 instead of a reset.
 *
 * All timings come from contracts/web-tier.ts (`deriveWebTierTimings`), as the balancer's do.
 */
import * as http from 'http';
import type { AddressInfo, Socket } from 'net';
import {
  DEFAULT_BODY_LIMIT_BYTES, LIVENESS_PATH, READINESS_PATH, TRACE_ID_HEADER, WEB_SERVER_PORT,
  brokenTimingRules, deriveWebTierTimings, type WebTierTimings,
} from '../../contracts/web-tier';
import { createLogger, errorFields } from '../jobs/logger';
import type { JobLogger } from '../jobs/types';
import { RequestBodyError, capRequestBody } from './body';

/** A Node request handler: what `http.createServer` takes, and what an Express app is. */
export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => unknown;

/** Options of {@link serveWebApp}. */
export interface WebServerOptions {
  /** The port; 0 picks a free one. @default 8080 */
  readonly port?: number;
  /** The address to bind. @default '0.0.0.0' (every interface: the balancer reaches the instance over the VPC) */
  readonly host?: string;
  /** The longest a request may take, in seconds: the one timing setting. @default 30 */
  readonly requestTimeoutSeconds?: number;
  /** The balancer's idle timeout, in seconds. @default 60 (the ALB's default) */
  readonly idleTimeoutSeconds?: number;
  /**
   * Derived timings to replace (tests shorten the notice and drain; a host behind a different
   * balancer may need others). The result is checked with the same rules as at synth.
   *
   * @default - every timing derived from the two settings above
   */
  readonly timings?: Partial<WebTierTimings>;
  /**
   * The largest request body the server accepts, in bytes, counted as the bytes arrive (a
   * Content-Length over it is refused before the handler runs; a chunked body is cut at it): 413
   * and the connection closed, and the handler reads no more than this.
   *
   * @default 1048576 (1 MiB)
   */
  readonly bodyLimitBytes?: number;
  /** The app's start-up hook (open pools, warm caches); readiness stays false until it resolves. @default - none */
  readonly start?: () => unknown;
  /** Where log lines go (one JSON object per line). @default - JSON lines on stdout and stderr */
  readonly logger?: JobLogger;
  /** Log each request (not the health checks). @default true */
  readonly accessLog?: boolean;
}

/** Where a server is in its life. */
export type WebServerState = 'starting' | 'ready' | 'failed' | 'draining' | 'stopped';

/** What a shutdown did. */
export interface ShutdownReport {
  /** Requests that finished while draining (after the server stopped accepting). */
  readonly drained: number;
  /** Connections still busy at the end of the drain time, cut. */
  readonly cut: number;
  /** SIGTERM (or `shutdown()`) to closed, in milliseconds. */
  readonly durationMs: number;
}

/** A running server. */
export interface WebServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** The timings it runs with. */
  readonly timings: WebTierTimings;
  readonly state: WebServerState;
  /** Resolves when the start-up hook is done (rejects when it failed). */
  readonly started: Promise<void>;
  /** The Node server (to add an `upgrade` listener, say); its timeouts are set from {@link timings}. */
  readonly httpServer: http.Server;
  /** Requests being handled now. */
  inFlight(): number;
  /**
   * The graceful shutdown (what SIGTERM does in {@link runWebServerFromEnv}): readiness false,
   * serve on for the balancer's notice time, stop accepting, let requests in flight finish
   * within the drain time, close every connection. Calling it again returns the same promise.
   */
  shutdown(): Promise<ShutdownReport>;
}

interface Tracked {
  active: number;
}

/** Starts serving `handler` and resolves once the port is open (before the start-up hook is done). */
export async function serveWebApp(handler: RequestHandler, options: WebServerOptions = {}): Promise<WebServer> {
  const timings: WebTierTimings = {
    ...deriveWebTierTimings({
      requestTimeoutSeconds: options.requestTimeoutSeconds ?? 30,
      idleTimeoutSeconds: options.idleTimeoutSeconds ?? 60,
    }),
    ...options.timings,
  };
  const broken = brokenTimingRules(timings);
  if (broken.length > 0) throw new Error(`serveWebApp: timings that break the web tier's rules:\n  - ${broken.join('\n  - ')}`);
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const log = options.logger ?? createLogger({ component: 'web-server' });
  const accessLog = options.accessLog ?? true;

  let state: WebServerState = 'starting';
  let inFlight = 0;
  let closing = false;
  const sockets = new Map<Socket, Tracked>();
  let drainedWaiters: Array<() => void> = [];

  const server = http.createServer({
    keepAliveTimeout: timings.keepAliveTimeoutSeconds * 1000,
    headersTimeout: timings.headersTimeoutSeconds * 1000,
    // Receiving a request (headers and body) may take the headers' time plus a request's.
    requestTimeout: (timings.headersTimeoutSeconds + timings.requestTimeoutSeconds) * 1000,
    // How often Node checks those two timeouts (its default is every 30 s): a slow client is cut
    // within a quarter of the headers timeout after it passes, not up to 30 s later.
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, (timings.headersTimeoutSeconds * 1000) / 4)),
  });
  server.keepAliveTimeout = timings.keepAliveTimeoutSeconds * 1000;

  server.on('connection', (socket: Socket) => {
    sockets.set(socket, { active: 0 });
    socket.once('close', () => sockets.delete(socket));
  });

  // `Expect: 100-continue` with a declared body over the limit: 413 instead of inviting the body.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (Number(req.headers['content-length'] ?? 0) > bodyLimit) {
      closeAfterRefusal(res);
      return plain(res, 413, `request body over ${bodyLimit} bytes`);
    }
    res.writeContinue();
    server.emit('request', req, res);
  });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === LIVENESS_PATH) return plain(res, 200, 'live');
    if (path === READINESS_PATH) return plain(res, state === 'ready' ? 200 : 503, state);

    const tracked = sockets.get(req.socket);
    const started = process.hrtime.bigint();
    inFlight++;
    if (tracked) tracked.active++;
    // From the shutdown on, every response closes its connection: the balancer opens a new one
    // elsewhere instead of reusing one this server is about to close.
    if (state === 'draining' || state === 'stopped') res.setHeader('Connection', 'close');
    let done = false;
    const finish = (aborted: boolean) => {
      if (done) return;
      done = true;
      inFlight--;
      if (tracked) tracked.active--;
      if (accessLog) {
        log.info('request', {
          method: req.method,
          path,
          status: res.statusCode,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
          traceId: req.headers[TRACE_ID_HEADER],
          forwardedFor: req.headers['x-forwarded-for'],
          userAgent: req.headers['user-agent'],
          ...(aborted ? { aborted: true } : {}),
        });
      }
      if (closing && tracked?.active === 0) req.socket.destroySoon();
      if (inFlight === 0) {
        const waiters = drainedWaiters;
        drainedWaiters = [];
        waiters.forEach((w) => w());
      }
    };
    res.once('finish', () => finish(false));
    res.once('close', () => finish(!res.writableFinished));

    if (state === 'starting' || state === 'failed') {
      res.setHeader('Retry-After', '1');
      return plain(res, 503, 'starting');
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > bodyLimit) {
      closeAfterRefusal(res);
      return plain(res, 413, `request body over ${bodyLimit} bytes`);
    }
    // Whatever the framing, the body is counted as it arrives; past the limit nothing more
    // reaches the handler, the client gets 413 and the connection is closed.
    capRequestBody(req, bodyLimit, (received) => {
      overLimit.add(req);
      log.warn('request body over the limit: 413, connection closed', { method: req.method, path, bodyLimitBytes: bodyLimit, receivedBytes: received, forwardedFor: req.headers['x-forwarded-for'] });
      if (res.headersSent) {
        req.socket.destroy();
        return;
      }
      closeAfterRefusal(res);
      plain(res, 413, `request body over ${bodyLimit} bytes`);
    });
    try {
      const result = handler(req, res);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(undefined, (e: unknown) => failed(req, res, e));
      }
    } catch (e) {
      failed(req, res, e);
    }
  });

  /** Requests whose body passed the limit: already answered, so their handler's failure is expected. */
  const overLimit = new WeakSet<http.IncomingMessage>();
  const failed = (req: http.IncomingMessage, res: http.ServerResponse, e: unknown) => {
    if (overLimit.has(req)) return;
    if (e instanceof RequestBodyError && !res.headersSent) {
      // The app refused the body (readJsonBody): its status, and a message meant for the client.
      if (e.status === 413) closeAfterRefusal(res);
      return plain(res, e.status, e.message);
    }
    log.error('the request handler failed', errorFields(e));
    if (!res.headersSent) plain(res, 500, 'internal error');
    else res.destroy();
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? WEB_SERVER_PORT, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;

  const started = (async () => {
    try {
      await options.start?.();
      if (state === 'starting') state = 'ready';
      log.info('ready', { port: address.port, timings });
    } catch (e) {
      if (state === 'starting') state = 'failed';
      log.error('the start-up hook failed: readiness stays false', errorFields(e));
      throw e;
    }
  })();
  started.catch(() => undefined);

  let shutdownPromise: Promise<ShutdownReport> | undefined;
  const shutdown = (): Promise<ShutdownReport> => {
    shutdownPromise ??= (async () => {
      const t0 = Date.now();
      state = 'draining';
      log.info('shutting down: readiness false, serving while the balancer notices', { noticeSeconds: timings.unreadyNoticeSeconds });
      await sleep(timings.unreadyNoticeSeconds * 1000);
      // Stop accepting; connections with no request in flight are closed now, the others once
      // their request is answered.
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const [socket, t] of sockets) if (t.active === 0) socket.destroySoon();
      const drainingAtClose = inFlight;
      const allDone = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => drainedWaiters.push(resolve));
      const drainTimer = timeout(timings.drainSeconds * 1000);
      await Promise.race([allDone, drainTimer.promise]);
      drainTimer.cancel();
      const cut = [...sockets.values()].filter((t) => t.active > 0).length;
      const stillInFlight = inFlight;
      server.closeAllConnections();
      await closed;
      state = 'stopped';
      const report = { drained: drainingAtClose - stillInFlight, cut, durationMs: Date.now() - t0 };
      log.info('stopped', { ...report });
      return report;
    })();
    return shutdownPromise;
  };

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    timings,
    get state() {
      return state;
    },
    started,
    httpServer: server,
    inFlight: () => inFlight,
    shutdown,
  };
}

/** How long a connection whose body was refused stays open after the 413, at most: {@link closeAfterRefusal}. */
export const REFUSED_BODY_LINGER_MS = 2000;

/**
 * Answers a refused body (413, `Connection: close`) with a lingering close, as nginx does: once the
 * response is written, the server's side is shut (FIN), and the socket is destroyed when the
 * client closes or `lingerMs` later. Destroyed at once, with the client's unread bytes in its
 * buffer, the socket answers the client's next bytes with a reset, and a client still sending its
 * body fails its write (EPIPE, "connection reset") before it reads the 413 it was sent. The
 * server reads nothing more of the body meanwhile than before (the handler's copy stops at the
 * limit), and the time is bounded.
 */
function closeAfterRefusal(res: http.ServerResponse, lingerMs = REFUSED_BODY_LINGER_MS): void {
  res.setHeader('Connection', 'close');
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  let lingering = false;
  // Node's server calls destroySoon() on the socket once a `Connection: close` response is written.
  socket.destroySoon = function lingeringClose(this: Socket): void {
    if (lingering) return;
    lingering = true;
    const timer = setTimeout(() => this.destroy(), lingerMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', () => this.destroy());
    this.end();
  };
}

function plain(res: http.ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`${body}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function timeout(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
