/**
 * The session library: sessions in the shared SessionStore table, so any server can serve any
 * request. SessionManager for a plain Node handler; DynamoSessionStore for express-session.
 */
export { SessionManager, Session } from './manager';
export type { SessionManagerOptions } from './manager';
export { DynamoSessionStore, expressSessionOptions, regenerateKeepingData } from './express-store';
export type { DynamoSessionStoreOptions, ExpressSessionDefaults, RequestWithSession } from './express-store';
export type { SessionStoreOptions } from './options';
export { currentAndPreviousSecrets } from './secrets';
export type { SecretVersionStage } from './secrets';
export { DEFAULT_IDLE_TIMEOUT_SECONDS, DEFAULT_ABSOLUTE_TIMEOUT_SECONDS, DEFAULT_TOUCH_INTERVAL_SECONDS, DEFAULT_RELOAD_SECRETS_EVERY_SECONDS, MIN_SECRET_LENGTH } from './options';
export type { SessionCookieOptions } from './cookies';
export { DEFAULT_COOKIE_NAME } from './cookies';
export type { SessionSummary } from './table';
export type { SessionRecord } from './merge';
export { generateSessionId, signSessionId, verifySignedSessionId, sessionKeyOf, SESSION_ID_BYTES } from './ids';
export { SessionOptionsError, SessionConflictError, SessionGoneError } from './errors';
export {
  SESSION_TABLE_ENV, SESSION_USER_INDEX_ENV, SESSION_SECRETS_ENV, SESSION_ATTRIBUTES, SESSION_USER_INDEX_NAME, SESSION_DYNAMODB_ACTIONS,
} from '../../contracts/session-store';
