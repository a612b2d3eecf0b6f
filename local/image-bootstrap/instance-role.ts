/**
 * A local instance's AWS identity: the instance role's temporary credentials (STS AssumeRole in
 * the embedded AWS, as EC2 gets them for an instance profile), and the two reads a secret step
 * makes with them: SSM GetParameter (with decryption) and Secrets Manager GetSecretValue.
 *
 * The calls use the services' own protocols over fetch (local/aws-query.ts): the package has no
 * STS, SSM or Secrets Manager client, and moto does not check a signature (it reads the caller's
 * access key from the credential scope, so each call is made as the role's session, which moto
 * records).
 */
import { localAuthorization, queryCall, xmlField } from '../aws-query';

/** Temporary credentials of an assumed role. */
export interface RoleCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

/** Thrown when the embedded AWS refuses a call; the message has its error code and text. */
export class InstanceRoleError extends Error {
  override readonly name = 'InstanceRoleError';
}

/** The instance role's credentials for the instance `sessionName` (its id), from STS AssumeRole. */
export async function assumeInstanceRole(endpoint: string, roleArn: string, sessionName: string): Promise<RoleCredentials> {
  const { status, xml } = await queryCall(endpoint, 'sts', { Action: 'AssumeRole', Version: '2011-06-15', RoleArn: roleArn, RoleSessionName: sessionName });
  const field = (name: string) => xmlField(xml, name) || undefined;
  const [accessKeyId, secretAccessKey, sessionToken] = [field('AccessKeyId'), field('SecretAccessKey'), field('SessionToken')];
  if (status !== 200 || !accessKeyId || !secretAccessKey || !sessionToken) {
    throw new InstanceRoleError(`STS AssumeRole of ${roleArn} answered ${status}: ${field('Message') ?? xml.slice(0, 200)}`);
  }
  return { accessKeyId, secretAccessKey, sessionToken };
}

/** One JSON-protocol call (SSM, Secrets Manager) as the role. */
async function jsonCall(endpoint: string, credentials: RoleCredentials, service: string, target: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': target,
      'x-amz-security-token': credentials.sessionToken,
      authorization: localAuthorization(service, credentials.accessKeyId),
    },
    body: JSON.stringify(body),
  });
  const out = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status !== 200) {
    const type = String(out.__type ?? `HTTP ${res.status}`).split('#').pop();
    throw new InstanceRoleError(`${target.split('.').pop()} answered ${type}: ${String(out.message ?? out.Message ?? '')}`);
  }
  return out;
}

/** A parameter's value (a SecureString decrypted), as `aws ssm get-parameter --with-decryption` reads it. */
export async function readParameter(endpoint: string, credentials: RoleCredentials, name: string): Promise<string> {
  const out = await jsonCall(endpoint, credentials, 'ssm', 'AmazonSSM.GetParameter', { Name: name, WithDecryption: true });
  return String((out.Parameter as { Value?: unknown } | undefined)?.Value ?? '');
}

/** A secret's string value, as `aws secretsmanager get-secret-value` reads it. */
export async function readSecret(endpoint: string, credentials: RoleCredentials, id: string): Promise<string> {
  const out = await jsonCall(endpoint, credentials, 'secretsmanager', 'secretsmanager.GetSecretValue', { SecretId: id });
  if (typeof out.SecretString !== 'string') throw new InstanceRoleError(`secret ${id} holds no string (a binary secret is not read by a secret step)`);
  return out.SecretString;
}
