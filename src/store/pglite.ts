// The embedded store: PGlite (PostgreSQL in WASM) in a local folder, or in memory. One process
// owns the folder at a time; queries are serialised by PGlite itself.
import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { copyStatement, type Db, type Sql } from './db.ts';

/** COPY input is handed to PGlite as blobs of about this many characters. */
const BLOB_CHARS = 8 * 1024 * 1024;

function sqlOf(target: PGlite | Transaction): Sql {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await target.query<T>(text, params)).rows;
    },
    async copyCsv(table, columns, chunks) {
      const statement = copyStatement(table, columns, `'/dev/blob'`);
      let parts: string[] = [];
      let size = 0;
      let rows = 0;
      const flush = async () => {
        if (!size) return;
        const r = await target.query(statement, [], { blob: new Blob(parts) });
        rows += r.affectedRows ?? 0;
        parts = [];
        size = 0;
      };
      for await (const chunk of chunks) {
        parts.push(chunk);
        size += chunk.length;
        if (size >= BLOB_CHARS) await flush();
      }
      await flush();
      return rows;
    },
    async exec(script) {
      await target.exec(script);
    },
  };
}

/** Opens (creating if needed) an embedded store in `dataDir`, or in memory when it is undefined. */
export async function openPglite(dataDir?: string): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const base = sqlOf(db);
  return {
    kind: 'pglite',
    description: dataDir ? `pglite ${dataDir}` : 'pglite (in memory)',
    ...base,
    transaction: (fn) => db.transaction((tx) => fn(sqlOf(tx))),
    async close() {
      await db.close();
    },
  };
}
