/**
 * Request bodies with a cap, for code that faces the internet:
 *
 * - {@link capRequestBody}: what the web server does to every request. It counts the body's bytes
 *   as the HTTP parser hands them over, whatever the framing (Content-Length or chunked), and
 *   stops at the limit: the chunk that would cross it never reaches the request stream, so a
 *   handler cannot read more than the limit, however it reads.
 * - {@link readJsonBody}: the one JSON reader apps use: a JSON Content-Type, at most `maxBytes`
 *   held in memory (counted as they arrive, not from a header), parsed; every refusal a
 *   {@link RequestBodyError} with the status to answer and a message safe to show the client.
 */
import type { IncomingMessage } from 'http';

/** The most {@link readJsonBody} holds by default: 64 KiB, plenty for a form or an API call. */
export const DEFAULT_JSON_BODY_MAX_BYTES: number = 64 * 1024;

/**
 * A request body that cannot be used: over a limit (413), not JSON (400), or not declared as
 * JSON (415). `message` says what was wrong and is safe to send to the client; the web server
 * answers a handler that throws one with its `status` and message.
 */
export class RequestBodyError extends Error {
  override readonly name = 'RequestBodyError';
  constructor(
    message: string,
    /** The HTTP status to answer with. */
    readonly status: 400 | 413 | 415,
  ) {
    super(message);
  }
}

/** Options of {@link readJsonBody}. */
export interface ReadJsonBodyOptions {
  /**
   * The most bytes of body read and held; a longer body is refused with 413 as soon as its bytes
   * pass this (a smaller cap than the server's body limit, for bodies known to be small).
   *
   * @default 65536 (64 KiB)
   */
  readonly maxBytes?: number;
}

/**
 * Reads a request's body as JSON: 415 unless its Content-Type is JSON (`application/json` or
 * `application/<something>+json`), 413 as soon as more than `maxBytes` have arrived (whatever
 * the body's framing; nothing past the cap is kept), 400 when it is empty or not JSON.
 *
 * @example
 * import { readJsonBody, RequestBodyError } from '@cdk-cloud-patterns/runtime';
 * const body = await readJsonBody(req, { maxBytes: 16 * 1024 });
 * // a RequestBodyError thrown out of a serveWebApp handler is answered with its status
 */
export async function readJsonBody(req: IncomingMessage, options: ReadJsonBodyOptions = {}): Promise<unknown> {
  const maxBytes = options.maxBytes ?? DEFAULT_JSON_BODY_MAX_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(`readJsonBody: maxBytes must be a whole number of bytes, 1 or more, received ${maxBytes}.`);
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!/^application\/([a-z0-9.+-]+\+)?json$/.test(type)) {
    throw new RequestBodyError(`the body must be JSON (Content-Type: application/json), received Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}`, 415);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new RequestBodyError(`the body must be at most ${maxBytes} bytes, received a Content-Length of ${declared}`, 413);
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length;
    if (bytes > maxBytes) {
      // Stop reading: the server answers and closes, and discards the rest up to its own limit.
      req.pause();
      throw new RequestBodyError(`the body must be at most ${maxBytes} bytes, and more arrived`, 413);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new RequestBodyError('the body is empty: send a JSON value', 400);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new RequestBodyError(`the body is not JSON (${(e as Error).message})`, 400);
  }
}

/**
 * Caps `req`'s body at `limitBytes`, counted as the bytes arrive: once a chunk would cross the
 * limit, neither it nor anything after it reaches the request stream, reading from the socket
 * stops, and `onOver` is called (once). Works the same for Content-Length and chunked bodies.
 *
 * It wraps the request's own `push`, through which Node's HTTP parser delivers every body chunk
 * (the stream's documented producer side); a stream the handler reads is left untouched.
 */
export function capRequestBody(req: IncomingMessage, limitBytes: number, onOver: (received: number) => void): void {
  const push = req.push;
  let received = 0;
  let over = false;
  req.push = function cappedPush(this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (over) return false;
    if (chunk !== null && chunk !== undefined) {
      received += typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : (chunk as Uint8Array).length;
      if (received > limitBytes) {
        over = true;
        onOver(received);
        return false; // false: the parser stops reading the socket
      }
    }
    return push.call(this, chunk, encoding);
  };
}
