/**
 * The lock table, as the client uses it: every DynamoDB call the lock client makes is here, and
 * matches LOCK_DYNAMODB_ACTIONS (UpdateItem, GetItem). Each write is one conditional UpdateItem
 * on one record, which DynamoDB applies atomically; reads are strongly consistent. A condition
 * that fails returns the record as it is (ReturnValuesOnConditionCheckFailure), so waiting, and
 * recognizing our own write after a lost reply, cost no extra read.
 */
import {
  ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { LOCK_ATTRIBUTES as A } from '../../contracts/locks';
import { LockTableUnreachableError } from './errors';
import type { ResolvedClientOptions } from './types';

/** A record as the table holds it. */
export interface LockRecord {
  readonly token?: number;
  readonly owner?: string;
  readonly holder?: string;
  /** Epoch ms by the writer's clock; 0 once released. */
  readonly expiresAt: number;
}

/** The outcome of an attempt to take a lock. */
export type TakeOutcome =
  | { readonly taken: true; readonly token: number; readonly expiresAt: number }
  | { readonly taken: false; readonly current?: LockRecord };

const NAMES = {
  '#token': A.token, '#owner': A.owner, '#holder': A.holder, '#exp': A.expiresAt, '#lease': A.leaseMs, '#del': A.deleteAfter,
};

const num = (n: number): AttributeValue => ({ N: String(n) });

export class LockRecords {
  constructor(private readonly o: ResolvedClientOptions) {}

  /**
   * Takes the record `key` for `owner` if it is free (never taken, released, or its lease ended by
   * this client's clock), advancing its fencing counter in the same write. A reply lost after
   * DynamoDB applied it makes the SDK's retry fail its condition: the record then names our
   * owner, and the attempt is recognized as taken.
   */
  async take(key: string, owner: string, leaseMs: number): Promise<TakeOutcome> {
    const now = this.o.clock.now();
    const expiresAt = now + leaseMs;
    try {
      const out = await this.guard('acquire', key, () => this.o.dynamodb.send(new UpdateItemCommand({
        TableName: this.o.tableName,
        Key: { [A.name]: { S: key } },
        // A name seen for the first time starts its counter at the clock (see LOCK_ATTRIBUTES.token).
        UpdateExpression: 'SET #token = if_not_exists(#token, :base) + :one, #owner = :owner, #holder = :holder, #exp = :exp, #lease = :lease, #del = :del',
        ConditionExpression: 'attribute_not_exists(#exp) OR #exp <= :now',
        ExpressionAttributeNames: { '#token': NAMES['#token'], '#owner': NAMES['#owner'], '#holder': NAMES['#holder'], '#exp': NAMES['#exp'], '#lease': NAMES['#lease'], '#del': NAMES['#del'] },
        ExpressionAttributeValues: {
          ':base': num(now), ':one': num(1), ':owner': { S: owner }, ':holder': { S: this.o.holder },
          ':exp': num(expiresAt), ':lease': num(leaseMs), ':del': num(this.deleteAfter(expiresAt)), ':now': num(now),
        },
        ReturnValues: 'UPDATED_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return { taken: true, token: Number(out.Attributes?.[A.token]?.N), expiresAt };
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const current = e.Item ? parse(e.Item) : undefined;
      if (current?.owner === owner && current.token !== undefined) return { taken: true, token: current.token, expiresAt: current.expiresAt };
      return { taken: false, current };
    }
  }

  /**
   * Extends the lease of `owner`'s acquisition `token` to `leaseMs` from now. False when the
   * record is no longer ours (released, or taken by another acquisition), with the record as it is.
   */
  async renew(key: string, owner: string, token: number, leaseMs: number): Promise<{ readonly renewed: true; readonly expiresAt: number } | { readonly renewed: false; readonly current?: LockRecord }> {
    const expiresAt = this.o.clock.now() + leaseMs;
    try {
      await this.guard('renew', key, () => this.o.dynamodb.send(new UpdateItemCommand({
        TableName: this.o.tableName,
        Key: { [A.name]: { S: key } },
        UpdateExpression: 'SET #exp = :exp, #del = :del',
        ConditionExpression: '#owner = :owner AND #token = :token',
        ExpressionAttributeNames: { '#exp': NAMES['#exp'], '#del': NAMES['#del'], '#owner': NAMES['#owner'], '#token': NAMES['#token'] },
        ExpressionAttributeValues: { ':exp': num(expiresAt), ':del': num(this.deleteAfter(expiresAt)), ':owner': { S: owner }, ':token': num(token) },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return { renewed: true, expiresAt };
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      return { renewed: false, current: e.Item ? parse(e.Item) : undefined };
    }
  }

  /**
   * Ends `owner`'s acquisition `token`: the lease ends now and the owner is removed, the counter
   * stays. Never touches another acquisition's record. True when it released (or had released
   * already: a retried release after a lost reply), false when the record was not ours any more.
   */
  async release(key: string, owner: string, token: number): Promise<boolean> {
    const now = this.o.clock.now();
    try {
      await this.guard('release', key, () => this.o.dynamodb.send(new UpdateItemCommand({
        TableName: this.o.tableName,
        Key: { [A.name]: { S: key } },
        UpdateExpression: 'SET #exp = :zero, #del = :del REMOVE #owner, #holder',
        ConditionExpression: '#owner = :owner AND #token = :token',
        ExpressionAttributeNames: { '#exp': NAMES['#exp'], '#del': NAMES['#del'], '#owner': NAMES['#owner'], '#holder': NAMES['#holder'], '#token': NAMES['#token'] },
        ExpressionAttributeValues: { ':zero': num(0), ':del': num(this.deleteAfter(now)), ':owner': { S: owner }, ':token': num(token) },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      })));
      return true;
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const current = e.Item ? parse(e.Item) : undefined;
      // Our own earlier attempt (retried by the SDK after a lost reply) released it already.
      return current !== undefined && current.token === token && current.owner === undefined;
    }
  }

  /** The record, read strongly consistently; undefined when the name was never taken. */
  async read(key: string): Promise<LockRecord | undefined> {
    const out = await this.guard('inspect', key, () => this.o.dynamodb.send(new GetItemCommand({ TableName: this.o.tableName, Key: { [A.name]: { S: key } }, ConsistentRead: true })));
    return out.Item ? parse(out.Item) : undefined;
  }

  private deleteAfter(epochMs: number): number {
    return Math.ceil(epochMs / 1000) + this.o.retentionSeconds;
  }

  /** Sends a command; a failure other than a failed condition means the table could not be reached. */
  private async guard<T>(operation: string, key: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) throw e;
      throw new LockTableUnreachableError(operation, key, e);
    }
  }
}

function parse(item: Record<string, AttributeValue>): LockRecord {
  const token = item[A.token]?.N;
  return {
    ...(token !== undefined ? { token: Number(token) } : {}),
    ...(item[A.owner]?.S !== undefined ? { owner: item[A.owner]!.S } : {}),
    ...(item[A.holder]?.S !== undefined ? { holder: item[A.holder]!.S } : {}),
    expiresAt: Number(item[A.expiresAt]?.N ?? 0),
  };
}
