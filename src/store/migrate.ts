// Versioned SQL migrations: `migrations/NNN_name.sql`, applied in order, each in its own
// transaction under an advisory lock (two processes migrating at once apply each file once).
// An applied file whose text has changed since is refused: migrations are append-only.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { PersonasError } from '../errors.ts';
import type { Db } from './db.ts';

const LOCK_KEY = 72_617_301;

export interface Migration {
  version: number;
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  return files.map((file) => {
    const m = /^(\d+)_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new PersonasError('STORE', `${join(dir, file)}: a migration file is named NNN_name.sql`);
    const sql = readFileSync(join(dir, file), 'utf8');
    return { version: Number(m[1]), name: m[2], file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

export interface MigrationReport {
  applied: { version: number; name: string }[];
  current: number;
}

export async function migrate(db: Db, migrations = readMigrations()): Promise<MigrationReport> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: MigrationReport['applied'] = [];
  for (const m of migrations) {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      const [done] = await tx.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE version = $1', [m.version]);
      if (done) {
        if (done.checksum !== m.checksum) {
          throw new PersonasError('STORE', `migration ${m.file} was changed after it was applied to ${db.description}; add a new migration instead`);
        }
        return;
      }
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      applied.push({ version: m.version, name: m.name });
    });
  }
  const [row] = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return { applied, current: row?.v ?? 0 };
}

/** Fails with a clear message when the store is behind the code's migrations. */
export async function checkMigrated(db: Db, migrations = readMigrations()): Promise<void> {
  const latest = migrations.at(-1)?.version ?? 0;
  let current = 0;
  try {
    const [row] = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    current = row?.v ?? 0;
  } catch {
    current = 0;
  }
  if (current < latest) throw new PersonasError('STORE', `${db.description} is at migration ${current}, the code needs ${latest}: run \`personas migrate\``);
}
