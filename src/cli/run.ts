// `personas run`: features -> seeds -> per-persona models -> assignment, written to --out.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { buildFeatures, readFeatureTable, type FeatureTable } from '../features/index.ts';
import { readKnownFile } from '../features/known.ts';
import { describeModel } from '../models/learners.ts';
import { evaluateRows, evaluationLine, knownPersonas } from '../models/personas/evaluate.ts';
import { projectPersonas, writeProjection } from '../models/personas/index.ts';
import type { Progress } from '../progress.ts';
import { readColumnMap, withTrainedValues } from '../features/column-map.ts';
import type { ValueMap } from '../features/values.ts';
import { runLabels, writeEvaluation } from './evaluate.ts';
import { terminalProgress } from './progress-bar.ts';
import { addTrainingFlags, trainingPersonaFile, trainingSize, trainOptionsOf, type TrainingFlags, type TrainingSize } from './training-flags.ts';

/** Where a command's customers come from: a data directory (features built) or a built feature table. */
export interface FeatureSource {
  /** Directory of contract inputs; features are built into `<out>/features`. */
  data?: string;
  /** features.parquet, or the directory `personas features` wrote it to. */
  features?: string;
  asOf?: string;
  columns?: string;
}

/** What saved models were trained with: the purchase categories of their features, the client's values they read (scoring with them). */
export interface TrainedInputs {
  categories?: string[];
  values?: ValueMap;
  /** The model, named in errors. */
  model: string;
}

/** The feature table of a command's input (built from --data, or read from --features) and its as-of date. */
export async function featureTableOf(src: FeatureSource, outDir: string, progress: Progress, personaAsOf?: string, trained?: TrainedInputs): Promise<{ table: FeatureTable; asOf: string; summary?: string }> {
  if (!!src.data === !!src.features) {
    throw new InputError('INPUT_INVALID', 'give exactly one of --data <dir> (features are built) and --features <features.parquet or its directory>', { field: src.data ? 'features' : 'data' });
  }
  if (src.data) {
    const featuresDir = join(outDir, 'features');
    mkdirSync(featuresDir, { recursive: true });
    const given = src.columns ? readColumnMap(src.columns) : undefined;
    // Scoring with saved models: the client's values as they learnt them, with the file's further ones.
    const columnMap = trained ? withTrainedValues(given, trained.values ?? {}, trained.model, src.columns ?? '--columns') : given;
    const built = await buildFeatures({ dataDir: src.data, outDir: featuresDir, asOf: src.asOf ?? personaAsOf, columnMap, categories: trained?.categories, progress });
    return { table: built.table, asOf: built.asOf, summary: join(featuresDir, 'features.json') };
  }
  const path = existsSync(src.features!) && statSync(src.features!).isDirectory() ? join(src.features!, 'features.parquet') : src.features!;
  progress.stage('read feature table');
  const table = await readFeatureTable(path);
  // The as-of date: the option, else the one features.json beside the table records, else the persona file's.
  const summaryPath = join(path, '..', 'features.json');
  let asOf = src.asOf;
  if (!asOf && existsSync(summaryPath)) {
    const recorded = (JSON.parse(readFileSync(summaryPath, 'utf8')) as { asOf?: unknown }).asOf;
    if (typeof recorded === 'string') asOf = recorded;
  }
  asOf ??= personaAsOf;
  if (!asOf) throw new InputError('INPUT_INVALID', `${path}: no as-of date (no features.json beside it, no --as-of, no as_of in the persona file)`, { field: 'as_of' });
  return { table, asOf, ...(existsSync(summaryPath) ? { summary: summaryPath } : {}) };
}

export interface RunOptions {
  data: string;
  personas: string;
  out: string;
  asOf?: string;
  columns?: string;
  seed?: number;
  /** Learner kind for every persona, over the persona file's `model.kind`. */
  learner?: string;
  /** Trees, folds and bags (`--trees`, `--folds`, `--bags`), over the training defaults. */
  size?: TrainingSize;
  /** Customers whose persona is known: the run is checked against them (personas evaluate) into `<out>/evaluation.json`. */
  known?: { file: string; empty?: 'skip' | 'none'; randomSample?: boolean; learn?: boolean };
}

/** The whole projection of a data directory into `opts.out`, with a summary on `progress`. */
export async function runProjection(opts: RunOptions, progress: Progress): Promise<void> {
  const personaFile = trainingPersonaFile(opts);
  const columnMap = opts.columns ? readColumnMap(opts.columns) : undefined;
  // The known customers read and checked first: a value naming no persona stops the run before it trains.
  const knownRows = opts.known ? await readKnownFile(opts.known.file, columnMap ?? {}) : undefined;
  const known = opts.known && knownRows ? knownPersonas(knownRows, personaFile.spec.personas, opts.known.file, opts.known.empty).known : undefined;
  mkdirSync(opts.out, { recursive: true });
  const featuresDir = join(opts.out, 'features');
  mkdirSync(featuresDir, { recursive: true });
  const features = await buildFeatures({
    dataDir: opts.data,
    outDir: featuresDir,
    asOf: opts.asOf ?? personaFile.spec.as_of,
    columnMap,
    progress,
  });
  const learnFrom = opts.known?.learn && known ? { file: opts.known.file, personas: known } : undefined;
  const projection = await projectPersonas({ table: features.table, personaFile, asOf: features.asOf, seed: opts.seed, train: trainOptionsOf(opts.size), progress, learnFrom });
  progress.stage('write outputs');
  writeProjection(opts.out, features.table, projection);
  for (const m of projection.models) progress.log(`${m.id}: learner ${describeModel(m.model)}`);
  for (const row of projection.quantification.personas) {
    progress.log(
      `${(row.persona ?? 'unassigned').padEnd(22)} ${String(row.customers).padStart(8)} customers  ${(100 * row.share).toFixed(1).padStart(5)}% of base  ${(100 * row.revenueShare).toFixed(1).padStart(5)}% of revenue`,
    );
  }
  progress.log(`model ${projection.manifest.modelVersion}: ${opts.out}/assignments.csv, quantification.json, metrics.json, model/`);
  if (opts.known && knownRows) {
    progress.stage('known customers');
    const evaluation = await evaluateRows(knownRows, projection.manifest, projection.metrics, opts.known, runLabels(join(opts.out, 'assignments.csv')), projection.quantification);
    writeEvaluation(join(opts.out, 'evaluation.json'), evaluation);
    progress.log(`${evaluationLine(evaluation)} (${join(opts.out, 'evaluation.json')})`);
  }
}

export function registerRun(program: Command): void {
  addTrainingFlags(program.command('run'))
    .description('project the personas of a persona file onto a data directory (features, seeds, models, assignment)')
    .requiredOption('--data <dir>', 'directory of contract inputs')
    .requiredOption('--personas <file>', 'persona file (YAML)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--as-of <date>', 'date the features are computed at (default: the persona file as_of, else the last transaction)')
    .option('--columns <file>', 'JSON or YAML column map for client files named differently')
    .option('--seed <n>', 'random seed', '1')
    .option('--learner <kind>', 'learner of every persona: gbdt, forest, mlp or ensemble (default: the persona file model.kind, else gbdt)')
    .option('--known <file>', 'customers whose persona is known (customer_id, persona): the run is checked against them into <out>/evaluation.json (personas evaluate)')
    .option('--empty <meaning>', 'with --known, an empty persona: skip (the row is left out) or none', 'skip')
    .option('--random-sample', "with --known, the known customers were drawn at random from the base (a survey of a random sample): each persona's size is then corrected by them, with its 95 % interval")
    .option('--learn-from-known', "with --known, the models also learn from them: each persona's known members become seeds, the rule's seeds known to be another persona or none are taken out (each known customer is labelled by the fold models that did not learn from it, so the check stays fair)")
    .action(async (o: { data: string; personas: string; out: string; asOf?: string; columns?: string; seed: string; learner?: string; known?: string; empty: string; randomSample?: boolean; learnFromKnown?: boolean } & TrainingFlags) => {
      if (!/^-?\d+$/.test(o.seed)) throw new InputError('INPUT_INVALID', `--seed must be a whole number (got "${o.seed}")`, { field: 'seed' });
      if (o.empty !== 'skip' && o.empty !== 'none') throw new InputError('INPUT_INVALID', `--empty must be skip or none (got "${o.empty}")`, { field: 'empty' });
      if (o.randomSample && !o.known) throw new InputError('INPUT_INVALID', '--random-sample says how the --known customers were chosen: give --known FILE too', { field: 'random-sample' });
      if (o.learnFromKnown && !o.known) throw new InputError('INPUT_INVALID', '--learn-from-known learns from the --known customers: give --known FILE too', { field: 'learn-from-known' });
      const { known, empty, randomSample, learnFromKnown, ...rest } = o;
      await runProjection({ ...rest, seed: Number(o.seed), size: trainingSize(o), ...(known ? { known: { file: known, empty, randomSample: randomSample === true, learn: learnFromKnown === true } } : {}) }, terminalProgress());
    });
}
