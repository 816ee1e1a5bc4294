// `personas train`: learns the persona models from a feature table and the seeds `personas seed`
// wrote (or the persona file's rules when no seeds are given) and writes model/ and metrics.json.
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { describeModel } from '../models/learners.ts';
import { projectPersonas, writeProjection, type Projection } from '../models/personas/index.ts';
import { readSeeds } from '../models/personas/seed-files.ts';
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
}

export async function trainProjection(opts: TrainCommandOptions, progress: Progress): Promise<Projection> {
  const personaFile = trainingPersonaFile(opts);
  mkdirSync(opts.out, { recursive: true });
  const { table, asOf, summary } = await featureTableOf(opts, opts.out, progress, personaFile.spec.as_of);
  const seeds = opts.seeds ? readSeeds(opts.seeds, table) : undefined;
  const projection = await projectPersonas({ table, personaFile, asOf, seed: opts.seed, seeds, train: trainOptionsOf(opts.size), progress });
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
    .action(async (o: Omit<TrainCommandOptions, 'seed' | 'size'> & { seed: string } & TrainingFlags) => {
      if (!/^-?\d+$/.test(o.seed)) throw new InputError('INPUT_INVALID', `--seed must be a whole number (got "${o.seed}")`, { field: 'seed' });
      await trainProjection({ ...o, seed: Number(o.seed), size: trainingSize(o) }, terminalProgress());
    });
}
