/**
 * The names documentation samples use without declaring them (see preamble.ts, which makes them at
 * synth). Only the README sample type-check reads this file: the project's tsconfig excludes it,
 * so no test of ours can lean on these globals.
 */
import type { App, Stack } from 'aws-cdk-lib/core';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { BootStep, WorkQueue } from 'cdk-cloud-patterns';

declare global {
  /** The stack a construct sample adds to (a sample may also make its own App and Stack). */
  const stack: Stack;
  /** The app of `stack`, for a sample that adds stacks of its own. */
  const app: App;
  /** A VPC of the user's, with public and private subnets. */
  const vpc: ec2.IVpc;
  /** A queue of the user's. */
  const queue: sqs.IQueue;
  /** Another work queue of the user's. */
  const previews: WorkQueue;
  /** A function of the user's that sends jobs. */
  const apiFunction: lambda.IFunction;
  /** A table of the user's, for results. */
  const resultsTable: dynamodb.ITable;
  /** A secret of the user's. */
  const dbSecret: secretsmanager.ISecret;
  /** Boot steps of the user's. */
  const steps: BootStep[];
  /** The user's own code that a job handler sample calls. */
  function download(key: string, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
  function upload(key: string, body: Uint8Array): Promise<void>;
  function resize(image: Uint8Array, width: number): Promise<Uint8Array>;
  /** The user's job type. */
  interface Resize { key: string; width: number }
}
