/** Sends the agent's SQS requests and counts them by kind, for the worker's stats. */
import type {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityBatchCommandOutput,
  DeleteMessageBatchCommand,
  DeleteMessageBatchCommandOutput,
  ReceiveMessageCommand,
  ReceiveMessageCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SqsRequestKind } from './errors';

/** Requests sent so far, by kind. */
export type SqsRequestCounts = Record<SqsRequestKind, number>;

interface Commands {
  readonly ReceiveMessage: readonly [ReceiveMessageCommand, ReceiveMessageCommandOutput];
  readonly DeleteMessageBatch: readonly [DeleteMessageBatchCommand, DeleteMessageBatchCommandOutput];
  readonly ChangeMessageVisibilityBatch: readonly [ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityBatchCommandOutput];
}

/** The one door through which the agent talks to SQS. */
export class SqsSender {
  public readonly counts: SqsRequestCounts = { ReceiveMessage: 0, DeleteMessageBatch: 0, ChangeMessageVisibilityBatch: 0 };

  constructor(private readonly sqs: SQSClient) {}

  /** Sends `command`, counting it as `kind`; `abortSignal` cancels a long poll on stop. */
  public send<K extends SqsRequestKind>(kind: K, command: Commands[K][0], abortSignal?: AbortSignal): Promise<Commands[K][1]> {
    this.counts[kind] += 1;
    // SQSClient.send is overloaded per command type; a union of commands matches no single overload.
    const send = this.sqs.send.bind(this.sqs) as (c: Commands[K][0], o?: { abortSignal?: AbortSignal }) => Promise<Commands[K][1]>;
    return send(command, abortSignal ? { abortSignal } : undefined);
  }
}
