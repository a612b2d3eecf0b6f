/**
 * readJsonBody, the capped JSON reader apps use, behind the real web server: the cap counts the
 * bytes as they arrive (a chunked body has no length to check), and a RequestBodyError thrown by
 * a handler is answered with its status and its message.
 */
import * as http from 'http';
import { readJsonBody, serveWebApp, type WebServer } from '../../../runtime/web-server';

interface Reply { readonly status: number; readonly body: string }

/** A POST of `body`; chunked (no Content-Length) when `chunked`. */
function post(url: string, body: string, headers: Record<string, string>, chunked = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: chunked ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    if (chunked) {
      // Several writes: Node sends each as a chunk.
      for (let i = 0; i < body.length; i += 4096) req.write(body.slice(i, i + 4096));
      req.end();
    } else {
      req.end(body);
    }
  });
}

const JSON_TYPE = { 'Content-Type': 'application/json' };
let server: WebServer;
let parsed: unknown[] = [];

beforeAll(async () => {
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  server = await serveWebApp(async (req, res) => {
    const body = await readJsonBody(req, { maxBytes: 1024 });
    parsed.push(body);
    res.end('ok');
  }, { port: 0, host: '127.0.0.1', logger: log, timings: { unreadyNoticeSeconds: 0, drainSeconds: 1, shutdownSeconds: 1 } });
  await server.started;
});
afterAll(() => server.shutdown());
beforeEach(() => { parsed = []; });

describe('readJsonBody', () => {
  test('parses a JSON body within its cap', async () => {
    expect(await post(server.url, '{"name":"ada"}', JSON_TYPE)).toMatchObject({ status: 200 });
    expect(parsed).toEqual([{ name: 'ada' }]);
  });

  test('refuses with 413 a chunked body over its cap, holding no more than the cap', async () => {
    // GIVEN a 64 KiB JSON body sent chunked, against a 1 KiB cap
    const big = JSON.stringify({ pad: 'x'.repeat(64 * 1024) });

    // WHEN it is posted THEN 413, and the handler never got a parsed body
    const reply = await post(server.url, big, JSON_TYPE, true);
    expect(reply.status).toBe(413);
    expect(reply.body).toMatch(/at most 1024 bytes/);
    expect(parsed).toEqual([]);
  });

  test('refuses with 413 a declared Content-Length over its cap, before reading', async () => {
    const reply = await post(server.url, JSON.stringify({ pad: 'x'.repeat(2048) }), JSON_TYPE);
    expect(reply).toMatchObject({ status: 413, body: expect.stringMatching(/Content-Length of 2\d{3}/) });
  });

  test('refuses with 400 a body that is not JSON, or empty, saying so', async () => {
    expect(await post(server.url, '{"name":', JSON_TYPE)).toMatchObject({ status: 400, body: expect.stringMatching(/not JSON/) });
    expect(await post(server.url, '', JSON_TYPE)).toMatchObject({ status: 400, body: expect.stringMatching(/empty/) });
  });

  test('refuses with 415 a body not declared as JSON, naming the Content-Type received', async () => {
    const reply = await post(server.url, '{"name":"ada"}', { 'Content-Type': 'text/plain' });
    expect(reply).toMatchObject({ status: 415, body: expect.stringMatching(/Content-Type "text\/plain"/) });
    expect(await post(server.url, '{"a":1}', { 'Content-Type': 'application/merge-patch+json; charset=utf-8' })).toMatchObject({ status: 200 });
  });

  test('fails when maxBytes is not a whole number of bytes, naming maxBytes', async () => {
    const req = Object.assign(new http.IncomingMessage(null as never), { headers: JSON_TYPE });
    await expect(readJsonBody(req, { maxBytes: 0 })).rejects.toThrow(/maxBytes must be a whole number of bytes, 1 or more, received 0/);
  });
});
