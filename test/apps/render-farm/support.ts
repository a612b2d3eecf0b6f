/**
 * Test support for the render farm's web app in process against moto: everything RenderFarmStack
 * gives it (the session table and its secret, the records table and bucket, two queues, a user
 * pool and its client, the lock table), an app served on a loopback port, and a visitor with a
 * cookie jar and an address of its own (the X-Forwarded-For entry the balancer would add).
 */
import * as http from 'http';
import { randomUUID } from 'crypto';
import type { AddressInfo } from 'net';
import {
  CognitoIdentityProviderClient, CreateUserPoolClientCommand, CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCK_TABLE_ENV } from '../../../contracts/locks';
import { RENDER_FARM_ENV } from '../../../contracts/render-farm';
import { STORAGE_BUCKET_ENV, STORAGE_RECORDS_TABLE_ENV } from '../../../contracts/shared-storage';
import { createRenderFarmApp, type RenderFarmApp, type RenderFarmAppOptions } from '../../../apps/render-farm/web-app';
import { createWorkQueue } from '../../support/local-aws';
import { createSessionTable } from '../../support/session-table';
import { createBucket, createRecordsTable } from '../../support/storage-stack';
import { createLockTable } from '../../runtime/locks/support';

/** RenderFarmStack's password policy, as the pool's template has it. */
export const PASSWORD_POLICY = { MinimumLength: 12, RequireLowercase: true, RequireNumbers: true, RequireSymbols: true, RequireUppercase: true };
/** A password the policy takes. */
export const GOOD_PASSWORD = 'Render-farm-passw0rd';

/** Everything the stack gives the web app, made in moto; returns the app's environment. */
export async function renderFarmResources(aws: { readonly sqs: SQSClient; readonly dynamodb: DynamoDBClient }): Promise<{ env: NodeJS.ProcessEnv; secretArn: string; userPoolId: string }> {
  const tag = randomUUID().slice(0, 8);
  const secrets = new SecretsManagerClient({});
  const cognito = new CognitoIdentityProviderClient({});
  try {
    const secret = await secrets.send(new CreateSecretCommand({ Name: `cookie-key-${tag}`, SecretString: 'a-test-key-that-signs-the-session-cookies-0123456789' }));
    const pool = await cognito.send(new CreateUserPoolCommand({ PoolName: `users-${tag}`, Policies: { PasswordPolicy: PASSWORD_POLICY }, UsernameConfiguration: { CaseSensitive: false } }));
    const client = await cognito.send(new CreateUserPoolClientCommand({
      UserPoolId: pool.UserPool!.Id!, ClientName: 'web', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'], GenerateSecret: false,
    }));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SESSION_TABLE_NAME: await createSessionTable(aws.dynamodb),
      [STORAGE_BUCKET_ENV]: await createBucket(`renders-${tag}`),
      [STORAGE_RECORDS_TABLE_ENV]: await createRecordsTable(aws.dynamodb),
      [LOCK_TABLE_ENV]: await createLockTable(aws.dynamodb),
      [RENDER_FARM_ENV.sessionSecretArn]: secret.ARN!,
      [RENDER_FARM_ENV.plainHttp]: 'true',
      [RENDER_FARM_ENV.smallQueueUrl]: (await createWorkQueue(aws.sqs)).queueUrl,
      [RENDER_FARM_ENV.largeQueueUrl]: (await createWorkQueue(aws.sqs)).queueUrl,
      [RENDER_FARM_ENV.fleetGroupName]: 'no-such-group',
      [RENDER_FARM_ENV.userPoolId]: pool.UserPool!.Id!,
      [RENDER_FARM_ENV.userPoolClientId]: client.UserPoolClient!.ClientId!,
    };
    return { env, secretArn: secret.ARN!, userPoolId: pool.UserPool!.Id! };
  } finally {
    secrets.destroy();
    cognito.destroy();
  }
}

/** One server of the app, on a loopback port. */
export interface ServedApp {
  readonly url: string;
  readonly app: RenderFarmApp;
  close(): Promise<void>;
}

/** Serves one app (one "server") in process: what a handler throws is a 500. */
export async function serveApp(options: RenderFarmAppOptions): Promise<ServedApp> {
  const app = await createRenderFarmApp(options);
  const server = http.createServer((req, res) => {
    app.handler(req, res).catch((e: Error) => {
      if (!res.headersSent) res.statusCode = 500;
      res.end(e.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    app,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      app.close();
    },
  };
}

/** What a visitor's call returns. */
export interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly headers: Headers;
}

/** A visitor: a cookie jar of one session cookie, calling from `address` (as the balancer would forward it). */
export function visitor(url: string, address = '203.0.113.10') {
  let cookie = '';
  const call = async (path: string, body?: unknown, base = url): Promise<Answer> => {
    const res = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        'x-forwarded-for': address,
        ...(cookie ? { cookie } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    });
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0]!;
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = text ? JSON.parse(text) as Record<string, unknown> : {};
    } catch {
      json = { text };
    }
    return { status: res.status, json, headers: res.headers };
  };
  return {
    call,
    cookie: () => cookie,
    setCookie: (c: string) => { cookie = c; },
    signUp: (username: string, password = GOOD_PASSWORD) => call('/api/sign-up', { username, password }),
    signIn: (username: string, password = GOOD_PASSWORD) => call('/api/sign-in', { username, password }),
  };
}

/** The jobs waiting on a queue (taken for 30 s). */
export async function jobsOn(sqs: SQSClient, queueUrl: string) {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 1, VisibilityTimeout: 30 }));
  return (out.Messages ?? []).map((m) => ({ body: JSON.parse(m.Body!) as Record<string, unknown>, jobId: m.MessageAttributes?.jobId?.StringValue }));
}

/** A unique username. */
export const username = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
