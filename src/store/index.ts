// Public surface of the store: PostgreSQL when a database URL is given (or DATABASE_URL is set),
// else embedded PGlite in a local folder; the same migrations and SQL on both.
import { join } from 'node:path';
import type { Db } from './db.ts';
import { checkMigrated, migrate } from './migrate.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';

export type { Db, Sql } from './db.ts';
export { migrate, checkMigrated, readMigrations, type MigrationReport } from './migrate.ts';
export * from './registry.ts';
export * from './keys.ts';
export * from './changes.ts';
export * from './model-changes.ts';

export interface StoreOptions {
  /** postgres://... ; default: DATABASE_URL; when neither is set, or when null, PGlite in `dataDir`. */
  databaseUrl?: string | null;
  /** Folder of the embedded store (default: PERSONAS_HOME or `.personas`, then `/store`); `memory` keeps it in memory. */
  dataDir?: string;
  /** PostgreSQL schema to use (created if missing): lets several stores share one database. */
  schema?: string;
  /** On open: apply pending migrations (default), check the store is current, or neither. */
  migrate?: 'apply' | 'check' | 'none';
  poolSize?: number;
}

export function defaultStoreDir(): string {
  return join(process.env.PERSONAS_HOME ?? '.personas', 'store');
}

export async function openStore(opts: StoreOptions = {}): Promise<Db> {
  const url = opts.databaseUrl === null ? undefined : (opts.databaseUrl ?? process.env.DATABASE_URL);
  let db: Db;
  if (url) {
    if (opts.schema) {
      if (!/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error(`schema name '${opts.schema}' must be a plain lower-case identifier`);
      const admin = await openPostgres(url, { poolSize: 1 });
      try {
        await admin.exec(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
      } finally {
        await admin.close();
      }
    }
    db = await openPostgres(url, { schema: opts.schema, poolSize: opts.poolSize });
  } else {
    const dir = opts.dataDir ?? defaultStoreDir();
    db = await openPglite(dir === 'memory' ? undefined : dir);
  }
  try {
    if (opts.migrate === 'check') await checkMigrated(db);
    else if (opts.migrate !== 'none') await migrate(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}
export * from './jobs.ts';
export * from './references.ts';
