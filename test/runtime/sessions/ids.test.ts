/**
 * Session ids and signed cookie values (runtime/sessions/ids.ts): a signature is checked against
 * every secret with a constant-time comparison, so neither a mismatch's position nor which secret
 * signed shows in the time taken. Behaviour through cookies and the table: manager.test.ts.
 */
import { generateSessionId, signSessionId, verifySignedSessionId } from '../../../runtime/sessions/ids';

// The module object itself (an `import * as` gets a copy), so that a spy sees the calls ids.ts makes.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const crypto = require('crypto') as typeof import('crypto');

const SECRETS = ['a-current-secret-of-thirty-two-chars!!', 'a-previous-secret-of-thirty-two-chars!', 'an-older-secret-of-thirty-two-chars!!!'];

describe('verifySignedSessionId', () => {
  afterEach(() => jest.restoreAllMocks());

  test('compares the signature in constant time against every secret, whichever signed it and when none did', () => {
    // GIVEN a count of crypto.timingSafeEqual's calls
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    const id = generateSessionId();
    const signedBy = (secret: string) => signSessionId(id, [secret]);
    const cases = [signedBy(SECRETS[0]!), signedBy(SECRETS[2]!), signedBy('a-secret-the-server-never-held-at-all!!')];

    // WHEN each is verified against the three secrets
    const results = cases.map((value) => {
      compare.mockClear();
      return { id: verifySignedSessionId(value, SECRETS), comparisons: compare.mock.calls.length };
    });

    // THEN the two genuine ones verify and the forged one does not, each after one constant-time
    // comparison per secret: no early exit tells which secret signed
    expect(results).toEqual([{ id, comparisons: 3 }, { id, comparisons: 3 }, { id: undefined, comparisons: 3 }]);
  });

  test('refuses a malformed value before any comparison', () => {
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    expect(verifySignedSessionId(`${generateSessionId()}.short`, SECRETS)).toBeUndefined();
    expect(verifySignedSessionId(42, SECRETS)).toBeUndefined();
    expect(compare).not.toHaveBeenCalled();
  });
});
