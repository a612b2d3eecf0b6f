/**
 * Test support for the lock client: a lock table laid out as the LockTable construct makes it
 * (partition key from the contract), and a clock tests move by hand, per participant, so two
 * participants can disagree by a chosen skew.
 */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCK_ATTRIBUTES } from '../../../contracts/locks';
import type { LockClock } from '../../../runtime/locks';

/** Creates a lock table; returns its name. */
export async function createLockTable(dynamodb: DynamoDBClient, name = `locks-${Math.random().toString(36).slice(2, 8)}`): Promise<string> {
  await dynamodb.send(new CreateTableCommand({
    TableName: name,
    KeySchema: [{ AttributeName: LOCK_ATTRIBUTES.name, KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: LOCK_ATTRIBUTES.name, AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  return name;
}

/** True time for a test: every participant's clock reads it, plus its own skew. */
export class ManualTime {
  constructor(public ms = Date.UTC(2026, 0, 1, 2)) {}
  advance(ms: number): void {
    this.ms += ms;
  }
  /** A participant's clocks: its wall clock is `skewMs` ahead of true time; its monotonic clock runs with true time. */
  clock(skewMs = 0): LockClock {
    return { now: () => this.ms + skewMs, monotonic: () => this.ms };
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
