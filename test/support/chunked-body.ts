/**
 * Writes `bytes` of request body in 64 KiB chunks as fast as the server takes them (waiting for
 * 'drain'), then ends the request; stops when the request is destroyed (the server cut it). With
 * no Content-Length set, Node sends it `Transfer-Encoding: chunked`. Returns the bytes written so far.
 */
import type * as http from 'http';

export function writeChunkedBody(req: http.ClientRequest, bytes: number, fill: number): () => number {
  const chunk = Buffer.alloc(64 * 1024, fill);
  let sent = 0;
  const pump = () => {
    while (sent < bytes && !req.destroyed) {
      sent += chunk.length;
      if (!req.write(chunk)) return void req.once('drain', pump);
    }
    if (!req.destroyed) req.end();
  };
  pump();
  return () => sent;
}
