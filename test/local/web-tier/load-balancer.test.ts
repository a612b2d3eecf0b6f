/**
 * The local load balancer on its own, with in-process targets: health states from the checks,
 * round robin, the trace id, the redirect listener, deregistration that waits for requests in
 * flight, no retry of a request a target dropped, and the local group's scaling arithmetic.
 */
import * as http from 'http';
import * as net from 'net';
import type { AddressInfo } from 'net';
import { setTimeout as sleep } from 'timers/promises';
import { LocalLoadBalancer } from '../../../local/web-tier/load-balancer';
import { desiredServers } from '../../../local/workloads/web-tier';

const HEALTH = { path: '/ready', intervalMs: 200, timeoutMs: 150, healthyThreshold: 2, unhealthyThreshold: 2 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A target whose app is `app`; `/ready` answers `ready()` ? 200 : 503. */
async function target(app: http.RequestListener, ready: () => boolean = () => true): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/ready') return void res.writeHead(ready() ? 200 : 503).end();
    hits.push(req.url ?? '');
    app(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

async function balancer(options: Partial<ConstructorParameters<typeof LocalLoadBalancer>[0]> = {}): Promise<LocalLoadBalancer> {
  const lb = new LocalLoadBalancer({ healthCheck: HEALTH, deregistrationDelayMs: 2_000, idleTimeoutMs: 5_000, ...options });
  await lb.start();
  cleanups.push(() => lb.stop());
  return lb;
}

describe('the local load balancer', () => {
  test('sends nothing to a target until it passes its health checks, then spreads requests round robin with a trace id', async () => {
    const seen: string[] = [];
    const a = await target((req, res) => { seen.push(String(req.headers['x-amzn-trace-id'])); res.end('a'); });
    const b = await target((_req, res) => res.end('b'));
    // Checks 1 s apart: the first request surely comes before the second check
    const lb = await balancer({ healthCheck: { ...HEALTH, intervalMs: 1_000, timeoutMs: 500 } });
    lb.register('a', a.url);
    lb.register('b', b.url);
    expect((await fetch(lb.url)).status).toBe(503); // both still initial
    await lb.waitHealthy('a', 5_000);
    await lb.waitHealthy('b', 5_000);
    const bodies = await Promise.all([1, 2, 3, 4].map(async () => (await fetch(lb.url)).text()));
    expect(bodies.sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(seen[0]).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  });

  test('marks a target that fails its checks unhealthy and stops sending to it', async () => {
    let aReady = true;
    const a = await target((_req, res) => res.end('a'), () => aReady);
    const b = await target((_req, res) => res.end('b'));
    const lb = await balancer();
    lb.register('a', a.url);
    lb.register('b', b.url);
    await lb.waitHealthy('a', 5_000);
    await lb.waitHealthy('b', 5_000);
    aReady = false;
    const deadline = Date.now() + 5_000;
    while (lb.target('a')!.state !== 'unhealthy' && Date.now() < deadline) await sleep(20);
    expect(lb.target('a')!.state).toBe('unhealthy');
    const bodies = await Promise.all([1, 2, 3, 4].map(async () => (await fetch(lb.url)).text()));
    expect(bodies).toEqual(['b', 'b', 'b', 'b']);
  });

  test('ends a wait for a healthy target when the target leaves or the balancer stops (a replacement cut short by a stop waits for nothing)', async () => {
    // GIVEN targets that never pass their checks
    const never = await target((_req, res) => res.end('x'), () => false);
    const lb = await balancer();
    lb.register('leaving', never.url);
    lb.register('stranded', never.url);

    // WHEN one leaves the balancer, and the balancer stops, while someone waits for each
    const leaving = lb.waitHealthy('leaving', 60_000);
    const stranded = lb.waitHealthy('stranded', 60_000);
    const started = Date.now();
    await lb.deregister('leaving');
    await expect(leaving).rejects.toThrow('target leaving left the balancer before it was healthy');
    await lb.stop();

    // THEN each wait ends at once with the reason, not at its deadline
    await expect(stranded).rejects.toThrow('the balancer stopped before target stranded was healthy');
    expect(Date.now() - started).toBeLessThan(5_000);
    // AND a server that comes up after the stop is not registered (no health checks left running)
    lb.register('late', never.url);
    expect(lb.target('late')).toBeUndefined();
  });

  test('does not retry a request a target dropped: the client gets 502', async () => {
    const a = await target((req) => req.socket.destroy());
    const b = await target((_req, res) => res.end('b'));
    const lb = await balancer();
    lb.register('a', a.url);
    await lb.waitHealthy('a', 5_000);
    lb.register('b', b.url);
    await lb.waitHealthy('b', 5_000);
    const statuses = await Promise.all([1, 2].map(async () => (await fetch(lb.url)).status));
    expect(statuses.sort()).toEqual([200, 502]);
    expect(a.hits.length).toBe(1);
    expect(b.hits.length).toBe(1);
    expect(lb.failureLog()).toEqual([expect.objectContaining({ target: 'a', error: 'ECONNRESET' })]);
  });

  test('sends a request whose connection a target refused to another target, when it has no body; one with a body gets 502', async () => {
    // GIVEN two healthy targets, one of which then stops listening (connections refused)
    const a = await target((_req, res) => res.end('a'));
    const b = await target((_req, res) => res.end('b'));
    // (healthy after one check; no check marks the closed one unhealthy within this test)
    const lb = await balancer({ healthCheck: { ...HEALTH, healthyThreshold: 1, unhealthyThreshold: 1_000 } });
    lb.register('a', a.url);
    lb.register('b', b.url);
    await lb.waitHealthy('a', 5_000);
    await lb.waitHealthy('b', 5_000);
    await cleanups.shift()!(); // a's server closes (its cleanup is the first registered)

    // WHEN requests without a body come in, one of them first picked for the closed target
    const bodies = await Promise.all([1, 2].map(async () => (await fetch(lb.url)).text()));

    // THEN each is served by the other, the refused one counted as rerouted
    expect(bodies).toEqual(['b', 'b']);
    expect(lb.stats).toEqual(expect.objectContaining({ rerouted: 1, targetFailures: 0 }));
    // AND a request with a body, picked for the closed target, is not replayed
    const statuses = await Promise.all([1, 2].map(async () => (await fetch(lb.url, { method: 'POST', body: 'x' })).status));
    expect(statuses.sort()).toEqual([200, 502]);
    expect(lb.failureLog()).toEqual([expect.objectContaining({ target: 'a', error: 'ECONNREFUSED' })]);
  });

  test('gives each request a fresh trace id in the ALB\'s format, and keeps one the client sent', async () => {
    const seen: string[] = [];
    const a = await target((req, res) => { seen.push(String(req.headers['x-amzn-trace-id'])); res.end('a'); });
    const lb = await balancer();
    lb.register('a', a.url);
    await lb.waitHealthy('a', 5_000);
    for (let i = 0; i < 50; i++) await (await fetch(lb.url)).text();
    await (await fetch(lb.url, { headers: { 'X-Amzn-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272793' } })).text();
    const fresh = seen.slice(0, 50);
    for (const id of fresh) expect(id).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(new Set(fresh).size).toBe(50);
    // none of the 24 digits is fixed (a UUID's version and variant digits are left out)
    for (let pos = 0; pos < 24; pos++) expect(new Set(fresh.map((id) => id.slice(-24)[pos])).size).toBeGreaterThan(1);
    expect(seen[50]).toBe('Root=1-5759e988-bd862e3fe1be46a994272793');
  });

  test('answers 504 when a target sends nothing within the idle timeout', async () => {
    const a = await target(() => undefined); // never answers
    const lb = await balancer({ idleTimeoutMs: 400 });
    lb.register('a', a.url);
    await lb.waitHealthy('a', 5_000);
    const started = Date.now();
    const res = await fetch(lb.url);
    expect(res.status).toBe(504);
    expect(await res.text()).toBe('target timed out\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(lb.failureLog()).toEqual([expect.objectContaining({ target: 'a', error: 'ETIMEDOUT' })]);
    expect(lb.target('a')!.inFlight).toBe(0);
  });

  test('ends the request to the target when the client goes away, without counting it as the target\'s failure', async () => {
    let closed!: () => void;
    const targetSawClose = new Promise<void>((r) => { closed = r; });
    const a = await target((req) => req.socket.once('close', () => closed())); // answers nothing, waits
    const lb = await balancer();
    lb.register('a', a.url);
    await lb.waitHealthy('a', 5_000);
    const gone = new AbortController();
    const asked = fetch(lb.url, { signal: gone.signal }).catch((e: Error) => e.name);
    while (a.hits.length === 0) await sleep(10);
    gone.abort();
    expect(await asked).toBe('AbortError');
    await targetSawClose; // the balancer ended its request to the target
    const deadline = Date.now() + 2_000;
    while (lb.target('a')!.inFlight > 0 && Date.now() < deadline) await sleep(10);
    expect(lb.target('a')!.inFlight).toBe(0);
    expect(lb.stats.targetFailures).toBe(0);
    expect(lb.failureLog()).toEqual([]);
  });

  test('forwards the request with X-Forwarded-For appended and the listener\'s X-Forwarded-Proto and Port, and the answer as sent, without hop-by-hop headers', async () => {
    let seen!: http.IncomingHttpHeaders;
    const a = await target((req, res) => {
      seen = req.headers;
      res.writeHead(201, 'Made', { 'set-cookie': ['a=1', 'b=2'], 'x-custom': 'yes', connection: 'close' });
      res.end('made');
    });
    const lb = await balancer();
    lb.register('a', a.url);
    await lb.waitHealthy('a', 5_000);
    const answer = await new Promise<{ status?: number; message?: string; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request(`${lb.url}/path?q=1`, { method: 'POST', headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https', 'content-type': 'text/plain', 'keep-alive': 'timeout=5' } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => { body += d.toString(); });
        res.on('end', () => resolve({ status: res.statusCode, message: res.statusMessage, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end('payload');
    });
    expect(seen['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-port']).toBe(new URL(lb.url).port);
    expect(seen['keep-alive']).toBeUndefined();
    expect(seen['content-type']).toBe('text/plain');
    expect(a.hits).toEqual(['/path?q=1']);
    expect(answer).toEqual(expect.objectContaining({ status: 201, message: 'Made', body: 'made' }));
    expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(answer.headers['x-custom']).toBe('yes');
    // the target's Connection: close ended its own connection, not the client's
    expect(answer.headers.connection).toBe('keep-alive');
  });

  test('streams a chunked upload to the target and a chunked answer back, whole, to an HTTP/1.1 and an HTTP/1.0 client, and takes an upload that expects 100-continue', async () => {
    const PART = Buffer.alloc(64 * 1024, 7);
    const PARTS = 32; // 2 MiB each way
    const seen: { bytes: number; framing: string | undefined }[] = [];
    const a = await target((req, res) => {
      let bytes = 0;
      req.on('data', (d: Buffer) => { bytes += d.length; });
      req.on('end', async () => {
        seen.push({ bytes, framing: req.headers['transfer-encoding'] ?? req.headers['content-length'] });
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < PARTS; i++) {
          if (!res.write(PART)) await new Promise((r) => res.once('drain', r));
        }
        res.end();
      });
    });
    const lb = await balancer();
    lb.register('a', a.url);
    await lb.waitHealthy('a', 5_000);
    /** Sends PARTS parts without a length (chunked), or with a length and Expect: 100-continue; reads the whole answer. */
    const upload = (options: { http10?: boolean; expectContinue?: boolean }) => new Promise<{ bytes: number; chunked: boolean }>((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = options.expectContinue ? { expect: '100-continue', 'content-length': PART.length * PARTS } : {};
      const req = http.request(`${lb.url}/upload`, { method: 'POST', headers }, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => { bytes += d.length; });
        res.on('end', () => resolve({ bytes, chunked: res.headers['transfer-encoding'] === 'chunked' }));
      });
      req.on('error', reject);
      const send = async () => {
        for (let i = 0; i < PARTS; i++) {
          if (!req.write(PART)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      };
      if (options.expectContinue) req.once('continue', () => void send());
      else void send();
    });
    expect(await upload({})).toEqual({ bytes: PART.length * PARTS, chunked: true });
    expect(await upload({ expectContinue: true })).toEqual({ bytes: PART.length * PARTS, chunked: true });
    expect(seen).toEqual([
      { bytes: PART.length * PARTS, framing: 'chunked' },
      { bytes: PART.length * PARTS, framing: String(PART.length * PARTS) },
    ]);
    // An HTTP/1.0 client cannot read chunks: its answer ends with the connection instead.
    const old = await new Promise<{ head: string; bytes: number }>((resolve, reject) => {
      const socket = net.connect(Number(new URL(lb.url).port), '127.0.0.1', () => socket.write('GET /old HTTP/1.0\r\nHost: x\r\n\r\n'));
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('error', reject);
      socket.on('close', () => {
        const all = Buffer.concat(chunks);
        const end = all.indexOf('\r\n\r\n');
        resolve({ head: all.subarray(0, end).toString('latin1'), bytes: all.length - end - 4 });
      });
    });
    expect(old.head).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(old.head.toLowerCase()).not.toContain('transfer-encoding');
    expect(old.bytes).toBe(PART.length * PARTS);
  });

  test('lets a deregistered target finish its requests in flight, sending it no new one', async () => {
    const a = await target(async (_req, res) => { await sleep(300); res.end('slow'); });
    const lb = await balancer();
    lb.register('a', a.url);
    await lb.waitHealthy('a', 5_000);
    const inFlight = fetch(lb.url).then((r) => r.text());
    await sleep(50);
    const started = Date.now();
    const gone = lb.deregister('a');
    expect((await fetch(lb.url)).status).toBe(503);
    await gone;
    expect(await inFlight).toBe('slow');
    expect(Date.now() - started).toBeLessThan(1_500); // done when the request was, not after the whole delay
    expect(lb.list()).toEqual([]);
  });

  test('redirects its HTTP listener to the forwarding one (the deployed HTTP-to-HTTPS redirect)', async () => {
    const lb = await balancer({ redirect: true });
    const res = await fetch(`${lb.redirectUrl}/page?x=1`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe(`${lb.url}/page?x=1`);
  });
});

describe('the local group\'s scaling', () => {
  test('holds the target requests per server, within the group\'s bounds', () => {
    expect(desiredServers(0, 1000, 2, 4)).toBe(2);
    expect(desiredServers(2500, 1000, 2, 4)).toBe(3);
    expect(desiredServers(90_000, 1000, 2, 4)).toBe(4);
  });
});
