/**
 * An HTTP proxy in front of moto's server that answers CompleteLifecycleAction itself, which
 * moto 5 does not implement, and forwards every other request to moto unchanged. The agent's
 * Auto Scaling client talks to it with the real protocol (AWS Query), so nothing is mocked at
 * the SDK level. Bound to 127.0.0.1 at a free port.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface AutoScalingProxy {
  readonly endpoint: string;
  /** The CompleteLifecycleAction calls received, as their query parameters. */
  readonly completedLifecycleActions: Record<string, string>[];
  stop(): Promise<void>;
}

export async function startAutoScalingProxy(motoEndpoint: string): Promise<AutoScalingProxy> {
  const completed: Record<string, string>[] = [];
  const target = new URL(motoEndpoint);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const params = Object.fromEntries(new URLSearchParams(body.toString()));
      if (params.Action === 'CompleteLifecycleAction') {
        completed.push(params);
        res.writeHead(200, { 'content-type': 'text/xml' }).end(
          '<CompleteLifecycleActionResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">' +
            '<CompleteLifecycleActionResult/><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata>' +
            '</CompleteLifecycleActionResponse>',
        );
        return;
      }
      const upstream = http.request(
        { host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
        (up) => { res.writeHead(up.statusCode ?? 502, up.headers); up.pipe(res); },
      );
      upstream.on('error', (e) => res.writeHead(502).end(String(e)));
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    completedLifecycleActions: completed,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
