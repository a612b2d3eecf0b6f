/** The demo app's own settings, shared by the app and WebTierStack (which must not import the app's SDK clients). */
/** The ARN of the Secrets Manager secret that signs the session cookies (read once at start-up, never in the template). */
export const SESSION_SECRET_ARN_ENV = 'DEMO_SESSION_SECRET_ARN';
/** `true` when the balancer serves plain HTTP (no certificate): cookies without Secure, as browsers refuse Secure ones there. */
export const PLAIN_HTTP_ENV = 'DEMO_PLAIN_HTTP';
