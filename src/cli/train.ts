// `personas train`: learns the persona models from a feature table and the seeds `personas seed`
// wrote (or the persona file's rules when no seeds are given) and writes model/ and metrics.json.
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { describeModel } from '../models/learners.ts';
import { projectPersonas, writeProjection, type Projection } from '../models/personas/index.ts';
import { readSeeds } from '../models/personas/seed-files.ts';
import { knownPersonas } from '../models/personas/evaluate.ts';
import { readKnownFile } from '../features/known.ts';
import { readColumnMap } from '../features/column-map.ts';
import type { Progress } from '../progress.ts';
import { terminalProgress } from './progress-bar.ts';
import { addTrainingFlags, trainingPersonaFile, trainingSize, trainOptionsOf, type TrainingFlags, type TrainingSize } from './training-flags.ts';
import { featureTableOf, type FeatureSource } from './run.ts';

export interface TrainCommandOptions extends FeatureSource {
  personas: string;
  out: string;
  /** Directory holding seeds.csv and seeds.json from `personas seed`. */
  seeds?: string;
  seed?: number;
  /** Learner kind for every persona, over the persona file's `model.kind`. */
  learner?: string;
  /** Trees, folds and bags (`--trees`, `--folds`, `--bags`), over the training defaults. */
  size?: TrainingSize;
  /** Customers whose persona is known, learnt from as seeds (`--known FILE --learn-from-known`, known-seeds.ts). */
  known?: { file: string; empty?: 'skip' | 'none' };
}

export async function trainProjection(opts: TrainCommandOptions, progress: Progress): Promise<Projection> {
  const personaFile = trainingPersonaFile(opts);
  // The known customers read and checked first: a value naming no persona stops before any work.
  const known = opts.known ? knownPersonas(await readKnownFile(opts.known.file, opts.columns ? readColumnMap(opts.columns) : {}), personaFile.spec.personas, opts.known.file, opts.known.empty).known : undefined;
  mkdirSync(opts.out, { recursive: true });
  const { table, asOf, summary } = await featureTableOf(opts, opts.out, progress, personaFile.spec.as_of);
  const seeds = opts.seeds ? readSeeds(opts.seeds, table) : undefined;
  const learnFrom = opts.known && known ? { file: opts.known.file, personas: known } : undefined;
  const projection = await projectPersonas({ table, personaFile, asOf, seed: opts.seed, seeds, train: trainOptionsOf(opts.size), progress, learnFrom });
  progress.stage('write model');
  writeProjection(opts.out, table, projection, ['model', 'metrics.json']);
  if (summary) keepFeatureSummary(summary, opts.out);
  for (const m of projection.models) progress.log(`${m.id}: learner ${describeModel(m.model)}`);
  for (const p of projection.metrics.personas) {
    progress.log(`${p.persona.padEnd(22)} ${p.status}${p.status === 'trained' ? `: AUC ${p.validationAuc?.toFixed(3)}, c ${p.estimatedC?.toFixed(3)}, threshold ${p.threshold?.toFixed(3)}` : ` (${p.reason})`}`);
  }
  progress.log(`model ${projection.manifest.modelVersion}: ${opts.out}/model/, metrics.json`);
  return projection;
}

/**
 * A model trained from a built feature table keeps that table's summary beside it, where `personas
 * run` leaves its own (`features/features.json`): scoring a later base with the model reads its
 * purchase categories and the client's values as it learnt them, publishing it keeps the reference
 * files and the data summary, and its report has a data section. Written beside, then renamed.
 */
function keepFeatureSummary(summary: string, out: string): void {
  const kept = join(out, 'features', 'features.json');
  if (resolve(summary) === resolve(kept)) return;
  mkdirSync(dirname(kept), { recursive: true });
  copyFileSync(summary, `${kept}.tmp`);
  renameSync(`${kept}.tmp`, kept);
}

export function registerTrain(program: Command): void {
  addTrainingFlags(program.command('train'))
    .description('train the persona models from a feature table and seeds; write model/ and metrics.json')
    .requiredOption('--personas <file>', 'persona file (YAML)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--data <dir>', 'directory of contract inputs (features are built into <out>/features)')
    .option('--features <path>', 'a built feature table: features.parquet or the directory holding it')
    .option('--seeds <dir>', 'directory with seeds.csv and seeds.json from `personas seed` (default: the rules of the persona file)')
    .option('--as-of <date>', 'date the features are computed at (with --data)')
    .option('--columns <file>', 'JSON or YAML column map for client files named differently (with --data)')
    .option('--seed <n>', 'random seed', '1')
    .option('--learner <kind>', 'learner of every persona: gbdt, forest, mlp or ensemble (default: the persona file model.kind, else gbdt)')
    .option('--known <file>', 'customers whose persona is known (customer_id, persona), learnt from with --learn-from-known')
    .option('--empty <meaning>', 'with --known, an empty persona: skip (the row is left out) or none', 'skip')
    .option('--learn-from-known', "the models also learn from the --known customers: each persona's known members become seeds, the rule's seeds known to be another persona or none are taken out (as personas run --learn-from-known)")
    .action(async (o: Omit<TrainCommandOptions, 'seed' | 'size' | 'known'> & { seed: string; known?: string; empty: string; learnFromKnown?: boolean } & TrainingFlags) => {
      if (!/^-?\d+$/.test(o.seed)) throw new InputError('INPUT_INVALID', `--seed must be a whole number (got "${o.seed}")`, { field: 'seed' });
      if (o.empty !== 'skip' && o.empty !== 'none') throw new InputError('INPUT_INVALID', `--empty must be skip or none (got "${o.empty}")`, { field: 'empty' });
      if (o.learnFromKnown && !o.known) throw new InputError('INPUT_INVALID', '--learn-from-known learns from the --known customers: give --known FILE too', { field: 'learn-from-known' });
      if (o.known && !o.learnFromKnown) throw new InputError('INPUT_INVALID', "personas train writes no labels to check against --known customers: add --learn-from-known to learn from them, or check a run's labels with personas run --known or personas evaluate", { field: 'known' });
      const { known, empty, learnFromKnown: _learn, ...rest } = o;
      await trainProjection({ ...rest, seed: Number(o.seed), size: trainingSize(o), ...(known ? { known: { file: known, empty } } : {}) }, terminalProgress());
    });
}
