/**
 * Rate limits of the render farm's web app, per server: a token bucket per key (a client address,
 * a session), refilled at a steady rate up to a burst. A request over its limit is answered 429
 * with Retry-After, the seconds until its bucket holds a token again, before any work is done for
 * it (no Cognito call, no table read, no body read). The buckets live in the server's memory, at
 * most `maxKeys` of them (the least recently used go first), so a flood of new keys costs a
 * bounded amount of memory; with N servers behind the balancer a client gets up to N times the
 * limit, which the limits below allow for.
 */

/** A limit: `perMinute` requests a minute on average, up to `burst` at once. */
export interface RateLimit {
  readonly perMinute: number;
  readonly burst: number;
}

/** The render farm's limits, by what is limited and whose. */
export interface RenderFarmLimits {
  /** Sign-up and sign-in attempts from one address (each costs Cognito calls). */
  readonly signInPerAddress: RateLimit;
  /** Sign-up and sign-in attempts with one session cookie. */
  readonly signInPerSession: RateLimit;
  /** Renders submitted from one address. */
  readonly submitPerAddress: RateLimit;
  /** Renders submitted in one session. */
  readonly submitPerSession: RateLimit;
  /** Reads (progress polls, lists, images) from one address. */
  readonly pollPerAddress: RateLimit;
  /** Reads in one session: the page polls once a second, so two open pages fit. */
  readonly pollPerSession: RateLimit;
  /** Renders a user may have in flight (rendering, submitted within the last 15 minutes) at once. */
  readonly rendersInFlightPerUser: number;
}

/** The limits the web app runs with. */
export const RENDER_FARM_LIMITS: RenderFarmLimits = {
  signInPerAddress: { perMinute: 10, burst: 5 },
  signInPerSession: { perMinute: 5, burst: 3 },
  submitPerAddress: { perMinute: 20, burst: 6 },
  submitPerSession: { perMinute: 6, burst: 3 },
  pollPerAddress: { perMinute: 600, burst: 60 },
  pollPerSession: { perMinute: 150, burst: 20 },
  rendersInFlightPerUser: 3,
};

/** What a bucket says to a request. */
export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets by key, for one limit. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    readonly limit: RateLimit,
    private readonly options: { readonly maxKeys?: number; readonly clock?: () => number } = {},
  ) {
    if (!(limit.perMinute > 0) || !(limit.burst >= 1)) throw new RangeError(`a rate limit needs perMinute above 0 and burst of 1 or more, received ${JSON.stringify(limit)}`);
    this.perMs = limit.perMinute / 60_000;
  }

  /** Takes a token from `key`'s bucket, or says how long until there is one. */
  take(key: string): RateDecision {
    const now = (this.options.clock ?? Date.now)();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    // Most recently used last: the first key of the map is the one to evict.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > (this.options.maxKeys ?? 10_000)) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000)) };
  }

  /** Keys held now (at most `maxKeys`). */
  get size(): number {
    return this.buckets.size;
  }
}

/**
 * The client's address: the last entry of X-Forwarded-For, which the load balancer appends (any
 * entry before it is the client's own claim), else the connection's. Behind the ALB the servers
 * take connections from the balancer only, so the last entry is the balancer's word.
 */
export function clientAddress(headers: Record<string, string | string[] | undefined>, socketAddress: string | undefined): string {
  const forwarded = headers['x-forwarded-for'];
  const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',').map((s) => s.trim()).filter(Boolean).pop();
  return last ?? socketAddress ?? 'unknown';
}
