/**
 * SharedStorage's resources made directly on moto: a bucket and a records table laid out as the
 * construct makes them, and SharedStorageStack's whole set (a versioned bucket whose
 * object-created events under incoming/ go to a work queue, and a records table) with the
 * stack's worker (lambda/shared-storage/derive-result.ts) configured through its environment.
 */
import { randomUUID } from 'crypto';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { RECORD_ID_ATTRIBUTE, STORAGE_BUCKET_ENV, STORAGE_RECORDS_TABLE_ENV, STORAGE_STACK_INCOMING_PREFIX } from '../../contracts/shared-storage';
import { defaultS3Config } from '../../runtime/storage';
import { createWorkQueue, type LocalAws } from './local-aws';

/** A records table as SharedStorage makes it (partition key `id`, on demand); resolves to its name. */
export async function createRecordsTable(dynamodb: DynamoDBClient, name = `records-${randomUUID().slice(0, 8)}`): Promise<string> {
  await dynamodb.send(new CreateTableCommand({
    TableName: name,
    KeySchema: [{ AttributeName: RECORD_ID_ATTRIBUTE, KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: RECORD_ID_ATTRIBUTE, AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  return name;
}

/** A bucket on the embedded AWS (the client's own S3 settings); resolves to its name. */
export async function createBucket(name = `bucket-${randomUUID().slice(0, 8)}`): Promise<string> {
  const s3 = new S3Client(defaultS3Config());
  try {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    s3.destroy();
  }
  return name;
}

/** What {@link createStorageStackResources} made. */
export interface StorageStackResources {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly table: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

/** Makes the resources with names from `name` (a queue whose visibility timeout is 20 s and maxReceiveCount 3 unless given), and points the worker's environment at them. Destroy `s3` after. */
export async function createStorageStackResources(aws: LocalAws, name: string, options: { readonly visibilityTimeout?: number; readonly maxReceiveCount?: number } = {}): Promise<StorageStackResources> {
  const s3 = new S3Client({ forcePathStyle: true });
  const bucket = `${name}-bucket`;
  const table = `${name}-records`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  await createRecordsTable(aws.dynamodb, table);
  const { queueUrl, deadLetterQueueUrl } = await createWorkQueue(aws.sqs, { name, visibilityTimeout: options.visibilityTimeout ?? 20, maxReceiveCount: options.maxReceiveCount });
  await s3.send(new PutBucketNotificationConfigurationCommand({
    Bucket: bucket,
    NotificationConfiguration: {
      QueueConfigurations: [{
        QueueArn: `arn:aws:sqs:us-east-1:123456789012:${queueUrl.split('/').pop()}`,
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: STORAGE_STACK_INCOMING_PREFIX }] } },
      }],
    },
  }));
  process.env[STORAGE_BUCKET_ENV] = bucket;
  process.env[STORAGE_RECORDS_TABLE_ENV] = table;
  return { s3, bucket, table, queueUrl, deadLetterQueueUrl };
}
