/**
 * Drill: a hostile client against the render farm's web app, served in process by the web
 * server the web tier runs (serveWebApp, 6 s requests, its 1 MiB body limit) on moto: a burst of
 * sign-ins guessing a user's password, a polling flood of its own render, forged session cookies
 * (well-formed, signed with a key the app does not hold), replayed cookies of a signed-out
 * session, and oversized chunked bodies on sign-in. Meanwhile a normal signed-in user polls their
 * render every 250 ms and must be answered, 200, within the request timeout throughout.
 *
 * The app's calls to Cognito, SQS and Auto Scaling go through the fault proxy, which counts them.
 * With the protections on, the guesses reach the user pool only up to the address's burst, the
 * fleet's size and backlog are read at most once per 5 s, a sign-in body is refused after 4 KiB,
 * and every forged or replayed cookie gets 401. The drill runs once more, for 4 s, with the app's
 * protections off (`protections: false`: no rate limits, no status cache, no sign-in body cap) and
 * must then find those broken, so it is not blind. Figures on one line each (DRILL ...).
 */
import { createHmac, randomBytes } from 'crypto';
import * as http from 'http';
import { DEFAULT_FRACTAL } from '../../../apps/render-farm/fractal';
import { RENDER_FARM_LIMITS } from '../../../apps/render-farm/rate-limits';
import { createRenderFarmApp } from '../../../apps/render-farm/web-app';
import { serveWebApp } from '../../../runtime/index';
import { startFaultProxy } from '../../support/fault-proxy';
import { useLocalAws } from '../../support/local-aws';
import { renderFarmResources, username, visitor } from './support';

const aws = useLocalAws();
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
/** The demo web tier's request timeout (newDemoWebApp): what a normal user's request must stay within. */
const REQUEST_TIMEOUT_MS = 6_000;
/** How long the hostile client keeps at it. */
const DRILL_MS = 8_000;
/**
 * How long it keeps at it when the protections are off (the drill's check that it is not blind):
 * every protection is then broken within a second or two, and the limits `broken` applies were
 * set for the longer run, so a shorter one can only find fewer problems, not more.
 */
const BLIND_DRILL_MS = 4_000;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ env } = await renderFarmResources(aws));
  jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});

interface Figures {
  readonly normalRequests: number;
  readonly normalFailed: number;
  readonly normalSlowestMs: number;
  /** The longest time from the drill's start to the normal user's first answer, between two answers, or from the last to the drill's end. */
  readonly normalLongestGapMs: number;
  readonly guesses: number;
  readonly guessesRefused: number;
  /** InitiateAuth calls the app made during the burst. */
  readonly guessesAtThePool: number;
  readonly polls: number;
  readonly pollsRefused: number;
  /** DescribeAutoScalingGroups calls the app made during the drill. */
  readonly fleetReads: number;
  readonly forged: number;
  readonly forgedNot401: number;
  readonly replayed: number;
  readonly replayedNot401: number;
  /** Of the oversized sign-in bodies, the most bytes the server read from one such connection. */
  readonly bigBodyBytesRead: number;
  readonly bigBodyStatuses: readonly number[];
}

/**
 * Sends `total` bytes of a chunked JSON body to sign-in; resolves with the status (0 when the
 * server cut the connection before the client read an answer) and the client's local port.
 */
function chunkedSignIn(url: string, total: number): Promise<{ status: number; port: number }> {
  const u = new URL(url);
  return new Promise((resolve) => {
    let sent = 0;
    let answered = false;
    let port = 0;
    const req = http.request({ host: u.hostname, port: u.port, path: '/api/sign-in', method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.99' } });
    req.on('socket', (socket) => socket.on('connect', () => { port = socket.localPort ?? 0; }));
    req.on('response', (res) => {
      answered = true;
      resolve({ status: res.statusCode!, port });
      res.resume();
      req.destroy();
    });
    req.on('error', () => {
      if (!answered) resolve({ status: 0, port });
    });
    const chunk = Buffer.alloc(32 * 1024, 'a');
    req.write('{"username":"');
    const pump = () => {
      if (answered || req.destroyed) return;
      if (sent >= total) {
        req.end('"}');
        return;
      }
      sent += chunk.length;
      req.write(chunk, () => setTimeout(pump, 2));
    };
    pump();
  });
}

/**
 * A pause between one loop's requests. Each protection trips within the first dozens of requests
 * (the tightest limits allow 5 sign-ins and 20 polls at once), so the flood need not take every
 * cycle the machine has: 14 loops send some 200 to 300 requests a second, hundreds of times what
 * the limits let through, where back-to-back loops sent about 900 and took a core's time from the
 * rest of the test suite. What the drill checks is unchanged.
 */
const PAUSE_MS = 40;

/** The longest time between two consecutive instants of `times` (in order). */
function longestGap(times: readonly number[]): number {
  return times.slice(1).reduce((longest, t, i) => Math.max(longest, t - times[i]!), 0);
}

/** Runs `worker` on `n` loops, {@link PAUSE_MS} apart, until `until`; resolves when all stop. */
async function loops(n: number, until: number, worker: () => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: n }, async () => {
    while (Date.now() < until) {
      await worker();
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
  }));
}

async function drill(protections: boolean, drillMs: number = DRILL_MS): Promise<Figures> {
  const proxy = await startFaultProxy(aws.moto.endpoint);
  const app = await createRenderFarmApp({ env, clientConfig: { endpoint: proxy.endpoint }, protections });
  const server = await serveWebApp(app.handler, {
    port: 0, host: '127.0.0.1', logger: quiet, accessLog: false, requestTimeoutSeconds: REQUEST_TIMEOUT_MS / 1000,
    timings: { unreadyNoticeSeconds: 0, drainSeconds: 1, shutdownSeconds: 2 },
  });
  await server.started;
  // Bytes each connection's socket read on the server side, by the client's port.
  const bytesRead = new Map<number, () => number>();
  server.httpServer.on('connection', (socket) => bytesRead.set(socket.remotePort ?? 0, () => socket.bytesRead));
  try {
    const url = server.url;
    // GIVEN a normal user, signed in, with a render; and the hostile client's own account and render
    const name = username('ada');
    const ada = visitor(url, '198.51.100.7');
    await ada.signUp(name);
    const adaRender = (await ada.call('/api/renders', DEFAULT_FRACTAL)).json.id as string;
    const mallory = visitor(url, '192.0.2.66');
    await mallory.signUp(username('mallory'));
    const malloryRender = (await mallory.call('/api/renders', DEFAULT_FRACTAL)).json.id as string;
    const replay = visitor(url, '192.0.2.67');
    await replay.signUp(username('eve'));
    const stale = replay.cookie();
    await replay.call('/api/sign-out', {});
    const cookieName = stale.split('=')[0]!;
    const fleetReadsBefore = proxy.seen.DescribeAutoScalingGroups ?? 0;
    const until = Date.now() + drillMs;

    // WHEN the hostile client keeps at it (8 s; 4 s with the protections off) while ada polls every 250 ms
    const normal: { status: number; ms: number; at: number }[] = [];
    const drillStart = Date.now();
    const normalLoop = (async () => {
      while (Date.now() < until) {
        const t = Date.now();
        const a = await ada.call(`/api/renders/${adaRender}`).catch(() => ({ status: 0 }));
        normal.push({ status: a.status, ms: Date.now() - t, at: Date.now() });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    let guesses = 0;
    let guessesRefused = 0;
    const guessesBefore = proxy.seen.InitiateAuth ?? 0;
    const guessing = loops(4, until, async () => {
      guesses++;
      const a = await visitor(url, '192.0.2.66').signIn(name, `Guess-${guesses}-passw0rd`);
      if (a.status === 429) guessesRefused++;
    });
    let polls = 0;
    let pollsRefused = 0;
    const flooding = loops(6, until, async () => {
      polls++;
      if ((await mallory.call(`/api/renders/${malloryRender}`)).status === 429) pollsRefused++;
    });
    let forged = 0;
    let forgedNot401 = 0;
    const forging = loops(2, until, async () => {
      forged++;
      const id = randomBytes(32).toString('base64url');
      const cookie = `${cookieName}=s:${id}.${createHmac('sha256', 'not-the-key').update(id).digest('base64url')}`;
      const res = await fetch(`${url}/api/renders`, { headers: { cookie, 'x-forwarded-for': `192.0.2.${100 + (forged % 50)}` } });
      await res.text();
      if (res.status !== 401) forgedNot401++;
    });
    let replayed = 0;
    let replayedNot401 = 0;
    const replaying = loops(2, until, async () => {
      replayed++;
      const res = await fetch(`${url}/api/me`, { headers: { cookie: stale, 'x-forwarded-for': `192.0.2.${150 + (replayed % 50)}` } });
      await res.text();
      if (res.status !== 401) replayedNot401++;
    });
    const bodies = await Promise.all(Array.from({ length: 3 }, () => chunkedSignIn(url, 4 * 1024 * 1024)));
    await Promise.all([normalLoop, guessing, flooding, forging, replaying]);
    const guessesAtThePool = (proxy.seen.InitiateAuth ?? 0) - guessesBefore;

    const figures: Figures = {
      normalRequests: normal.length,
      normalFailed: normal.filter((n) => n.status !== 200).length,
      normalSlowestMs: Math.max(...normal.map((n) => n.ms)),
      normalLongestGapMs: longestGap([drillStart, ...normal.map((n) => n.at), until]),
      guesses, guessesRefused, guessesAtThePool,
      polls, pollsRefused,
      fleetReads: (proxy.seen.DescribeAutoScalingGroups ?? 0) - fleetReadsBefore,
      forged, forgedNot401, replayed, replayedNot401,
      bigBodyBytesRead: Math.max(...bodies.map((b) => bytesRead.get(b.port)?.() ?? Infinity)),
      bigBodyStatuses: bodies.map((b) => b.status),
    };
    process.stdout.write(`DRILL render farm hostile client, protections ${protections ? 'on' : 'off'}: ${JSON.stringify(figures)}\n`);
    return figures;
  } finally {
    await server.shutdown();
    app.close();
    await proxy.stop();
  }
}

/** What the protections promise, broken: empty when they held. */
function broken(f: Figures): string[] {
  const problems: string[] = [];
  const burst = RENDER_FARM_LIMITS.signInPerAddress.burst;
  // The address's bucket refills 10 a minute: over 8 s, at most 2 more than the burst.
  if (f.guessesAtThePool > burst + 2) problems.push(`${f.guessesAtThePool} password guesses from one address reached the user pool (the burst is ${burst})`);
  // One read per 5 s: over 8 s and the set-up, at most 3.
  if (f.fleetReads > 3) problems.push(`${f.fleetReads} DescribeAutoScalingGroups calls for ${f.polls + f.normalRequests} polls`);
  if (f.pollsRefused === 0) problems.push(`none of ${f.polls} polls of one session was refused`);
  if (f.bigBodyBytesRead > 256 * 1024) problems.push(`a sign-in body was read up to ${f.bigBodyBytesRead} bytes before it was refused`);
  return problems;
}

describe('the render farm against a hostile client', () => {
  test('answers a normal user within the request timeout throughout, while its protections hold: guesses and polls refused, one fleet read per 5 s, small sign-in bodies, every forged or replayed cookie a 401', async () => {
    const f = await drill(true);
    // Answered throughout: every poll 200 within the request timeout, and never longer than that
    // (and the 250 ms pause, with 750 ms for a busy machine's timers) without an answer, from the
    // drill's start to its end. (A count of answers would measure the machine: 14 to 23 over 8 s
    // in full runs of the suite, 30 alone, 8 once beside the heaviest files.)
    expect(f.normalRequests).toBeGreaterThanOrEqual(2);
    expect(f.normalFailed).toBe(0);
    expect(f.normalSlowestMs).toBeLessThan(REQUEST_TIMEOUT_MS);
    expect(f.normalLongestGapMs).toBeLessThan(REQUEST_TIMEOUT_MS + 1_000);
    expect(broken(f)).toEqual([]);
    expect(f.guessesRefused).toBeGreaterThan(0);
    expect(f.forged).toBeGreaterThan(10);
    expect(f.forgedNot401).toBe(0);
    expect(f.replayed).toBeGreaterThan(10);
    expect(f.replayedNot401).toBe(0);
    // Refused: 413, or the connection cut right after it (the client, still sending, may see only the cut)
    for (const status of f.bigBodyStatuses) expect([413, 0]).toContain(status);
  }, 60_000);

  test('is not blind: with the app\'s protections off, the same client gets through', async () => {
    const f = await drill(false, BLIND_DRILL_MS);
    const problems = broken(f);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/password guesses from one address reached the user pool/),
      expect.stringMatching(/DescribeAutoScalingGroups calls for/),
      expect.stringMatching(/polls of one session was refused/),
      expect.stringMatching(/a sign-in body was read up to/),
    ]));
  }, 60_000);
});
