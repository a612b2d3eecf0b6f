/**
 * The framework-free session API, for a plain Node `(req, res)` handler:
 *
 *   const sessions = new SessionManager({ secrets: [process.env.SESSION_SECRET!] });
 *   const session = await sessions.load(req);       // from the signed cookie, or a new one
 *   session.data.visits = (Number(session.data.visits) || 0) + 1;
 *   await sessions.save(session, res);              // before the response's headers go out
 *
 * A save writes only what changed (nothing for an unchanged session, except a touch at most once
 * per interval); a new session is created and its cookie set only once it holds data.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { cookieOptionProblems, readCookie, resolveCookie, writeCookie, type ResolvedCookie, type SessionCookieOptions } from './cookies';
import { generateSessionId, signSessionId, verifySignedSessionId } from './ids';
import type { SessionRecord } from './merge';
import { assertNoProblems, resolveStoreOptions, secretProblems, secretsFrom, storeOptionProblems, type SessionStoreOptions } from './options';
import { SessionTable, type SessionSummary, type StoredSession } from './table';

/** Options of a {@link SessionManager}. */
export interface SessionManagerOptions extends SessionStoreOptions, SessionCookieOptions {
  /**
   * Cookie-signing secrets, newest first: the first signs, every one verifies, so a new secret
   * is rolled in by putting it first and the old one is dropped once the longest session has ended.
   * At least 32 characters each.
   *
   * @default - the `SESSION_SECRETS` environment variable, comma-separated
   */
  readonly secrets?: readonly string[];
}

interface SessionState {
  /** The id the visitor's cookie carries (undefined until the session is first saved). */
  id?: string;
  /** As last read or written; undefined for a session not yet in the table. */
  stored?: StoredSession;
  /** JSON of data and user id as stored, to tell whether anything changed. */
  savedJson?: string;
  destroyed: boolean;
}

const states = new WeakMap<Session, SessionState>();

/** One visitor's session, as loaded for one request. Change `data` and `userId`, then save. */
export class Session<T extends SessionRecord = SessionRecord> {
  /** The session's data: any JSON-serializable values, by key. */
  data: T;
  /** The signed-in user, when set: indexed for listing a user's sessions and signing out everywhere. */
  userId: string | undefined;

  /** @internal */
  constructor(data: T, userId: string | undefined, state: SessionState) {
    this.data = data;
    this.userId = userId;
    states.set(this, state);
  }

  /** The session id, once the session exists in the table (the cookie carries it signed). */
  get id(): string | undefined {
    return states.get(this)!.id;
  }

  /** True until the session is first saved (no valid cookie came with the request). */
  get isNew(): boolean {
    return states.get(this)!.stored === undefined;
  }

  /** When the session began (undefined for a new one). */
  get createdAt(): Date | undefined {
    const stored = states.get(this)!.stored;
    return stored ? new Date(stored.createdAt) : undefined;
  }
}

const snapshot = (s: Session) => JSON.stringify([s.data, s.userId ?? null]);

/** Loads, saves, regenerates and destroys sessions kept in the session table, with their cookie. */
export class SessionManager<T extends SessionRecord = SessionRecord> {
  /** The cookie's name (`__Host-sid` by default). */
  public readonly cookieName: string;
  private readonly table: SessionTable;
  private readonly secrets: readonly string[];
  private readonly cookie: ResolvedCookie;

  constructor(options: SessionManagerOptions = {}) {
    const secrets = secretsFrom(options.secrets);
    assertNoProblems([...storeOptionProblems(options), ...secretProblems(secrets), ...cookieOptionProblems(options)]);
    this.table = new SessionTable(resolveStoreOptions(options));
    this.secrets = secrets;
    this.cookie = resolveCookie(options);
    this.cookieName = this.cookie.name;
  }

  /**
   * The request's session: the one its cookie names when the signature verifies and the session
   * is alive, else a new empty one. A forged, tampered or malformed cookie costs no table read.
   */
  async load(req: IncomingMessage): Promise<Session<T>> {
    const id = verifySignedSessionId(readCookie(req, this.cookie.name), this.secrets);
    const stored = id === undefined ? undefined : await this.table.read(id);
    if (!stored) return this.fresh();
    // A copy: the loaded data stays as it was, the base of a merge with a concurrent write.
    const session = new Session<T>(structuredClone(stored.data) as T, stored.userId, { id: id!, stored, destroyed: false });
    states.get(session)!.savedJson = snapshot(session);
    return session;
  }

  /**
   * Saves what changed, before the response's headers are sent: a new session with data is
   * created and its cookie set; a changed one is written (merged with a concurrent write of
   * other keys, or SessionConflictError on the same key); an unchanged one is touched at most
   * once per touch interval. A new session without data writes nothing and sets no cookie.
   */
  async save(session: Session<T>, res: ServerResponse): Promise<void> {
    const state = this.stateOf(session);
    if (state.destroyed) throw new Error('this session was destroyed; load the request again to start a new one');
    if (!state.stored) {
      if (Object.keys(session.data).length === 0 && session.userId === undefined) return;
      await this.create(session, state, res);
      return;
    }
    if (snapshot(session) === state.savedJson) {
      state.stored = (await this.table.touch(state.stored)) ?? state.stored;
      return;
    }
    state.stored = await this.table.write(state.stored, session.data, session.userId);
    session.data = structuredClone(state.stored.data) as T;
    session.userId = state.stored.userId;
    state.savedJson = snapshot(session);
  }

  /**
   * Gives the session a new id, keeping its data (call it on sign-in, with the user's id, and on
   * any change of privilege): the old id is deleted first, so it is refused from then on even if
   * it was stolen, then the session is stored under the new id and the cookie replaced.
   */
  async regenerate(session: Session<T>, res: ServerResponse, options: { readonly userId?: string } = {}): Promise<void> {
    const state = this.stateOf(session);
    if (state.id !== undefined && state.stored) await this.table.destroy(state.id);
    if (options.userId !== undefined) session.userId = options.userId;
    state.stored = undefined;
    state.id = undefined;
    await this.create(session, state, res);
  }

  /** Ends the session: deletes it from the table and clears the cookie (sign-out). */
  async destroy(session: Session<T>, res: ServerResponse): Promise<void> {
    const state = this.stateOf(session);
    if (state.id !== undefined) await this.table.destroy(state.id);
    state.destroyed = true;
    state.stored = undefined;
    state.id = undefined;
    writeCookie(res, this.cookie, undefined);
  }

  /** The live sessions of a user, newest first (needs the user index). */
  listUserSessions(userId: string): Promise<SessionSummary[]> {
    return this.table.listUserSessions(userId);
  }

  /** Ends every session of a user, on every device ("sign out everywhere"); returns how many. */
  signOutEverywhere(userId: string): Promise<number> {
    return this.table.destroyUserSessions(userId);
  }

  private fresh(): Session<T> {
    const session = new Session<T>({} as T, undefined, { destroyed: false });
    return session;
  }

  private async create(session: Session<T>, state: SessionState, res: ServerResponse): Promise<void> {
    const id = generateSessionId();
    state.stored = await this.table.create(id, session.data, session.userId);
    state.id = id;
    state.savedJson = snapshot(session);
    writeCookie(res, this.cookie, signSessionId(id, this.secrets));
  }

  private stateOf(session: Session<T>): SessionState {
    const state = states.get(session);
    if (!state) throw new Error('not a session loaded by a SessionManager');
    return state;
  }
}
