/**
 * The one HTTP proxy of the tests and benchmarks, in front of an emulator: it forwards every
 * request unchanged and counts them (by API action, by method, and the request-body bytes a
 * client really sent), and, with a rule, answers chosen requests with an AWS error the emulator
 * cannot produce (throttling, AccessDenied, TransactionConflict) or an action it lacks
 * (autoscaling-proxy.ts), or loses the reply of a request the emulator applied. The SDK talks the
 * real protocol to it, so nothing is mocked at the SDK level. Bodies stream through unless the
 * proxy must read them (a rule is set, or an AWS Query body names the action), so a 50 MiB upload
 * is not held in memory. Bound to 127.0.0.1 at a free port.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

/** A request as the proxy sees it. */
export interface ProxiedRequest {
  /** The API action: `DeleteMessageBatch` (from X-Amz-Target, JSON protocols) or `SetInstanceProtection` (from the Query body); '' for REST APIs (S3). */
  readonly action: string;
  readonly body: string;
  /** The HTTP method and path with query (for REST APIs such as S3, whose action they tell). */
  readonly method: string;
  readonly url: string;
}

/** An answer the proxy sends instead of forwarding. */
export interface FaultResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Forward the request first and send this instead of the emulator's answer: a reply lost after the request was applied. */
  readonly afterForwarding?: boolean;
}

/**
 * Forward the request, let the emulator apply it, then cut the client's connection without its
 * reply: a response lost on the way back, which the SDK retries.
 */
export const DROP_REPLY = 'dropReply' as const;

/** Decides, per request, to inject a fault (a response), lose the reply ({@link DROP_REPLY}) or forward it (undefined). */
export type FaultRule = (request: ProxiedRequest) => FaultResponse | typeof DROP_REPLY | undefined;

/** What went through the proxy, for counts of requests and bytes (e.g. that a duplicate's body was not sent). */
export interface ProxyCounts {
  requests: number;
  /** Request-body bytes (what the client uploaded). */
  bytesSent: number;
  byMethod: Record<string, { requests: number; bytesSent: number }>;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: the client's endpoint. */
  readonly endpoint: string;
  /** Requests seen, by action. */
  readonly seen: Record<string, number>;
  /** Faults injected, by action. */
  readonly injected: Record<string, number>;
  /** Requests and request-body bytes, in all and by method (since the start or the last `reset`). */
  readonly counts: ProxyCounts;
  /** Replaces the rule. */
  setRule(rule: FaultRule | undefined): void;
  /** Zeroes every count. */
  reset(): void;
  stop(): Promise<void>;
}

/** An SQS error in SQS's JSON protocol (with the query-compatible code header the SDK reads). */
export function sqsError(code: string, status: number, message: string, queryCode = code): FaultResponse {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${queryCode};Sender` },
    body: JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message }),
  };
}

/** An error in the AWS Query protocol (Auto Scaling). */
export function queryError(code: string, status: number, message: string): FaultResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
  };
}

/** An S3 error (REST XML). */
export function s3Error(code: string, status: number, message: string): FaultResponse {
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`,
  };
}

/** A DynamoDB error in its JSON protocol; `fields` go into the body (say `CancellationReasons`). */
export function dynamodbError(code: string, status: number, message: string, fields: Record<string, unknown> = {}): FaultResponse {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${code}`, Message: message, ...fields }),
  };
}

/**
 * DynamoDB's answer when another transaction holds an item of this one: TransactionCanceledException
 * with `TransactionConflict` for the items at stake and `None` for the others (moto never sends it).
 */
export function transactionConflict(items: number, conflicting: readonly number[] = [items - 1]): FaultResponse {
  const reasons = Array.from({ length: items }, (_, i) => (conflicting.includes(i)
    ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
    : { Code: 'None' }));
  return dynamodbError('TransactionCanceledException', 400, `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`, { CancellationReasons: reasons });
}

/** Fails the first `count` requests of `action` with `fault`, then forwards. */
export function failFirst(action: string, count: number, fault: FaultResponse | typeof DROP_REPLY): FaultRule {
  let left = count;
  return (request) => {
    if (request.action !== action || left <= 0) return undefined;
    left -= 1;
    return fault;
  };
}

/** Starts a proxy to `targetEndpoint` (`http://host:port`) on a free loopback port, with `rule` if given. */
export async function startFaultProxy(targetEndpoint: string, rule?: FaultRule): Promise<FaultProxy> {
  const target = new URL(targetEndpoint);
  const seen: Record<string, number> = {};
  const injected: Record<string, number> = {};
  const fresh = (): ProxyCounts => ({ requests: 0, bytesSent: 0, byMethod: {} });
  let counts = fresh();
  let current = rule;
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    counts.requests += 1;
    const byMethod = (counts.byMethod[method] ??= { requests: 0, bytesSent: 0 });
    byMethod.requests += 1;
    req.on('data', (c: Buffer) => {
      counts.bytesSent += c.length;
      byMethod.bytesSent += c.length;
    });
    const amzTarget = String(req.headers['x-amz-target'] ?? '');
    const queryBody = !amzTarget && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const forward = (body: Buffer | undefined, action: string, fault: FaultResponse | typeof DROP_REPLY | undefined) => {
      const upstream = http.request(
        { host: target.hostname, port: target.port, path: req.url, method, headers: { ...req.headers, host: target.host } },
        (up) => {
          if (!fault) {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
            return;
          }
          // Applied upstream; its answer is lost: the connection cut (DROP_REPLY), or the fault sent instead.
          injected[action] = (injected[action] ?? 0) + 1;
          up.resume();
          up.on('end', () => {
            if (fault === DROP_REPLY) req.socket.destroy();
            else res.writeHead(fault.status, fault.headers).end(fault.body);
          });
        },
      );
      upstream.on('error', (e) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(e));
      });
      if (body) upstream.end(body);
      else req.pipe(upstream);
    };
    if (!current && !queryBody) {
      // Nothing to decide: stream the body through.
      const action = amzTarget ? amzTarget.slice(amzTarget.lastIndexOf('.') + 1) : '';
      seen[action] = (seen[action] ?? 0) + 1;
      forward(undefined, action, undefined);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = body.toString();
      const action = amzTarget ? amzTarget.slice(amzTarget.lastIndexOf('.') + 1) : new URLSearchParams(text).get('Action') ?? '';
      seen[action] = (seen[action] ?? 0) + 1;
      const fault = current?.({ action, body: text, method, url: req.url ?? '/' });
      if (fault && fault !== DROP_REPLY && !fault.afterForwarding) {
        injected[action] = (injected[action] ?? 0) + 1;
        res.writeHead(fault.status, fault.headers).end(fault.body);
        return;
      }
      forward(body, action, fault);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    injected,
    get counts() {
      return counts;
    },
    setRule: (next) => { current = next; },
    reset: () => {
      counts = fresh();
      for (const record of [seen, injected]) for (const key of Object.keys(record)) delete record[key];
    },
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** The proxy without faults, for counts alone (the benchmarks' and the storage tests' name for it). */
export async function startCountingProxy(targetEndpoint: string): Promise<CountingProxy> {
  const proxy = await startFaultProxy(targetEndpoint);
  return { endpoint: proxy.endpoint.replace('127.0.0.1', 'localhost'), get counts() { return proxy.counts; }, reset: () => proxy.reset(), close: () => proxy.stop() };
}

/** A proxy that only counts: `startCountingProxy`. */
export interface CountingProxy {
  /** `http://localhost:<port>`: use as the client's endpoint. */
  readonly endpoint: string;
  readonly counts: ProxyCounts;
  reset(): void;
  close(): Promise<void>;
}
