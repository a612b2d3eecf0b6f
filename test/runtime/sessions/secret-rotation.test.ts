/**
 * Rotating the cookie-signing secret in Secrets Manager (moto) while servers run: the secret's
 * current and previous versions (currentAndPreviousSecrets) are what every server verifies
 * with, and SessionManager reads them again when it meets a cookie it cannot verify, so a server
 * started before the rotation and one started after it both keep every visitor signed in.
 */
import { randomBytes } from 'crypto';
import { IncomingMessage, ServerResponse } from 'http';
import { Socket } from 'net';
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SessionManager, currentAndPreviousSecrets } from '../../../runtime/index';
import { useLocalAws } from '../../support/local-aws';
import { createSessionTable } from '../../support/session-table';

const aws = useLocalAws();
let tableName: string;
let secrets: SecretsManagerClient;

beforeAll(async () => {
  tableName = await createSessionTable(aws.dynamodb);
  secrets = new SecretsManagerClient({});
});
afterAll(() => secrets?.destroy());

const newSecret = () => randomBytes(48).toString('base64');

/** What an app's start-up hook does: read the current and previous versions, and again when asked. */
function server(arn: string): Promise<SessionManager> {
  const read = () => currentAndPreviousSecrets(async (stage) => (await secrets.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: stage }))).SecretString);
  return read().then((held) => new SessionManager({ tableName, client: aws.dynamodb, secrets: held, reloadSecrets: read }));
}

function exchange(cookie?: string) {
  const req = new IncomingMessage(new Socket());
  if (cookie) req.headers.cookie = cookie;
  const res = new ServerResponse(req);
  const cookieSet = () => ([] as string[]).concat((res.getHeader('set-cookie') as string[] | undefined) ?? []).find((c) => c.startsWith('__Host-sid='))?.split(';')[0];
  return { req, res, cookieSet };
}

/** A visitor's first request: signs in, gets a cookie. */
async function signIn(sessions: SessionManager, name: string): Promise<string> {
  const { req, res, cookieSet } = exchange();
  const session = await sessions.load(req);
  session.data.name = name;
  await sessions.regenerate(session, res, { userId: name });
  return cookieSet()!;
}

/** Who the server sees behind a cookie (undefined: signed out). */
async function whoIs(sessions: SessionManager, cookie: string): Promise<unknown> {
  return (await sessions.load(exchange(cookie).req)).data.name;
}

describe('rotating the session secret in Secrets Manager', () => {
  test('reads the current version, and the previous one once the secret has rotated', async () => {
    const first = newSecret();
    const { ARN } = await secrets.send(new CreateSecretCommand({ Name: `session-${Date.now()}`, SecretString: first }));
    const read = () => currentAndPreviousSecrets(async (stage) => (await secrets.send(new GetSecretValueCommand({ SecretId: ARN, VersionStage: stage }))).SecretString);
    expect(await read()).toEqual([first]);
    const second = newSecret();
    await secrets.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: second }));
    expect(await read()).toEqual([second, first]);
  });

  test('a rotation signs no one out, on servers started before it and after it', async () => {
    // GIVEN a server started with the first secret, and a visitor signed in on it
    const { ARN } = await secrets.send(new CreateSecretCommand({ Name: `session-${Date.now()}-2`, SecretString: newSecret() }));
    const before = await server(ARN!);
    const ada = await signIn(before, 'ada');

    // WHEN the secret rotates, a server starts with the new version, and a visitor signs in there
    await secrets.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: newSecret() }));
    const after = await server(ARN!);
    const bob = await signIn(after, 'bob');

    // THEN every server still knows every visitor
    expect({
      adaOnBefore: await whoIs(before, ada), adaOnAfter: await whoIs(after, ada),
      bobOnAfter: await whoIs(after, bob), bobOnBefore: await whoIs(before, bob),
    }).toEqual({ adaOnBefore: 'ada', adaOnAfter: 'ada', bobOnAfter: 'bob', bobOnBefore: 'bob' });
  });

  test('without reading the secret again, the server started before the rotation signs the new visitor out (the test is not blind)', async () => {
    const { ARN } = await secrets.send(new CreateSecretCommand({ Name: `session-${Date.now()}-3`, SecretString: newSecret() }));
    const read = () => currentAndPreviousSecrets(async (stage) => (await secrets.send(new GetSecretValueCommand({ SecretId: ARN, VersionStage: stage }))).SecretString);
    const before = new SessionManager({ tableName, client: aws.dynamodb, secrets: await read() });
    await secrets.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: newSecret() }));
    const after = new SessionManager({ tableName, client: aws.dynamodb, secrets: await read() });
    const bob = await signIn(after, 'bob');
    expect(await whoIs(before, bob)).toBeUndefined();
  });
});
