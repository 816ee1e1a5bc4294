// `personas run`: features -> seeds -> per-persona models -> assignment, written to --out.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { buildFeatures } from '../features/index.ts';
import { loadPersonaFile, projectPersonas, writeProjection } from '../models/personas/index.ts';
import type { Progress } from '../progress.ts';
import { readColumnMap } from './features.ts';
import { terminalProgress } from './progress-bar.ts';

export interface RunOptions {
  data: string;
  personas: string;
  out: string;
  asOf?: string;
  columns?: string;
  seed?: number;
}

/** The whole projection of a data directory into `opts.out`, with a summary on `progress`. */
export async function runProjection(opts: RunOptions, progress: Progress): Promise<void> {
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) {
    throw new InputError('INPUT_INVALID', `--seed must be a whole number (got ${opts.seed})`, { field: 'seed' });
  }
  const personaFile = loadPersonaFile(opts.personas);
  mkdirSync(opts.out, { recursive: true });
  const featuresDir = join(opts.out, 'features');
  mkdirSync(featuresDir, { recursive: true });
  const features = await buildFeatures({
    dataDir: opts.data,
    outDir: featuresDir,
    asOf: opts.asOf ?? personaFile.spec.as_of,
    columnMap: opts.columns ? readColumnMap(opts.columns) : undefined,
    progress,
  });
  const projection = await projectPersonas({ table: features.table, personaFile, asOf: features.asOf, seed: opts.seed, progress });
  progress.stage('write outputs');
  writeProjection(opts.out, features.table, projection);
  for (const row of projection.quantification.personas) {
    progress.log(
      `${(row.persona ?? 'unassigned').padEnd(22)} ${String(row.customers).padStart(8)} customers  ${(100 * row.share).toFixed(1).padStart(5)}% of base  ${(100 * row.revenueShare).toFixed(1).padStart(5)}% of revenue`,
    );
  }
  progress.log(`model ${projection.manifest.modelVersion}: ${opts.out}/assignments.csv, quantification.json, metrics.json, model/`);
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('project the personas of a persona file onto a data directory (features, seeds, models, assignment)')
    .requiredOption('--data <dir>', 'directory of contract inputs')
    .requiredOption('--personas <file>', 'persona file (YAML)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--as-of <date>', 'date the features are computed at (default: the persona file as_of, else the last transaction)')
    .option('--columns <file>', 'JSON or YAML column map for client files named differently')
    .option('--seed <n>', 'random seed', '1')
    .action(async (o: { data: string; personas: string; out: string; asOf?: string; columns?: string; seed: string }) => {
      if (!/^-?\d+$/.test(o.seed)) throw new InputError('INPUT_INVALID', `--seed must be a whole number (got "${o.seed}")`, { field: 'seed' });
      await runProjection({ ...o, seed: Number(o.seed) }, terminalProgress());
    });
}
