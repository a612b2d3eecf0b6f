/**
 * Fencing in a DynamoDB table the lock protects: a PutItem or UpdateItem that also stores the
 * writer's fencing token, conditional on the item's stored token not being higher. DynamoDB
 * checks the condition and applies the write atomically, so once a newer holder has written,
 * every write of an older one is refused (FencedOutError), however long it was paused.
 *
 * Holds when every writer of the item goes through these helpers (a plain write leaves no token,
 * and the next fenced write of any token passes). A token equal to the stored one passes: it is
 * the same acquisition writing again.
 */
import {
  ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand,
  type DynamoDBClient, type PutItemCommandInput, type PutItemCommandOutput, type UpdateItemCommandInput, type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { FENCING_TOKEN_ATTRIBUTE } from '../../contracts/locks';
import { FencedOutError, LockOptionsError } from './errors';

/** Options of the DynamoDB fencing helpers. */
export interface DynamoDBFenceOptions {
  /**
   * The item attribute that keeps the token of the latest write.
   *
   * @default "fencingToken"
   */
  readonly attribute?: string;
}

/** The placeholders the fence adds to an expression (unlikely to meet a caller's own). */
const NAME = '#lockFencingToken';
const VALUE = ':lockFencingToken';

function checkToken(token: number): void {
  if (!Number.isSafeInteger(token) || token < 1) throw new LockOptionsError([`token: must be a lock's fencing token (a positive whole number), received ${String(token)}.`]);
}

/** The caller's condition (if any) AND the fence. */
function fencedCondition(own: string | undefined): string {
  const fence = `(attribute_not_exists(${NAME}) OR ${NAME} <= ${VALUE})`;
  return own ? `(${own}) AND ${fence}` : fence;
}

/** Turns a failed condition into FencedOutError when the fence failed it, else rethrows. */
function refusal(e: unknown, resource: string, token: number, attribute: string): never {
  if (e instanceof ConditionalCheckFailedException) {
    const stored = Number(e.Item?.[attribute]?.N);
    if (Number.isFinite(stored) && stored > token) throw new FencedOutError(resource, token, stored);
  }
  throw e;
}

/**
 * PutItem with the item's fencing token set to `token`, refused with FencedOutError when the
 * stored item carries a higher one. The input's own ConditionExpression still applies (its
 * failure is rethrown as ConditionalCheckFailedException).
 */
export async function putItemFenced(dynamodb: DynamoDBClient, input: PutItemCommandInput, token: number, options: DynamoDBFenceOptions = {}): Promise<PutItemCommandOutput> {
  checkToken(token);
  const attribute = options.attribute ?? FENCING_TOKEN_ATTRIBUTE;
  try {
    return await dynamodb.send(new PutItemCommand({
      ...input,
      Item: { ...input.Item, [attribute]: { N: String(token) } },
      ConditionExpression: fencedCondition(input.ConditionExpression),
      ExpressionAttributeNames: { ...input.ExpressionAttributeNames, [NAME]: attribute },
      ExpressionAttributeValues: { ...input.ExpressionAttributeValues, [VALUE]: { N: String(token) } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }));
  } catch (e) {
    refusal(e, `item ${JSON.stringify(input.Item)} of ${input.TableName}`, token, attribute);
  }
}

/**
 * UpdateItem that also sets the item's fencing token to `token`, refused with FencedOutError
 * when the stored item carries a higher one. The input's UpdateExpression gets the token in
 * its SET clause (one is added when it has none); its own condition still applies.
 */
export async function updateItemFenced(dynamodb: DynamoDBClient, input: UpdateItemCommandInput, token: number, options: DynamoDBFenceOptions = {}): Promise<UpdateItemCommandOutput> {
  checkToken(token);
  const attribute = options.attribute ?? FENCING_TOKEN_ATTRIBUTE;
  const own = input.UpdateExpression ?? '';
  const set = /\bSET\b/i.exec(own);
  const updateExpression = set
    ? `${own.slice(0, set.index + set[0].length)} ${NAME} = ${VALUE},${own.slice(set.index + set[0].length)}`
    : `SET ${NAME} = ${VALUE} ${own}`.trim();
  try {
    return await dynamodb.send(new UpdateItemCommand({
      ...input,
      UpdateExpression: updateExpression,
      ConditionExpression: fencedCondition(input.ConditionExpression),
      ExpressionAttributeNames: { ...input.ExpressionAttributeNames, [NAME]: attribute },
      ExpressionAttributeValues: { ...input.ExpressionAttributeValues, [VALUE]: { N: String(token) } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }));
  } catch (e) {
    refusal(e, `item ${JSON.stringify(input.Key)} of ${input.TableName}`, token, attribute);
  }
}
