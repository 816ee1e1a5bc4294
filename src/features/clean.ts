// Row validation of the inputs: the three event-level files, and the INSEE tiles and births by
// first name. Each raw row either passes, passes with a repaired field (reported, action "kept"),
// or is rejected (action "dropped") with one reason. The rejected and repaired rows are written to
// `rejects/<file>.csv` with their record and line numbers; nothing is dropped silently.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../errors.ts';
import { JOINED_LINES } from './broken-lines.ts';
import { ident, literal, oneOf, rows, run, trimmed, type Duck } from './duck.ts';
import { amountSql, numberSql, timestampSql } from './formats.ts';
import { GRID_TERRITORIES } from './geo.ts';
import { KEPT_LISTED } from './summary.ts';
import { CHANNELS, FLAG_NO, FLAG_YES, INTERACTION_TYPES, mappedSql, unknownValues, type UnknownValue, type ValueMap } from './values.ts';
import { EXTRA_FIELDS, recordLines, REQUIRED_COLUMNS, STRAY_QUOTE, type LoadedInput } from './sources.ts';

export { CHANNELS, INTERACTION_TYPES } from './values.ts';

/** What became of a flagged row: dropped, or kept with the stated repair. */
export type RejectAction = 'dropped' | `kept: ${string}`;

export interface RejectCount {
  file: string;
  reason: string;
  action: RejectAction;
  rows: number;
  /** Rows listed in the rejects file, when fewer than `rows`: a repair's first KEPT_LISTED. */
  listed?: number;
  /** Of a value the contract does not know (unknown_channel, unknown_type): the values, most frequent first. */
  values?: UnknownValue[];
}


/**
 * How client files write the sex: F or M, the French and English words and titles, INSEE's codes
 * (1 male, 2 female); compared in upper case without accents (`Féminin`, `Mrs.`).
 */
const SEX_F = ['F', 'FEMME', 'FEMININ', 'FEMALE', 'WOMAN', 'W', 'MME', 'MME.', 'MADAME', 'MLLE', 'MLLE.', 'MADEMOISELLE', 'MRS', 'MRS.', 'MS', 'MS.', 'MISS', '2'].map(literal).join(', ');
const SEX_M = ['M', 'H', 'HOMME', 'MASCULIN', 'MALE', 'MAN', 'M.', 'MR', 'MR.', 'MONSIEUR', '1'].map(literal).join(', ');

/** SQL text test that is true for a non-empty value. */
const present = (c: string) => `(${c} IS NOT NULL AND ${trimmed(c)} <> '')`;

interface Check {
  reason: string;
  action: RejectAction;
  when: string;
}

/**
 * One pass over `input.table`: parses the typed columns (`parsed`: output name -> SQL expression
 * over the raw text columns), gives each row the reason of the first check it fails, and creates
 * `<table>_checked` with `_record`, `_reason`, `_action` and the parsed columns only (the raw
 * text is read back for rejected rows alone). With `orphans`, a column `_orphan` (the customer id
 * is in no valid customer row) is available to the checks, computed by one hash join.
 */
async function applyChecks(
  conn: Duck,
  input: LoadedInput,
  checks: Check[],
  parsed: Record<string, string>,
  orphans = false,
): Promise<string> {
  // A line holding a quote out of place (`Je"an`, a quoted field left open), marked by the loader
  // (see loadCsv); a quote escaped in a quoted field (`"Dupont ""Jr"""`) is the value's own.
  const stray: Check[] = input.strayQuotes ? [{ reason: 'stray_quote', action: 'dropped', when: STRAY_QUOTE }] : [];
  // A line with more fields than the header: a delimiter inside a value has shifted the fields after it.
  const extra: Check[] = input.extraFields ? [{ reason: 'extra_fields', action: 'dropped', when: `trim(coalesce(${EXTRA_FIELDS}, '')) <> ''` }] : [];
  // Files joined end to end (a month's export after another's) repeat the header line: compared
  // exactly, column by column (the first comparison, over every row, costs no copy of a string).
  const header = Object.entries(input.header ?? {});
  const repeated: Check[] = header.length
    ? [{ reason: 'repeated_header', action: 'dropped', when: header.map(([c, name]) => `${trimmed(ident(c))} = ${literal(name)}`).join(' AND ') }]
    : [];
  // The header's names in another order (files joined end to end whose columns are not in one
  // order): every value one of the names. The first column's test alone runs over every row: 0.05 s
  // over the 33 million contacts of a million customers (a cast to an ENUM of the names, 4 s).
  // The other columns' tests are one list test, made only where the first column is a name (one
  // IN list a column took DuckDB 0.2 s over the 30 columns of a 4-row tiles file: every tiny
  // build, every raw-row scoring; the list made on every row, 0.2 GB more at a million customers).
  const names = [...new Set(header.map(([, name]) => name))].map(literal).join(', ');
  const others = header.slice(1).map(([c]) => `coalesce(${trimmed(ident(c))}, '')`);
  const reordered: Check[] =
    header.length > 1 ? [{ reason: REORDERED_HEADER, action: 'dropped', when: `CASE WHEN ${trimmed(ident(header[0][0]))} IN (${names}) THEN list_has_all([${names}], [${others.join(', ')}]) ELSE false END` }] : [];
  checks = [...stray, ...extra, ...repeated, ...reordered, ...checks];
  const reason = `CASE ${checks.map((c) => `WHEN ${c.when} THEN ${literal(c.reason)}`).join(' ')} END`;
  const action = checks.length ? `CASE _reason ${checks.map((c) => `WHEN ${literal(c.reason)} THEN ${literal(c.action)}`).join(' ')} END` : 'NULL';
  const checked = `${input.table}_checked`;
  // Parsed columns are named p__<name> while the raw columns are in scope; checks refer to them so.
  const parsedSelect = Object.entries(parsed).map(([name, expr]) => `${expr} AS ${ident('p__' + name)}`).join(', ');
  const source = orphans
    ? `SELECT t.rowid + 1 AS _record, t.*, k.customer_id IS NULL AS _orphan
       FROM ${ident(input.table)} t LEFT JOIN (SELECT DISTINCT customer_id FROM customers_clean) k ON k.customer_id = ${trimmed('t.customer_id')}`
    : `SELECT rowid + 1 AS _record, * FROM ${ident(input.table)}`;
  await run(
    conn,
    `CREATE OR REPLACE TABLE ${ident(checked)} AS
     SELECT _record, _reason, ${action} AS _action, ${Object.keys(parsed).map((n) => `${ident('p__' + n)} AS ${ident(n)}`).join(', ')}
     FROM (SELECT *, ${reason} AS _reason FROM (SELECT *, ${parsedSelect} FROM (${source})))`,
  );
  if (reordered.length) await refuseReorderedHeader(conn, input, checked);
  return checked;
}

const REORDERED_HEADER = 'reordered_header';

/**
 * Stops the run at a line that repeats the header's names in another order (files joined end to
 * end whose columns are not in one order): the rows after it would be read under the first
 * header's columns, each value in another column, and in a file whose every column is free text
 * (customers without a date) they would all pass the checks.
 */
async function refuseReorderedHeader(conn: Duck, input: LoadedInput, checked: string): Promise<void> {
  const [found] = (await rows(conn, `SELECT min(_record) AS record FROM ${ident(checked)} WHERE _reason = ${literal(REORDERED_HEADER)}`)) as {
    record: bigint | null;
  }[];
  if (found.record === null) return;
  const line = recordLines(input)(Number(found.record));
  throw new InputError(
    'INPUT_INVALID',
    `${input.path}: line ${line} repeats the header with its columns in another order (files joined end to end?): the rows after it would be read under the first ` +
      `header's columns; put every file's columns in one order before joining them, or join them without their header lines`,
    { file: input.path, line },
  );
}

/**
 * Dropped rows whose content is not lost, listed as a repair's are (the first KEPT_LISTED): a row
 * repeating another file's (or another part's of its file) is read from there. A month's export overlapping the next by a week
 * repeats millions of rows in a million customers' base (11.9 million in 48 files, BENCHMARKS.md
 * session 33): a gigabyte of rejects saying the same thing.
 */
const LISTED_AS_REPAIRS = new Set(['repeated_in_other_file', 'repeated_in_earlier_part']);

/**
 * Writes rejected/repaired rows of `checked` plus the file's empty lines to rejects/<file>.csv, in
 * line order, by DuckDB's CSV writer (a file may reject millions of lines, which building in
 * JavaScript took most of a run); of a repair, its first KEPT_LISTED rows.
 */
async function writeRejects(
  conn: Duck,
  file: string,
  input: LoadedInput,
  checked: string,
  outDir: string,
  /** The rejects file's name without `.csv`, under rejects/: the input's name, or `transactions/2024-01` for a folder's file. */
  rejectsName = file,
): Promise<RejectCount[]> {
  const blanks = input.blankLines;
  const offset = input.lineOffset ?? 0;
  const counts = (await rows(
    conn,
    `SELECT _reason AS reason, _action AS action, count(*) AS n FROM ${ident(checked)} WHERE _reason IS NOT NULL GROUP BY ALL ORDER BY 1`,
  )) as { reason: string; action: RejectAction; n: bigint }[];
  const result: RejectCount[] = counts.map((c) => ({ file, reason: c.reason, action: c.action, rows: Number(c.n) }));
  if (blanks.length) result.push({ file, reason: 'empty_line', action: 'dropped', rows: blanks.length });
  if (!result.length) return result;
  // A repair past KEPT_LISTED rows: its rows after the KEPT_LISTED-th (by record) are counted, not listed.
  const unlisted: string[] = [];
  for (const r of result.filter((x) => (x.action !== 'dropped' || LISTED_AS_REPAIRS.has(x.reason)) && x.rows > KEPT_LISTED)) {
    const [last] = (await rows(
      conn,
      `SELECT max(_record) AS record FROM (SELECT _record FROM ${ident(checked)} WHERE _reason = ${literal(r.reason)} ORDER BY _record LIMIT ${KEPT_LISTED})`,
    )) as { record: bigint }[];
    unlisted.push(`(c._reason = ${literal(r.reason)} AND c._record > ${last.record})`);
    r.listed = KEPT_LISTED;
  }

  const dest = join(outDir, 'rejects', `${rejectsName}.csv`);
  mkdirSync(dirname(dest), { recursive: true });
  // The lines that start no record (empty, or continuing a quoted field), numbered from the header.
  // Record r is on line r + 1 + offset, plus one for each such line s_i (the i-th, from 1) with
  // s_i - i <= r: the record lines are the lines that are not skipped, in order.
  const skipped = [...blanks, ...(input.continuationLines ?? [])].sort((x, y) => x - y);
  await run(conn, 'CREATE OR REPLACE TEMP TABLE _skipped (s BIGINT, empty BOOLEAN)');
  const emptySet = new Set(blanks);
  const appender = await conn.createAppender('_skipped');
  for (const line of skipped) {
    appender.appendBigInt(BigInt(line));
    appender.appendBoolean(emptySet.has(line));
    appender.endRow();
  }
  appender.closeSync();
  const columns = input.columns.map((c) => `r.${ident(c)}`).join(', ');
  const none = input.columns.map((c) => `NULL::VARCHAR AS ${ident(c)}`).join(', ');
  try {
    await run(
      conn,
      `COPY (
         WITH shift AS (
           SELECT k, max(n) AS n FROM (SELECT s - row_number() OVER (ORDER BY s) AS k, row_number() OVER (ORDER BY s) AS n FROM _skipped) GROUP BY k
         )
         SELECT * FROM (
           SELECT c._record + 1 + ${offset} + coalesce(h.n, 0) AS line, c._record AS record, c._reason AS reason, c._action AS action, ${columns}
           FROM ${ident(checked)} c
           JOIN (SELECT rowid + 1 AS _rec, * FROM ${ident(input.table)}) r ON r._rec = c._record
           ASOF LEFT JOIN shift h ON c._record >= h.k
           WHERE c._reason IS NOT NULL${unlisted.length ? ` AND NOT (${unlisted.join(' OR ')})` : ''}
           UNION ALL
           SELECT s + ${offset} AS line, NULL AS record, 'empty_line' AS reason, 'dropped' AS action, ${none} FROM _skipped WHERE empty
         ) ORDER BY line
       ) TO ${literal(dest)} (FORMAT CSV, HEADER)`,
    );
  } finally {
    await run(conn, 'DROP TABLE IF EXISTS _skipped');
  }
  return result;
}

/**
 * A copy of `table` with column `_dup`: 1 for the first row of each value of `key` (SQL over the
 * raw columns), 2 for its first repeat, and so on. A window function, computed once before the
 * CASE of the checks (inside it, it would be computed per check).
 */
async function numberRepeats(conn: Duck, table: string, key: string): Promise<string> {
  const numbered = `${table}_n`;
  await run(
    conn,
    `CREATE OR REPLACE TABLE ${ident(numbered)} AS SELECT *, row_number() OVER (PARTITION BY ${key} ORDER BY rowid) AS _dup FROM ${ident(table)} ORDER BY rowid`,
  );
  return numbered;
}

/** The first date a record may hold: 1900-01-01 and before are placeholders (a spreadsheet's day 1, SQL Server's 1753-01-01, 0001-01-01). */
export const FIRST_PLAUSIBLE_DATE = '1900-01-02';
/** Past this share of a file's dated rows, dates after the latest plausible one are the file's own, not typos. */
export const FUTURE_SHARE = 0.01;

/**
 * Dates no record can hold, in `checked`'s DATE column `column`: a placeholder (before
 * FIRST_PLAUSIBLE_DATE), or a date after `latest` (the day after the run's, or as_of when later): a
 * typo (2062 for 2026) or a far-future placeholder (9999-12-31), which would otherwise become the
 * base's as_of and leave every customer's twelve months empty. A row still usable gets reason
 * `implausible_date` with `action`: dropped (a purchase, a contact), or kept with the date set
 * missing (a customer's signup date). Where future dates are more than FUTURE_SHARE of the file's
 * dated rows, the file is dated ahead of this machine's clock (a generated base, a clock behind):
 * its future dates stay. A scan of the parsed dates; an update only where there are some.
 */
async function rejectImplausibleDates(conn: Duck, checked: string, column: string, latest: string, action: RejectAction): Promise<void> {
  const d = ident(column);
  const [seen] = (await rows(
    conn,
    `SELECT count(${d}) AS dated, count(*) FILTER (WHERE ${d} > DATE ${literal(latest)}) AS future, count(*) FILTER (WHERE ${d} < DATE ${literal(FIRST_PLAUSIBLE_DATE)}) AS placeholder
     FROM ${ident(checked)} WHERE _reason IS NULL OR _action <> 'dropped'`,
  )) as { dated: bigint; future: bigint; placeholder: bigint }[];
  const future = Number(seen.future) > 0 && Number(seen.future) <= FUTURE_SHARE * Number(seen.dated);
  if (!future && Number(seen.placeholder) === 0) return;
  const when = `(${d} < DATE ${literal(FIRST_PLAUSIBLE_DATE)}${future ? ` OR ${d} > DATE ${literal(latest)}` : ''})`;
  const usable = `(_reason IS NULL OR _action <> 'dropped')`;
  if (action === 'dropped') {
    await run(conn, `UPDATE ${ident(checked)} SET _reason = 'implausible_date', _action = 'dropped' WHERE ${usable} AND ${when}`);
  } else {
    // A row already kept with another repair keeps its reason; the date is set missing all the same.
    await run(
      conn,
      `UPDATE ${ident(checked)} SET ${d} = NULL, _reason = coalesce(_reason, 'implausible_date'), _action = coalesce(_action, ${literal(action)}) WHERE ${usable} AND ${when}`,
    );
  }
}

/**
 * Rejects, in `checked`, the rows that passed every check but repeat the `key` (SQL over the
 * parsed columns) of an earlier such row: the first usable row of each key is kept. An update of
 * the few repeats, after the checks: numbering the raw rows instead (as for the customers' ids)
 * copies the whole text table, 5.6 s for a 1.4 M-cell grid.
 */
async function rejectRepeats(conn: Duck, checked: string, key: string, reason: string): Promise<void> {
  await run(
    conn,
    `UPDATE ${ident(checked)} SET _reason = ${literal(reason)}, _action = 'dropped'
     WHERE _record IN (
       SELECT _record FROM (SELECT _record, row_number() OVER (PARTITION BY ${key} ORDER BY _record) AS n FROM ${ident(checked)} WHERE _reason IS NULL)
       WHERE n > 1
     )`,
  );
}

/** How far back a birth year may go from the year of the base: older is a placeholder (1900) or a typo. */
export const MAX_AGE = 120;

/** The customer columns cleanCustomers keeps under their own names; a client's other columns are kept as x_<name>. */
export const CUSTOMER_BASE_COLUMNS: readonly string[] = ['customer_id', 'first_name', 'sex', 'birth_year', 'postcode', 'lat', 'lon', 'signup_date', 'segment'];

/** Where a customers file's clean rows and rejects go: customers_clean and rejects/customers.csv, or a folder's file's own. */
export interface CustomersFile {
  /** The clean table; a folder's file's keeps each row's `_record` (customers.ts then joins the files). */
  table: string;
  /** Under rejects/, without `.csv`. */
  rejects: string;
}

/**
 * Validates customers into table `customers_clean` (or `file.table`); returns the reject counts. A birth year is
 * kept from `year` - MAX_AGE to `year` (the year of the base's as_of when given, else this year).
 */
/**
 * A value shaped as a date, read or not: digits in three groups (0000-00-00, 31/02/2025 14:00), or
 * eight (20250230); or a placeholder for an unknown one (NA, N/A, #N/A, None, nan, -, ?, inconnu).
 */
const DATE_SHAPED = '\\d{1,4}[-/.]\\d{1,2}[-/.]\\d{1,4}([ T][0-9:.]*)?|\\d{8}|(?i:n/?a|#n/a|none|nan|-+|\\?+|inconnue?|unknown)';

/** SQL: the customer's birth_year is two digits alone, 01 to 99 (72 for 1972). */
const TWO_DIGIT_YEAR = `regexp_full_match(trim(birth_year), '(0[1-9]|[1-9][0-9])')`;

export async function cleanCustomers(
  conn: Duck,
  input: LoadedInput,
  outDir: string,
  year: number,
  latest: string,
  file: CustomersFile = { table: 'customers_clean', rejects: 'customers' },
): Promise<RejectCount[]> {
  const has = (c: string) => input.columns.includes(c);
  const num = (c: string) => numberSql(c, input.format);
  // Degrees past ±90 / ±180 are no place (a typo, a projected coordinate), nor is 0, 0 (a
  // geocoder's placeholder): set missing, the postcode then places the customer. A point in none of
  // the grid's territories whose latitude and longitude swapped lie in one is read swapped back
  // (geo.ts customerPoint, the same rule). Decided on the parsed degrees (p_lat, p_lon), as the
  // checks read them and the clean table is written: written on the text, the parse was repeated
  // some thirty times a row (2.5 s against 0.6 s for the customers' checks at a million).
  const nowhere = (lat: string, lon: string) => `(${lat} = 0 AND ${lon} = 0)`;
  const swapped = (lat: string, lon: string) => `(NOT ${inTerritory(lat, lon)} AND ${inTerritory(lon, lat)})`;
  // The decimals dropped where there is a point or a comma (the regular expression only there).
  const postcode = `CASE WHEN contains(postcode, '.') OR contains(postcode, ',') THEN regexp_replace(trim(postcode), '^${DECIMAL_POSTCODE}$', '\\1') ELSE trim(postcode) END`;
  const checks: Check[] = [
    { reason: 'missing_customer_id', action: 'dropped', when: `NOT ${present('customer_id')}` },
    ...(has('signup_date')
      ? [{ reason: 'bad_date', action: 'dropped' as const, when: `${present('signup_date')} AND p__p_signup_date IS NULL AND NOT regexp_full_match(trim(signup_date), '${DATE_SHAPED}')` }]
      : []),
    { reason: 'duplicate_id', action: 'dropped', when: '_dup > 1' },
    // A signup date shaped as a date but none (0000-00-00, a database's empty date; 2025-02-30; a
    // date of another layout than the file's): the customer kept, the date set missing. Checked
    // after the drops (a kept row's reason would hide them); a value not shaped as a date is a
    // corrupted row (its fields shifted, a piece of a broken line), bad_date above.
    ...(has('signup_date')
      ? [{ reason: 'bad_signup_date', action: 'kept: set missing' as const, when: `${present('signup_date')} AND p__p_signup_date IS NULL AND regexp_full_match(trim(signup_date), '${DATE_SHAPED}')` }]
      : []),
    ...(has('birth_year')
      ? [
          { reason: 'bad_birth_year', action: 'kept: set missing' as const, when: `${present('birth_year')} AND p__p_birth_year IS NULL` },
          { reason: 'two_digit_birth_year', action: 'kept: read as a year (72 as 1972)' as const, when: `${TWO_DIGIT_YEAR} AND p__p_birth_year IS NOT NULL` },
        ]
      : []),
    ...(has('sex') ? [{ reason: 'bad_sex', action: 'kept: set missing' as const, when: `${present('sex')} AND p__p_sex IS NULL` }] : []),
    // Spreadsheets drop a number's leading zero: 1000 is Bourg-en-Bresse's 01000. A data frame
    // with missing postcodes writes them as decimals: 75011.0 (and 1000.0).
    ...(has('postcode')
      ? [
          { reason: 'short_postcode', action: 'kept: leading 0 restored' as const, when: `regexp_full_match(${postcode}, '[1-9][0-9]{3}')` },
          { reason: 'decimal_postcode', action: 'kept: read without its decimals' as const, when: `regexp_full_match(trim(postcode), '${DECIMAL_POSTCODE}')` },
        ]
      : []),
    ...(has('lat') && has('lon')
      ? [
          {
            reason: 'bad_coordinates',
            action: 'kept: set missing' as const,
            when: `(${present('lat')} AND p__p_lat IS NULL) OR (${present('lon')} AND p__p_lon IS NULL) OR ${nowhere('p__p_lat', 'p__p_lon')}`,
          },
          { reason: 'swapped_coordinates', action: 'kept: latitude and longitude swapped back' as const, when: `coalesce(${swapped('p__p_lat', 'p__p_lon')}, false)` },
        ]
      : []),
    // A record an unquoted line break had cut in two lines, read as one (see joinBrokenLines).
    ...(input.joinedLines ? [{ reason: 'unquoted_line_break', action: 'kept: its lines joined' as const, when: JOINED_LINES }] : []),
  ];
  const numbered = await numberRepeats(conn, input.table, trimmed('customer_id'));
  // An absent optional column is a typed NULL, so later comparisons with text stay text.
  const col = (c: string, expr: string, type = 'VARCHAR') => (has(c) ? expr : `NULL::${type}`);
  const extra = input.columns.filter((c) => !CUSTOMER_BASE_COLUMNS.includes(c));
  // A date of birth with a two-digit year (15/03/55): of this century where that makes the customer
  // 16 or older, else of the last (a customer born 1905 would be 121).
  const shortBirthYear = `try_cast(regexp_extract(trim(birth_year), '^\\d{1,2}[/.-]\\d{1,2}[/.-](\\d{2})( |$)', 1) AS INTEGER)`;
  // A bare two-digit year (72, 05: a legacy CRM's, a form's two boxes) by the same rule; 00 is a
  // placeholder as often as a year 2000, and a single digit no year anyone writes: both stay unread.
  const twoDigitYear = `CASE WHEN CAST(trim(birth_year) AS INTEGER) <= ${(year - 16) % 100} THEN 2000 ELSE 1900 END + CAST(trim(birth_year) AS INTEGER)`;
  const birthYear =
    `CASE WHEN regexp_full_match(trim(birth_year), '\\d{8}') THEN CAST(year(try_strptime(trim(birth_year), '%Y%m%d')) AS INTEGER) ` +
    `WHEN ${TWO_DIGIT_YEAR} THEN ${twoDigitYear} ` +
    `ELSE coalesce(try_cast(trim(birth_year) AS INTEGER), try_cast(regexp_extract(trim(birth_year), '^\\d{1,2}[/.-]\\d{1,2}[/.-](\\d{4})( |$)', 1) AS INTEGER), ` +
    `CASE WHEN ${shortBirthYear} <= ${(year - 16) % 100} THEN 2000 + ${shortBirthYear} ELSE 1900 + ${shortBirthYear} END, ` +
    // An ISO date last: DuckDB reads 25/04/26 as a date of the year 25.
    `CAST(year(try_cast(trim(birth_year) AS DATE)) AS INTEGER)) END`;
  const parsed: Record<string, string> = {
    p_customer_id: trimmed('customer_id'),
    p_first_name: col('first_name', `nullif(upper(trim(first_name)), '')`),
    p_sex: col('sex', `CASE WHEN upper(strip_accents(trim(sex))) IN (${SEX_F}) THEN 'F' WHEN upper(strip_accents(trim(sex))) IN (${SEX_M}) THEN 'M' END`),
    // A year, or the year of a date of birth (1972-03-15, 15/03/1972, 19720315, 15/03/72), or a
    // bare two-digit year (72), in the plausible years (1900 as a placeholder, 2072 for 1972 are not).
    p_birth_year: col('birth_year', `CASE WHEN ${birthYear} BETWEEN ${year - MAX_AGE} AND ${year} THEN ${birthYear} END`, 'INTEGER'),
    // Written with two digits alone, for the check against the first names (TWO_DIGIT_BIRTH_YEARS).
    p_birth_year_2d: col('birth_year', TWO_DIGIT_YEAR, 'BOOLEAN'),
    p_postcode: col('postcode', `CASE WHEN regexp_full_match(${postcode}, '[1-9][0-9]{3}') THEN '0' || ${postcode} ELSE nullif(${postcode}, '') END`),
    p_lat: col('lat', `CASE WHEN abs(${num('lat')}) <= 90 THEN ${num('lat')} END`, 'DOUBLE'),
    p_lon: col('lon', `CASE WHEN abs(${num('lon')}) <= 180 THEN ${num('lon')} END`, 'DOUBLE'),
    p_signup_date: col('signup_date', `${timestampSql('signup_date', input.format)}::DATE`, 'DATE'),
    p_segment: col('segment', `nullif(trim(segment), '')`),
    // A client column's numbers written with a decimal comma are carried with a point, so the column
    // can read as numeric (every other value as written).
    ...Object.fromEntries(
      extra.map((c) => [
        `x_${c}`,
        input.format?.decimalComma
          ? `CASE WHEN contains(${ident(c)}, ',') AND ${num(ident(c))} IS NOT NULL THEN CAST(${num(ident(c))} AS VARCHAR) ELSE nullif(trim(${ident(c)}), '') END`
          : `nullif(trim(${ident(c)}), '')`,
      ]),
    ),
  };
  const checked = await applyChecks(conn, { ...input, table: numbered }, checks, parsed);
  if (has('signup_date')) await rejectImplausibleDates(conn, checked, 'p_signup_date', latest, 'kept: set missing');
  const counts = await writeRejects(conn, 'customers', { ...input, table: numbered }, checked, outDir, file.rejects);
  await run(
    conn,
    `CREATE OR REPLACE TABLE ${ident(file.table)} AS SELECT
       row_number() OVER (ORDER BY _record) - 1 AS row_ix,${file.table === 'customers_clean' ? '' : ' _record,'}
       p_customer_id AS customer_id, p_first_name AS first_name, p_sex AS sex, p_birth_year AS birth_year,
       p_postcode AS postcode,
       CASE WHEN ${nowhere('p_lat', 'p_lon')} THEN NULL WHEN ${swapped('p_lat', 'p_lon')} THEN p_lon ELSE p_lat END AS lat,
       CASE WHEN ${nowhere('p_lat', 'p_lon')} THEN NULL WHEN ${swapped('p_lat', 'p_lon')} THEN p_lat ELSE p_lon END AS lon,
       p_signup_date AS signup_date, p_segment AS segment
       ${extra.map((c) => `, ${ident('x_' + c)}`).join('')}
     FROM ${ident(checked)} WHERE _reason IS NULL OR _action <> 'dropped' ORDER BY _record`,
  );
  if (has('birth_year')) {
    // The customers whose birth year was two digits alone, for the check against their first names (names.ts twoDigitBirthYearCheck).
    await run(conn, `CREATE TABLE IF NOT EXISTS ${TWO_DIGIT_BIRTH_YEARS} (customer_id VARCHAR)`);
    // In a folder a customer is read from the last file holding them (customers.ts): a later file's row replaces an earlier one's.
    await run(conn, `DELETE FROM ${TWO_DIGIT_BIRTH_YEARS} WHERE customer_id IN (SELECT p_customer_id FROM ${ident(checked)} WHERE _reason IS NULL OR _action <> 'dropped')`);
    await run(
      conn,
      `INSERT INTO ${TWO_DIGIT_BIRTH_YEARS} SELECT p_customer_id FROM ${ident(checked)}
       WHERE (_reason IS NULL OR _action <> 'dropped') AND p_birth_year IS NOT NULL AND p_birth_year_2d`,
    );
  }
  return counts;
}

/** The table of the customers whose birth year was written with two digits alone (cleanCustomers). */
export const TWO_DIGIT_BIRTH_YEARS = 'two_digit_birth_years';

/** A postcode written as a number with decimals (75011.0, 1000,0): its digits are group 1. */
const DECIMAL_POSTCODE = '([0-9]{4,5})[.,]0+';

/**
 * A customer's postcode as the pipeline reads it (cleanCustomers, the same rule in SQL): trimmed,
 * without the decimals a data frame writes (75011.0), its leading 0 restored where a spreadsheet
 * dropped it (1000 -> 01000); null when empty.
 */
export function readPostcode(text: string): string | null {
  const code = text.trim().replace(new RegExp(`^${DECIMAL_POSTCODE}$`), '$1');
  return /^[1-9][0-9]{3}$/.test(code) ? `0${code}` : code || null;
}

/** SQL: whether the point (`lat`, `lon`, degrees) lies in a territory of the grid (geo.ts GRID_TERRITORIES). */
function inTerritory(lat: string, lon: string): string {
  return `(${GRID_TERRITORIES.map((t) => `(${lat} > ${t.lat[0]} AND ${lat} < ${t.lat[1]} AND ${lon} > ${t.lon[0]} AND ${lon} < ${t.lon[1]})`).join(' OR ')})`;
}

/** A numeric id as a key without its leading zeros or a trailing ".0" (SQL over text column `c`). */
const idKey = (c: string) => `ltrim(regexp_replace(${c}, '\\.0+$', ''), '0')`;
const numericId = (c: string) => `regexp_full_match(${c}, '[0-9]+(\\.0+)?')`;

/**
 * Keeps the orphan rows of `checked` whose id names exactly one customer once written the same
 * way: a numeric id without its leading zeros and a trailing ".0" on both sides (`123` or `123.0`
 * for customer `00123`, or the other way round: what a spreadsheet that read the ids as numbers
 * writes), any other id whatever its case (`jean.dupont@mail.fr` for `Jean.Dupont@Mail.fr`: a
 * system that lower-cases e-mail addresses). They get the customer's id, and are counted as
 * `reformatted_id`. Only orphans are looked at: a file whose ids all match pays one count. The
 * table is rebuilt rather than updated (an update of millions of rows, every purchase of a file
 * whose ids all lost their zeros, is slow and takes gigabytes).
 */
async function matchReformattedIds(conn: Duck, checked: string): Promise<void> {
  const [orphans] = await rows(conn, `SELECT count(*) AS n FROM ${ident(checked)} WHERE _reason = 'orphan_id'`);
  if (Number(orphans.n) === 0) return;
  // Each way of writing an id: which ids it applies to, and the key it reduces them to.
  const ways = [
    { applies: numericId, key: idKey },
    { applies: (c: string) => `NOT ${numericId(c)}`, key: (c: string) => `lower(${c})` },
  ];
  await run(
    conn,
    `CREATE OR REPLACE TEMP TABLE _matched AS
     ${ways
       .map(
         (w) => `SELECT o._record, k.customer_id
     FROM (SELECT _record, customer_id FROM ${ident(checked)} WHERE _reason = 'orphan_id' AND ${w.applies('customer_id')}) o
     JOIN (SELECT ${w.key('customer_id')} AS key, min(customer_id) AS customer_id FROM customers_clean
           WHERE ${w.applies('customer_id')} GROUP BY key HAVING count(*) = 1) k ON ${w.key('o.customer_id')} = k.key`,
       )
       .join(' UNION ALL ')}`,
  );
  try {
    const [matched] = await rows(conn, 'SELECT count(*) AS n FROM _matched');
    if (Number(matched.n) === 0) return;
    const rebuilt = `${checked}_ids`;
    await run(
      conn,
      `CREATE OR REPLACE TABLE ${ident(rebuilt)} AS
       SELECT c.* REPLACE (
         coalesce(m.customer_id, c.customer_id) AS customer_id,
         CASE WHEN m._record IS NULL THEN c._reason ELSE 'reformatted_id' END AS _reason,
         CASE WHEN m._record IS NULL THEN c._action ELSE 'kept: matched to its customer' END AS _action)
       FROM ${ident(checked)} c LEFT JOIN _matched m ON m._record = c._record`,
    );
    await run(conn, `DROP TABLE ${ident(checked)}`);
    await run(conn, `ALTER TABLE ${ident(rebuilt)} RENAME TO ${ident(checked)}`);
  } finally {
    await run(conn, 'DROP TABLE IF EXISTS _matched');
  }
}

/** A client value written several ways: each spelling and its rows, most frequent first. */
export interface Spellings {
  file: string;
  column: string;
  groups: { value: string; rows: number }[][];
}

/** Text in code point order: the same on every machine, whatever its locale. */
const byCode = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** How many groups of spellings are named (the largest). */
const SPELLINGS_NAMED = 10;

/**
 * The segments of `customers_clean` written several ways that differ only by case, accents or
 * spaces (`Gold`, `gold`, `GOLD`): each is a segment of its own in the crossing with the personas
 * and in a rule, and the client most often meant one. Kept as written (the client's labels), but
 * named, the largest groups first. None when every segment is written one way.
 */
export async function segmentSpellings(conn: Duck): Promise<Spellings | undefined> {
  const found = (await rows(
    conn,
    `SELECT lower(trim(regexp_replace(strip_accents(segment), '\\s+', ' ', 'g'))) AS k, segment AS value, count(*) AS n
     FROM customers_clean WHERE segment IS NOT NULL GROUP BY ALL`,
  )) as { k: string; value: string; n: bigint }[];
  const byKey = new Map<string, { value: string; rows: number }[]>();
  for (const f of found) byKey.set(f.k, [...(byKey.get(f.k) ?? []), { value: f.value, rows: Number(f.n) }]);
  const total = (g: { rows: number }[]) => g.reduce((s, x) => s + x.rows, 0);
  const groups = [...byKey.values()]
    .filter((g) => g.length > 1)
    .map((g) => g.sort((a, b) => b.rows - a.rows || byCode(a.value, b.value)))
    .sort((a, b) => total(b) - total(a) || byCode(a[0].value, b[0].value))
    .slice(0, SPELLINGS_NAMED);
  return groups.length ? { file: 'customers', column: 'segment', groups } : undefined;
}

/** How many times the median purchase an amount must be to be named among the ones to check. */
export const OUTLIER_FACTOR = 1000;

/** Amounts far above the file's median purchase: how many, the median, and the largest with their lines (and files, for an input given as a folder). */
export interface AmountOutliers {
  file: string;
  rows: number;
  median: number;
  largest: { line: number; amount: number; in?: string }[];
}

/**
 * The amounts of the transactions kept (`files`, each checked by cleanTransactions; `name`, a
 * folder's file's name) of more than OUTLIER_FACTOR times the median purchase, either way (an
 * amount typed in cents, a total line): kept, since a large order is no error, but named, the
 * five largest with their lines, since one of them moves every rule's `Kx mean` threshold on the
 * money spent. None when there are none.
 */
export async function amountOutliers(conn: Duck, files: { input: LoadedInput; name?: string }[]): Promise<AmountOutliers | undefined> {
  const usable = `(_reason IS NULL OR _action <> 'dropped')`;
  const all = files.map((f, k) => `SELECT ${k} AS part, _record, amount FROM ${ident(`${f.input.table}_checked`)} WHERE ${usable}`).join(' UNION ALL ');
  const [m] = (await rows(conn, `SELECT approx_quantile(amount, 0.5) AS median FROM (${all}) WHERE amount > 0`)) as { median: number | null }[];
  if (m.median === null || !(m.median > 0)) return undefined;
  const far = `abs(amount) > CAST(${OUTLIER_FACTOR * m.median} AS DOUBLE)`;
  const [n] = (await rows(conn, `SELECT count(*) AS n FROM (${all}) WHERE ${far}`)) as { n: bigint }[];
  if (Number(n.n) === 0) return undefined;
  const top = (await rows(conn, `SELECT part, _record AS record, amount FROM (${all}) WHERE ${far} ORDER BY abs(amount) DESC, part, _record LIMIT 5`)) as {
    part: number;
    record: bigint;
    amount: number;
  }[];
  const largest = top.map((t) => {
    const { input, name } = files[Number(t.part)];
    return { line: recordLines(input)(Number(t.record)), amount: t.amount, ...(name ? { in: name } : {}) };
  });
  return { file: 'transactions', rows: Number(n.n), median: m.median, largest };
}

/**
 * Where one file of an event input stands among the input's files: its rejects file's name, and
 * the checked tables of the files read before it (see rejectOverlaps). A single file is its own input.
 */
export interface EventFile {
  /** Under rejects/, without `.csv`: `transactions`, or `transactions/2024-01` for a folder's file. */
  rejects: string;
  earlier: CheckedSpan[];
  /** Filled with the rows alike to an earlier file's that were kept (see ALIKE_SHARE). */
  alike?: AlikeKept[];
}

/** A checked table of an event file, the first and last days of its usable rows (YYYY-MM-DD), and the file's columns. */
export interface CheckedSpan {
  table: string;
  from: string;
  to: string;
  columns: string[];
  /** A folder's file: its rejects file's name (as EventFile.rejects) and the line of each of its records, to list its rows a later file replaces. */
  rejects?: string;
  lines?: (record: number) => number;
}

/** The first and last days of the usable rows of `input`'s checked table; undefined when it has none. */
export async function checkedSpan(conn: Duck, input: Pick<LoadedInput, 'table' | 'columns'>): Promise<CheckedSpan | undefined> {
  const table = `${input.table}_checked`;
  const [span] = (await rows(
    conn,
    `SELECT strftime(min(day), '%Y-%m-%d') AS lo, strftime(max(day), '%Y-%m-%d') AS hi FROM ${ident(table)} WHERE _reason IS NULL OR _action <> 'dropped'`,
  )) as { lo: string | null; hi: string | null }[];
  return span.lo && span.hi ? { table, from: span.lo, to: span.hi, columns: input.columns } : undefined;
}

const SINGLE = (name: string): EventFile => ({ rejects: name, earlier: [] });

/**
 * Checks one transactions file into table `<input.table>_checked` (customers_clean must exist);
 * returns its reject counts. eventRows then makes `transactions_clean` of the input's files.
 */
export async function cleanTransactions(conn: Duck, input: LoadedInput, outDir: string, latest: string, values: ValueMap = {}, file = SINGLE('transactions')): Promise<RejectCount[]> {
  const has = (c: string) => input.columns.includes(c);
  const parsed: Record<string, string> = {
    customer_id: trimmed('customer_id'),
    day: `${timestampSql('ts', input.format)}::DATE`,
    amount: amountSql('amount', input.format),
    channel: has('channel') ? `coalesce(${oneOf('channel', CHANNELS)}, ${mappedSql('channel', values.channel)}, CASE WHEN ${present('channel')} THEN 'other' END)` : 'NULL::VARCHAR',
    category: has('category') ? `nullif(${trimmed('category')}, '')` : 'NULL::VARCHAR',
    order_id: has('order_id') ? `nullif(${trimmed('order_id')}, '')` : 'NULL::VARCHAR',
    promo: has('promo') ? `CASE WHEN ${trimmed('promo')} = '1' OR lower(${trimmed('promo')}) IN (${FLAG_YES.map(literal).join(', ')}) THEN 1 ELSE 0 END` : '0',
  };
  const checks: Check[] = [
    { reason: 'bad_date', action: 'dropped', when: 'p__day IS NULL' },
    // Beyond 10^15 (a thousand billion) an amount is a reading error, and past what the sums hold.
    { reason: 'bad_amount', action: 'dropped', when: 'p__amount IS NULL OR NOT isfinite(p__amount) OR abs(p__amount) >= 1e15' },
    { reason: 'orphan_id', action: 'dropped', when: '_orphan' },
    ...(has('channel') ? [{ reason: 'unknown_channel', action: 'kept: channel other' as const, when: `p__channel = 'other'` }] : []),
    ...(has('promo') ? [{ reason: 'bad_promo', action: 'kept: promo 0' as const, when: `${present('promo')} AND ${trimmed('promo')} NOT IN ('0', '1') AND lower(${trimmed('promo')}) NOT IN (${[...FLAG_YES, ...FLAG_NO].map(literal).join(', ')})` }] : []),
  ];
  const checked = await applyChecks(conn, input, checks, parsed, true);
  await matchReformattedIds(conn, checked);
  await rejectImplausibleDates(conn, checked, 'day', latest, 'dropped');
  await rejectPartOverlaps(conn, input, checked, Object.keys(parsed));
  const replaced = await rejectOverlaps(conn, 'transactions', input, file, Object.keys(parsed), outDir);
  const counts = [...(await writeRejects(conn, 'transactions', input, checked, outDir, file.rejects)), ...replaced];
  const unknown = counts.find((c) => c.reason === 'unknown_channel');
  if (unknown) unknown.values = await unknownValues(conn, input.table, checked, unknown.reason, 'channel');
  const flags = counts.find((c) => c.reason === 'bad_promo');
  if (flags) flags.values = await unknownValues(conn, input.table, checked, flags.reason, 'promo');
  return counts;
}

/**
 * A file of exports joined end to end (its header line repeated, `repeated_header`) is read as the
 * folder of its parts would be (rejectOverlaps): a later part overlapping an earlier one over the
 * days both cover has its repeats dropped as `repeated_in_earlier_part`, and the earlier part's rows
 * it amended as `replaced_in_later_part` (both listed in the file's rejects); the exact repeats
 * left (too few to be an overlap: two alike rows may be two purchases where only the day is
 * written) are kept. The file's format says how many of each (`joinedParts`). Nothing for one part.
 */
async function rejectPartOverlaps(conn: Duck, input: LoadedInput, checked: string, parsed: string[]): Promise<void> {
  // The parts are the records between two header lines, told by their record (the headers are a
  // few records; a running count of them over the file's records, a window, took DuckDB 56 s for
  // 400,000 records and grew faster than the file: BENCHMARKS.md, session 39).
  const headers = ((await rows(conn, `SELECT _record FROM ${ident(checked)} WHERE _reason = 'repeated_header' ORDER BY _record`)) as { _record: bigint }[]).map((r) => Number(r._record));
  if (!headers.length) return;
  const usable = `(_reason IS NULL OR _action <> 'dropped')`;
  const partOf = `CASE ${headers.map((h, k) => `WHEN _record < ${h} THEN ${k}`).join(' ')} ELSE ${headers.length} END`;
  let leftOut = 0;
  let replaced = 0;
  // A part is read by its range of _record, which the table holds in order (DuckDB skips the row
  // groups outside it), not by a join over the whole file's records.
  const spans = (await rows(
    conn,
    `SELECT ${partOf} AS part, min(_record) AS first, max(_record) AS last, strftime(min(day), '%Y-%m-%d') AS lo, strftime(max(day), '%Y-%m-%d') AS hi
     FROM ${ident(checked)} WHERE ${usable} AND day IS NOT NULL GROUP BY ALL ORDER BY part`,
  )) as { part: number; first: bigint; last: bigint; lo: string; hi: string }[];
  const part = (s: (typeof spans)[number]): ExportRows => ({
    rows: `(SELECT * FROM ${ident(checked)} WHERE _record BETWEEN ${s.first} AND ${s.last})`,
    table: checked,
    from: s.lo,
    to: s.hi,
    columns: input.columns,
  });
  for (const [k, later] of spans.entries()) {
    for (const earlier of spans.slice(0, k)) {
      const outcome = await settleOverlap(conn, part(later), part(earlier), parsed, PART_REASONS);
      if (outcome.kind !== 'overlap') continue;
      leftOut += outcome.repeated;
      replaced += outcome.replaced;
    }
  }
  // The exact repeats kept: rows of a later part equal, on every column read, to a usable row of an earlier one.
  const cols = parsed.map(ident).join(', ');
  const [r] = (await rows(
    conn,
    `WITH u AS (SELECT ${cols}, part, min(part) OVER (PARTITION BY ${cols}) AS first FROM (SELECT *, ${partOf} AS part FROM ${ident(checked)} WHERE ${usable}))
     SELECT count(*) AS n FROM u WHERE part > first`,
  )) as { n: bigint }[];
  const repeated = Number(r.n);
  if (input.format && repeated + leftOut + replaced > 0) {
    input.format.joinedParts = { parts: headers.length + 1, repeated, ...(leftOut ? { leftOut } : {}), ...(replaced ? { replaced } : {}) };
  }
}

/** The columns of each event input's clean view. */
const EVENT_COLUMNS = { transactions: 'customer_id, day, amount, channel, category, promo, order_id', interactions: 'customer_id, day, type' };

/**
 * `<name>_clean`, the usable rows of an event input's checked tables (one per file, in file
 * order): a view of a single file's; for several files, a table of theirs, the files' tables then
 * dropped. The features read it several times: over a view of 24 monthly files' tables they took
 * 1.7 times as long as over one table (a million customers, BENCHMARKS.md session 33), and the
 * table holds the usable rows alone.
 */
export async function eventRows(conn: Duck, name: 'transactions' | 'interactions', checked: string[]): Promise<void> {
  const usable = (t: string) => `SELECT ${EVENT_COLUMNS[name]} FROM ${ident(t)} WHERE _reason IS NULL OR _action <> 'dropped'`;
  if (checked.length === 1) {
    await run(conn, `CREATE OR REPLACE VIEW ${name}_clean AS ${usable(checked[0])}`);
    return;
  }
  // The rows' order is none of the features' concern (an order's day is its lines' first): the
  // table is written by both cores, not in the files' order by one.
  await run(conn, 'SET preserve_insertion_order = false');
  try {
    await run(conn, `CREATE OR REPLACE TABLE ${name}_clean AS ${checked.map(usable).join(' UNION ALL ')}`);
  } finally {
    await run(conn, 'RESET preserve_insertion_order');
  }
  for (const t of checked) await run(conn, `DROP TABLE ${ident(t)}`);
}

/**
 * Past this share of the rows two files of an input hold in the dates both cover, the rows of the
 * later file repeating the earlier's are an overlap of two exports (January to March, then March
 * to June): dropped. Files cut otherwise (one per store, dated alike) share next to none.
 */
export const OVERLAP_SHARE = 0.5;

/**
 * From this share of the fewer rows two files hold over the dates both cover, up to
 * OVERLAP_SHARE, their alike rows are kept but said: too many for files cut otherwise (a store
 * each share next to none), too few for an overlap of one export's rows (a corrected re-export,
 * its amounts amended, may be either).
 */
export const ALIKE_SHARE = 0.1;

/** Rows of a file alike to an earlier file's (`table`) over the days both cover, kept (fewer than OVERLAP_SHARE of them). */
export interface AlikeKept {
  table: string;
  from: string;
  to: string;
  rows: number;
}

/**
 * Drops, as `repeated_in_other_file`, the usable rows of `checked` that repeat a row of an
 * earlier file of the same input (`file.earlier`, checked tables) in the dates both files cover, when
 * such repeats are at least OVERLAP_SHARE of the fewer rows either file holds there: the two are
 * exports of the same purchases over overlapping periods, and reading both would count the
 * overlap twice. `parsed` (the parsed columns, `day` among them) says what repeats: every column both files hold. A
 * row written twice in one file and once in the other repeats once (matched by count, in the
 * file's order). Files without common dates cost nothing (their spans are known).
 *
 * In such an overlap, a row of the later file that repeats none of the earlier's but stands where
 * one of the earlier's stands unrepeated (the same customer and day) is that row amended (an amount
 * corrected by a re-export): the earlier file's row is dropped, as `replaced_in_later_file`, and
 * listed in its own rejects file; before, both were read and the purchase counted twice. A row of
 * the earlier file with no such counterpart is kept (a later export cut at an hour, not a day, may
 * lack the first morning's purchases); where the customer has more such rows that day than the
 * later file has, those most alike to the later file's rows are taken for the amended ones.
 * Returns the counts of the earlier files' rows so dropped.
 */
async function rejectOverlaps(conn: Duck, name: 'transactions' | 'interactions', input: LoadedInput, file: EventFile, parsed: string[], outDir: string): Promise<RejectCount[]> {
  if (!file.earlier.length) return [];
  const own = await checkedSpan(conn, input);
  if (!own) return [];
  let replacedRows = 0;
  let listedRows = 0;
  for (const earlier of file.earlier) {
    // The earlier file's amended rows go to its own rejects file (its text let go by now).
    const listAmended = async () => void (listedRows += await listReplaced(conn, name, earlier, outDir, KEPT_LISTED - listedRows));
    const outcome = await settleOverlap(conn, { ...own, rows: ident(own.table) }, { ...earlier, rows: ident(earlier.table) }, parsed, FILE_REASONS, listAmended);
    if (outcome.kind === 'alike') file.alike?.push({ table: earlier.table, from: outcome.from, to: outcome.to, rows: outcome.rows });
    if (outcome.kind === 'overlap') replacedRows += outcome.replaced;
  }
  if (!replacedRows) return [];
  return [{ file: name, reason: 'replaced_in_later_file', action: 'dropped', rows: replacedRows, ...(listedRows < replacedRows ? { listed: listedRows } : {}) }];
}

/** The rows of one export compared with another's: a relation (`rows`: a checked table, or part of one), the checked table holding them, their first and last days and their file's columns. */
interface ExportRows {
  rows: string;
  table: string;
  from: string;
  to: string;
  columns: string[];
}

/** What two exports' rows over the days both cover came to (see settleOverlap). */
type OverlapOutcome =
  | { kind: 'apart' }
  | { kind: 'alike'; from: string; to: string; rows: number }
  | { kind: 'overlap'; from: string; to: string; repeated: number; replaced: number };

/** The reasons an overlap's rows are dropped with: the later export's repeats, the earlier's amended rows. */
const FILE_REASONS = { repeated: 'repeated_in_other_file', replaced: 'replaced_in_later_file' };
const PART_REASONS = { repeated: 'repeated_in_earlier_part', replaced: 'replaced_in_later_part' };

/**
 * Compares a later export's rows with an earlier one's over the days both cover, on every column
 * of `parsed` (`day` among them) both hold. Repeats matched by count (a row written twice in one
 * and once in the other repeats once) that are at least OVERLAP_SHARE of the fewer rows either has
 * there make an overlap: the later's repeats are dropped (`reasons.repeated`), and the earlier's
 * rows it amended (`reasons.replaced`, see rejectOverlaps), in their checked tables; `listAmended`
 * is called while temp table `_replaced` holds the latter's records. Fewer, from ALIKE_SHARE, are
 * alike: kept, said by the caller.
 */
async function settleOverlap(
  conn: Duck,
  later: ExportRows,
  earlier: ExportRows,
  parsed: string[],
  reasons: { repeated: string; replaced: string },
  listAmended?: () => Promise<void>,
): Promise<OverlapOutcome> {
  const usable = `(_reason IS NULL OR _action <> 'dropped')`;
  // Compared on the columns both files hold (the day read from ts): a column one export leaves
  // out reads missing there, not as the other's values.
  const key = parsed.filter((c) => c === 'day' || (later.columns.includes(c) && earlier.columns.includes(c)));
  const cols = key.map(ident).join(', ');
  const same = (a: string, b: string) => key.map((c) => `${a}.${ident(c)} IS NOT DISTINCT FROM ${b}.${ident(c)}`).join(' AND ');
  const lo = earlier.from > later.from ? earlier.from : later.from;
  const hi = earlier.to < later.to ? earlier.to : later.to;
  if (lo > hi) return { kind: 'apart' };
  const within = `${usable} AND day BETWEEN DATE ${literal(lo)} AND DATE ${literal(hi)}`;
  // The rows of `a` (over the common dates) that repeat one of `b`'s, matched by count in `a`'s order.
  const repeating = (a: string, b: string, negate = false) =>
    `SELECT m._record, m.customer_id, m.day FROM (SELECT _record, ${cols}, row_number() OVER (PARTITION BY ${cols} ORDER BY _record) AS n FROM ${a} WHERE ${within}) m
     ${negate ? 'LEFT ' : ''}JOIN (SELECT ${cols}, count(*) AS n FROM ${b} WHERE ${within} GROUP BY ALL) o ON ${same('m', 'o')}
     WHERE ${negate ? 'o.n IS NULL OR m.n > o.n' : 'm.n <= o.n'}`;
  await run(conn, `CREATE OR REPLACE TEMP TABLE _repeats AS ${repeating(later.rows, earlier.rows)}`);
  try {
    const [seen] = (await rows(
      conn,
      `SELECT (SELECT count(*) FROM _repeats) AS repeats, (SELECT count(*) FROM ${later.rows} WHERE ${within}) AS mine, (SELECT count(*) FROM ${earlier.rows} WHERE ${within}) AS theirs`,
    )) as { repeats: bigint; mine: bigint; theirs: bigint }[];
    const repeats = Number(seen.repeats);
    const fewer = Math.min(Number(seen.mine), Number(seen.theirs));
    if (repeats < OVERLAP_SHARE * fewer) {
      // Many alike yet under half: both kept, and said (a corrected re-export?).
      return repeats > 0 && repeats >= ALIKE_SHARE * fewer ? { kind: 'alike', from: lo, to: hi, rows: repeats } : { kind: 'apart' };
    }
    // The earlier export's unrepeated rows, paired by customer and day with the later's (each pair an
    // amended row): as many of them as the later has there, those most alike to one of its rows
    // first (the amended purchase keeps its channel and category; another purchase of that day,
    // which a later export cut at an hour lacks, seldom does), then in file order.
    const alike = key.filter((c) => c !== 'customer_id' && c !== 'day').map((c) => `(e.${ident(c)} IS NOT DISTINCT FROM l.${ident(c)})::INTEGER`);
    await run(
      conn,
      `CREATE OR REPLACE TEMP TABLE _replaced AS
       WITH l AS (SELECT * FROM ${later.rows} WHERE ${within} AND _record NOT IN (SELECT _record FROM _repeats)),
       e AS (
         SELECT e._record, e.customer_id, e.day, max(${alike.length ? alike.join(' + ') : '0'}) AS alike
         FROM ${earlier.rows} e JOIN l ON l.customer_id IS NOT DISTINCT FROM e.customer_id AND l.day = e.day
         WHERE e._record IN (SELECT _record FROM (${repeating(earlier.rows, later.rows, true)}))
         GROUP BY ALL
       )
       SELECT e._record FROM (SELECT *, row_number() OVER (PARTITION BY customer_id, day ORDER BY alike DESC, _record) AS k FROM e) e
       JOIN (SELECT customer_id, day, count(*) AS n FROM l GROUP BY ALL) n ON n.customer_id IS NOT DISTINCT FROM e.customer_id AND n.day = e.day
       WHERE e.k <= n.n`,
    );
    const [replaced] = (await rows(conn, 'SELECT count(*) AS n FROM _replaced')) as { n: bigint }[];
    if (Number(replaced.n)) {
      await run(conn, `UPDATE ${ident(earlier.table)} SET _reason = ${literal(reasons.replaced)}, _action = 'dropped' WHERE _record IN (SELECT _record FROM _replaced)`);
      await listAmended?.();
    }
    await run(conn, `UPDATE ${ident(later.table)} SET _reason = ${literal(reasons.repeated)}, _action = 'dropped' WHERE _record IN (SELECT _record FROM _repeats)`);
    return { kind: 'overlap', from: lo, to: hi, repeated: repeats, replaced: Number(replaced.n) };
  } finally {
    await run(conn, 'DROP TABLE IF EXISTS _repeats');
    await run(conn, 'DROP TABLE IF EXISTS _replaced');
  }
}

/**
 * Adds the earlier file's rows of `_replaced` (the first `room` of them, by line) to its rejects
 * file, in line order with its other rejects. Its text is gone by then (each file's is let go once
 * checked): they are listed as read, their date as its day. Returns the rows listed.
 */
async function listReplaced(conn: Duck, name: 'transactions' | 'interactions', earlier: CheckedSpan, outDir: string, room: number): Promise<number> {
  if (room <= 0 || !earlier.rejects || !earlier.lines) return 0;
  // A whole amount as it is written (35, not DuckDB's 35.0).
  const asRead: Record<string, string> = { ts: `strftime(c.day, '%Y-%m-%d')`, customer_id: 'c.customer_id', amount: `regexp_replace(CAST(c.amount AS VARCHAR), '\\.0$', '')` };
  for (const c of EVENT_COLUMNS[name].split(', ')) if (!(c in asRead) && c !== 'day') asRead[c] = `CAST(c.${ident(c)} AS VARCHAR)`;
  return listAsRead(conn, {
    dest: join(outDir, 'rejects', `${earlier.rejects}.csv`),
    table: earlier.table,
    rows: `SELECT _record, 'replaced_in_later_file' AS reason FROM _replaced`,
    lines: earlier.lines,
    columns: earlier.columns.map((c) => [c, asRead[c]]),
    room,
  });
}

/**
 * Adds rows of checked table `table` (`rows`: a query of their `_record` and `reason`, all
 * dropped; the first `room` by line) to rejects file `dest`, in line order with the rejects it
 * holds. Their file's text is gone by then: they are listed as read (`columns`: each column of the
 * file with its value over the table as `c`, none for a column not kept). Returns the rows listed.
 */
export async function listAsRead(
  conn: Duck,
  opts: { dest: string; table: string; rows: string; lines: (record: number) => number; columns: [string, string | undefined][]; room: number },
): Promise<number> {
  const records = (await rows(conn, `SELECT _record AS r, reason FROM (${opts.rows}) ORDER BY _record LIMIT ${opts.room}`)) as { r: bigint; reason: string }[];
  if (!records.length) return 0;
  await run(conn, 'CREATE OR REPLACE TEMP TABLE _lines (record BIGINT, line BIGINT, reason VARCHAR)');
  const appender = await conn.createAppender('_lines');
  for (const { r, reason } of records) {
    appender.appendBigInt(r);
    appender.appendBigInt(BigInt(opts.lines(Number(r))));
    appender.appendVarchar(reason);
    appender.endRow();
  }
  appender.closeSync();
  const values = opts.columns.map(([c, expr]) => `${expr ?? 'NULL::VARCHAR'} AS ${ident(c)}`).join(', ');
  const added = `SELECT CAST(l.line AS VARCHAR) AS line, CAST(l.record AS VARCHAR) AS record, l.reason AS reason, 'dropped' AS action, ${values}
                 FROM _lines l JOIN ${ident(opts.table)} c ON c._record = l.record`;
  mkdirSync(dirname(opts.dest), { recursive: true });
  // The file as writeRejects wrote it (DuckDB's CSV: commas, double quotes): read in that dialect, not sniffed.
  const kept = existsSync(opts.dest) ? `SELECT * FROM read_csv(${literal(opts.dest)}, header = true, all_varchar = true, delim = ',', quote = '"', escape = '"') UNION ALL BY NAME ` : '';
  // Written aside, then in place: the file read and the file written are not one.
  const next = `${opts.dest}.next`;
  try {
    await run(conn, `COPY (SELECT * FROM (${kept}${added}) ORDER BY TRY_CAST(line AS BIGINT)) TO ${literal(next)} (FORMAT CSV, HEADER)`);
    renameSync(next, opts.dest);
  } finally {
    await run(conn, 'DROP TABLE IF EXISTS _lines');
  }
  return records.length;
}

/** Checks one interactions file into table `<input.table>_checked` (customers_clean must exist), as cleanTransactions. */
export async function cleanInteractions(conn: Duck, input: LoadedInput, outDir: string, latest: string, values: ValueMap = {}, file = SINGLE('interactions')): Promise<RejectCount[]> {
  const parsed: Record<string, string> = {
    customer_id: trimmed('customer_id'),
    day: `${timestampSql('ts', input.format)}::DATE`,
    type: `coalesce(${oneOf('type', INTERACTION_TYPES)}, ${mappedSql('type', values.type)}, 'other')`,
  };
  const checks: Check[] = [
    { reason: 'bad_date', action: 'dropped', when: 'p__day IS NULL' },
    { reason: 'orphan_id', action: 'dropped', when: '_orphan' },
    { reason: 'unknown_type', action: 'kept: type other', when: `p__type = 'other'` },
  ];
  const checked = await applyChecks(conn, input, checks, parsed, true);
  await matchReformattedIds(conn, checked);
  await rejectImplausibleDates(conn, checked, 'day', latest, 'dropped');
  await rejectPartOverlaps(conn, input, checked, Object.keys(parsed));
  const replaced = await rejectOverlaps(conn, 'interactions', input, file, Object.keys(parsed), outDir);
  const counts = [...(await writeRejects(conn, 'interactions', input, checked, outDir, file.rejects)), ...replaced];
  const unknown = counts.find((c) => c.reason === 'unknown_type');
  if (unknown) unknown.values = await unknownValues(conn, input.table, checked, unknown.reason, 'type');
  return counts;
}

/**
 * Stops the run when a reference file has rows but none `usable` (SQL over `checked`): the error
 * names the file, the reasons counted, what a row should hold, and the first row's `shown` fields.
 */
async function requireUsableRows(
  conn: Duck,
  input: LoadedInput,
  checked: string,
  counts: RejectCount[],
  rule: { usable: string; what: string; expected: string; shown: string[] },
): Promise<void> {
  const [found] = (await rows(conn, `SELECT count(*) FILTER (WHERE ${rule.usable}) AS usable, count(*) AS n FROM ${ident(checked)}`)) as { usable: bigint; n: bigint }[];
  if (Number(found.n) === 0 || Number(found.usable) > 0) return;
  const [first] = (await rows(conn, `SELECT ${rule.shown.map(ident).join(', ')} FROM ${ident(input.table)} ORDER BY rowid LIMIT 1`)) as Record<string, string | null>[];
  const reasons = counts.filter((c) => c.reason !== 'empty_line').map((c) => `${c.rows} ${c.reason}`);
  throw new InputError(
    'INPUT_INVALID',
    `${input.path}: no row is ${rule.what} (${reasons.length ? reasons.join(', ') : `${found.n} row(s) the contract ignores`}); expected ${rule.expected}; ` +
      `the first row reads ${rule.shown.map((c) => `${c} ${JSON.stringify(first?.[c] ?? '')}`).join(', ')}`,
    { file: input.path, column: rule.shown[0] },
  );
}

/** The census columns the tile features are computed from (every one required). */
export const TILE_COLUMNS = REQUIRED_COLUMNS.tiles.filter((c) => c !== 'idcar_200m');

/**
 * A 200 m cell of the grid's three CRSs, `CRS3035RES200mN2029800E4252400` (south-west corner,
 * northing then easting, metres): groups 1 to 3 are the CRS, the northing and the easting.
 */
const CELL_ID = `'(?i)^CRS(3035|5490|2975)RES200mN(-?[0-9]{1,9})E(-?[0-9]{1,9})$'`;

/** SQL: true when the number `p` is not a count or amount of the census (from 0 to under 10^15). */
const notCensusFigure = (p: string) => `NOT coalesce(${p} >= 0 AND ${p} < 1e15, false)`;

/**
 * Validates the INSEE grid into the view `tiles_clean(crs, x, y, <TILE_COLUMNS>)`, numbers parsed
 * (a decimal comma in a semicolon-separated file). A cell listed twice keeps its first usable row:
 * a customer in it would otherwise be joined to both and counted twice. An empty value stays missing.
 */
export async function cleanTiles(conn: Duck, input: LoadedInput, outDir: string): Promise<RejectCount[]> {
  const cell = (group: number, type: string) => `try_cast(regexp_extract(${trimmed('idcar_200m')}, ${CELL_ID}, ${group}) AS ${type})`;
  const parsed: Record<string, string> = {
    crs: cell(1, 'INTEGER'),
    y: cell(2, 'BIGINT'),
    x: cell(3, 'BIGINT'),
    ...Object.fromEntries(TILE_COLUMNS.map((c) => [c, numberSql(ident(c), input.format)])),
  };
  const checks: Check[] = [
    { reason: 'bad_cell_id', action: 'dropped', when: 'p__crs IS NULL OR p__y IS NULL OR p__x IS NULL' },
    { reason: 'bad_number', action: 'dropped', when: TILE_COLUMNS.map((c) => `(${present(ident(c))} AND ${notCensusFigure(ident('p__' + c))})`).join(' OR ') },
  ];
  const checked = await applyChecks(conn, input, checks, parsed);
  await rejectRepeats(conn, checked, 'crs, y, x', 'duplicate_cell');
  const counts = await writeRejects(conn, 'tiles', input, checked, outDir);
  // A file of which no row is usable is not the grid (the 1 km grid, another country's): every
  // customer's tile features would be missing.
  await requireUsableRows(conn, input, checked, counts, {
    usable: '_reason IS NULL',
    what: 'a usable 200 m cell',
    expected: 'idcar_200m like CRS3035RES200mN2029800E4252400 (CRS 3035, 5490 or 2975) and counts from 0',
    shown: ['idcar_200m'],
  });
  await run(
    conn,
    `CREATE OR REPLACE VIEW tiles_clean AS SELECT crs, x, y, ${TILE_COLUMNS.map(ident).join(', ')} FROM ${ident(checked)} WHERE _reason IS NULL`,
  );
  return counts;
}

/**
 * Validates INSEE's births by first name into the view `births(sexe, preusuel, annais, nombre)`.
 * The rows the contract says to ignore (year `XXXX`, name `_PRENOMS_RARES`) are not rejects: they
 * are left out of `births` with the years of no count. A (sex, name, year) listed twice keeps its
 * first usable row.
 */
export async function cleanFirstNames(conn: Duck, input: LoadedInput, outDir: string): Promise<RejectCount[]> {
  const parsed: Record<string, string> = {
    sexe: `try_cast(${trimmed('sexe')} AS INTEGER)`,
    preusuel: 'upper(trim(preusuel))',
    annais: `try_cast(${trimmed('annais')} AS INTEGER)`,
    nombre: numberSql('nombre', input.format),
  };
  const checks: Check[] = [
    { reason: 'missing_first_name', action: 'dropped', when: `NOT ${present('preusuel')}` },
    { reason: 'bad_sex_code', action: 'dropped', when: 'p__sexe IS NULL OR p__sexe NOT IN (1, 2)' },
    { reason: 'bad_year', action: 'dropped', when: `p__annais IS NULL AND coalesce(upper(trim(annais)), '') <> 'XXXX'` },
    { reason: 'bad_count', action: 'dropped', when: notCensusFigure('p__nombre') },
  ];
  const checked = await applyChecks(conn, input, checks, parsed);
  await rejectRepeats(conn, checked, 'sexe, preusuel, annais', 'duplicate_name_year');
  const counts = await writeRejects(conn, 'first_names', input, checked, outDir);
  const usable = `_reason IS NULL AND annais IS NOT NULL AND preusuel <> '_PRENOMS_RARES' AND nombre > 0`;
  // Without a usable row, no first name would give an age.
  await requireUsableRows(conn, input, checked, counts, {
    usable,
    what: 'a usable count of births',
    expected: 'sexe 1 or 2, preusuel a first name, annais a year, nombre a count above 0 (INSEE\'s "Fichier des prénoms")',
    shown: ['sexe', 'preusuel', 'annais', 'nombre'],
  });
  await run(conn, `CREATE OR REPLACE VIEW births AS SELECT sexe, preusuel, annais, nombre FROM ${ident(checked)} WHERE ${usable}`);
  return counts;
}
