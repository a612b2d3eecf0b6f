/**
 * The render farm's users, in RenderFarmStack's Cognito user pool: sign-up (SignUp, then
 * AdminConfirmSignUp: usernames and passwords only, nothing to verify), sign-in (InitiateAuth with
 * USER_PASSWORD_AUTH), and the ID token verified before the web app makes a session of it: its
 * signature against the pool's JWKS, its issuer (the pool), its audience (the app's client), its
 * use (`id`) and its expiry, by aws-jwt-verify (AWS's own verifier; docs/decisions.md says why).
 * Who a user is, from then on, is the token's `sub`: never a name the client claims.
 *
 * Locally (the embedded AWS, or a test's moto) the pool's JWKS is served by the endpoint the SDK
 * is pointed at (`AWS_ENDPOINT_URL`): the verifier fetches it from there, and checks the same
 * issuer, `https://cognito-idp.<region>.amazonaws.com/<pool id>`, which moto's tokens carry too.
 */
import {
  AdminConfirmSignUpCommand, CognitoIdentityProviderClient, InitiateAuthCommand, SignUpCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { Fetcher } from 'aws-jwt-verify/https';

/** A user whose ID token verified. */
export interface VerifiedUser {
  /** The pool's immutable id of the user: what renders are owned by. */
  readonly sub: string;
  /** The name they signed up with, for the page. */
  readonly username: string;
}

/** A sign-up or sign-in that did not succeed, with the status to answer and a message safe to show. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(message: string, readonly status: 400 | 401 | 409 | 429 | 503, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

/** A username: 3 to 40 letters, digits, dots, dashes or underscores. */
export const USERNAME = /^[\p{L}\p{N}._-]{3,40}$/u;

/** Options of {@link UserPoolAuth}. */
export interface UserPoolAuthOptions {
  readonly userPoolId: string;
  readonly clientId: string;
  readonly cognito: CognitoIdentityProviderClient;
  /**
   * Where the pool's JWKS is fetched from, when not from Cognito itself: the endpoint the SDK
   * calls instead of AWS (`http://localhost:4566`), which serves `/<pool id>/.well-known/jwks.json`.
   *
   * @default - `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`, else `AWS_ENDPOINT_URL`, else Cognito's own URL
   */
  readonly jwksEndpoint?: string;
}

/**
 * Fetches a JWKS from `endpoint` instead of Cognito's host, keeping its path (the pool's id), for
 * an endpoint that stands in for AWS. Times out after 3 s.
 */
export function jwksFetcherFor(endpoint: string | undefined): Fetcher {
  return {
    async fetch(uri: string): Promise<ArrayBuffer> {
      const url = new URL(uri);
      const target = endpoint && /^cognito-idp\.[a-z0-9-]+\.amazonaws\.com$/.test(url.hostname) ? new URL(url.pathname, endpoint) : url;
      const res = await fetch(target, { signal: AbortSignal.timeout(3_000) });
      if (!res.ok) throw new Error(`the JWKS at ${target} answered ${res.status}`);
      return res.arrayBuffer();
    },
  };
}

const errorName = (e: unknown) => (e as { name?: string })?.name ?? '';

/** Sign-up, sign-in and token verification against one user pool and app client. */
export class UserPoolAuth {
  private readonly verifier;

  constructor(private readonly options: UserPoolAuthOptions) {
    const endpoint = options.jwksEndpoint ?? process.env.AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER ?? process.env.AWS_ENDPOINT_URL;
    this.verifier = CognitoJwtVerifier.create(
      { userPoolId: options.userPoolId, clientId: options.clientId, tokenUse: 'id' },
      { jwksCache: new SimpleJwksCache({ fetcher: jwksFetcherFor(endpoint) }) },
    );
  }

  /**
   * Verifies an ID token: signed by one of the pool's keys, issued by the pool, for this client,
   * an ID token, not expired. Throws AuthError (401) otherwise, never returns an unverified user.
   */
  async verifyIdToken(token: string): Promise<VerifiedUser> {
    let payload: Record<string, unknown>;
    try {
      payload = await this.verifier.verify(token) as Record<string, unknown>;
    } catch (e) {
      throw new AuthError(`the sign-in token did not verify (${errorName(e) || 'invalid'})`, 401);
    }
    const sub = payload.sub;
    const username = payload['cognito:username'];
    if (typeof sub !== 'string' || sub === '' || typeof username !== 'string') throw new AuthError('the sign-in token names no user', 401);
    return { sub, username };
  }

  /** Signs a user in with their password; the ID token Cognito returns is verified before anything trusts it. */
  async signIn(username: string, password: string): Promise<VerifiedUser> {
    checkCredentials(username, password);
    let idToken: string | undefined;
    try {
      const out = await this.options.cognito.send(new InitiateAuthCommand({
        ClientId: this.options.clientId,
        AuthFlow: 'USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: username, PASSWORD: password },
      }));
      if (out.ChallengeName) throw new AuthError(`this account needs a step the demo does not offer (${out.ChallengeName})`, 401);
      idToken = out.AuthenticationResult?.IdToken;
    } catch (e) {
      throw cognitoError(e);
    }
    if (!idToken) throw new AuthError('the user pool returned no token', 503);
    return this.verifyIdToken(idToken);
  }

  /** Creates the user (the pool checks the password against its policy), confirms them, and signs them in. */
  async signUp(username: string, password: string): Promise<VerifiedUser> {
    checkCredentials(username, password);
    try {
      await this.options.cognito.send(new SignUpCommand({ ClientId: this.options.clientId, Username: username, Password: password }));
      await this.options.cognito.send(new AdminConfirmSignUpCommand({ UserPoolId: this.options.userPoolId, Username: username }));
    } catch (e) {
      throw cognitoError(e);
    }
    return this.signIn(username, password);
  }
}

function checkCredentials(username: string, password: string): void {
  if (!USERNAME.test(username)) throw new AuthError(`username must be 3 to 40 letters, digits, dots, dashes or underscores, received ${JSON.stringify(username)}`, 400);
  if (password.length < 1 || password.length > 256) throw new AuthError(`password must be 1 to 256 characters, received ${password.length}`, 400);
}

/** What a Cognito error means for the client, without saying whether a username exists on sign-in. */
function cognitoError(e: unknown): Error {
  if (e instanceof AuthError) return e;
  const message = (e as { message?: string })?.message ?? '';
  switch (errorName(e)) {
    case 'NotAuthorizedException':
    case 'UserNotFoundException':
    case 'UserNotConfirmedException':
    case 'PasswordResetRequiredException':
      return new AuthError('wrong username or password', 401);
    case 'UsernameExistsException':
      return new AuthError('that username is taken: choose another, or sign in', 409);
    case 'InvalidPasswordException':
      // Cognito's message names the rule the password broke (length, symbols...).
      return new AuthError(`the password does not meet the pool's policy (at least 12 characters with upper and lower case, a digit and a symbol): ${message}`, 400);
    case 'InvalidParameterException':
      return new AuthError(`the user pool refused the request: ${message}`, 400);
    case 'TooManyRequestsException':
    case 'LimitExceededException':
    case 'TooManyFailedAttemptsException':
      return new AuthError('too many sign-in attempts: try again in a minute', 429, 60);
    default:
      return e instanceof Error ? e : new Error(String(e));
  }
}
