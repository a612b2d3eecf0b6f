/**
 * The demo worker of LockStack: builds "the nightly report", one at a time, however many report
 * jobs arrive at once (a schedule firing twice, a retry, a manual run): it takes the lock
 * `nightly-report` and writes the report under the lock's fencing token, so a worker that lost
 * its lease (paused, throttled) can no longer overwrite a newer report.
 *
 * Without the lock two workers would build the same report side by side; idempotency would not
 * stop them, since their jobs are different messages.
 */
import { createHash } from 'crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCK_STACK_REPORT_LOCK, LOCK_STACK_REPORTS_TABLE_ENV } from '../../contracts/locks';
import { defineJobHandler } from '../../runtime/jobs/define-job-handler';
import { LockClient } from '../../runtime/locks/client';
import { putItemFenced } from '../../runtime/locks/fence-dynamodb';

/** A report job: which day to report on (ISO date). */
export interface ReportJob {
  /** The day, `YYYY-MM-DD`; yesterday when left out. */
  readonly day?: string;
}

/** Environment variable naming the table the reports go to (set by LockStack). */
export const REPORTS_TABLE_ENV = LOCK_STACK_REPORTS_TABLE_ENV;
/** The lock every report worker takes. */
export const REPORT_LOCK = LOCK_STACK_REPORT_LOCK;

const dynamodb = new DynamoDBClient({});
const locks = LockClient.fromEnvironment({ dynamodb, leaseSeconds: 30 });

function parseReportJob(raw: unknown): ReportJob {
  const job = (raw ?? {}) as { day?: unknown };
  if (typeof job !== 'object') throw new Error(`a report job is an object, received ${JSON.stringify(raw)}`);
  if (job.day !== undefined && (typeof job.day !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(job.day))) {
    throw new Error(`day must be a date like "2026-01-31", received ${JSON.stringify(job.day)}`);
  }
  return job.day === undefined ? {} : { day: job.day };
}

export const handler = defineJobHandler<ReportJob, { day: string; token: number }>(
  async (job, { jobId, log, signal }) => {
    const table = process.env[REPORTS_TABLE_ENV];
    if (!table) throw new Error(`${REPORTS_TABLE_ENV} is not set: deploy the worker with LockStack, which sets it.`);
    const day = job.day ?? new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    // Wait up to 10 s for a report already running; otherwise fail, and the queue retries the job later.
    return locks.withLock(REPORT_LOCK, async (lock) => {
      log.info('building the report', { day, token: lock.token });
      let digest = day;
      for (let i = 0; i < 10_000 && !lock.signal.aborted && !signal.aborted; i++) digest = createHash('sha256').update(digest).digest('hex');
      lock.assertHeld();
      await putItemFenced(dynamodb, {
        TableName: table,
        Item: { id: { S: day }, digest: { S: digest }, builtBy: { S: jobId }, builtAt: { S: new Date().toISOString() } },
      }, lock.token);
      return { day, token: lock.token };
    }, { waitSeconds: 10 });
  },
  { schema: parseReportJob },
);
