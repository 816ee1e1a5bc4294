// Reference files in the store: the INSEE tiles, the births-by-first-name file and La Poste's
// postcodes that a version's features were built with. The API builds a new customer's features
// with the same feature pipeline as the batch, on a small data directory made of the customer's
// rows and the slices of these files that concern them (the cells within 1 km of their point, the
// births of their first name), so a customer scored on the fly gets exactly the features the batch
// would have given them. Each file is stored once per content (sha256).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PersonasError } from '../errors.ts';
import type { ColumnMap } from '../features/sources.ts';
import { csvField, type Db, type Sql } from './db.ts';

// The feature modules (the grid's projections, the inputs' checks) are loaded when a reference file
// is stored or sliced, not by every store command.
const features = async () => {
  const [clean, duck, geo, sources, tiles, behaviour, names] = await Promise.all([
    import('../features/clean.ts'),
    import('../features/duck.ts'),
    import('../features/geo.ts'),
    import('../features/sources.ts'),
    import('../features/tiles.ts'),
    import('../features/behaviour.ts'),
    import('../features/names.ts'),
  ]);
  return {
    cleanFirstNames: clean.cleanFirstNames,
    cleanTiles: clean.cleanTiles,
    ident: duck.ident,
    literal: duck.literal,
    openDuck: duck.openDuck,
    run: duck.run,
    cellId: geo.cellId,
    cellOf: geo.cellOf,
    loadInput: sources.loadInput,
    readPostcodePoints: tiles.readPostcodePoints,
    TILE_COLUMNS: tiles.TILE_COLUMNS,
    categoriesOfFeatures: behaviour.categoriesOfFeatures,
    nameKey: names.nameKey,
    nameKeys: names.nameKeys,
  };
};

export type ReferenceKind = 'tiles' | 'first_names' | 'postcodes';
export type ReferencePaths = Partial<Record<ReferenceKind, string>>;

/** What a version records of its inputs: the sha of each reference file, the purchase categories. */
export interface VersionInputs {
  references: Partial<Record<ReferenceKind, string>>;
  /** Raw category values behind the `share_cat_*` features, in the run's order. */
  categories?: string[];
}

/** Cells within this distance (metres, between south-west corners) feed the fallback mean of the tiles. */
const NEIGHBOURHOOD = 1000;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Stores a reference file unless a file of the same content is already there; returns its sha.
 * Runs in its own transaction, so a failed load leaves nothing of the file.
 */
export async function loadReference(db: Db, kind: ReferenceKind, path: string, columnMap: ColumnMap = {}): Promise<string> {
  if (!existsSync(path)) throw new PersonasError('INPUT_MISSING_FILE', `${path}: not found (the ${kind} reference file)`);
  const sha = await sha256File(path);
  const [known] = await db.query('SELECT 1 FROM reference_files WHERE sha = $1', [sha]);
  if (known) return sha;
  if (kind === 'postcodes') {
    const content = readFileSync(path);
    const rows = content.toString('utf8').split('\n').filter((l) => l.trim()).length - 1;
    await db.query('INSERT INTO reference_files (sha, kind, source, rows, content) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', [sha, kind, path, rows, content]);
    return sha;
  }
  const { cleanFirstNames, cleanTiles, ident, literal, loadInput, openDuck, run, TILE_COLUMNS } = await features();
  const scratch = mkdtempSync(join(tmpdir(), 'personas-reference-'));
  const { db: duck, conn } = await openDuck();
  try {
    const csv = join(scratch, `${kind}.csv`);
    // The rows the run's validation keeps (the same checks, so the same rejects as the run's), their
    // numbers as parsed: a slice written back as a comma-separated file reads them the same.
    if (kind === 'tiles') {
      await cleanTiles(conn, await loadInput(conn, 'tiles', path, 'raw_tiles', columnMap), scratch);
      const counts = `'{' || concat_ws(',', ${TILE_COLUMNS.map((c) => `coalesce(CAST(${ident(c)} AS VARCHAR), '""')`).join(', ')}) || '}'`;
      await run(conn, `COPY (SELECT ${literal(sha)}, crs, x, y, ${counts} FROM tiles_clean) TO ${literal(csv)} (FORMAT CSV, HEADER false)`);
    } else {
      await cleanFirstNames(conn, await loadInput(conn, 'first_names', path, 'raw_first_names', columnMap), scratch);
      await run(conn, `COPY (SELECT ${literal(sha)}, preusuel, sexe, annais, nombre FROM births) TO ${literal(csv)} (FORMAT CSV, HEADER false)`);
    }
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO reference_files (sha, kind, source, rows) VALUES ($1, $2, $3, 0)', [sha, kind, path]);
      const rows =
        kind === 'tiles'
          ? await tx.copyCsv('reference_tiles', ['sha', 'crs', 'x', 'y', 'counts'], createReadStream(csv, 'utf8'))
          : await tx.copyCsv('reference_births', ['sha', 'name', 'sexe', 'annais', 'nombre'], createReadStream(csv, 'utf8'));
      await tx.query('UPDATE reference_files SET rows = $2 WHERE sha = $1', [sha, rows]);
    });
    return sha;
  } catch (e) {
    if ((e as { code?: string }).code === '23505') return sha; // loaded meanwhile by another process
    throw e;
  } finally {
    conn.closeSync();
    duck.closeSync();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Stores the reference files given and records them (and the categories) with `version`. */
export async function attachInputs(db: Db, version: string, paths: ReferencePaths, categories: string[] | undefined, columnMap?: ColumnMap): Promise<VersionInputs> {
  const references: VersionInputs['references'] = {};
  for (const kind of ['tiles', 'first_names', 'postcodes'] as const) {
    const path = paths[kind];
    if (path) references[kind] = await loadReference(db, kind, path, columnMap);
  }
  const inputs: VersionInputs = { references, ...(categories ? { categories } : {}) };
  await db.query('UPDATE model_versions SET inputs = $2 WHERE version = $1', [version, JSON.stringify(inputs)]);
  return inputs;
}

/** The purchase categories of a version's `share_cat_*` features (recorded, else from the feature names). */
export async function versionCategories(db: Sql, version: string): Promise<string[]> {
  const [row] = await db.query<{ inputs: VersionInputs | null; numeric: string[] | null }>(`SELECT inputs, design->'numeric' AS numeric FROM model_versions WHERE version = $1`, [version]);
  if (!row) throw new PersonasError('NOT_FOUND', `model version '${version}' is not published`);
  return row.inputs?.categories ?? (await features()).categoriesOfFeatures(row.numeric ?? []);
}

/** The inputs a version recorded (no references for versions published before they were kept). */
export async function versionInputs(db: Sql, version: string): Promise<VersionInputs> {
  const [row] = await db.query<{ inputs: VersionInputs | null }>('SELECT inputs FROM model_versions WHERE version = $1', [version]);
  return row?.inputs ?? { references: {} };
}

/** A point a customer's tiles are looked up around (its own point, or its postcode's candidate communes). */
export interface GeoPoint {
  lat: number;
  lon: number;
}

/**
 * Writes the slices of a version's reference files that `points` and `names` need, as files the
 * feature pipeline reads: `tiles.csv` (every cell within 1 km of each point's cell), `first_names.csv`
 * (the births of those names) and the postcode file. Returns their paths.
 */
export async function writeReferenceSlices(db: Sql, inputs: VersionInputs, dir: string, points: GeoPoint[], names: string[]): Promise<{ tiles: string; firstNames: string; postcodes: string }> {
  const refs = requireReferences(inputs);
  const { cellId, cellOf, TILE_COLUMNS } = await features();
  const tiles = join(dir, 'tiles.csv');
  const lines = [['idcar_200m', ...TILE_COLUMNS].join(',')];
  const seen = new Set<string>();
  for (const p of points) {
    const c = cellOf(p.lat, p.lon);
    const key = `${c.crs}:${c.x}:${c.y}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const cells = await db.query<{ crs: number; x: string; y: string; counts: string[] }>(
      `SELECT crs, x, y, counts FROM reference_tiles WHERE sha = $1 AND crs = $2 AND x BETWEEN $3::bigint AND $4::bigint AND y BETWEEN $5::bigint AND $6::bigint`,
      [refs.tiles, c.crs, c.x - NEIGHBOURHOOD, c.x + NEIGHBOURHOOD, c.y - NEIGHBOURHOOD, c.y + NEIGHBOURHOOD],
      'personas_reference_tiles',
    );
    for (const t of cells) {
      const id = cellId({ crs: t.crs as 3035, x: Number(t.x), y: Number(t.y) });
      if (seen.has(id)) continue;
      seen.add(id);
      lines.push([id, ...t.counts.map(csvField)].join(','));
    }
  }
  writeFileSync(tiles, lines.join('\n') + '\n');

  const firstNames = join(dir, 'first_names.csv');
  // Every spelling of each name (the pipeline pools them: names.ts nameKeySql).
  const wanted = names.length ? await birthSpellings(db, refs.first_names, names) : [];
  const births = wanted.length
    ? await db.query<{ name: string; sexe: string; annais: string; nombre: string }>(
        `SELECT name, sexe, annais, nombre FROM reference_births WHERE sha = $1 AND name = ANY($2::text[])`,
        [refs.first_names, wanted],
        'personas_reference_births',
      )
    : [];
  writeFileSync(firstNames, ['sexe;preusuel;annais;nombre', ...births.map((b) => `${b.sexe};${b.name.replace(/;/g, ' ')};${b.annais};${b.nombre}`)].join('\n') + '\n');

  const postcodes = await postcodeFile(db, refs.postcodes);
  return { tiles, firstNames, postcodes };
}

/** Per births file (sha), the spellings of each name key; the files read last, the oldest first. */
const spellingsBySha = new Map<string, Map<string, string[]>>();

/**
 * The spellings a births file holds of `names` (HÉLÈNE and HELENE for `Helene`): its names read
 * once per process (37,767 in INSEE's national file) and kept for the four files read last.
 */
async function birthSpellings(db: Sql, sha: string, names: string[]): Promise<string[]> {
  const { nameKey, nameKeys } = await features();
  let spellings = spellingsBySha.get(sha);
  if (!spellings) {
    spellings = new Map();
    for (const { name } of await db.query<{ name: string }>('SELECT DISTINCT name FROM reference_births WHERE sha = $1', [sha])) {
      const key = nameKey(name);
      spellings.set(key, [...(spellings.get(key) ?? []), name]);
    }
    spellingsBySha.set(sha, spellings);
    for (const old of spellingsBySha.keys()) if (spellingsBySha.size > 4) spellingsBySha.delete(old);
  }
  // Every key the pipeline looks the name up by (`Mme Marie` as MARIE, `Jean P.` as JEAN).
  return [...new Set(names.flatMap(nameKeys).flatMap((k) => spellings.get(k) ?? []))];
}

/** The version's three reference files, or a clear error naming the missing ones. */
export function requireReferences(inputs: VersionInputs): Record<ReferenceKind, string> {
  const refs = inputs.references;
  const missing = (['tiles', 'first_names', 'postcodes'] as const).filter((k) => !refs[k]);
  if (missing.length) {
    throw new PersonasError(
      'CONFLICT',
      `this model version was published without its ${missing.join(', ')} reference file(s), which scoring raw customer rows needs: publish the run again with \`personas publish --run DIR\` (or give --tiles / --first-names / --postcodes), or send feature records instead`,
    );
  }
  return refs as Record<ReferenceKind, string>;
}

const postcodeCache = new Map<string, string>();

/** The postcode file of a sha, written once per process to a cache folder. */
export async function postcodeFile(db: Sql, sha: string): Promise<string> {
  const cached = postcodeCache.get(sha);
  if (cached && existsSync(cached)) return cached;
  const [row] = await db.query<{ content: Buffer }>('SELECT content FROM reference_files WHERE sha = $1', [sha]);
  if (!row?.content) throw new PersonasError('CONFLICT', `reference file ${sha} (postcodes) has no content in the store`);
  const path = join(mkdtempSync(join(tmpdir(), 'personas-postcodes-')), 'laposte_hexasmal.csv');
  writeFileSync(path, row.content);
  postcodeCache.set(sha, path);
  return path;
}

/** Postcode -> candidate commune points, from the postcode file (for customers without coordinates). */
export async function postcodeCandidates(path: string, codes: string[]): Promise<Map<string, GeoPoint[]>> {
  const out = new Map<string, GeoPoint[]>();
  if (!codes.length) return out;
  const points = (await features()).readPostcodePoints(path).points;
  for (const code of codes.map((c) => c.trim())) {
    const list = points.get(code);
    if (list) out.set(code, list);
  }
  return out;
}
