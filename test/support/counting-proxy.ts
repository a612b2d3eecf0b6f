/**
 * A counting HTTP proxy in front of an emulator: forwards every request unchanged on 127.0.0.1
 * and counts requests and request-body bytes by method, so tests and benchmarks can say how
 * many requests and bytes a client really sent (e.g. that a duplicate's body was not sent).
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

/** What went through the proxy. */
export interface ProxyCounts {
  requests: number;
  /** Request-body bytes (what the client uploaded). */
  bytesSent: number;
  byMethod: Record<string, { requests: number; bytesSent: number }>;
}

export interface CountingProxy {
  /** `http://localhost:<port>`: use as the client's endpoint. */
  readonly endpoint: string;
  readonly counts: ProxyCounts;
  reset(): void;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (an `http://host:port` endpoint) on a free loopback port. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const to = new URL(target);
  const fresh = (): ProxyCounts => ({ requests: 0, bytesSent: 0, byMethod: {} });
  let counts = fresh();
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    counts.requests += 1;
    const entry = (counts.byMethod[method] ??= { requests: 0, bytesSent: 0 });
    entry.requests += 1;
    const upstream = http.request(
      { host: '127.0.0.1', port: Number(to.port), method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(e));
    });
    req.on('data', (chunk: Buffer) => {
      counts.bytesSent += chunk.length;
      entry.bytesSent += chunk.length;
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://localhost:${port}`,
    get counts() {
      return counts;
    },
    reset: () => { counts = fresh(); },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
