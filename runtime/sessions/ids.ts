/**
 * Session ids and signed cookie values. An id is 256 bits from the CSPRNG (OWASP asks for at
 * least 128), base64url. The cookie carries `<id>.<HMAC-SHA256(id)>`, signed with the first
 * secret and verified against each, compared in constant time, so secrets rotate without
 * signing anyone out. The table stores only a hash of the id, so a copy of the table (a backup,
 * an export, a read-only role) yields no cookie that works.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'crypto';

/** Bytes of entropy in a session id. */
export const SESSION_ID_BYTES = 32;

/** A well-formed id: 43 base64url characters (32 bytes, unpadded). */
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** A well-formed signature: 43 base64url characters (SHA-256, unpadded). */
const MAC_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new session id: 256 random bits, base64url. */
export function generateSessionId(): string {
  return randomBytes(SESSION_ID_BYTES).toString('base64url');
}

/** True for a string shaped like an id this library makes (checked before any signature or read). */
export function isWellFormedSessionId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

function mac(id: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(id).digest();
}

/** `<id>.<signature>` with the first secret. */
export function signSessionId(id: string, secrets: readonly string[]): string {
  return `${id}.${mac(id, secrets[0]!).toString('base64url')}`;
}

/** True for a value shaped like a signed id (`<id>.<signature>`), whatever signed it: checked before any HMAC. */
export function isWellFormedSignedValue(value: unknown): value is string {
  return typeof value === 'string' && value.length === 87 && value[43] === '.' && ID_PATTERN.test(value.slice(0, 43)) && MAC_PATTERN.test(value.slice(44));
}

/**
 * The id in a signed cookie value when some secret's signature matches, else undefined.
 * Malformed values are refused before any HMAC is computed.
 */
export function verifySignedSessionId(value: unknown, secrets: readonly string[]): string | undefined {
  if (!isWellFormedSignedValue(value)) return undefined;
  const id = value.slice(0, 43);
  const signature = value.slice(44);
  // Compare the text, not decoded bytes: the last base64url character carries 2 unused bits, so
  // four spellings decode to the same bytes and only the canonical one may pass.
  const given = Buffer.from(signature);
  // Check every secret, not until the first match: the time taken does not tell which one signed.
  let ok = false;
  for (const secret of secrets) {
    if (timingSafeEqual(given, Buffer.from(mac(id, secret).toString('base64url')))) ok = true;
  }
  return ok ? id : undefined;
}

/** The table key of a session id: SHA-256, base64url. */
export function sessionKeyOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
