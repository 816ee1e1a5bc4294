// What each job of a run does. Every step reads what earlier steps left in the store (feature
// tables, models) and leaves its own output there, so any worker can take any job, and a step
// that is run twice (a retry, a worker that died midway) gives the same result.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PersonasError } from '../errors.ts';
import { buildFeatures, readFeatureTable, referenceInputs, splitFeatureTable, type FeatureTable } from '../features/index.ts';
import { categoricalColumn, numericColumn } from '../features/table.ts';
import { parseDataSummary } from '../features/summary.ts';
import { MANIFEST_FORMAT, type Evaluation, type Manifest, type PersonaMetrics, type Quantification, type RunMetrics } from '../models/artefacts.ts';
import {
  absentValuesWarning, anySeedMask, assignPersonas, autoThreshold, cleanSeedsBetweenRounds, designColumnNames, encodeDesign, fitDesign, hasSecondRound, OVERLAP_POLICY, parsePersonaFile, specWithLearner, reachCurve, secondRoundTwins, selectSeeds,
  bagsOf, personaLearner, trainPersonas, TRAIN_DEFAULTS, trainingCustomersOf, trainingSampleNote, DesignEncodingSchema, type DesignEncoding, type TrainOptions,
  conditionViews, trainConditionViews, viewLogLines, viewsOf, viewsTrained, viewsWithColumns, withViews, viewOptionsFor,
  type SavedProjection, type SavedScores,
} from '../models/personas/index.ts';
import { absentFeatures, describeAbsentFeatures } from '../models/personas/design.ts';
import { evaluateRows, evaluationLine, knownPersonas } from '../models/personas/evaluate.ts';
import { knownSeedLine, twinSeedMask, withKnownSeeds } from '../models/personas/known-seeds.ts';
import { claimants, claimedSeedsLine, type ClaimedSeeds } from '../models/personas/seed-cleaning.ts';
import type { Progress } from '../progress.ts';
import { buildReportModel, computePortraitStats, renderReportHtml } from '../report/index.ts';
import {
  activateVersion, attachInputs, completeScoringVersion, versionCategories, getRunFile, loadVersionModels, putRunFile, recordEvaluation, registerScoringVersion, storedLabels, upsertLabels, versionDetail, type Db, type JobRecord,
} from '../store/index.ts';
import { codeVersion } from '../version.ts';
import type { JobData, RunParams } from './types.ts';

export interface StepContext {
  db: Db;
  job: JobData;
  run: JobRecord;
  params: RunParams;
  /** Progress of this job (persisted, throttled). */
  progress: Progress;
  /** Throws when the run was cancelled (checked between the long parts of a step). */
  checkCancelled(): Promise<void>;
}

type Result = Record<string, unknown>;

export async function runStep(ctx: StepContext): Promise<Result> {
  switch (ctx.job.kind) {
    case 'features':
      return features(ctx);
    case 'train':
      return train(ctx, ctx.job.persona!);
    case 'clean':
      return clean(ctx);
    case 'retrain':
      return retrain(ctx, ctx.job.persona!);
    case 'assemble':
      return assemble(ctx);
    case 'score':
      return score(ctx, ctx.job.partition!);
    case 'publish':
      return publish(ctx);
    case 'report':
      return report(ctx);
  }
}

async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'personas-job-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A feature table the run keeps in the store. */
async function readStoredTable(ctx: StepContext, name: string): Promise<FeatureTable> {
  const bytes = await getRunFile(ctx.db, ctx.job.runId, name);
  return withTemp(async (dir) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return readFeatureTable(path);
  });
}

/** How long this process keeps a run's feature table after a job last asked for it. */
export const TABLE_KEEP_MS = 60_000;
const keptTables = new WeakMap<Db, Map<string, { table: Promise<FeatureTable>; timer?: NodeJS.Timeout }>>();

/**
 * A run's whole feature table, read once per process while its jobs need it: each persona's
 * `train` and `retrain` job and the `report` read the same table (written once by `features`,
 * never changed after), which took 2 to 3 s a job from the store on a 100,000-customer base.
 * Kept for TABLE_KEEP_MS after its last use; a failed read is not kept. Callers only read it.
 */
function runTable(ctx: StepContext): Promise<FeatureTable> {
  let byRun = keptTables.get(ctx.db);
  if (!byRun) keptTables.set(ctx.db, (byRun = new Map()));
  const runs = byRun;
  const key = ctx.job.runId;
  let entry = runs.get(key);
  if (!entry) {
    const table = readStoredTable(ctx, 'features.parquet');
    entry = { table };
    runs.set(key, entry);
    table.catch(() => runs.get(key)?.table === table && runs.delete(key));
  }
  const kept = entry;
  clearTimeout(kept.timer);
  kept.timer = setTimeout(() => runs.get(key) === kept && runs.delete(key), TABLE_KEEP_MS).unref();
  return kept.table;
}

/** The run's persona file, with the learner the run asked for (if any) over its `model.kind`. */
const spec = (p: RunParams) => specWithLearner(parsePersonaFile(p.personaFile.content, p.personaFile.path), p.learner);

async function features(ctx: StepContext): Promise<Result> {
  const { params } = ctx;
  return withTemp(async (dir) => {
    // Scoring with a published version: its purchase categories, so the share_cat_* columns match its models.
    const categories = params.model ? await versionCategories(ctx.db, params.model) : undefined;
    const build = await buildFeatures({ dataDir: params.data, outDir: dir, asOf: params.asOf ?? spec(params).as_of, categories, columnMap: params.columnMap, progress: ctx.progress });
    // Scoring with a published version: the features its models read that this base does not hold, said.
    const absent = params.model ? absentFeatures(build.table, (await versionDetail(ctx.db, params.model)).design) : [];
    if (absent.length) ctx.progress.log(describeAbsentFeatures(absent));
    await ctx.checkCancelled();
    ctx.progress.stage('store feature table', params.partitions + 1);
    await putRunFile(ctx.db, ctx.job.runId, 'features.parquet', readFileSync(join(dir, 'features.parquet')));
    await putRunFile(ctx.db, ctx.job.runId, 'features.json', readFileSync(join(dir, 'features.json')));
    const parts = await splitFeatureTable(join(dir, 'features.parquet'), params.partitions, dir);
    for (const [k, part] of parts.entries()) {
      await putRunFile(ctx.db, ctx.job.runId, `features-${k}.parquet`, readFileSync(part.path));
      ctx.progress.tick(k + 2);
    }
    return {
      customers: build.table.rows,
      asOf: build.asOf,
      partitions: parts.map((p) => p.rows),
      rejects: Object.fromEntries(build.rejects.map((r) => [`${r.file}:${r.reason}`, r.rows])),
    };
  });
}

/** The training sample's size a run asks for (TrainOptions.trainingCustomers), the default unless given. */
const runTrainingCustomers = (params: RunParams): number => params.train.trainingCustomers ?? TRAIN_DEFAULTS.trainingCustomers ?? 0;

function trainOptions(params: RunParams, model: { kind: TrainOptions['learner']['kind']; params: Record<string, unknown> } | undefined): TrainOptions {
  return {
    ...TRAIN_DEFAULTS,
    seed: params.seed,
    folds: params.train.folds ?? TRAIN_DEFAULTS.folds,
    bags: params.train.bags ?? TRAIN_DEFAULTS.bags,
    views: viewOptionsFor(params.train),
    trainingCustomers: runTrainingCustomers(params),
    workers: 1,
    // The run's tree count applies whether or not the persona file names a learner (default gbdt).
    learner: personaLearner({ kind: model?.kind ?? 'gbdt', params: { ...model?.params, ...(params.train.numTrees ? { numTrees: params.train.numTrees } : {}) } }),
  };
}

/** Whether training has a second round (models/personas/rounds.ts, shared with `personas run`). */
export { hasSecondRound };

const u8 = (b: Buffer) => new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const f64 = (b: Buffer) => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

interface PersonaTable {
  table: FeatureTable;
  file: ReturnType<typeof spec>;
  seeds: ReturnType<typeof selectSeeds>;
  s: ReturnType<typeof selectSeeds>[number];
  p: ReturnType<typeof spec>['personas'][number];
  /** The persona's index among the trainable personas (as `personas run` numbers them). */
  index: number;
  /** With known customers learnt from (known.learn): every known customer found in the base, no one's twin. */
  knownMask?: Uint8Array;
  base: Result;
}

async function personaTable(ctx: StepContext, persona: string): Promise<PersonaTable> {
  const file = spec(ctx.params);
  ctx.progress.stage('read features');
  const table = await runTable(ctx);
  ctx.progress.stage('seeds');
  // With known.learn, the known customers taken in as seeds as `personas run --learn-from-known` does (known-seeds.ts).
  const known = ctx.params.known?.learn ? ctx.params.known : undefined;
  const learnt = known ? withKnownSeeds(selectSeeds(table, file), table.ids, knownPersonas(known.rows, file.personas, known.file, known.empty).known, file.personas.map((x) => x.min_seeds)) : null;
  const seeds = learnt?.seeds ?? selectSeeds(table, file);
  const s = seeds.find((x) => x.id === persona);
  const p = file.personas.find((x) => x.id === persona);
  if (!s || !p) throw new PersonasError('JOB', `persona '${persona}' is not in the run's persona file`);
  const index = seeds.filter((x) => x.status === 'ok').findIndex((x) => x.id === persona);
  const absent = absentValuesWarning(s);
  if (absent) ctx.progress.log(absent);
  const line = knownSeedLine(s);
  if (line) ctx.progress.log(line);
  const knownSeeds = s.known ? { members: s.known.members, added: s.known.added, removed: s.known.removed } : undefined;
  return {
    table,
    file,
    seeds,
    s,
    p,
    index,
    knownMask: learnt?.knownMask,
    base: { persona, seeds: s.seeds, ruleMatches: s.ruleMatches, seedOverlaps: s.overlaps, ...(knownSeeds && learnt ? { knownSeeds, knownFound: learnt.matched } : {}) },
  };
}

/**
 * First round of a persona (or its only round when training has no second): with a second round
 * to come, only the fold models' out-of-fold scores are kept (in the store, for `clean`).
 */
async function train(ctx: StepContext, persona: string): Promise<Result> {
  const t = await personaTable(ctx, persona);
  if (t.s.status !== 'ok') return { ...t.base, status: 'skipped', reason: t.s.reason };
  await ctx.checkCancelled();
  const options = trainOptions(ctx.params, t.file.model);
  const sampleNote = trainingSampleNote(t.table.rows, options);
  if (sampleNote) ctx.progress.log(`${persona}: ${sampleNote}`);
  if (!hasSecondRound(options)) return finalRound(ctx, t, options, {});
  ctx.progress.stage('design');
  const design = encodeDesign(t.table, fitDesign(t.table));
  ctx.progress.stage('train (first round)', options.folds);
  const [m] = await trainPersonas(design, [{ id: persona, seedMask: t.s.mask, ruleFeatures: t.s.ruleFeatures, knownMembers: t.s.known?.memberMask, index: t.index }], { ...options, foldsOnly: true }, (done) => ctx.progress.tick(done));
  ctx.progress.stage('keep scores');
  const both = new Float64Array(2 * m.oofScores.length);
  both.set(m.oofScores, 0);
  both.set(m.probabilities, m.oofScores.length);
  await putRunFile(ctx.db, ctx.job.runId, `round1-${persona}.bin`, bytes(both));
  await putRunFile(ctx.db, ctx.job.runId, `seeds-${persona}.bin`, bytes(t.s.mask));
  if (t.s.known) await putRunFile(ctx.db, ctx.job.runId, `known-${persona}.bin`, bytes(t.s.known.memberMask));
  return { ...t.base, status: 'trained', round: 1, features: m.features };
}

/** Between the rounds: the seeds each persona's first round judges mislabelled, across personas. */
async function clean(ctx: StepContext): Promise<Result> {
  const file = spec(ctx.params);
  const options = trainOptions(ctx.params, file.model);
  const first = (await stageResults(ctx, 'train')).filter((r) => r.status === 'trained');
  // In the persona file's order, as `personas run` has them: a seed two other personas' models
  // claim alike is then counted as the same one's (the first) in both.
  const order = file.personas.map((p) => p.id);
  const ids = first.map((r) => String(r.persona)).sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const masks: Uint8Array[] = [];
  const knownMembers: (Uint8Array | undefined)[] = [];
  const scores: Float64Array[] = [];
  const probabilities: Float64Array[] = [];
  for (const id of ids) {
    const b = await getRunFile(ctx.db, ctx.job.runId, `seeds-${id}.bin`);
    masks.push(u8(b));
    knownMembers.push(first.find((r) => r.persona === id)?.knownSeeds ? u8(await getRunFile(ctx.db, ctx.job.runId, `known-${id}.bin`)) : undefined);
    const both = f64(await getRunFile(ctx.db, ctx.job.runId, `round1-${id}.bin`));
    scores.push(both.subarray(0, both.length / 2));
    probabilities.push(both.subarray(both.length / 2));
  }
  const leftOut: Record<string, number> = {};
  const skipped: Record<string, string> = {};
  const claimed: Record<string, ClaimedSeeds> = {};
  const cleaning = cleanSeedsBetweenRounds(masks, scores, probabilities, options, knownMembers);
  if (cleaning) {
    for (const [k, id] of ids.entries()) {
      await putRunFile(ctx.db, ctx.job.runId, `exclude-${id}.bin`, bytes(cleaning.excluded[k]));
      leftOut[id] = cleaning.counts[k];
      const by = claimants(cleaning.claimedBy[k], ids);
      claimed[id] = { seedsClaimed: cleaning.claimed[k], seedsClaimedBy: by };
      const why = cleaning.skipped[k];
      if (why) skipped[id] = why;
      // What `personas run` logs of the cleaning, in the job's log.
      ctx.progress.log(why ? `${id}: ${why}` : `${id}: ${cleaning.counts[k]} seeds judged mislabelled, left out of the second round`);
      const line = claimedSeedsLine(id, cleaning.claimed[k], masks[k], by);
      if (line) ctx.progress.log(line);
    }
  }
  return { leftOut, skipped, claimed };
}

/** Second round of a persona: without its mislabelled seeds, with its look-alike twins. */
async function retrain(ctx: StepContext, persona: string): Promise<Result> {
  const t = await personaTable(ctx, persona);
  const firstRound = (await stageResults(ctx, 'train')).find((r) => r.persona === persona);
  if (t.s.status !== 'ok' || firstRound?.status !== 'trained') return { ...t.base, status: 'skipped', reason: t.s.reason ?? String(firstRound?.reason ?? '') };
  const options = trainOptions(ctx.params, t.file.model);
  const [cleaning] = await stageResults(ctx, 'clean');
  const leftOut = Number((cleaning?.leftOut as Record<string, number> | undefined)?.[persona] ?? 0);
  const cleaningSkipped = (cleaning?.skipped as Record<string, string> | undefined)?.[persona] ?? null;
  const claimed = (cleaning?.claimed as Record<string, ClaimedSeeds> | undefined)?.[persona];
  const excludeMask = options.cleanSeedsQuantile >= 0 ? new Uint8Array(await getRunFile(ctx.db, ctx.job.runId, `exclude-${persona}.bin`)) : undefined;
  let twinMask: Uint8Array | undefined;
  let twins = 0;
  if (options.twinsPerSeed > 0) {
    ctx.progress.stage('twins');
    const found = await secondRoundTwins(
      {
        design: encodeDesign(t.table, fitDesign(t.table)),
        modelFeatures: firstRound.features as string[],
        seedMask: twinSeedMask(t.s),
        excludeMask,
        anySeed: anySeedMask(t.seeds.map((s) => s.mask), t.table.rows, t.knownMask),
        firstRoundProbabilities: options.twinSearch === 'model' ? f64(await getRunFile(ctx.db, ctx.job.runId, `round1-${persona}.bin`)).subarray(t.table.rows) : undefined,
        index: t.index,
      },
      options,
    );
    if (found) {
      twinMask = found.mask;
      twins = found.twins;
    }
  }
  await ctx.checkCancelled();
  return finalRound(ctx, t, options, { twinMask, excludeMask, twins, leftOut, cleaningSkipped, claimed });
}

/** The round whose models are kept: fold models for the probabilities, a final model for new customers. */
async function finalRound(ctx: StepContext, t: PersonaTable, options: TrainOptions, extra: { twinMask?: Uint8Array; excludeMask?: Uint8Array; twins?: number; leftOut?: number; cleaningSkipped?: string | null; claimed?: ClaimedSeeds }): Promise<Result> {
  const { file, p, s } = t;
  const persona = s.id;
  ctx.progress.stage('design');
  const encoding = fitDesign(t.table);
  const design = encodeDesign(t.table, encoding);
  ctx.progress.stage('train', options.folds + 1);
  let [m] = await trainPersonas(design, [{ id: persona, seedMask: s.mask, ruleFeatures: s.ruleFeatures, twinMask: extra.twinMask, excludeMask: extra.excludeMask, knownMembers: s.known?.memberMask, index: t.index }], options, (done) => ctx.progress.tick(done));
  const viewOptions = viewsOf(options);
  if (options.views && !viewOptions) ctx.progress.log(`condition views: none, since they are trained for the gbdt learner only and this model is ${options.learner.kind}${options.views.strictPrecision ? ' (so strict precision, which tempers by what the views measure, does not apply)' : ''}`);
  if (viewOptions) {
    const i = file.personas.indexOf(p);
    const views = viewsWithColumns(conditionViews(p.key_drivers, t.table, `personas[${i}].key_drivers`), design);
    await ctx.checkCancelled();
    ctx.progress.stage('condition views', views.length * (viewOptions.folds + 1));
    const [trained] = await trainConditionViews(design, [{ id: persona, index: t.index, bags: m.bags, views }], options, (done) => ctx.progress.tick(done));
    m = withViews(m, trained, viewOptions, design.names);
    for (const line of viewLogLines(m)) ctx.progress.log(line);
  }
  const threshold = p.threshold === 'auto'
    ? autoThreshold(m.probabilities, file.assignment.target_precision)
    : { threshold: p.threshold, expectedPrecision: meanAbove(m.probabilities, p.threshold) };
  const importance: Record<string, number> = {};
  m.model.featureImportance().forEach((v, j) => v > 0 && (importance[m.features[j]] = v));
  ctx.progress.stage('keep model and probabilities');
  await putRunFile(ctx.db, ctx.job.runId, `model-${persona}.json`, Buffer.from(JSON.stringify({ persona, c: m.c, features: m.features, model: m.model.toJSON() })));
  await putRunFile(ctx.db, ctx.job.runId, 'design.json', Buffer.from(JSON.stringify(encoding)));
  const partitionDigests = await keepOutOfFold(ctx, persona, t.table, m.probabilities);
  return {
    ...t.base,
    status: 'trained',
    twins: extra.twins ?? 0,
    seedsLeftOut: extra.leftOut ?? 0,
    seedCleaningSkipped: extra.cleaningSkipped ?? null,
    ...extra.claimed,
    threshold: threshold.threshold,
    expectedPrecision: threshold.expectedPrecision,
    c: m.c,
    prevalenceC: m.prevalenceC,
    baseWeight: m.baseWeight,
    validationAuc: m.validationAuc,
    bags: m.bags,
    views: m.views ?? [],
    estimatedPrevalence: m.prevalence,
    reachCurve: reachCurve(m.probabilities),
    calibration: m.calibration,
    featureImportance: importance,
    learner: options.learner,
    folds: options.folds,
    partitionDigests,
  };
}

/** The digest of a partition's customer ids, in order: a score job checks it labels the rows it was given. */
const idsDigest = (ids: readonly string[]): string => createHash('sha256').update(ids.join('\n')).digest('hex');

/** The partitions' sizes the features job made, in order (partition k starts after the ones before it). */
async function partitionSizes(ctx: StepContext): Promise<number[]> {
  const [feat] = await stageResults(ctx, 'features');
  return feat.partitions as number[];
}

/**
 * Keeps a persona's out-of-fold probabilities, one file per scoring partition, so the `score`
 * jobs label the training base with them as `personas run` does: the thresholds were chosen on
 * these probabilities, and the final model's scores of the customers it learnt from would be
 * in-sample. Returns each partition's ids digest.
 */
async function keepOutOfFold(ctx: StepContext, persona: string, table: FeatureTable, probabilities: Float64Array): Promise<string[]> {
  const sizes = await partitionSizes(ctx);
  if (sizes.reduce((a, b) => a + b, 0) !== table.rows) throw new PersonasError('JOB', `the feature table has ${table.rows} customers, its partitions ${sizes.join(' + ')}`);
  const digests: string[] = [];
  let first = 0;
  for (const [k, rows] of sizes.entries()) {
    await putRunFile(ctx.db, ctx.job.runId, `probabilities-${persona}-${k}.bin`, bytes(probabilities.subarray(first, first + rows)));
    digests.push(idsDigest(table.ids.slice(first, first + rows)));
    first += rows;
  }
  return digests;
}

function meanAbove(p: Float64Array, t: number): number | null {
  let n = 0;
  let sum = 0;
  for (const v of p) if (v >= t) {
    n++;
    sum += v;
  }
  return n ? sum / n : null;
}

interface TrainResult {
  persona: string;
  status: 'trained' | 'skipped';
  twins?: number;
  seedsLeftOut?: number;
  seedCleaningSkipped?: string | null;
  seedsClaimed?: number;
  seedsClaimedBy?: Record<string, number>;
  reason?: string;
  seeds: number;
  seedOverlaps: Record<string, number>;
  /** With known customers learnt from: what they did to the seeds, and how many were found in the base. */
  knownSeeds?: PersonaMetrics['knownSeeds'];
  knownFound?: number;
  threshold?: number;
  expectedPrecision?: number | null;
  c?: number;
  prevalenceC?: number;
  baseWeight?: number;
  validationAuc?: number;
  bags?: number;
  views?: PersonaMetrics['views'];
  estimatedPrevalence?: number;
  reachCurve?: PersonaMetrics['reachCurve'];
  calibration?: PersonaMetrics['calibration'];
  featureImportance?: Record<string, number>;
  learner?: TrainOptions['learner'];
  folds?: number;
  /** Per scoring partition, the digest of its customer ids (absent from jobs of versions before it). */
  partitionDigests?: string[];
}

/** Results of the round whose models were kept: `retrain` after a second round, else `train`. */
async function finalTraining(ctx: StepContext): Promise<Result[]> {
  const second = await stageResults(ctx, 'retrain');
  return second.length ? second : stageResults(ctx, 'train');
}

async function stageResults(ctx: StepContext, kind: string): Promise<Result[]> {
  const rows = await ctx.db.query<{ id: string; result: Result | null }>(`SELECT id, result FROM jobs WHERE run_id = $1 AND kind = $2 AND status = 'done' ORDER BY id`, [ctx.job.runId, kind]);
  return rows.map((r) => r.result ?? {});
}

function runMetrics(version: string, customers: number, trainingCustomers: number, file: ReturnType<typeof spec>, trained: TrainResult[], coverage: Map<string, number>): RunMetrics {
  return {
    modelVersion: version,
    customers,
    overlapPolicy: OVERLAP_POLICY,
    trainingCustomers,
    timings: {},
    personas: file.personas.map((p) => {
      const t = trained.find((x) => x.persona === p.id)!;
      const ok = t.status === 'trained';
      return {
        persona: p.id,
        status: t.status,
        reason: t.reason,
        seeds: t.seeds,
        twins: t.twins ?? 0,
        seedsLeftOut: t.seedsLeftOut ?? 0,
        seedCleaningSkipped: t.seedCleaningSkipped ?? null,
        ...(t.seedsClaimed !== undefined ? { seedsClaimed: t.seedsClaimed, seedsClaimedBy: t.seedsClaimedBy ?? {} } : {}),
        validationAuc: ok ? t.validationAuc! : null,
        bags: ok && t.bags !== undefined ? t.bags : null,
        views: t.views ?? [],
        estimatedC: ok ? t.c! : null,
        prevalenceC: ok && t.prevalenceC !== undefined ? t.prevalenceC : null,
        ...(ok && t.baseWeight !== undefined ? { baseWeight: t.baseWeight } : {}),
        threshold: ok ? t.threshold! : null,
        expectedPrecision: ok ? (t.expectedPrecision ?? null) : null,
        coverage: coverage.get(p.id) ?? 0,
        estimatedPrevalence: ok ? t.estimatedPrevalence! : null,
        seedOverlaps: t.seedOverlaps,
        ...(t.knownSeeds ? { knownSeeds: t.knownSeeds } : {}),
        reachCurve: t.reachCurve ?? [],
        calibration: t.calibration ?? [],
        featureImportance: t.featureImportance ?? {},
      };
    }),
  };
}

/** The id of the version a run makes: fixed by the run, so a retried assemble registers the same one. */
function versionId(ctx: StepContext, sha256: string): string {
  const stamp = ctx.run.createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${createHash('sha256').update(`${ctx.job.runId}|${sha256}|${codeVersion}`).digest('hex').slice(0, 8)}`;
}

/** Scoring only: a new version with the models of a published one, for a new base. */
async function assembleFrom(ctx: StepContext, source: string): Promise<Result> {
  const [feat] = await stageResults(ctx, 'features');
  const d = await versionDetail(ctx.db, source);
  const models = await ctx.db.query<{ persona: string; label: string; threshold: number; c: number; features: string[]; model: unknown }>(
    'SELECT persona, label, threshold, c, features, model FROM persona_models WHERE version = $1 ORDER BY persona',
    [source],
  );
  const version = versionId(ctx, d.manifest.personaFile.sha256);
  const customers = Number(feat.customers);
  const manifest: Manifest = {
    ...d.manifest,
    modelVersion: version,
    createdAt: new Date().toISOString(),
    asOf: String(feat.asOf),
    learner: { ...d.manifest.learner, params: { ...d.manifest.learner.params, run: ctx.job.runId, modelsOf: source } },
  };
  const metrics: RunMetrics = { ...d.metrics, modelVersion: version, customers };
  await registerScoringVersion(ctx.db, { manifest, design: d.design, metrics, quantification: { modelVersion: version, customers, personas: [], bySegment: [] }, models });
  return { version, personas: models.map((m) => m.persona), modelsOf: source };
}

async function assemble(ctx: StepContext): Promise<Result> {
  const { params } = ctx;
  if (params.model) return assembleFrom(ctx, params.model);
  const file = spec(params);
  const [feat] = await stageResults(ctx, 'features');
  const trainedAll = (await finalTraining(ctx)) as unknown as TrainResult[];
  const trained = trainedAll.filter((t) => t.status === 'trained');
  if (!trained.length) {
    throw new PersonasError('JOB', `no persona could be trained: ${trainedAll.map((t) => `${t.persona}: ${t.reason ?? t.status}`).join('; ')}`);
  }
  const design: DesignEncoding = DesignEncodingSchema.parse(JSON.parse((await getRunFile(ctx.db, ctx.job.runId, 'design.json')).toString('utf8')));
  const sha256 = createHash('sha256').update(params.personaFile.content).digest('hex');
  const version = versionId(ctx, sha256);
  const customers = Number(feat.customers);
  const first = trained[0];
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    modelVersion: version,
    createdAt: new Date().toISOString(),
    codeVersion,
    personaFile: { path: params.personaFile.path, sha256, content: params.personaFile.content },
    asOf: String(feat.asOf),
    seed: params.seed,
    features: designColumnNames(design),
    learner: { kind: first.learner!.kind, params: { ...first.learner!.params, folds: first.folds, unlabeledPerSeed: TRAIN_DEFAULTS.unlabeledPerSeed, ruleFeatures: TRAIN_DEFAULTS.ruleFeatures, bags: bagsOf({ bags: ctx.params.train.bags ?? TRAIN_DEFAULTS.bags, learner: first.learner! }), views: viewsTrained({ views: viewOptionsFor(ctx.params.train), learner: first.learner! }), trainingCustomers: runTrainingCustomers(ctx.params), ...(params.known?.learn && first.knownFound !== undefined ? { knownSeeds: { file: params.known.file, customers: first.knownFound } } : {}), run: ctx.job.runId } },
    assignment: { targetPrecision: file.assignment.target_precision, minMargin: file.assignment.min_margin },
    personas: file.personas.map((p) => {
      const t = trainedAll.find((x) => x.persona === p.id)!;
      const ok = t.status === 'trained';
      return { id: p.id, label: p.label, description: p.description, status: t.status, reason: t.reason, threshold: ok ? t.threshold : undefined, modelFile: ok ? `${p.id}.json` : undefined };
    }),
  };
  const models = [];
  for (const t of trained) {
    const m = JSON.parse((await getRunFile(ctx.db, ctx.job.runId, `model-${t.persona}.json`)).toString('utf8')) as { c: number; features: string[]; model: unknown };
    models.push({ persona: t.persona, label: file.personas.find((p) => p.id === t.persona)!.label, threshold: t.threshold!, c: m.c, features: m.features, model: m.model });
  }
  const quantification: Quantification = { modelVersion: version, customers, personas: [], bySegment: [] };
  await registerScoringVersion(ctx.db, { manifest, design, metrics: runMetrics(version, customers, trainingCustomersOf(customers, { trainingCustomers: runTrainingCustomers(ctx.params) }), file, trainedAll, new Map()), quantification, models });
  return { version, personas: trained.map((t) => t.persona) };
}

/** One partition's share of the quantification, summed by `publish`. */
interface PartialQuantification {
  customers: number;
  /** Per manifest persona id, and '' for unassigned. */
  assigned: Record<string, { customers: number; revenue: number; confidence: number }>;
  totalRevenue: number;
  bySegment: Record<string, number>;
  /** Sum of each persona's probability (its mean over the base is the estimated prevalence). */
  probability: Record<string, number>;
}

async function score(ctx: StepContext, partition: number): Promise<Result> {
  const [assembled] = await stageResults(ctx, 'assemble');
  const version = String(assembled.version);
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    timings[name] = Math.round(performance.now() - t);
    t = performance.now();
  };
  ctx.progress.stage('load models');
  const saved = await loadVersionModels(ctx.db, version);
  ctx.progress.stage('read partition');
  lap('loadModelsMs');
  const table = await readStoredTable(ctx, `features-${partition}.parquet`);
  lap('readMs');
  await ctx.checkCancelled();
  ctx.progress.stage('score', 2);
  const s = (await outOfFoldScores(ctx, saved, table, partition)) ?? saved.score(table);
  ctx.progress.tick(1);
  const rows = table.ids.map((customerId, i) => ({
    customerId,
    persona: s.assignment.persona[i] >= 0 ? s.personas[s.assignment.persona[i]] : null,
    confidence: s.assignment.confidence[i],
    margin: s.assignment.margin[i],
    scores: s.probabilities.map((probability) => probability[i]),
  }));
  lap('scoreMs');
  ctx.progress.stage('write labels');
  await upsertLabels(ctx.db, version, rows);
  lap('writeMs');
  const money = numericColumn(table, 'monetary_12m');
  const segment = categoricalColumn(table, 'segment');
  const partial: PartialQuantification = { customers: table.rows, assigned: {}, totalRevenue: 0, bySegment: {}, probability: {} };
  s.personas.forEach((p, k) => (partial.probability[p] = s.probabilities[k].reduce((a, b) => a + b, 0)));
  rows.forEach((r, i) => {
    const key = r.persona ?? '';
    const revenue = money && !Number.isNaN(money[i]) ? money[i] : 0;
    const slot = (partial.assigned[key] ??= { customers: 0, revenue: 0, confidence: 0 });
    slot.customers++;
    slot.revenue += revenue;
    slot.confidence += r.confidence;
    partial.totalRevenue += revenue;
    const cross = JSON.stringify([r.persona, segment ? segment[i] : null]);
    partial.bySegment[cross] = (partial.bySegment[cross] ?? 0) + 1;
  });
  return { version, rows: table.rows, scores: table.rows * s.personas.length, partial, timings };
}

/**
 * A training run's labels of a partition: the out-of-fold probabilities its training jobs kept
 * (the labels `personas run` gives the same base), assigned with the version's thresholds and
 * margin. Null for a scoring-only run, or when a training job of an earlier version kept none:
 * the version's models then score the partition.
 */
async function outOfFoldScores(ctx: StepContext, saved: SavedProjection, table: FeatureTable, partition: number): Promise<SavedScores | null> {
  if (ctx.params.model) return null;
  const trained = (await finalTraining(ctx)) as unknown as TrainResult[];
  const kept = saved.personas.map((p) => trained.find((t) => t.persona === p.id)?.partitionDigests);
  if (kept.some((d) => !d)) return null;
  const digest = idsDigest(table.ids);
  const probabilities: Float64Array[] = [];
  for (const [k, p] of saved.personas.entries()) {
    if (kept[k]![partition] !== digest) throw new PersonasError('JOB', `partition ${partition}'s customers are not the rows persona '${p.id}' was trained with (ids digest ${digest.slice(0, 12)}, expected ${String(kept[k]![partition]).slice(0, 12)})`);
    const probability = f64(await getRunFile(ctx.db, ctx.job.runId, `probabilities-${p.id}-${partition}.bin`));
    if (probability.length !== table.rows) throw new PersonasError('JOB', `persona '${p.id}': ${probability.length} probabilities kept for partition ${partition}'s ${table.rows} customers`);
    probabilities.push(probability);
  }
  const assignment = assignPersonas(probabilities, saved.personas.map((p) => p.threshold), saved.manifest.assignment.minMargin);
  const prevalence = probabilities.map((q) => (q.length ? q.reduce((a, b) => a + b, 0) / q.length : 0));
  return { personas: saved.personas.map((p) => p.id), probabilities, prevalence, assignment };
}

async function publish(ctx: StepContext): Promise<Result> {
  const file = spec(ctx.params);
  const [feat] = await stageResults(ctx, 'features');
  const [assembled] = await stageResults(ctx, 'assemble');
  const version = String(assembled.version);
  const trainedIds = assembled.personas as string[];
  const customers = Number(feat.customers);
  ctx.progress.stage('check labels');
  const [counts] = await ctx.db.query<{ a: number; s: number; per: number }>(
    `SELECT count(*)::int AS a, coalesce(sum(cardinality(scores)), 0)::int AS s, count(*) FILTER (WHERE cardinality(scores) <> $2)::int AS per
     FROM assignments WHERE version = $1`,
    [version, trainedIds.length],
  );
  if (counts.a !== customers || counts.s !== customers * trainedIds.length || counts.per !== 0) {
    throw new PersonasError('JOB', `version ${version} has ${counts.a} labels and ${counts.s} scores for ${customers} customers x ${trainedIds.length} personas: a partition is missing`);
  }
  ctx.progress.stage('quantify');
  const partials = (await stageResults(ctx, 'score')).map((r) => r.partial as PartialQuantification);
  const sum: PartialQuantification = { customers: 0, assigned: {}, totalRevenue: 0, bySegment: {}, probability: {} };
  for (const p of partials) {
    sum.customers += p.customers;
    sum.totalRevenue += p.totalRevenue;
    for (const [k, v] of Object.entries(p.assigned)) {
      const slot = (sum.assigned[k] ??= { customers: 0, revenue: 0, confidence: 0 });
      slot.customers += v.customers;
      slot.revenue += v.revenue;
      slot.confidence += v.confidence;
    }
    for (const [k, v] of Object.entries(p.bySegment)) sum.bySegment[k] = (sum.bySegment[k] ?? 0) + v;
    for (const [k, v] of Object.entries(p.probability ?? {})) sum.probability[k] = (sum.probability[k] ?? 0) + v;
  }
  const trainedAll = (await finalTraining(ctx)) as unknown as TrainResult[];
  // Prevalence: out-of-fold on the training base when the run trained; else the mean probability on this base.
  const prevalence = (persona: string) => {
    const t = trainedAll.find((x) => x.persona === persona);
    if (t) return t.status === 'trained' ? t.estimatedPrevalence! : null;
    return persona in sum.probability ? sum.probability[persona] / Math.max(1, customers) : null;
  };
  const row = (persona: string | null, label: string) => {
    const a = sum.assigned[persona ?? ''] ?? { customers: 0, revenue: 0, confidence: 0 };
    return {
      persona,
      label,
      customers: a.customers,
      share: customers ? a.customers / customers : 0,
      revenue: Math.round(a.revenue * 100) / 100,
      revenueShare: sum.totalRevenue ? a.revenue / sum.totalRevenue : 0,
      meanConfidence: persona !== null && a.customers ? a.confidence / a.customers : null,
      estimatedPrevalence: persona !== null ? prevalence(persona) : null,
    };
  };
  const quantification: Quantification = {
    modelVersion: version,
    customers,
    personas: [...file.personas.map((p) => row(p.id, p.label)), row(null, 'Unassigned')],
    bySegment: Object.entries(sum.bySegment)
      .map(([key, n]) => {
        const [persona, segment] = JSON.parse(key) as [string | null, string | null];
        return { persona, segment, customers: n };
      })
      .sort((x, y) => String(x.persona).localeCompare(String(y.persona)) || String(x.segment).localeCompare(String(y.segment))),
  };
  const coverage = new Map(file.personas.map((p) => [p.id, (sum.assigned[p.id]?.customers ?? 0) / Math.max(1, customers)]));
  let metrics: RunMetrics;
  if (ctx.params.model) {
    const registered = (await versionDetail(ctx.db, version)).metrics;
    metrics = { ...registered, personas: registered.personas.map((m) => ({ ...m, coverage: coverage.get(m.persona) ?? 0, estimatedPrevalence: prevalence(m.persona) })) };
  } else {
    metrics = runMetrics(version, customers, trainingCustomersOf(customers, { trainingCustomers: runTrainingCustomers(ctx.params) }), file, trainedAll, coverage);
  }
  // The reference files and categories the features used, for scoring raw rows of new customers.
  ctx.progress.stage('keep reference inputs');
  const summary = JSON.parse((await getRunFile(ctx.db, ctx.job.runId, 'features.json')).toString('utf8')) as { categories?: string[] };
  await attachInputs(ctx.db, version, referenceInputs(ctx.params.data), summary.categories);
  ctx.progress.stage('complete version');
  await completeScoringVersion(ctx.db, version, { metrics, quantification });
  if (ctx.params.activate) await activateVersion(ctx.db, version);
  return { version, customers, scores: counts.s, activated: ctx.params.activate };
}

/**
 * The consultant's report of the new version: portrait statistics (members vs base on every
 * feature) kept with the version, so GET /v1/report draws the portraits, and the page itself kept
 * with the run.
 */
async function report(ctx: StepContext): Promise<Result> {
  const [assembled] = await stageResults(ctx, 'assemble');
  const version = String(assembled.version);
  ctx.progress.stage('read features');
  const table = await runTable(ctx);
  const labels = await ctx.db.query<{ customer_id: string; persona: string | null }>('SELECT customer_id, persona FROM assignments WHERE version = $1', [version]);
  const personaOf = new Map(labels.map((l) => [l.customer_id, l.persona]));
  ctx.progress.stage('portraits');
  const d = await versionDetail(ctx.db, version);
  const portraits = computePortraitStats(table, (id) => personaOf.get(id), d.manifest.personas.map((p) => p.id));
  const data = parseDataSummary(JSON.parse((await getRunFile(ctx.db, ctx.job.runId, 'features.json')).toString('utf8')), `run ${ctx.job.runId}'s features.json`);
  await ctx.db.query('UPDATE model_versions SET portraits = $2, data_summary = $3 WHERE version = $1', [version, JSON.stringify(portraits), JSON.stringify(data)]);
  // Checked against the known customers the run was given, the check kept with the version.
  let evaluation: Evaluation | null = null;
  const known = ctx.params.known;
  if (known) {
    ctx.progress.stage('known customers');
    evaluation = await evaluateRows(known.rows, d.manifest, d.metrics, known, storedLabels(ctx.db, version), d.quantification);
    await recordEvaluation(ctx.db, evaluation);
    ctx.progress.log(evaluationLine(evaluation));
  }
  const html = renderReportHtml(buildReportModel({ manifest: d.manifest, metrics: d.metrics, quantification: d.quantification, portraits, data, evaluation }, { lang: 'en' }));
  await putRunFile(ctx.db, ctx.job.runId, 'report.html', Buffer.from(html));
  return { version, report: 'report.html', bytes: html.length, ...(evaluation ? { known: { matched: evaluation.matched, assigned: evaluation.assigned, correct: evaluation.correct, macroF1: evaluation.macroF1 } } : {}) };
}
