/**
 * The agent's IAM contract: exactly the actions it calls, for the FleetWorker's instance role
 * to grant (and no more). A contract test records every SDK command the agent sends during a
 * realistic run and checks that they map onto these lists.
 */

/** SQS actions of the agent. DeleteMessageBatch and ChangeMessageVisibilityBatch are authorized by the singular actions. */
export const AGENT_SQS_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'] as const;

/** Auto Scaling actions of the agent on a fleet: scale-in protection and the termination lifecycle hook. */
export const AGENT_AUTOSCALING_ACTIONS = ['autoscaling:SetInstanceProtection', 'autoscaling:CompleteLifecycleAction'] as const;

/**
 * DynamoDB actions of the idempotency layer (Powertools' DynamoDBPersistenceLayer) on its table.
 * GetItem is its fallback when a conditional write does not return the existing record.
 */
export const AGENT_DYNAMODB_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;

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
