// The feature pipeline: a data directory of contract inputs -> one row per customer with the
// feature catalogue of CONTRACT.md section 2, written as features.parquet + features.json and
// returned as an in-memory FeatureTable.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { asOfCheck, buildBehaviour, countOrders, topCategories } from './behaviour.ts';
import { describeUnknownFlags, describeUnknownValues, type ValueMap } from './values.ts';
import { amountOutliers, CUSTOMER_BASE_COLUMNS, segmentSpellings, type AmountOutliers, type Spellings, cleanFirstNames, cleanInteractions, cleanTiles, cleanTransactions, CHANNELS, TWO_DIGIT_BIRTH_YEARS, type RejectCount } from './clean.ts';
import { ident, literal, openDuck, rows, run, toNumber, type Duck } from './duck.ts';
import { buildCustomerNameAges, buildNameAges, describeTwoDigitBirthYears, describeUnmatchedNames, JOIN_NAME_AGES, twoDigitBirthYearCheck, unmatchedNames, type TwoDigitBirthYears, type UnmatchedNames } from './names.ts';
import { DEFAULT_FIRST_NAMES_ZIP, DEFAULT_POSTCODES, extractZippedCsv } from './reference.ts';
import { describeRenamed, describeSuggestion, type ColumnSuggestion, type RenamedColumn } from './columns.ts';
import { describeAsOfCheck, describeFormat, describeOrderLines, describeOutliers, describeSpellings, type AsOfCheck, type InputFormat } from './formats.ts';
import { readCustomers } from './customers.ts';
import { readEventInput } from './events.ts';
import { checkHeader, findInput, inputFiles, loadInput, requireInput, type ColumnMap, type InputName, type LoadedInput } from './sources.ts';
import type { FeatureTable } from './table.ts';
import { buildTileFeatures, joinTiles, readPostcodePoints, TILE_FEATURES, writePostcodeRejects } from './tiles.ts';

/** The inputs a feature build reads, in the order read. */
const INPUTS = ['customers', 'transactions', 'interactions', 'tiles', 'first_names'] as const;

export interface BuildFeaturesOptions {
  dataDir: string;
  /** Where features.parquet, features.json and rejects/ are written; none when omitted. */
  outDir?: string;
  /** Date the features are computed at (YYYY-MM-DD); default: the last transaction date. */
  asOf?: string;
  columnMap?: ColumnMap;
  /** Override of the births file (INSEE format); default data/reference. */
  firstNamesPath?: string;
  /** Override of La Poste's postcode file; default data/reference. */
  postcodesPath?: string;
  /**
   * The purchase categories that become `share_cat_*` features; default: the base's most frequent
   * ones. Scoring new customers with a saved model passes the model's, so the columns match.
   */
  categories?: string[];
  progress?: Progress;
}

export interface FeatureStats {
  name: string;
  kind: 'numeric' | 'categorical';
  missingShare: number;
  min?: number;
  median?: number;
  max?: number;
  levels?: number;
}

export interface FeatureSummary {
  rows: number;
  asOf: string;
  features: FeatureStats[];
  rejects: RejectCount[];
  inputs: Record<string, string>;
  /**
   * How each CSV input was read, when it departs from the contract's UTF-8, comma-separated, ISO
   * dates (another encoding, delimiter, decimal comma, slashed dates); absent for files that do not.
   */
  formats?: Record<string, InputFormat>;
  /** Optional contract columns the files seem to hold under another name (see `--columns`). */
  suggestions?: ColumnSuggestion[];
  /** The purchase categories behind the `share_cat_*` features, as the transactions spell them. */
  categories: string[];
  /** The client's values of the coded columns read as the contract's (the column file's `values`). */
  values?: ValueMap;
  /** Amounts far above the median purchase, kept and named to be checked. */
  outliers?: AmountOutliers[];
  /** Segments written several ways but for case, accents or spaces, kept and named to be checked. */
  spellings?: Spellings[];
  /** Customers whose first name the births file does not hold (names.ts unmatchedNames). */
  names?: UnmatchedNames[];
  /** Birth years written with two digits, read as years, that look like ages (names.ts twoDigitBirthYearCheck). */
  birthYears?: TwoDigitBirthYears[];
  /** Client columns carried under another name, theirs being a catalogue feature's. */
  renamed?: RenamedColumn[];
  /** A given as_of long after the last purchase, or before many purchases (behaviour.ts asOfCheck). */
  asOfCheck?: AsOfCheck;
}

export interface FeatureBuild {
  table: FeatureTable;
  asOf: string;
  summary: FeatureSummary;
  rejects: RejectCount[];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The reference files a data directory's features use: its tiles, births file and postcode file (the shipped ones by default). */
export function referenceInputs(dataDir: string, opts: { firstNamesPath?: string; postcodesPath?: string } = {}): { tiles: string; first_names: string; postcodes: string } {
  return {
    tiles: requireInput(dataDir, 'tiles'),
    first_names: opts.firstNamesPath ?? findInput(dataDir, 'first_names') ?? extractZippedCsv(DEFAULT_FIRST_NAMES_ZIP),
    postcodes: opts.postcodesPath ?? findInput(dataDir, 'laposte_hexasmal') ?? DEFAULT_POSTCODES,
  };
}

/** Inputs (every file, the reference files too) under this many bytes in all are read by one DuckDB thread. */
const SMALL_BUILD_BYTES = 4 * 1024 * 1024;

export async function buildFeatures(opts: BuildFeaturesOptions): Promise<FeatureBuild> {
  const progress = opts.progress ?? silentProgress;
  const { db, conn } = await openDuck();
  const scratch = opts.outDir ? join(opts.outDir, `.features-${process.pid}-${Date.now()}`) : undefined;
  let tempRejects: string | undefined;
  try {
    if (opts.asOf !== undefined && (!ISO_DATE.test(opts.asOf) || Number.isNaN(Date.parse(opts.asOf)))) {
      throw new InputError('INPUT_INVALID', `as_of "${opts.asOf}" is not a date of the form YYYY-MM-DD`, { field: 'as_of' });
    }
    // Without an output directory the rejects are counted and returned; their file goes to a
    // temporary folder removed at the end.
    const rejectDir = scratch ?? (tempRejects = mkdtempSync(join(tmpdir(), 'personas-rejects-')));
    if (scratch) mkdirSync(scratch, { recursive: true });
    const inputs: Record<string, string> = {
      customers: requireInput(opts.dataDir, 'customers'),
      transactions: requireInput(opts.dataDir, 'transactions'),
      interactions: requireInput(opts.dataDir, 'interactions'),
      ...referenceInputs(opts.dataDir, opts),
    };

    // Every file's header first: a missing column is told before minutes of reading the others.
    const files = Object.fromEntries(INPUTS.map((name) => [name, inputFiles(inputs[name], { name, columnMap: opts.columnMap }).files])) as Record<InputName, string[]>;
    for (const name of INPUTS) for (const file of files[name]) await checkHeader(name, file, opts.columnMap);
    // A small base (a request's rows, a few customers) is read by one thread: a second costs more
    // to hand work to than it saves (BENCHMARKS.md, session 36). The user's thread count stands.
    const bytes = INPUTS.reduce((n, name) => files[name].reduce((m, f) => m + statSync(f).size, n), 0);
    if (bytes < SMALL_BUILD_BYTES && !process.env.PERSONAS_DUCKDB_THREADS) await run(conn, 'SET threads = 1');
    // Each event file is loaded, checked, and its raw text table freed before the next is loaded
    // (the clean views read the checked tables): DuckDB then never holds the purchases' text and
    // the contacts' at once, which on a million customers it had to spill (BENCHMARKS.md, session 29).
    progress.stage('load and validate inputs', 2 * INPUTS.reduce((n, name) => n + files[name].length, 0));
    const free = async (...tables: string[]) => {
      for (const t of tables) await run(conn, `DROP TABLE IF EXISTS ${t}`);
    };
    const rejects: RejectCount[] = [];
    let ticks = 0;
    /** Loads one file, checks it (its rejects kept), and frees its raw text; the checked table stays for the clean views that read it. */
    const loadChecked = async (name: InputName, check: (input: LoadedInput) => Promise<RejectCount[]>): Promise<LoadedInput> => {
      const input = await loadInput(conn, name, inputs[name], `raw_${name}`, opts.columnMap);
      progress.tick(++ticks);
      rejects.push(...(await check(input)));
      // A numbered copy and its checked table too, where the checks made them.
      await free(`raw_${name}`, `raw_${name}_n`, `raw_${name}_n_checked`);
      progress.tick(++ticks);
      return input;
    };
    // Birth years are checked against the year of the base: as_of's when given, else this year's.
    const year = Number((opts.asOf ?? new Date().toISOString()).slice(0, 4));
    // The latest date a record may hold: the day after this one (a clock a few hours apart), or as_of when later.
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const latest = opts.asOf && opts.asOf > tomorrow ? opts.asOf : tomorrow;
    // An input's steps counted from where the stage stands (an event folder read again goes back).
    const from = (base: number) => (done: number) => progress.tick((ticks = base + done));
    const customers = await readCustomers(conn, inputs.customers, opts.columnMap, rejectDir, { year, latest }, from(ticks));
    rejects.push(...customers.rejects);
    const spellings = await segmentSpellings(conn);
    if (spellings) progress.log(`${inputs.customers}: ${describeSpellings(spellings)}`);
    const values = opts.columnMap?.values ?? {};
    const transactions = await readEventInput(conn, 'transactions', inputs.transactions, opts.columnMap, (input, file) => cleanTransactions(conn, input, rejectDir, latest, values, file), from(ticks));
    rejects.push(...transactions.rejects);
    const outliers = await amountOutliers(conn, transactions.files);
    if (outliers) progress.log(`${inputs.transactions}: ${describeOutliers(outliers)}`);
    await transactions.settle();
    const interactions = await readEventInput(conn, 'interactions', inputs.interactions, opts.columnMap, (input, file) => cleanInteractions(conn, input, rejectDir, latest, values, file), from(ticks));
    rejects.push(...interactions.rejects);
    await interactions.settle();
    await loadChecked('tiles', (input) => cleanTiles(conn, input, rejectDir));
    await loadChecked('first_names', (input) => cleanFirstNames(conn, input, rejectDir));
    const postcodes = readPostcodePoints(inputs.postcodes);
    rejects.push(...writePostcodeRejects(postcodes, rejectDir));
    const formats: Record<string, InputFormat> = {};
    const suggestions = [customers, transactions, interactions].flatMap((i) => i.suggestions);
    const read = { customers: { ...customers, path: inputs.customers }, transactions: { ...transactions, path: inputs.transactions }, interactions: { ...interactions, path: inputs.interactions } };
    for (const [name, input] of Object.entries(read)) {
      for (const s of input.suggestions) progress.log(describeSuggestion(s, 'en', input.path));
      const words = input.format ? describeFormat(input.format) : [];
      if (!words.length || !input.format) continue;
      formats[name] = input.format;
      progress.log(`${input.path}: ${words.join(', ')}`);
    }

    const last = await lastTransactionDate(conn, inputs.transactions, rejects, !!opts.asOf);
    const asOf = opts.asOf ?? (last as string);
    const asOfYear = Number(asOf.slice(0, 4));
    // A given as_of far after the last purchase, or before many: said (the features would count few or none).
    const asOfNote = opts.asOf ? await asOfCheck(conn, asOf) : undefined;
    if (asOfNote) progress.log(`${inputs.transactions}: ${describeAsOfCheck(asOfNote)}`);

    progress.stage('features', 4);
    await buildNameAges(conn, asOfYear);
    await buildCustomerNameAges(conn);
    progress.tick(1);
    await buildTileFeatures(conn);
    await joinTiles(conn, postcodes.points);
    progress.tick(2);
    // Order lines (an order_id column holding values): one purchase per order.
    // A column any of the input's files holds (a file without it reads it missing).
    const purchaseColumns = new Set(transactions.files.flatMap((f) => f.input.columns));
    const orders = await countOrders(conn, purchaseColumns.has('order_id'));
    if (orders) {
      progress.log(`${inputs.transactions}: ${describeOrderLines(orders)}`);
      if (transactions.format) formats.transactions = Object.assign(transactions.format, { orderLines: orders });
    }
    const categories = opts.categories ?? (await topCategories(conn, asOf));
    const categoryFeatures = await buildBehaviour(conn, asOf, categories, {
      channel: purchaseColumns.has('channel'),
      promo: purchaseColumns.has('promo'),
      orders: !!orders,
    });
    progress.tick(3);
    const extras = await extraColumnKinds(conn, customers.columns.filter((c) => !CUSTOMER_BASE_COLUMNS.includes(c)));
    const renamed = await assembleFeatures(conn, asOf, categoryFeatures, extras);
    for (const r of renamed) progress.log(`${inputs.customers}: ${describeRenamed(r)}`);
    const names = await unmatchedNames(conn, asOfYear);
    if (names) progress.log(`${inputs.customers}: ${describeUnmatchedNames(names)}`);
    const twoDigit = await twoDigitBirthYearCheck(conn, TWO_DIGIT_BIRTH_YEARS, asOfYear);
    if (twoDigit) progress.log(`${inputs.customers}: ${describeTwoDigitBirthYears(twoDigit)}`);
    progress.tick(4);

    progress.stage('read feature table');
    const table = await readTable(conn, 'SELECT * FROM features ORDER BY row_ix');
    const summary: FeatureSummary = { rows: table.rows, asOf, features: await summarise(conn, table), rejects, inputs, ...(Object.keys(formats).length ? { formats } : {}), ...(suggestions.length ? { suggestions } : {}), categories, ...(outliers ? { outliers: [outliers] } : {}), ...(spellings ? { spellings: [spellings] } : {}), ...(names ? { names: [names] } : {}), ...(twoDigit ? { birthYears: [twoDigit] } : {}), ...(renamed.length ? { renamed } : {}), ...(asOfNote ? { asOfCheck: asOfNote } : {}), ...(Object.keys(values).length ? { values } : {}) };

    if (opts.outDir && scratch) {
      progress.stage('write outputs');
      await run(conn, `COPY (SELECT * EXCLUDE (row_ix) FROM features ORDER BY row_ix) TO ${literal(join(scratch, 'features.parquet'))} (FORMAT PARQUET)`);
      writeFileSync(join(scratch, 'features.json'), JSON.stringify(summary, null, 2) + '\n');
      publishOutputs(scratch, opts.outDir, ['features.parquet', 'features.json', 'rejects']);
    }
    for (const r of rejects) {
      const listed = r.listed === undefined ? '' : `; the first ${r.listed} listed`;
      progress.log(`${r.file}: ${r.rows} row(s) ${r.action === 'dropped' ? 'rejected' : 'flagged'} (${r.reason}; ${r.action}${listed})`);
      if (r.values?.length) progress.log(r.reason === 'bad_promo' ? describeUnknownFlags(r.values) : describeUnknownValues(r.reason === 'unknown_type' ? 'type' : 'channel', r.values));
    }
    return { table, asOf, summary, rejects };
  } finally {
    conn.closeSync();
    db.closeSync();
    if (scratch && existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
    if (tempRejects) rmSync(tempRejects, { recursive: true, force: true });
  }
}

/** Moves freshly written outputs into place, replacing the previous ones only at the end. */
function publishOutputs(scratch: string, outDir: string, names: string[]): void {
  for (const name of names) {
    const from = join(scratch, name);
    const to = join(outDir, name);
    if (!existsSync(from)) {
      if (name === 'rejects' && existsSync(to)) rmSync(to, { recursive: true, force: true });
      continue;
    }
    if (existsSync(to) && name === 'rejects') {
      const old = `${to}.old-${process.pid}`;
      renameSync(to, old);
      renameSync(from, to);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(from, to);
    }
  }
}

/**
 * The last purchase's day. A purchases file whose every row was rejected stops the build, as_of
 * given or not (its features would be empty and every rule on them fail far from the cause); one
 * holding no rows does only when as_of must be read from it.
 */
async function lastTransactionDate(conn: Duck, path: string, rejects: RejectCount[], asOfGiven: boolean): Promise<string | undefined> {
  const r = await rows(conn, `SELECT strftime(max(day), '%Y-%m-%d') AS d FROM transactions_clean`);
  const d = r[0]?.d;
  if (typeof d === 'string') return d;
  const dropped = rejects.filter((x) => x.file === 'transactions' && x.action === 'dropped');
  if (dropped.length) {
    const reasons = new Set(dropped.map((x) => x.reason));
    const hints = [
      ...(reasons.has('bad_date') || reasons.has('bad_amount')
        ? ["dates are read as ISO (2026-04-25), day or month first with slashes, dashes or dots (25/04/2026, 25/04/26), compact (20260425), as a spreadsheet's day numbers (46137), with the month in words (25-APR-26) or as Unix times (1777075200), amounts as numbers (12.50, 1,234.50, a refund -12.50, 12.50- or (12.50); 12,50 and 1.234,50 in a semicolon-separated file, or where most amounts are written so)"]
        : []),
      ...(reasons.has('orphan_id') ? ['orphan_id: the purchases name customers the customers file does not hold (ids written otherwise in the two files, or files of two bases?)'] : []),
      'a column file maps columns named otherwise',
    ];
    throw new InputError('INPUT_INVALID', `${path}: no transaction could be read (every row was rejected: ${dropped.map((x) => `${x.reason} ${x.rows}`).join(', ')}; ${hints.join('; ')})`, { file: path });
  }
  if (asOfGiven) return undefined;
  throw new InputError('INPUT_INVALID', `${path}: no valid transaction to take as_of from (the file holds no rows); give --as-of YYYY-MM-DD`, { file: path });
}

/** Client columns: numeric when every non-empty value parses as a number, else categorical. */
async function extraColumnKinds(conn: Duck, extra: string[]): Promise<{ name: string; numeric: boolean }[]> {
  const out: { name: string; numeric: boolean }[] = [];
  for (const name of extra) {
    const col = ident('x_' + name);
    const r = await rows(conn, `SELECT count(*) FILTER (WHERE ${col} IS NOT NULL AND try_cast(${col} AS DOUBLE) IS NULL) AS bad FROM customers_clean`);
    out.push({ name, numeric: Number(r[0].bad) === 0 });
  }
  return out;
}

/**
 * Builds table `features`: the catalogue's features, then the client's own columns (`extras`)
 * under their names, or, where a name is a catalogue feature's (a CRM's `age`), as `client_<name>`;
 * returns those renamed.
 */
async function assembleFeatures(
  conn: Duck,
  asOf: string,
  categoryFeatures: string[],
  extras: { name: string; numeric: boolean }[],
): Promise<RenamedColumn[]> {
  const d = `DATE ${literal(asOf)}`;
  const year = Number(asOf.slice(0, 4));
  // [SQL, name] of every catalogue feature, in the table's order.
  const catalogue: [string, string][] = [
    ['c.row_ix', 'row_ix'],
    ['c.customer_id', 'customer_id'],
    // A birth year after as_of's (kept by validation against this year's) is no age: the name's is taken.
    [`CAST(CASE WHEN c.birth_year <= ${year} THEN ${year} - c.birth_year ELSE na.age END AS DOUBLE)`, 'age'],
    [`CAST(CASE WHEN (c.birth_year IS NULL OR c.birth_year > ${year}) AND na.age IS NOT NULL THEN 1 ELSE 0 END AS DOUBLE)`, 'age_from_name'],
    ['c.sex', 'sex'],
    [`CAST(date_diff('day', c.signup_date, ${d}) AS DOUBLE)`, 'tenure_days'],
    ['c.segment', 'segment'],
    ['c.postcode', 'postcode'],
    ['CAST(b.frequency_12m AS DOUBLE)', 'frequency_12m'],
    ['b.monetary_12m', 'monetary_12m'],
    ['b.avg_basket_12m', 'avg_basket_12m'],
    ['CAST(b.recency_days AS DOUBLE)', 'recency_days'],
    ...CHANNELS.map((ch): [string, string] => [`b.share_${ch}`, `share_${ch}`]),
    ...['promo_share', 'weekend_share', 'december_share', ...categoryFeatures].map((f): [string, string] => [`b.${ident(f)}`, f]),
    ['k.email_open_rate', 'email_open_rate'],
    ['k.email_click_rate', 'email_click_rate'],
    ...['web_visits_12m', 'app_sessions_12m', 'calls_12m', 'complaints_12m'].map((f): [string, string] => [`CAST(k.${f} AS DOUBLE)`, f]),
    ...TILE_FEATURES.map((f): [string, string] => [`t.${f}`, f]),
    ['CAST(coalesce(t.tile_found, 0) AS DOUBLE)', 'tile_found'],
  ];
  // Names compare as DuckDB's do, whatever their case.
  const taken = new Set(catalogue.map(([, name]) => name.toLowerCase()));
  for (const x of extras) taken.add(x.name.toLowerCase());
  const renamed: RenamedColumn[] = [];
  const columns = extras.map((x): [string, string] => {
    const sql = x.numeric ? `try_cast(c.${ident('x_' + x.name)} AS DOUBLE)` : `c.${ident('x_' + x.name)}`;
    if (!catalogue.some(([, name]) => name.toLowerCase() === x.name.toLowerCase())) return [sql, x.name];
    let as = `client_${x.name}`;
    for (let k = 2; taken.has(as.toLowerCase()); k++) as = `client_${x.name}_${k}`;
    taken.add(as.toLowerCase());
    renamed.push({ file: 'customers', column: x.name, as });
    return [sql, as];
  });
  await run(
    conn,
    `CREATE OR REPLACE TABLE features AS
     SELECT ${[...catalogue, ...columns].map(([sql, name]) => `${sql} AS ${ident(name)}`).join(', ')}
     FROM customers_clean c
     ${JOIN_NAME_AGES}
     LEFT JOIN behaviour b ON b.customer_id = c.customer_id
     LEFT JOIN contacts k ON k.customer_id = c.customer_id
     LEFT JOIN customer_tiles t ON t.row_ix = c.row_ix`,
  );
  return renamed;
}

/**
 * Reads a query's result into a FeatureTable, chunk by chunk: VARCHAR columns become categorical,
 * every other column a Float32Array (NULL -> NaN), without materialising the result as JS values.
 */
export async function readTable(conn: Duck, sql: string): Promise<FeatureTable> {
  const desc = await rows(conn, `DESCRIBE ${sql}`);
  const count = Number((await rows(conn, `SELECT count(*) AS n FROM (${sql})`))[0].n);
  const names = desc.map((d) => String(d.column_name));
  const isText = desc.map((d) => String(d.column_type) === 'VARCHAR');
  const idIndex = names.indexOf('customer_id');
  const ids: string[] = new Array(count);
  const numericNames: string[] = [];
  const numeric: Float32Array[] = [];
  const categoricalNames: string[] = [];
  const categorical: (string | null)[][] = [];
  const slot: { kind: 'id' | 'skip' | 'num' | 'cat'; index: number }[] = names.map((name, j) => {
    if (j === idIndex) return { kind: 'id', index: 0 };
    if (name === 'row_ix') return { kind: 'skip', index: 0 };
    if (isText[j]) {
      categoricalNames.push(name);
      categorical.push(new Array(count).fill(null));
      return { kind: 'cat', index: categorical.length - 1 };
    }
    numericNames.push(name);
    numeric.push(new Float32Array(count).fill(NaN));
    return { kind: 'num', index: numeric.length - 1 };
  });
  const result = await conn.stream(sql);
  let offset = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    slot.forEach((s, j) => {
      if (s.kind === 'skip') return;
      const values = chunk.getColumnValues(j);
      if (s.kind === 'num') {
        const out = numeric[s.index];
        for (let r = 0; r < n; r++) out[offset + r] = toNumber(values[r]);
      } else if (s.kind === 'cat') {
        const out = categorical[s.index];
        for (let r = 0; r < n; r++) out[offset + r] = values[r] === null ? null : String(values[r]);
      } else {
        for (let r = 0; r < n; r++) ids[offset + r] = String(values[r]);
      }
    });
    offset += n;
  }
  return { rows: offset, ids: ids.slice(0, offset), numericNames, numeric, categoricalNames, categorical };
}

/** Reads a features.parquet written by buildFeatures back into a FeatureTable. */
export async function readFeatureTable(parquetPath: string): Promise<FeatureTable> {
  if (!existsSync(parquetPath)) {
    throw new InputError('INPUT_MISSING_FILE', `${parquetPath}: feature table not found (run \`personas features\` first)`, { file: parquetPath });
  }
  const { db, conn } = await openDuck();
  try {
    return await readTable(conn, `SELECT * FROM read_parquet(${literal(parquetPath)})`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/**
 * Values the medians of one summary query hold at once (all of their columns' values): a million
 * customers' columns are read one a query, as before, where eight a query cost 0.15 GB more peak
 * memory; a small base's all in one. Each query has a fixed cost (about 0.7 ms here), which a small
 * build (a request's rows) paid 90 times when each column took two (BENCHMARKS.md, session 36).
 */
const SUMMARY_VALUES = 1_000_000;

/** Each feature's missing share, and the range and median of a numeric one or the levels of a categorical one. */
async function summarise(conn: Duck, table: FeatureTable): Promise<FeatureStats[]> {
  const stats: FeatureStats[] = [];
  const perQuery = Math.max(1, Math.floor(SUMMARY_VALUES / Math.max(1, table.rows)));
  for (let k = 0; k < table.numericNames.length; k += perQuery) {
    const names = table.numericNames.slice(k, k + perQuery);
    const [r] = await rows(
      conn,
      `SELECT ${names
        .map((name, j) => {
          const c = ident(name);
          const present = `NOT isnan(coalesce(${c}, 0))`;
          return `count(*) FILTER (WHERE ${c} IS NULL OR isnan(${c})) / count(*) AS missing${j}, min(${c}) FILTER (WHERE ${present}) AS mn${j}, median(${c}) FILTER (WHERE ${present}) AS med${j}, max(${c}) FILTER (WHERE ${present}) AS mx${j}`;
        })
        .join(', ')} FROM features`,
    );
    names.forEach((name, j) =>
      stats.push({ name, kind: 'numeric', missingShare: toNumber(r[`missing${j}`]), min: toNumber(r[`mn${j}`]), median: toNumber(r[`med${j}`]), max: toNumber(r[`mx${j}`]) }),
    );
  }
  const categorical = table.categoricalNames;
  if (categorical.length) {
    const [r] = await rows(conn, `SELECT ${categorical.map((name, j) => `count(*) FILTER (WHERE ${ident(name)} IS NULL) / count(*) AS missing${j}, count(DISTINCT ${ident(name)}) AS levels${j}`).join(', ')} FROM features`);
    categorical.forEach((name, j) => stats.push({ name, kind: 'categorical', missingShare: toNumber(r[`missing${j}`]), levels: toNumber(r[`levels${j}`]) }));
  }
  return stats;
}
