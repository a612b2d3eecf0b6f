/**
 * WebTierStack's demo app: a page that says which server answered, with a per-visitor counter
 * kept in the visitor's session in the SessionStore table (runtime/sessions), so that any server
 * can serve any visitor and a server that goes away takes no state with it. A plain Node request
 * handler; the web server around it (runtime/web-server) does readiness, drain and logs.
 *
 * GET /          the page (HTML)
 * GET /api/visit the same as JSON: { server, pid, visits }
 */
import type { IncomingMessage, ServerResponse } from 'http';
import { hostname } from 'os';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { WEB_TIER_ENV } from '../../contracts/web-tier';
import { SessionManager, currentAndPreviousSecrets } from '../../runtime/sessions';
import { PLAIN_HTTP_ENV, SESSION_SECRET_ARN_ENV } from './demo-app-env';

interface Visit extends Record<string, unknown> { visits?: number }

const server = process.env[WEB_TIER_ENV.serverName] ?? hostname();
let sessions: SessionManager<Visit> | undefined;

/**
 * The start-up hook: reads the cookie-signing secret with the instance role (it is never in the
 * template or user data), its current and its previous version, and builds the session manager,
 * before the server reports ready. The manager reads them again every 5 minutes and when a cookie
 * verifies with neither, so rotating the secret signs no one out: a server started before the
 * rotation learns the new version from the first cookie signed with it.
 */
export async function start(): Promise<void> {
  const arn = process.env[SESSION_SECRET_ARN_ENV];
  if (!arn) throw new Error(`${SESSION_SECRET_ARN_ENV} is not set`);
  const secretsManager = new SecretsManagerClient({});
  const readSecrets = () => currentAndPreviousSecrets(async (stage) =>
    (await secretsManager.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: stage }))).SecretString);
  sessions = new SessionManager<Visit>({
    secrets: await readSecrets(),
    reloadSecrets: readSecrets,
    // Without a certificate the balancer speaks plain HTTP, where browsers drop Secure cookies.
    insecureHttpForLocalDevelopment: process.env[PLAIN_HTTP_ENV] === 'true',
  });
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
  if (!sessions) throw new Error('the start-up hook has not run');
  const session = await sessions.load(req);
  const visits = (session.data.visits ?? 0) + 1;
  session.data.visits = visits;
  await sessions.save(session, res);
  res.setHeader('Cache-Control', 'no-store');
  if (path === '/api/visit') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ server, pid: process.pid, visits }));
    return;
  }
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cdk-cloud-patterns: web tier</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Served by ${escape(server)}</h1>
<p>Process ${process.pid} answered this request. Reload: the balancer spreads requests over every healthy server.</p>
<p>You have visited <strong>${visits}</strong> time${visits === 1 ? '' : 's'}. The count lives in your session, kept in a shared DynamoDB table (the session store), not on a server, so it is the same whichever server answers.</p>
</body></html>
`);
}
