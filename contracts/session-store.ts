/**
 * The session store's contract: what the SessionStore construct (lib/), the session library
 * (runtime/sessions/) and the local cloud (local/) all read. Plain TypeScript, no CDK or SDK
 * imports, so every tier can import it.
 */

/** Environment variable holding the session table's name (set by `SessionStore.environment`). */
export const SESSION_TABLE_ENV = 'SESSION_TABLE_NAME';

/** Environment variable holding the user index's name, when the table has one. */
export const SESSION_USER_INDEX_ENV = 'SESSION_USER_INDEX_NAME';

/**
 * Environment variable with the cookie-signing secrets, comma-separated, newest first (the
 * first signs, all verify). Set it from a secret store at start, never in a template.
 */
export const SESSION_SECRETS_ENV = 'SESSION_SECRETS';

/** Attribute names of a session item. */
export const SESSION_ATTRIBUTES = {
  /** Partition key: SHA-256 of the session id (base64url), so a copy of the table yields no usable cookie. */
  key: 'id',
  /** The session's data, as JSON. */
  data: 'data',
  /** The signed-in user's id, when the application sets one (key of the user index). */
  userId: 'userId',
  /** When the session began, epoch milliseconds (absolute timeout). */
  createdAt: 'createdAt',
  /** Last recorded activity, epoch milliseconds (idle timeout; recorded at most once per touch interval). */
  lastSeenAt: 'lastSeenAt',
  /** Epoch seconds after which the session is dead: DynamoDB's TTL attribute (TTL deletes late; reads check it). */
  expiresAt: 'expiresAt',
  /** Incremented on every data write: optimistic concurrency. */
  version: 'version',
} as const;

/** The user index's name (partition key `userId`, sort key `createdAt`). */
export const SESSION_USER_INDEX_NAME = 'byUserId';

/** Attributes projected into the user index besides its keys (enough to list a user's sessions). */
export const SESSION_USER_INDEX_PROJECTION: readonly [typeof SESSION_ATTRIBUTES.lastSeenAt, typeof SESSION_ATTRIBUTES.expiresAt] = [SESSION_ATTRIBUTES.lastSeenAt, SESSION_ATTRIBUTES.expiresAt] as const;

/**
 * Exactly the DynamoDB actions the session library calls on the table (and Query on its user
 * index). No Scan, no CreateTable, no DescribeTable: a contract test records every command the
 * library sends and compares them with this list.
 */
export const SESSION_DYNAMODB_ACTIONS = [
  'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query',
] as const;

/** Of {@link SESSION_DYNAMODB_ACTIONS}, those that only read: load a session, list a user's sessions. */
export const SESSION_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'] as const;

/** Of {@link SESSION_DYNAMODB_ACTIONS}, those that write: save, touch and destroy sessions. */
export const SESSION_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;
