/**
 * The render farm's token check (apps/render-farm/auth.ts) against moto's Cognito: the ID token a
 * sign-in returns verifies against the pool's JWKS (served by the endpoint, as the embedded AWS
 * does), and a token is refused when its signature, issuer, audience, use or expiry is wrong.
 * Tokens with a wrong claim are signed with moto's own signing key, by moto's own code (its
 * Cognito model's key and JWT library, run in the moto installation's Python), so only the claim
 * under test differs from a real one.
 */
import { execFileSync } from 'child_process';
import { createSign, generateKeyPairSync, type KeyObject } from 'crypto';
import {
  AdminConfirmSignUpCommand, CognitoIdentityProviderClient, CreateUserPoolClientCommand, CreateUserPoolCommand, InitiateAuthCommand, SignUpCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { AuthError, UserPoolAuth, jwksFetcherFor } from '../../../apps/render-farm/auth';
import { findMotoPython } from '../../../local/moto';
import { useLocalAws } from '../../support/local-aws';

const aws = useLocalAws();
let cognito: CognitoIdentityProviderClient;
let poolId: string;
let clientId: string;
let auth: UserPoolAuth;
let realToken: string;
let claims: Record<string, unknown>;

const PASSWORD = 'Render-farm-passw0rd';

/** JWTs of `payloads`, signed as moto's pools sign theirs (its key, kid "dummy", RS256), by moto's code. */
function signedByMoto(payloads: readonly Record<string, unknown>[]): string[] {
  const script = [
    'import json, sys',
    'from joserfc import jwk, jwt',
    'from moto.cognitoidp.models import load_resource',
    'import moto.cognitoidp.models as m',
    'key = jwk.RSAKey.import_key(load_resource(m.__name__, "resources/jwks-private.json"))',
    'print(json.dumps([jwt.encode({"kid": "dummy", "alg": "RS256"}, p, key) for p in json.load(sys.stdin)]))',
  ].join('\n');
  return JSON.parse(execFileSync(findMotoPython(), ['-c', script], { input: JSON.stringify(payloads), encoding: 'utf8' })) as string[];
}

/** An RS256 JWT of `payload`, kid "dummy", signed with `key` (not the pool's). */
function sign(payload: Record<string, unknown>, key: KeyObject): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${part({ kid: 'dummy', alg: 'RS256' })}.${part(payload)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(key).toString('base64url')}`;
}

beforeAll(async () => {
  cognito = new CognitoIdentityProviderClient({});
  poolId = (await cognito.send(new CreateUserPoolCommand({ PoolName: 'users' }))).UserPool!.Id!;
  clientId = (await cognito.send(new CreateUserPoolClientCommand({ UserPoolId: poolId, ClientName: 'web', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH'] }))).UserPoolClient!.ClientId!;
  auth = new UserPoolAuth({ userPoolId: poolId, clientId, cognito });
  await cognito.send(new SignUpCommand({ ClientId: clientId, Username: 'alice', Password: PASSWORD }));
  await cognito.send(new AdminConfirmSignUpCommand({ UserPoolId: poolId, Username: 'alice' }));
  realToken = (await cognito.send(new InitiateAuthCommand({ ClientId: clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'alice', PASSWORD } })))
    .AuthenticationResult!.IdToken!;
  claims = JSON.parse(Buffer.from(realToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
});
afterAll(() => cognito?.destroy());

describe('the render farm\'s token check', () => {
  const now = () => Math.floor(Date.now() / 1000);
  /** The tokens signed by moto's code, by case: one Python run signs them all (it loads moto's Cognito, about a CPU second). */
  const motoPayloads: Record<string, () => Record<string, unknown>> = {
    'the same claims': () => claims,
    'another issuer (a pool of another region)': () => ({ ...claims, iss: `https://cognito-idp.eu-west-1.amazonaws.com/${poolId}` }),
    'another audience (another app client)': () => ({ ...claims, aud: 'another-client-id' }),
    'another use (an access token)': () => ({ ...claims, token_use: 'access', client_id: clientId }),
    'an expiry in the past': () => ({ ...claims, iat: now() - 7200, exp: now() - 3600 }),
  };
  const motoSigned: Record<string, string> = {};
  beforeAll(() => {
    const cases = Object.keys(motoPayloads);
    const tokens = signedByMoto(cases.map((c) => motoPayloads[c]!()));
    cases.forEach((c, i) => { motoSigned[c] = tokens[i]!; });
  });

  test('verifies the ID token a sign-in returns, against the pool\'s JWKS from the endpoint, and gives the user\'s sub', async () => {
    const user = await auth.verifyIdToken(realToken);
    expect(user).toEqual({ sub: claims.sub, username: 'alice' });
    expect(await auth.signIn('alice', PASSWORD)).toEqual(user);
    // The same claims signed again with moto's key verify too: the refusals below differ from a real token in one thing only
    expect(await auth.verifyIdToken(motoSigned['the same claims']!)).toEqual(user);
  });

  test.each([
    ['a signature by another key', () => sign(claims, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)],
    ['a tampered payload (another sub, the old signature)', () => {
      const [h, , s] = realToken.split('.');
      return `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${s}`;
    }],
    ['another issuer (a pool of another region)', () => motoSigned['another issuer (a pool of another region)']!],
    ['another audience (another app client)', () => motoSigned['another audience (another app client)']!],
    ['another use (an access token)', () => motoSigned['another use (an access token)']!],
    ['an expiry in the past', () => motoSigned['an expiry in the past']!],
    ['no signature (alg none)', () => `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'dummy' })).toString('base64url')}.${realToken.split('.')[1]}.`],
  ])('fails when the token has %s', async (_what, token) => {
    await expect(auth.verifyIdToken(token())).rejects.toThrow(AuthError);
    await expect(auth.verifyIdToken(token())).rejects.toThrow(/the sign-in token did not verify/);
  });

  test('fetches the JWKS from the endpoint standing in for AWS, keeping the pool\'s path, and from Cognito itself without one', async () => {
    const jwks = JSON.parse(Buffer.from(await jwksFetcherFor(aws.moto.endpoint).fetch(`https://cognito-idp.us-east-1.amazonaws.com/${poolId}/.well-known/jwks.json`)).toString()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual(['dummy']);
    // Without an endpoint, the URL is Cognito's own (not reachable here: the network is loopback only)
    await expect(jwksFetcherFor(undefined).fetch(`http://127.0.0.1:1/${poolId}/.well-known/jwks.json`)).rejects.toThrow();
  });
});
