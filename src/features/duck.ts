// Thin helpers over a DuckDB connection: run SQL, read a result as columns, quote identifiers
// and literals. Every value a user supplies goes through `literal` or `ident`, never raw.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export type Duck = DuckDBConnection;

/**
 * An in-memory DuckDB whose working memory is capped (PERSONAS_DUCKDB_MEMORY, default 3GB);
 * beyond it DuckDB spills to a temporary directory instead of growing.
 */
export async function openDuck(): Promise<{ db: DuckDBInstance; conn: Duck }> {
  // Loaded with the first database (a fifth of a second), not by every command that imports a helper.
  const { DuckDBInstance: Instance } = await import('@duckdb/node-api');
  const db = await Instance.create(':memory:', {
    threads: process.env.PERSONAS_DUCKDB_THREADS ?? '2',
    memory_limit: process.env.PERSONAS_DUCKDB_MEMORY ?? '3GB',
    temp_directory: join(tmpdir(), 'personas-duckdb'),
  });
  const conn = await db.connect();
  return { db, conn };
}

export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * SQL: the text `c` without its surrounding spaces, as `trim(c)`, but the copy trim makes is only
 * made for a value that has some: over the 33 million contacts of a million customers, 1 s against
 * 2 s (BENCHMARKS.md, session 29).
 */
export function trimmed(c: string): string {
  return `CASE WHEN starts_with(${c}, ' ') OR ends_with(${c}, ' ') THEN trim(${c}) ELSE ${c} END`;
}

/**
 * SQL: the text `c` if it is one of `values`, else its trimmed, lower-case form if that is one,
 * else NULL. A cast to an ENUM of the values: 4 times faster than `c IN (values)` (BENCHMARKS.md, session 29).
 */
export function oneOf(c: string, values: readonly string[]): string {
  const known = `ENUM(${values.map(literal).join(', ')})`;
  return `coalesce(try_cast(${c} AS ${known}), try_cast(lower(trim(${c})) AS ${known}))::VARCHAR`;
}

/**
 * Runs a statement. With PERSONAS_PROFILE_SQL=1, statements over 0.5 s (PERSONAS_PROFILE_MS
 * milliseconds) are timed on stderr, their first 140 characters (all with PERSONAS_PROFILE_FULL=1).
 */
export async function run(conn: Duck, sql: string): Promise<void> {
  const t0 = performance.now();
  await conn.run(sql);
  const ms = performance.now() - t0;
  if (process.env.PERSONAS_PROFILE_SQL && ms > Number(process.env.PERSONAS_PROFILE_MS ?? 500)) {
    process.stderr.write(`[sql ${(ms / 1000).toFixed(1)} s] ${sql.replace(/\s+/g, ' ').slice(0, process.env.PERSONAS_PROFILE_FULL ? undefined : 140)}\n`);
  }
}

/** Rows of a query as objects (small results only). */
export async function rows(conn: Duck, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjects() as Record<string, unknown>[];
}

/** One column per selected expression, as JS arrays (values, null where NULL). */
export async function columns(conn: Duck, sql: string): Promise<{ names: string[]; values: unknown[][] }> {
  const reader = await conn.runAndReadAll(sql);
  return { names: reader.columnNames(), values: reader.getColumns() as unknown[][] };
}

/** A JS value from DuckDB as a number: NULL -> NaN, bigint -> number. */
export function toNumber(v: unknown): number {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}
