/**
 * The local balancer (local/web-tier/load-balancer.ts) in a process of its own, for the
 * throughput part of the web-tier benchmark, so that its CPU time is its own and the load and the
 * benchmark do not share its event loop. Or, with argv[2] = 'floor', a minimal forwarding proxy
 * (http.request and pipe over a keep-alive agent, the least any Node.js proxy does per request)
 * in the same setting, to show how much of the balancer's cost any Node.js proxy pays.
 * The parent sends `{ targets: [url] }`; the child answers `{ url }` once it forwards.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
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
  const target = new URL(targets[0]!);
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const server = http.createServer((req, res) => {
    const upstream = http.request({
      host: target.hostname, port: target.port, path: req.url, method: req.method, agent,
      headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' },
    }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    });
    req.pipe(upstream);
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
