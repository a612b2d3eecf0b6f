/**
 * A counting HTTP proxy in front of moto's DynamoDB: forwards every request unchanged and counts
 * it by operation (the X-Amz-Target header), so each contender's DynamoDB requests are counted
 * where they arrive, not where the library says it sent them. Bound to 127.0.0.1 at a free port.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface CountingProxy {
  readonly endpoint: string;
  /** Requests by operation (GetItem, UpdateItem, ...), since start or the last reset. */
  counts(): Record<string, number>;
  reset(): void;
  stop(): Promise<void>;
}

export async function startCountingProxy(targetEndpoint: string): Promise<CountingProxy> {
  const target = new URL(targetEndpoint);
  let counts: Record<string, number> = {};
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? 'unknown').replace(/^DynamoDB_\d+\./, '');
    counts[operation] = (counts[operation] ?? 0) + 1;
    const upstream = http.request(
      { host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host }, agent },
      (up) => { res.writeHead(up.statusCode ?? 502, up.headers); up.pipe(res); },
    );
    upstream.on('error', (e) => res.writeHead(502).end(String(e)));
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    reset: () => { counts = {}; },
    stop: () => new Promise<void>((resolve) => { agent.destroy(); server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
