// API keys. A key reads `psk_<id>_<secret>`: the id is public (it names the key in lists and
// logs), the secret is 32 random bytes shown once at creation. Only SHA-256(secret) is stored;
// a slow hash is not needed for a random 256-bit secret (there is nothing to brute-force).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { PersonasError } from '../errors.ts';
import type { Sql } from './db.ts';

export const SCOPES = ['read', 'score', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  /** Requests per second allowed for this key (token bucket, burst of the same size). */
  rateLimit: number;
  createdAt: string;
  revokedAt: string | null;
}

const TOKEN = /^psk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

export const DEFAULT_RATE_LIMIT = 100;

export async function createKey(db: Sql, opts: { name: string; scopes: string[]; rateLimit?: number }): Promise<{ key: ApiKey; token: string }> {
  const bad = opts.scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (!opts.scopes.length || bad.length) throw new PersonasError('INPUT_INVALID', `scopes must be one or more of ${SCOPES.join(', ')}${bad.length ? `; got '${bad.join("', '")}'` : ''}`);
  if (!opts.name.trim()) throw new PersonasError('INPUT_INVALID', 'a key needs a name (who uses it)');
  const rateLimit = opts.rateLimit ?? DEFAULT_RATE_LIMIT;
  if (!Number.isInteger(rateLimit) || rateLimit <= 0) throw new PersonasError('INPUT_INVALID', `rate limit must be a positive whole number of requests per second, got ${rateLimit}`);
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const [row] = await db.query<{ created_at: Date | string }>(
    'INSERT INTO api_keys (id, name, secret_hash, scopes, rate_limit) VALUES ($1, $2, $3, $4, $5) RETURNING created_at',
    [id, opts.name.trim(), hashOf(secret), [...new Set(opts.scopes)], rateLimit],
  );
  return {
    key: { id, name: opts.name.trim(), scopes: [...new Set(opts.scopes)] as Scope[], rateLimit, createdAt: new Date(row.created_at).toISOString(), revokedAt: null },
    token: `psk_${id}_${secret}`,
  };
}

function toKey(r: Record<string, unknown>): ApiKey {
  return {
    id: r.id as string,
    name: r.name as string,
    scopes: r.scopes as Scope[],
    rateLimit: Number(r.rate_limit),
    createdAt: new Date(r.created_at as string).toISOString(),
    revokedAt: r.revoked_at ? new Date(r.revoked_at as string).toISOString() : null,
  };
}

export async function listKeys(db: Sql): Promise<ApiKey[]> {
  return (await db.query<Record<string, unknown>>('SELECT id, name, scopes, rate_limit, created_at, revoked_at FROM api_keys ORDER BY created_at, id')).map(toKey);
}

export async function revokeKey(db: Sql, id: string): Promise<void> {
  const rows = await db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id]);
  if (!rows.length) {
    const [exists] = await db.query('SELECT 1 FROM api_keys WHERE id = $1', [id]);
    throw new PersonasError(exists ? 'CONFLICT' : 'NOT_FOUND', exists ? `key ${id} is already revoked` : `no key with id '${id}'`);
  }
}

/** The live key a bearer token belongs to, or null (unknown, malformed, revoked or wrong secret). */
export async function verifyToken(db: Sql, token: string): Promise<ApiKey | null> {
  const m = TOKEN.exec(token);
  if (!m) return null;
  const [row] = await db.query<Record<string, unknown>>('SELECT id, name, scopes, rate_limit, created_at, revoked_at, secret_hash FROM api_keys WHERE id = $1', [m[1]], 'personas_verify_key');
  if (!row || row.revoked_at) return null;
  const a = Buffer.from(hashOf(m[2]), 'hex');
  const b = Buffer.from(row.secret_hash as string, 'hex');
  return a.length === b.length && timingSafeEqual(a, b) ? toKey(row) : null;
}
