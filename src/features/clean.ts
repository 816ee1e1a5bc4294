// Row validation of the three event-level inputs. Each raw row either passes, passes with a
// repaired field (reported, action "kept"), or is rejected (action "dropped") with one reason.
// The rejected and repaired rows are written to `rejects/<file>.csv` with their record and line
// numbers; nothing is dropped silently.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ident, literal, rows, run, type Duck } from './duck.ts';
import { blankLines, lineOfRecord, type LoadedInput } from './sources.ts';

export const CHANNELS = ['store', 'web', 'app', 'phone'] as const;
export const INTERACTION_TYPES = [
  'email_sent',
  'email_open',
  'email_click',
  'web_visit',
  'app_session',
  'call',
  'complaint',
  'review',
] as const;

/** What became of a flagged row: dropped, or kept with the stated repair. */
export type RejectAction = 'dropped' | `kept: ${string}`;

export interface RejectCount {
  file: string;
  reason: string;
  action: RejectAction;
  rows: number;
}

/** SQL text test that is true for a non-empty value. */
const present = (c: string) => `(${c} IS NOT NULL AND trim(${c}) <> '')`;
const quoteIn = (c: string) => `contains(coalesce(${c}, ''), '"')`;
const badDate = (c: string) => `(${present(c)} AND try_cast(trim(${c}) AS TIMESTAMP) IS NULL)`;

interface Check {
  reason: string;
  action: RejectAction;
  when: string;
}

/**
 * Applies `checks` in order (the first that matches gives the row's reason) to `input.table`,
 * creating `<table>_checked` with columns `_record`, `_reason`, `_action`. With `orphans`, a
 * column `_orphan` (the customer id is in no valid customer row) is available to the checks,
 * computed by one hash join rather than a per-row subquery.
 */
async function applyChecks(conn: Duck, input: LoadedInput, checks: Check[], orphans = false): Promise<string> {
  const reason = checks.length ? `CASE ${checks.map((c) => `WHEN ${c.when} THEN ${literal(c.reason)}`).join(' ')} END` : 'NULL';
  const action = checks.length ? `CASE _reason ${checks.map((c) => `WHEN ${literal(c.reason)} THEN ${literal(c.action)}`).join(' ')} END` : 'NULL';
  const checked = `${input.table}_checked`;
  const source = orphans
    ? `SELECT t.rowid + 1 AS _record, t.*, k.customer_id IS NULL AS _orphan
       FROM ${ident(input.table)} t LEFT JOIN (SELECT DISTINCT customer_id FROM customers_clean) k ON k.customer_id = trim(t.customer_id)`
    : `SELECT rowid + 1 AS _record, * FROM ${ident(input.table)}`;
  await run(
    conn,
    `CREATE OR REPLACE TABLE ${ident(checked)} AS
     SELECT _record, _reason, ${action} AS _action, * EXCLUDE (_record, _reason)
     FROM (SELECT ${reason} AS _reason, * FROM (${source}))`,
  );
  return checked;
}

/** Writes rejected/repaired rows of `checked` plus the file's empty lines to rejects/<file>.csv. */
async function writeRejects(
  conn: Duck,
  file: string,
  input: LoadedInput,
  checked: string,
  outDir: string,
): Promise<RejectCount[]> {
  const blanks = blankLines(input.path);
  const counts = (await rows(
    conn,
    `SELECT _reason AS reason, _action AS action, count(*) AS n FROM ${ident(checked)} WHERE _reason IS NOT NULL GROUP BY ALL ORDER BY 1`,
  )) as { reason: string; action: RejectAction; n: bigint }[];
  const result: RejectCount[] = counts.map((c) => ({ file, reason: c.reason, action: c.action, rows: Number(c.n) }));
  if (blanks.length) result.push({ file, reason: 'empty_line', action: 'dropped', rows: blanks.length });
  if (!result.length) return result;

  const dir = join(outDir, 'rejects');
  mkdirSync(dir, { recursive: true });
  const bad = (await rows(
    conn,
    `SELECT _record, _reason, _action, ${input.columns.map(ident).join(', ')} FROM ${ident(checked)} WHERE _reason IS NOT NULL ORDER BY _record`,
  )) as Record<string, unknown>[];
  const esc = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [['line', 'record', 'reason', 'action', ...input.columns].join(',')];
  const entries: { line: number; text: string }[] = [];
  for (const r of bad) {
    const record = Number(r._record);
    const line = lineOfRecord(record, blanks);
    entries.push({
      line,
      text: [line, record, r._reason, r._action, ...input.columns.map((c) => esc(r[c]))].join(','),
    });
  }
  for (const b of blanks) entries.push({ line: b, text: [b, '', 'empty_line', 'dropped', ...input.columns.map(() => '')].join(',') });
  entries.sort((a, b) => a.line - b.line);
  writeFileSync(join(dir, `${file}.csv`), lines.concat(entries.map((e) => e.text)).join('\n') + '\n');
  return result;
}

/** Validates customers into table `customers_clean`; returns the reject counts. */
export async function cleanCustomers(conn: Duck, input: LoadedInput, outDir: string): Promise<RejectCount[]> {
  const has = (c: string) => input.columns.includes(c);
  const textCols = ['first_name', 'segment', 'sex', 'postcode'].filter(has);
  const checks: Check[] = [
    { reason: 'missing_customer_id', action: 'dropped', when: `NOT ${present('customer_id')}` },
    ...(textCols.length ? [{ reason: 'stray_quote', action: 'dropped' as const, when: textCols.map((c) => quoteIn(ident(c))).join(' OR ') }] : []),
    ...(has('signup_date') ? [{ reason: 'bad_date', action: 'dropped' as const, when: badDate('signup_date') }] : []),
    {
      reason: 'duplicate_id',
      action: 'dropped',
      when: `row_number() OVER (PARTITION BY trim(customer_id) ORDER BY rowid) > 1`,
    },
    ...(has('birth_year')
      ? [{ reason: 'bad_birth_year', action: 'kept: set missing' as const, when: `${present('birth_year')} AND try_cast(trim(birth_year) AS INTEGER) IS NULL` }]
      : []),
    ...(has('sex') ? [{ reason: 'bad_sex', action: 'kept: set missing' as const, when: `${present('sex')} AND upper(trim(sex)) NOT IN ('F', 'M')` }] : []),
    ...(has('lat') && has('lon')
      ? [{
          reason: 'bad_coordinates',
          action: 'kept: set missing' as const,
          when: `(${present('lat')} AND try_cast(trim(lat) AS DOUBLE) IS NULL) OR (${present('lon')} AND try_cast(trim(lon) AS DOUBLE) IS NULL)`,
        }]
      : []),
  ];
  // Duplicates are found with a window function, computed once before the CASE of the checks.
  const numbered = `${input.table}_n`;
  await run(
    conn,
    `CREATE OR REPLACE TABLE ${ident(numbered)} AS SELECT *, row_number() OVER (PARTITION BY trim(customer_id) ORDER BY rowid) AS _dup FROM ${ident(input.table)} ORDER BY rowid`,
  );
  const checksN = checks.map((c) => (c.reason === 'duplicate_id' ? { ...c, when: '_dup > 1' } : c));
  const checked = await applyChecks(conn, { ...input, table: numbered }, checksN);
  const counts = await writeRejects(conn, 'customers', input, checked, outDir);

  const col = (c: string, expr: string, fallback = 'NULL') => (has(c) ? expr : `${fallback}`);
  const extra = input.columns.filter(
    (c) => !['customer_id', 'first_name', 'sex', 'birth_year', 'postcode', 'lat', 'lon', 'signup_date', 'segment'].includes(c),
  );
  await run(
    conn,
    `CREATE OR REPLACE TABLE customers_clean AS SELECT
       row_number() OVER (ORDER BY _record) - 1 AS row_ix,
       trim(customer_id) AS customer_id,
       ${col('first_name', `nullif(upper(trim(first_name)), '')`)} AS first_name,
       ${col('sex', `CASE upper(trim(sex)) WHEN 'F' THEN 'F' WHEN 'M' THEN 'M' END`)} AS sex,
       ${col('birth_year', `try_cast(trim(birth_year) AS INTEGER)`)} AS birth_year,
       ${col('postcode', `nullif(trim(postcode), '')`)} AS postcode,
       ${col('lat', `try_cast(trim(lat) AS DOUBLE)`)} AS lat,
       ${col('lon', `try_cast(trim(lon) AS DOUBLE)`)} AS lon,
       ${col('signup_date', `try_cast(trim(signup_date) AS TIMESTAMP)::DATE`)} AS signup_date,
       ${col('segment', `nullif(trim(segment), '')`)} AS segment
       ${extra.map((c) => `, nullif(trim(${ident(c)}), '') AS ${ident('x_' + c)}`).join('')}
     FROM ${ident(checked)} WHERE _reason IS NULL OR _action <> 'dropped' ORDER BY _record`,
  );
  return counts;
}

/** Validates transactions into `transactions_clean` (customers_clean must exist). */
export async function cleanTransactions(conn: Duck, input: LoadedInput, outDir: string): Promise<RejectCount[]> {
  const has = (c: string) => input.columns.includes(c);
  const checks: Check[] = [
    ...(has('category') ? [{ reason: 'stray_quote', action: 'dropped' as const, when: quoteIn('category') }] : []),
    { reason: 'bad_date', action: 'dropped', when: `NOT ${present('ts')} OR try_cast(trim(ts) AS TIMESTAMP) IS NULL` },
    { reason: 'bad_amount', action: 'dropped', when: `NOT ${present('amount')} OR try_cast(trim(amount) AS DOUBLE) IS NULL OR NOT isfinite(try_cast(trim(amount) AS DOUBLE))` },
    { reason: 'orphan_id', action: 'dropped', when: '_orphan' },
    ...(has('channel')
      ? [{
          reason: 'unknown_channel',
          action: 'kept: channel other' as const,
          when: `${present('channel')} AND lower(trim(channel)) NOT IN (${CHANNELS.map(literal).join(', ')})`,
        }]
      : []),
    ...(has('promo') ? [{ reason: 'bad_promo', action: 'kept: promo 0' as const, when: `${present('promo')} AND trim(promo) NOT IN ('0', '1')` }] : []),
  ];
  const checked = await applyChecks(conn, input, checks, true);
  const counts = await writeRejects(conn, 'transactions', input, checked, outDir);
  await run(
    conn,
    `CREATE OR REPLACE TABLE transactions_clean AS SELECT
       trim(customer_id) AS customer_id,
       try_cast(trim(ts) AS TIMESTAMP)::DATE AS day,
       try_cast(trim(amount) AS DOUBLE) AS amount,
       ${has('channel') ? `CASE WHEN lower(trim(channel)) IN (${CHANNELS.map(literal).join(', ')}) THEN lower(trim(channel)) WHEN ${present('channel')} THEN 'other' END` : 'NULL'} AS channel,
       ${has('category') ? `nullif(trim(category), '')` : 'NULL'} AS category,
       ${has('promo') ? `CASE WHEN trim(promo) = '1' THEN 1 ELSE 0 END` : '0'} AS promo
     FROM ${ident(checked)} WHERE _reason IS NULL OR _action <> 'dropped'`,
  );
  return counts;
}

/** Validates interactions into `interactions_clean` (customers_clean must exist). */
export async function cleanInteractions(conn: Duck, input: LoadedInput, outDir: string): Promise<RejectCount[]> {
  const checks: Check[] = [
    { reason: 'bad_date', action: 'dropped', when: `NOT ${present('ts')} OR try_cast(trim(ts) AS TIMESTAMP) IS NULL` },
    { reason: 'orphan_id', action: 'dropped', when: '_orphan' },
    {
      reason: 'unknown_type',
      action: 'kept: type other',
      when: `lower(trim(coalesce(type, ''))) NOT IN (${INTERACTION_TYPES.map(literal).join(', ')})`,
    },
  ];
  const checked = await applyChecks(conn, input, checks, true);
  const counts = await writeRejects(conn, 'interactions', input, checked, outDir);
  await run(
    conn,
    `CREATE OR REPLACE TABLE interactions_clean AS SELECT
       trim(customer_id) AS customer_id,
       try_cast(trim(ts) AS TIMESTAMP)::DATE AS day,
       CASE WHEN lower(trim(type)) IN (${INTERACTION_TYPES.map(literal).join(', ')}) THEN lower(trim(type)) ELSE 'other' END AS type
     FROM ${ident(checked)} WHERE _reason IS NULL OR _action <> 'dropped'`,
  );
  return counts;
}
