// A file of customers whose persona is known (interviewees recruited from the base, survey
// respondents who said which portrait is theirs, a hand-labelled sample): read as the client's
// other files are (any encoding, delimiter, title block, Excel workbook; columns mapped with
// --columns under `known:`), each row with the line a user sees it on.
import { existsSync, statSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { openDuck, rows, type Duck } from './duck.ts';
import { loadInput, recordLines, type ColumnMap } from './sources.ts';

export interface KnownRow {
  customerId: string;
  /** As written, trimmed; '' when empty. */
  value: string;
  /** The line (or the sheet's row) a user sees it on. */
  line: number;
}

/** The rows of a known-personas file: `customer_id` and `persona` columns (others ignored). */
export async function readKnownFile(path: string, columnMap: ColumnMap = {}): Promise<KnownRow[]> {
  if (!existsSync(path) || statSync(path).isDirectory()) {
    throw new InputError('INPUT_MISSING_FILE', `${path}: file of known customers not found (a CSV or an Excel workbook with columns customer_id and persona)`, { file: path });
  }
  const { db, conn } = await openDuck();
  try {
    return await readRows(conn, path, columnMap);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

async function readRows(conn: Duck, path: string, columnMap: ColumnMap): Promise<KnownRow[]> {
  const input = await loadInput(conn, 'known', path, 'known', columnMap);
  const lineOf = recordLines(input);
  const read = (await rows(conn, `SELECT rowid + 1 AS r, trim(coalesce(customer_id, '')) AS id, trim(coalesce(persona, '')) AS v FROM known ORDER BY rowid`)) as { r: bigint; id: string; v: string }[];
  return read.map((x) => ({ customerId: x.id, value: x.v, line: lineOf(Number(x.r)) }));
}
