/**
 * The local cloud's calls without an SDK client (local/aws-query.ts), against moto: a launch
 * template's user data from EC2 (what the FleetWorker and BootstrappedImage workloads read, and
 * what an instance of the template would run), the account from STS, and a queue's metrics from
 * CloudWatch (local/queue-metrics.ts, what the progress lines count). The templates are made with
 * the same Query protocol.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { launchTemplateUserData, localAuthorization, queryCall, xmlField } from '../../local/aws-query';
import { LOCAL_AWS_ENV } from '../../local/moto';
import { QUEUE_METRICS, queueMetricSum } from '../../local/queue-metrics';
import { createWorkQueue, useLocalAws } from '../support/local-aws';

const aws = useLocalAws();

/** A launch template made through EC2's Query API; returns its id. */
async function createLaunchTemplate(name: string, userData?: string): Promise<string> {
  const { status, xml } = await queryCall(aws.moto.endpoint, 'ec2', {
    Action: 'CreateLaunchTemplate', Version: '2016-11-15', LaunchTemplateName: name,
    'LaunchTemplateData.InstanceType': 't3.micro',
    ...(userData === undefined ? {} : { 'LaunchTemplateData.UserData': Buffer.from(userData).toString('base64') }),
  });
  expect(status).toBe(200);
  return xmlField(xml, 'launchTemplateId')!;
}

test('reads a launch template\'s user data, decoded, at $Latest and at a version number', async () => {
  const script = '#!/bin/bash\necho "héllo" > /etc/motd\n';
  const id = await createLaunchTemplate(`with-user-data-${Date.now()}`, script);
  expect(id).toMatch(/^lt-/);
  await expect(launchTemplateUserData(aws.moto.endpoint, id, '$Latest')).resolves.toBe(script);
  await expect(launchTemplateUserData(aws.moto.endpoint, id, '1')).resolves.toBe(script);
});

test('answers undefined for a template without user data', async () => {
  const id = await createLaunchTemplate(`without-user-data-${Date.now()}`);
  await expect(launchTemplateUserData(aws.moto.endpoint, id, '$Latest')).resolves.toBeUndefined();
});

test('fails on a template EC2 does not know, naming it, its version and EC2\'s answer', async () => {
  await expect(launchTemplateUserData(aws.moto.endpoint, 'lt-0123456789abcdef0', '$Latest'))
    .rejects.toThrow(/^EC2 DescribeLaunchTemplateVersions of lt-0123456789abcdef0 \(version \$Latest\) answered 400: InvalidLaunchTemplateId/);
});

test('reads the account from STS as the local cloud does', async () => {
  const { status, xml } = await queryCall(aws.moto.endpoint, 'sts', { Action: 'GetCallerIdentity', Version: '2011-06-15' });
  expect(status).toBe(200);
  expect(xmlField(xml, 'Account')).toMatch(/^\d{12}$/);
});

test('reads a queue\'s jobs done and its receive calls from CloudWatch, as the progress lines count them', async () => {
  // GIVEN a queue on which 3 jobs were sent, received and deleted, with 4 receive calls (one empty)
  const since = Date.now();
  const { queueUrl } = await createWorkQueue(aws.sqs);
  for (let i = 0; i < 3; i++) await aws.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `job ${i}` }));
  for (let i = 0; i < 3; i++) {
    const [message] = (await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1 }))).Messages ?? [];
    await aws.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message!.ReceiptHandle! }));
  }
  await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1 }));
  // THEN CloudWatch has them, read in one Query call each
  await expect(queueMetricSum(aws.moto.endpoint, queueUrl, QUEUE_METRICS.deleted, since)).resolves.toBe(3);
  await expect(queueMetricSum(aws.moto.endpoint, queueUrl, QUEUE_METRICS.receiveCalls, since)).resolves.toBe(4);
});

test('names the caller and the service in the credential scope, with no signature to check', () => {
  expect(localAuthorization('ec2')).toBe(`AWS4-HMAC-SHA256 Credential=${LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID}/20240101/${LOCAL_AWS_ENV.AWS_REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0`);
  expect(localAuthorization('sts', 'ASIAROLESESSION')).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAROLESESSION\/20240101\/[a-z0-9-]+\/sts\/aws4_request,/);
});

test('reads the first element of a name, or nothing', () => {
  expect(xmlField('<a><b>one</b><b>two</b></a>', 'b')).toBe('one');
  expect(xmlField('<a><b></b></a>', 'b')).toBe('');
  expect(xmlField('<a/>', 'b')).toBeUndefined();
});
