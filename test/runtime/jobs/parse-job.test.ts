/** parseJob, without an emulator: every way a message becomes a job, or a MalformedJobError that says why. */
import { randomUUID } from 'crypto';
import { MalformedJobError } from '../../../runtime/index';
import { isUuid, parseJob } from '../../../runtime/jobs/parse-job';
import type { JobMessage } from '../../../runtime/jobs/types';

const message = (body: string, jobIdAttribute?: string): JobMessage => ({ messageId: 'm-1', body, receiveCount: 1, jobIdAttribute } as JobMessage);

describe('parseJob', () => {
  test('takes the job id from the jobId attribute JobClient sets, lower-cased', async () => {
    const id = randomUUID().toUpperCase();
    expect(await parseJob(message('{"a":1}', id), {})).toEqual({ jobId: id.toLowerCase(), job: { a: 1 } });
  });

  test('takes the job id from the job\'s own field with jobIdField, over the attribute', async () => {
    const own = randomUUID();
    expect((await parseJob(message(JSON.stringify({ orderId: own }), randomUUID()), { jobIdField: 'orderId' })).jobId).toBe(own);
  });

  test('falls back to the SQS message id without either', async () => {
    expect((await parseJob(message('{}'), {})).jobId).toBe('m-1');
  });

  test.each([
    ['the body is not JSON', message('not json'), {}, /message m-1: the body is not JSON .*received "not json"/],
    ['jobIdField names no UUID', message('{"orderId":"order-7"}'), { jobIdField: 'orderId' }, /the job's id field "orderId" must be a UUID string, received "order-7"/],
    ['the jobId attribute is not a UUID', message('{}', 'abc'), {}, /the jobId message attribute must be a UUID, received "abc"/],
    ['a schema function throws', message('{"n":"x"}'), { schema: (raw: unknown) => { if (typeof (raw as { n: unknown }).n !== 'number') throw new Error('n must be a number'); return raw; } },
      /the job does not match its schema: n must be a number/],
  ])('fails with MalformedJobError when %s', async (_why, msg, options, expected) => {
    const error = await parseJob(msg, options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MalformedJobError);
    expect((error as Error).message).toMatch(expected);
  });

  test('isUuid takes the canonical 8-4-4-4-12 form only', () => {
    expect(isUuid(randomUUID())).toBe(true);
    expect(isUuid('6f1c1a52-4d5e-4bb0-9c1a-2f6f3e0c9e1')).toBe(false);
    expect(isUuid('{6f1c1a52-4d5e-4bb0-9c1a-2f6f3e0c9e11}')).toBe(false);
    expect(isUuid(42)).toBe(false);
  });
});

/** A message whose body is `body` as JSON. */
const messageOf = (body: unknown, jobIdAttribute?: string) => message(JSON.stringify(body), jobIdAttribute);
const FIXED_UUID = '0b6b2d0e-4d7c-4e0a-9f5e-2f7f6c1d9a10';

describe('the id of a job', () => {
  test('jobIdFrom derives it from the job, over the jobId attribute and the message id', async () => {
    const parsed = await parseJob(messageOf({ object: 'a.jpg' }, 'f00dbeef-0000-4000-8000-000000000000'), { jobIdFrom: () => FIXED_UUID.toUpperCase() });
    expect(parsed.jobId).toBe(FIXED_UUID);
  });

  test('jobIdFrom returning undefined falls back to the attribute, then the message id', async () => {
    expect((await parseJob(messageOf({}, FIXED_UUID), { jobIdFrom: () => undefined })).jobId).toBe(FIXED_UUID);
    expect((await parseJob(messageOf({}), { jobIdFrom: () => undefined })).jobId).toBe('m-1');
  });

  test('fails when jobIdFrom derives something other than a UUID, naming jobIdFrom: the message is malformed', async () => {
    await expect(parseJob(messageOf({}), { jobIdFrom: () => 'photo-1' })).rejects.toThrow(MalformedJobError);
    await expect(parseJob(messageOf({}), { jobIdFrom: () => 'photo-1' })).rejects.toThrow(/the job id its jobIdFrom derived must be a UUID, received "photo-1"/);
  });
});
