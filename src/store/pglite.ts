// The embedded store: PGlite (PostgreSQL in WASM) in a local folder, or in memory. One process
// owns the folder at a time; queries are serialised by PGlite itself.
import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { copyStatement, csvRowsEnd, type Db, type Sql } from './db.ts';

/** COPY input is handed to PGlite as blobs of about this many characters (each a whole number of rows). */
export const BLOB_CHARS = 8 * 1024 * 1024;

function sqlOf(target: PGlite | Transaction, blobChars: number): Sql {
  return {
    async query<T>(text: string, params: unknown[] = []) {
      return (await target.query<T>(text, params)).rows;
    },
    async copyCsv(table, columns, chunks) {
      const statement = copyStatement(table, columns, `'/dev/blob'`);
      let parts: string[] = [];
      let size = 0;
      let rows = 0;
      // Each blob is a COPY of its own, so it must end at a row end: chunks (a file read stream's,
      // say) cut rows anywhere, and a blob ending mid-row fails ("malformed array literal").
      let quoted = false;
      const copy = async (blob: string[]) => {
        const r = await target.query(statement, [], { blob: new Blob(blob) });
        rows += r.affectedRows ?? 0;
      };
      for await (const chunk of chunks) {
        const scan = csvRowsEnd(chunk, quoted);
        quoted = scan.endsQuoted;
        if (size + chunk.length >= blobChars && scan.end > 0) {
          await copy([...parts, chunk.slice(0, scan.end)]);
          parts = scan.end < chunk.length ? [chunk.slice(scan.end)] : [];
          size = chunk.length - scan.end;
        } else {
          parts.push(chunk);
          size += chunk.length;
        }
      }
      if (size) await copy(parts);
      return rows;
    },
    async exec(script) {
      await target.exec(script);
    },
  };
}

/** Opens (creating if needed) an embedded store in `dataDir`, or in memory when it is undefined. */
export async function openPglite(dataDir?: string, opts: { blobChars?: number } = {}): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const blobChars = opts.blobChars ?? BLOB_CHARS;
  const base = sqlOf(db, blobChars);
  return {
    kind: 'pglite',
    description: dataDir ? `pglite ${dataDir}` : 'pglite (in memory)',
    ...base,
    transaction: (fn) => db.transaction((tx) => fn(sqlOf(tx, blobChars))),
    async close() {
      await db.close();
    },
  };
}
