/** The session cookie, without an emulator: its attributes, its checks, and how it is read and cleared. */
import { IncomingMessage, ServerResponse } from 'http';
import { Socket } from 'net';
import { cookieOptionProblems, readCookie, resolveCookie, writeCookie } from '../../../runtime/sessions/cookies';

function exchange(cookieHeader?: string) {
  const req = new IncomingMessage(new Socket());
  if (cookieHeader !== undefined) req.headers.cookie = cookieHeader;
  return { req, res: new ServerResponse(req) };
}

describe('the session cookie', () => {
  test('by default is __Host-sid: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, no expiry', () => {
    const { res } = exchange();
    writeCookie(res, resolveCookie({}), 'abc.sig');
    expect(res.getHeader('set-cookie')).toEqual(['__Host-sid=abc.sig; Path=/; HttpOnly; Secure; SameSite=Lax']);
  });

  test('is cleared with an expiry in the past, and replaces an earlier Set-Cookie of the same name but no other', () => {
    const { res } = exchange();
    res.setHeader('set-cookie', ['theme=dark; Path=/', '__Host-sid=old; Path=/']);
    writeCookie(res, resolveCookie({}), undefined);
    const lines = res.getHeader('set-cookie') as string[];
    expect(lines[0]).toBe('theme=dark; Path=/');
    expect(lines[1]).toMatch(/^__Host-sid=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/);
    expect(lines).toHaveLength(2);
  });

  test('is read by name among others', () => {
    expect(readCookie(exchange('theme=dark; __Host-sid=abc.sig').req, '__Host-sid')).toBe('abc.sig');
    expect(readCookie(exchange().req, '__Host-sid')).toBeUndefined();
  });

  test('drops Secure and the prefix only with the local-development switch, and warns', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const cookie = resolveCookie({ insecureHttpForLocalDevelopment: true });
    expect(cookie).toEqual({ name: 'sid', secure: false, sameSite: 'lax' });
    warn.mockRestore();
  });

  test.each([
    ['a name without the __Host- prefix', { cookieName: 'sid' }, /cookieName: must start with "__Host-"/],
    ['a name that is not a cookie token', { cookieName: '__Host-s id' }, /cookieName: must be a cookie token .*received "__Host-s id"/],
    ['a __Host- name with the insecure switch', { cookieName: '__Host-sid', insecureHttpForLocalDevelopment: true }, /browsers refuse "__Host-" and "__Secure-" cookies without Secure/],
    ['SameSite none', { sameSite: 'none' as never }, /sameSite: must be 'lax' or 'strict', received "none"/],
  ])('fails on %s, naming the option', (_why, options, message) => {
    expect(cookieOptionProblems(options).join(' ')).toMatch(message);
  });
});
