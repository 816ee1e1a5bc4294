// The customers read from one file or from a folder of files, as client systems export them (a
// store, a brand or a region a file; a full export beside an earlier one): each file loaded with
// its own encoding, delimiter, header and layouts and checked on its own (its rejects in
// rejects/customers/<file>.csv, numbered by its own lines), then joined. A customer in several
// files is read from the last of them by name order (a later export holds the later record): the
// earlier files' rows of that customer are dropped as `customer_in_later_file` and listed in those
// files' rejects; how many of them the later file writes otherwise is said with the files. A file
// whose dates do not tell day from month is read as a file of the folder whose dates do.
import { join, relative } from 'node:path';
import { cleanCustomers, CUSTOMER_BASE_COLUMNS, listAsRead, type RejectCount } from './clean.ts';
import type { ColumnSuggestion } from './columns.ts';
import { ident, rows, run, type Duck } from './duck.ts';
import { assembleFolderFormat, dropTables, FolderDateOrder, inputFolder, sumCounts, type FolderEntry } from './events.ts';
import type { InputFormat } from './formats.ts';
import { loadInput, recordLines, type ColumnMap, type LoadedInput } from './sources.ts';
import { KEPT_LISTED } from './summary.ts';

/** The customers as read: `customers_clean` made, the columns any file holds, and how the files are written. */
export interface CustomersRead {
  /** The columns of the files, the first file's first (a column only some files hold reads missing in the others). */
  columns: string[];
  rejects: RejectCount[];
  /** The file's format, or for a folder the first file's with every file listed; absent for Parquet. */
  format?: InputFormat;
  suggestions: ColumnSuggestion[];
}

/** A file's column as customers_clean holds it. */
const keptAs = (column: string) => (CUSTOMER_BASE_COLUMNS.includes(column) ? column : `x_${column}`);

/**
 * Reads the customers at `path` (a file, or a folder of files) into table `customers_clean`.
 * `tick` gets the steps done: two a file (loaded, checked).
 */
export async function readCustomers(
  conn: Duck,
  path: string,
  columnMap: ColumnMap | undefined,
  outDir: string,
  check: { year: number; latest: string },
  tick: (done: number) => void = () => {},
): Promise<CustomersRead> {
  const { files, ignored, notes, folder, names, rejectsNames } = inputFolder(path, 'customers', columnMap);
  // A file's raw text, its numbered copy and their checked table, once its clean table is made.
  const free = (table: string) => dropTables(conn, [table, `${table}_n`, `${table}_n_checked`]);
  if (!folder) {
    const input = await loadInput(conn, 'customers', path, 'raw_customers', columnMap);
    tick(1);
    const rejects = await cleanCustomers(conn, input, outDir, check.year, check.latest);
    await free(input.table);
    tick(2);
    return { columns: input.columns, rejects, ...(input.format ? { format: input.format } : {}), suggestions: input.suggestions };
  }
  const order = new FolderDateOrder();
  let read: { input: LoadedInput; table: string; rows: number }[] = [];
  let counts: RejectCount[][] = [];
  for (let k = 0; k < files.length; k++) {
    const input = await loadInput(conn, 'customers', files[k], `raw_customers_${k + 1}`, columnMap);
    tick(2 * k + 1);
    if (order.settle(input, read.map((r) => r.input))) {
      // The files read before, day first for want of a sign, are read again month first.
      await dropTables(conn, [input.table, ...read.map((r) => r.table)]);
      [read, counts, k] = [[], [], -1];
      continue;
    }
    const [raw] = (await rows(conn, `SELECT count(*) AS n FROM ${ident(input.table)}`)) as { n: bigint }[];
    const table = `customers_clean_${k + 1}`;
    counts.push(await cleanCustomers(conn, input, outDir, check.year, check.latest, { table, rejects: rejectsNames[k] }));
    await free(input.table);
    tick(2 * k + 2);
    read.push({ input, table, rows: Number(raw.n) });
  }
  const dropped = await joinFiles(conn, read, outDir, rejectsNames);
  const columns = [...new Set(read.flatMap((r) => r.input.columns))];
  const entries: FolderEntry[] = read.map((r, k) => ({
    file: names[k],
    rows: r.rows,
    ...(dropped[k].later ? { later: dropped[k].later, ...(dropped[k].changed ? { laterChanged: dropped[k].changed } : {}) } : {}),
    own: r.input.format,
  }));
  const suggestions = new Map(read.flatMap((r) => r.input.suggestions).map((s) => [`${s.column}\u0000${s.contract}`, s]));
  return {
    columns,
    rejects: sumCounts([...counts, dropped.flatMap((d) => d.counts)]),
    format: assembleFolderFormat(entries, { ignored: ignored.map((f) => relative(path, f)), notes: notes.map((f) => relative(path, f)) }),
    suggestions: [...suggestions.values()],
  };
}

/**
 * `customers_clean` from the files' clean tables, in file order: a customer in several files
 * from the last of them. Returns, for each file, its rows left for a later file's (listed in its
 * rejects, the first KEPT_LISTED) and their counts.
 */
async function joinFiles(
  conn: Duck,
  read: { input: LoadedInput; table: string }[],
  outDir: string,
  rejectsNames: string[],
): Promise<{ later: number; changed: number; counts: RejectCount[] }[]> {
  const union = read.map((r, k) => `SELECT ${k + 1} AS _file, * EXCLUDE (row_ix) FROM ${ident(r.table)}`).join(' UNION ALL BY NAME ');
  await run(conn, `CREATE OR REPLACE TEMP TABLE _customers AS SELECT *, max(_file) OVER (PARTITION BY customer_id) AS _last FROM (${union})`);
  await run(conn, 'CREATE OR REPLACE TEMP TABLE _left (_file INTEGER, _record BIGINT, changed BOOLEAN)');
  const held = read.map((r) => new Set(r.input.columns.map(keptAs)));
  try {
    const pairs = (await rows(conn, 'SELECT DISTINCT _file AS f, _last AS l FROM _customers WHERE _file < _last ORDER BY 1, 2')) as { f: number; l: number }[];
    for (const { f, l } of pairs) {
      // Written otherwise: a value differs in a column both files hold.
      const both = [...held[f - 1]].filter((c) => held[l - 1].has(c) && c !== 'customer_id');
      const same = both.map((c) => `e.${ident(c)} IS NOT DISTINCT FROM k.${ident(c)}`).join(' AND ') || 'true';
      await run(
        conn,
        `INSERT INTO _left SELECT e._file, e._record, NOT (${same})
         FROM _customers e JOIN _customers k ON k.customer_id = e.customer_id AND k._file = ${l}
         WHERE e._file = ${f} AND e._last = ${l}`,
      );
    }
    await run(
      conn,
      `CREATE OR REPLACE TABLE customers_clean AS
       SELECT row_number() OVER (ORDER BY _file, _record) - 1 AS row_ix, * EXCLUDE (_file, _record, _last)
       FROM _customers WHERE _file = _last ORDER BY _file, _record`,
    );
    const out: { later: number; changed: number; counts: RejectCount[] }[] = [];
    for (const [k, r] of read.entries()) {
      const [seen] = (await rows(conn, `SELECT count(*) AS n, count(*) FILTER (WHERE changed) AS changed FROM _left WHERE _file = ${k + 1}`)) as { n: bigint; changed: bigint }[];
      const later = Number(seen.n);
      const counts: RejectCount[] = [];
      if (later) {
        // Read from the later file: listed as a repair's rows are, the first KEPT_LISTED.
        const listed = await listAsRead(conn, {
          dest: join(outDir, 'rejects', `${rejectsNames[k]}.csv`),
          table: r.table,
          rows: `SELECT _record, 'customer_in_later_file' AS reason FROM _left WHERE _file = ${k + 1}`,
          lines: recordLines(r.input),
          columns: r.input.columns.map((c) => [c, `CAST(c.${ident(keptAs(c))} AS VARCHAR)`]),
          room: KEPT_LISTED,
        });
        counts.push({ file: 'customers', reason: 'customer_in_later_file', action: 'dropped', rows: later, ...(listed < later ? { listed } : {}) });
      }
      out.push({ later, changed: Number(seen.changed), counts });
    }
    return out;
  } finally {
    await run(conn, 'DROP TABLE IF EXISTS _customers');
    await run(conn, 'DROP TABLE IF EXISTS _left');
    for (const r of read) await run(conn, `DROP TABLE IF EXISTS ${ident(r.table)}`);
  }
}
