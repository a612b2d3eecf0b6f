/**
 * The rules a LockTable's props and a lock table's imported attributes must follow, as rows of
 * `{ failed, prop, message }` (lib/core/validation.ts), so each check sits next to its message.
 */
import { Token } from 'aws-cdk-lib/core';
import type { PropRule } from '../core/validation';
import type { LockTableAttributes, LockTableProps } from './props';

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/** The rules of LockTable's props. */
export function lockTableRules(props: LockTableProps): PropRule[] {
  return [
    {
      failed: props.tableName !== undefined && !Token.isUnresolved(props.tableName) && !TABLE_NAME.test(props.tableName),
      prop: 'tableName',
      message: `must be 3 to 255 letters, digits, underscores, hyphens or dots, received "${props.tableName}".`,
    },
  ];
}

/** The rules of LockTable.fromLockTableAttributes' attributes. */
export function lockTableAttributeRules(attrs: LockTableAttributes): PropRule[] {
  const known = (v: string | undefined) => v !== undefined && !Token.isUnresolved(v);
  return [
    {
      failed: (attrs.tableArn === undefined) === (attrs.tableName === undefined),
      prop: 'tableArn + tableName',
      message: `give exactly one of them, received ${attrs.tableArn === undefined ? 'neither' : 'both'}.`,
    },
    {
      failed: known(attrs.tableArn) && !/^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/[A-Za-z0-9_.-]{3,255}$/.test(attrs.tableArn!),
      prop: 'tableArn',
      message: `must be a DynamoDB table ARN like "arn:aws:dynamodb:eu-west-1:123456789012:table/locks", received "${attrs.tableArn}".`,
    },
    {
      failed: known(attrs.tableName) && !TABLE_NAME.test(attrs.tableName!),
      prop: 'tableName',
      message: `must be 3 to 255 letters, digits, underscores, hyphens or dots, received "${attrs.tableName}".`,
    },
  ];
}
