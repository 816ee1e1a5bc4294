// Locating and loading the input files of a data directory (CONTRACT.md section 1) into DuckDB
// tables of text columns with canonical lower-case names. Column names are matched
// case-insensitively and may be renamed by a user column map; a missing file or required
// column stops the run with an InputError naming both.
import { createReadStream, existsSync, mkdtempSync, openSync, readdirSync, readSync, closeSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createGunzip } from 'node:zlib';
import { InputError } from '../errors.ts';
import { joinBrokenLines } from './broken-lines.ts';
import type { ValueMap } from './values.ts';
import { ident, literal, rows, run, type Duck } from './duck.ts';
import { lookalike, OPTIONAL_COLUMNS, type ColumnSuggestion } from './columns.ts';
import { HEADER_SEARCH_LINES, detectDateOrder, detectDecimalComma, detectEuroAmounts, readNullText, unwrapFormulaText, scanStream, scanText, sniffDelimiter, transcodeToUtf8, type InputFormat, type TextScan } from './formats.ts';
import { WORKBOOK_DELIMITER, workbookToText, type WorkbookSheet } from './workbook.ts';

export { sniffDelimiter };

/** The client's inputs; `known`, a file of customers whose persona is known (personas evaluate). */
export type InputName = 'customers' | 'transactions' | 'interactions' | 'tiles' | 'first_names' | 'known';

/** Per input, the client's column names -> the contract's; `values`, the client's values of the coded columns -> the contract's. */
export type ColumnMap = Partial<Record<InputName, Record<string, string>>> & { values?: ValueMap };

export const REQUIRED_COLUMNS: Record<InputName, string[]> = {
  customers: ['customer_id'],
  transactions: ['customer_id', 'ts', 'amount'],
  interactions: ['customer_id', 'ts', 'type'],
  tiles: [
    'idcar_200m', 'ind', 'men', 'men_pauv', 'men_1ind', 'men_5ind', 'men_prop', 'men_fmp', 'ind_snv', 'men_coll', 'log_soc',
    'ind_0_3', 'ind_4_5', 'ind_6_10', 'ind_11_17', 'ind_18_24', 'ind_25_39', 'ind_40_54', 'ind_55_64', 'ind_65_79', 'ind_80p',
  ],
  first_names: ['sexe', 'preusuel', 'annais', 'nombre'],
  known: ['customer_id', 'persona'],
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

/**
 * The inputs that may be given as a folder of files (`transactions/2024-01.csv`, one export a
 * month): the event files, which real systems export by period. Every file of the folder is read,
 * each with its own encoding, delimiter and header; see inputFiles.
 */
export const FOLDER_INPUTS: ReadonlySet<InputName> = new Set<InputName>(['customers', 'transactions', 'interactions']);

/** Workbooks no reader here opens: named in an error rather than passed over. */
const UNREAD_WORKBOOKS = ['.xls', '.ods'];

export function requireInput(dir: string, name: InputName): string {
  const folder = join(dir, name);
  if (existsSync(folder) && statSync(folder).isDirectory()) {
    const file = findInput(dir, name, true);
    if (!FOLDER_INPUTS.has(name)) {
      throw new InputError(
        'INPUT_INVALID',
        `${folder}: ${name} is read from one file (${name}.csv, ${name}.csv.gz, ${name}.parquet or ${name}.xlsx in ${dir}); only ${[...FOLDER_INPUTS].join(', ').replace(/, ([^,]*)$/, ' and $1')} may be a folder of files`,
        { file: folder },
      );
    }
    if (file) throw new InputError('INPUT_INVALID', `${dir}: both ${file} and the folder ${folder} hold ${name}; keep one (a folder's files are all read)`, { file: folder });
    inputFiles(folder); // a folder without a data file, or holding an unread workbook, stops here
    return folder;
  }
  const p = findInput(dir, name, true);
  const workbook = UNREAD_WORKBOOKS.map((ext) => join(dir, name + ext)).find((w) => existsSync(w));
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
      `${join(dir, name)}.csv: required input file is missing (expected ${name}.csv, ${name}.csv.gz, ${name}.parquet or ${name}.xlsx in ${dir}` +
        `${FOLDER_INPUTS.has(name) ? `, or a folder ${name}/ of such files` : ''})`,
      { file: name },
    );
  }
  return p;
}

/** The files an input is read from, and the files of its folder passed over (not data files, or notes). */
export interface InputFiles {
  files: string[];
  ignored: string[];
  /** Text files of the folder naming none of the input's columns in their first lines: notes left beside the exports. */
  notes: string[];
}

/**
 * The files of input `path`: the file itself, or, for a folder (FOLDER_INPUTS), its data files
 * (CSV, gzip CSV, Parquet, text, Excel workbook), its subfolders' too, in the order of their names
 * read as people do (`2024-2` before `2024-10`). Hidden files and a workbook's lock files (`~$...`)
 * are none of the user's data; other files are passed over and named in `ignored`. With `input`,
 * a `.txt` file none of whose first lines names a column of the input (the contract's, one the
 * column map renames, or a name clients give one), and whose first lines are not a table, is a
 * note left beside the exports (`LISEZMOI.txt`), named in `notes`, not read. A folder without a data file, or
 * holding an .xls or .ods workbook, is an input error naming it.
 */
export function inputFiles(path: string, input?: { name: InputName; columnMap?: ColumnMap }): InputFiles {
  if (!statSync(path).isDirectory()) return { files: [path], ignored: [], notes: [] };
  const files: string[] = [];
  const ignored: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name.startsWith('~$')) continue;
      const at = join(dir, entry.name);
      if (entry.isDirectory()) walk(at);
      else if (UNREAD_WORKBOOKS.some((ext) => entry.name.toLowerCase().endsWith(ext))) {
        throw new InputError(
          'INPUT_INVALID',
          `${at}: Excel 97-2003 (.xls) and OpenDocument (.ods) workbooks are not read; save it as an Excel workbook (.xlsx), or the sheet as "CSV UTF-8", in ${path}`,
          { file: at },
        );
      } else if (WITH_WORKBOOK.some((ext) => entry.name.endsWith(ext))) files.push(at);
      else if (['.csv', '.txt'].some((ext) => entry.name.toLowerCase().endsWith(ext))) files.push(at); // EXPORT_01.CSV: text all the same
      else if (WITH_WORKBOOK.some((ext) => entry.name.toLowerCase().endsWith(ext))) {
        // A compressed file, a workbook or Parquet is told by its extension as written: not guessed.
        throw new InputError('INPUT_INVALID', `${at}: write its extension in lower case (${WITH_WORKBOOK.find((ext) => entry.name.toLowerCase().endsWith(ext))}) to have it read`, { file: at });
      } else ignored.push(at);
    }
  };
  walk(path);
  const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
  const notes = input ? files.filter((f) => f.toLowerCase().endsWith('.txt') && isNote(f, input.name, input.columnMap ?? {})) : [];
  const data = files.filter((f) => !notes.includes(f));
  if (!data.length) {
    const found = [...notes.map((f) => `${relative(path, f)} (a text file naming none of the columns of ${input?.name})`), ...ignored.map((f) => relative(path, f))];
    throw new InputError(
      'INPUT_MISSING_FILE',
      `${path}: the folder holds no data file (expected .csv, .csv.gz, .parquet, .txt or .xlsx files${found.length ? `; found ${found.join(', ')}` : ''})`,
      { file: path },
    );
  }
  return { files: data.sort(byName), ignored: ignored.sort(byName), notes: notes.sort(byName) };
}

/**
 * Whether text file `path` is a note: no field of its first lines (HEADER_SEARCH_LINES) is a
 * contract column of input `name`, a name the column map renames or one clients give a contract
 * column (columns.ts, `id_client`), and those lines are not a table. Read in UTF-16 after its
 * byte order mark, else as UTF-8 (the column names are ASCII).
 */
function isNote(path: string, name: InputName, columnMap: ColumnMap): boolean {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(64 * 1024);
  let size: number;
  try {
    size = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const bytes = head.subarray(0, size);
  const bom = bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : 'utf-8';
  const text = new TextDecoder(bom).decode(bytes).replace(/^\ufeff/, '');
  const rename = renames(name, columnMap);
  const known = new Set([...REQUIRED_COLUMNS[name], ...(OPTIONAL_COLUMNS[name] ?? [])]);
  const lines = text.split(/\r?\n/).slice(0, HEADER_SEARCH_LINES);
  const names = (line: string) => headerNames(line, sniffDelimiter(line)).map((c) => c.toLowerCase());
  if (lines.some((line) => names(line).some((c) => known.has(c) || rename.has(c)))) return false;
  // A column named as clients name a contract column (`id_client` alone: a file of ids): read, so
  // that the missing column is said with the name that looks like it, not the file passed over.
  if (lines.some((line) => [...known].some((column) => lookalike(column, names(line)) !== undefined))) return false;
  // A table all the same (its first two lines cut in as many fields, three or more, by the first
  // one's delimiter): an export whose columns are named otherwise, read so that the missing column
  // is said, not passed over with its rows.
  const [first, second] = lines.filter((line) => line.trim());
  const delimiter = sniffDelimiter(first ?? '');
  const fields = (line: string | undefined) => (line === undefined ? 0 : headerNames(line, delimiter).length);
  return !(fields(first) >= 3 && (second === undefined || fields(second) === fields(first)));
}


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
  /** Records joined from lines an unquoted line break cut (column JOINED_LINES marks them). */
  joinedLines?: number;
  /**
   * Some lines hold a quote that breaks the CSV rules (a quote in an unquoted field, a quoted field
   * left open): the table has column `_stray_quote`, true on those lines (see loadCsv).
   */
  strayQuotes?: boolean;
  /** Optional contract columns the file seems to hold under another name. */
  suggestions: ColumnSuggestion[];
  /** A text file's column names as its header writes them (trimmed, unquoted), by canonical name: a line repeating them is the header again. */
  header?: Record<string, string>;
  /**
   * The dates are day and month (25/04/2026) but none tells the order (no part past 12): read day
   * first; another file of the same input whose dates are month first says how to read these.
   */
  dateOrderOpen?: boolean;
}

/** The inputs whose rows are validated (clean.ts), which flag lines with more fields than their header. */
const VALIDATED = new Set<InputName>(['customers', 'transactions', 'interactions', 'tiles', 'first_names']);
export const EXTRA_FIELDS = '_extra_fields';

/** The columns of each input holding dates, read by the format's date order. */
const DATE_COLUMNS: Partial<Record<InputName, string[]>> = { customers: ['signup_date'], transactions: ['ts'], interactions: ['ts'] };

/**
 * The values a row is rejected without (a purchase's date and amount, a contact's date): an empty
 * value written as text there (`#N/A`, `NULL`) rejects the row as any value that does not read, and
 * is not read as empty first, so that the rejects file shows it as the file wrote it.
 */
const VALUES_THAT_MUST_READ: Partial<Record<InputName, string[]>> = { transactions: ['ts', 'amount'], interactions: ['ts'] };

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
  // One pass over the file before DuckDB reads it: its encoding, and whether it holds an empty line and a quote.
  const scan = path.endsWith('.gz') ? await scanStream(path) : scanText(path);
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

/**
 * The canonical names of a header's columns (`original`, as written), checked: a column named
 * twice, or a required one missing, stops the run with an error naming the file; an optional
 * column found under another name is suggested.
 */
function headerColumns(name: InputName, path: string, original: string[], rename: Map<string, string>): { canonical: string[]; suggestions: ColumnSuggestion[] } {
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
  return { canonical, suggestions };
}

/**
 * A column without a name (a delimiter ending every line, as spreadsheets may write) is loaded
 * under a placeholder name, then dropped if empty; one that holds values stops the run.
 */
const unnamed = (i: number) => `_unnamed_${i + 1}`;

/** The user's column map for `name`, lower-cased both ways. */
const renames = (name: InputName, columnMap: ColumnMap) => new Map(Object.entries(columnMap[name] ?? {}).map(([from, to]) => [from.toLowerCase(), to.toLowerCase()]));

/**
 * Stops the run before any file is loaded when a CSV (plain or gzip) names a column twice or lacks
 * a required one: loadInput's own check, from the file's first lines alone, so that a mistake in
 * the last file loaded is not told only after the others are read and checked. A file whose first
 * lines are not UTF-8 (or a workbook, or Parquet) is left to loadInput.
 */
export async function checkHeader(name: InputName, path: string, columnMap: ColumnMap = {}): Promise<void> {
  if (!EXTENSIONS.some((e) => path.endsWith(e)) || path.endsWith('.parquet')) return;
  const head = await readHeadLines(path, HEADER_SEARCH_LINES);
  if (head.some((line) => line.includes('\ufffd'))) return;
  const rename = renames(name, columnMap);
  const header = head[linesAboveHeader(head, name, rename)] ?? '';
  headerColumns(name, path, headerNames(header, sniffDelimiter(header)), rename);
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
  const rename = renames(name, columnMap);
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
    const csv = (quote: string, parallel = true, at = readPath) =>
      `read_csv(${literal(at)}, skip = ${skip}, header = true, delim = ${literal(delim)}, quote = ${literal(quote)}, escape = ${literal(quote)}, ` +
      `strict_mode = false, auto_detect = false, null_padding = true, ${parallel ? '' : 'parallel = false, '}columns = {${spec}})`;
    source = csv('"');
    reads = { quoted: source, sequential: (at = readPath) => csv('"', false, at), unquoted: csv('') };
  }
  const { canonical, suggestions } = headerColumns(name, path, original, rename);
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
  // A customer file exported without quotes may cut an address in two lines (the other files hold no free text).
  const joined =
    name === 'customers' && !strayQuotes && !csvRead.continuation.length
      ? await joinBrokenLines(conn, table, lineRead(readPath, skip), format.delimiter, canonical, 'customer_id')
      : undefined;
  if (joined) csvRead.continuation = joined.continuation;
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
  // Values written `="00042"` for a spreadsheet to keep their zeros: read as their text before any check.
  const formulas = await unwrapFormulaText(conn, table, columns);
  if (formulas.length) format.formulaText = formulas;
  // Empty values written NULL, #N/A, nan... (a database's, a spreadsheet's export): read as empty
  // before any check, but in the values a row is rejected without (VALUES_THAT_MUST_READ), whose
  // rejects line keeps them as written.
  const nulls = await readNullText(conn, table, columns.filter((c) => !VALUES_THAT_MUST_READ[name]?.includes(c)));
  if (nulls.columns.length) Object.assign(format, { nullText: nulls.columns, nullTokens: nulls.tokens });
  const { open: dateOrderOpen, ...dates } = (await detectDateOrder(conn, table, (DATE_COLUMNS[name] ?? []).filter((c) => columns.includes(c)))) ?? {};
  Object.assign(format, dates);
  // A comma-separated file may still write its decimals with a comma, quoted ("12,50").
  if (!format.decimalComma && (await detectDecimalComma(conn, name, table, columns))) format.decimalComma = true;
  // A semicolon or tab file's amounts may carry a euro sign anyway; a comma-separated one's when most do.
  if (name === 'transactions' && !format.decimalComma && columns.includes('amount') && (await detectEuroAmounts(conn, table))) format.euroAmounts = true;
  return {
    table,
    path,
    columns,
    format,
    blankLines: blanks,
    extraFields,
    suggestions,
    header: Object.fromEntries(columns.map((c) => [c, original[canonical.indexOf(c)]])),
    ...(lineOffset ? { lineOffset } : {}),
    ...(continuation.size ? { continuationLines: csvRead.continuation } : {}),
    ...(strayQuotes ? { strayQuotes } : {}),
    ...(joined ? { joinedLines: joined.records } : {}),
    ...(dateOrderOpen ? { dateOrderOpen } : {}),
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
/** An Excel text formula, `="00042"`: what exports meant for a spreadsheet write to keep leading zeros (read as its text, formats.ts unwrapFormulaText). */
const FORMULA_FIELD = ' *="(?:[^"]|"")*" *';

/**
 * RE2 pattern of a well-formed CSV line: fields separated by `delimiter`, each either quoted, an
 * Excel text formula, or holding no quote at all. A quote inside an unquoted field (`Je"an`) is a
 * stray quote, as RFC 4180 has it; a line with a quoted field left open, or cut by a line end, does
 * not match either.
 */
function wellFormedLine(delimiter: string, maxFields?: number): string {
  const d = `\\x{${delimiter.charCodeAt(0).toString(16)}}`;
  const field = `${QUOTED_FIELD}|${FORMULA_FIELD}|[^"${d}]*`;
  return `(?:${field})(?:${d}(?:${field}))${maxFields === undefined ? '*' : `{0,${maxFields - 1}}`}\\r?`;
}

/** A CSV's reads: with quotes (DuckDB's parallel reader, or its one-thread one), and without. */
interface CsvReads {
  quoted: string;
  /** The one-thread quoted read, of the file or of a copy of it at `path`. */
  sequential: (path?: string) => string;
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

/** A read of a file's lines below its header, one column `line` (an empty line NULL): DuckDB splitting on nothing. */
function lineRead(path: string, skip: number): string {
  return `read_csv(${literal(path)}, skip = ${skip}, header = true, delim = '\x01', quote = '', escape = '', strict_mode = false, auto_detect = false, columns = {'line': 'VARCHAR'})`;
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
  const lines = lineRead(file.path, file.skip);
  /**
   * The quoted read (`read`, or the one loaded when null) of a file whose lines make records, some
   * spanning lines; where a stray quote leaves a field open on some line, the one-thread read of a
   * copy where that line's fields are quoted. Else the read line by line.
   */
  const multiLine = async (read: string | null): Promise<CsvRead> => {
    const records = await multiLineRecords(conn, lines, delimiter, columns.length);
    if (!records) return lineByLine();
    const scratch = records.strayLines.length ? mkdtempSync(join(tmpdir(), 'personas-csv-')) : undefined;
    try {
      if (scratch) {
        const copy = join(scratch, 'records.csv');
        await quoteFieldsOfLines(file.path, file.skip, records.strayLines, delimiter, copy);
        read = reads.sequential(copy);
      }
      if (read) await load(read);
    } catch (e) {
      if (!/CSV Error/.test(message(e))) throw e;
      return lineByLine();
    } finally {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
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
    if (/null_padding in conjunction with quoted new lines/.test(message(e))) return multiLine(reads.sequential());
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

/** The most lines a record spanning lines may hold: more is taken for a stray quote's swallowing. */
const MAX_RECORD_LINES = 1000;

/** How a CSV's lines make records (see multiLineRecords). */
interface RecordLayout {
  records: number;
  /** How many records span several lines. */
  spanning: number;
  /** Lines (numbered from the header) continuing a record. */
  continuation: number[];
  /** The records (1-based) holding a stray quote, each on one line. */
  strays: number[];
  /**
   * The lines of those records (0-based below the header). A quoted read may join the lines after
   * one to it (a quote left open, or one opening a field after the stray one), so when there are
   * any, the file is read from a copy where their fields are quoted (quoteFieldsOfLines).
   */
  strayLines: number[];
}

/**
 * The file's records rebuilt from its `lines` (a read of one text column), as RFC 4180 has them: a
 * line with an odd number of quotes opens a quoted field that the next such line closes. The record
 * they make together is taken when it is well formed (its quoted fields closed, each followed by a
 * delimiter or the line's end, no more fields than the header's `fields`, fewer delimiters in all
 * than two whole lines hold, which is what a line swallowed by the one before looks like, and at
 * most MAX_RECORD_LINES lines); else the opening line holds a stray quote, is a record of its own,
 * and the next line with an odd number of quotes is tried as an opening one. So a stray quote costs
 * its own line only, and a file holding both addresses on two lines and a stray quote keeps the
 * addresses. Undefined when no record spans lines and some line leaves a quoted field open: the
 * file is then read line by line. A line breaking the quoting rules otherwise (`Je"an,O"Neil`) is a
 * record of its own too.
 */
async function multiLineRecords(conn: Duck, lines: string, delimiter: string, fields: number): Promise<RecordLayout | undefined> {
  const count = (c: string, what: string) => `(length(coalesce(${c}, '')) - length(replace(coalesce(${c}, ''), ${literal(what)}, '')))`;
  // In file order: a table's rowid numbers its rows in the order they were read.
  await run(conn, `CREATE OR REPLACE TEMP TABLE _raw_text AS SELECT line FROM ${lines}`);
  await run(conn, `CREATE OR REPLACE TEMP TABLE _raw_lines AS SELECT rowid AS i, line, ${count('line', '"')} % 2 = 1 AS odd FROM _raw_text`);
  await run(conn, 'DROP TABLE _raw_text');
  try {
    // Each line with an odd number of quotes, the next such line, and the delimiters from one to the other.
    await run(
      conn,
      `CREATE OR REPLACE TEMP TABLE _raw_pairs AS
       WITH cum AS (SELECT i, odd, sum(${count('line', delimiter)}) OVER (ORDER BY i ROWS UNBOUNDED PRECEDING) AS d FROM _raw_lines),
            o AS (SELECT i, d, lead(i) OVER (ORDER BY i) AS next, lead(d) OVER (ORDER BY i) AS next_d FROM cum WHERE odd)
       SELECT o.i AS start, o.next AS stop, o.next_d - o.d + ${count('l.line', delimiter)} AS delimiters
       FROM o JOIN _raw_lines l ON l.i = o.i`,
    );
    const candidates = `(SELECT * FROM _raw_pairs WHERE stop IS NOT NULL AND stop - start < ${MAX_RECORD_LINES} AND delimiters < ${2 * (fields - 1)})`;
    const pairs = await rows(
      conn,
      `SELECT p.start, p.stop, coalesce(w.good, false) AS good FROM _raw_pairs p
       LEFT JOIN (SELECT c.start, regexp_full_match(string_agg(coalesce(l.line, ''), '\n' ORDER BY l.i), ${literal(wellFormedLine(delimiter, fields))}) AS good
                  FROM ${candidates} c JOIN _raw_lines l ON l.i BETWEEN c.start AND c.stop GROUP BY c.start) w ON w.start = p.start
       ORDER BY p.start`,
    );
    // Greedily, in line order: a line opening a well-formed record spanning lines takes the lines to
    // the one closing it; else it is a stray quote's line and the next odd line is tried.
    const spans: [number, number][] = [];
    let leftOpen = 0;
    for (let k = 0; k < pairs.length; ) {
      const { start, stop, good } = pairs[k];
      if (good) {
        spans.push([Number(start), Number(stop)]);
        k += 2;
      } else {
        leftOpen++;
        k += 1;
      }
    }
    if (leftOpen && !spans.length) return undefined;
    // The lines of the records spanning lines: the first, and those continuing it.
    await run(conn, 'CREATE OR REPLACE TEMP TABLE _raw_spanned (i BIGINT, first BOOLEAN)');
    const appender = await conn.createAppender('_raw_spanned');
    const continuation: number[] = [];
    for (const [start, stop] of spans) {
      for (let i = start; i <= stop; i++) {
        appender.appendBigInt(BigInt(i));
        appender.appendBoolean(i === start);
        appender.endRow();
        if (i > start) continuation.push(i + 2);
      }
    }
    appender.closeSync();
    // Each line's record: the lines starting one are those holding something, past the continuation lines.
    await run(
      conn,
      `CREATE OR REPLACE TEMP TABLE _raw_records AS
       SELECT l.i, l.line, s.i IS NOT NULL AS spanned,
              sum(CASE WHEN l.line IS NOT NULL AND (s.i IS NULL OR s.first) THEN 1 ELSE 0 END) OVER (ORDER BY l.i ROWS UNBOUNDED PRECEDING) AS record
       FROM _raw_lines l LEFT JOIN _raw_spanned s ON s.i = l.i`,
    );
    const [shape] = await rows(conn, 'SELECT max(record) AS records FROM _raw_records');
    // The one-line records breaking the quoting rules: a quote left open, or `Je"an,O"Neil`.
    const strays = await rows(
      conn,
      `SELECT i, record FROM _raw_records WHERE NOT spanned AND contains(line, '"') AND NOT regexp_full_match(line, ${literal(wellFormedLine(delimiter))}) ORDER BY i`,
    );
    return {
      records: Number(shape.records ?? 0),
      spanning: spans.length,
      continuation,
      strays: strays.map((r) => Number(r.record)),
      strayLines: strays.map((r) => Number(r.i)),
    };
  } finally {
    for (const t of ['_raw_records', '_raw_spanned', '_raw_pairs', '_raw_lines']) await run(conn, `DROP TABLE IF EXISTS ${t}`);
  }
}

/**
 * Copies the CSV at `path` (gzip-compressed or not) to `out`, uncompressed, line for line, except
 * the `lines` given (0-based below the header, which is line `skip` of the file, sorted): each of
 * their fields, split at every delimiter, is written quoted, its quotes doubled. A quoted read of
 * the copy then reads those lines as one record each, of the values a read without quoting gives,
 * and the other lines as the file has them.
 */
async function quoteFieldsOfLines(path: string, skip: number, lines: number[], delimiter: string, out: string): Promise<void> {
  const file = createReadStream(path);
  const stream = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  const fd = openSync(out, 'w');
  const quote = (line: string) => {
    const cr = line.endsWith('\r') ? '\r' : '';
    const fields = (cr ? line.slice(0, -1) : line).split(delimiter);
    // An empty field stays empty: read as missing, as elsewhere.
    return fields.map((f) => (f ? `"${f.replaceAll('"', '""')}"` : '')).join(delimiter) + cr;
  };
  let line = -skip - 1;
  let next = 0;
  let carry: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      // The bytes from `copied` on are not written yet; lines are copied in runs, the given ones quoted.
      let copied = 0;
      let from = 0;
      for (let end = buf.indexOf(10, from); end >= 0; end = buf.indexOf(10, from)) {
        if (next < lines.length && lines[next] === line) {
          writeSync(fd, buf, copied, from - copied);
          writeSync(fd, quote(buf.toString('utf8', from, end)) + '\n');
          copied = end + 1;
          next++;
        }
        line++;
        from = end + 1;
      }
      writeSync(fd, buf, copied, from - copied);
      carry = Buffer.from(buf.subarray(from));
    }
    if (carry.length) {
      if (next < lines.length && lines[next] === line) writeSync(fd, quote(carry.toString('utf8')));
      else writeSync(fd, carry);
    }
  } finally {
    closeSync(fd);
    stream.destroy();
    file.destroy();
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
