/**
 * An express-session Store on the session table. It does not import express or express-session
 * (users of the plain API need neither): the few Store methods express-session itself provides
 * (createSession, load, regenerate) are borrowed from the express-session the application
 * already loaded, at the moment express-session calls them.
 *
 * What it adds over a plain key-value store: expiry enforced on read (idle and absolute), a
 * touch only once per interval instead of a write per request, versioned writes that merge
 * concurrent requests by key, and no Scan or CreateTable anywhere (all, length and clear are
 * not offered: listUserSessions and signOutEverywhere query the user index instead).
 */
import { EventEmitter } from 'events';
import { cookieOptionProblems, resolveCookie, type SessionCookieOptions } from './cookies';
import { generateSessionId } from './ids';
import type { SessionRecord } from './merge';
import { assertNoProblems, resolveStoreOptions, secretProblems, secretsFrom, storeOptionProblems, type SessionStoreOptions } from './options';
import { SessionTable, type SessionSummary, type StoredSession } from './table';

/** Options of a {@link DynamoSessionStore}. */
export interface DynamoSessionStoreOptions extends SessionStoreOptions {
  /**
   * The signed-in user's id in a session, indexed for listUserSessions and signOutEverywhere.
   *
   * @default - `session.userId` when it is a string
   */
  readonly userIdOf?: (session: SessionRecord) => string | undefined;
}

type Callback<T = void> = (err?: unknown, value?: T) => void;

/** Where the version and data a request loaded ride along with its session object (invisible to JSON and for-in). */
const LOADED = Symbol('cdk-cloud-patterns.session.loaded');

interface Carrier { [LOADED]?: StoredSession }

function carry(target: object, stored: StoredSession): void {
  Object.defineProperty(target, LOADED, { value: stored, enumerable: false, configurable: true, writable: true });
}

// express-session's own Store, loaded only when express-session calls into this one. The
// try/catch also tells esbuild that a bundle of `@cdk-cloud-patterns/runtime` without
// express-session installed (an optional peer) is fine: the require stays a runtime one.
function expressSessionStore(): { prototype: Record<string, (...args: unknown[]) => unknown> } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('express-session') as { Store: { prototype: Record<string, (...args: unknown[]) => unknown> } }).Store;
  } catch (error) {
    throw new Error(`DynamoSessionStore needs express-session, which is not installed: npm i express-session (${(error as Error).message.split('\n')[0]})`, { cause: error });
  }
}

function settle<T>(promise: Promise<T>, cb: Callback<T> | undefined): void {
  promise.then((v) => cb?.(null, v), (e: unknown) => cb?.(e));
}

/**
 * An express-session Store keeping sessions in the SessionStore table.
 *
 * @example
 * app.set('trust proxy', 1); // TLS ends at the load balancer
 * app.use(session(expressSessionOptions({ store: new DynamoSessionStore(), secrets: [process.env.SESSION_SECRET!] })));
 */
export class DynamoSessionStore extends EventEmitter {
  private readonly table: SessionTable;
  private readonly userIdOf: (session: SessionRecord) => string | undefined;

  constructor(options: DynamoSessionStoreOptions = {}) {
    super();
    assertNoProblems(storeOptionProblems(options));
    this.table = new SessionTable(resolveStoreOptions(options));
    this.userIdOf = options.userIdOf ?? ((s) => (typeof s.userId === 'string' ? s.userId : undefined));
  }

  /** The session, or null when there is none or it has expired. */
  get<S extends object = SessionRecord>(sid: string, callback: (err: unknown, session?: S | null) => void): void {
    settle(this.table.read(sid).then((stored) => {
      if (!stored) return null;
      // A copy: the loaded data stays as it was, the base of a merge with a concurrent write.
      const data = structuredClone(stored.data);
      carry(data, stored);
      return data as S;
    }), callback as Callback<S | null>);
  }

  /** Creates the session, or writes it over the version this request loaded (merging a concurrent write). */
  set(sid: string, session: object, callback?: Callback): void {
    const data = JSON.parse(JSON.stringify(session)) as SessionRecord;
    const loaded = (session as Carrier)[LOADED];
    const userId = this.userIdOf(data);
    const written = loaded
      ? this.table.write(loaded, data, userId, ['cookie'])
      : this.table.create(sid, data, userId);
    settle(written.then((stored) => { carry(session, stored); }), callback);
  }

  /** Records activity at most once per touch interval; otherwise no request to DynamoDB. */
  touch(_sid: string, session: object, callback?: Callback): void {
    const loaded = (session as Carrier)[LOADED];
    const touched = loaded ? this.table.touch(loaded) : Promise.resolve(undefined);
    settle(touched.then((stored) => { if (stored) carry(session, stored); }), callback);
  }

  /** Deletes the session. */
  destroy(sid: string, callback?: Callback): void {
    settle(this.table.destroy(sid), callback);
  }

  /** The live sessions of a user, newest first (needs the user index). */
  listUserSessions(userId: string): Promise<SessionSummary[]> {
    return this.table.listUserSessions(userId);
  }

  /** Ends every session of a user ("sign out everywhere"); returns how many. */
  signOutEverywhere(userId: string): Promise<number> {
    return this.table.destroyUserSessions(userId);
  }

  /** express-session's own: builds `req.session` from what `get` returned; keeps the loaded version with it. */
  createSession<S = unknown>(req: object, session: object): S {
    const loaded = (session as Carrier)[LOADED];
    const created = expressSessionStore().prototype.createSession!.call(this, req, session) as object;
    if (loaded) carry(created, loaded);
    return created as S;
  }

  /** express-session's own: `req.session.reload()`. */
  load(sid: string, callback: (err: unknown) => void): void {
    expressSessionStore().prototype.load!.call(this, sid, callback);
  }

  /** express-session's own: `req.session.regenerate()` (destroys the old id, then a new empty session). */
  regenerate(req: object, callback: Callback): void {
    expressSessionStore().prototype.regenerate!.call(this, req, callback);
  }
}

/** express-session options with this library's defaults; spread your own over them if needed. */
export interface ExpressSessionDefaults {
  readonly store: DynamoSessionStore;
  readonly secret: string[];
  readonly name: string;
  readonly genid: () => string;
  readonly resave: false;
  readonly saveUninitialized: false;
  readonly unset: 'destroy';
  readonly cookie: { readonly path: '/'; readonly httpOnly: true; readonly secure: boolean; readonly sameSite: 'lax' | 'strict' };
}

/**
 * Options for `session(...)` (express-session) with the same defaults as the plain API: the
 * `__Host-sid` cookie, Secure, HttpOnly, SameSite=Lax, Path=/, no expiry on the cookie (the
 * store enforces the timeouts), 256-bit ids, no write for an unchanged or empty session, and the
 * secrets list (express-session signs with the first and verifies with all, as the plain API does).
 * Behind a load balancer that ends TLS, set `app.set('trust proxy', 1)` or express-session sends
 * no Secure cookie.
 */
export function expressSessionOptions(options: { readonly store: DynamoSessionStore; readonly secrets?: readonly string[] } & SessionCookieOptions): ExpressSessionDefaults {
  const secrets = secretsFrom(options.secrets);
  assertNoProblems([...secretProblems(secrets), ...cookieOptionProblems(options)]);
  const cookie = resolveCookie(options);
  return {
    store: options.store,
    secret: [...secrets],
    name: cookie.name,
    genid: generateSessionId,
    resave: false,
    saveUninitialized: false,
    unset: 'destroy',
    cookie: { path: '/', httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite },
  };
}

/** An express request with a session, as far as {@link regenerateKeepingData} needs it. */
export interface RequestWithSession {
  readonly session: { regenerate(callback: (err?: unknown) => void): unknown };
}

/**
 * `req.session.regenerate()` that keeps the session's data (express-session's own starts empty):
 * call it on sign-in. The old id is destroyed first and refused from then on.
 */
export function regenerateKeepingData(req: RequestWithSession, extra: SessionRecord = {}): Promise<void> {
  const { cookie: _cookie, ...data } = req.session as unknown as SessionRecord;
  return new Promise((resolve, reject) => {
    req.session.regenerate((err) => {
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      // express-session replaced req.session with a new, empty session under a new id
      Object.assign(req.session, data, extra);
      resolve();
    });
  });
}
