/**
 * Options shared by the plain API (SessionManager) and the express-session Store, their
 * defaults (OWASP Session Management Cheat Sheet), and their validation: every problem at once,
 * each naming the option, the value received and the fix.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESSION_SECRETS_ENV, SESSION_TABLE_ENV, SESSION_USER_INDEX_ENV } from '../../contracts/session-store';
import { SessionOptionsError } from './errors';

/** Sessions die after this long without a request: OWASP's 15 to 30 minutes for low-risk applications. */
export const DEFAULT_IDLE_TIMEOUT_SECONDS: number = 30 * 60;
/** Sessions die this long after they began, active or not: OWASP's 4 to 8 hours (a working day). */
export const DEFAULT_ABSOLUTE_TIMEOUT_SECONDS: number = 8 * 60 * 60;
/**
 * An unchanged session records activity at most this often (one write), instead of on every
 * request. The price: the idle timeout may end a session up to this much early.
 */
export const DEFAULT_TOUCH_INTERVAL_SECONDS: number = 5 * 60;
/** Shortest secret accepted: 32 characters, so a secret carries at least the strength of the MAC's key. */
export const MIN_SECRET_LENGTH = 32;

/** Where sessions are kept and how long they live. */
export interface SessionStoreOptions {
  /**
   * The session table (made by the SessionStore construct, or the same key schema).
   *
   * @default - the `SESSION_TABLE_NAME` environment variable
   */
  readonly tableName?: string;
  /**
   * The user index, for listing a user's sessions and signing a user out everywhere.
   *
   * @default - the `SESSION_USER_INDEX_NAME` environment variable; without it those two calls throw
   */
  readonly userIndexName?: string;
  /**
   * The DynamoDB client.
   *
   * @default - a new client with the SDK's defaults (region, credentials and `AWS_ENDPOINT_URL` from the environment)
   */
  readonly client?: DynamoDBClient;
  /**
   * Seconds without a request after which a session is dead (checked on every read, whatever TTL has deleted).
   *
   * @default 1800 (30 minutes)
   */
  readonly idleTimeoutSeconds?: number;
  /**
   * Seconds after its start after which a session is dead, however active.
   *
   * @default 28800 (8 hours)
   */
  readonly absoluteTimeoutSeconds?: number;
  /**
   * An unchanged session records its activity (one UpdateItem) at most this often. Must be
   * shorter than the idle timeout; a session may idle out this much early.
   *
   * @default 300 (5 minutes)
   */
  readonly touchIntervalSeconds?: number;
  /**
   * The current time in epoch milliseconds (tests pass a controllable clock).
   *
   * @default Date.now
   */
  readonly clock?: () => number;
}

/** The options with every default applied. */
export interface ResolvedStoreOptions {
  readonly tableName: string;
  readonly userIndexName?: string;
  readonly client: DynamoDBClient;
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly touchIntervalMs: number;
  readonly clock: () => number;
}

const positiveInt = (v: number | undefined) => v === undefined || (Number.isInteger(v) && v > 0);

/** Problems of the store options, as sentences (empty when all is well). */
export function storeOptionProblems(o: SessionStoreOptions, env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const table = o.tableName ?? env[SESSION_TABLE_ENV];
  if (!table) problems.push(`tableName: no table given and ${SESSION_TABLE_ENV} is not set. Pass \`tableName\` or set ${SESSION_TABLE_ENV} (SessionStore.environment sets it).`);
  for (const key of ['idleTimeoutSeconds', 'absoluteTimeoutSeconds', 'touchIntervalSeconds'] as const) {
    if (!positiveInt(o[key])) problems.push(`${key}: must be a positive whole number of seconds, received ${String(o[key])}.`);
  }
  const idle = o.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS;
  const absolute = o.absoluteTimeoutSeconds ?? DEFAULT_ABSOLUTE_TIMEOUT_SECONDS;
  const touch = o.touchIntervalSeconds ?? DEFAULT_TOUCH_INTERVAL_SECONDS;
  if (positiveInt(o.touchIntervalSeconds) && positiveInt(o.idleTimeoutSeconds) && touch >= idle) {
    problems.push(`touchIntervalSeconds: must be shorter than idleTimeoutSeconds (${idle}), received ${touch}; otherwise an active session idles out. Use at most a tenth of the idle timeout.`);
  }
  if (positiveInt(o.absoluteTimeoutSeconds) && positiveInt(o.idleTimeoutSeconds) && absolute < idle) {
    problems.push(`absoluteTimeoutSeconds: must be at least idleTimeoutSeconds (${idle}), received ${absolute}.`);
  }
  return problems;
}

/**
 * `options` with the table and index that a SessionStore's `environment` handed the program
 * (SESSION_TABLE_NAME, SESSION_USER_INDEX_NAME), for the `fromEnvironment()` of both session APIs.
 * A missing table is reported by the options' own check, naming the variable.
 */
export function withEnvironment<O extends SessionStoreOptions>(options: O, env: NodeJS.ProcessEnv): O {
  const tableName = env[SESSION_TABLE_ENV];
  const userIndexName = env[SESSION_USER_INDEX_ENV];
  return { ...options, ...(tableName ? { tableName } : {}), ...(userIndexName ? { userIndexName } : {}) };
}

/** Applies the defaults; call after checking {@link storeOptionProblems}. */
export function resolveStoreOptions(o: SessionStoreOptions, env: NodeJS.ProcessEnv = process.env): ResolvedStoreOptions {
  const userIndexName = o.userIndexName ?? env[SESSION_USER_INDEX_ENV];
  return {
    tableName: (o.tableName ?? env[SESSION_TABLE_ENV])!,
    ...(userIndexName ? { userIndexName } : {}),
    client: o.client ?? new DynamoDBClient({}),
    idleTimeoutMs: (o.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS) * 1000,
    absoluteTimeoutMs: (o.absoluteTimeoutSeconds ?? DEFAULT_ABSOLUTE_TIMEOUT_SECONDS) * 1000,
    touchIntervalMs: (o.touchIntervalSeconds ?? DEFAULT_TOUCH_INTERVAL_SECONDS) * 1000,
    clock: o.clock ?? Date.now,
  };
}

/** The signing secrets: as given, or from `SESSION_SECRETS` (comma-separated, newest first). */
export function secretsFrom(secrets: readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env): readonly string[] {
  if (secrets !== undefined) return secrets;
  return (env[SESSION_SECRETS_ENV] ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** How often, by default, a manager with `reloadSecrets` reads its secrets again: 5 minutes. */
export const DEFAULT_RELOAD_SECRETS_EVERY_SECONDS = 300;

/** Problems of the secret-reloading options. */
export function reloadProblems(o: { readonly reloadSecrets?: unknown; readonly reloadSecretsEverySeconds?: number }): string[] {
  const problems: string[] = [];
  if (o.reloadSecrets !== undefined && typeof o.reloadSecrets !== 'function') {
    problems.push(`reloadSecrets: must be a function that resolves to the secrets (newest first), received ${typeof o.reloadSecrets}.`);
  }
  if (!positiveInt(o.reloadSecretsEverySeconds)) {
    problems.push(`reloadSecretsEverySeconds: must be a positive whole number of seconds, received ${String(o.reloadSecretsEverySeconds)}.`);
  }
  return problems;
}

/** Problems of a secrets list (never echoing a secret). */
export function secretProblems(secrets: readonly string[]): string[] {
  if (secrets.length === 0) {
    return [`secrets: none given. Pass \`secrets\` (newest first: the first signs, all verify) or set ${SESSION_SECRETS_ENV}, from a secret store.`];
  }
  return secrets.flatMap((s, i) => (typeof s === 'string' && s.length >= MIN_SECRET_LENGTH
    ? []
    : [`secrets[${i}]: must be a string of at least ${MIN_SECRET_LENGTH} characters, received ${typeof s === 'string' ? `one of ${s.length} characters` : `a ${typeof s}`}. Generate one with \`openssl rand -base64 48\`.`]));
}

/** Throws one SessionOptionsError listing every problem; does nothing when there is none. */
export function assertNoProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new SessionOptionsError(problems);
}
