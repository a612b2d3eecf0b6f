/**
 * Runs a job definition as a Lambda SQS handler with Powertools' batch processor: records run
 * in parallel, and only the failed ones are returned in `batchItemFailures` (FIFO queues stop
 * at the first failure so that order holds).
 */
import { BatchProcessor, EventType, SqsFifoPartialProcessorAsync, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { JOB_ID_ATTRIBUTE } from './environment';
import { JobRunner, idempotencyFromEnv } from './job-runner';
import type { JobDefinition, JobMessage } from './types';

/** A Lambda handler for SQS events with partial batch responses. */
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** The common message shape of a Lambda SQS record. */
export function messageFromRecord(record: SQSRecord): JobMessage {
  return {
    messageId: record.messageId,
    body: record.body,
    receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
    jobIdAttribute: record.messageAttributes?.[JOB_ID_ATTRIBUTE]?.stringValue,
  };
}

/** Builds the Lambda handler of a job definition; the runner is created on the first event. */
export function lambdaHandlerFor<T, R>(definition: JobDefinition<T, R>): SqsBatchHandler {
  let runner: JobRunner<T, R> | undefined;
  return async (event, context) => {
    runner ??= new JobRunner(definition, idempotencyFromEnv());
    const deadline = Date.now() + context.getRemainingTimeInMillis();
    const recordHandler = async (record: SQSRecord) => {
      const outcome = await runner!.run(messageFromRecord(record), deadline);
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    };
    const fifo = event.Records[0]?.eventSourceARN?.endsWith('.fifo') ?? false;
    const processor = fifo ? new SqsFifoPartialProcessorAsync() : new BatchProcessor(EventType.SQS);
    return processPartialResponse(event, recordHandler, processor, { context }) as Promise<SQSBatchResponse>;
  };
}
