// How a client's CSV export is written, found from the file itself: its character encoding, and
// for the typed columns the French spreadsheet conventions (a decimal comma in semicolon-separated
// files, dates written day first). Spreadsheets in France save "CSV" as Windows-1252 with
// semicolons, "12,50" and "25/04/2026", and "Unicode text" as UTF-16 with tabs; each is read as
// such, and what was read is reported (features.json `formats`, and a line on the terminal), never
// guessed silently.
import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ident, literal, rows, run, trimmed, type Duck } from './duck.ts';

/** How far down a file its header is looked for, below a title block. */
export const HEADER_SEARCH_LINES = 20;

export type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

/**
 * How a file writes its dates when not ISO: day first (25/04/2026) or month first (04/25/2026),
 * compact, year, month and day without separators (20260425), as ERP exports do, or as a
 * spreadsheet's day numbers (46137 for 2026-04-25, 46137.6 at 14:24), what a date column formatted
 * as a number saves.
 */
export type DateOrder = 'day-first' | 'month-first' | 'compact' | 'serial' | 'month-name' | 'unix';

/** What separates a day-first or month-first date's parts when not a slash (25-04-2026, 25.04.2026). */
export type DateSeparator = '-' | '.';

export interface InputFormat {
  encoding: Encoding;
  delimiter: ',' | ';' | '\t';
  /** Numbers may be written with a decimal comma ("12,50"), and spaces between thousands. */
  decimalComma: boolean;
  /** Set when the file's dates are written day or month first, or compact; ISO dates are read in either case. */
  dateOrder?: DateOrder;
  /** Set when those dates' parts are separated by a dash or a dot (absent: a slash). */
  dateSeparator?: DateSeparator;
  /** Set when most of those dates write the year in two digits (25/04/26): of this century up to next year, else of the last. */
  shortYear?: boolean;
  /** Set when most amounts of a comma-separated file carry a euro sign or `EUR` (12.50 €): read as numbers. */
  euroAmounts?: boolean;
  /** Columns without a name in the header and without a value, left out (a delimiter ending every line). */
  ignoredColumns?: number;
  /** Set for an Excel workbook: the sheet read, and the other sheets holding rows, left out. */
  workbook?: { sheet: string; otherSheets: string[] };
  /** Set when lines stand above the header (a title block): the header's line (a workbook's row), the lines above not read. */
  headerLine?: number;
  /** Set when records span several lines: how many (a quoted field holding a line break, read as one value). */
  multilineRecords?: number;
  /** Set when values are written as Excel text formulas (`="00042"`): the columns read as their text. */
  formulaText?: string[];
  /** Set when empty values are written as text (`NULL`, `\\N`, `#N/A`, `nan`...), as databases, spreadsheets and data frames export them: the columns where they were read as empty. */
  nullText?: string[];
  /** With `nullText`: the ways of writing an empty value found (absent in summaries written before it: `NULL`). */
  nullTokens?: string[];
  /** Set for purchases written as order lines (an `order_id` column): how many lines, of how many orders (each read as one purchase). */
  orderLines?: { lines: number; orders: number };
  /**
   * Set when the file is exports joined end to end (its header line repeated) and rows of a later
   * one repeat an earlier one's (see clean.ts rejectPartOverlaps): how many parts; the rows of a
   * later one left out as repeating an overlapping earlier one (`leftOut`), the earlier one's rows
   * it amended (`replaced`); and the exact repeats kept, too few to be an overlap (`repeated`).
   */
  joinedParts?: JoinedParts;
  /** Set for an input given as a folder: its files, in the order read (the format above is the first's). */
  files?: FolderFile[];
  /** Files of the folder passed over: not data files. */
  ignoredFiles?: string[];
  /** A folder's text files naming none of the input's columns: notes, not read. */
  noteFiles?: string[];
}

/** Exports joined end to end in one file: see InputFormat.joinedParts. */
export interface JoinedParts {
  parts: number;
  repeated: number;
  leftOut?: number;
  replaced?: number;
}

/** One file of an input given as a folder: its path in the folder, its rows, the dates of its rows kept, and its own format when written otherwise than the first file. */
export interface FolderFile {
  file: string;
  rows: number;
  /** Rows repeating an earlier file's over the dates both cover (an overlapping export), left out. */
  repeated?: number;
  /** Rows a later file of the folder holds amended (the same customer and day, over the dates both cover, in an overlap of exports), left out. */
  replaced?: number;
  /** A folder of customers: its customers also in a later file (read from the last), and how many of them it writes otherwise. */
  later?: number;
  laterChanged?: number;
  /** Rows alike to an earlier file's over the dates both cover, too few to be one export's overlap, kept: to check. */
  alike?: { file: string; from: string; to: string; rows: number }[];
  from?: string;
  to?: string;
  format?: InputFormat;
}

function bytes(path: string): Readable {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  return path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
}

/**
 * The length of `buf` without a UTF-8 sequence cut at its end (the rest comes with the next
 * chunk): the last lead byte among the last three, if its sequence runs past the end.
 */
function completeLength(buf: Buffer): number {
  for (let i = buf.length - 1; i >= Math.max(0, buf.length - 3); i--) {
    const b = buf[i];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + need > buf.length ? i : buf.length;
  }
  return buf.length;
}

/**
 * The encoding of a text file (gzip-compressed when its name ends in .gz), reading it once: UTF-16
 * when it starts with a UTF-16 byte order mark; UTF-8 when every byte sequence is valid UTF-8
 * (ASCII included); else Windows-1252, the encoding of French spreadsheets' CSV exports (a
 * superset of Latin-1's letters), which decodes any byte. In the same pass, for a UTF-8 file:
 * whether it holds an empty line and a quote (see scanText, the same for an uncompressed file).
 */
export async function scanStream(path: string): Promise<TextScan> {
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  let blankLine = false;
  let quote = false;
  const stream = bytes(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (first) {
        first = false;
        if (chunk[0] === 0xff && chunk[1] === 0xfe) return { encoding: 'utf-16le' };
        if (chunk[0] === 0xfe && chunk[1] === 0xff) return { encoding: 'utf-16be' };
      }
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      if (!blankLine && (buf.indexOf('\n\n') >= 0 || buf.indexOf('\n\r\n') >= 0)) blankLine = true;
      if (!quote && buf.indexOf(0x22) >= 0) quote = true;
      const end = completeLength(buf);
      if (!isUtf8(buf.subarray(0, end))) return { encoding: 'windows-1252' };
      // Keep a cut sequence, and the last two bytes for a blank line across the chunks, from a character's start.
      let start = Math.min(end, buf.length - 2);
      while (start > 0 && (buf[start] & 0xc0) === 0x80) start--;
      carry = Buffer.from(buf.subarray(start));
    }
    return isUtf8(carry) ? { encoding: 'utf-8', blankLine, quote } : { encoding: 'windows-1252' };
  } finally {
    stream.destroy();
  }
}

/** The encoding of a text file, gzip-compressed or not (scanStream). */
export async function detectEncoding(path: string): Promise<Encoding> {
  return (await scanStream(path)).encoding;
}

export interface TextScan {
  encoding: Encoding;
  /** Whether the file holds an empty line; undefined when the scan stopped before the end (not UTF-8). */
  blankLine?: boolean;
  /** Whether the file holds a double quote anywhere; undefined as blankLine. */
  quote?: boolean;
}

/**
 * detectEncoding of an uncompressed file, in the same native pass telling whether it holds an empty
 * line (two line ends in a row), which the row numbering needs, and a quote, which the stray quote
 * check needs: one read of a large file, not two.
 */
export function scanText(path: string): TextScan {
  const fd = openSync(path, 'r');
  // Reads of 16 MB, or one of the file's size and the read that finds its end: a small file (a
  // request's rows, a reference slice) does not pay for zeroing 16 MB, 3 to 4 ms a file.
  const size = Math.max(1, Math.min(16 * 1024 * 1024, fstatSync(fd).size + 1));
  const buf = Buffer.alloc(size + 8); // room for the carried bytes (at most 5)
  let carry = 0;
  let first = true;
  let blankLine = false;
  let quote = false;
  try {
    for (;;) {
      const n = readSync(fd, buf, carry, size, null);
      const view = buf.subarray(0, carry + n);
      if (first) {
        first = false;
        if (view[0] === 0xff && view[1] === 0xfe) return { encoding: 'utf-16le' };
        if (view[0] === 0xfe && view[1] === 0xff) return { encoding: 'utf-16be' };
      }
      if (n === 0) return isUtf8(view) ? { encoding: 'utf-8', blankLine, quote } : { encoding: 'windows-1252' };
      if (!blankLine && (view.indexOf('\n\n') >= 0 || view.indexOf('\n\r\n') >= 0)) blankLine = true;
      if (!quote && view.indexOf(0x22) >= 0) quote = true;
      const end = completeLength(view);
      if (!isUtf8(view.subarray(0, end))) return { encoding: 'windows-1252' };
      // Keep a cut sequence, and the last two bytes for a blank line across the reads, from a character's start.
      let start = Math.min(end, view.length - 2);
      while (start > 0 && (view[start] & 0xc0) === 0x80) start--;
      carry = view.length - start;
      view.copyWithin(0, start);
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes `path`, read in `encoding`, as UTF-8 (uncompressed) to `dest`; a byte order mark is dropped. */
export async function transcodeToUtf8(path: string, encoding: Encoding, dest: string): Promise<void> {
  const decoder = new TextDecoder(encoding);
  const decode = new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, decoder.decode(chunk, { stream: true }));
    },
    flush(done) {
      done(null, decoder.decode());
    },
  });
  await pipeline(bytes(path), decode, createWriteStream(dest));
}

/** Delimiter of a CSV header: the most frequent of tab, semicolon and comma (comma on a tie or none). */
export function sniffDelimiter(header: string): InputFormat['delimiter'] {
  const count = (d: string) => header.split(d).length - 1;
  const [tabs, semis, commas] = [count('\t'), count(';'), count(',')];
  if (tabs > semis && tabs > commas) return '\t';
  return semis > commas ? ';' : ',';
}

/** 25/04/2026, 25-04-2026, 25.04.2026, 25/04/26 (with a time or not): day and month, either order, then the year. */
const DAY_MONTH = String.raw`^\s*(\d{1,2})([/.-])(\d{1,2})[/.-](\d{4}|\d{2})(\D|$)`;
/** 20260425, or 20260425 14:32[:05]: eight digits (one that makes no date is then a bad_date). */
const COMPACT = String.raw`^\s*\d{8}(\s+\d{1,2}:\d{2}(:\d{2})?)?\s*$`;
/** A spreadsheet's day number from 1954-10-04 (20000) to 2119-01-10 (79999), with a time as its decimals. */
const SERIAL = String.raw`^\s*[2-7]\d{4}([.,]\d+)?\s*$`;
/**
 * A Unix time, as apps, web analytics and document stores export them: seconds since 1970-01-01 UTC
 * (1777075200 for 2026-04-25, nine or ten digits: 1973 to 2286, decimals allowed), or milliseconds
 * (twelve or thirteen digits).
 */
const UNIX_SECONDS = String.raw`^\s*\d{9,10}(\.\d+)?\s*$`;
const UNIX_MILLIS = String.raw`^\s*\d{12,13}\s*$`;
/**
 * 25-APR-26 (Oracle's default), 25 avr. 2026, 25-Apr-2026 14:32: the day, the month in words
 * (English or French, whole or cut short), the year in two or four digits, a time or not.
 */
const MONTH_NAME = String.raw`^\s*(\d{1,2})[-/ .]+([A-Za-zÀ-ÿ]{3,9})\.?[-/ .]+(\d{4}|\d{2})([ T]+(\d{1,2}):(\d{2})(:(\d{2}))?)?\s*$`;
/** Each month's names, as `lower(strip_accents())` writes them. */
const MONTH_NAMES: string[][] = [
  ['jan', 'janv', 'january', 'janvier'],
  ['feb', 'fev', 'fevr', 'february', 'fevrier'],
  ['mar', 'mars', 'march'],
  ['apr', 'avr', 'april', 'avril'],
  ['may', 'mai'],
  ['jun', 'june', 'juin'],
  ['jul', 'juil', 'july', 'juillet'],
  ['aug', 'aou', 'aout', 'august'],
  ['sep', 'sept', 'september', 'septembre'],
  ['oct', 'october', 'octobre'],
  ['nov', 'november', 'novembre'],
  ['dec', 'december', 'decembre'],
];

/**
 * SQL: a date with the month in words (MONTH_NAME) as a TIMESTAMP, else NULL. A two-digit year is
 * of this century up to next year (26 is 2026), of the last one after (95 is 1995).
 */
function monthNameSql(c: string): string {
  const part = (k: number) => `regexp_extract(${c}, '${MONTH_NAME}', ${k})`;
  const word = `lower(strip_accents(${part(2)}))`;
  const month = `CASE ${MONTH_NAMES.map((names, k) => `WHEN ${word} IN (${names.map(literal).join(', ')}) THEN ${k + 1}`).join(' ')} END`;
  const pivot = (new Date().getUTCFullYear() + 1) % 100;
  const year = `CASE WHEN length(${part(3)}) = 4 THEN ${part(3)}::INTEGER WHEN ${part(3)}::INTEGER <= ${pivot} THEN 2000 + ${part(3)}::INTEGER ELSE 1900 + ${part(3)}::INTEGER END`;
  const time = `CASE WHEN ${part(5)} = '' THEN '' ELSE ' ' || ${part(5)} || ':' || ${part(6)} || ':' || coalesce(nullif(${part(8)}, ''), '00') END`;
  return `CASE WHEN regexp_matches(${c}, '${MONTH_NAME}') THEN try_cast(printf('%04d-%02d-%02d', ${year}, ${month}, ${part(1)}::INTEGER) || ${time} AS TIMESTAMP) END`;
}

/** The rows a file's way of writing dates is judged on: its first ones (the whole file for the order of slashed dates). */
export const DATE_SAMPLE_ROWS = 200_000;

/**
 * How the file's dates read, from the text columns `columns` of the loaded `table`, when most of
 * its first DATE_SAMPLE_ROWS dates are not ISO:
 * - compact (20260425) when most are eight digits making a date;
 * - day and month: month first only when some date's second part is over 12 and none's first part
 *   is (04/25/2026), otherwise day first, the French way (a date then read as neither is bad_date);
 *   the parts separated by the sampled dates' most common separator (a slash, a dash, a dot).
 * Undefined when ISO dates are the file's way: in such a file, a stray "31/12/2025" is a corrupted
 * row, rejected as bad_date. `open` when day first was chosen for want of a part past 12.
 */
export async function detectDateOrder(conn: Duck, table: string, columns: string[]): Promise<(Pick<InputFormat, 'dateOrder' | 'dateSeparator' | 'shortYear'> & { open?: boolean }) | undefined> {
  if (!columns.length) return undefined;
  const sum = (r: Record<string, unknown>, prefix: string) => columns.reduce((s, c) => s + Number(r[`${prefix}_${c}`]), 0);
  // Day and month first (25/04/2026, 04-25-2026); 2026/04/25 reads as ISO.
  const dayMonth = (c: string) => `regexp_matches(${ident(c)}, '${DAY_MONTH}')`;
  // An ISO date holds a dash; only the others are matched against the compact layout.
  const compact = (c: string) => `(NOT contains(${ident(c)}, '-') AND regexp_matches(${ident(c)}, '${COMPACT}'))`;
  const [seen] = await rows(
    conn,
    `SELECT ${columns
      .map((c) => {
        const separators = `count(*) FILTER (WHERE ${dayMonth(c)} AND regexp_extract(${ident(c)}, '${DAY_MONTH}', 2) = `;
        const serial = `count(*) FILTER (WHERE regexp_matches(${ident(c)}, '${SERIAL}')) AS ${ident(`x_${c}`)}`;
        const named = `count(*) FILTER (WHERE regexp_matches(${ident(c)}, '${MONTH_NAME}')) AS ${ident(`w_${c}`)}`;
        const unix = `count(*) FILTER (WHERE regexp_matches(${ident(c)}, '${UNIX_SECONDS}') OR regexp_matches(${ident(c)}, '${UNIX_MILLIS}')) AS ${ident(`u_${c}`)}`;
        const short = `count(*) FILTER (WHERE ${dayMonth(c)} AND length(regexp_extract(${ident(c)}, '${DAY_MONTH}', 4)) = 2) AS ${ident(`y_${c}`)}`;
        return `count(${ident(c)}) AS ${ident(`n_${c}`)}, count(*) FILTER (WHERE ${dayMonth(c)}) AS ${ident(`s_${c}`)}, count(*) FILTER (WHERE ${compact(c)}) AS ${ident(`k_${c}`)}, ${separators}'-') AS ${ident(`dash_${c}`)}, ${separators}'.') AS ${ident(`dot_${c}`)}, ${serial}, ${named}, ${unix}, ${short}`;
      })
      .join(', ')}
     FROM (SELECT ${columns.map(ident).join(', ')} FROM ${ident(table)} LIMIT ${DATE_SAMPLE_ROWS})`,
  );
  const dated = sum(seen, 'n');
  if (sum(seen, 'k') * 2 > dated) return { dateOrder: 'compact' };
  if (sum(seen, 'x') * 2 > dated) return { dateOrder: 'serial' };
  if (sum(seen, 'w') * 2 > dated) return { dateOrder: 'month-name' };
  if (sum(seen, 'u') * 2 > dated) return { dateOrder: 'unix' };
  const found = sum(seen, 's');
  if (found === 0 || found * 2 <= dated) return undefined;
  const [dash, dot] = [sum(seen, 'dash'), sum(seen, 'dot')];
  // Most years in two digits (25/04/26, a spreadsheet's short date): read so.
  const shortYear = sum(seen, 'y') * 2 > found;
  const separator = dash * 2 > found ? '-' : dot * 2 > found ? '.' : '/';
  const layout = dayMonthLayout(separator);
  const part = (c: string, k: number) => `try_cast(regexp_extract(${ident(c)}, '${layout}', ${k}) AS INTEGER)`;
  const written = (c: string) => `(contains(${ident(c)}, '${separator}') AND regexp_matches(${ident(c)}, '${layout}'))`;
  const [parts] = await rows(
    conn,
    `SELECT ${columns
      .map(
        (c) =>
          `count(*) FILTER (WHERE ${written(c)} AND ${part(c, 1)} > 12) AS ${ident(`d_${c}`)}, count(*) FILTER (WHERE ${written(c)} AND ${part(c, 2)} > 12) AS ${ident(`m_${c}`)}`,
      )
      .join(', ')} FROM ${ident(table)}`,
  );

  const dateOrder = sum(parts, 'm') > 0 && sum(parts, 'd') === 0 ? 'month-first' : 'day-first';
  // No part past 12 either way: day first for want of a sign (`open`, for another file of the input to settle).
  const open = sum(parts, 'm') === 0 && sum(parts, 'd') === 0;
  return { dateOrder, ...(separator === '/' ? {} : { dateSeparator: separator }), ...(shortYear ? { shortYear } : {}), ...(open ? { open } : {}) };
}

/** The day-and-month layout with one separator: its two first parts as groups 1 and 2, the year as group 3. */
function dayMonthLayout(separator: string): string {
  const sep = separator === '.' ? String.raw`\.` : separator;
  return String.raw`^\s*(\d{1,2})${sep}(\d{1,2})${sep}(\d{4}|\d{2})(\D|$)`;
}

/**
 * SQL: the amount column `c` as a DOUBLE, NULL when it is not a number in the file's format. In a
 * comma-separated file whose amounts carry a euro sign or `EUR` (`12.50 €`, `€12.50`, `EUR 12.50`),
 * the sign is set aside, tried only for a value that does not read as a number. Where most amounts
 * are plain numbers, one carrying a sign is no amount (a row typed by hand, a total line).
 */
export function amountSql(c: string, format: Pick<InputFormat, 'decimalComma' | 'euroAmounts'> | undefined): string {
  return `coalesce(${plainAmountSql(c, format)}, ${writtenAmountSql(c, format)})`;
}

function plainAmountSql(c: string, format: Pick<InputFormat, 'decimalComma' | 'euroAmounts'> | undefined): string {
  if (format?.decimalComma || !format?.euroAmounts) return numberSql(c, format);
  let text = trimmed(c);
  for (const drop of ['€', 'EUR', ' ', '\u00a0']) text = `replace(${text}, '${drop}', '')`;
  return `coalesce(try_cast(${trimmed(c)} AS DOUBLE), CASE WHEN contains(${c}, '€') OR contains(${c}, 'EUR') THEN try_cast(${text} AS DOUBLE) END)`;
}

/** Between thousands: a comma, an apostrophe (Swiss), a space of any width; in a decimal-comma file, a dot instead of the comma. */
const THOUSANDS = { point: ",'’ \u00a0\u202f", comma: ".'’ \u00a0\u202f" };

/**
 * SQL: an amount as accounting software and spreadsheets may write it, read where the plain
 * reading fails (the reading is tried on those rows only): thousands grouped (`1,234.50`,
 * `1.234,50` in a decimal-comma file, `1'234.50`), and a refund written `12.50-` (SAP) or
 * `(12.50)` (a spreadsheet's accounting format). Each group after the first is three digits, so a
 * corrupted `1.234.56` stays unread; the euro sign is set aside only where the plain reading does.
 */
function writtenAmountSql(c: string, format: Pick<InputFormat, 'decimalComma' | 'euroAmounts'> | undefined): string {
  let text = trimmed(c);
  const drops = format?.decimalComma ? ['€'] : format?.euroAmounts ? ['€', 'EUR'] : [];
  for (const drop of drops) text = `replace(${text}, '${drop}', '')`;
  text = `trim(${text})`;
  const negative = `((starts_with(${text}, '(') AND ends_with(${text}, ')')) OR (ends_with(${text}, '-') AND NOT starts_with(${text}, '-')))`;
  const body = `trim(CASE WHEN starts_with(${text}, '(') THEN ${text}[2:-2] WHEN ends_with(${text}, '-') THEN ${text}[1:-2] ELSE ${text} END)`;
  const [group, decimal] = format?.decimalComma ? [THOUSANDS.comma, ','] : [THOUSANDS.point, '\\.'];
  const grouped = `'^[-+]?[0-9]{1,3}([${group.replaceAll("'", "''")}][0-9]{3})+(${decimal}[0-9]+)?$'`;
  const digits = `regexp_replace(${body}, '[${group.replaceAll("'", "''")}]', '', 'g')`;
  const number = `CASE WHEN regexp_matches(${body}, ${grouped}) THEN try_cast(${format?.decimalComma ? `replace(${digits}, ',', '.')` : digits} AS DOUBLE)
    ELSE ${plainAmountSql(`(${body})`, format)} END`;
  return `CASE WHEN ${negative} OR regexp_matches(${body}, ${grouped}) THEN (CASE WHEN ${negative} THEN -1 ELSE 1 END) * (${number}) END`;
}

/**
 * Values written as an Excel text formula, `="00042"`: what exports meant for a spreadsheet write
 * so that it keeps an id's or a postcode's leading zeros. Read as their text (`00042`, a doubled
 * quote inside as one). The columns of `table` whose first DATE_SAMPLE_ROWS values hold some are
 * rewritten, every value so written; returns them (none: the table is left alone).
 */
export async function unwrapFormulaText(conn: Duck, table: string, columns: string[]): Promise<string[]> {
  if (!columns.length) return [];
  const formula = (c: string) => `(starts_with(${ident(c)}, '="') AND ends_with(${ident(c)}, '"') AND length(${ident(c)}) >= 3)`;
  const [seen] = await rows(
    conn,
    `SELECT ${columns.map((c, k) => `count(*) FILTER (WHERE ${formula(c)}) AS f${k}`).join(', ')} FROM (SELECT ${columns.map(ident).join(', ')} FROM ${ident(table)} LIMIT ${DATE_SAMPLE_ROWS})`,
  );
  const found = columns.filter((_, k) => Number(seen[`f${k}`]) > 0);
  if (!found.length) return [];
  await run(
    conn,
    `UPDATE ${ident(table)} SET ${found.map((c) => `${ident(c)} = CASE WHEN ${formula(c)} THEN replace(${ident(c)}[3:-2], '""', '"') ELSE ${ident(c)} END`).join(', ')}
     WHERE ${found.map(formula).join(' OR ')}`,
  );
  return found;
}

/**
 * How exports write an empty value as text: databases (SQL Server's and most clients' `NULL`,
 * MySQL's `\\N`, C libraries' `(null)`), spreadsheets (`#N/A`, a lookup that found nothing) and data
 * frames cast to text (pandas' `nan`, `NaN`, `None`). Each is written so by no value of a column of
 * the contract: `Nan` (a first name) and `NA` (a segment may be North America) are not among them.
 */
const NULL_TEXT = ['NULL', 'null', 'Null', '\\N', '(null)', '#N/A', 'nan', 'NaN', 'None'];

/**
 * Empty values written as text (NULL_TEXT: a database's export, SQL Server Management Studio's
 * "save results as", MySQL's; a spreadsheet's `#N/A`; a data frame's `nan`): set empty in every
 * column of `table` that holds some, so that a missing signup date, order id or segment reads
 * missing and not as a value (a segment named `#N/A`, every order line without an id one order).
 * Counted over the whole table (a column's nulls may all be far down); returns the columns and the
 * ways of writing found (none: the table is left alone).
 */
export async function readNullText(conn: Duck, table: string, columns: string[]): Promise<{ columns: string[]; tokens: string[] }> {
  if (!columns.length) return { columns: [], tokens: [] };
  const isNull = (c: string) => `${ident(c)} IN (${NULL_TEXT.map(literal).join(', ')})`;
  const [seen] = await rows(conn, `SELECT ${columns.map((c, k) => `count(*) FILTER (WHERE ${isNull(c)}) AS n${k}`).join(', ')} FROM ${ident(table)}`);
  const found = columns.filter((_, k) => Number(seen[`n${k}`]) > 0);
  if (!found.length) return { columns: [], tokens: [] };
  const [ways] = await rows(
    conn,
    `SELECT ${NULL_TEXT.map((t, k) => `count(*) FILTER (WHERE ${found.map((c) => `${ident(c)} = ${literal(t)}`).join(' OR ')}) AS t${k}`).join(', ')} FROM ${ident(table)}`,
  );
  const tokens = NULL_TEXT.filter((_, k) => Number(ways[`t${k}`]) > 0);
  await run(conn, `UPDATE ${ident(table)} SET ${found.map((c) => `${ident(c)} = CASE WHEN ${isNull(c)} THEN NULL ELSE ${ident(c)} END`).join(', ')} WHERE ${found.map(isNull).join(' OR ')}`);
  return { columns: found, tokens };
}

/**
 * Numbers that can only be written with a decimal comma, and their decimal-point twins: an amount
 * with one or two decimals (`12,50`: thousands are three digits), degrees of at most three digits
 * with decimals (`48,8566`: no coordinate is in the thousands).
 */
const DECIMAL_SHAPES = {
  amount: { comma: String.raw`^\s*(€|EUR)?\s*[-+]?[0-9]+,[0-9]{1,2}\s*(€|EUR)?\s*$`, point: String.raw`^\s*(€|EUR)?\s*[-+]?[0-9]+\.[0-9]{1,2}\s*(€|EUR)?\s*$` },
  degrees: { comma: String.raw`^\s*[-+]?[0-9]{1,3},[0-9]+\s*$`, point: String.raw`^\s*[-+]?[0-9]{1,3}\.[0-9]+\s*$` },
};
/** The columns of each input whose values say how its decimals are written. */
const DECIMAL_COLUMNS: Partial<Record<string, Record<string, keyof typeof DECIMAL_SHAPES>>> = {
  transactions: { amount: 'amount' },
  customers: { lat: 'degrees', lon: 'degrees' },
};

/**
 * Whether a comma-separated file writes its decimals with a comma (quoted: `"12,50"`), as French
 * software exporting "CSV" may: more of its first DATE_SAMPLE_ROWS amounts (or coordinates) can
 * only be decimal-comma numbers than decimal-point ones. A semicolon or tab file is taken to have
 * a decimal comma already; a comma file whose numbers show neither stays with the point.
 */
export async function detectDecimalComma(conn: Duck, input: string, table: string, columns: string[]): Promise<boolean> {
  const shaped = Object.entries(DECIMAL_COLUMNS[input] ?? {}).filter(([c]) => columns.includes(c));
  if (!shaped.length) return false;
  const count = (way: 'comma' | 'point') =>
    shaped.map(([c, shape]) => `count(*) FILTER (WHERE regexp_matches(${ident(c)}, '${DECIMAL_SHAPES[shape][way]}'))`).join(' + ');
  const [seen] = await rows(
    conn,
    `SELECT ${count('comma')} AS comma, ${count('point')} AS point FROM (SELECT ${shaped.map(([c]) => ident(c)).join(', ')} FROM ${ident(table)} LIMIT ${DATE_SAMPLE_ROWS})`,
  );
  return Number(seen.comma) > Number(seen.point);
}

/** Whether most of the first DATE_SAMPLE_ROWS amounts of the text column `amount` in `table` carry a euro sign or `EUR`. */
export async function detectEuroAmounts(conn: Duck, table: string): Promise<boolean> {
  const [seen] = await rows(
    conn,
    `SELECT count(amount) AS n, count(*) FILTER (WHERE contains(amount, '€') OR contains(amount, 'EUR')) AS euro FROM (SELECT amount FROM ${ident(table)} LIMIT ${DATE_SAMPLE_ROWS})`,
  );
  return Number(seen.euro) * 2 > Number(seen.n);
}

/** SQL: the text column `c` as a DOUBLE, NULL when it is not a number in the file's format. */
export function numberSql(c: string, format: Pick<InputFormat, 'decimalComma'> | undefined): string {
  if (!format?.decimalComma) return `try_cast(${trimmed(c)} AS DOUBLE)`;
  // "1 234,50 €": spaces (plain, no-break, narrow no-break) between thousands, the comma, a euro
  // sign. Plain replaces: a regular expression over every amount costs twice as much (measured).
  let text = trimmed(c);
  for (const drop of [' ', '\u00a0', '\u202f', '€']) text = `replace(${text}, '${drop}', '')`;
  return `try_cast(replace(${text}, ',', '.') AS DOUBLE)`;
}

/** Quotes a CSV field when it needs it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * The zone a written instant is read in: an ISO time in UTC (`2026-04-25T22:30:00Z`, as web
 * exports write them) or a Unix time is the moment, and the day the features count is the day it
 * was in France, where the base's customers buy (22:30 UTC on a Friday in April is Saturday, 00:30,
 * in Paris). An ISO time with another offset (`+02:00`) is read as written: the writer's own
 * clock; one without, as written.
 */
export const LOCAL_ZONE = 'Europe/Paris';

/** SQL: the text column `c` as a TIMESTAMP (ISO first, then slashed dates in the file's order), else NULL. */
export function timestampSql(c: string, format: Pick<InputFormat, 'dateOrder' | 'dateSeparator' | 'shortYear'> | undefined): string {
  const t0 = trimmed(c);
  const iso = `CASE WHEN ends_with(${t0}, 'Z') THEN timezone('${LOCAL_ZONE}', try_cast(${t0} AS TIMESTAMPTZ)) ELSE try_cast(${t0} AS TIMESTAMP) END`;
  if (!format?.dateOrder) return iso;
  if (format.dateOrder === 'serial') {
    // Day 0 is 1899-12-30 (the day before Excel's day 1, 1900-01-01, once its 29 February 1900 is counted).
    const days = `CASE WHEN regexp_matches(${c}, '${SERIAL}') THEN try_cast(replace(${trimmed(c)}, ',', '.') AS DOUBLE) END`;
    return `coalesce(TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(${days} * 86400000000) AS BIGINT)), ${iso})`;
  }
  if (format.dateOrder === 'month-name') return `coalesce(${monthNameSql(trimmed(c))}, ${iso})`;
  if (format.dateOrder === 'unix') {
    // The moment, read in France as an ISO time ending in Z is (LOCAL_ZONE).
    const t = trimmed(c);
    const micros = `CASE WHEN regexp_matches(${t}, '${UNIX_SECONDS}') THEN CAST(round(CAST(${t} AS DOUBLE) * 1000000) AS BIGINT) WHEN regexp_matches(${t}, '${UNIX_MILLIS}') THEN CAST(${t} AS BIGINT) * 1000 END`;
    return `coalesce(timezone('${LOCAL_ZONE}', make_timestamptz(${micros})), ${iso})`;
  }
  const [a, b] = format.dateOrder === 'day-first' ? ['%d', '%m'] : ['%m', '%d'];
  // The file's own way first, and by length one layout at a time: a date alone is at most 10
  // characters, a date and time more (each failed layout is a parse of every value).
  const sep = format.dateSeparator ?? '/';
  const day = format.dateOrder === 'compact' ? '%Y%m%d' : `${a}${sep}${b}${sep}%Y`;
  const t = trimmed(c);
  const own = `CASE WHEN length(${t}) <= 10 THEN try_strptime(${t}, '${day}') ELSE try_strptime(${t}, ['${day} %H:%M:%S', '${day} %H:%M']) END`;
  if (!format.shortYear || format.dateOrder === 'compact') return `coalesce(${own}, ${iso})`;
  // Two-digit years first (a four-digit one leaves digits %y does not read, so it fails and is
  // read as above); DuckDB puts 69 to 99 in the 1900s, this century up to next year is ours.
  const short = `${a}${sep}${b}${sep}%y`;
  const read = `CASE WHEN length(${t}) <= 8 THEN try_strptime(${t}, '${short}') ELSE try_strptime(${t}, ['${short} %H:%M:%S', '${short} %H:%M']) END`;
  const latest = new Date().getUTCFullYear() + 1;
  return `coalesce(CASE WHEN year(${read}) > ${latest} THEN ${read} - INTERVAL 100 YEAR ELSE ${read} END, ${own}, ${iso})`;
}

const FORMAT_WORDS = {
  en: {
    windows1252: 'read as Windows-1252 (the file is not valid UTF-8)',
    utf16: (enc: string) => `read as ${enc} (byte order mark)`,
    semicolon: 'semicolon-separated',
    tab: 'tab-separated',
    decimalComma: 'decimal comma accepted (12,50)',
    dayFirst: (sep: string) => `${sep === '/' ? 'slashed dates' : 'dates'} read day first (25${sep}04${sep}2026)`,
    shortYear: 'a two-digit year of this century up to next year, else of the last (25/04/26)',
    monthFirst: (sep: string) => `${sep === '/' ? 'slashed dates' : 'dates'} read month first (04${sep}25${sep}2026)`,
    compact: 'dates without separators read year, month, day (20260425)',
    euro: 'amounts with a euro sign read as numbers (12.50 €)',
    serial: "dates written as a spreadsheet's day numbers (46137 for 2026-04-25)",
    unix: 'dates written as Unix times, seconds or milliseconds since 1970 (1777075200 for 2026-04-25 at 02:00 in Paris), read as the time in France',
    monthName: 'dates with the month in words read (25-APR-26, 25 avr. 2026; a two-digit year of this century up to next year, else of the last)',
    ignored: (n: number) => `${n} empty column(s) without a name left out`,
    sheet: (name: string) => `sheet "${name}" of the workbook`,
    otherSheets: (names: string[]) => `other sheets left out: ${names.map((n) => `"${n}"`).join(', ')}`,
    headerLine: (n: number) => `header on line ${n}, the ${n - 1} line(s) above it (a title) not read`,
    headerRow: (n: number) => `header on row ${n}, the ${n - 1} row(s) above it (a title) not read`,
    multiline: (n: number) => `${n} row(s) with a line break inside a quoted field, each read as one row`,
    orderLines: (o: { lines: number; orders: number }) => `${o.lines} order lines of ${o.orders} orders (order_id), each order read as one purchase`,
    formulaText: (columns: string[]) => `values written as Excel text formulas (="00042") read as their text, in ${columns.join(', ')}`,
    nullText: (columns: string[], tokens: string[]) => `empty values written ${tokens.join(', ')} (as databases, spreadsheets or data frames export them) read as empty, in ${columns.join(', ')}`,
    joinedParts: (j: JoinedParts) =>
      `${j.parts} exports joined end to end (the header line repeated), ${[
        ...(j.leftOut ? [`overlapping: ${j.leftOut} row(s) of a later one repeating an earlier one's over the dates both cover left out${j.replaced ? `, and ${j.replaced} row(s) of an earlier one amended in a later one (the same customer and day) left out for the later rows` : ''}`] : []),
        ...(j.repeated ? [`${j.repeated} row(s) of a later one repeating an earlier one's exactly, too few over the dates both cover for overlapping exports: kept (two alike rows may be two purchases; if the exports do overlap, those are counted twice)`] : []),
      ].join('; ')}`,
    files: (n: number, list: string) => (n === 1 ? `read from the one file of its folder: ${list}` : `read from the ${n} files of its folder, in name order: ${list}`),
    file: (f: FolderFile) =>
      `${f.file} (${f.rows.toLocaleString('en-GB')} row${f.rows === 1 ? '' : 's'}${f.from ? `, ${f.from} to ${f.to}` : ''}${f.repeated ? `, ${f.repeated.toLocaleString('en-GB')} of them repeating an earlier file's over common dates, left out` : ''}${f.replaced ? `, ${f.replaced.toLocaleString('en-GB')} of them amended in a later file, left out for its rows` : ''}${f.later ? `, ${f.later.toLocaleString('en-GB')} of them in a later file too${f.laterChanged ? ` (${f.laterChanged.toLocaleString('en-GB')} written otherwise there)` : ''}, read from it` : ''})`,
    more: (n: number) => `${n} more`,
    readOtherwise: (file: string, words: string[]) => `${file} ${words.length ? `read otherwise: ${words.join(', ')}` : 'written as the contract says (UTF-8, commas, ISO dates)'}`,
    ignoredFiles: (files: string[]) => `files of the folder passed over (not .csv, .csv.gz, .parquet, .txt or .xlsx): ${files.join(', ')}`,
    noteFiles: (files: string[]) => `text files of the folder passed over as notes (no line of their first ${HEADER_SEARCH_LINES} names a column of the input): ${files.join(', ')}`,
    alike: (file: string, a: { file: string; from: string; to: string; rows: number }) =>
      `${file} shares ${a.rows.toLocaleString('en-GB')} rows alike with ${a.file} from ${a.from} to ${a.to}, fewer than half of either's there: both kept; check whether one corrects the other`,
  },
  fr: {
    windows1252: 'lu en Windows-1252 (le fichier n’est pas en UTF-8 valide)',
    utf16: (enc: string) => `lu en ${enc} (marque d’ordre des octets)`,
    semicolon: 'séparateur point-virgule',
    tab: 'séparateur tabulation',
    decimalComma: 'virgule décimale acceptée (12,50)',
    dayFirst: (sep: string) => `${sep === '/' ? 'dates à barres' : 'dates'} lues jour en premier (25${sep}04${sep}2026)`,
    monthFirst: (sep: string) => `${sep === '/' ? 'dates à barres' : 'dates'} lues mois en premier (04${sep}25${sep}2026)`,
    shortYear: 'une année en deux chiffres de ce siècle jusqu’à l’an prochain, sinon du précédent (25/04/26)',
    compact: 'dates sans séparateur lues année, mois, jour (20260425)',
    euro: 'montants avec le signe euro lus comme des nombres (12.50 €)',
    serial: 'dates écrites en numéros de jour de tableur (46137 pour le 25/04/2026)',
    unix: 'dates écrites en temps Unix, secondes ou millisecondes depuis 1970 (1777075200 pour le 25/04/2026 à 2 h à Paris), lues à l’heure française',
    monthName: 'dates au mois en lettres lues (25-APR-26, 25 avr. 2026 ; une année à deux chiffres de ce siècle jusqu’à l’an prochain, du précédent au-delà)',
    ignored: (n: number) => `${n} colonne(s) vide(s) sans nom écartée(s)`,
    sheet: (name: string) => `feuille « ${name} » du classeur`,
    otherSheets: (names: string[]) => `autres feuilles écartées : ${names.map((n) => `« ${n} »`).join(', ')}`,
    headerLine: (n: number) => `en-tête en ligne ${n}, les ${n - 1} ligne(s) au-dessus (un titre) non lue(s)`,
    headerRow: (n: number) => `en-tête en ligne ${n} de la feuille, les ${n - 1} ligne(s) au-dessus (un titre) non lue(s)`,
    multiline: (n: number) => `${n} ligne(s) avec un retour à la ligne dans un champ entre guillemets, lue(s) chacune comme une seule`,
    orderLines: (o: { lines: number; orders: number }) => `${o.lines} lignes de ${o.orders} commandes (order_id), chaque commande lue comme un achat`,
    formulaText: (columns: string[]) => `valeurs écrites en formules texte d’Excel (="00042") lues comme leur texte, dans ${columns.join(', ')}`,
    nullText: (columns: string[], tokens: string[]) => `valeurs vides écrites ${tokens.join(', ')} (comme les exportent bases de données, tableurs ou data frames) lues comme vides, dans ${columns.join(', ')}`,
    joinedParts: (j: JoinedParts) =>
      `${j.parts} exports mis bout à bout (la ligne d’en-tête répétée), ${[
        ...(j.leftOut ? [`qui se chevauchent : ${j.leftOut} ligne(s) d’un export suivant répétant celles d’un précédent aux dates que les deux couvrent écartées${j.replaced ? `, et ${j.replaced} ligne(s) d’un précédent corrigées dans un suivant (même client, même jour) écartées au profit des siennes` : ''}`] : []),
        ...(j.repeated ? [`dont ${j.repeated} ligne(s) d’un export suivant répétant exactement celles d’un précédent, trop peu aux dates que les deux couvrent pour des exports qui se chevauchent : gardées (deux lignes identiques peuvent être deux achats ; si les exports se chevauchent bien, elles sont comptées deux fois)`] : []),
      ].join(' ; ')}`,
    files: (n: number, list: string) => (n === 1 ? `lu dans l’unique fichier de son dossier : ${list}` : `lu dans les ${n} fichiers de son dossier, dans l’ordre de leurs noms : ${list}`),
    file: (f: FolderFile) =>
      `${f.file} (${f.rows.toLocaleString('fr-FR')} ligne${f.rows > 1 ? 's' : ''}${f.from ? `, du ${f.from} au ${f.to}` : ''}${f.repeated ? `, dont ${f.repeated.toLocaleString('fr-FR')} répétant celles d’un fichier précédent aux mêmes dates, écartées` : ''}${f.replaced ? `, dont ${f.replaced.toLocaleString('fr-FR')} corrigées dans un fichier suivant, écartées au profit des siennes` : ''}${f.later ? `, dont ${f.later.toLocaleString('fr-FR')} aussi dans un fichier suivant${f.laterChanged ? ` (${f.laterChanged.toLocaleString('fr-FR')} écrites autrement là)` : ''}, lues dans celui-ci` : ''})`,
    more: (n: number) => `${n} autres`,
    readOtherwise: (file: string, words: string[]) => `${file} ${words.length ? `lu autrement : ${words.join(', ')}` : 'écrit comme le contrat le dit (UTF-8, virgules, dates ISO)'}`,
    ignoredFiles: (files: string[]) => `fichiers du dossier laissés de côté (ni .csv, .csv.gz, .parquet, .txt ni .xlsx) : ${files.join(', ')}`,
    noteFiles: (files: string[]) => `fichiers texte du dossier laissés de côté comme des notes (aucune de leurs ${HEADER_SEARCH_LINES} premières lignes ne nomme une colonne du fichier attendu) : ${files.join(', ')}`,
    alike: (file: string, a: { file: string; from: string; to: string; rows: number }) =>
      `${file} a ${a.rows.toLocaleString('fr-FR')} lignes identiques à celles de ${a.file} du ${a.from} au ${a.to}, moins de la moitié des leurs à ces dates : toutes gardées ; vérifier si l’un corrige l’autre`,
  },
};

/** What a format adds to the contract's UTF-8, comma-separated, ISO default, as words (none when nothing). */
export function describeFormat(format: InputFormat, lang: 'en' | 'fr' = 'en'): string[] {
  const w = FORMAT_WORDS[lang];
  const out: string[] = [];
  if (format.workbook) {
    // A workbook's cells are read as cells: no encoding or delimiter of the user's to speak of.
    out.push(w.sheet(format.workbook.sheet));
    if (format.workbook.otherSheets.length) out.push(w.otherSheets(format.workbook.otherSheets));
  } else {
    if (format.encoding !== 'utf-8') out.push(format.encoding === 'windows-1252' ? w.windows1252 : w.utf16(format.encoding.toUpperCase()));
    if (format.delimiter !== ',') out.push(format.delimiter === ';' ? w.semicolon : w.tab);
  }
  if (format.decimalComma) out.push(w.decimalComma);
  if (format.euroAmounts) out.push(w.euro);
  const sep = format.dateSeparator ?? '/';
  if (format.dateOrder) out.push({ 'day-first': w.dayFirst(sep), 'month-first': w.monthFirst(sep), compact: w.compact, serial: w.serial, 'month-name': w.monthName, unix: w.unix }[format.dateOrder]);
  if (format.shortYear) out.push(w.shortYear);
  if (format.headerLine) out.push((format.workbook ? w.headerRow : w.headerLine)(format.headerLine));
  if (format.multilineRecords) out.push(w.multiline(format.multilineRecords));
  if (format.ignoredColumns) out.push(w.ignored(format.ignoredColumns));
  if (format.formulaText?.length) out.push(w.formulaText(format.formulaText));
  if (format.nullText?.length) out.push(w.nullText(format.nullText, format.nullTokens ?? ['NULL']));
  if (format.orderLines) out.push(w.orderLines(format.orderLines));
  if (format.joinedParts) out.push(w.joinedParts(format.joinedParts));
  if (format.files) {
    // A folder of a year's months is listed whole; of more files, the first and last few.
    const shown = format.files.length <= FILES_LISTED ? format.files.map(w.file) : [...format.files.slice(0, 3).map(w.file), w.more(format.files.length - 6), ...format.files.slice(-3).map(w.file)];
    out.unshift(w.files(format.files.length, shown.join('; ')));
    for (const f of format.files) if (f.format) out.push(w.readOtherwise(f.file, describeFormat(f.format, lang)));
    for (const f of format.files) for (const a of f.alike ?? []) out.push(w.alike(f.file, a));
  }
  if (format.ignoredFiles?.length) out.push(w.ignoredFiles(format.ignoredFiles));
  if (format.noteFiles?.length) out.push(w.noteFiles(format.noteFiles));
  return out;
}

/** How many files of a folder its description lists one by one. */
const FILES_LISTED = 24;

/** Amounts far above the median purchase in words: how many, the largest with their lines, and why they matter. */
export function describeOutliers(o: { rows: number; median: number; largest: { line: number; amount: number; in?: string }[] }, lang: 'en' | 'fr' = 'en'): string {
  const money = (x: number) => x.toLocaleString(lang === 'fr' ? 'fr-FR' : 'en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const where = (x: { line: number; in?: string }) => `${x.in ? `${x.in} ` : ''}${lang === 'fr' ? 'ligne' : 'line'} ${x.line}`;
  const largest = o.largest.map((x) => `${money(x.amount)} (${where(x)})`).join(', ');
  return lang === 'fr'
    ? `${o.rows} montant(s) de plus de 1 000 fois l’achat médian (${money(o.median)}), gardé(s) : ${largest} ; à vérifier (une saisie en centimes, une ligne de total ?) : ils pèsent sur les moyennes auxquelles les règles « Kx mean » comparent`
    : `${o.rows} amount(s) over 1,000 times the median purchase (${money(o.median)}), kept: ${largest}; check them (typed in cents, a total line?): they weigh on the means that "Kx mean" rules compare with`;
}

/** Values written several ways in words: each group's spellings and rows, and what it does. */
export function describeSpellings(s: { column: string; groups: { value: string; rows: number }[][] }, lang: 'en' | 'fr' = 'en'): string {
  const locale = lang === 'fr' ? 'fr-FR' : 'en-GB';
  const groups = s.groups.map((g) => g.map((x) => `"${x.value}" (${x.rows.toLocaleString(locale)})`).join(' / ')).join(lang === 'fr' ? ' ; ' : '; ');
  return lang === 'fr'
    ? `${s.column} écrit de plusieurs façons, chacune lue comme une valeur à part (dans le croisement avec les personas, dans une règle) : ${groups} ; les écrire d’une seule façon dans le fichier pour les réunir`
    : `${s.column} written several ways, each read as a value of its own (in the crossing with the personas, in a rule): ${groups}; write them one way in the file to count them as one`;
}

/** A file of order lines in words: how many lines of how many orders, each read as one purchase. */
export function describeOrderLines(orderLines: { lines: number; orders: number }, lang: 'en' | 'fr' = 'en'): string {
  return FORMAT_WORDS[lang].orderLines(orderLines);
}

/** How an as_of given with the base sits against its purchases (asOfCheck). */
export interface AsOfCheck {
  asOf: string;
  /** The last purchase's day. */
  lastPurchase: string;
  purchases: number;
  /** Purchases in the 12 months up to as_of, those the features count. */
  inWindow: number;
  /** Purchases dated after as_of: not counted. */
  after: number;
}

/** An as_of this many days or more after the last purchase is said to be checked. */
export const AS_OF_GAP_DAYS = 92;

/** The as_of check in words. */
export function describeAsOfCheck(c: AsOfCheck, lang: 'en' | 'fr' = 'en'): string {
  const locale = lang === 'fr' ? 'fr-FR' : 'en-GB';
  const n = (x: number) => x.toLocaleString(locale);
  const gap = Math.round((Date.parse(c.asOf) - Date.parse(c.lastPurchase)) / 86_400_000);
  const share = (x: number) => (x / c.purchases).toLocaleString(locale, { style: 'percent', maximumFractionDigits: 1 });
  if (gap >= AS_OF_GAP_DAYS) {
    return lang === 'fr'
      ? `as_of ${c.asOf} tombe ${n(gap)} jours après le dernier achat (${c.lastPurchase}) : les 12 mois qui le précèdent ne comptent que ${n(c.inWindow)} des ${n(c.purchases)} achats ; vérifier la date (--as-of, ou as_of du fichier des personas)`
      : `as_of ${c.asOf} is ${n(gap)} days after the last purchase (${c.lastPurchase}): the 12 months before it hold ${n(c.inWindow)} of the ${n(c.purchases)} purchases; check the date (--as-of, or the persona file's as_of)`;
  }
  return lang === 'fr'
    ? `${n(c.after)} des ${n(c.purchases)} achats (${share(c.after)}) sont datés après as_of ${c.asOf} et ne sont pas comptés`
    : `${n(c.after)} of the ${n(c.purchases)} purchases (${share(c.after)}) are dated after as_of ${c.asOf} and are not counted`;
}
