/**
 * A fake EC2 instance metadata service that speaks IMDSv2 only, on 127.0.0.1 at a free port:
 * PUT /latest/api/token issues a session token; every GET without a valid token gets 401, as on
 * an instance that requires IMDSv2. Tests set the target lifecycle state to play Auto Scaling, and
 * the instance's tags (as a launch template that allows tags in metadata shows them).
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface FakeImds {
  /** `http://127.0.0.1:<port>`, for AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  readonly endpoint: string;
  /** What `/latest/meta-data/autoscaling/target-lifecycle-state` answers. */
  targetLifecycleState: string;
  /** The instance's tags under `/latest/meta-data/tags/instance/` (empty: tags not allowed in metadata). */
  readonly tags: Record<string, string>;
  /** Every request: method, path, and whether it carried a valid token. */
  readonly requests: { method: string; path: string; authorized: boolean }[];
  /** Forgets every token issued, as if they had expired. */
  revokeTokens(): void;
  stop(): Promise<void>;
}

/** Starts the fake for an instance. */
export async function startFakeImds(instanceId: string): Promise<FakeImds> {
  const tokens = new Set<string>();
  const requests: FakeImds['requests'] = [];
  const state = { targetLifecycleState: 'InService' };
  const tags: Record<string, string> = {};
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    const send = (status: number, body = '') => { res.writeHead(status, { 'content-type': 'text/plain' }).end(body); };
    if (req.method === 'PUT' && path === '/latest/api/token') {
      requests.push({ method: 'PUT', path, authorized: true });
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(400, 'missing x-aws-ec2-metadata-token-ttl-seconds');
      const token = randomUUID();
      tokens.add(token);
      return send(200, token);
    }
    const authorized = tokens.has(String(req.headers['x-aws-ec2-metadata-token'] ?? ''));
    requests.push({ method: req.method ?? '', path, authorized });
    if (req.method !== 'GET') return send(405);
    if (!authorized) return send(401);
    if (path === '/latest/meta-data/instance-id') return send(200, instanceId);
    if (path === '/latest/meta-data/autoscaling/target-lifecycle-state') return send(200, state.targetLifecycleState);
    const tag = /^\/latest\/meta-data\/tags\/instance\/(.+)$/.exec(path);
    if (tag && Object.prototype.hasOwnProperty.call(tags, tag[1]!)) return send(200, tags[tag[1]!]);
    return send(404);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get targetLifecycleState() { return state.targetLifecycleState; },
    set targetLifecycleState(value: string) { state.targetLifecycleState = value; },
    tags,
    requests,
    revokeTokens: () => tokens.clear(),
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
