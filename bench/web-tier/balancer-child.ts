/**
 * The local balancer (local/web-tier/load-balancer.ts) in a process of its own, for the
 * throughput part of the web-tier benchmark, so that its CPU time is its own and the load and the
 * benchmark do not share its event loop. Or, with argv[2] = 'floor', a minimal forwarding proxy
 * on the same parts (Node's HTTP server, undici's dispatch over a keep-alive pool, the answer
 * written as it comes: the least a Node.js proxy on them does per request) in the same setting,
 * to show how much of the balancer's cost any such proxy pays.
 * The parent sends `{ targets: [url] }`; the child answers `{ url }` once it forwards.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { Pool, type Dispatcher } from 'undici';
import { READINESS_PATH, deriveWebTierTimings } from '../../contracts/web-tier';
import { LocalLoadBalancer } from '../../local/web-tier/load-balancer';

const t = deriveWebTierTimings({ requestTimeoutSeconds: 30, idleTimeoutSeconds: 60 });

async function balancer(targets: readonly string[]): Promise<string> {
  const lb = new LocalLoadBalancer({
    healthCheck: { path: READINESS_PATH, intervalMs: t.healthCheckIntervalSeconds * 1000, timeoutMs: t.healthCheckTimeoutSeconds * 1000, healthyThreshold: t.healthyThreshold, unhealthyThreshold: t.unhealthyThreshold },
    deregistrationDelayMs: t.deregistrationDelaySeconds * 1000,
    idleTimeoutMs: t.idleTimeoutSeconds * 1000,
  });
  await lb.start();
  targets.forEach((url, i) => lb.register(`server-${i + 1}`, url));
  // The second check comes an interval after the first: about 10 s at the deployed timings.
  await Promise.all(targets.map((_, i) => lb.waitHealthy(`server-${i + 1}`, 60_000)));
  return lb.url;
}

async function floor(targets: readonly string[]): Promise<string> {
  const pool = new Pool(targets[0]!, { keepAliveTimeout: t.idleTimeoutSeconds * 1000, pipelining: 1 });
  const server = http.createServer((req, res) => {
    const { connection: _connection, 'keep-alive': _keepAlive, 'transfer-encoding': _te, ...headers } = req.headers;
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    let resume: (() => void) | undefined;
    res.on('drain', () => resume?.());
    pool.dispatch({ path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers: { ...headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' } as Record<string, string | string[]>, body: hasBody ? req : null }, {
      onConnect: () => undefined,
      onError: () => {
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      },
      onHeaders: (statusCode, rawHeaders, resumeReading) => {
        const answer: string[] = [];
        for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
          const name = rawHeaders[i]!.toString('latin1');
          if (!/^(connection|keep-alive|transfer-encoding)$/i.test(name)) answer.push(name, rawHeaders[i + 1]!.toString('latin1'));
        }
        resume = resumeReading;
        res.writeHead(statusCode, answer);
        return true;
      },
      onData: (chunk) => res.write(chunk),
      onComplete: () => { res.end(); },
    });
  });
  server.keepAliveTimeout = t.idleTimeoutSeconds * 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

process.once('message', (m: { targets: string[] }) => {
  (process.argv[2] === 'floor' ? floor(m.targets) : balancer(m.targets)).then(
    (url) => process.send!({ url }),
    (e: Error) => process.send!({ error: e.message }),
  );
});
