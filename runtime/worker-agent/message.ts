/** Maps a message from SQS's ReceiveMessage to the runtime's JobMessage (what lambda-adapter does for Lambda records). */
import type { Message } from '@aws-sdk/client-sqs';
import { JOB_ID_ATTRIBUTE } from '../jobs/environment';
import type { JobMessage } from '../jobs/types';

/** What a ReceiveMessage request must ask for so that {@link messageFromSqs} has everything. */
export const RECEIVE_ATTRIBUTES: { MessageAttributeNames: string[]; MessageSystemAttributeNames: 'ApproximateReceiveCount'[] } = {
  MessageAttributeNames: [JOB_ID_ATTRIBUTE],
  MessageSystemAttributeNames: ['ApproximateReceiveCount'],
};

/** The common message shape of a message received from SQS. */
export function messageFromSqs(message: Message): JobMessage {
  return {
    messageId: message.MessageId ?? '',
    body: message.Body ?? '',
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    jobIdAttribute: message.MessageAttributes?.[JOB_ID_ATTRIBUTE]?.StringValue,
  };
}
