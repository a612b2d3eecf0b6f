/**
 * SharedRecords: small shared records in the SharedStorage table, with optimistic concurrency.
 * Every record carries a version; every write is conditional on the version it read, so two
 * writers never lose an update: the second one's write fails and `update` re-reads and retries.
 * Writes carry a write id, so a write retried by the SDK after a lost response recognizes its
 * own success instead of reporting a conflict (no write applied twice, none misreported).
 */
import { randomUUID } from 'crypto';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  RECORD_DATA_ATTRIBUTE, RECORD_ID_ATTRIBUTE, RECORD_VERSION_ATTRIBUTE, RECORD_WRITE_ID_ATTRIBUTE, STORAGE_RECORDS_TABLE_ENV,
  STORAGE_RECORDS_TTL_ATTRIBUTE_ENV,
} from '../../contracts/shared-storage';
import { NotFoundError, RecordConflictError, StorageOptionsError } from './errors';

/** A record as stored: its id, its version (1 after the first write) and its data. */
export interface SharedRecord<T> {
  readonly id: string;
  readonly version: number;
  readonly data: T;
}

/** Options of {@link SharedRecords}. */
export interface SharedRecordsOptions {
  /** The table's name. */
  readonly tableName: string;
  /** The DynamoDB client. @default - a client from the environment */
  readonly dynamodb?: DynamoDBClient;
  /**
   * The table's TTL attribute, to let records expire (`expiresInSeconds` of a write).
   *
   * @default - records do not expire
   */
  readonly timeToLiveAttribute?: string;
  /**
   * How many times `update` re-reads and retries after losing to another writer.
   *
   * @default 10
   */
  readonly maxUpdateAttempts?: number;
}

/** Options of a write. */
export interface WriteOptions {
  /** The record expires this many seconds from now (needs `timeToLiveAttribute`). @default - never */
  readonly expiresInSeconds?: number;
}

/** A table of shared records with optimistic concurrency. */
export class SharedRecords<T extends Record<string, unknown> = Record<string, unknown>> {
  /** A client of the table named by the environment SharedStorage sets on the code that runs it. */
  static fromEnvironment<T extends Record<string, unknown> = Record<string, unknown>>(
    options: Omit<SharedRecordsOptions, 'tableName' | 'timeToLiveAttribute'> = {},
    env: NodeJS.ProcessEnv = process.env,
  ): SharedRecords<T> {
    const tableName = env[STORAGE_RECORDS_TABLE_ENV];
    if (!tableName) {
      throw new StorageOptionsError(`${STORAGE_RECORDS_TABLE_ENV} is not set: create SharedStorage with \`records: true\` and give this code its \`environment\`.`);
    }
    return new SharedRecords<T>({ ...options, tableName, timeToLiveAttribute: env[STORAGE_RECORDS_TTL_ATTRIBUTE_ENV] || undefined });
  }

  readonly tableName: string;
  private readonly doc: DynamoDBDocumentClient;
  private readonly ttlAttribute?: string;
  private readonly maxAttempts: number;

  constructor(options: SharedRecordsOptions) {
    if (!options.tableName) throw new StorageOptionsError(`tableName must be a table name, received ${JSON.stringify(options.tableName)}.`);
    const attempts = options.maxUpdateAttempts ?? 10;
    if (!Number.isInteger(attempts) || attempts < 1) throw new StorageOptionsError(`maxUpdateAttempts must be an integer of at least 1, received ${attempts}.`);
    this.tableName = options.tableName;
    this.doc = DynamoDBDocumentClient.from(options.dynamodb ?? new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
    this.ttlAttribute = options.timeToLiveAttribute;
    this.maxAttempts = attempts;
  }

  /** The record, or undefined when there is none (a strongly consistent read). */
  async get(id: string): Promise<SharedRecord<T> | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [RECORD_ID_ATTRIBUTE]: id }, ConsistentRead: true }));
    if (!out.Item) return undefined;
    return { id, version: out.Item[RECORD_VERSION_ATTRIBUTE] as number, data: out.Item[RECORD_DATA_ATTRIBUTE] as T };
  }

  /**
   * Creates a record at version 1 under a new UUID (or `id`); RecordConflictError when a record
   * with that id exists.
   */
  async create(data: T, options: WriteOptions & { readonly id?: string } = {}): Promise<SharedRecord<T>> {
    return this.write(options.id ?? randomUUID(), data, 0, options);
  }

  /**
   * Replaces the data of the record at `expectedVersion` (the version you read); RecordConflictError
   * when another writer changed it since, NotFoundError when it is gone.
   */
  async replace(id: string, data: T, expectedVersion: number, options: WriteOptions = {}): Promise<SharedRecord<T>> {
    return this.write(id, data, expectedVersion, options);
  }

  /**
   * Reads the record, applies `change` to its data and writes the result conditionally; when
   * another writer got there first, reads again and re-applies, up to `maxUpdateAttempts` times.
   * `change` may run more than once, so it must only compute (no side effects).
   */
  async update(id: string, change: (current: T) => T, options: WriteOptions = {}): Promise<SharedRecord<T>> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(id);
      if (!current) throw new NotFoundError(`no record ${id} in ${this.tableName}.`, id);
      try {
        return await this.write(id, change(current.data), current.version, options);
      } catch (e) {
        if (!(e instanceof RecordConflictError) || attempt >= this.maxAttempts) throw e;
        // Lost to another writer: a short random pause spreads the retries of the writers apart.
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
      }
    }
  }

  /** Deletes the record if it is still at `expectedVersion`; RecordConflictError otherwise. */
  async delete(id: string, expectedVersion: number): Promise<void> {
    try {
      await this.doc.send(new DeleteCommand({
        TableName: this.tableName,
        Key: { [RECORD_ID_ATTRIBUTE]: id },
        ConditionExpression: '#v = :v',
        ExpressionAttributeNames: { '#v': RECORD_VERSION_ATTRIBUTE },
        ExpressionAttributeValues: { ':v': expectedVersion },
      }));
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const now = await this.get(id);
      if (!now) return; // gone already: what a retried delete of ours would find
      throw new RecordConflictError(`record ${id} is at version ${now.version}, not ${expectedVersion}: it was not deleted.`, id, expectedVersion);
    }
  }

  /** A PutItem conditional on the version read (0: must not exist), tagged with a write id. */
  private async write(id: string, data: T, expectedVersion: number, options: WriteOptions): Promise<SharedRecord<T>> {
    if (options.expiresInSeconds !== undefined && !this.ttlAttribute) {
      throw new StorageOptionsError('expiresInSeconds needs the table\'s TTL attribute: pass `timeToLiveAttribute` (SharedStorage sets it in the environment with `recordsTimeToLiveAttribute`).');
    }
    const writeId = randomUUID();
    const version = expectedVersion + 1;
    const item: Record<string, unknown> = {
      [RECORD_ID_ATTRIBUTE]: id,
      [RECORD_VERSION_ATTRIBUTE]: version,
      [RECORD_DATA_ATTRIBUTE]: data,
      [RECORD_WRITE_ID_ATTRIBUTE]: writeId,
    };
    if (options.expiresInSeconds !== undefined && this.ttlAttribute) item[this.ttlAttribute] = Math.floor(Date.now() / 1000) + options.expiresInSeconds;
    try {
      await this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(#id)' : '#v = :v',
        ExpressionAttributeNames: expectedVersion === 0 ? { '#id': RECORD_ID_ATTRIBUTE } : { '#v': RECORD_VERSION_ATTRIBUTE },
        ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ':v': expectedVersion },
      }));
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const stored = (await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { [RECORD_ID_ATTRIBUTE]: id }, ConsistentRead: true }))).Item;
      // Our own earlier attempt (retried by the SDK after a lost response) already wrote it.
      if (stored?.[RECORD_WRITE_ID_ATTRIBUTE] === writeId) return { id, version, data };
      if (!stored && expectedVersion > 0) throw new NotFoundError(`no record ${id} in ${this.tableName}: it was deleted.`, id);
      throw new RecordConflictError(
        expectedVersion === 0
          ? `a record ${id} already exists in ${this.tableName}.`
          : `record ${id} is at version ${stored?.[RECORD_VERSION_ATTRIBUTE]}, not ${expectedVersion}: another writer changed it. Read it again and reapply your change (update() does).`,
        id, expectedVersion,
      );
    }
    return { id, version, data };
  }
}
