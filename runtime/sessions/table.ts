/**
 * The session table, as both front ends (SessionManager and the express-session Store) use it:
 * consistent reads that refuse expired sessions, creates that never overwrite, data writes
 * conditional on a version (merging on a race), touches at most once per interval, and the
 * user index. Every DynamoDB call the library makes is here, and matches SESSION_DYNAMODB_ACTIONS.
 */
import {
  ConditionalCheckFailedException, DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { SESSION_ATTRIBUTES as A, SESSION_USER_INDEX_ENV } from '../../contracts/session-store';
import { SessionConflictError, SessionGoneError, SessionOptionsError } from './errors';
import { sessionKeyOf } from './ids';
import { mergeSessionData, type SessionRecord } from './merge';
import type { ResolvedStoreOptions } from './options';

/** A session as read from the table. */
export interface StoredSession {
  /** The table key (hash of the id). */
  readonly key: string;
  readonly data: SessionRecord;
  readonly userId?: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms of the last recorded activity. */
  readonly lastSeenAt: number;
  readonly version: number;
}

/** One of a user's sessions, as the user index lists it (no id: the table holds only its hash). */
export interface SessionSummary {
  /** The session's table key (SHA-256 of its id), to tell sessions apart or end one. */
  readonly key: string;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
  readonly expiresAt: Date;
}

/** Most attempts of a data write that keeps meeting a concurrent write (each one merges). */
const MAX_WRITE_ATTEMPTS = 10;

export class SessionTable {
  constructor(private readonly o: ResolvedStoreOptions) {}

  /** The session, or undefined when there is none or it has expired (whatever TTL has deleted). */
  async read(id: string): Promise<StoredSession | undefined> {
    // Consistent: the next request of a visitor may reach another server right after a write.
    const out = await this.o.client.send(new GetItemCommand({ TableName: this.o.tableName, Key: { [A.key]: { S: sessionKeyOf(id) } }, ConsistentRead: true }));
    const stored = out.Item ? this.parse(out.Item) : undefined;
    return stored && this.alive(stored) ? stored : undefined;
  }

  /**
   * Creates a session under a new id; never overwrites one (a colliding id fails). `createdAt`
   * carries a session's start over to its new id (a regeneration that is not a new sign-in), so
   * that the absolute timeout still counts from the start.
   */
  async create(id: string, data: SessionRecord, userId: string | undefined, createdAt?: number): Promise<StoredSession> {
    const now = this.o.clock();
    const start = createdAt ?? now;
    const stored: StoredSession = { key: sessionKeyOf(id), data, ...(userId ? { userId } : {}), createdAt: start, lastSeenAt: now, version: 1 };
    await this.o.client.send(new PutItemCommand({
      TableName: this.o.tableName,
      Item: {
        [A.key]: { S: stored.key },
        [A.data]: { S: JSON.stringify(data) },
        ...(userId ? { [A.userId]: { S: userId } } : {}),
        [A.createdAt]: { N: String(start) },
        [A.lastSeenAt]: { N: String(now) },
        [A.expiresAt]: { N: String(this.expiresAtSeconds(start, now)) },
        [A.version]: { N: '1' },
      },
      ConditionExpression: 'attribute_not_exists(#k)',
      ExpressionAttributeNames: { '#k': A.key },
    }));
    return stored;
  }

  /**
   * Writes `data` (and `userId`) over `loaded`, if the table still holds the version loaded;
   * when another request wrote first, merges by key (see mergeSessionData) and tries again.
   * Throws SessionConflictError on a conflicting key, SessionGoneError when the session was
   * destroyed or expired meanwhile (it is never recreated).
   */
  async write(loaded: StoredSession, data: SessionRecord, userId: string | undefined, oursWins: readonly string[] = []): Promise<StoredSession> {
    let base = loaded;
    let ours = data;
    let ourUser = userId;
    for (let attempt = 1; ; attempt++) {
      const now = this.o.clock();
      const next: StoredSession = { key: base.key, data: ours, ...(ourUser ? { userId: ourUser } : {}), createdAt: base.createdAt, lastSeenAt: now, version: base.version + 1 };
      try {
        await this.o.client.send(new UpdateItemCommand({
          TableName: this.o.tableName,
          Key: { [A.key]: { S: base.key } },
          UpdateExpression: `SET #d = :d, #v = :next, #l = :now, #e = :exp${ourUser ? ', #u = :u' : ''}${ourUser ? '' : ' REMOVE #u'}`,
          ConditionExpression: '#v = :v AND #l > :idleCutoff AND #c > :absCutoff',
          ExpressionAttributeNames: { '#d': A.data, '#v': A.version, '#l': A.lastSeenAt, '#e': A.expiresAt, '#u': A.userId, '#c': A.createdAt },
          ExpressionAttributeValues: {
            ':d': { S: JSON.stringify(ours) },
            ':v': { N: String(base.version) },
            ':next': { N: String(next.version) },
            ':now': { N: String(now) },
            ':exp': { N: String(this.expiresAtSeconds(base.createdAt, now)) },
            ':idleCutoff': { N: String(now - this.o.idleTimeoutMs) },
            ':absCutoff': { N: String(now - this.o.absoluteTimeoutMs) },
            ...(ourUser ? { ':u': { S: ourUser } } : {}),
          },
          // The item as it is now comes back with the failure: no extra read to merge.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }));
        return next;
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw e;
        const current = e.Item ? this.parse(e.Item) : undefined;
        if (!current || !this.alive(current)) throw new SessionGoneError();
        if (attempt >= MAX_WRITE_ATTEMPTS) throw new SessionConflictError([], `the session kept changing under this request (${attempt} concurrent writes merged); nothing was saved`);
        const merged = mergeSessionData({ ...base.data, [USER_KEY]: base.userId }, { ...ours, [USER_KEY]: ourUser }, { ...current.data, [USER_KEY]: current.userId }, oursWins);
        const { [USER_KEY]: mergedUser, ...mergedData } = merged;
        base = current;
        ours = mergedData;
        ourUser = typeof mergedUser === 'string' ? mergedUser : undefined;
      }
    }
  }

  /** True when `loaded` is due a touch: unchanged data, last activity recorded over an interval ago. */
  touchDue(loaded: StoredSession): boolean {
    return this.o.clock() - loaded.lastSeenAt >= this.o.touchIntervalMs;
  }

  /**
   * Records activity on an unchanged session: one UpdateItem, skipped when not {@link touchDue}.
   * It does not change the version (data writers are not disturbed), and never recreates a
   * destroyed session. Returns the session as touched, or undefined when it did not write.
   */
  async touch(loaded: StoredSession): Promise<StoredSession | undefined> {
    if (!this.touchDue(loaded)) return undefined;
    const now = this.o.clock();
    try {
      await this.o.client.send(new UpdateItemCommand({
        TableName: this.o.tableName,
        Key: { [A.key]: { S: loaded.key } },
        UpdateExpression: 'SET #l = :now, #e = :exp',
        ConditionExpression: '#l < :now AND #l > :idleCutoff AND #c > :absCutoff',
        ExpressionAttributeNames: { '#l': A.lastSeenAt, '#e': A.expiresAt, '#c': A.createdAt },
        ExpressionAttributeValues: {
          ':now': { N: String(now) },
          ':exp': { N: String(this.expiresAtSeconds(loaded.createdAt, now)) },
          ':idleCutoff': { N: String(now - this.o.idleTimeoutMs) },
          ':absCutoff': { N: String(now - this.o.absoluteTimeoutMs) },
        },
      }));
      return { ...loaded, lastSeenAt: now };
    } catch (e) {
      // Gone, expired, or touched later by another request: nothing to record.
      if (e instanceof ConditionalCheckFailedException) return undefined;
      throw e;
    }
  }

  /** Deletes a session by id (nothing happens when there is none). */
  async destroy(id: string): Promise<void> {
    await this.destroyKey(sessionKeyOf(id));
  }

  /** Deletes a session by table key. */
  async destroyKey(key: string): Promise<void> {
    await this.o.client.send(new DeleteItemCommand({ TableName: this.o.tableName, Key: { [A.key]: { S: key } } }));
  }

  /** The live sessions of a user, newest first, through the user index (never a Scan). */
  async listUserSessions(userId: string): Promise<SessionSummary[]> {
    const index = this.o.userIndexName;
    if (!index) throw new SessionOptionsError([`userIndexName: listing or ending a user's sessions needs the user index, and none was given. Pass \`userIndexName\` or set ${SESSION_USER_INDEX_ENV} (SessionStore makes the index unless \`userIndex: false\`).`]);
    const out: SessionSummary[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.o.client.send(new QueryCommand({
        TableName: this.o.tableName,
        IndexName: index,
        KeyConditionExpression: '#u = :u',
        ExpressionAttributeNames: { '#u': A.userId },
        ExpressionAttributeValues: { ':u': { S: userId } },
        ScanIndexForward: false,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }));
      for (const item of page.Items ?? []) {
        const createdAt = Number(item[A.createdAt]?.N);
        const lastSeenAt = Number(item[A.lastSeenAt]?.N);
        if (!this.alive({ createdAt, lastSeenAt })) continue;
        out.push({ key: item[A.key]!.S!, createdAt: new Date(createdAt), lastSeenAt: new Date(lastSeenAt), expiresAt: new Date(this.expiresAtMs(createdAt, lastSeenAt)) });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** Deletes every session of a user ("sign out everywhere"); returns how many there were. */
  async destroyUserSessions(userId: string): Promise<number> {
    const sessions = await this.listUserSessions(userId);
    await Promise.all(sessions.map((s) => this.destroyKey(s.key)));
    return sessions.length;
  }

  private alive(s: { createdAt: number; lastSeenAt: number }): boolean {
    return this.o.clock() < this.expiresAtMs(s.createdAt, s.lastSeenAt);
  }

  private expiresAtMs(createdAt: number, lastSeenAt: number): number {
    return Math.min(lastSeenAt + this.o.idleTimeoutMs, createdAt + this.o.absoluteTimeoutMs);
  }

  private expiresAtSeconds(createdAt: number, lastSeenAt: number): number {
    return Math.ceil(this.expiresAtMs(createdAt, lastSeenAt) / 1000);
  }

  private parse(item: Record<string, AttributeValue>): StoredSession | undefined {
    const data = JSON.parse(item[A.data]?.S ?? 'null') as unknown;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
    const userId = item[A.userId]?.S;
    return {
      key: item[A.key]!.S!,
      data: data as SessionRecord,
      ...(userId ? { userId } : {}),
      createdAt: Number(item[A.createdAt]?.N),
      lastSeenAt: Number(item[A.lastSeenAt]?.N),
      version: Number(item[A.version]?.N),
    };
  }
}

/** The user id's slot in a merge (cannot collide with a data key: data keys come from JSON objects, and this one has a NUL). */
const USER_KEY = '\u0000userId';
