/**
 * The benchmark's web app, the same for both contenders: express with express-session, only the
 * Store differs. Page views: read the session (GET /page), change it (POST /cart), sign in
 * (POST /login: a new id keeping the data, as OWASP asks). Anonymous visitors get no session.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import express from 'express';
import session, { type Store } from 'express-session';
import { regenerateKeepingData } from '../../runtime/index';

declare module 'express-session' {
  interface SessionData { cart?: string[]; userId?: string }
}

export interface BenchApp {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the app on 127.0.0.1 with `options` for express-session (store included). */
export async function startApp(options: session.SessionOptions & { store: Store }): Promise<BenchApp> {
  const app = express();
  app.use(session(options));
  app.get('/page', (req, res) => { res.json({ user: req.session.userId ?? null, items: req.session.cart?.length ?? 0 }); });
  app.post('/cart', (req, res) => { req.session.cart = [...(req.session.cart ?? []), `item-${Date.now() % 1000}`]; res.json({ items: req.session.cart.length }); });
  app.post('/login', (req, res, next) => {
    regenerateKeepingData(req, { userId: `user-${Math.floor(Math.random() * 1000)}` }).then(() => res.json({ user: req.session.userId }), next);
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
