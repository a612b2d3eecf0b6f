/**
 * The web server (serveWebApp) over real HTTP on loopback, with a plain handler and with an
 * Express app: readiness flips, graceful shutdown, keep-alive past the balancer's idle timeout,
 * the body limit, access logs, and the rules its timings must keep.
 */
import * as http from 'http';
import * as net from 'net';
import { setTimeout as sleep } from 'timers/promises';
import express from 'express';
import { LIVENESS_PATH, READINESS_PATH, deriveWebTierTimings } from '../../../contracts/web-tier';
import { serveWebApp, webServerOptionsFromEnv, type RequestHandler, type WebServer, type WebServerOptions } from '../../../runtime/web-server';
import { REFUSED_BODY_LINGER_MS } from '../../../runtime/web-server/server';
import type { JobLogger } from '../../../runtime/index';
import { writeChunkedBody } from '../../support/chunked-body';

interface Reply { readonly status: number; readonly body: string; readonly headers: http.IncomingHttpHeaders; readonly reusedSocket: boolean }

/** One GET (or POST with `body`), over `agent` when given. */
function request(url: string, options: { agent?: http.Agent; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.body === undefined ? 'GET' : 'POST', agent: options.agent ?? false, headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers, reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Sends `bytes` of body with Transfer-Encoding: chunked, in 64 KiB chunks as fast as the server
 * reads them, and resolves with the status (0 when the connection ended first) and whether the
 * server closed the connection; never rejects (a reset is what a refused upload may look like).
 */
function chunkedPost(url: string, bytes: number): Promise<{ status: number; closed: boolean; sent: number }> {
  return new Promise((resolve) => {
    let status = 0;
    let sent = () => 0;
    let settled = false;
    const done = (closed: boolean) => { if (!settled) { settled = true; resolve({ status, closed, sent: sent() }); } };
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/octet-stream' } }, (res) => {
      status = res.statusCode!;
      res.resume();
      res.on('end', () => req.socket?.once('close', () => done(true)));
    });
    req.on('error', () => done(true));
    req.on('close', () => setTimeout(() => done(req.socket?.destroyed ?? true), 50));
    sent = writeChunkedBody(req, bytes, 120);
  });
}

/** Log lines, captured. */
function captureLog(): JobLogger & { readonly lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const add = (level: string) => (message: string, extra?: Record<string, unknown>) => { lines.push({ level, message, ...extra }); };
  return { lines, info: add('INFO'), warn: add('WARN'), error: add('ERROR') };
}

/** Short shutdown timings for tests: 0.3 s of notice, 2 s of drain. */
const SHORT = { unreadyNoticeSeconds: 0.3, drainSeconds: 2, shutdownSeconds: 2.3 };

const servers: WebServer[] = [];
async function serve(handler: RequestHandler, options: WebServerOptions = {}): Promise<WebServer> {
  const server = await serveWebApp(handler, { port: 0, host: '127.0.0.1', logger: captureLog(), timings: SHORT, ...options });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.shutdown()));
});

const hello: RequestHandler = (_req, res) => res.end('hello');

describe('the web server', () => {
  test('is live at once and ready only once the start-up hook is done', async () => {
    // GIVEN an app whose start-up hook waits for a signal
    let finishStart!: () => void;
    const hook = new Promise<void>((resolve) => { finishStart = resolve; });
    const server = await serve(hello, { start: () => hook });

    // THEN while it starts: live, not ready, app requests refused with 503
    expect((await request(server.url + LIVENESS_PATH)).status).toBe(200);
    expect((await request(server.url + READINESS_PATH)).status).toBe(503);
    expect((await request(server.url + '/')).status).toBe(503);

    // WHEN the hook is done THEN it is ready and serves the app
    finishStart();
    await server.started;
    expect((await request(server.url + READINESS_PATH)).status).toBe(200);
    expect(await request(server.url + '/')).toMatchObject({ status: 200, body: 'hello' });
  });

  test('stays not ready when the start-up hook fails', async () => {
    const server = await serve(hello, { start: () => Promise.reject(new Error('no database')) });
    await expect(server.started).rejects.toThrow('no database');
    expect(server.state).toBe('failed');
    expect((await request(server.url + READINESS_PATH)).status).toBe(503);
  });

  test('on shutdown: not ready but serving during the notice, then finishes requests in flight and closes', async () => {
    // GIVEN a ready server with a slow request in flight
    const server = await serve(async (req, res) => {
      await sleep(req.url === '/slow' ? 800 : 0);
      res.end(req.url);
    });
    await server.started;
    const slow = request(server.url + '/slow');
    await sleep(50);

    // WHEN it shuts down
    const shutdown = server.shutdown();

    // THEN during the notice it reports not ready yet still serves, asking the client not to reuse the connection
    expect((await request(server.url + READINESS_PATH)).status).toBe(503);
    const during = await request(server.url + '/during');
    expect(during).toMatchObject({ status: 200, body: '/during' });
    expect(during.headers.connection).toBe('close');
    // AND the request in flight completes, and the shutdown reports it drained
    expect(await slow).toMatchObject({ status: 200, body: '/slow' });
    const report = await shutdown;
    expect(report).toMatchObject({ drained: 1, cut: 0 });
    expect(report.durationMs).toBeLessThan(2_000);
    // AND it no longer accepts connections
    await expect(request(server.url + '/')).rejects.toThrow(/ECONNREFUSED/);
  });

  test('cuts a request still running at the end of the drain time', async () => {
    const server = await serve(() => undefined, { timings: { unreadyNoticeSeconds: 0.1, drainSeconds: 0.5, shutdownSeconds: 0.6 } });
    await server.started;
    const hanging = request(server.url + '/never').catch((e: Error) => e);
    await sleep(50);
    const report = await server.shutdown();
    expect(report.cut).toBe(1);
    expect(report.durationMs).toBeLessThan(1_500);
    expect(String(await hanging)).toMatch(/socket hang up|ECONNRESET/);
  });

  test('closes idle keep-alive connections when it stops accepting', async () => {
    // GIVEN a keep-alive connection left idle after a request
    const server = await serve(hello);
    await server.started;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await request(server.url + '/', { agent });
    const [socket] = Object.values(agent.freeSockets).flat();
    const closed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));

    // WHEN it shuts down THEN the idle connection is closed by the end of the shutdown
    await server.shutdown();
    await expect(Promise.race([closed.then(() => 'closed'), sleep(500).then(() => 'open')])).resolves.toBe('closed');
    agent.destroy();
  });

  test('keeps a connection idle past the balancer\'s idle timeout open (the balancer closes first)', async () => {
    // GIVEN a server behind a balancer with a 1 s idle timeout
    const server = await serve(hello, { idleTimeoutSeconds: 1, requestTimeoutSeconds: 1 });
    await server.started;
    expect(server.timings.keepAliveTimeoutSeconds).toBeGreaterThan(1);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await request(server.url + '/', { agent });

    // WHEN the connection stays idle longer than the balancer's idle timeout
    await sleep(1_500);

    // THEN the next request reuses it: the server did not close it
    const again = await request(server.url + '/', { agent });
    expect(again).toMatchObject({ status: 200, reusedSocket: true });
    agent.destroy();
  });

  test('refuses a body over the limit with 413, before the app reads it', async () => {
    let called = false;
    const server = await serve((_req, res) => { called = true; res.end(); }, { bodyLimitBytes: 10 });
    await server.started;
    expect((await request(server.url + '/', { body: 'x'.repeat(11) })).status).toBe(413);
    expect(called).toBe(false);
  });

  test('refuses a chunked body over the limit with 413 and closes the connection; the handler reads no more than the limit', async () => {
    // GIVEN a server with a 1 MiB limit whose handler reads the whole body
    let read = 0;
    const server = await serve(async (req, res) => {
      for await (const chunk of req) read += (chunk as Buffer).length;
      res.end(`read ${read}`);
    }, { bodyLimitBytes: 1024 * 1024 });
    await server.started;

    // WHEN a client sends 16 MiB chunked (no Content-Length), as an HTTP/2 request arrives through the ALB
    const reply = await chunkedPost(server.url + '/upload', 16 * 1024 * 1024);

    // THEN it gets 413, its connection is closed, and the handler saw at most the limit
    expect(reply.status).toBe(413);
    expect(reply.closed).toBe(true);
    expect(reply.sent).toBeLessThan(16 * 1024 * 1024);
    expect(read).toBeLessThanOrEqual(1024 * 1024);
  });

  test('a client still sending its body when the server refuses it reads the 413, not a reset: the close lingers, at most REFUSED_BODY_LINGER_MS', async () => {
    // GIVEN a server with a 1 MiB limit, and a client on a raw socket that sends 4 MiB chunked
    // and reads nothing for 300 ms (a busy client: a browser uploading, a loaded test machine)
    const server = await serve(async (req, res) => {
      for await (const _chunk of req) { /* reads the body */ }
      res.end('ok');
    }, { bodyLimitBytes: 1024 * 1024 });
    await server.started;
    const { port } = new URL(server.url);
    const startedAt = Date.now();
    const reply = await new Promise<{ head: string; closedAfterMs: number }>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      let head = '';
      socket.on('error', () => undefined); // EPIPE once the server has closed: what was read is what counts
      socket.on('close', () => resolve({ head, closedAfterMs: Date.now() - startedAt }));
      socket.write('POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = `10000\r\n${'x'.repeat(64 * 1024)}\r\n`;
      let sent = 0;
      const pump = () => {
        while (sent < 64 && !socket.destroyed) {
          sent++;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
      socket.pause();
      setTimeout(() => { socket.on('data', (d: Buffer) => { head += d.toString('latin1'); }); socket.resume(); }, 300);
    });

    // THEN it read the 413 the server sent (without the lingering close: EPIPE and nothing read,
    // 10 times in 10), and the connection was closed, within the linger time
    expect(reply.head).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply.head).toMatch(/\r\nconnection: close\r\n/i);
    expect(reply.closedAfterMs).toBeLessThan(REFUSED_BODY_LINGER_MS + 3000);
  });

  test('logs each request as JSON fields with the balancer\'s trace id, and not the health checks', async () => {
    const logger = captureLog();
    const server = await serve(hello, { logger });
    await server.started;
    await request(server.url + READINESS_PATH);
    await request(server.url + '/page?x=1', { headers: { 'X-Amzn-Trace-Id': 'Root=1-67891233-abcdef012345678912345678' } });
    await sleep(20);
    const requests = logger.lines.filter((l) => l.message === 'request');
    expect(requests).toEqual([expect.objectContaining({
      method: 'GET', path: '/page', status: 200, traceId: 'Root=1-67891233-abcdef012345678912345678', durationMs: expect.any(Number),
    })]);
  });

  test('answers 500 when the handler throws or rejects, and keeps serving', async () => {
    const server = await serve(async (req, res) => {
      if (req.url === '/throw') throw new Error('boom');
      res.end('fine');
    });
    await server.started;
    expect((await request(server.url + '/throw')).status).toBe(500);
    expect(await request(server.url + '/')).toMatchObject({ status: 200, body: 'fine' });
  });

  test('serves an Express app, body parsing included, and drains it', async () => {
    // GIVEN an Express app with a JSON route
    const app = express();
    app.use(express.json());
    app.post('/echo', async (req, res) => {
      await sleep(300);
      res.json({ got: req.body });
    });
    app.get('/', (_req, res) => { res.send('express'); });
    const server = await serve(app);
    await server.started;

    // THEN it serves it
    expect(await request(server.url + '/')).toMatchObject({ status: 200, body: 'express' });
    // AND a request in flight at the shutdown completes
    const echo = request(server.url + '/echo', { body: '{"a":1}', headers: { 'Content-Type': 'application/json' } });
    await sleep(50);
    const report = server.shutdown();
    expect(JSON.parse((await echo).body)).toEqual({ got: { a: 1 } });
    expect((await report).cut).toBe(0);
  });

  test('refuses timings that break the tier\'s rules, naming the rule', async () => {
    await expect(serveWebApp(hello, { port: 0, timings: { keepAliveTimeoutSeconds: 30 } })).rejects.toThrow(/keep-alive \(30 s\) must outlast the balancer's idle timeout \(60 s\)/);
  });

  test('reads its settings from the environment WebTier writes, naming a bad variable', () => {
    expect(webServerOptionsFromEnv({ WEB_TIER_PORT: '8081', WEB_TIER_REQUEST_TIMEOUT_SECONDS: '10', WEB_TIER_IDLE_TIMEOUT_SECONDS: '30' }))
      .toMatchObject({ port: 8081, requestTimeoutSeconds: 10, idleTimeoutSeconds: 30 });
    expect(() => webServerOptionsFromEnv({ WEB_TIER_REQUEST_TIMEOUT_SECONDS: 'soon' })).toThrow(/WEB_TIER_REQUEST_TIMEOUT_SECONDS.*"soon"/);
  });
});

describe('the derived timings', () => {
  test('come from the request timeout and the idle timeout, in the documented order', () => {
    const t = deriveWebTierTimings({ requestTimeoutSeconds: 30, idleTimeoutSeconds: 60 });
    expect(t).toMatchObject({
      healthCheckIntervalSeconds: 10, healthCheckTimeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 2,
      unreadyNoticeSeconds: 25, drainSeconds: 30, shutdownSeconds: 55, stopTimeoutSeconds: 60, deregistrationDelaySeconds: 35,
      slowStartSeconds: 30, keepAliveTimeoutSeconds: 65, headersTimeoutSeconds: 66,
    });
    expect(t.gracePeriodSeconds).toBeLessThan(t.signalTimeoutSeconds);
  });

  test('keep the server\'s real Node timeouts above the balancer\'s idle timeout', async () => {
    // The server object itself (not only the numbers): Node's keepAliveTimeout and headersTimeout.
    const server = await serve(hello, { idleTimeoutSeconds: 60 });
    expect(server.httpServer.keepAliveTimeout).toBe(65_000);
    expect(server.httpServer.headersTimeout).toBe(66_000);
    expect((server.httpServer.address() as net.AddressInfo).port).toBe(server.port);
  });
});
