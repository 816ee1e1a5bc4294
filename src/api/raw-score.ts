// Features of new customers from their raw rows (POST /v1/score with `base`): the customer rows,
// their purchases and contacts are written as a small data directory beside the slices of the
// version's reference files they need (tiles around their point, births of their first name),
// and the batch's own feature pipeline runs on it at the version's as-of date with the version's
// purchase categories. The features are therefore those the batch would have computed for them.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFeatures, categoriesOfFeatures, customerPoint, readPostcode, type FeatureTable } from '../features/index.ts';
import { absentFeatures, describeAbsentFeatures, heldAt } from '../models/personas/design.ts';
import type { SavedProjection } from '../models/personas/index.ts';
import { csvField, type Sql } from '../store/db.ts';
import { versionValueMap } from '../store/registry.ts';
import { postcodeCandidates, postcodeFile, requireReferences, versionInputs, writeReferenceSlices, type GeoPoint } from '../store/references.ts';
import { problem } from './problem.ts';
import type * as S from './schemas.ts';

type RawBase = S.RawBaseInput;
type RawRecord = Record<string, string | number | boolean | null>;

const INPUT_COLUMNS = {
  customers: ['customer_id', 'first_name', 'sex', 'birth_year', 'postcode', 'lat', 'lon', 'signup_date', 'segment'],
  // order_id: the purchases as order lines (a till's ticket lines), one purchase per order.
  transactions: ['customer_id', 'ts', 'amount', 'channel', 'category', 'promo', 'order_id'],
  interactions: ['customer_id', 'ts', 'type'],
} as const;

const cell = (v: RawRecord[string] | undefined) => (v === null || v === undefined ? '' : csvField(String(v)));

/** Writes records as a CSV with the contract's columns first, then any other column they carry. */
function writeCsv(path: string, records: RawRecord[], contract: readonly string[], extra: boolean): void {
  const others = extra ? [...new Set(records.flatMap((r) => Object.keys(r)))].filter((c) => !contract.includes(c)) : [];
  const columns = [...contract, ...others];
  writeFileSync(path, [columns.join(','), ...records.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n');
}

/**
 * Reads the rows of the request's files the pipeline rejected (rejects/<file>.csv) as request
 * errors. The reference slices hold only rows the version's validation kept, so they have none.
 */
function rejectedRows(outDir: string): { file: string; record: number; reason: string; action: string }[] {
  const dir = join(outDir, 'rejects');
  if (!existsSync(dir)) return [];
  const requestFiles = new Set(['customers.csv', 'transactions.csv', 'interactions.csv']);
  return readdirSync(dir).filter((name) => requestFiles.has(name)).flatMap((name) => {
    const [, ...lines] = readFileSync(join(dir, name), 'utf8').trim().split('\n');
    return lines.map((l) => {
      const [, record, reason, action] = l.split(',');
      return { file: name.replace(/\.csv$/, ''), record: Number(record), reason, action };
    });
  });
}

export interface RawFeatures {
  table: FeatureTable;
  /** Rows the pipeline kept with a repaired field (e.g. an unknown channel), per request path. */
  warnings: { path: string; reason: string }[];
}

/** Feature builds running at once: each opens an in-memory DuckDB, so they queue beyond this. */
const MAX_CONCURRENT_BUILDS = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function withBuildSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running < MAX_CONCURRENT_BUILDS) running++;
  else await new Promise<void>((ok) => waiting.push(ok)); // a finishing build hands its slot over
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** The feature table of the customers of `base`, conformed to `model`'s encoding. */
export function rawFeatures(db: Sql, version: string, model: SavedProjection, base: RawBase): Promise<RawFeatures> {
  return withBuildSlot(() => buildRawFeatures(db, version, model, base));
}

async function buildRawFeatures(db: Sql, version: string, model: SavedProjection, base: RawBase): Promise<RawFeatures> {
  const inputs = await versionInputs(db, version);
  const encoding = model.encoding;
  const categories = inputs.categories ?? categoriesOfFeatures(encoding.numeric);

  const dir = mkdtempSync(join(tmpdir(), 'personas-score-'));
  try {
    writeCsv(join(dir, 'customers.csv'), base.customers, INPUT_COLUMNS.customers, true);
    writeCsv(join(dir, 'transactions.csv'), base.transactions, INPUT_COLUMNS.transactions, false);
    writeCsv(join(dir, 'interactions.csv'), base.interactions, INPUT_COLUMNS.interactions, false);

    const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);
    const points: GeoPoint[] = [];
    const postcodes: string[] = [];
    for (const c of base.customers) {
      // The point the pipeline will read (swapped back, or none at 0, 0 or past ±90 / ±180 degrees).
      const point = customerPoint(num(c.lat), num(c.lon));
      if (point) points.push(point);
      else if (c.postcode !== null && c.postcode !== undefined) {
        // As the pipeline reads it (75011.0, 1000 -> 01000).
        const code = readPostcode(String(c.postcode));
        if (code) postcodes.push(code);
      }
    }
    const names = base.customers.map((c) => c.first_name).filter((n): n is string => typeof n === 'string' && n.trim() !== '');
    // Postcode-only customers: the cells around every candidate commune of their postcode.
    const postcodePath = await postcodeFile(db, requireReferences(inputs).postcodes);
    for (const list of (await postcodeCandidates(postcodePath, postcodes)).values()) points.push(...list);
    const slices = await writeReferenceSlices(db, inputs, dir, points, names);

    const out = join(dir, 'out');
    const built = await buildFeatures({
      dataDir: dir, outDir: out, asOf: model.manifest.asOf, categories, columnMap: { values: await versionValueMap(db, version) },
      firstNamesPath: slices.firstNames, postcodesPath: slices.postcodes,
    });
    const rejected = rejectedRows(out);
    const pathOf = (file: string, record: number) => `body.base.${file}.${record - 1}`;
    const dropped = rejected.filter((r) => r.action === 'dropped');
    if (dropped.length) {
      const errors = dropped.map((r) => ({ path: pathOf(r.file, r.record), message: `rejected: ${r.reason}` }));
      throw problem(400, `invalid body: ${errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors: errors.slice(0, 50) });
    }
    // A feature the model reads that the rows do not hold (a client column not sent): read as missing, and said.
    const held = [...built.table.numericNames, ...built.table.categoricalNames];
    const absent = absentFeatures({ ...built.table, numericNames: held, categoricalNames: held }, encoding);
    const table = conform(built.table, encoding);
    return {
      table,
      warnings: [
        ...rejected.map((r) => ({ path: pathOf(r.file, r.record), reason: `${r.reason} (${r.action})` })),
        ...(absent.length ? [{ path: 'body.base.customers', reason: describeAbsentFeatures(absent) }] : []),
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The table with the encoding's columns and kinds: a client column the few rows made look
 * categorical but the model reads as a number is parsed (a value that is not a number is an
 * error), and a numeric-looking one the model reads as text becomes text.
 */
function conform(table: FeatureTable, encoding: SavedProjection['encoding']): FeatureTable {
  const categoricalNames = [...(encoding.sex ? ['sex'] : []), ...(encoding.department ? ['postcode'] : []), ...encoding.levels.map((l) => l.feature)];
  const errors: { path: string; message: string }[] = [];
  const numeric = encoding.numeric.map((name) => {
    const k = heldAt(table.numericNames, name);
    if (k >= 0) return table.numeric[k];
    const j = heldAt(table.categoricalNames, name);
    if (j < 0) return new Float32Array(table.rows).fill(NaN);
    return Float32Array.from(table.categorical[j], (v, i) => {
      if (v === null || v.trim() === '') return NaN;
      const x = Number(v);
      if (!Number.isFinite(x)) errors.push({ path: `body.base.customers.${i}.${name}`, message: `expected a number (the model reads ${name} as a number), got '${v}'` });
      return x;
    });
  });
  if (errors.length) throw problem(400, `invalid body: ${errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors: errors.slice(0, 50) });
  const categorical = categoricalNames.map((name) => {
    const j = heldAt(table.categoricalNames, name);
    if (j >= 0) return table.categorical[j];
    const k = heldAt(table.numericNames, name);
    return k >= 0 ? Array.from(table.numeric[k], (x) => (Number.isNaN(x) ? null : String(x))) : new Array<string | null>(table.rows).fill(null);
  });
  return { rows: table.rows, ids: table.ids, numericNames: encoding.numeric, numeric, categoricalNames, categorical };
}
