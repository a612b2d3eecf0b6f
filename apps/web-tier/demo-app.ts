/**
 * WebTierStack's demo app: a page that says which server answered, with a per-visitor counter
 * kept in a shared store (a DynamoDB table), so that any server can serve any visitor and a
 * server that goes away takes no state with it. A plain Node request handler; the web server
 * around it (runtime/web-server) does readiness, drain and logs.
 *
 * GET /          the page (HTML)
 * GET /api/visit the same as JSON: { server, pid, visitor, visits }
 */
import { randomUUID } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import { hostname } from 'os';
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { WEB_TIER_ENV } from '../../contracts/web-tier';
import { VISITS_TABLE_ENV } from './demo-app-env';

const COOKIE = 'visitor';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const dynamodb = new DynamoDBClient({});
const server = process.env[WEB_TIER_ENV.serverName] ?? hostname();

function tableName(): string {
  const name = process.env[VISITS_TABLE_ENV];
  if (!name) throw new Error(`${VISITS_TABLE_ENV} is not set`);
  return name;
}

/** The start-up hook: one read, so the table is reachable (and the connection warm) before the server reports ready. */
export async function start(): Promise<void> {
  await dynamodb.send(new GetItemCommand({ TableName: tableName(), Key: { visitor: { S: 'warm-up' } } }));
}

function visitorOf(req: IncomingMessage): string | undefined {
  const match = /(?:^|;\s*)visitor=([^;]+)/.exec(req.headers.cookie ?? '');
  return match && UUID.test(match[1]) ? match[1] : undefined;
}

/** Adds one visit for the visitor (an atomic counter: two servers at once both count). */
async function countVisit(visitor: string): Promise<number> {
  const out = await dynamodb.send(new UpdateItemCommand({
    TableName: tableName(),
    Key: { visitor: { S: visitor } },
    UpdateExpression: 'ADD visits :one',
    ExpressionAttributeValues: { ':one': { N: '1' } },
    ReturnValues: 'UPDATED_NEW',
  }));
  return Number(out.Attributes?.visits?.N ?? 0);
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The request handler. */
export async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' || (path !== '/' && path !== '/api/visit')) {
    res.statusCode = 404;
    res.end('not found\n');
    return;
  }
  const known = visitorOf(req);
  const visitor = known ?? randomUUID();
  const visits = await countVisit(visitor);
  if (!known) res.setHeader('Set-Cookie', `${COOKIE}=${visitor}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000`);
  res.setHeader('Cache-Control', 'no-store');
  if (path === '/api/visit') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ server, pid: process.pid, visitor, visits }));
    return;
  }
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cdk-cloud-patterns: web tier</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Served by ${escape(server)}</h1>
<p>Process ${process.pid} answered this request. Reload: the balancer spreads requests over every healthy server.</p>
<p>You have visited <strong>${visits}</strong> time${visits === 1 ? '' : 's'}. The count lives in a shared DynamoDB table, not on a server, so it is the same whichever server answers.</p>
</body></html>
`);
}
