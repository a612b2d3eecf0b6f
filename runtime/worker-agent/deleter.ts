/**
 * Deletes finished jobs' messages in DeleteMessageBatch requests: a batch goes out when it holds
 * 10 messages or when its short window closes, so at full load a delete costs a tenth of a request.
 *
 * A delete that fails for any reason that can pass (throttling, which SDK v3 reports as a client
 * fault; a server error; a network error) is retried with back-off for as long as the message is
 * still ours: the worker keeps its visibility extended until the delete is confirmed, so a slow
 * delete never lets the message run again. Only a receipt handle that SQS says is no longer valid
 * (or whose heartbeat SQS refused) is given up and counted; so is whatever is left when a stop's
 * flush reaches its deadline. Such a message comes back after its visibility timeout and runs
 * again, skipped by idempotency when that is on.
 */
import { DeleteMessageBatchCommand, type DeleteMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { JobLogger } from '../jobs/types';
import { backoffDelay, sleep } from './backoff';
import { isPermanentSqsError, sqsErrorCode } from './errors';
import { SQS_MAX_BATCH } from './options';
import type { SqsSender } from './sqs-sender';

/** How a delete ended. */
export type DeleteOutcome = 'deleted' | 'givenUp';

interface PendingDelete {
  readonly receiptHandle: string;
  readonly messageId: string;
  /** False once the message is no longer ours (its heartbeat was refused). */
  readonly stillOurs: () => boolean;
  readonly resolve: (outcome: DeleteOutcome) => void;
  failures: number;
}

/** Per-entry codes that mean the receipt handle no longer holds the message. */
const GONE_CODES = new Set(['ReceiptHandleIsInvalid', 'InvalidReceiptHandle', 'AWS.SimpleQueueService.ReceiptHandleIsInvalid', 'MessageNotInflight']);

/** Settings of a {@link BatchDeleter}. */
export interface BatchDeleterOptions {
  readonly sender: SqsSender;
  readonly queueUrl: string;
  readonly windowMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly logger: JobLogger;
  /** Called for every message deleted. */
  readonly onDeleted: (count: number) => void;
  /** Called for every message given up on. */
  readonly onGivenUp: (count: number) => void;
  /** Called when a whole request fails (after the SDK's own retries); it is retried. */
  readonly onError: (error: unknown) => void;
}

/** Gathers deletes into batches. */
export class BatchDeleter {
  private pending: PendingDelete[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly sending = new Set<Promise<void>>();
  /** Aborted when a flush reaches its deadline: back-off sleeps end and retries give up. */
  private readonly giveUpAbort = new AbortController();

  constructor(private readonly options: BatchDeleterOptions) {}

  /**
   * Queues the message for deletion; resolves once SQS confirmed the delete, or it was given up.
   * `stillOurs` says whether the message is still hidden for this worker (retrying stops when not).
   */
  public delete(receiptHandle: string, messageId: string, stillOurs: () => boolean = () => true): Promise<DeleteOutcome> {
    return new Promise((resolve) => {
      this.pending.push({ receiptHandle, messageId, stillOurs, resolve, failures: 0 });
      if (this.pending.length >= SQS_MAX_BATCH) this.sendFull();
      else this.timer ??= setTimeout(() => this.sendAll(), this.options.windowMs);
    });
  }

  /**
   * Sends everything queued now and resolves when every delete has ended, retries included;
   * at `deadline` (epoch ms) what is still failing is given up.
   */
  public async flush(deadline: number = Infinity): Promise<void> {
    const timer = Number.isFinite(deadline) ? setTimeout(() => this.giveUpAbort.abort(), Math.max(deadline - Date.now(), 0)) : undefined;
    try {
      this.sendAll();
      while (this.sending.size > 0) {
        await Promise.all(this.sending);
        this.sendAll();
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private sendFull(): void {
    while (this.pending.length >= SQS_MAX_BATCH) this.send(this.pending.splice(0, SQS_MAX_BATCH));
    if (this.pending.length === 0) this.clearTimer();
  }

  private sendAll(): void {
    this.clearTimer();
    while (this.pending.length > 0) this.send(this.pending.splice(0, SQS_MAX_BATCH));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private send(batch: PendingDelete[]): void {
    const done: Promise<void> = this.deleteBatch(batch).finally(() => this.sending.delete(done));
    this.sending.add(done);
  }

  private async deleteBatch(batch: PendingDelete[]): Promise<void> {
    let retry: PendingDelete[] = [];
    try {
      const entries: DeleteMessageBatchRequestEntry[] = batch.map((p, i) => ({ Id: String(i), ReceiptHandle: p.receiptHandle }));
      const out = await this.options.sender.send('DeleteMessageBatch', new DeleteMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }));
      const failed = new Set<number>();
      for (const f of out.Failed ?? []) {
        const item = batch[Number(f.Id)]!;
        failed.add(Number(f.Id));
        if (f.SenderFault && GONE_CODES.has(f.Code ?? '')) this.giveUp([item], `${f.Code}: ${f.Message ?? ''}`);
        else retry.push(item);
      }
      const deleted = batch.filter((_, i) => !failed.has(i));
      this.options.onDeleted(deleted.length);
      for (const item of deleted) item.resolve('deleted');
    } catch (error) {
      if (isPermanentSqsError(error)) {
        // The role may not delete, or the queue is gone: no retry will do.
        this.options.onError(error);
        this.giveUp(batch, `${sqsErrorCode(error)}: ${(error as Error).message}`);
        return;
      }
      // Throttling (RequestThrottled is a client fault in SDK v3), server and network errors
      // alike: the request may pass later, and the messages are still ours to delete.
      this.options.onError(error);
      retry = batch;
    }
    if (retry.length === 0) return;
    const gone = retry.filter((item) => !item.stillOurs());
    if (gone.length > 0) this.giveUp(gone, 'SQS refused its visibility heartbeat: the message is no longer held by this worker');
    retry = retry.filter((item) => item.stillOurs());
    if (retry.length > 0 && this.giveUpAbort.signal.aborted) {
      this.giveUp(retry, 'the stop\'s deadline passed while SQS kept failing the delete');
      return;
    }
    if (retry.length === 0) return;
    for (const item of retry) item.failures += 1;
    const failures = Math.max(...retry.map((item) => item.failures));
    await sleep(backoffDelay(failures, this.options.backoffBaseMs, this.options.backoffMaxMs), this.giveUpAbort.signal);
    await this.deleteBatch(retry);
  }

  private giveUp(items: readonly PendingDelete[], why: string): void {
    this.options.onGivenUp(items.length);
    for (const item of items) item.resolve('givenUp');
    this.options.logger.warn('could not delete a finished job\'s message: it will come back after its visibility timeout and run again (idempotency, when on, skips it)', {
      messageIds: items.map((i) => i.messageId),
      reason: why,
    });
  }
}
