/**
 * Sends jobs to a work queue: in batches of up to 10 (and 1 MiB), each with a UUID job id in
 * the `jobId` message attribute, retrying the entries SQS failed, and refusing up front a job
 * that is over the size limit so that nothing is half-sent.
 */
import { randomUUID } from 'crypto';
import { SQSClient, SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { JOBS_QUEUE_URL_ENV, JOB_ID_ATTRIBUTE } from './environment';
import { JobSendError, JobTooLargeError, type FailedJob } from './errors';
import { isUuid } from './parse-job';

/** The largest message SQS accepts, in bytes (body and attributes). */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
const MAX_BATCH_ENTRIES = 10;

/** Options of a {@link JobClient}. */
export interface JobClientOptions<T> {
  /** The URL of the work queue. */
  readonly queueUrl: string;
  /** The SQS client. @default - a client from the environment's settings (`AWS_ENDPOINT_URL` locally) */
  readonly sqs?: SQSClient;
  /** Attempts per job before `send` gives up on it. @default 5 */
  readonly maxAttempts?: number;
  /** The largest message the queue accepts, in bytes. @default 1,048,576 (SQS's limit) */
  readonly maxMessageBytes?: number;
  /** The id of a job, for jobs that carry their own (must be a UUID). @default - a new random UUID */
  readonly jobId?: (job: T) => string;
  /** The message group of a job; required for a FIFO queue. @default - none (standard queue) */
  readonly groupId?: (job: T) => string;
  /** Base delay of the retry back-off, in milliseconds. @default 100 */
  readonly retryBaseDelayMs?: number;
}

/** A job SQS accepted. */
export interface SentJob {
  readonly jobId: string;
  readonly messageId: string;
}

interface Pending {
  readonly index: number;
  readonly jobId: string;
  readonly entry: SendMessageBatchRequestEntry;
  readonly bytes: number;
}

/**
 * Sends jobs to a work queue.
 *
 * @example
 * const client = new JobClient<Resize>({ queueUrl: process.env.JOBS_QUEUE_URL! });
 * const sent = await client.send([{ imageKey: 'a.png', width: 200 }, { imageKey: 'b.png', width: 400 }]);
 * // sent[i].jobId is the UUID the worker sees as context.jobId
 */
export class JobClient<T = unknown> {
  private readonly sqs: SQSClient;
  private readonly maxAttempts: number;
  private readonly maxMessageBytes: number;
  private readonly fifo: boolean;

  /**
   * A client for the queue whose URL `WorkQueue.environment` handed the program
   * (`CLOUD_PATTERNS_JOBS_QUEUE_URL`). Throws, naming the variable, when it is not set.
   *
   * @example
   * // the construct: fleet or function environment: { ...previews.environment }
   * const previews = JobClient.fromEnvironment<{ imageKey: string }>();
   * await previews.send([{ imageKey: 'incoming/cat.jpg' }]);
   */
  static fromEnvironment<T = unknown>(options: Omit<JobClientOptions<T>, 'queueUrl'> = {}, env: NodeJS.ProcessEnv = process.env): JobClient<T> {
    const queueUrl = env[JOBS_QUEUE_URL_ENV];
    if (!queueUrl) {
      throw new Error(`JobClient.fromEnvironment: ${JOBS_QUEUE_URL_ENV} is not set (received ${JSON.stringify(queueUrl)}). Give the program the queue's environment (\`environment: { ...workQueue.environment }\`), or pass queueUrl to new JobClient().`);
    }
    return new JobClient<T>({ ...options, queueUrl });
  }

  constructor(private readonly options: JobClientOptions<T>) {
    if (!options.queueUrl) throw new Error('JobClient: queueUrl is required, received an empty value. Pass the queue URL from the stack outputs.');
    this.fifo = options.queueUrl.endsWith('.fifo');
    if (this.fifo && !options.groupId) {
      throw new Error(`JobClient: groupId is required for the FIFO queue ${options.queueUrl}; jobs of one group are done in order. Pass groupId: (job) => ...`);
    }
    this.maxAttempts = options.maxAttempts ?? 5;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new Error(`JobClient: maxAttempts must be a whole number of at least 1, received ${options.maxAttempts}.`);
    }
    this.maxMessageBytes = options.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;
    this.sqs = options.sqs ?? new SQSClient({});
  }

  /**
   * Sends jobs and returns their ids in the order given. Throws JobTooLargeError (nothing
   * sent) for a job over the size limit, and JobSendError (listing what was and was not sent)
   * when SQS keeps refusing some.
   */
  public async send(jobs: readonly T[]): Promise<SentJob[]> {
    const pending = jobs.map((job, index) => this.toEntry(job, index));
    const sent = new Map<number, SentJob>();
    const failed: FailedJob[] = [];
    let todo = pending;
    for (let attempt = 1; todo.length > 0; attempt++) {
      const retry: Pending[] = [];
      for (const batch of this.batches(todo)) {
        const outcome = await this.sendBatch(batch);
        for (const ok of outcome.ok) sent.set(ok.index, { jobId: ok.jobId, messageId: ok.messageId });
        for (const bad of outcome.bad) {
          if (bad.retryable && attempt < this.maxAttempts) retry.push(bad.item);
          else failed.push({ index: bad.item.index, jobId: bad.item.jobId, code: bad.code, message: bad.message });
        }
      }
      todo = retry;
      if (todo.length > 0) await sleep(backoff(attempt, this.options.retryBaseDelayMs ?? 100));
    }
    const inOrder = [...sent.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
    if (failed.length > 0) {
      const sample = failed.slice(0, 3).map((f) => `#${f.index} ${f.code}: ${f.message}`).join('; ');
      throw new JobSendError(`JobClient: ${failed.length} of ${jobs.length} jobs were not sent (${sample}).`, failed, inOrder);
    }
    return inOrder;
  }

  private toEntry(job: T, index: number): Pending {
    const jobId = this.options.jobId ? this.options.jobId(job) : randomUUID();
    if (!isUuid(jobId)) {
      throw new Error(`JobClient: the jobId of job #${index} must be a UUID, received ${JSON.stringify(jobId)}. Use crypto.randomUUID().`);
    }
    const body = JSON.stringify(job);
    if (body === undefined) {
      throw new Error(`JobClient: job #${index} cannot be sent as JSON (received ${typeof job}).`);
    }
    // SQS counts attribute names, types and values toward the message size.
    const bytes = Buffer.byteLength(body) + JOB_ID_ATTRIBUTE.length + 'String'.length + jobId.length;
    if (bytes > this.maxMessageBytes) {
      throw new JobTooLargeError(
        `JobClient: job #${index} is ${bytes} bytes as JSON, over the queue's limit of ${this.maxMessageBytes} bytes; nothing was sent. ` +
          'Store large payloads in S3 (SharedStorage) and send their key instead.',
        index,
        bytes,
      );
    }
    const entry: SendMessageBatchRequestEntry = {
      Id: String(index),
      MessageBody: body,
      MessageAttributes: { [JOB_ID_ATTRIBUTE]: { DataType: 'String', StringValue: jobId } },
      ...(this.fifo ? { MessageGroupId: this.options.groupId!(job), MessageDeduplicationId: jobId } : {}),
    };
    return { index, jobId, entry, bytes };
  }

  /** Splits into batches of at most 10 entries and at most the size limit in total. */
  private *batches(items: readonly Pending[]): Generator<Pending[]> {
    let batch: Pending[] = [];
    let size = 0;
    for (const item of items) {
      if (batch.length === MAX_BATCH_ENTRIES || (batch.length > 0 && size + item.bytes > this.maxMessageBytes)) {
        yield batch;
        batch = [];
        size = 0;
      }
      batch.push(item);
      size += item.bytes;
    }
    if (batch.length > 0) yield batch;
  }

  private async sendBatch(batch: Pending[]): Promise<{
    ok: { index: number; jobId: string; messageId: string }[];
    bad: { item: Pending; retryable: boolean; code: string; message: string }[];
  }> {
    const byId = new Map(batch.map((p) => [p.entry.Id!, p]));
    try {
      const out = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: batch.map((p) => p.entry) }));
      return {
        ok: (out.Successful ?? []).map((s) => ({ index: byId.get(s.Id!)!.index, jobId: byId.get(s.Id!)!.jobId, messageId: s.MessageId! })),
        bad: (out.Failed ?? []).map((f) => ({ item: byId.get(f.Id!)!, retryable: !f.SenderFault, code: f.Code ?? 'Unknown', message: f.Message ?? '' })),
      };
    } catch (error) {
      // The SDK has already retried transient faults; a client error will not get better.
      const e = error as { name?: string; message?: string; $fault?: string };
      return { ok: [], bad: batch.map((item) => ({ item, retryable: e.$fault !== 'client', code: e.name ?? 'Error', message: e.message ?? String(error) })) };
    }
  }
}

function backoff(attempt: number, baseMs: number): number {
  const cap = baseMs * 2 ** (attempt - 1);
  return cap / 2 + Math.random() * (cap / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
