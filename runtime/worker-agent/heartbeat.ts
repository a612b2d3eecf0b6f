/**
 * Visibility heartbeats: keeps the messages of running jobs hidden past the visibility timeout,
 * so a long job is not handed to a second worker while it runs. One timer checks every quarter
 * of the timeout and extends, in ChangeMessageVisibilityBatch requests of up to 10, the messages
 * with less than half of it left. Each extension is one visibility timeout from now, never more:
 * if the agent dies, its jobs come back within one timeout. Short jobs end before they need a
 * heartbeat, so at full load with quick jobs heartbeats cost nothing. Also releases messages
 * (visibility 0) so that another worker can take them at once, and postpones them (a longer
 * visibility) when retrying sooner cannot succeed.
 */
import { ChangeMessageVisibilityBatchCommand } from '@aws-sdk/client-sqs';
import type { JobLogger } from '../jobs/types';
import { SQS_MAX_BATCH } from './options';
import type { SqsSender } from './sqs-sender';

/** A message whose visibility is kept. */
export interface KeptMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  /** Epoch ms at which it becomes visible again unless extended. */
  visibleAt: number;
  extending: boolean;
  /** Set when SQS said the receipt handle no longer holds the message: it is not ours any more. */
  lost: boolean;
}

/** Settings of a {@link VisibilityKeeper}. */
export interface VisibilityKeeperOptions {
  readonly sender: SqsSender;
  readonly queueUrl: string;
  readonly visibilityTimeoutSeconds: number;
  readonly logger: JobLogger;
  /** Called when a request fails as a whole (the SDK has retried it already). */
  readonly onError: (error: unknown) => void;
}

/** Keeps running jobs' messages hidden. */
export class VisibilityKeeper {
  private readonly kept = new Set<KeptMessage>();
  private timer: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: VisibilityKeeperOptions) {
    this.timeoutMs = options.visibilityTimeoutSeconds * 1000;
  }

  /** Starts keeping a message hidden; `receivedAt` is when its receive request was sent. */
  public track(messageId: string, receiptHandle: string, receivedAt: number): KeptMessage {
    const message: KeptMessage = { messageId, receiptHandle, visibleAt: receivedAt + this.timeoutMs, extending: false, lost: false };
    this.kept.add(message);
    this.timer ??= setInterval(() => this.beat(), Math.max(this.timeoutMs / 4, 50));
    return message;
  }

  /** Stops keeping it hidden (its job ended, or passed its deadline). */
  public untrack(message: KeptMessage): void {
    this.kept.delete(message);
    if (this.kept.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Makes messages visible now, so that another worker takes them at once; resolves with how many SQS accepted. */
  public release(messages: readonly { readonly messageId: string; readonly receiptHandle: string }[]): Promise<number> {
    return this.hide(messages, 0, 'release');
  }

  /** Hides messages for `seconds` from now (a later retry); resolves with how many SQS accepted. */
  public postpone(messages: readonly { readonly messageId: string; readonly receiptHandle: string }[], seconds: number): Promise<number> {
    return this.hide(messages, seconds, 'postpone');
  }

  private async hide(messages: readonly { readonly messageId: string; readonly receiptHandle: string }[], seconds: number, what: string): Promise<number> {
    let accepted = 0;
    await Promise.all(chunks(messages, SQS_MAX_BATCH).map(async (batch) => {
      try {
        const out = await this.change(batch, seconds);
        accepted += out.Successful?.length ?? 0;
        for (const f of out.Failed ?? []) {
          this.options.logger.warn(`could not ${what} a message; it comes back after its visibility timeout instead`, { messageId: batch[Number(f.Id)]?.messageId, code: f.Code });
        }
      } catch (error) {
        this.options.onError(error);
      }
    }));
    return accepted;
  }

  /** Stops the timer (messages still tracked simply stop being extended). */
  public stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.kept.clear();
  }

  private beat(): void {
    const now = Date.now();
    const due = [...this.kept].filter((m) => !m.extending && m.visibleAt - now < this.timeoutMs / 2);
    for (const batch of chunks(due, SQS_MAX_BATCH)) void this.extend(batch);
  }

  private async extend(batch: KeptMessage[]): Promise<void> {
    const sentAt = Date.now();
    for (const m of batch) m.extending = true;
    try {
      const out = await this.change(batch, this.options.visibilityTimeoutSeconds);
      for (const ok of out.Successful ?? []) batch[Number(ok.Id)]!.visibleAt = sentAt + this.timeoutMs;
      for (const f of out.Failed ?? []) {
        const message = batch[Number(f.Id)]!;
        // A sender fault means the receipt handle no longer holds the message (it was deleted,
        // or it became visible and was received again): extending it again cannot help.
        if (f.SenderFault) {
          this.kept.delete(message);
          message.lost = true;
        }
        this.options.logger.warn('could not extend the visibility of a running job\'s message; another worker may receive it', {
          messageId: message.messageId,
          code: f.Code,
          message: f.Message,
        });
      }
    } catch (error) {
      this.options.onError(error);
    } finally {
      for (const m of batch) m.extending = false;
    }
  }

  private change(batch: readonly { readonly receiptHandle: string }[], visibilityTimeout: number) {
    return this.options.sender.send('ChangeMessageVisibilityBatch', new ChangeMessageVisibilityBatchCommand({
      QueueUrl: this.options.queueUrl,
      Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle, VisibilityTimeout: visibilityTimeout })),
    }));
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
