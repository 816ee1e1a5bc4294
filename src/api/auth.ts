// Bearer API keys with scopes, and a per-key rate limit. `admin` may do everything; `read` and
// `score` only what they name. A verified key is cached for a few seconds (so a revocation takes
// effect within `cacheSeconds`), keyed by a hash of the token, never the token itself.
import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { verifyToken, type ApiKey, type Scope, type Sql } from '../store/index.ts';
import { problem } from './problem.ts';

export interface AuthOptions {
  /** How long a verified key is trusted before it is checked again (default 5 s). */
  cacheSeconds?: number;
  now?: () => number;
}

/** Token bucket per key: `rate` tokens per second, burst of `rate`. */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private now: () => number = Date.now) {}

  /** 0 when the request may go, else the seconds to wait for the next token. */
  take(id: string, rate: number): number {
    const t = this.now();
    const b = this.buckets.get(id) ?? { tokens: rate, at: t };
    b.tokens = Math.min(rate, b.tokens + ((t - b.at) / 1000) * rate);
    b.at = t;
    this.buckets.set(id, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / rate;
  }
}

export function authenticator(db: Sql, opts: AuthOptions = {}) {
  const now = opts.now ?? Date.now;
  const ttl = (opts.cacheSeconds ?? 5) * 1000;
  const cache = new Map<string, { key: ApiKey | null; until: number }>();
  const limiter = new RateLimiter(now);

  const keyOf = async (token: string): Promise<ApiKey | null> => {
    const h = createHash('sha256').update(token).digest('base64url');
    const hit = cache.get(h);
    if (hit && hit.until > now()) return hit.key;
    const key = await verifyToken(db, token);
    if (cache.size > 10_000) cache.clear();
    cache.set(h, { key, until: now() + ttl });
    return key;
  };

  return (scope: Scope) => async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    const challenge = { 'WWW-Authenticate': 'Bearer realm="personas"' };
    if (!header) throw problem(401, 'this route needs an API key: send `Authorization: Bearer <key>`', { headers: challenge });
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw problem(401, 'the Authorization header must read `Bearer <key>`', { headers: challenge });
    const key = await keyOf(m[1]);
    if (!key) throw problem(401, 'the API key is unknown or revoked', { headers: { 'WWW-Authenticate': 'Bearer realm="personas", error="invalid_token"' } });
    if (!key.scopes.includes(scope) && !key.scopes.includes('admin')) {
      throw problem(403, `this route needs the '${scope}' scope; key ${key.id} has ${key.scopes.join(', ')}`);
    }
    const wait = limiter.take(key.id, key.rateLimit);
    if (wait > 0) throw problem(429, `key ${key.id} is limited to ${key.rateLimit} requests per second`, { headers: { 'Retry-After': String(Math.max(1, Math.ceil(wait))) } });
    res.locals.keyId = key.id;
    next();
  };
}
