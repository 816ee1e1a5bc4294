// The model registry: published versions, the active one, rollback, and the labels of each
// version. Publishing loads a version and all its labels in one transaction without touching the
// active version; activation is one UPDATE of the single `active_version` row, so every reader
// sees either the old version or the new one, never a mix (readers name the version in the same
// statement that reads the labels).
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { PersonasError } from '../errors.ts';
import { ASSIGNMENT_COLUMNS, EvaluationSchema, QuantificationSchema, RunMetricsSchema, type Evaluation, type Manifest, type Quantification, type RunMetrics } from '../models/artefacts.ts';
import { DesignEncodingSchema, type DesignEncoding } from '../models/personas/design.ts';
import type { SavedProjection } from '../models/personas/index.ts';
import type { LabelSource } from '../models/personas/evaluate.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { DEFAULT_FIRST_NAMES_ZIP, extractZippedCsv } from '../features/reference.ts';
import { DataSummarySchema, readDataSummary, type DataSummary } from '../features/summary.ts';
import type { ValueMap } from '../features/values.ts';
import { csvField, type Db, type Sql } from './db.ts';
import { loadReference, type ReferencePaths, type VersionInputs } from './references.ts';

export type VersionStatus = 'scoring' | 'ready' | 'active' | 'retired';

export interface VersionSummary {
  version: string;
  status: VersionStatus;
  personaFileSha: string;
  personas: string[];
  customers: number;
  createdAt: string;
  publishedAt: string;
  activatedAt: string | null;
}

export interface PublishSource {
  /** A run's `model/` directory (manifest.json, design.json, one file per persona). */
  modelDir: string;
  /** The run's assignments.csv. */
  assignments: string;
  /** Default: quantification.json beside the model directory. */
  quantification?: string;
  /** Default: metrics.json beside the model directory. */
  metrics?: string;
  /**
   * The reference files the run's features were built with, kept with the version for scoring
   * raw customer rows. Default: those `features/features.json` beside the model directory names.
   */
  references?: ReferencePaths;
  /** The purchase categories of the `share_cat_*` features. Default: from that features.json. */
  categories?: string[];
}

/** The reference files and categories a run's features.json records (files that no longer exist are left out). */
export function recordedInputs(runDir: string): { references: ReferencePaths; categories?: string[]; values?: ValueMap } {
  const path = join(runDir, 'features', 'features.json');
  if (!existsSync(path)) return { references: {} };
  let summary: { inputs?: Record<string, string>; categories?: string[]; values?: unknown };
  try {
    summary = JSON.parse(readFileSync(path, 'utf8')) as typeof summary;
  } catch (e) {
    throw new PersonasError('INPUT_INVALID', `${path}: not valid JSON (${(e as Error).message}); rebuild the features or give the reference files with --tiles / --first-names / --postcodes`, { file: path });
  }
  const references: ReferencePaths = {};
  for (const kind of ['tiles', 'first_names', 'postcodes'] as const) {
    let file = summary.inputs?.[kind];
    // The shipped births file is extracted to a cache folder that may have been cleaned since.
    if (file && !existsSync(file) && kind === 'first_names' && file.includes('personas-reference')) file = extractZippedCsv(DEFAULT_FIRST_NAMES_ZIP);
    if (file && existsSync(file)) references[kind] = file;
  }
  const values = DataSummarySchema.shape.values.safeParse(summary.values);
  return { references, categories: Array.isArray(summary.categories) ? summary.categories : undefined, ...(values.success && values.data ? { values: values.data } : {}) };
}

/** Where a run directory's artefacts are. */
export function runSource(runDir: string): PublishSource {
  return { modelDir: join(runDir, 'model'), assignments: join(runDir, 'assignments.csv') };
}

function readArtefact<T>(path: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }): T {
  if (!existsSync(path)) throw new PersonasError('INPUT_MISSING_FILE', `${path}: not found (a run writes it beside model/)`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PersonasError('INPUT_INVALID', `${path}: not valid JSON (${(e as Error).message})`);
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PersonasError('INPUT_INVALID', `${path}: field '${issue.path.map(String).join('.') || '(root)'}': ${issue.message}`);
  }
  return r.data;
}

/** Splits one CSV line (RFC 4180 quoting, no line breaks inside fields). */
export function splitCsvLine(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return null;
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(value);
      if (i < line.length && line[i] !== ',') return null;
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      const value = line.slice(i, end);
      if (value.includes('"')) return null;
      out.push(value);
      i = end + 1;
    }
  }
  return out;
}

/** The COPY columns of `assignments`: `scores` is a real[] in the order of the version's trained personas. */
const LABEL_COLUMNS = ['version', 'customer_id', 'persona', 'confidence', 'margin', 'scores'];

/** One assignments COPY line; the scores as a PostgreSQL array literal. */
const labelLine = (version: string, customerId: string, persona: string | null, confidence: number, margin: number, scores: ArrayLike<number>) =>
  `${version},${csvField(customerId)},${persona ?? ''},${confidence},${margin},"{${Array.prototype.join.call(scores, ',')}}"`;

/** Reads assignments.csv into COPY batches for `assignments`, checking every row. */
async function* labelBatches(path: string, manifest: Manifest, counter: { rows: number }, progress: Progress): AsyncGenerator<string> {
  const ids = manifest.personas.map((p) => p.id);
  const trained = new Set(manifest.personas.filter((p) => p.status === 'trained').map((p) => p.id));
  const expected = [...ASSIGNMENT_COLUMNS, ...ids.map((id) => `score_${id}`)];
  const version = manifest.modelVersion;
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  let a: string[] = [];
  const fail = (what: string) => {
    throw new PersonasError('INPUT_INVALID', `${path}, line ${lineNo}: ${what}`, { file: path, line: lineNo });
  };
  for await (const line of lines) {
    lineNo++;
    if (lineNo === 1) {
      const header = line.replace(/^\uFEFF/, '').split(',');
      if (header.join(',') !== expected.join(',')) fail(`header is '${header.join(',')}', expected '${expected.join(',')}' (the manifest's personas, in order)`);
      continue;
    }
    if (line === '') continue;
    const f = splitCsvLine(line);
    if (!f || f.length !== expected.length) {
      fail(`expected ${expected.length} fields, got ${f ? f.length : 'a malformed quoted field'}`);
      return;
    }
    const [customer, persona, confidence, margin, rowVersion] = f;
    if (!customer) fail('customer_id is empty');
    if (rowVersion !== version) fail(`model_version is '${rowVersion}', the manifest's is '${version}'`);
    if (persona && !trained.has(persona)) fail(`persona '${persona}' is not a trained persona of the manifest (${[...trained].join(', ')})`);
    const conf = Number(confidence);
    const marg = Number(margin);
    if (confidence === '' || !Number.isFinite(conf) || conf < 0 || conf > 1) fail(`confidence '${confidence}' is not a number between 0 and 1`);
    if (margin === '' || !Number.isFinite(marg)) fail(`margin '${margin}' is not a number`);
    const scores: number[] = [];
    for (let k = 0; k < ids.length; k++) {
      const v = f[5 + k];
      if (!trained.has(ids[k])) {
        if (v !== '') fail(`score_${ids[k]} has a value but that persona was not trained`);
        continue;
      }
      const score = Number(v);
      if (v === '' || !Number.isFinite(score) || score < 0 || score > 1) fail(`score_${ids[k]} '${v}' is not a number between 0 and 1`);
      scores.push(score);
    }
    a.push(labelLine(version, customer, persona || null, conf, marg, scores));
    counter.rows++;
    if (a.length === 20000) {
      progress.tick(counter.rows);
      yield a.join('\n') + '\n';
      a = [];
    }
  }
  if (lineNo === 0) fail('the file is empty (expected a header line)');
  if (a.length) yield a.join('\n') + '\n';
  progress.tick(counter.rows);
}

export interface PublishResult {
  version: string;
  customers: number;
  personas: string[];
  activated: boolean;
  /** The reference files kept with the version (kind -> sha256); raw-row scoring needs all three. */
  references: VersionInputs['references'];
}

/** Loads a run's model and labels as a new version (status `ready`); the active version is untouched unless `activate`. */
export async function publishRun(db: Db, src: PublishSource, opts: { activate?: boolean; progress?: Progress; portraits?: unknown } = {}): Promise<PublishResult> {
  const progress = opts.progress ?? silentProgress;
  // The projection's modules (the learners) are loaded by the commands that read models, not by every store command.
  const { loadSavedProjection } = await import('../models/personas/index.ts');
  const saved = loadSavedProjection(src.modelDir); // checks every model file loads and matches the encoding
  const manifest = saved.manifest;
  const around = dirname(src.modelDir);
  const quantification = readArtefact<Quantification>(src.quantification ?? join(around, 'quantification.json'), QuantificationSchema);
  const metrics = readArtefact<RunMetrics>(src.metrics ?? join(around, 'metrics.json'), RunMetricsSchema);
  for (const [name, v] of [['quantification.json', quantification.modelVersion], ['metrics.json', metrics.modelVersion]] as const) {
    if (v !== manifest.modelVersion) throw new PersonasError('INPUT_INVALID', `${name} is of model version '${v}', the manifest's is '${manifest.modelVersion}': the files come from different runs`);
  }
  if (!existsSync(src.assignments)) throw new PersonasError('INPUT_MISSING_FILE', `${src.assignments}: not found`);
  const version = manifest.modelVersion;
  const [existing] = await db.query('SELECT 1 FROM model_versions WHERE version = $1', [version]);
  if (existing) throw new PersonasError('CONFLICT', `model version ${version} is already published`);
  const modelJson = (file: string) => JSON.parse(readFileSync(join(src.modelDir, file), 'utf8')) as { features: string[]; model: unknown };

  // The run checked against known customers (personas evaluate), when of this version.
  const evaluationPath = join(around, 'evaluation.json');
  const evaluationRead = existsSync(evaluationPath) ? readArtefact<Evaluation>(evaluationPath, EvaluationSchema) : null;
  const evaluation = evaluationRead?.modelVersion === manifest.modelVersion ? evaluationRead : null;
  const recorded = recordedInputs(around);
  // What the base held and how it was read, for the report's data section (none for a run from a feature table).
  const dataSummary = readDataSummary(join(around, 'features', 'features.json'));
  const referencePaths = src.references ?? recorded.references;
  progress.stage('store reference files', 3);
  const references: VersionInputs['references'] = {};
  for (const [k, kind] of (['tiles', 'first_names', 'postcodes'] as const).entries()) {
    if (referencePaths[kind]) references[kind] = await loadReference(db, kind, referencePaths[kind]);
    progress.tick(k + 1);
  }
  const inputs: VersionInputs = { references, ...((src.categories ?? recorded.categories) ? { categories: src.categories ?? recorded.categories } : {}) };

  progress.stage('publish', quantification.customers);
  const counter = { rows: 0 };
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO model_versions (version, status, persona_file_sha, manifest, design, metrics, quantification, personas, customers, created_at, portraits, inputs, data_summary, evaluation)
       VALUES ($1, 'ready', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [version, manifest.personaFile.sha256, JSON.stringify(manifest), JSON.stringify(saved.encoding), JSON.stringify(metrics), JSON.stringify(quantification), saved.personas.map((p) => p.id), quantification.customers, manifest.createdAt, opts.portraits === undefined ? null : JSON.stringify(opts.portraits), JSON.stringify(inputs), dataSummary === null ? null : JSON.stringify(dataSummary), evaluation === null ? null : JSON.stringify(evaluation)],
    );
    for (const p of saved.personas) {
      const file = modelJson(manifest.personas.find((e) => e.id === p.id)!.modelFile!);
      await tx.query('INSERT INTO persona_models (version, persona, label, threshold, c, features, model) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        version, p.id, p.label, p.threshold, p.c, file.features, JSON.stringify(file.model),
      ]);
    }
    await copyLabels(tx, labelBatches(src.assignments, manifest, counter, progress), src.assignments);
    if (counter.rows !== quantification.customers) {
      throw new PersonasError('INPUT_INVALID', `${src.assignments} has ${counter.rows} customers, quantification.json counts ${quantification.customers}`);
    }
  });
  if (opts.activate) await activateVersion(db, version);
  return { version, customers: counter.rows, personas: saved.personas.map((p) => p.id), activated: !!opts.activate, references };
}

async function copyLabels(tx: Sql, batches: AsyncGenerator<string>, file: string): Promise<void> {
  try {
    for await (const b of batches) await tx.copyCsv('assignments', LABEL_COLUMNS, [b]);
  } catch (e) {
    const err = e as { code?: string; detail?: string };
    if (err.code === '23505') throw new PersonasError('INPUT_INVALID', `${file}: a customer_id appears twice (${err.detail ?? 'duplicate key'})`);
    throw e;
  }
}

/** Makes `version` the one the API serves; the one it replaces stays available for rollback. */
export async function activateVersion(db: Db, version: string): Promise<{ version: string; previous: string | null }> {
  return db.transaction(async (tx) => {
    const [current] = await tx.query<{ version: string | null }>('SELECT version FROM active_version WHERE singleton FOR UPDATE');
    const [target] = await tx.query<{ status: string }>('SELECT status FROM model_versions WHERE version = $1', [version]);
    if (!target) throw new PersonasError('NOT_FOUND', `model version '${version}' is not published`);
    if (target.status === 'scoring') throw new PersonasError('CONFLICT', `model version '${version}' is still being scored by a run: it can be activated once the run has published it`);
    if (current.version === version) return { version, previous: current.version };
    await tx.query(`UPDATE model_versions SET status = 'retired' WHERE status = 'active'`);
    await tx.query(`UPDATE model_versions SET status = 'active', activated_at = now() WHERE version = $1`, [version]);
    await tx.query('UPDATE active_version SET version = $1, previous = $2, changed_at = now() WHERE singleton', [version, current.version]);
    return { version, previous: current.version };
  });
}

/** Re-activates the version that was active before the current one. */
export async function rollback(db: Db): Promise<{ version: string; previous: string | null }> {
  const [row] = await db.query<{ previous: string | null }>('SELECT previous FROM active_version WHERE singleton');
  if (!row?.previous) throw new PersonasError('CONFLICT', 'there is no previous version to roll back to');
  return activateVersion(db, row.previous);
}

/** Deletes a version that is not active (its labels and models go with it; the reference files no version uses then, with `personas models prune`). */
export async function deleteVersion(db: Db, version: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.query<{ status: string }>('SELECT status FROM model_versions WHERE version = $1 FOR UPDATE', [version]);
    if (!row) throw new PersonasError('NOT_FOUND', `model version '${version}' is not published`);
    if (row.status === 'active') throw new PersonasError('CONFLICT', `model version '${version}' is active: activate another one first`);
    await tx.query('UPDATE active_version SET previous = NULL WHERE previous = $1', [version]);
    await tx.query('DELETE FROM model_versions WHERE version = $1', [version]);
  });
}

/**
 * A reference file no version uses is dropped once loaded this long ago: a publish loads its files
 * before its version's row exists, and a prune running meanwhile must not take them.
 */
export const REFERENCE_GRACE_HOURS = 1;

/**
 * The reference files (INSEE tiles, births, postcodes: millions of rows each) no version uses, but
 * those of `excluding` (versions about to go), loaded over REFERENCE_GRACE_HOURS ago; dropped
 * unless `dryRun`. Returns how many files and rows.
 */
export async function dropUnusedReferences(db: Sql, opts: { dryRun?: boolean; excluding?: string[] } = {}): Promise<{ files: number; rows: number }> {
  const unused = `SELECT sha, rows FROM reference_files f
    WHERE loaded_at < now() - interval '${REFERENCE_GRACE_HOURS} hour'
      AND NOT EXISTS (SELECT 1 FROM model_versions v, jsonb_each_text(coalesce(v.inputs->'references', '{}'::jsonb)) r
                      WHERE r.value = f.sha AND NOT (v.version = ANY($1::text[])))`;
  const [r] = await db.query<{ files: number; rows: number }>(`SELECT count(*)::int AS files, coalesce(sum(rows), 0)::int AS rows FROM (${unused}) u`, [opts.excluding ?? []]);
  if (!opts.dryRun && r.files) await db.query(`DELETE FROM reference_files WHERE sha IN (SELECT sha FROM (${unused}) u)`, [opts.excluding ?? []]);
  return r;
}

export interface PruneResult {
  /** The versions deleted (or, in a dry run, to delete), oldest last, with their customers. */
  deleted: { version: string; customers: number; publishedAt: string }[];
  /** The versions kept: the `keep` newest, the active one and the one a rollback goes back to. */
  kept: string[];
  /** The reference files no version uses any more, dropped. */
  references: { files: number; rows: number };
}

/**
 * Deletes the published versions past the `keep` newest (each with its labels and models), never
 * the active one nor the one a rollback would go back to, nor a version a batch run is still
 * scoring; then the reference files no version uses. With `dryRun`, says what would go.
 */
export async function pruneVersions(db: Db, opts: { keep: number; dryRun?: boolean; progress?: Progress }): Promise<PruneResult> {
  if (!Number.isInteger(opts.keep) || opts.keep < 1) throw new PersonasError('INPUT_INVALID', `--keep must be a whole number of versions, at least 1 (got ${opts.keep})`);
  const versions = (await listVersions(db)).filter((v) => v.status !== 'scoring');
  const [pointer] = await db.query<{ version: string | null; previous: string | null }>('SELECT version, previous FROM active_version WHERE singleton');
  const kept = new Set([...versions.slice(0, opts.keep).map((v) => v.version), pointer?.version, pointer?.previous].filter((v): v is string => !!v));
  const doomed = versions.filter((v) => !kept.has(v.version));
  const progress = opts.progress ?? silentProgress;
  if (!opts.dryRun && doomed.length) {
    // A version of a million customers takes seconds to delete (its labels).
    progress.stage('delete versions', doomed.length);
    for (const [k, v] of doomed.entries()) {
      await deleteVersion(db, v.version);
      progress.tick(k + 1);
    }
  }
  progress.stage('reference files');
  const references = await dropUnusedReferences(db, { dryRun: opts.dryRun, excluding: doomed.map((v) => v.version) });
  return { deleted: doomed.map((v) => ({ version: v.version, customers: v.customers, publishedAt: v.publishedAt })), kept: versions.filter((v) => kept.has(v.version)).map((v) => v.version), references };
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : String(v));

export async function listVersions(db: Sql): Promise<VersionSummary[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT version, status, persona_file_sha, personas, customers, created_at, published_at, activated_at
     FROM model_versions ORDER BY published_at DESC, version DESC`,
  );
  return rows.map((r) => ({
    version: r.version as string,
    status: r.status as VersionStatus,
    personaFileSha: r.persona_file_sha as string,
    personas: r.personas as string[],
    customers: Number(r.customers),
    createdAt: iso(r.created_at)!,
    publishedAt: iso(r.published_at)!,
    activatedAt: iso(r.activated_at),
  }));
}

export async function activeVersion(db: Sql): Promise<string | null> {
  const [row] = await db.query<{ version: string | null }>('SELECT version FROM active_version WHERE singleton', [], 'personas_active_version');
  return row?.version ?? null;
}

export interface VersionDetail {
  version: string;
  /** Portrait statistics stored at publish time (the report's format), or null. */
  portraits: unknown;
  /** What the version's base held and how it was read (its features.json), or null. */
  dataSummary: DataSummary | null;
  /** Its labels checked against known customers (personas evaluate), or null. */
  evaluation: Evaluation | null;
  manifest: Manifest;
  design: DesignEncoding;
  metrics: RunMetrics;
  quantification: Quantification;
}

const versionValues = new WeakMap<Sql, Map<string, ValueMap>>();

/**
 * The client's values of the coded columns that `version`'s run read as the contract's (its column
 * file's `values`), so a new customer's raw rows are read as the base's were. A version never
 * changes, so each is read once.
 */
export async function versionValueMap(db: Sql, version: string): Promise<ValueMap> {
  const cache = versionValues.get(db) ?? new Map<string, ValueMap>();
  versionValues.set(db, cache);
  const known = cache.get(version);
  if (known) return known;
  const rows = await db.query<{ v: unknown }>(`SELECT data_summary->'values' AS v FROM model_versions WHERE version = $1`, [version]);
  const parsed = DataSummarySchema.shape.values.safeParse(rows[0]?.v ?? undefined);
  const values = parsed.success ? (parsed.data ?? {}) : {};
  if (rows.length) cache.set(version, values);
  return values;
}

/** The artefacts of a version (the active one when `version` is null). */
export async function versionDetail(db: Sql, version: string | null): Promise<VersionDetail> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT version, manifest, design, metrics, quantification, portraits, data_summary, evaluation FROM model_versions
     WHERE version = coalesce($1::text, (SELECT version FROM active_version WHERE singleton))`,
    [version],
  );
  if (!rows.length) throw noVersion(version);
  const r = rows[0];
  const data = DataSummarySchema.safeParse(r.data_summary);
  const evaluation = EvaluationSchema.safeParse(r.evaluation);
  return { version: r.version as string, portraits: r.portraits ?? null, dataSummary: data.success ? data.data : null, evaluation: evaluation.success ? evaluation.data : null, manifest: r.manifest as Manifest, design: DesignEncodingSchema.parse(r.design), metrics: RunMetricsSchema.parse(r.metrics), quantification: r.quantification as Quantification };
}

/** Known ids asked of the store at a time. */
const LOOKUP_IDS = 10_000;

/**
 * The labels of `version` as a source for evaluateRows (models/personas/evaluate.ts): those of the
 * ids asked, and of every customer whose id reduces to a key asked (ID_KEY_SQL, idKey's twin).
 */
export function storedLabels(db: Sql, version: string): LabelSource {
  const ordered = (l: CustomerLabel, personaIds: string[]) => ({ persona: l.persona, scores: personaIds.map((p) => l.scores[p] ?? NaN) });
  return {
    async exact(ids, personaIds) {
      const labels = new Map<string, { persona: string | null; scores: number[] }>();
      for (let k = 0; k < ids.length; k += LOOKUP_IDS) {
        const found = await lookupLabels(db, ids.slice(k, k + LOOKUP_IDS), version);
        for (const [id, l] of found.labels) labels.set(id, ordered(l, personaIds));
      }
      return labels;
    },
    async byKey(keys, personaIds) {
      const out = new Map<string, { id: string; label: { persona: string | null; scores: number[] } }[]>();
      for (let k = 0; k < keys.length; k += LOOKUP_IDS) {
        const rows = await db.query<{ key: string; customer_id: string }>(
          `SELECT k.key, k.customer_id FROM (SELECT ${ID_KEY_SQL} AS key, customer_id FROM assignments WHERE version = $1) k WHERE k.key = ANY($2::text[])`,
          [version, keys.slice(k, k + LOOKUP_IDS)],
        );
        const labels = (await lookupLabels(db, rows.map((r) => r.customer_id), version)).labels;
        for (const r of rows) {
          const l = labels.get(r.customer_id);
          if (l) out.set(r.key, [...(out.get(r.key) ?? []), { id: r.customer_id, label: ordered(l, personaIds) }]);
        }
      }
      return out;
    },
  };
}

/** idKey (models/personas/evaluate.ts) of assignments.customer_id, in SQL. */
const ID_KEY_SQL = `CASE WHEN customer_id ~ '^[0-9]+(\\.0+)?$' THEN 'n:' || ltrim(regexp_replace(customer_id, '\\.0+$', ''), '0') ELSE 'l:' || lower(customer_id) END`;

/** Records `evaluation` (personas evaluate) with its version, replacing the one it had. */
export async function recordEvaluation(db: Sql, evaluation: Evaluation): Promise<void> {
  const rows = await db.query('UPDATE model_versions SET evaluation = $2 WHERE version = $1 RETURNING version', [evaluation.modelVersion, JSON.stringify(evaluation)]);
  if (!rows.length) throw noVersion(evaluation.modelVersion);
}

function noVersion(version: string | null): PersonasError {
  return version === null
    ? new PersonasError('NO_ACTIVE_VERSION', 'no model version is active yet: publish one and activate it (`personas publish --run DIR --activate`)')
    : new PersonasError('NOT_FOUND', `model version '${version}' is not published`);
}

/** Rebuilds the scoring models of a version from the registry. */
export async function loadVersionModels(db: Sql, version: string): Promise<SavedProjection> {
  const detail = await versionDetail(db, version);
  const models = await db.query<{ persona: string; c: number; features: string[]; model: unknown }>('SELECT persona, c, features, model FROM persona_models WHERE version = $1', [version]);
  const byFile = new Map(detail.manifest.personas.map((p) => [p.modelFile, p.id]));
  const { fromParts } = await import('../models/personas/index.ts');
  return fromParts(detail.manifest, detail.design, (file) => {
    const persona = byFile.get(file);
    const m = models.find((x) => x.persona === persona);
    return { path: `registry version ${version}, persona ${persona}`, value: m ? { persona: m.persona, c: m.c, features: m.features, model: m.model } : undefined };
  });
}

export interface CustomerLabel {
  customerId: string;
  persona: string | null;
  confidence: number;
  margin: number;
  scores: Record<string, number>;
}

/**
 * Labels of `ids` under one version (the active one when `version` is null), read in a single
 * statement so the version and the labels come from the same snapshot.
 */
export async function lookupLabels(db: Sql, ids: string[], version: string | null): Promise<{ version: string; labels: Map<string, CustomerLabel> }> {
  const rows = await db.query<LabelRow & { v: string; personas: string[] }>(
    `WITH v AS (SELECT version, personas FROM model_versions
                WHERE version = coalesce($2::text, (SELECT version FROM active_version WHERE singleton)))
     SELECT v.version AS v, v.personas, a.customer_id, a.persona, a.confidence, a.margin, a.scores
     FROM v LEFT JOIN LATERAL (
       SELECT a.* FROM unnest($1::text[]) AS q(id) JOIN assignments a ON a.version = v.version AND a.customer_id = q.id
     ) a ON true`,
    [ids, version],
    'personas_lookup_labels',
  );
  if (!rows.length) throw noVersion(version);
  const { v, personas } = rows[0];
  const labels = new Map<string, CustomerLabel>();
  for (const r of rows) if (r.customer_id !== null) labels.set(r.customer_id, toLabel(r, personas));
  return { version: v, labels };
}

interface LabelRow {
  customer_id: string;
  persona: string | null;
  confidence: number;
  margin: number;
  scores: number[];
}

function toLabel(r: LabelRow, personas: string[]): CustomerLabel {
  const scores: Record<string, number> = {};
  personas.forEach((p, k) => {
    if (r.scores[k] !== null && r.scores[k] !== undefined) scores[p] = r.scores[k];
  });
  return { customerId: r.customer_id, persona: r.persona, confidence: r.confidence, margin: r.margin, scores };
}

/** The header of the contract's assignment file (section 3) for a version's personas. */
export const assignmentHeader = (personas: readonly string[]): string =>
  ['customer_id', 'persona', 'confidence', 'margin', 'model_version', ...personas.map((p) => `score_${p}`)].join(',');

/** One label as a line of the contract's assignment file. */
export const assignmentLine = (r: CustomerLabel, version: string, personas: readonly string[]): string =>
  [csvField(r.customerId), r.persona ?? '', r.confidence, r.margin, version, ...personas.map((p) => r.scores[p] ?? '')].join(',');

export interface LabelPage {
  version: string;
  personas: string[];
  rows: CustomerLabel[];
  /** The cursor of the next page, null on the last page. */
  next: string | null;
}

/** The columns of a version's labels, read a page at a time in customer_id order (the API's label cache). */
export interface LabelColumnsPage {
  ids: string[];
  persona: (string | null)[];
  confidence: number[];
  margin: number[];
  /** Each customer's scores in the order of the version's personas (null where a persona has none). */
  scores: (number | null)[][];
}

/** Up to `limit` labels of `version` after `cursor` (exclusive), in customer_id order, as columns. */
export async function labelColumns(db: Sql, version: string, cursor: string | null, limit: number): Promise<LabelColumnsPage> {
  const rows = await db.query<LabelRow>(
    `SELECT customer_id, persona, confidence, margin, scores FROM assignments
     WHERE version = $1 AND ($2::text IS NULL OR customer_id > $2::text) ORDER BY customer_id LIMIT $3`,
    [version, cursor, limit],
    'personas_label_columns',
  );
  return {
    ids: rows.map((r) => r.customer_id),
    persona: rows.map((r) => r.persona),
    confidence: rows.map((r) => r.confidence),
    margin: rows.map((r) => r.margin),
    scores: rows.map((r) => r.scores),
  };
}

/** The version (active when null) and its persona ids; a clear error when there is none. */
export async function resolveVersion(db: Sql, version: string | null): Promise<{ version: string; personas: string[]; customers: number }> {
  const rows = await db.query<{ version: string; personas: string[]; customers: number | string }>(
    `SELECT version, personas, customers FROM model_versions WHERE version = coalesce($1::text, (SELECT version FROM active_version WHERE singleton))`,
    [version],
  );
  if (!rows.length) throw noVersion(version);
  return { version: rows[0].version, personas: rows[0].personas, customers: Number(rows[0].customers) };
}

/**
 * The condition (on assignments row `a`) that a label differs from the customer's label in the
 * version given as `param` (null: no condition): another persona, or no row there.
 */
const CHANGED_SINCE = (param: string) =>
  `(${param}::text IS NULL OR NOT EXISTS (SELECT 1 FROM assignments s WHERE s.version = ${param}::text AND s.customer_id = a.customer_id AND s.persona IS NOT DISTINCT FROM a.persona))`;

/**
 * The last customer_id of the page of `limit` labels after `cursor`, and whether more follow:
 * an index-only walk, so a page can be streamed in chunks with its next cursor known up front.
 * With `since` (a version), over the labels that differ from their label there (CHANGED_SINCE).
 */
export async function pageEnd(db: Sql, version: string, cursor: string | null, limit: number, since: string | null = null): Promise<{ last: string | null; more: boolean }> {
  const [row] = await db.query<{ last: string | null; more: boolean }>(
    `WITH page AS (
       SELECT a.customer_id FROM assignments a WHERE a.version = $1 AND ($2::text IS NULL OR a.customer_id > $2::text) AND ${CHANGED_SINCE('$4')}
       ORDER BY a.customer_id LIMIT $3)
     SELECT (SELECT max(customer_id) FROM page) AS last,
       EXISTS (SELECT 1 FROM assignments a WHERE a.version = $1 AND a.customer_id > (SELECT max(customer_id) FROM page) AND ${CHANGED_SINCE('$4')}) AS more`,
    [version, cursor, limit, since],
  );
  return { last: row?.last ?? null, more: !!row?.more };
}

/**
 * Labels of one version in customer_id order, after `cursor` (exclusive), up to `upTo`
 * (inclusive); with `since` (a version), only those whose persona differs from their label there
 * or who have none there.
 */
export async function labelPage(db: Sql, version: string | null, cursor: string | null, limit: number, upTo: string | null = null, since: string | null = null): Promise<LabelPage> {
  const detail = await resolveVersion(db, version);
  const v = detail.version;
  const rows = await db.query<LabelRow>(
    `SELECT a.customer_id, a.persona, a.confidence, a.margin, a.scores
     FROM assignments a WHERE a.version = $1 AND ($2::text IS NULL OR a.customer_id > $2::text)
       AND ($4::text IS NULL OR a.customer_id <= $4::text) AND ${CHANGED_SINCE('$5')}
     ORDER BY a.customer_id LIMIT $3`,
    [v, cursor, limit + 1, upTo, since],
  );
  const more = rows.length > limit;
  const page = rows.slice(0, limit).map((r) => toLabel(r, detail.personas));
  return { version: v, personas: detail.personas, rows: page, next: more ? page[page.length - 1].customerId : null };
}

/**
 * A version whose labels a batch run is about to write partition by partition: status
 * `scoring`, invisible to lookups of the active version and refused by activation until
 * `completeScoringVersion`.
 */
export async function registerScoringVersion(
  db: Db,
  v: { manifest: Manifest; design: DesignEncoding; metrics: RunMetrics; quantification: Quantification; models: { persona: string; label: string; threshold: number; c: number; features: string[]; model: unknown }[] },
): Promise<void> {
  await db.transaction(async (tx) => {
    const [existing] = await tx.query<{ status: string }>('SELECT status FROM model_versions WHERE version = $1', [v.manifest.modelVersion]);
    if (existing) {
      if (existing.status === 'scoring') return; // a retried assemble job: already registered
      throw new PersonasError('CONFLICT', `model version ${v.manifest.modelVersion} is already published`);
    }
    await tx.query(
      `INSERT INTO model_versions (version, status, persona_file_sha, manifest, design, metrics, quantification, personas, customers, created_at)
       VALUES ($1, 'scoring', $2, $3, $4, $5, $6, $7, $8, $9)`,
      [v.manifest.modelVersion, v.manifest.personaFile.sha256, JSON.stringify(v.manifest), JSON.stringify(v.design), JSON.stringify(v.metrics), JSON.stringify(v.quantification), v.models.map((m) => m.persona), v.quantification.customers, v.manifest.createdAt],
    );
    for (const m of v.models) {
      await tx.query('INSERT INTO persona_models (version, persona, label, threshold, c, features, model) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        v.manifest.modelVersion, m.persona, m.label, m.threshold, m.c, m.features, JSON.stringify(m.model),
      ]);
    }
  });
}

/** Idempotent upsert of one partition's labels (a retried partition rewrites the same rows). */
export async function upsertLabels(
  db: Db,
  version: string,
  rows: { customerId: string; persona: string | null; confidence: number; margin: number; scores: ArrayLike<number> }[],
): Promise<void> {
  const a = rows.map((r) => labelLine(version, r.customerId, r.persona, r.confidence, r.margin, r.scores));
  await db.transaction(async (tx) => {
    await tx.exec(`CREATE TEMP TABLE stage_assignments (LIKE assignments) ON COMMIT DROP`);
    for (let i = 0; i < a.length; i += 20_000) await tx.copyCsv('stage_assignments', LABEL_COLUMNS, [a.slice(i, i + 20_000).join('\n') + '\n']);
    await tx.query(
      `INSERT INTO assignments SELECT * FROM stage_assignments ON CONFLICT (version, customer_id)
       DO UPDATE SET persona = EXCLUDED.persona, confidence = EXCLUDED.confidence, margin = EXCLUDED.margin, scores = EXCLUDED.scores`,
    );
  });
}

/** Marks a scored version ready with its final metrics and quantification. */
export async function completeScoringVersion(db: Db, version: string, final: { metrics: RunMetrics; quantification: Quantification }): Promise<void> {
  await db.query(`UPDATE model_versions SET status = 'ready', metrics = $2, quantification = $3, published_at = now() WHERE version = $1 AND status = 'scoring'`, [
    version, JSON.stringify(final.metrics), JSON.stringify(final.quantification),
  ]);
}

/** Drops a version a failed or cancelled run left in status `scoring`. */
export async function discardScoringVersion(db: Db, version: string): Promise<void> {
  await db.query(`DELETE FROM model_versions WHERE version = $1 AND status = 'scoring'`, [version]);
}
