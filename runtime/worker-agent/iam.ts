/**
 * The agent's IAM contract: exactly the actions it calls, for the FleetWorker's instance role
 * to grant (and no more). A contract test records every SDK command the agent sends during a
 * realistic run and checks that they map onto these lists.
 */
import { AGENT_AUTOSCALING_ACTIONS, AGENT_DYNAMODB_ACTIONS, AGENT_SQS_ACTIONS } from '../../contracts/work-queue';

// The lists are the work-queue contract's (FleetWorker grants them); the runtime exports them too.
export { AGENT_AUTOSCALING_ACTIONS, AGENT_DYNAMODB_ACTIONS, AGENT_SQS_ACTIONS };

/** SDK commands whose IAM action is not their own name. */
const AUTHORIZED_BY: Readonly<Record<string, string>> = {
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
  'sqs:SendMessageBatch': 'sqs:SendMessage',
};

/**
 * The IAM action that authorizes an SDK command, e.g. `('sqs', 'DeleteMessageBatchCommand')` ->
 * `sqs:DeleteMessage`.
 */
export function iamActionOf(servicePrefix: 'sqs' | 'autoscaling' | 'dynamodb', commandName: string): string {
  const action = `${servicePrefix}:${commandName.replace(/Command$/, '')}`;
  return AUTHORIZED_BY[action] ?? action;
}
