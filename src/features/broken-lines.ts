// Records cut in two by a line break inside a value that is not quoted: what exports that quote
// nothing write of an address on two lines (SQL Server's "save results as", home-made extracts).
// Each piece reads as a record of its own: the first with its last fields empty, the next one, a
// customer whose id is the end of an address. The pieces are found by their fields: consecutive
// lines that hold too few, whose fields add up to the header's once joined, each piece after the
// first beginning with something no id of the file looks like.
import { lowerBound } from '../sorted.ts';
import { ident, literal, rows, run, type Duck } from './duck.ts';

/** The column marking a record joined from several lines. */
export const JOINED_LINES = '_joined_lines';

/** SQL: the text `c` as runs of character classes (`C00042` -> `A9`, `75011 Paris` -> `9 A`). */
const shape = (c: string) => `regexp_replace(regexp_replace(regexp_replace(trim(${c}), '[0-9]+', '9', 'g'), '[^0-9\\s[:punct:]]+', 'A', 'g'), '\\s+', ' ', 'g')`;

/** The share of ids that must share one shape for a value of another shape to be told from an id. */
const DOMINANT_SHAPE = 0.5;

export interface JoinedLines {
  /** Records (1-based, after the join) made of several lines. */
  records: number;
  /** Lines (numbered from the header, as loadCsv's continuation lines) continuing one of them. */
  continuation: number[];
}

/**
 * Joins, in the loaded `table` (one row per line of the file, rowid in file order, columns in the
 * header's order), each record cut by unquoted line breaks back into one, its lines joined by a
 * line break in the value they split; the rows of the continuing lines go. Adds the column
 * `_joined_lines` (true on a joined record) when it joins any. `lines` is a read of the file's
 * lines below the header, one column `line`, an empty line NULL.
 */
export async function joinBrokenLines(conn: Duck, table: string, lines: string, delimiter: string, columns: string[], idColumn: string): Promise<JoinedLines | undefined> {
  const fields = columns.length;
  const at = columns.indexOf(idColumn);
  if (fields < 2 || at < 0) return undefined;
  const delimiters = `(length(line) - length(replace(line, ${literal(delimiter)}, '')))`;
  // A line that may continue a record: too few fields, no quote (a quoted file says where its
  // records span lines), and something in it. Most files have none: one pass, nothing kept.
  const piece = `line IS NOT NULL AND NOT contains(line, '"') AND ${delimiters} < ${fields - 1}`;
  const [short] = await rows(conn, `SELECT count(*) AS n FROM ${lines} WHERE ${piece}`);
  if (Number(short.n) === 0) return undefined;

  const [mode] = (await rows(
    conn,
    `SELECT s, n, total FROM (SELECT ${shape(ident(idColumn))} AS s, count(*) AS n, sum(count(*)) OVER () AS total FROM ${ident(table)} WHERE ${ident(idColumn)} IS NOT NULL GROUP BY s) ORDER BY n DESC, s LIMIT 1`,
  )) as { s: string; n: bigint; total: bigint }[];
  // Ids of no one form (e-mail addresses): a continuing line cannot be told from a record.
  if (!mode || Number(mode.n) < DOMINANT_SHAPE * Number(mode.total)) return undefined;

  await run(conn, `CREATE OR REPLACE TEMP TABLE _broken_lines AS SELECT line FROM ${lines}`);
  try {
    // Each continuing piece and the line before it. A piece has too few fields, and where a record
    // has its id, nothing (the piece is too short) or something not shaped as an id (an id left
    // empty is a record's fault, not a piece).
    const idField = `split_part(line, ${literal(delimiter)}, ${at + 1})`;
    const notAnId = `(${delimiters} < ${at} OR (trim(${idField}) <> '' AND ${shape(idField)} <> ${literal(mode.s)}))`;
    const candidates = (await rows(
      conn,
      `WITH l AS (SELECT rowid AS i, line, ${delimiters} AS d, ${piece} AND ${notAnId} AS cont FROM _broken_lines)
       SELECT i, d, cont, line IS NULL AS empty, contains(coalesce(line, ''), '"') AS quoted FROM l
       WHERE cont OR i + 1 IN (SELECT i FROM l WHERE cont) ORDER BY i`,
    )) as { i: bigint; d: bigint; cont: boolean | null; empty: boolean; quoted: boolean }[];
    const groups: number[][] = [];
    for (let k = 0; k < candidates.length; k++) {
      const head = candidates[k];
      if (head.cont || head.empty || head.quoted) continue;
      const group = [Number(head.i)];
      let total = Number(head.d);
      // The pieces after it, while their fields fit (a piece of none, the end of a last value, always does).
      while (
        k + 1 < candidates.length &&
        candidates[k + 1].cont &&
        Number(candidates[k + 1].i) === group[group.length - 1] + 1 &&
        total + Number(candidates[k + 1].d) <= fields - 1
      ) {
        k++;
        group.push(Number(candidates[k].i));
        total += Number(candidates[k].d);
      }
      if (group.length > 1 && total === fields - 1) groups.push(group);
    }
    if (!groups.length) return undefined;

    const texts = new Map(
      (await rows(conn, `SELECT rowid AS i, line FROM _broken_lines WHERE rowid IN (${groups.flat().join(', ')})`)).map((r) => [Number(r.i), String(r.line)]),
    );
    // Each line's record: the lines holding something, in order (the empty ones are not records).
    const emptyLines = (await rows(conn, `SELECT rowid AS i FROM _broken_lines WHERE line IS NULL ORDER BY rowid`)).map((r) => Number(r.i));
    const recordOf = (i: number) => i + 1 - lowerBound(emptyLines, i);
    await run(conn, `CREATE OR REPLACE TEMP TABLE _joined (record BIGINT, continued BOOLEAN, ${columns.map((_, k) => `f${k} VARCHAR`).join(', ')})`);
    const appender = await conn.createAppender('_joined');
    for (const group of groups) {
      const values = group.map((i) => texts.get(i)!).join('\n').split(delimiter);
      group.forEach((i, k) => {
        appender.appendBigInt(BigInt(recordOf(i)));
        appender.appendBoolean(k > 0);
        for (const v of values) {
          if (k === 0) appender.appendVarchar(v);
          else appender.appendNull();
        }
        appender.endRow();
      });
    }
    appender.closeSync();
    const select = columns.map((c, k) => `CASE WHEN j.record IS NULL THEN t.${ident(c)} ELSE j.f${k} END AS ${ident(c)}`).join(', ');
    const others = (await rows(conn, `SELECT column_name AS c FROM (DESCRIBE ${ident(table)})`)).map((r) => String(r.c)).filter((c) => !columns.includes(c));
    await run(
      conn,
      `CREATE OR REPLACE TABLE ${ident(table)} AS
       SELECT ${select}${others.map((c) => `, t.${ident(c)}`).join('')}, j.record IS NOT NULL AS ${JOINED_LINES}
       FROM (SELECT rowid + 1 AS _rec, * FROM ${ident(table)}) t LEFT JOIN _joined j ON j.record = t._rec
       WHERE NOT coalesce(j.continued, false)
       ORDER BY t._rec`,
    );
    await run(conn, 'DROP TABLE _joined');
    return { records: groups.length, continuation: groups.flatMap((g) => g.slice(1).map((i) => i + 2)) };
  } finally {
    await run(conn, 'DROP TABLE IF EXISTS _broken_lines');
  }
}
