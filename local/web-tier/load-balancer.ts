/**
 * The local cloud's Application Load Balancer: a real HTTP proxy on a loopback port (Node's own
 * HTTP server towards clients, undici, the HTTP client behind Node's fetch, towards targets; no
 * hand-written HTTP parsing) that behaves as the
 * deployed ALB does for what the web tier relies on:
 *
 * - targets start `initial`, become `healthy` after `healthyThreshold` passing checks of the
 *   health-check path (status 200 within the timeout), `unhealthy` after `unhealthyThreshold`
 *   failing ones, checked every `interval`; requests go round robin to healthy targets (fail
 *   open to every registered target when none is healthy, as the ALB does);
 * - a deregistered target gets no new request and is removed once its requests in flight are
 *   done or the deregistration delay has passed, whichever comes first;
 * - the listener's redirect (HTTP to the HTTPS listener, 301), and the idle timeout on both
 *   sides (client connections, and kept-alive connections to targets);
 * - a request a target dropped is NOT retried (the ALB does not retry): the client gets 502
 *   (504 past the idle timeout). Only a request that never reached a target, because the
 *   connection to it was refused and the request has no body, is sent to another target.
 * - each request gets an `X-Amzn-Trace-Id` (kept when the client sent one), the client's address
 *   appended to `X-Forwarded-For`, and `X-Forwarded-Proto` and `X-Forwarded-Port` of the
 *   listener; hop-by-hop headers (Connection, Keep-Alive) are not forwarded either way: each side's
 *   connection is the balancer's own (a target's `Connection: close` ends the pooled connection to
 *   it, not the client's).
 *
 * Not emulated: TLS (the forwarding listener speaks plain HTTP), slow start, stickiness.
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { Pool, type Dispatcher } from 'undici';
import { TRACE_ID_HEADER } from '../../contracts/web-tier';

/** The target group's health check, as deployed. */
export interface HealthCheckSettings {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

/** Options of a {@link LocalLoadBalancer}. */
export interface LocalLoadBalancerOptions {
  readonly healthCheck: HealthCheckSettings;
  /** How long a deregistered target may finish its requests. */
  readonly deregistrationDelayMs: number;
  /** The balancer's idle timeout. */
  readonly idleTimeoutMs: number;
  /** The loopback port of the forwarding listener. @default 0 (a free port) */
  readonly port?: number;
  /** Also open an HTTP listener that redirects to the forwarding one (the deployed HTTP -> HTTPS redirect). @default false */
  readonly redirect?: boolean;
  /** Told when a target changes state. @default - nothing */
  readonly onTargetState?: (target: TargetView, previous: TargetState) => void;
}

/** What the ALB calls a target's health state. */
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining';

/** A target as callers see it. */
export interface TargetView {
  readonly id: string;
  readonly url: string;
  readonly state: TargetState;
  /** Requests it is serving now. */
  readonly inFlight: number;
  /** Requests it was sent. */
  readonly requests: number;
}

/** The balancer's counters. */
export interface BalancerStats {
  readonly requests: number;
  /** Responses the balancer made itself because a target failed: 502 (dropped, refused) and 504 (timed out). */
  readonly targetFailures: number;
  /** Responses 503: no registered target. */
  readonly noTarget: number;
  /** Requests whose connection was refused by one target and that went to another (never sent before). */
  readonly rerouted: number;
}

/** A request a target failed (the balancer answered 502 or 504). */
export interface TargetFailure {
  readonly target: string;
  /** Date.now() when the balancer saw it fail. */
  readonly at: number;
  readonly error: string;
}

interface Target {
  readonly id: string;
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  /** Kept-alive connections to the target (undici, Node.js's own HTTP client: docs/decisions.md). */
  readonly pool: Pool;
  state: TargetState;
  passes: number;
  fails: number;
  inFlight: number;
  requests: number;
  timer?: NodeJS.Timeout;
  checking: boolean;
  drained?: () => void;
}

/**
 * A new trace id in the ALB's format: Root=1-<epoch seconds, hex>-<24 random hex digits>. From
 * randomUUID, which draws on a cached pool of random bytes: randomBytes made a system call for
 * every request (7% of the balancer's CPU). A v4 UUID's first 12 and last 12 hex digits are
 * random; its version and variant digits lie between them.
 */
export function newTraceId(): string {
  const u = randomUUID();
  return `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${u.slice(0, 8)}${u.slice(9, 13)}${u.slice(24)}`;
}

/** The local ALB: `start()`, `register()` targets, `deregister()` them, `stop()`. */
export class LocalLoadBalancer {
  private readonly targets = new Map<string, Target>();
  private server?: http.Server;
  private redirectServer?: http.Server;
  private next = 0;
  private counters = { requests: 0, targetFailures: 0, noTarget: 0, rerouted: 0 };
  private stopped = false;
  private readonly failures: TargetFailure[] = [];

  constructor(private readonly options: LocalLoadBalancerOptions) {}

  /** `http://127.0.0.1:<port>` of the forwarding listener, once started. */
  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** The redirecting listener's URL, when there is one. */
  get redirectUrl(): string | undefined {
    return this.redirectServer ? `http://127.0.0.1:${(this.redirectServer.address() as AddressInfo).port}` : undefined;
  }

  /** The requests targets failed (the first 1,000): which target, when, with what error. */
  failureLog(): readonly TargetFailure[] {
    return [...this.failures];
  }

  get stats(): BalancerStats {
    return { ...this.counters };
  }

  /** Every target (draining ones included). */
  list(): TargetView[] {
    return [...this.targets.values()].map(view);
  }

  target(id: string): TargetView | undefined {
    const t = this.targets.get(id);
    return t && view(t);
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.forward(req, res));
    // The ALB closes a client connection idle this long.
    this.server.keepAliveTimeout = this.options.idleTimeoutMs;
    this.server.headersTimeout = this.options.idleTimeoutMs + 1000;
    await listen(this.server, this.options.port ?? 0);
    if (this.options.redirect) {
      this.redirectServer = http.createServer((req, res) => {
        res.writeHead(301, { Location: `${this.url}${req.url ?? '/'}`, 'Content-Length': '0' });
        res.end();
      });
      await listen(this.redirectServer, 0);
    }
  }

  /** Adds a target (state `initial`) and starts health-checking it. */
  register(id: string, url: string): void {
    // A server that came up while the tier stopped: no health checks for a balancer that is gone.
    if (this.stopped) return;
    if (this.targets.has(id)) throw new Error(`target ${id} is already registered`);
    const { hostname, port } = new URL(url);
    const target: Target = {
      id, url, hostname, port: Number(port), state: 'initial', passes: 0, fails: 0, inFlight: 0, requests: 0, checking: false,
      // The ALB closes a kept-alive connection to a target idle this long (the server keeps it longer).
      pool: new Pool(url, { keepAliveTimeout: this.options.idleTimeoutMs, keepAliveMaxTimeout: this.options.idleTimeoutMs, pipelining: 1 }),
    };
    this.targets.set(id, target);
    target.timer = setInterval(() => void this.check(target), this.options.healthCheck.intervalMs);
    void this.check(target);
  }

  /**
   * Stops sending to a target and resolves once its requests in flight are done or the
   * deregistration delay has passed; the target is then removed.
   */
  async deregister(id: string): Promise<void> {
    const target = this.targets.get(id);
    if (!target || target.state === 'draining') return;
    this.setState(target, 'draining');
    clearInterval(target.timer);
    if (target.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.deregistrationDelayMs);
        target.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    void target.pool.destroy();
    this.targets.delete(id);
  }

  /**
   * Waits until the target is healthy; throws when `timeoutMs` passes, when the target leaves the
   * balancer, or when the balancer stops (none of them can end in a healthy target).
   */
  async waitHealthy(id: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.targets.get(id)?.state !== 'healthy') {
      if (this.stopped) throw new Error(`the balancer stopped before target ${id} was healthy`);
      if (!this.targets.has(id)) throw new Error(`target ${id} left the balancer before it was healthy`);
      if (Date.now() > deadline) throw new Error(`target ${id} is not healthy after ${timeoutMs} ms (state ${this.targets.get(id)?.state ?? 'gone'})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.targets.values()) {
      clearInterval(t.timer);
      void t.pool.destroy();
    }
    this.targets.clear();
    await Promise.all([this.server, this.redirectServer].map((s) => s && new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    })));
  }

  /** Round robin over healthy targets; over every registered one when none is healthy (fail open). */
  private pick(exclude: ReadonlySet<string> | undefined): Target | undefined {
    const registered: Target[] = [];
    const healthy: Target[] = [];
    let checked = false; // a registered target has had a check (it is not `initial`)
    for (const t of this.targets.values()) {
      if (t.state === 'draining' || exclude?.has(t.id)) continue;
      registered.push(t);
      if (t.state === 'healthy') healthy.push(t);
      else if (t.state !== 'initial') checked = true;
    }
    const pool = healthy.length > 0 ? healthy : checked ? registered : [];
    if (pool.length === 0) return undefined;
    this.next = (this.next + 1) % pool.length;
    return pool[this.next];
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.counters.requests++;
    const traceId = (req.headers[TRACE_ID_HEADER] as string | undefined) ?? newTraceId();
    req.headers[TRACE_ID_HEADER] = traceId;
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    let tried: Set<string> | undefined; // the targets that refused this request's connection

    const send = () => {
      const target = this.pick(tried);
      if (!target) {
        this.counters.noTarget++;
        return reply(res, 503, 'no healthy target');
      }
      target.inFlight++;
      target.requests++;
      let done = false;
      const finished = () => {
        if (done) return;
        done = true;
        target.inFlight--;
        if (target.inFlight === 0) target.drained?.();
      };
      res.once('close', finished);
      forwardTo(target, req, res, hasBody, this.options.idleTimeoutMs, (err: NodeJS.ErrnoException) => {
        finished();
        res.off('close', finished);
        // Never sent (the connection was refused) and nothing to replay: another target may take it.
        if (err.code === 'ECONNREFUSED' && !hasBody && !res.headersSent && !this.stopped) {
          (tried ??= new Set()).add(target.id);
          this.counters.rerouted++;
          return send();
        }
        this.counters.targetFailures++;
        if (this.failures.length < 1000) this.failures.push({ target: target.id, at: Date.now(), error: err.code ?? err.message });
        const timedOut = err.code === 'ETIMEDOUT'; // forwardTo's idle timeout
        if (!res.headersSent) reply(res, timedOut ? 504 : 502, timedOut ? 'target timed out' : `target failed: ${err.code ?? err.message}`);
        else res.destroy();
      });
    };
    send();
  }

  private async check(target: Target): Promise<void> {
    if (target.checking || target.state === 'draining' || this.stopped) return;
    target.checking = true;
    const ok = await probe(target.url + this.options.healthCheck.path, this.options.healthCheck.timeoutMs);
    target.checking = false;
    // It may have been deregistered while the check ran.
    if ((target.state as TargetState) === 'draining' || !this.targets.has(target.id)) return;
    const hc = this.options.healthCheck;
    if (ok) {
      target.passes++;
      target.fails = 0;
      if (target.state !== 'healthy' && target.passes >= hc.healthyThreshold) this.setState(target, 'healthy');
    } else {
      target.fails++;
      target.passes = 0;
      if (target.state !== 'unhealthy' && target.fails >= hc.unhealthyThreshold) this.setState(target, 'unhealthy');
    }
  }

  private setState(target: Target, state: TargetState): void {
    const previous = target.state;
    if (previous === state) return;
    target.state = state;
    this.options.onTargetState?.(view(target), previous);
  }
}

/** Headers that belong to one connection, not to the request or the answer (RFC 9110, 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade', 'trailer']);

/** undici's errors, as the balancer reports them: the idle timeout is ETIMEDOUT, a dropped request ECONNRESET. */
function targetError(err: Error & { code?: string }): NodeJS.ErrnoException {
  if (err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT') return Object.assign(new Error(err.message), { code: 'ETIMEDOUT' });
  if (err.code === 'UND_ERR_SOCKET' || err.code === 'UND_ERR_CLOSED') return Object.assign(new Error(err.message), { code: 'ECONNRESET' });
  return err;
}

/**
 * Sends `req` to `target` over its kept-alive connections and streams the answer back, as the ALB
 * forwards a request: its headers with X-Forwarded-* (see the file's comment), the answer's status
 * and headers as the target sent them, each without hop-by-hop headers. `onError` is called once
 * when the target cannot be reached, drops the request or the answer, or sends nothing for
 * `timeoutMs` (before its headers, or within its body); a client that goes away ends the request
 * to the target, which is not the target's failure. Node's HTTP server reads the client, undici
 * (Node.js's own HTTP client, behind its fetch) talks to the target: no HTTP is parsed here. With
 * Node's http.request as the client the balancer spent about 1.5 times the CPU a request
 * (docs/decisions.md).
 */
function forwardTo(target: Target, req: http.IncomingMessage, res: http.ServerResponse, hasBody: boolean, timeoutMs: number, onError: (err: NodeJS.ErrnoException) => void): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    // undici frames the body itself, and Node's server has already answered any 100-continue.
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'expect') continue;
    headers[name] = value;
  }
  const client = req.socket.remoteAddress ?? '';
  const forwardedFor = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${client}` : client;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
  let settled = false; // the answer was sent, the client went away, or onError was called
  let abort: ((reason?: Error) => void) | undefined;
  let resume: (() => void) | undefined;
  const fail = (err: NodeJS.ErrnoException) => {
    if (settled) return;
    settled = true;
    onError(err);
  };
  const handler: Dispatcher.DispatchHandlers = {
    onConnect(abortRequest) {
      abort = abortRequest;
    },
    onError(err) {
      fail(targetError(err));
    },
    onHeaders(statusCode, rawHeaders, resumeReading, statusText) {
      if (statusCode < 200) return true; // 1xx: the final answer follows
      const answerHeaders: string[] = [];
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const name = rawHeaders[i]!.toString('latin1');
        if (HOP_BY_HOP.has(name.toLowerCase())) continue;
        answerHeaders.push(name, rawHeaders[i + 1]!.toString('latin1'));
      }
      resume = resumeReading;
      res.writeHead(statusCode, statusText, answerHeaders);
      return true;
    },
    onData(chunk) {
      return res.write(chunk);
    },
    onComplete() {
      settled = true;
      res.end();
    },
  };
  res.on('drain', () => resume?.());
  // The client went away before its answer was sent: stop the request to the target.
  res.once('close', () => {
    if (res.writableFinished || settled) return;
    settled = true;
    abort?.();
  });
  target.pool.dispatch({
    path: req.url ?? '/',
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers,
    body: hasBody ? req : null,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  }, handler);
}

function view(t: Target): TargetView {
  return { id: t.id, url: t.url, state: t.state, inFlight: t.inFlight, requests: t.requests };
}

function reply(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
  res.end(`${body}\n`);
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** One health check: true on a 200 within `timeoutMs`. A fresh connection each time, as the ALB's checks. */
function probe(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('health check timed out')));
    req.on('error', () => resolve(false));
  });
}
