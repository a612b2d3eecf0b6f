/**
 * Deletes finished jobs' messages in DeleteMessageBatch requests: a batch goes out when it holds
 * 10 messages or when its short window closes, so at full load a delete costs a tenth of a request.
 * Entries SQS fails for a transient reason are retried with back-off; one that cannot be deleted
 * (say its receipt handle expired) comes back after its visibility timeout and runs again,
 * skipped by idempotency when that is on: a lost delete is logged, not fatal.
 */
import { DeleteMessageBatchCommand, type DeleteMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { JobLogger } from '../jobs/types';
import { backoffDelay, sleep } from './backoff';
import { SQS_MAX_BATCH } from './options';
import type { SqsSender } from './sqs-sender';

/** Attempts per message before a delete is given up. */
const MAX_DELETE_ATTEMPTS = 4;

interface PendingDelete {
  readonly receiptHandle: string;
  readonly messageId: string;
  attempts: number;
}

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
}

/** Gathers deletes into batches. */
export class BatchDeleter {
  private pending: PendingDelete[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly options: BatchDeleterOptions) {}

  /** Queues the message for deletion. */
  public delete(receiptHandle: string, messageId: string): void {
    this.pending.push({ receiptHandle, messageId, attempts: 0 });
    if (this.pending.length >= SQS_MAX_BATCH) this.sendFull();
    else this.timer ??= setTimeout(() => this.sendAll(), this.options.windowMs);
  }

  /** Sends everything queued now and resolves when every delete has ended (retries included). */
  public async flush(): Promise<void> {
    this.sendAll();
    while (this.sending.size > 0) {
      await Promise.all(this.sending);
      this.sendAll();
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
    const entries: DeleteMessageBatchRequestEntry[] = batch.map((p, i) => ({ Id: String(i), ReceiptHandle: p.receiptHandle }));
    let retry: PendingDelete[] = [];
    try {
      const out = await this.options.sender.send('DeleteMessageBatch', new DeleteMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }));
      this.options.onDeleted(out.Successful?.length ?? 0);
      for (const failed of out.Failed ?? []) {
        const item = batch[Number(failed.Id)]!;
        // A sender fault (an invalid or expired receipt handle) will fail the same way again.
        if (failed.SenderFault) this.giveUp([item], `${failed.Code}: ${failed.Message ?? ''}`);
        else retry.push(item);
      }
    } catch (error) {
      retry = batch;
      if ((error as { $fault?: string }).$fault === 'client') {
        this.giveUp(batch, (error as Error).message);
        retry = [];
      }
    }
    retry = retry.filter((item) => {
      item.attempts += 1;
      if (item.attempts < MAX_DELETE_ATTEMPTS) return true;
      this.giveUp([item], 'SQS kept failing the delete');
      return false;
    });
    if (retry.length > 0) {
      await sleep(backoffDelay(retry[0]!.attempts, this.options.backoffBaseMs, this.options.backoffMaxMs));
      await this.deleteBatch(retry);
    }
  }

  private giveUp(items: readonly PendingDelete[], why: string): void {
    this.options.onGivenUp(items.length);
    this.options.logger.warn('could not delete a finished job\'s message: it will come back after its visibility timeout and run again (idempotency, when on, skips it)', {
      messageIds: items.map((i) => i.messageId),
      reason: why,
    });
  }
}
