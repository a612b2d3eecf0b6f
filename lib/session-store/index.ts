/**
 * The session-store pattern: sessions in a shared table, so any server can serve any request.
 *
 * @module session-store
 */
export { SessionStore, SessionStoreEncryption } from './session-store';
export type { ISessionStore, SessionStoreAttributes, SessionStoreProps } from './session-store';
