/**
 * A local stand-in for Lambda's SQS event source mapping: it polls a queue, builds the SQS
 * event Lambda would (batch size, batching window, maximum concurrency), invokes the handler
 * and deletes what succeeded. With ReportBatchItemFailures only the reported records stay;
 * a thrown error (or a bad response) leaves the whole batch, exactly as Lambda does, and the
 * records come back after the visibility timeout.
 */
import { randomUUID } from 'crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** Calls the function with an event, as Lambda would; resolves to its response. */
export type Invoke = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | undefined>;

/** The mapping's settings, as deployed. */
export interface SqsEventSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly invoke: Invoke;
  /** @default 10 */
  readonly batchSize?: number;
  /** Seconds to gather a batch. @default 0 */
  readonly maxBatchingWindowSeconds?: number;
  /** Concurrent invocations at most. @default 5 (Lambda's initial pollers) */
  readonly maxConcurrency?: number;
  /** Whether the function reports failed records. @default true */
  readonly reportBatchItemFailures?: boolean;
  /** The function's timeout in seconds (the context's remaining time). @default 30 */
  readonly functionTimeoutSeconds?: number;
  /** Name of the function (in the context). @default 'local-function' */
  readonly functionName?: string;
  /** Called after each invocation. */
  readonly onInvoke?: (outcome: InvocationOutcome) => void;
  /** Long-poll wait per receive, in seconds. @default 20 (as Lambda's pollers; a stop cancels the receives in flight) */
  readonly waitTimeSeconds?: number;
}

/** What one invocation did. */
export interface InvocationOutcome {
  readonly records: number;
  readonly deleted: number;
  readonly failed: number;
  readonly error?: unknown;
}

/** A running event source; `stop()` ends polling and waits for running invocations. */
export interface RunningEventSource {
  stop(): Promise<void>;
  /** Invocations so far. */
  readonly invocations: number;
  /** ReceiveMessage calls that SQS answered so far. */
  readonly receives: number;
  /** ReceiveMessage calls made so far, answered or still waiting (a long poll waits up to its wait time). */
  readonly receivesStarted: number;
  /** The last receive that failed (a queue that does not exist, a refusal), if one did. */
  readonly lastReceiveError?: Error;
}

/** Starts polling `queueUrl` and invoking the function. */
export function startSqsEventSource(options: SqsEventSourceOptions): RunningEventSource {
  const batchSize = options.batchSize ?? 10;
  const windowMs = (options.maxBatchingWindowSeconds ?? 0) * 1000;
  const concurrency = Math.max(1, options.maxConcurrency ?? 5);
  const report = options.reportBatchItemFailures ?? true;
  const timeoutMs = (options.functionTimeoutSeconds ?? 30) * 1000;
  const wait = options.waitTimeSeconds ?? 20;
  let stopped = false;
  // Cancels the long polls in flight when the source stops, so that a stop does not wait for them.
  const stopping = new AbortController();
  let invocations = 0;
  let receives = 0;
  let receivesStarted = 0;
  let lastReceiveError: Error | undefined;
  let queueArn: string | undefined;
  const region = typeof options.sqs.config.region === 'string' ? options.sqs.config.region : 'us-east-1';

  const arn = async () => {
    if (queueArn) return queueArn;
    const out = await options.sqs.send(new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ['QueueArn'] }));
    return (queueArn = out.Attributes?.QueueArn ?? options.queueUrl);
  };

  const receiveBatch = async (): Promise<Message[]> => {
    const messages: Message[] = [];
    const until = Date.now() + windowMs;
    do {
      receivesStarted++;
      const out = await options.sqs.send(new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
        WaitTimeSeconds: messages.length === 0 ? wait : 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }), { abortSignal: stopping.signal }).catch((e: Error) => {
        lastReceiveError = e;
        throw e;
      });
      receives++;
      lastReceiveError = undefined;
      messages.push(...(out.Messages ?? []));
      if ((out.Messages ?? []).length === 0 && messages.length > 0 && Date.now() >= until) break;
    } while (!stopped && messages.length > 0 && messages.length < batchSize && Date.now() < until);
    return messages;
  };

  const invokeOnce = async (messages: Message[]) => {
    const eventSourceARN = await arn();
    const event: SQSEvent = { Records: messages.map((m) => toRecord(m, eventSourceARN, region)) };
    const started = Date.now();
    const context = lambdaContext(options.functionName ?? 'local-function', () => timeoutMs - (Date.now() - started));
    invocations++;
    let failedIds: Set<string>;
    let error: unknown;
    try {
      const response = await withTimeout(options.invoke(event, context), timeoutMs);
      failedIds = report ? failedFromResponse(response, event) : new Set();
    } catch (e) {
      error = e;
      failedIds = new Set(event.Records.map((r) => r.messageId));
    }
    const toDelete = messages.filter((m) => !failedIds.has(m.MessageId!));
    if (toDelete.length > 0) {
      await options.sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: toDelete.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }));
    }
    options.onInvoke?.({ records: messages.length, deleted: toDelete.length, failed: failedIds.size, error });
  };

  const poller = async () => {
    while (!stopped) {
      try {
        const messages = await receiveBatch();
        if (messages.length > 0) await invokeOnce(messages);
      } catch (e) {
        if (stopped) break;
        options.onInvoke?.({ records: 0, deleted: 0, failed: 0, error: e });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };

  const running = Array.from({ length: concurrency }, () => poller());
  return {
    get invocations() {
      return invocations;
    },
    get receives() {
      return receives;
    },
    get receivesStarted() {
      return receivesStarted;
    },
    get lastReceiveError() {
      return lastReceiveError;
    },
    async stop() {
      stopped = true;
      stopping.abort();
      await Promise.all(running);
    },
  };
}

/**
 * The failed records of a response, as Lambda reads them: an itemIdentifier that is empty or
 * not in the batch makes the whole batch fail.
 */
function failedFromResponse(response: SQSBatchResponse | void | undefined, event: SQSEvent): Set<string> {
  const all = new Set(event.Records.map((r) => r.messageId));
  const failures = response?.batchItemFailures ?? [];
  const ids = new Set<string>();
  for (const f of failures) {
    if (!f.itemIdentifier || !all.has(f.itemIdentifier)) return all;
    ids.add(f.itemIdentifier);
  }
  return ids;
}

/** An SQS record in the shape Lambda gives it. */
export function toRecord(m: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const a = m.Attributes ?? {};
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, v] of Object.entries(m.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: v.DataType ?? 'String',
      ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
      ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
    },
    messageAttributes,
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}

/** A Lambda context object for a local invocation. */
export function lambdaContext(functionName: string, remaining: () => number): Context {
  const fail = () => {
    throw new Error('callback-style completion is not supported: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, remaining()),
    done: fail,
    fail,
    succeed: fail,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Task timed out after ${(ms / 1000).toFixed(2)} seconds`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
