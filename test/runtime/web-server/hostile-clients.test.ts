/**
 * Drills: hostile clients against a local web server (serveWebApp on loopback), while a normal
 * user requests a page every 100 ms and must be answered, each time within {@link USER_TIMEOUT_MS}
 * (twice the drills' 1 s request timeout: the flooders, the server and the user share one process,
 * and a run under the whole suite's load on a slow hour once saw one page take over 1 s).
 *
 * - Chunked flood: clients POST 16 MiB bodies without a Content-Length (chunked, as HTTP/2
 *   requests reach the server through the ALB) to a handler that holds the whole body in memory.
 *   The body limit, counted as the bytes arrive, answers 413 and closes: no handler ever holds
 *   more than the limit.
 * - Slowloris: connections that send their headers (or their body) a few bytes at a time, so as
 *   to hold a connection for ever. The headers and request timeouts cut them.
 *
 * Each drill also runs once with its protection off and must then see the harm (a handler
 * holding 16 MiB; slow connections still open), so it is known not to be blind. Figures are
 * printed on one line each (DRILL ...): `npx jest test/runtime/web-server/hostile-clients.test.ts`.
 */
import * as http from 'http';
import * as net from 'net';
import { setTimeout as sleep } from 'timers/promises';
import { serveWebApp, type RequestHandler, type WebServer, type WebServerOptions } from '../../../runtime/web-server';
import { writeChunkedBody } from '../../support/chunked-body';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Short timings, so a drill takes seconds: requests 1 s, the balancer's idle timeout 1 s,
 * keep-alive 1.5 s, headers 2 s (Node then checks the timeouts every 0.5 s).
 */
const TIMINGS: WebServerOptions = {
  requestTimeoutSeconds: 1,
  idleTimeoutSeconds: 1,
  timings: { keepAliveTimeoutSeconds: 1.5, headersTimeoutSeconds: 2, unreadyNoticeSeconds: 0, drainSeconds: 1, shutdownSeconds: 1 },
};

const servers: WebServer[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.shutdown()));
});

async function serve(handler: RequestHandler, options: WebServerOptions = {}): Promise<WebServer> {
  const server = await serveWebApp(handler, { port: 0, host: '127.0.0.1', logger: quiet, ...TIMINGS, ...options });
  servers.push(server);
  await server.started;
  return server;
}

/** How long the normal user waits for each page. */
const USER_TIMEOUT_MS = 2_000;

interface UserFigures { readonly requests: number; readonly failed: number; readonly slowest: number }

/** A normal user: a GET every `everyMs` until stopped; a request not answered 200 within `timeoutMs` counts as failed. */
function normalUser(url: string, everyMs: number, timeoutMs: number): { stop(): Promise<UserFigures> } {
  let running = true;
  let requests = 0;
  let failed = 0;
  let slowest = 0;
  const once = () => new Promise<void>((resolve) => {
    const started = Date.now();
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => {
        const ms = Date.now() - started;
        slowest = Math.max(slowest, ms);
        if (res.statusCode !== 200 || ms > timeoutMs) failed += 1;
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => { failed += 1; resolve(); });
  });
  const loop = (async () => {
    while (running) {
      requests += 1;
      await Promise.all([once(), sleep(everyMs)]);
    }
  })();
  return { stop: async () => { running = false; await loop; return { requests, failed, slowest }; } };
}

/** One chunked POST of `bytes`, as fast as the server takes it; resolves with the status (0: the connection ended first). */
function chunkedPost(url: string, bytes: number): Promise<number> {
  return new Promise((resolve) => {
    let status = 0;
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
      status = res.statusCode!;
      res.resume();
    });
    req.on('error', () => undefined);
    req.on('close', () => resolve(status));
    writeChunkedBody(req, bytes, 32);
  });
}

interface FloodFigures extends UserFigures {
  readonly posts: number;
  readonly refused413: number;
  /** The most body bytes one handler held. */
  readonly maxHeldBytes: number;
  readonly limitBytes: number;
}

/** `clients` flooders POST 16 MiB chunked bodies, one after the other, for `ms`; the handler holds each whole body. */
async function chunkedFlood(options: { clients: number; ms: number; bodyLimitBytes: number }): Promise<FloodFigures> {
  let maxHeldBytes = 0;
  const server = await serve(async (req, res) => {
    if (req.method !== 'POST') return void res.end('hello');
    const chunks: Buffer[] = [];
    let held = 0;
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
      held += (chunk as Buffer).length;
      maxHeldBytes = Math.max(maxHeldBytes, held);
    }
    res.end(`held ${Buffer.concat(chunks).length}`);
  }, { bodyLimitBytes: options.bodyLimitBytes });
  const user = normalUser(server.url, 100, USER_TIMEOUT_MS);
  const until = Date.now() + options.ms;
  let posts = 0;
  let refused413 = 0;
  await Promise.all(Array.from({ length: options.clients }, async () => {
    while (Date.now() < until) {
      posts += 1;
      if ((await chunkedPost(server.url + '/api/sign-in', 16 * 1024 * 1024)) === 413) refused413 += 1;
    }
  }));
  return { ...(await user.stop()), posts, refused413, maxHeldBytes, limitBytes: options.bodyLimitBytes };
}

interface SlowlorisFigures extends UserFigures {
  readonly connections: number;
  /** Slow connections the server had closed when the drill looked, `cutByMs` after they opened. */
  readonly cut: number;
  readonly stillOpen: number;
  readonly cutByMs: number;
}

/**
 * `connections` slow clients, half trickling headers (slowloris) and half a declared body (a slow
 * POST), a few bytes every 200 ms; after `watchMs`, how many has the server cut? With
 * `untilAllCut`, the drill looks as soon as the server has cut them all, and at `watchMs` at the
 * latest (`cutByMs` then says when it looked).
 */
async function slowloris(options: { connections: number; watchMs: number; untilAllCut?: boolean; timeoutsOff?: boolean }): Promise<SlowlorisFigures> {
  const server = await serve((_req, res) => void res.end('hello'));
  if (options.timeoutsOff) {
    server.httpServer.headersTimeout = 0;
    server.httpServer.requestTimeout = 0;
  }
  const user = normalUser(server.url, 100, USER_TIMEOUT_MS);
  const closed = new Set<number>();
  const timers: NodeJS.Timeout[] = [];
  await Promise.all(Array.from({ length: options.connections }, (_, i) => new Promise<void>((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1', () => {
      const slowBody = i % 2 === 1;
      socket.write(slowBody
        ? 'POST /upload HTTP/1.1\r\nHost: drill\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n'
        : 'GET / HTTP/1.1\r\nHost: drill\r\n');
      timers.push(setInterval(() => { if (!socket.destroyed) socket.write(slowBody ? '   ' : `X-${i}: a\r\n`); }, 200));
      resolve();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => closed.add(i));
    sockets.push(socket);
  })));
  const watching = Date.now();
  if (options.untilAllCut) {
    while (closed.size < options.connections && Date.now() - watching < options.watchMs) await sleep(50);
  } else {
    await sleep(options.watchMs);
  }
  const cutByMs = Date.now() - watching;
  timers.forEach((t) => clearInterval(t));
  const cut = closed.size;
  return { ...(await user.stop()), connections: options.connections, cut, stillOpen: options.connections - cut, cutByMs };
}

describe('hostile clients against the web server', () => {
  test('a chunked flood: every oversized body is refused with 413, no handler holds more than the limit, and a normal user is answered throughout', async () => {
    const figures = await chunkedFlood({ clients: 6, ms: 2_000, bodyLimitBytes: 1024 * 1024 });
    process.stdout.write(`DRILL chunked flood ${JSON.stringify(figures)}\n`);

    expect(figures.posts).toBeGreaterThanOrEqual(6);
    expect(figures.refused413).toBeGreaterThan(0);
    expect(figures.maxHeldBytes).toBeLessThanOrEqual(figures.limitBytes);
    expect(figures.failed).toBe(0);
  });

  test('the chunked flood with no body limit sees handlers hold whole 16 MiB bodies, so it is not blind', async () => {
    const figures = await chunkedFlood({ clients: 2, ms: 500, bodyLimitBytes: Number.MAX_SAFE_INTEGER });
    process.stdout.write(`DRILL chunked flood, no limit ${JSON.stringify(figures)}\n`);

    expect(figures.refused413).toBe(0);
    expect(figures.maxHeldBytes).toBe(16 * 1024 * 1024);
  });

  test('slowloris: slow headers and slow bodies are cut by the timeouts, and a normal user is answered throughout', async () => {
    // Headers time out at 2 s, a whole request at 3 s; Node checks every 0.5 s: the last slow
    // connection is cut about 3.5 to 4 s after the drill starts (3.85 s on a quiet machine). The
    // drill looks once all are cut, at 8 s at the latest: the server's checks and the test share
    // one event loop, which a loaded machine delays (a run that looked at 4 s found 12 of 100 open).
    const figures = await slowloris({ connections: 100, watchMs: 8_000, untilAllCut: true });
    process.stdout.write(`DRILL slowloris ${JSON.stringify(figures)}\n`);

    expect(figures.stillOpen).toBe(0);
    expect(figures.failed).toBe(0);
  });

  test('slowloris with the server\'s timeouts off sees every slow connection still open, so it is not blind', async () => {
    // (at 5 s, past the 4 s in which the timeouts cut every one on a quiet machine)
    const figures = await slowloris({ connections: 20, watchMs: 5_000, timeoutsOff: true });
    process.stdout.write(`DRILL slowloris, timeouts off ${JSON.stringify(figures)}\n`);

    expect(figures.stillOpen).toBe(20);
  });
});
