/**
 * Test support for the session library: a session table laid out as the SessionStore construct
 * makes it (key, user index and its projection from the shared contract), and DynamoDB clients
 * that record every command they send (for the IAM contract and request counts).
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESSION_ATTRIBUTES as A, SESSION_USER_INDEX_NAME, SESSION_USER_INDEX_PROJECTION } from '../../contracts/session-store';

/** Creates a session table with the user index; returns its name. */
export async function createSessionTable(dynamodb: DynamoDBClient, name = `sessions-${Math.random().toString(36).slice(2, 8)}`): Promise<string> {
  await dynamodb.send(new CreateTableCommand({
    TableName: name,
    KeySchema: [{ AttributeName: A.key, KeyType: 'HASH' }],
    AttributeDefinitions: [
      { AttributeName: A.key, AttributeType: 'S' },
      { AttributeName: A.userId, AttributeType: 'S' },
      { AttributeName: A.createdAt, AttributeType: 'N' },
    ],
    GlobalSecondaryIndexes: [{
      IndexName: SESSION_USER_INDEX_NAME,
      KeySchema: [{ AttributeName: A.userId, KeyType: 'HASH' }, { AttributeName: A.createdAt, KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...SESSION_USER_INDEX_PROJECTION] },
    }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  return name;
}

/** A DynamoDB client (SDK defaults: the moto endpoint from the environment) that appends each command's name to `into`. */
export function recordingClient(into: string[]): DynamoDBClient {
  const client = new DynamoDBClient({});
  (client.middlewareStack as { add: (mw: unknown, options: unknown) => void }).add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName: string }) => async (args: unknown) => {
      into.push(context.commandName);
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return client;
}

/** A clock tests move by hand (epoch ms). */
export function manualClock(start = Date.UTC(2026, 0, 1, 9)): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; }, set: (ms) => { t = ms; } };
}
