/**
 * The framework-free session API, for a plain Node `(req, res)` handler:
 *
 *   const sessions = new SessionManager({ secrets: [process.env.SESSION_SECRET!] });
 *   const session = await sessions.load(req);       // from the signed cookie, or a new one
 *   session.data.visits = (Number(session.data.visits) || 0) + 1;
 *   await sessions.save(session, res);              // before the response's headers go out
 *
 * A save writes only what changed (nothing for an unchanged session, except a touch at most once
 * per interval); a new session is created and its cookie set only once it holds data. A cookie
 * naming a session that no longer exists is cleared, and the server remembers that id as dead (it
 * can never come back), so a replayed cookie costs one read per server, not one per request
 * (requests that carry one cookie at once share one read).
 * With `reloadSecrets`, the secrets are read again periodically and when a cookie verifies with
 * none of them, so a rotation (a new secret on new servers) signs no one out.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { cookieOptionProblems, readCookie, resolveCookie, writeCookie, type ResolvedCookie, type SessionCookieOptions } from './cookies';
import { generateSessionId, isWellFormedSignedValue, signSessionId, verifySignedSessionId } from './ids';
import type { SessionRecord } from './merge';
import {
  DEFAULT_RELOAD_SECRETS_EVERY_SECONDS, assertNoProblems, reloadProblems, resolveStoreOptions, secretProblems, secretsFrom, storeOptionProblems,
  withEnvironment, type SessionStoreOptions,
} from './options';
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
  /**
   * Reads the secrets again, newest first: the current and the previous version of a rotated
   * secret (`currentAndPreviousSecrets` reads Secrets Manager's AWSCURRENT and AWSPREVIOUS). Called
   * every `reloadSecretsEverySeconds` (in the background; requests go on with the secrets held),
   * and at once when a well-formed cookie verifies with none of the secrets held (at most once
   * every 5 seconds: forged cookies cannot make a server read its secret store more often), so a
   * server started before a rotation accepts a cookie signed by one started after it.
   *
   * @default - the secrets never change while the process runs
   */
  readonly reloadSecrets?: () => Promise<readonly string[]>;
  /**
   * How often `reloadSecrets` is called, in seconds.
   *
   * @default 300 (5 minutes)
   */
  readonly reloadSecretsEverySeconds?: number;
}

/** A cookie no secret verifies may trigger a reload of the secrets at most this often. */
const RELOAD_ON_UNKNOWN_SIGNATURE_GAP_MS = 5_000;

/** Dead session ids remembered per manager (a Map in insertion order: the oldest go first). */
const DEAD_IDS_REMEMBERED = 10_000;

interface SessionState {
  /** The id the visitor's cookie carries (undefined until the session is first saved). */
  id?: string;
  /** As last read or written; undefined for a session not yet in the table. */
  stored?: StoredSession;
  /** JSON of data and user id as stored, to tell whether anything changed. */
  savedJson?: string;
  destroyed: boolean;
  /** The request's cookie named a session that no longer exists: the response clears it (unless a new session replaces it). */
  deadCookie?: boolean;
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
  private secrets: readonly string[];
  private readonly cookie: ResolvedCookie;
  private readonly clock: () => number;
  private readonly reloadSecrets?: () => Promise<readonly string[]>;
  private readonly reloadEveryMs: number;
  /** When the secrets held were last read. */
  private secretsReadAt: number;
  private lastReloadForUnknownSignature?: number;
  private reloading?: Promise<void>;
  /** Ids whose sessions were found dead: they never come back, so they are not read again. */
  private readonly deadIds = new Map<string, true>();
  /** Reads in flight, by id: requests with one cookie at once share one read. */
  private readonly reads = new Map<string, Promise<StoredSession | undefined>>();

  /**
   * A manager for the session store whose `environment` the program was given (the table and
   * user index of a SessionStore): the same as `new SessionManager(options)` with those names.
   *
   * @example
   * const sessions = SessionManager.fromEnvironment({ secrets: [currentSecret, previousSecret] });
   */
  static fromEnvironment<T extends SessionRecord = SessionRecord>(options: SessionManagerOptions = {}, env: NodeJS.ProcessEnv = process.env): SessionManager<T> {
    return new SessionManager<T>(withEnvironment(options, env));
  }

  constructor(options: SessionManagerOptions = {}) {
    const secrets = secretsFrom(options.secrets);
    const reloadSecretsEverySeconds = options.reloadSecretsEverySeconds ?? DEFAULT_RELOAD_SECRETS_EVERY_SECONDS;
    assertNoProblems([
      ...storeOptionProblems(options), ...secretProblems(secrets), ...cookieOptionProblems(options),
      ...reloadProblems({ reloadSecrets: options.reloadSecrets, reloadSecretsEverySeconds }),
    ]);
    const store = resolveStoreOptions(options);
    this.table = new SessionTable(store);
    this.clock = store.clock;
    this.secrets = secrets;
    this.cookie = resolveCookie(options);
    this.cookieName = this.cookie.name;
    this.reloadSecrets = options.reloadSecrets;
    this.reloadEveryMs = reloadSecretsEverySeconds * 1000;
    this.secretsReadAt = this.clock();
  }

  /**
   * The request's session: the one its cookie names when the signature verifies and the session
   * is alive, else a new empty one. A forged, tampered or malformed cookie costs no table read;
   * nor does a cookie whose session this server already found dead.
   */
  async load(req: IncomingMessage): Promise<Session<T>> {
    if (this.reloadSecrets && this.clock() - this.secretsReadAt >= this.reloadEveryMs) void this.reloadSecretsNow();
    const value = readCookie(req, this.cookie.name);
    let id = verifySignedSessionId(value, this.secrets);
    if (id === undefined && this.reloadSecrets && isWellFormedSignedValue(value)) {
      // Signed with a secret this server does not hold yet (a rotation), or forged: read the
      // secrets again, at most once per gap, and check once more.
      const now = this.clock();
      if (this.lastReloadForUnknownSignature === undefined || now - this.lastReloadForUnknownSignature >= RELOAD_ON_UNKNOWN_SIGNATURE_GAP_MS) {
        this.lastReloadForUnknownSignature = now;
        await this.reloadSecretsNow();
        id = verifySignedSessionId(value, this.secrets);
      }
    }
    if (id === undefined) return this.fresh();
    const stored = this.deadIds.has(id) ? undefined : await this.readOnce(id);
    if (!stored) {
      this.rememberDead(id);
      const session = this.fresh();
      states.get(session)!.deadCookie = true;
      return session;
    }
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
      if (Object.keys(session.data).length === 0 && session.userId === undefined) {
        // The cookie named a dead session: clear it, so the browser stops sending it.
        if (state.deadCookie) writeCookie(res, this.cookie, undefined);
        return;
      }
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
   * A new sign-in (a user id other than the one stored) starts the session anew: its absolute
   * timeout counts from now. Any other regeneration keeps the session's start, so that changing
   * privilege cannot keep a session alive past its absolute timeout.
   */
  async regenerate(session: Session<T>, res: ServerResponse, options: { readonly userId?: string } = {}): Promise<void> {
    const state = this.stateOf(session);
    const before = state.stored;
    const userId = options.userId ?? session.userId;
    const signIn = userId !== undefined && userId !== before?.userId;
    if (state.id !== undefined && before) {
      await this.table.destroy(state.id);
      this.rememberDead(state.id);
    }
    if (options.userId !== undefined) session.userId = options.userId;
    state.stored = undefined;
    state.id = undefined;
    await this.create(session, state, res, before && !signIn ? before.createdAt : undefined);
  }

  /** Ends the session: deletes it from the table and clears the cookie (sign-out). */
  async destroy(session: Session<T>, res: ServerResponse): Promise<void> {
    const state = this.stateOf(session);
    if (state.id !== undefined) {
      await this.table.destroy(state.id);
      this.rememberDead(state.id);
    }
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

  private async create(session: Session<T>, state: SessionState, res: ServerResponse, createdAt?: number): Promise<void> {
    const id = generateSessionId();
    state.stored = await this.table.create(id, session.data, session.userId, createdAt);
    state.id = id;
    state.savedJson = snapshot(session);
    writeCookie(res, this.cookie, signSessionId(id, this.secrets));
  }

  /**
   * The stored session of `id`, with one read for all the requests that ask at once: a replayed
   * cookie sent many times in parallel costs one read, as it does sent in turn. Each caller gets
   * its own copy of the record.
   */
  private async readOnce(id: string): Promise<StoredSession | undefined> {
    const inFlight = this.reads.get(id);
    if (inFlight) {
      const stored = await inFlight;
      return stored && structuredClone(stored);
    }
    const read = this.table.read(id).finally(() => this.reads.delete(id));
    this.reads.set(id, read);
    return read;
  }

  private rememberDead(id: string): void {
    if (this.deadIds.size >= DEAD_IDS_REMEMBERED) this.deadIds.delete(this.deadIds.keys().next().value!);
    this.deadIds.set(id, true);
  }

  /** Reads the secrets again (one read at a time); a failed or unusable read keeps those held, and says so. */
  private reloadSecretsNow(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const next = await this.reloadSecrets!();
        const problems = secretProblems(next ?? []);
        if (problems.length > 0) console.warn(`SessionManager: reloadSecrets gave unusable secrets; keeping those held. ${problems.join(' ')}`);
        else this.secrets = [...next];
      } catch (error) {
        console.warn(`SessionManager: reloadSecrets failed; keeping the secrets held (${(error as Error)?.message ?? String(error)})`);
      } finally {
        this.secretsReadAt = this.clock();
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  private stateOf(session: Session<T>): SessionState {
    const state = states.get(session);
    if (!state) throw new Error('not a session loaded by a SessionManager');
    return state;
  }
}
