/** The three-way merge of two saves of one session, without an emulator. */
import { SessionConflictError } from '../../../runtime/index';
import { mergeSessionData } from '../../../runtime/sessions/merge';

describe('mergeSessionData', () => {
  const base = { cart: ['a'], theme: 'light', visits: 1 };

  test('keeps each side\'s change to a key only it changed', () => {
    expect(mergeSessionData(base, { ...base, theme: 'dark' }, { ...base, visits: 2 })).toEqual({ cart: ['a'], theme: 'dark', visits: 2 });
  });

  test('keeps a key both changed to the same value, and a key both removed stays removed', () => {
    expect(mergeSessionData(base, { cart: ['a', 'b'], visits: 1 }, { cart: ['a', 'b'], visits: 1 })).toEqual({ cart: ['a', 'b'], visits: 1 });
  });

  test('fails with SessionConflictError naming every key both changed to different values', () => {
    const error = (() => {
      try {
        mergeSessionData(base, { ...base, cart: ['b'], theme: 'dark' }, { ...base, cart: ['c'], theme: 'blue' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SessionConflictError);
    expect((error as Error).message).toMatch(/cart.*theme/);
  });

  test('lets our value win for the keys each request rewrites (express-session\'s cookie)', () => {
    expect(mergeSessionData({ cookie: 1 }, { cookie: 2 }, { cookie: 3 }, ['cookie'])).toEqual({ cookie: 2 });
  });
});
