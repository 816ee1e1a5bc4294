// Locating and loading the input files of a data directory (CONTRACT.md section 1) into DuckDB
// tables of text columns with canonical lower-case names. Column names are matched
// case-insensitively and may be renamed by a user column map; a missing file or required
// column stops the run with an InputError naming both.
import { createReadStream, existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { InputError } from '../errors.ts';
import { ident, literal, rows, run, type Duck } from './duck.ts';
import { lookalike, OPTIONAL_COLUMNS, type ColumnSuggestion } from './columns.ts';
import { detectDateOrder, detectEncoding, scanText, sniffDelimiter, transcodeToUtf8, type InputFormat, type TextScan } from './formats.ts';
import { WORKBOOK_DELIMITER, workbookToText, type WorkbookSheet } from './workbook.ts';

export { sniffDelimiter };

export type InputName = 'customers' | 'transactions' | 'interactions' | 'tiles' | 'first_names';

/** Per-input rename map: the client's column name -> the contract's name. */
export type ColumnMap = Partial<Record<InputName, Record<string, string>>>;

export const REQUIRED_COLUMNS: Record<InputName, string[]> = {
  customers: ['customer_id'],
  transactions: ['customer_id', 'ts', 'amount'],
  interactions: ['customer_id', 'ts', 'type'],
  tiles: ['idcar_200m', 'ind', 'men'],
  first_names: ['sexe', 'preusuel', 'annais', 'nombre'],
};

const EXTENSIONS = ['.csv', '.csv.gz', '.parquet', '.txt'];
/** The inputs loadInput reads may also be Excel workbooks (after the text files, when both are there). */
const WITH_WORKBOOK = [...EXTENSIONS, '.xlsx'];

/** Finds `<dir>/<name>.<ext>`; returns undefined when absent. With `workbook`, an .xlsx file as well. */
export function findInput(dir: string, name: string, workbook = false): string | undefined {
  for (const ext of workbook ? WITH_WORKBOOK : EXTENSIONS) {
    const p = join(dir, name + ext);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function requireInput(dir: string, name: InputName): string {
  const p = findInput(dir, name, true);
  const workbook = ['.xls', '.ods'].map((ext) => join(dir, name + ext)).find((w) => existsSync(w));
  if (!p && workbook) {
    throw new InputError(
      'INPUT_MISSING_FILE',
      `${workbook}: Excel 97-2003 (.xls) and OpenDocument (.ods) workbooks are not read; save it as an Excel workbook (.xlsx), or the sheet as "CSV UTF-8" (or "CSV (semicolon)", which is read as well), as ${name}.xlsx or ${name}.csv in ${dir}`,
      { file: workbook },
    );
  }
  if (!p) {
    throw new InputError(
      'INPUT_MISSING_FILE',
      `${join(dir, name)}.csv: required input file is missing (expected ${name}.csv, ${name}.csv.gz, ${name}.parquet or ${name}.xlsx in ${dir})`,
      { file: name },
    );
  }
  return p;
}

/** How far down a file its header is looked for, below a title block. */
export const HEADER_SEARCH_LINES = 20;

/** The first `max` lines of a text file (gzip-compressed when its name ends in .gz), without a byte order mark. */
async function readHeadLines(path: string, max: number): Promise<string[]> {
  const limit = 256 * 1024;
  const file = createReadStream(path, path.endsWith('.gz') ? {} : { end: limit - 1 });
  const stream = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  const chunks: Buffer[] = [];
  let size = 0;
  let whole = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) {
        whole = false;
        break;
      }
    }
  } finally {
    stream.destroy();
    file.destroy();
  }
  let text = Buffer.concat(chunks).subarray(0, limit).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  // A line cut by the read's end is not whole: left out, unless it is the first.
  if (!whole && lines.length > 1) lines.pop();
  return lines.slice(0, max);
}

/** A header line's column names as given (trimmed, without quotes around them). */
const headerNames = (line: string, delimiter: string) => line.split(delimiter).map((h) => h.trim().replace(/^"(.*)"$/, '$1'));

/**
 * How many lines stand above the header: a title block some exports write ("Export clients du
 * 25/04/2026", an empty line). The header is the first of `lines` naming every required column of
 * `name` (after case folding and the column map); when none does, it is the first line, and the
 * missing column is said from it.
 */
function linesAboveHeader(lines: string[], name: InputName, rename: Map<string, string>, delimiter?: string): number {
  const at = lines.findIndex((line) => {
    const names = new Set(headerNames(line, delimiter ?? sniffDelimiter(line)).map((c) => rename.get(c.toLowerCase()) ?? c.toLowerCase()));
    return REQUIRED_COLUMNS[name].every((c) => names.has(c));
  });
  return Math.max(0, at);
}

export interface LoadedInput {
  table: string;
  path: string;
  /** Canonical (lower-case, mapped) column names, in file order. */
  columns: string[];
  /** How a CSV is written (encoding, delimiter, numbers, dates); none for Parquet. */
  format?: InputFormat;
  /** 1-based line numbers of the file's empty lines (CSV only). */
  blankLines: number[];
  /** What to add to a line number to give the row a user sees (a title block, a workbook sheet whose first rows are empty). */
  lineOffset?: number;
  /** 1-based line numbers of the lines continuing a record, inside a quoted field holding a line break. */
  continuationLines?: number[];
  /** The table has column `_extra_fields`: what a line holds beyond the header's columns. */
  extraFields?: boolean;
  /**
   * Some lines hold a quote that breaks the CSV rules (a quote in an unquoted field, a quoted field
   * left open): the table has column `_stray_quote`, true on those lines (see loadCsv).
   */
  strayQuotes?: boolean;
  /** Optional contract columns the file seems to hold under another name. */
  suggestions: ColumnSuggestion[];
}

/** The inputs whose rows are validated (clean.ts), which flag lines with more fields than their header. */
const VALIDATED = new Set<InputName>(['customers', 'transactions', 'interactions']);
export const EXTRA_FIELDS = '_extra_fields';

/** The columns of each input holding dates, read by the format's date order. */
const DATE_COLUMNS: Partial<Record<InputName, string[]>> = { customers: ['signup_date'], transactions: ['ts'], interactions: ['ts'] };

/**
 * Loads an input into DuckDB table `table` with every column as text, renamed to canonical
 * names, in file order (so `rowid + 1` is the record number). CSV empty lines are skipped by the
 * reader and given in `blankLines`. A CSV that is not UTF-8 is read through a UTF-8 copy in a
 * temporary folder, removed once loaded; its format says how it was read.
 */
export async function loadInput(
  conn: Duck,
  name: InputName,
  path: string,
  table: string,
  columnMap: ColumnMap = {},
): Promise<LoadedInput> {
  if (path.endsWith('.parquet')) return loadReadable(conn, name, path, path, 'utf-8', table, columnMap);
  if (path.endsWith('.xlsx')) {
    const scratch = mkdtempSync(join(tmpdir(), 'personas-xlsx-'));
    try {
      const { path: text, firstRow, ...sheet } = await workbookToText(path, scratch);
      // Rejects name the sheet's rows: the text file starts at the sheet's first filled row.
      return await loadReadable(conn, name, path, text, 'utf-8', table, columnMap, undefined, { sheet, rowsAbove: firstRow - 1 });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const scan = path.endsWith('.gz') ? { encoding: await detectEncoding(path) } : scanText(path);
  if (scan.encoding === 'utf-8') return loadReadable(conn, name, path, path, scan.encoding, table, columnMap, scan);
  const scratch = mkdtempSync(join(tmpdir(), 'personas-utf8-'));
  try {
    const copy = join(scratch, `${name}.csv`);
    await transcodeToUtf8(path, scan.encoding, copy);
    return await loadReadable(conn, name, path, copy, scan.encoding, table, columnMap);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** loadInput of `readPath`, a UTF-8 CSV or Parquet file holding `path`'s rows (messages name `path`). */
async function loadReadable(
  conn: Duck,
  name: InputName,
  path: string,
  readPath: string,
  encoding: InputFormat['encoding'],
  table: string,
  columnMap: ColumnMap,
  /** Whether `readPath` holds an empty line, and a quote, when already known. */
  scan?: Pick<TextScan, 'blankLine' | 'quote'>,
  /** Set when `readPath` is a workbook's sheet, written by workbookToText from the sheet's row `rowsAbove` + 1. */
  workbook?: { sheet: WorkbookSheet; rowsAbove: number },
): Promise<LoadedInput> {
  const rename = new Map(Object.entries(columnMap[name] ?? {}).map(([from, to]) => [from.toLowerCase(), to.toLowerCase()]));
  let source: string;
  /** A CSV's reads: see loadCsv. */
  let reads: CsvReads | null = null;
  let original: string[];
  let format: InputFormat | undefined;
  const spare = VALIDATED.has(name) && !readPath.endsWith('.parquet');
  /** Lines of `readPath` above the header, not read; and what to add to a line of `readPath` to give the user's. */
  let skip = 0;
  let lineOffset = workbook?.rowsAbove ?? 0;
  if (readPath.endsWith('.parquet')) {
    const desc = await unreadableParquet(path, () => rows(conn, `DESCRIBE SELECT * FROM read_parquet(${literal(readPath)})`));
    original = desc.map((r) => String(r.column_name));
    source = `read_parquet(${literal(readPath)})`;
  } else {
    const head = await readHeadLines(readPath, HEADER_SEARCH_LINES);
    skip = linesAboveHeader(head, name, rename, workbook ? WORKBOOK_DELIMITER : undefined);
    const header = head[skip] ?? '';
    const delim = workbook ? WORKBOOK_DELIMITER : sniffDelimiter(header);
    // Spreadsheets that separate fields with semicolons or tabs write numbers with a decimal comma
    // (and so may a workbook's numbers stored as text).
    format = { encoding, delimiter: delim, decimalComma: delim !== ',', ...(workbook ? { workbook: workbook.sheet } : {}) };
    if (skip) format.headerLine = lineOffset + skip + 1;
    lineOffset += skip;
    original = headerNames(header, delim);
    // The validated inputs get one more column than their header: a line with more fields than the
    // header fills it, and is rejected (extra_fields) rather than cut short silently.
    const spec = [...original.map((c, i) => `${literal(`c${i}`)}: 'VARCHAR'`), ...(spare ? [`'c_extra': 'VARCHAR'`] : [])].join(', ');
    const csv = (quote: string, parallel = true) =>
      `read_csv(${literal(readPath)}, skip = ${skip}, header = true, delim = ${literal(delim)}, quote = ${literal(quote)}, escape = ${literal(quote)}, ` +
      `strict_mode = false, auto_detect = false, null_padding = true, ${parallel ? '' : 'parallel = false, '}columns = {${spec}})`;
    source = csv('"');
    reads = { quoted: source, sequential: csv('"', false), unquoted: csv('') };
  }
  // A column without a name (a delimiter ending every line, as spreadsheets may write) is loaded
  // under a placeholder name, then dropped if empty; one that holds values stops the run.
  const unnamed = (i: number) => `_unnamed_${i + 1}`;
  const canonical = original.map((c, i) => {
    if (!c.trim()) return unnamed(i);
    const lower = c.toLowerCase();
    return rename.get(lower) ?? lower;
  });
  const seen = new Set<string>();
  for (const c of canonical) {
    if (seen.has(c)) throw new InputError('INPUT_INVALID', `${path}: column "${c}" appears twice (after case folding and column mapping)`, { file: path, column: c });
    seen.add(c);
  }
  // The file's columns that are none of the contract's: where a missing one may hide under another name.
  const contract = new Set([...REQUIRED_COLUMNS[name], ...(OPTIONAL_COLUMNS[name] ?? [])]);
  const others = original.filter((_, i) => !contract.has(canonical[i]) && !canonical[i].startsWith('_unnamed_'));
  const mapping = (from: string, to: string) => `--columns, e.g. ${JSON.stringify({ [name]: { [from]: to } })}`;
  for (const required of REQUIRED_COLUMNS[name]) {
    if (!seen.has(required)) {
      const like = lookalike(required, others);
      throw new InputError(
        'INPUT_MISSING_COLUMN',
        `${path}: required column "${required}" is missing (found: ${original.join(', ')}; ` +
          (like ? `"${like}" looks like it: map it with ${mapping(like, required)})` : 'map a differently named column with --columns)'),
        { file: path, column: required },
      );
    }
  }
  const suggestions = (OPTIONAL_COLUMNS[name] ?? []).flatMap((optional): ColumnSuggestion[] => {
    const like = seen.has(optional) ? undefined : lookalike(optional, others);
    return like ? [{ file: name, column: like, contract: optional }] : [];
  });
  const select = original
    .map((c, i) => {
      const src = path.endsWith('.parquet') ? ident(c) : ident(`c${i}`);
      return `CAST(${src} AS VARCHAR) AS ${ident(canonical[i])}`;
    })
    .join(', ');
  const load = (from: string) => run(conn, `CREATE OR REPLACE TABLE ${ident(table)} AS SELECT ${select}${spare ? `, c_extra AS ${EXTRA_FIELDS}` : ''} FROM ${from}`);
  if (reads === null || !format) {
    await unreadableParquet(path, () => load(source));
    return { table, path, columns: canonical, blankLines: [], suggestions };
  }
  const csvRead = await loadCsv(conn, path, { path: readPath, skip, quote: scan?.quote !== false }, table, load, reads, format.delimiter, canonical);
  const strayQuotes = csvRead.stray;
  if (csvRead.spanning) format.multilineRecords = csvRead.spanning;
  // The empty lines below the header, numbered from it as the records are (an empty line inside a
  // quoted field is the field's).
  const continuation = new Set(csvRead.continuation);
  const blanks = scan?.blankLine === false ? [] : (await blankLines(readPath)).flatMap((b) => (b > skip && !continuation.has(b - skip) ? [b - skip] : []));
  const unnamedColumns = original.flatMap((c, i) => (c.trim() ? [] : [i])).map(unnamed);
  const located = { blankLines: blanks, lineOffset, continuationLines: csvRead.continuation };
  const columns = await dropUnnamed(conn, path, table, canonical, unnamedColumns, recordLines(located));
  if (columns.length < canonical.length) format.ignoredColumns = canonical.length - columns.length;
  // Most files have no line with extra fields: then the column goes, and so does its check.
  const extraFields = spare && (await rows(conn, `SELECT 1 AS x FROM ${ident(table)} WHERE trim(${EXTRA_FIELDS}) <> '' LIMIT 1`)).length > 0;
  if (spare && !extraFields) await run(conn, `ALTER TABLE ${ident(table)} DROP COLUMN ${EXTRA_FIELDS}`);
  const dateOrder = await detectDateOrder(conn, table, (DATE_COLUMNS[name] ?? []).filter((c) => columns.includes(c)));
  if (dateOrder) format.dateOrder = dateOrder;
  return {
    table,
    path,
    columns,
    format,
    blankLines: blanks,
    extraFields,
    suggestions,
    ...(lineOffset ? { lineOffset } : {}),
    ...(continuation.size ? { continuationLines: csvRead.continuation } : {}),
    ...(strayQuotes ? { strayQuotes } : {}),
  };
}

/** Drops the `unnamed` columns of `table`, which must be empty; returns the columns left. */
async function dropUnnamed(conn: Duck, path: string, table: string, columns: string[], unnamed: string[], lineOf: (record: number) => number): Promise<string[]> {
  for (const c of unnamed) {
    const [first] = await rows(conn, `SELECT min(rowid) + 1 AS record FROM ${ident(table)} WHERE trim(${ident(c)}) <> ''`);
    if (first.record !== null) {
      const position = columns.indexOf(c) + 1;
      throw new InputError(
        'INPUT_INVALID',
        `${path}: column ${position} has no name in the header but holds values (first on line ${lineOf(Number(first.record))}); name it in the header, or remove it`,
        { file: path, column: String(position) },
      );
    }
    await run(conn, `ALTER TABLE ${ident(table)} DROP COLUMN ${ident(c)}`);
  }
  return columns.filter((c) => !unnamed.includes(c));
}

/** Column of a loaded table with stray quotes: true on the lines they broke. */
export const STRAY_QUOTE = '_stray_quote';

/** A quoted field, spaces around it allowed, its quotes doubled inside (RFC 4180). */
const QUOTED_FIELD = ' *"(?:[^"]|"")*" *';

/**
 * RE2 pattern of a well-formed CSV line: fields separated by `delimiter`, each either quoted or
 * holding no quote at all. A quote inside an unquoted field (`Je"an`) is a stray quote, as RFC 4180
 * has it; a line with a quoted field left open, or cut by a line end, does not match either.
 */
function wellFormedLine(delimiter: string, maxFields?: number): string {
  const d = `\\x{${delimiter.charCodeAt(0).toString(16)}}`;
  const field = `${QUOTED_FIELD}|[^"${d}]*`;
  return `(?:${field})(?:${d}(?:${field}))${maxFields === undefined ? '*' : `{0,${maxFields - 1}}`}\\r?`;
}

/** A CSV's reads: with quotes (DuckDB's parallel reader, or its one-thread one), and without. */
interface CsvReads {
  quoted: string;
  sequential: string;
  unquoted: string;
}

/** How a CSV was read: whether lines hold stray quotes, and the lines continuing a record. */
interface CsvRead {
  /** Some lines hold a stray quote, marked in column `_stray_quote` of the table. */
  stray: boolean;
  /**
   * Lines (numbered from the header, as `blankLines`) inside a record's quoted field that holds a
   * line break: they start no record, as an empty line does not.
   */
  continuation: number[];
  /** How many records span several lines (a quoted field holding a line break). */
  spanning?: number;
}

/**
 * Loads a CSV read with quotes, or without when a stray quote swallowed lines (then each line is a
 * record), and finds the lines holding a stray quote.
 */
async function loadCsv(
  conn: Duck,
  path: string,
  /** The file read, the lines above its header, and whether it may hold a quote. */
  file: { path: string; skip: number; quote: boolean },
  table: string,
  load: (from: string) => Promise<void>,
  reads: CsvReads,
  delimiter: string,
  columns: string[],
): Promise<CsvRead> {
  const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
  const lineByLine = async (): Promise<CsvRead> => {
    try {
      await load(reads.unquoted);
    } catch (e) {
      throw new InputError('INPUT_INVALID', `${path}: not a readable CSV file (${message(e).split('\n')[0]})`, { file: path });
    }
    await markStrayFields(conn, table, columns);
    return { stray: true, continuation: [] };
  };
  const lines = `read_csv(${literal(file.path)}, skip = ${file.skip}, header = true, delim = '\x01', quote = '', escape = '', strict_mode = false, auto_detect = false, columns = {'line': 'VARCHAR'})`;
  /**
   * The quoted read (`read`, or the one loaded when null) of a file whose lines make well-formed
   * records, some spanning lines; else the read line by line.
   */
  const multiLine = async (read: string | null): Promise<CsvRead> => {
    const records = await multiLineRecords(conn, lines, delimiter, columns.length);
    if (!records) return lineByLine();
    try {
      if (read) await load(read);
    } catch (e) {
      if (!/CSV Error/.test(message(e))) throw e;
      return lineByLine();
    }
    const [loaded] = await rows(conn, `SELECT count(*) AS n FROM ${ident(table)}`);
    if (Number(loaded.n) !== records.records) return lineByLine();
    if (records.strays.length) await markStrayRecords(conn, table, records.strays.join(', '));
    return { stray: records.strays.length > 0, continuation: records.continuation, spanning: records.spanning };
  };
  try {
    await load(reads.quoted);
  } catch (e) {
    // DuckDB's parallel reader cannot pad short lines once a quoted field holds a line break, or a
    // stray quote makes one seem to: the lines tell which (the one-thread reader then reads the first).
    if (/null_padding in conjunction with quoted new lines/.test(message(e))) return multiLine(reads.sequential);
    // Stray quotes can also leave a quoted field open at the end of the file, which the quoted
    // read refuses outright: read without quoting, as below.
    if (!/CSV Error/.test(message(e))) throw e;
    return lineByLine();
  }
  // A stray quote opens a quoted field that swallows the lines after it. The records are counted
  // on the loaded table and the lines by a read that splits on nothing: one extra pass over the
  // file, the cheapest there is (BENCHMARKS.md, session 17 repeats), which also counts the lines
  // that break the quoting rules. Empty lines, which the quoted read skips and the second gives as
  // NULL, are not counted. When the quoted read gave fewer records than the file has lines, each
  // record is rebuilt from its lines (multiLineRecords): either every record spanning lines is a
  // well-formed one whose quoted field holds line breaks (an address, a comment), and the quoted
  // read stands; or a stray quote swallowed lines, and the file is read again without quoting:
  // every line is then a record, and the checks reject the ones a quote broke (markStrayFields).
  const [loaded] = await rows(conn, `SELECT count(*) AS n FROM ${ident(table)}`);
  const broken = `contains(line, '"') AND NOT regexp_full_match(line, ${literal(wellFormedLine(delimiter))})`;
  // Looking at each line's text costs four times the count alone (BENCHMARKS.md, session 28): only
  // in a file holding a quote.
  const [read] = await rows(conn, `SELECT count(line) AS n, ${file.quote ? `count(*) FILTER (WHERE ${broken})` : '0'} AS stray FROM ${lines}`);
  if (Number(loaded.n) !== Number(read.n)) return multiLine(null);
  if (Number(read.stray) === 0) return { stray: false, continuation: [] };
  // Rare (a dirty file): the records of the broken lines, by the rank of each among the lines that
  // hold something (the empty ones are NULL in this read, and few).
  await run(conn, `CREATE OR REPLACE TEMP TABLE _raw_lines AS SELECT line FROM ${lines}`);
  try {
    const at = async (where: string) => (await rows(conn, `SELECT rowid AS i FROM _raw_lines WHERE ${where} ORDER BY rowid`)).map((r) => Number(r.i));
    const empty = await at('line IS NULL');
    let before = 0;
    const records = (await at(broken)).map((i) => {
      while (before < empty.length && empty[before] < i) before++;
      return i + 1 - before;
    });
    await markStrayRecords(conn, table, records.join(', '));
  } finally {
    await run(conn, 'DROP TABLE _raw_lines');
  }
  return { stray: true, continuation: [] };
}

/** Marks in `_stray_quote` the records of `table` (1-based) that `records` lists or selects. */
async function markStrayRecords(conn: Duck, table: string, records: string): Promise<void> {
  await run(conn, `ALTER TABLE ${ident(table)} ADD COLUMN ${STRAY_QUOTE} BOOLEAN DEFAULT false`);
  await run(conn, `UPDATE ${ident(table)} SET ${STRAY_QUOTE} = true WHERE rowid + 1 IN (${records})`);
}

/**
 * The file's records rebuilt from its `lines` (a read of one text column), as RFC 4180 has them: a
 * line with an odd number of quotes opens a quoted field that the next such line closes. When every
 * record spanning lines is well formed (its quoted fields closed, each followed by a delimiter or
 * the line's end, no more fields than the header's `fields`, and fewer delimiters in all than two
 * whole lines hold, which is what a line swallowed by the one before looks like): how many records
 * there are, the lines continuing a record, and the one-line records holding a stray quote.
 * Otherwise undefined: a stray quote swallowed lines.
 */
async function multiLineRecords(
  conn: Duck,
  lines: string,
  delimiter: string,
  fields: number,
): Promise<{ records: number; spanning: number; continuation: number[]; strays: number[] } | undefined> {
  const quotes = (c: string) => `(length(coalesce(${c}, '')) - length(replace(coalesce(${c}, ''), '"', '')))`;
  const delimiters = (c: string) => `(length(coalesce(${c}, '')) - length(replace(coalesce(${c}, ''), ${literal(delimiter)}, '')))`;
  await run(conn, `CREATE OR REPLACE TEMP TABLE _raw_lines AS SELECT line FROM ${lines}`);
  try {
    // open: the line starts inside a quoted field; record: the rank of the record the line belongs to.
    await run(
      conn,
      `CREATE OR REPLACE TEMP TABLE _raw_records AS
       SELECT i, line, open, sum(CASE WHEN open = 0 AND line IS NOT NULL THEN 1 ELSE 0 END) OVER (ORDER BY i ROWS UNBOUNDED PRECEDING) AS record
       FROM (SELECT i, line, (sum(q) OVER (ORDER BY i ROWS UNBOUNDED PRECEDING) - q) % 2 AS open
             FROM (SELECT rowid AS i, line, ${quotes('line')} % 2 AS q FROM _raw_lines))`,
    );
    // An empty line outside a quoted field belongs to no record.
    const recordRows = '(SELECT * FROM _raw_records WHERE line IS NOT NULL OR open = 1)';
    const [shape] = await rows(conn, `SELECT max(record) AS records, sum(${quotes('line')}) % 2 AS left_open FROM _raw_records`);
    if (Number(shape.left_open) !== 0) return undefined;
    // The records spanning lines, each checked as a whole.
    const [spanning] = await rows(
      conn,
      `SELECT count(*) AS n, count(*) FILTER (WHERE NOT regexp_full_match(text, ${literal(wellFormedLine(delimiter, fields))}) OR ${delimiters('text')} >= ${2 * (fields - 1)}) AS bad
       FROM (SELECT record, string_agg(coalesce(line, ''), '\n' ORDER BY i) AS text FROM ${recordRows} GROUP BY record HAVING count(*) > 1)`,
    );
    if (Number(spanning.bad) > 0) return undefined;
    const continuation = (await rows(conn, `SELECT i + 2 AS line FROM _raw_records WHERE open = 1 ORDER BY i`)).map((r) => Number(r.line));
    // The one-line records breaking the quoting rules (`Je"an,O"Neil`, an even number of quotes).
    const strays = await rows(
      conn,
      `SELECT record FROM ${recordRows} WHERE contains(line, '"') AND NOT regexp_full_match(line, ${literal(wellFormedLine(delimiter))})
         AND record IN (SELECT record FROM ${recordRows} GROUP BY record HAVING count(*) = 1) ORDER BY record`,
    );
    return { records: Number(shape.records ?? 0), spanning: Number(spanning.n), continuation, strays: strays.map((r) => Number(r.record)) };
  } finally {
    await run(conn, 'DROP TABLE IF EXISTS _raw_records');
    await run(conn, 'DROP TABLE IF EXISTS _raw_lines');
  }
}

/**
 * For a table read without quoting, where every line is a record split at every delimiter: a
 * field written as a well-formed quoted field (`"Dupont ""Jr"""`) is given its value
 * (`Dupont "Jr"`), as the quoted read would; a line with any other field holding a quote (a stray
 * quote, or the pieces of a quoted field cut at a delimiter or a line end) is marked in `_stray_quote`.
 */
async function markStrayFields(conn: Duck, table: string, columns: string[]): Promise<void> {
  const wellFormed = (c: string) => `regexp_full_match(${c}, ${literal(QUOTED_FIELD)})`;
  const stray = (c: string) => `coalesce(contains(${c}, '"') AND NOT ${wellFormed(c)}, false)`;
  await run(conn, `ALTER TABLE ${ident(table)} ADD COLUMN ${STRAY_QUOTE} BOOLEAN`);
  await run(conn, `UPDATE ${ident(table)} SET ${STRAY_QUOTE} = ${columns.map((c) => stray(ident(c))).join(' OR ')}`);
  for (const c of columns) {
    const col = ident(c);
    await run(conn, `UPDATE ${ident(table)} SET ${col} = replace(trim(${col})[2:-2], '""', '"') WHERE NOT ${STRAY_QUOTE} AND ${wellFormed(col)}`);
  }
}

/**
 * Runs a read of a Parquet file; a damaged file (truncated, overwritten, not Parquet at all) is
 * an input error naming it, with DuckDB's reason, rather than an internal failure.
 */
async function unreadableParquet<T>(path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0].replaceAll(path, 'the file');
    throw new InputError('INPUT_INVALID', `${path}: not a readable Parquet file (${reason}); write it again or give the data as CSV`, { file: path });
  }
}

/** True when the file holds an empty line (two line ends in a row), found with native search. */
function hasBlankLine(path: string): boolean {
  const fd = openSync(path, 'r');
  const size = 16 * 1024 * 1024;
  const buf = Buffer.alloc(size + 2);
  let carry = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, carry, size, null);
      if (n === 0) return false;
      const view = buf.subarray(0, carry + n);
      if (view.indexOf('\n\n') >= 0 || view.indexOf('\n\r\n') >= 0) return true;
      // Keep the last two bytes: a blank line may straddle two reads.
      carry = Math.min(2, view.length);
      view.copyWithin(0, view.length - carry);
    }
  } finally {
    closeSync(fd);
  }
}

/** Counts lines across chunks of a file, noting those with no character other than a carriage return. */
function blankLineCounter(): { feed: (buf: Buffer, n: number) => void; blanks: number[] } {
  const blanks: number[] = [];
  let line = 1;
  let lineLength = 0;
  const feed = (buf: Buffer, n: number) => {
    for (let i = 0; i < n; i++) {
      const b = buf[i];
      if (b === 10) {
        if (lineLength === 0) blanks.push(line);
        line++;
        lineLength = 0;
      } else if (b !== 13) {
        lineLength++;
      }
    }
  };
  return { feed, blanks };
}

/** 1-based line numbers of the empty lines of a CSV file, gzip-compressed or not (none for Parquet). */
export async function blankLines(path: string): Promise<number[]> {
  const counter = blankLineCounter();
  if (path.endsWith('.gz')) {
    const file = createReadStream(path);
    const stream = file.pipe(createGunzip());
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) counter.feed(chunk, chunk.length);
    } finally {
      stream.destroy();
      file.destroy();
    }
    return counter.blanks;
  }
  if (!path.endsWith('.csv') && !path.endsWith('.txt')) return [];
  if (!hasBlankLine(path)) return [];
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(8 * 1024 * 1024);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      counter.feed(buf, n);
    }
  } finally {
    closeSync(fd);
  }
  return counter.blanks;
}

/** The file line of record `record` (1-based data row), given the sorted blank lines. */
export function lineOfRecord(record: number, blanks: number[]): number {
  let line = record + 1;
  for (const b of blanks) {
    if (b <= line) line++;
    else break;
  }
  return line;
}

/**
 * The line (a workbook's sheet row) a user sees of each record of a loaded input: past its empty
 * lines, the lines continuing a record, and the lines above its header.
 */
export function recordLines(input: Pick<LoadedInput, 'blankLines' | 'continuationLines' | 'lineOffset'>): (record: number) => number {
  const skipped = input.continuationLines?.length ? [...input.blankLines, ...input.continuationLines].sort((x, y) => x - y) : input.blankLines;
  const offset = input.lineOffset ?? 0;
  return (record) => lineOfRecord(record, skipped) + offset;
}
