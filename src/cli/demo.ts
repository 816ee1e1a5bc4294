// `personas demo`: writes the sample base; with --run, runs the whole product on it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeDemoBase } from '../demo/index.ts';
import { buildFeatures } from '../features/index.ts';
import { terminalProgress } from './progress-bar.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('write a small sample base (customers, purchases, contacts, INSEE cells, first names, persona file)')
    .option('--out <dir>', 'output directory of the run; the base goes to <dir>/data', 'out/demo')
    .option('--customers <n>', 'number of customers', '5000')
    .option('--seed <n>', 'random seed', '1')
    .option('--force', 'replace <dir>/data even if it is not a previous demo output')
    .option('--run', 'then run the pipeline on it (features and every stage built so far)')
    .action(async (opts: { out: string; customers: string; seed: string; force?: boolean; run?: boolean }) => {
      const progress = terminalProgress();
      const dataDir = join(opts.out, 'data');
      const base = await writeDemoBase(dataDir, {
        customers: Number(opts.customers),
        seed: Number(opts.seed),
        force: opts.force,
        progress,
      });
      progress.log(`demo base: ${base.customers} customers in ${base.dir} (persona file: ${base.files.personas})`);
      if (!opts.run) {
        progress.log(`next: personas features --data ${base.dir} --out ${join(opts.out, 'features')}`);
        return;
      }
      const featuresDir = join(opts.out, 'features');
      mkdirSync(featuresDir, { recursive: true });
      const features = await buildFeatures({ dataDir: base.dir, outDir: featuresDir, progress });
      progress.log(
        `features: ${features.table.rows} customers x ${features.table.numericNames.length + features.table.categoricalNames.length} features at ${features.asOf} -> ${featuresDir}/features.parquet`,
      );
    });
}
