// Excel workbooks (.xlsx) as client files: the first visible sheet holding rows is written as a
// UTF-8, semicolon-separated text file, which the CSV path then reads like any client export
// (line numbers are the sheet's row numbers, so rejects point at the row a user sees).
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type ExcelJS from 'exceljs';
import { InputError } from '../errors.ts';

/** Which sheet of a workbook was read, and the other sheets holding rows, left out. */
export interface WorkbookSheet {
  sheet: string;
  otherSheets: string[];
}

export interface WorkbookText extends WorkbookSheet {
  /** The text file holding the sheet's rows (in the scratch directory given). */
  path: string;
  /** The sheet's row of its first line (rows above it were empty). */
  firstRow: number;
}

/** The delimiter of the text written: cells may hold commas (French numbers written as text). */
export const WORKBOOK_DELIMITER = ';';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * A cell as text: numbers as JavaScript writes them (12.5), dates in ISO (a date alone when it has no
 * time of day), booleans as 1 and 0, the text of rich text and links, a formula's result, and an
 * error as Excel shows it (#N/A), which validation then rejects like any unreadable value.
 */
export function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value instanceof Date) {
    // Excel keeps times as fractions of a day: round to the second before reading the clock.
    const d = new Date(Math.round(value.getTime() / 1000) * 1000);
    if (Number.isNaN(d.getTime())) return '';
    const day = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    const time = d.getUTCHours() * 3600 + d.getUTCMinutes() * 60 + d.getUTCSeconds();
    return time ? `${day}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}` : day;
  }
  if ('richText' in value) return value.richText.map((r) => r.text).join('');
  if ('error' in value) return String(value.error);
  if ('formula' in value || 'sharedFormula' in value) return value.result === undefined ? '' : cellText(value.result as ExcelJS.CellValue);
  if ('hyperlink' in value) return typeof value.text === 'string' ? value.text : cellText(value.text as ExcelJS.CellValue);
  return String(value);
}

/**
 * A cell's text as a CSV field. A line break inside a cell (Alt+Enter) becomes a space: each line of
 * the text is then one sheet row, read by DuckDB's parallel reader (a quoted line break needs its
 * one-thread reader, see loadInput) and numbered as the sheet's row.
 */
const field = (cell: string) => {
  const text = cell.replace(/\r\n|[\r\n]/g, ' ');
  return /[;"]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

/** One sheet's rows being written to its own text file. */
interface SheetOut {
  id: number;
  name: string;
  hidden: boolean;
  path: string;
  out: WriteStream;
  rows: number;
  firstRow: number;
  lastRow: number;
}

/**
 * Writes the first visible sheet of `path` holding rows to a text file in `scratch`. Every sheet is
 * written as it streams past (a workbook's files need not come in the order of its tabs); the tab
 * order, known at the end, picks the one kept. Empty rows between filled ones are empty lines (the
 * CSV path reports them); empty rows above the first filled one and below the last are left out.
 */
export async function workbookToText(path: string, scratch: string): Promise<WorkbookText> {
  // Loaded when a workbook is read (a third of a second), not by every run of CSV files.
  const { default: excel } = await import('exceljs');
  const reader = new excel.stream.xlsx.WorkbookReader(path, { worksheets: 'emit', sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', entries: 'ignore' });
  const sheets: SheetOut[] = [];
  try {
    for await (const sheet of reader) {
      // The reader sets these from the workbook's list of sheets; its typings leave them out.
      const about = sheet as unknown as { id: number | string; name: string; state?: string };
      const out: SheetOut = {
        id: Number(about.id),
        name: String(about.name),
        hidden: about.state === 'hidden' || about.state === 'veryHidden',
        path: join(scratch, `sheet-${sheets.length + 1}.csv`),
        out: createWriteStream(join(scratch, `sheet-${sheets.length + 1}.csv`)),
        rows: 0,
        firstRow: 0,
        lastRow: 0,
      };
      sheets.push(out);
      for await (const row of sheet as AsyncIterable<ExcelJS.Row>) {
        // row.values is 1-based and sparse: cells without a value are holes.
        const values = row.values as ExcelJS.CellValue[];
        const texts: string[] = [];
        for (let i = 1; i < values.length; i++) texts.push(cellText(values[i]));
        while (texts.length && texts[texts.length - 1].trim() === '') texts.pop();
        if (!texts.length) continue;
        // Empty rows since the last filled one become empty lines; none before the first.
        const gap = out.rows ? row.number - out.lastRow : 1;
        if (!out.rows) out.firstRow = row.number;
        const text = '\n'.repeat(gap - 1) + texts.map(field).join(WORKBOOK_DELIMITER) + '\n';
        if (!out.out.write(text)) await new Promise<void>((resolve) => out.out.once('drain', () => resolve()));
        out.rows++;
        out.lastRow = row.number;
      }
      await new Promise<void>((resolve, reject) => out.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  } catch (err) {
    for (const s of sheets) s.out.destroy();
    if (err instanceof InputError) throw err;
    throw new InputError('INPUT_INVALID', `${path}: not a readable .xlsx workbook (${(err as Error).message}); save it again from the spreadsheet, or as "CSV UTF-8"`, { file: path });
  }
  // The tabs' order is the workbook's list of sheets (sheet files may be numbered otherwise).
  const order = ((reader as unknown as { model?: { sheets?: { id: number }[] } }).model?.sheets ?? []).map((s) => Number(s.id));
  const rank = (s: SheetOut) => (order.includes(s.id) ? order.indexOf(s.id) : order.length + sheets.indexOf(s));
  const filled = sheets.filter((s) => s.rows > 0).sort((a, b) => rank(a) - rank(b));
  const kept = filled.find((s) => !s.hidden);
  if (!kept) {
    throw new InputError('INPUT_INVALID', `${path}: the workbook has no visible sheet holding rows (sheets: ${sheets.map((s) => `"${s.name}"${s.hidden ? ' (hidden)' : ''}`).join(', ') || 'none'})`, { file: path });
  }
  return { path: kept.path, sheet: kept.name, otherSheets: filled.filter((s) => s !== kept).map((s) => s.name), firstRow: kept.firstRow };
}
