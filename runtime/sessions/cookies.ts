/**
 * The session cookie: `__Host-` prefixed, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain and
 * no expiry (it ends with the browser; the server enforces the timeouts). `__Host-` makes the
 * browser refuse the cookie unless it is Secure, host-only and for `/`, so a sibling subdomain or
 * a plain-HTTP page cannot plant or overwrite it. For plain-HTTP local development only, an
 * explicit switch drops Secure and the prefix, and says so loudly.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { parseCookie, stringifySetCookie } from 'cookie';

/** How the session cookie is written. */
export interface SessionCookieOptions {
  /**
   * The cookie's name. With the default secure cookie it must start with `__Host-`.
   *
   * @default '__Host-sid' ('sid' with insecureHttpForLocalDevelopment)
   */
  readonly cookieName?: string;
  /**
   * SameSite attribute. `lax` keeps the session on top-level links from other sites (a user
   * following a link stays signed in) and withholds it from cross-site forms and fetches.
   *
   * @default 'lax'
   */
  readonly sameSite?: 'lax' | 'strict';
  /**
   * Plain HTTP on a developer's machine: no Secure attribute and no `__Host-` prefix (browsers
   * drop Secure cookies over http). A warning is printed when this is on. Never in production.
   *
   * @default false
   */
  readonly insecureHttpForLocalDevelopment?: boolean;
}

export interface ResolvedCookie {
  readonly name: string;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict';
}

/** The default cookie name. */
export const DEFAULT_COOKIE_NAME = '__Host-sid';
const INSECURE_COOKIE_NAME = 'sid';

let warned = false;

/** Problems of the cookie options (empty when fine). */
export function cookieOptionProblems(o: SessionCookieOptions): string[] {
  const problems: string[] = [];
  const insecure = o.insecureHttpForLocalDevelopment === true;
  if (o.cookieName !== undefined && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(o.cookieName)) {
    problems.push(`cookieName: must be a cookie token (letters, digits, and !#$%&'*+-.^_\`|~), received ${JSON.stringify(o.cookieName)}.`);
  }
  if (!insecure && o.cookieName !== undefined && !o.cookieName.startsWith('__Host-')) {
    problems.push(`cookieName: must start with "__Host-" so browsers keep it Secure and host-only, received ${JSON.stringify(o.cookieName)}. Rename it, or (local development only) set insecureHttpForLocalDevelopment.`);
  }
  if (insecure && o.cookieName?.startsWith('__')) {
    problems.push(`cookieName: browsers refuse "__Host-" and "__Secure-" cookies without Secure, and insecureHttpForLocalDevelopment drops Secure; received ${JSON.stringify(o.cookieName)}. Use a name without the prefix.`);
  }
  if (o.sameSite !== undefined && o.sameSite !== 'lax' && o.sameSite !== 'strict') {
    problems.push(`sameSite: must be 'lax' or 'strict', received ${JSON.stringify(o.sameSite)}. ('none' would send the session with cross-site requests.)`);
  }
  return problems;
}

/** Applies the defaults, warning (once per process) when the insecure switch is on. */
export function resolveCookie(o: SessionCookieOptions): ResolvedCookie {
  const insecure = o.insecureHttpForLocalDevelopment === true;
  if (insecure && !warned) {
    warned = true;
    console.warn('WARNING: session cookies are sent over plain HTTP without Secure or the __Host- prefix (insecureHttpForLocalDevelopment). Never use this outside local development.');
  }
  return { name: o.cookieName ?? (insecure ? INSECURE_COOKIE_NAME : DEFAULT_COOKIE_NAME), secure: !insecure, sameSite: o.sameSite ?? 'lax' };
}

/** The value of the named cookie in a request, if any. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  return parseCookie(header)[name];
}

/** Adds a Set-Cookie header (keeping any the handler already set); `value` undefined clears the cookie. */
export function writeCookie(res: ServerResponse, cookie: ResolvedCookie, value: string | undefined): void {
  const line = stringifySetCookie(cookie.name, value ?? '', {
    path: '/', httpOnly: true, secure: cookie.secure, sameSite: cookie.sameSite,
    ...(value === undefined ? { maxAge: 0, expires: new Date(0) } : {}),
  });
  const existing = res.getHeader('set-cookie');
  const others = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  res.setHeader('set-cookie', [...others.filter((c) => !c.startsWith(`${cookie.name}=`)), line]);
}
