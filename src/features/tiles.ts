// The geo-demographic join: each customer's 200 m INSEE cell (from lat/lon, else from the
// postcode's commune point in La Poste's file), the cell's tile features, and for customers whose
// cell is not in the tiles file the `ind`-weighted mean over the cells whose south-west corners
// lie within 1 km, else missing. `tile_found` is 1 only for the customer's own cell.
import { cellOf } from './geo.ts';
import { columns, run, toNumber, type Duck } from './duck.ts';
import { sniffDelimiter } from './sources.ts';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import type { RejectCount } from './clean.ts';
import { csvField } from './formats.ts';

export { TILE_COLUMNS } from './clean.ts';

export const TILE_FEATURES = [
  'tile_ind',
  'tile_income',
  'tile_share_poor',
  'tile_share_single',
  'tile_share_large',
  'tile_share_owner',
  'tile_share_single_parent',
  'tile_share_flat',
  'tile_share_social',
  'tile_share_age_0_17',
  'tile_share_age_18_39',
  'tile_share_age_40_64',
  'tile_share_age_65p',
] as const;

/** Builds `tile_features(crs, x, y, tile_*)` from the validated tiles (`tiles_clean`, see cleanTiles). */
export async function buildTileFeatures(conn: Duck): Promise<void> {
  const div = (a: string, b: string) => `CASE WHEN ${b} > 0 THEN (${a}) / ${b} END`;
  await run(
    conn,
    `CREATE OR REPLACE TABLE tile_features AS
     SELECT crs, x, y,
       ind AS tile_ind,
       ${div('ind_snv', 'ind')} AS tile_income,
       ${div('men_pauv', 'men')} AS tile_share_poor,
       ${div('men_1ind', 'men')} AS tile_share_single,
       ${div('men_5ind', 'men')} AS tile_share_large,
       ${div('men_prop', 'men')} AS tile_share_owner,
       ${div('men_fmp', 'men')} AS tile_share_single_parent,
       ${div('men_coll', 'men')} AS tile_share_flat,
       ${div('log_soc', 'men')} AS tile_share_social,
       ${div('ind_0_3 + ind_4_5 + ind_6_10 + ind_11_17', 'ind')} AS tile_share_age_0_17,
       ${div('ind_18_24 + ind_25_39', 'ind')} AS tile_share_age_18_39,
       ${div('ind_40_54 + ind_55_64', 'ind')} AS tile_share_age_40_64,
       ${div('ind_65_79 + ind_80p', 'ind')} AS tile_share_age_65p
     FROM tiles_clean`,
  );
}

export interface CommunePoint {
  lat: number;
  lon: number;
}

/** La Poste's postcode file as read: the points, and the lines that could not be used. */
export interface PostcodePoints {
  /** Postcode -> the commune points listed for it. */
  points: Map<string, CommunePoint[]>;
  /** The file's header, as written. */
  header: string[];
  /** Lines that could not be used (1-based `line`; `record`: rank among the file's rows), with their fields. */
  rejected: { line: number; record: number; reason: 'empty_line' | 'missing_fields' | 'missing_postcode' | 'bad_gps'; fields: string[] }[];
}

/**
 * Postcode -> commune points listed for it in La Poste's `laposte_hexasmal.csv` (semicolon
 * separated). A commune without coordinates (an empty `coordonnees_gps`: 270 in the copy the project ships)
 * has no point to give and is not a reject; a line too short to hold both columns, one without a
 * postcode, or coordinates that are not "lat,lon" in degrees, are. The files read last are kept,
 * by path, size and time of change: the API builds a new customer's features with the same file at
 * every request, and parsing it took 90 ms of each.
 */
export function readPostcodePoints(path: string): PostcodePoints {
  const { size, mtimeMs } = statSync(path);
  const stamp = `${size}:${mtimeMs}`;
  const kept = postcodeFiles.get(path);
  if (kept?.stamp === stamp) return kept.file;
  const file = parsePostcodePoints(path);
  postcodeFiles.delete(path);
  postcodeFiles.set(path, { stamp, file });
  for (const old of postcodeFiles.keys()) if (postcodeFiles.size > 4) postcodeFiles.delete(old);
  return file;
}

/** The postcode files parsed last (insertion order: the oldest first). */
const postcodeFiles = new Map<string, { stamp: string; file: PostcodePoints }>();

function parsePostcodePoints(path: string): PostcodePoints {
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const delim = sniffDelimiter(lines[0]);
  const written = lines[0].split(delim);
  const header = written.map((h) => h.trim().toLowerCase());
  const iCode = header.indexOf('code_postal');
  const iGps = header.indexOf('coordonnees_gps');
  if (iCode < 0 || iGps < 0) {
    throw new InputError('INPUT_MISSING_COLUMN', `${path}: columns Code_postal and coordonnees_gps are required`, { file: path, column: iCode < 0 ? 'Code_postal' : 'coordonnees_gps' });
  }
  const out = new Map<string, CommunePoint[]>();
  const rejected: PostcodePoints['rejected'] = [];
  let record = 0;
  let i = 1;
  const reject = (reason: PostcodePoints['rejected'][number]['reason'], fields: string[]) => rejected.push({ line: i + 1, record, reason, fields });
  for (; i < lines.length; i++) {
    if (!lines[i].trim()) {
      reject('empty_line', []);
      continue;
    }
    record++;
    const f = lines[i].split(delim);
    if (f.length <= Math.max(iCode, iGps)) {
      reject('missing_fields', f);
      continue;
    }
    const gps = f[iGps].trim();
    if (!gps) continue;
    const code = f[iCode].trim();
    if (!code) {
      reject('missing_postcode', f);
      continue;
    }
    const parts = gps.split(',');
    const [lat, lon] = parts.map((p) => (p.trim() ? Number(p) : NaN));
    if (parts.length !== 2 || !(Math.abs(lat) <= 90) || !(Math.abs(lon) <= 180)) {
      reject('bad_gps', f);
      continue;
    }
    const list = out.get(code) ?? [];
    if (!list.some((p) => p.lat === lat && p.lon === lon)) list.push({ lat, lon });
    out.set(code, list);
  }
  return { points: out, header: written, rejected };
}

/** Writes `rejects/postcodes.csv` (as the other rejects files: line, record, reason, action, the fields) when lines were rejected. */
export function writePostcodeRejects(file: PostcodePoints, outDir: string): RejectCount[] {
  if (!file.rejected.length) return [];
  const dir = join(outDir, 'rejects');
  mkdirSync(dir, { recursive: true });
  const own = new Set(['line', 'record', 'reason', 'action']);
  const columns = [...own, ...file.header.map((h) => (own.has(h.trim().toLowerCase()) ? `${h}_1` : h))];
  const body = file.rejected.map((r) =>
    [String(r.line), r.reason === 'empty_line' ? '' : String(r.record), r.reason, 'dropped', ...file.header.map((_, k) => r.fields[k] ?? '')].map(csvField).join(','),
  );
  writeFileSync(join(dir, 'postcodes.csv'), [columns.map(csvField).join(','), ...body].join('\n') + '\n');
  const counts = new Map<string, number>();
  for (const r of file.rejected) counts.set(r.reason, (counts.get(r.reason) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([reason, rows]) => ({ file: 'postcodes', reason, action: 'dropped', rows }));
}

/**
 * The point of a postcode: the commune point when the file lists one commune; when it lists
 * several, the commune the postcode is named after is in practice the main town, so take the
 * candidate with the most inhabitants within 1 km in the tiles (first listed on ties).
 */
async function postcodePoint(conn: Duck, candidates: CommunePoint[]): Promise<CommunePoint> {
  if (candidates.length === 1) return candidates[0];
  let best = candidates[0];
  let bestPop = -1;
  for (const p of candidates) {
    const c = cellOf(p.lat, p.lon);
    const r = await columns(
      conn,
      `SELECT coalesce(sum(tile_ind), 0) FROM tile_features WHERE crs = ${c.crs}
       AND (x - ${c.x}) * (x - ${c.x}) + (y - ${c.y}) * (y - ${c.y}) <= 1000000`,
    );
    const pop = toNumber(r.values[0][0]);
    if (pop > bestPop) {
      bestPop = pop;
      best = p;
    }
  }
  return best;
}

/**
 * Computes each customer's cell in TS (exact projection), loads `customer_cells(row_ix, crs, x,
 * y)`, and builds `customer_tiles(row_ix, tile_*, tile_found)`.
 */
export async function joinTiles(conn: Duck, postcodeFile: Map<string, CommunePoint[]>): Promise<void> {
  const cust = await columns(conn, `SELECT row_ix, lat, lon, postcode FROM customers_clean ORDER BY row_ix`);
  const [rowIx, lat, lon, postcode] = cust.values;
  const postcodes = new Map<string, CommunePoint>();
  for (let i = 0; i < rowIx.length; i++) {
    const code = postcode[i] === null ? undefined : String(postcode[i]);
    if (code === undefined || postcodes.has(code) || (Number.isFinite(toNumber(lat[i])) && Number.isFinite(toNumber(lon[i])))) continue;
    const candidates = postcodeFile.get(code);
    if (candidates) postcodes.set(code, await postcodePoint(conn, candidates));
  }
  await run(conn, `CREATE OR REPLACE TABLE customer_cells(row_ix BIGINT, crs INTEGER, x BIGINT, y BIGINT)`);
  const appender = await conn.createAppender('customer_cells');
  for (let i = 0; i < rowIx.length; i++) {
    let la = toNumber(lat[i]);
    let lo = toNumber(lon[i]);
    if (!Number.isFinite(la) || !Number.isFinite(lo)) {
      const p = postcode[i] === null ? undefined : postcodes.get(String(postcode[i]));
      if (!p) continue;
      la = p.lat;
      lo = p.lon;
    }
    if (Math.abs(la) > 90 || Math.abs(lo) > 180) continue;
    const c = cellOf(la, lo);
    appender.appendBigInt(BigInt(toNumber(rowIx[i])));
    appender.appendInteger(c.crs);
    appender.appendBigInt(BigInt(c.x));
    appender.appendBigInt(BigInt(c.y));
    appender.endRow();
  }
  appender.closeSync();

  // Summed as decimals: exact, so the same whatever order the threads add them in (a sum of doubles
  // moves in its last digits from one run to the next, and the same base would give other features).
  // A product past 10^30, which no census figure reaches, does not fit and counts as missing.
  const dec = (x: string) => `try_cast(${x} AS DECIMAL(38, 8))`;
  const weighted = TILE_FEATURES.map((f) => {
    const part = dec(`t.tile_ind * t.${f}`);
    return `sum(${part}) / nullif(sum(CASE WHEN ${part} IS NOT NULL THEN ${dec('t.tile_ind')} END), 0) AS ${f}`;
  }).join(', ');
  await run(
    conn,
    `CREATE OR REPLACE TABLE customer_tiles AS
     WITH own AS (
       SELECT c.row_ix, ${TILE_FEATURES.map((f) => `t.${f}`).join(', ')}, 1 AS tile_found
       FROM customer_cells c JOIN tile_features t USING (crs, x, y)
     ),
     offgrid AS (
       SELECT DISTINCT c.crs, c.x, c.y FROM customer_cells c
       WHERE NOT EXISTS (SELECT 1 FROM tile_features t WHERE t.crs = c.crs AND t.x = c.x AND t.y = c.y)
     ),
     offsets AS (
       SELECT dx, dy FROM range(-5, 6) a(dx), range(-5, 6) b(dy) WHERE dx * dx + dy * dy <= 25
     ),
     near AS (
       SELECT o.crs, o.x, o.y, ${weighted}
       FROM offgrid o CROSS JOIN offsets d
       JOIN tile_features t ON t.crs = o.crs AND t.x = o.x + d.dx * 200 AND t.y = o.y + d.dy * 200
       GROUP BY o.crs, o.x, o.y
     )
     SELECT * FROM own
     UNION ALL
     SELECT c.row_ix, ${TILE_FEATURES.map((f) => `n.${f}`).join(', ')}, 0 AS tile_found
     FROM customer_cells c JOIN offgrid g USING (crs, x, y) LEFT JOIN near n USING (crs, x, y)`,
  );
}
