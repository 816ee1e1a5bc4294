// `personas score`: scores customers with a saved model (a run's or `personas train`'s model/)
// and writes assignments.csv and quantification.json; the customers are a feature table or a
// data directory whose features are built with the model's as-of date unless told otherwise.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { loadSavedProjection, type SavedScores } from '../models/personas/index.ts';
import { absentFeatures, describeAbsentFeatures } from '../models/personas/design.ts';
import { writeScores } from '../models/personas/outputs.ts';
import { quantify } from '../models/personas/quantify.ts';
import type { Progress } from '../progress.ts';
import { recordedInputs } from '../store/registry.ts';
import { categoriesOfFeatures } from '../features/index.ts';
import { terminalProgress } from './progress-bar.ts';
import { featureTableOf, type FeatureSource } from './run.ts';

export interface ScoreOptions extends FeatureSource {
  model: string;
  out: string;
}

export async function scoreCustomers(opts: ScoreOptions, progress: Progress): Promise<SavedScores> {
  const saved = loadSavedProjection(opts.model);
  mkdirSync(opts.out, { recursive: true });
  // The model's purchase categories, so the share_cat_* columns are the ones it was trained on, and
  // the client's values it learnt ("Magasin" read as store), so a later export reads as its base did.
  const runDir = existsSync(join(opts.model, 'model')) ? opts.model : dirname(opts.model);
  const recorded = recordedInputs(runDir);
  const categories = recorded.categories ?? categoriesOfFeatures(saved.encoding.numeric);
  const { table } = await featureTableOf(opts, opts.out, progress, saved.manifest.asOf, { categories, values: recorded.values, model: opts.model });
  const absent = absentFeatures(table, saved.encoding);
  if (absent.length) progress.log(describeAbsentFeatures(absent));
  progress.stage('score');
  const scores = saved.score(table);
  const ids = saved.manifest.personas.map((p) => p.id);
  // Every persona of the manifest gets a column; a skipped one scores zero and is never assigned.
  const probabilities = ids.map((id) => scores.probabilities[scores.personas.indexOf(id)] ?? new Float64Array(table.rows));
  const persona = Int32Array.from(scores.assignment.persona, (k) => (k < 0 ? -1 : ids.indexOf(scores.personas[k])));
  const assignment = { ...scores.assignment, persona };
  const quantification = quantify(
    table,
    saved.manifest.personas.map((p) => ({ id: p.id, label: p.label, prevalence: scores.personas.includes(p.id) ? scores.prevalence[scores.personas.indexOf(p.id)] : null })),
    assignment,
    saved.modelVersion,
  );
  progress.stage('write outputs');
  writeScores(opts.out, table.ids, saved.modelVersion, ids, probabilities, assignment, quantification);
  for (const row of quantification.personas) {
    progress.log(`${(row.persona ?? 'unassigned').padEnd(22)} ${String(row.customers).padStart(8)} customers  ${(100 * row.share).toFixed(1).padStart(5)}% of base`);
  }
  progress.log(`model ${saved.modelVersion}: ${opts.out}/assignments.csv, quantification.json`);
  return scores;
}

export function registerScore(program: Command): void {
  program
    .command('score')
    .description('score customers with a saved model; write assignments.csv and quantification.json')
    .requiredOption('--model <dir>', "a run's output directory or its model/ directory")
    .requiredOption('--out <dir>', 'output directory')
    .option('--data <dir>', 'directory of contract inputs (features are built into <out>/features)')
    .option('--features <path>', 'a built feature table: features.parquet or the directory holding it')
    .option('--as-of <date>', "date the features are computed at (with --data; default: the model's)")
    .option('--columns <file>', 'JSON or YAML column map for client files named differently (with --data)')
    .action(async (o: ScoreOptions) => {
      await scoreCustomers(o, terminalProgress());
    });
}
