/**
 * Calls of the embedded AWS without an SDK client, for the few reads the local cloud makes of a
 * service it has no other use for (the account from STS, a queue's metrics from CloudWatch, a
 * launch template's user data from EC2; an instance role's reads in image-bootstrap/instance-role.ts).
 * EC2's client alone is 10 MB of type declarations and a large module to load, for one call.
 *
 * moto routes a request by the credential scope of its signature and does not check the
 * signature, so the header names the caller's access key and the service, and no more.
 */
import { LOCAL_AWS_ENV } from './moto';

/** The Authorization header of a call to `service` as the caller `accessKeyId` (moto reads both, checks neither). */
export function localAuthorization(service: string, accessKeyId: string = LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID): string {
  return `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20240101/${LOCAL_AWS_ENV.AWS_REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

/** One call of a Query-protocol API (STS, EC2, CloudWatch): its parameters form-encoded; the answer's status and XML. */
export async function queryCall(endpoint: string, service: string, params: Record<string, string>, accessKeyId?: string): Promise<{ readonly status: number; readonly xml: string }> {
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: localAuthorization(service, accessKeyId) },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, xml: await res.text() };
}

/** The text of the first `<name>` element of an XML answer (undefined when it has none). */
export function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

/**
 * The user data of a launch template's version (`$Latest`, or a number), decoded: the boot script
 * an instance of it runs. Undefined when the version has none; throws when EC2 refuses the call.
 */
export async function launchTemplateUserData(endpoint: string, launchTemplateId: string, version: string): Promise<string | undefined> {
  const { status, xml } = await queryCall(endpoint, 'ec2', {
    Action: 'DescribeLaunchTemplateVersions', Version: '2016-11-15', LaunchTemplateId: launchTemplateId, 'LaunchTemplateVersion.1': version,
  });
  if (status !== 200) {
    const why = [xmlField(xml, 'Code'), xmlField(xml, 'Message') ?? xml.slice(0, 200)].filter(Boolean).join(' ');
    throw new Error(`EC2 DescribeLaunchTemplateVersions of ${launchTemplateId} (version ${version}) answered ${status}: ${why}`);
  }
  const userData = xmlField(xml, 'userData');
  return userData ? Buffer.from(userData, 'base64').toString('utf8') : undefined;
}
