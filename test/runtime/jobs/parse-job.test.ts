/** parseJob: where a job's id comes from (jobIdField, jobIdFrom, the jobId attribute, the message id), and what is refused. */
import { MalformedJobError } from '../../../runtime';
import { parseJob } from '../../../runtime/jobs/parse-job';

const message = (body: unknown, jobIdAttribute?: string) => ({ messageId: 'm-1', body: JSON.stringify(body), receiveCount: 1, jobIdAttribute });
const UUID = '0b6b2d0e-4d7c-4e0a-9f5e-2f7f6c1d9a10';

describe('the id of a job', () => {
  test('jobIdFrom derives it from the job, over the jobId attribute and the message id', async () => {
    const parsed = await parseJob(message({ object: 'a.jpg' }, 'f00dbeef-0000-4000-8000-000000000000'), { jobIdFrom: () => UUID.toUpperCase() });
    expect(parsed.jobId).toBe(UUID);
  });

  test('jobIdFrom returning undefined falls back to the attribute, then the message id', async () => {
    expect((await parseJob(message({}, UUID), { jobIdFrom: () => undefined })).jobId).toBe(UUID);
    expect((await parseJob(message({}), { jobIdFrom: () => undefined })).jobId).toBe('m-1');
  });

  test('fails when jobIdFrom derives something other than a UUID, naming jobIdFrom: the message is malformed', async () => {
    await expect(parseJob(message({}), { jobIdFrom: () => 'photo-1' })).rejects.toThrow(MalformedJobError);
    await expect(parseJob(message({}), { jobIdFrom: () => 'photo-1' })).rejects.toThrow(/the job id its jobIdFrom derived must be a UUID, received "photo-1"/);
  });
});
