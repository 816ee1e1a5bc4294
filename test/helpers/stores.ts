// The two stores every store-backed test runs against: embedded PGlite (always), and the real
// PostgreSQL of DATABASE_URL (skipped, saying so, when it is unset). Each PostgreSQL store gets
// its own schema, dropped afterwards, so test files never see each other's rows.
import { randomBytes } from 'node:crypto';
import { openStore, type Db } from '../../src/store/index.ts';
import { openPostgres } from '../../src/store/postgres.ts';

export interface StoreVariant {
  name: string;
  /** Why the variant is skipped, or '' when it runs. */
  skip: string;
  open(): Promise<Db>;
  /** Drops what `open` created. */
  dispose(db: Db): Promise<void>;
}

const url = process.env.DATABASE_URL;
const schemas = new WeakMap<Db, string>();

export const STORE_VARIANTS: StoreVariant[] = [
  {
    name: 'pglite',
    skip: '',
    open: () => openStore({ databaseUrl: null, dataDir: 'memory' }),
    dispose: (db) => db.close(),
  },
  {
    name: 'postgres',
    skip: url ? '' : 'DATABASE_URL is not set: the PostgreSQL variant is skipped (PGlite ran the same tests)',
    async open() {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      const db = await openStore({ databaseUrl: url, schema });
      schemas.set(db, schema);
      return db;
    },
    async dispose(db) {
      await db.close();
      const admin = await openPostgres(url!, { poolSize: 1 });
      await admin.exec(`DROP SCHEMA IF EXISTS ${schemas.get(db)} CASCADE`);
      await admin.close();
    },
  },
];

for (const v of STORE_VARIANTS) if (v.skip) console.warn(`[personas tests] ${v.skip}`);
