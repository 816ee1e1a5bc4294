// `personas seed`: evaluates each persona's key-driver rule on the customers and writes the seeds
// (seeds.csv) and the overlap report (seeds.json) that `personas train` reads.
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { absentValuesWarning, loadPersonaFile, selectSeeds } from '../models/personas/index.ts';
import { writeSeeds, type SeedReport } from '../models/personas/seed-files.ts';
import type { Progress } from '../progress.ts';
import { terminalProgress } from './progress-bar.ts';
import { featureTableOf, type FeatureSource } from './run.ts';

export interface SeedOptions extends FeatureSource {
  personas: string;
  out: string;
}

export async function seedPersonas(opts: SeedOptions, progress: Progress): Promise<SeedReport> {
  const personaFile = loadPersonaFile(opts.personas);
  mkdirSync(opts.out, { recursive: true });
  const { table } = await featureTableOf(opts, opts.out, progress, personaFile.spec.as_of);
  progress.stage('seeds');
  const seeds = selectSeeds(table, personaFile.spec);
  const report = writeSeeds(opts.out, table, seeds);
  for (const [k, s] of report.personas.entries()) {
    const shared = Object.entries(s.overlaps).map(([id, n]) => `${n} with ${id}`).join(', ');
    progress.log(`${s.id.padEnd(22)} ${String(s.seeds).padStart(7)} seeds (rule matches ${s.ruleMatches}${shared ? `; shared: ${shared}` : ''})${s.status === 'skipped' ? ` - skipped: ${s.reason}` : ''}`);
    const absent = absentValuesWarning(seeds[k]);
    if (absent) progress.log(absent);
  }
  progress.log(`wrote ${opts.out}/seeds.csv and seeds.json`);
  return report;
}

export function registerSeed(program: Command): void {
  program
    .command('seed')
    .description("pick each persona's seed customers by its key-driver rule; write seeds.csv and the overlap report seeds.json")
    .requiredOption('--personas <file>', 'persona file (YAML)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--data <dir>', 'directory of contract inputs (features are built into <out>/features)')
    .option('--features <path>', 'a built feature table: features.parquet or the directory holding it')
    .option('--as-of <date>', 'date the features are computed at (with --data)')
    .option('--columns <file>', 'JSON or YAML column map for client files named differently (with --data)')
    .action(async (o: SeedOptions) => {
      await seedPersonas(o, terminalProgress());
    });
}
