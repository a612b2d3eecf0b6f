/**
 * The one encryption rule of every pattern, written once: data at rest is always encrypted; a
 * pattern's `encryption` enum picks how, and giving `encryptionKey` means KMS, as it does for
 * `sqs.Queue` and `s3.Bucket` (a key given and silently unused would be worse than either). An
 * `encryptionKey` with `encryption` set to anything but KMS is a conflict. A key the construct
 * creates has rotation on (AwsSolutions-KMS5) and the construct's removal policy.
 */
import type { RemovalPolicy } from 'aws-cdk-lib/core';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { PropRule } from './validation';

/** How a construct names its encryption props, for {@link resolveEncryption}. */
export interface EncryptionProps {
  /** The pattern's `encryption` value, when given. */
  readonly encryption?: string;
  /** The `encryptionKey`, when given. */
  readonly encryptionKey?: kms.IKey;
}

/** What {@link resolveEncryption} decided. */
export interface ResolvedEncryption<E extends string> {
  /** The encryption in force: the one given, else KMS with a key, else the pattern's default. */
  readonly encryption: E;
  /** True when the data is encrypted with a customer-managed KMS key. */
  readonly kms: boolean;
  /** The rule rows to check with the construct's other rules. */
  readonly rules: PropRule[];
}

/**
 * Resolves a pattern's encryption: `kmsValue` is its enum's KMS member (e.g.
 * `WorkQueueEncryption.KMS`), `defaultValue` what it uses without a key, `enumName` its enum's
 * name for the message.
 */
export function resolveEncryption<E extends string>(props: EncryptionProps, kmsValue: E, defaultValue: E, enumName: string): ResolvedEncryption<E> {
  const encryption = (props.encryption as E | undefined) ?? (props.encryptionKey !== undefined ? kmsValue : defaultValue);
  return {
    encryption,
    kms: encryption === kmsValue,
    rules: [{
      failed: props.encryptionKey !== undefined && encryption !== kmsValue,
      prop: 'encryptionKey',
      message: `means KMS encryption, but \`encryption\` is ${encryption}. Leave \`encryption\` out (a key means ${enumName}.${kmsValue}) or remove \`encryptionKey\`.`,
    }],
  };
}

/** Options of {@link newEncryptionKey}. */
export interface NewKeyOptions {
  /** What the key encrypts, as in "Encrypts the jobs of Stack/Jobs". */
  readonly description: string;
  /** @default - the key's own default (RETAIN) */
  readonly removalPolicy?: RemovalPolicy;
}

/** A new KMS key (`Key` under `scope`) with rotation on. */
export function newEncryptionKey(scope: Construct, options: NewKeyOptions): kms.Key {
  return new kms.Key(scope, 'Key', { enableKeyRotation: true, description: options.description, removalPolicy: options.removalPolicy });
}

/** The key to encrypt with: the one given, a new one when KMS is asked without a key, or none. */
export function encryptionKeyFor(scope: Construct, resolved: ResolvedEncryption<string>, given: kms.IKey | undefined, options: NewKeyOptions): kms.IKey | undefined {
  if (!resolved.kms) return undefined;
  return given ?? newEncryptionKey(scope, options);
}

/**
 * What DynamoDB asks of a caller for a table under a customer-managed key (it decrypts the table
 * key with the caller's permission), written once for every table of the catalog: no
 * `kms:GenerateDataKey*` or `kms:ReEncrypt*` wildcard, which fail AwsSolutions-IAM5.
 */
export const DYNAMODB_KEY_ACTIONS: readonly string[] = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];

/** Of {@link DYNAMODB_KEY_ACTIONS}, what a caller that only reads needs. */
export const DYNAMODB_KEY_READ_ACTIONS: readonly string[] = ['kms:Decrypt', 'kms:DescribeKey'];
