/**
 * The web-tier benchmark's careful peer: the same app as the drill server (DRILL_DELAY_MS per
 * request) on a plain `http.createServer`, with the SIGTERM handling a careful user writes from
 * Node's documentation: stop accepting (`server.close()`), close idle keep-alive connections,
 * answer what is in flight with `Connection: close`, and exit once every connection is closed,
 * or when the drain time (the tier's request timeout, 30 s) has passed. Its keep-alive outlasts
 * the balancer's idle timeout (65 s against 60 s), as AWS advises behind an ALB. It has a health
 * route that answers 200 while it serves; what it does not have is our server's readiness flip
 * and notice (serving on, not ready, while the balancer notices).
 */
import * as http from 'http';
import { setTimeout as sleep } from 'timers/promises';

const delay = Number(process.env.DRILL_DELAY_MS ?? 20);
const DRAIN_MS = 30_000;
let closing = false;

const server = http.createServer(async (req, res) => {
  if (req.url !== '/healthz/ready') await sleep(delay);
  if (closing) res.setHeader('Connection', 'close');
  res.end(`served by ${process.env.WEB_TIER_SERVER_NAME}\n`);
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(Number(process.env.WEB_TIER_PORT), process.env.WEB_TIER_HOST ?? '127.0.0.1');

process.once('SIGTERM', () => {
  closing = true;
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => {
    server.closeAllConnections();
    process.exit(0);
  }, DRAIN_MS).unref();
});
