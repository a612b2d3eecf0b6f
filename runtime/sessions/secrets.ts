/**
 * The cookie-signing secrets of a rotated secret: its current version first, then its previous
 * one (Secrets Manager's AWSCURRENT and AWSPREVIOUS stages), for SessionManager's `secrets` and
 * `reloadSecrets`. The read itself is the caller's (one GetSecretValue per stage), so the session
 * library needs no Secrets Manager client of its own.
 */

/** The version stages a rotated secret keeps: the one in use, and the one before it. */
export type SecretVersionStage = 'AWSCURRENT' | 'AWSPREVIOUS';

/**
 * Reads both stages and returns the current secret, then the previous one when there is one (a
 * secret never rotated has none: a read that fails with ResourceNotFoundException, or returns no
 * string, counts as none). The current one must be there.
 *
 * @example
 * import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
 * import { SessionManager, currentAndPreviousSecrets } from '@cdk-cloud-patterns/runtime';
 *
 * const client = new SecretsManagerClient({});
 * const readSecrets = () => currentAndPreviousSecrets(async (stage) =>
 *   (await client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: stage }))).SecretString);
 * const sessions = new SessionManager({ secrets: await readSecrets(), reloadSecrets: readSecrets });
 */
export async function currentAndPreviousSecrets(read: (stage: SecretVersionStage) => Promise<string | undefined>): Promise<string[]> {
  const [current, previous] = await Promise.all([read('AWSCURRENT'), read('AWSPREVIOUS').catch((error: unknown) => {
    if ((error as { name?: string })?.name === 'ResourceNotFoundException') return undefined;
    throw error;
  })]);
  if (typeof current !== 'string' || current.length === 0) {
    throw new Error('the secret has no current (AWSCURRENT) string value: store the cookie-signing secret as a string');
  }
  return typeof previous === 'string' && previous.length > 0 && previous !== current ? [current, previous] : [current];
}
