// The embedded store: PGlite (PostgreSQL in WASM) in a local folder, or in memory. One process
// owns the folder at a time; queries are serialised by PGlite itself.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
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

/**
 * Where a new store's first files are kept for the next one: a fresh cluster of this PGlite
 * version, as PGlite's own `dumpDataDir` writes it (gzip tar, 4.5 MB), in the user's cache
 * (`$XDG_CACHE_HOME/personas`, else `~/.cache/personas`). `personas migrate` of a new store took
 * 5.9 to 7.0 s and about 1 GB with PGlite's initdb in WASM, 3.4 to 3.6 s and 0.55 GB from the
 * dump (BENCHMARKS.md, "Embedded store").
 */
export function clusterTemplatePath(): string {
  const pkg = join(dirname(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'))), 'package.json');
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'personas', `pglite-${version}-cluster.tar.gz`);
}

/**
 * A new PGlite (in `dataDir`, which holds no cluster yet, or in memory) from the cached cluster
 * when there is one, else by initdb, the cluster then kept for the next. A cache that cannot be
 * read or written (a damaged file, a read-only home) is passed over: the store is made by initdb.
 */
async function createCluster(dataDir: string | undefined): Promise<PGlite> {
  let template: string | undefined;
  try {
    template = clusterTemplatePath();
    if (existsSync(template)) {
      try {
        return await PGlite.create(dataDir, { loadDataDir: new Blob([readFileSync(template)]) });
      } catch {
        // What a failed load wrote in the folder goes; the folder was empty before (openPglite).
        if (dataDir) for (const entry of readdirSync(dataDir)) rmSync(join(dataDir, entry), { recursive: true, force: true });
      }
    }
  } catch {
    template = undefined;
  }
  const db = await PGlite.create(dataDir);
  if (template) {
    try {
      mkdirSync(dirname(template), { recursive: true });
      const dump = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
      const aside = `${template}.${process.pid}`;
      writeFileSync(aside, dump);
      renameSync(aside, template);
      // Another PGlite version's cluster is of no use to this one: it goes (4.5 MB each).
      const ownVersion = basename(template).replace(/cluster\.tar\.gz$/, '');
      for (const f of readdirSync(dirname(template))) {
        if (/^pglite-.+-cluster\.tar\.gz(?:\.\d+)?$/.test(f) && !f.startsWith(ownVersion)) rmSync(join(dirname(template), f), { force: true });
      }
    } catch {
      // No cache then: the next new store runs initdb too.
    }
  }
  return db;
}

/** Opens (creating if needed) an embedded store in `dataDir`, or in memory when it is undefined. */
export async function openPglite(dataDir?: string, opts: { blobChars?: number } = {}): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const fresh = !dataDir || (statSync(dataDir).isDirectory() && readdirSync(dataDir).length === 0);
  const db = fresh ? await createCluster(dataDir) : await PGlite.create(dataDir);
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
