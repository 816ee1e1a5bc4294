// `personas features`: builds the feature table of a data directory.
import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { buildFeatures } from '../features/index.ts';
import { readColumnMap } from '../features/column-map.ts';
import { terminalProgress } from './progress-bar.ts';

export function registerFeatures(program: Command): void {
  program
    .command('features')
    .description('compute the feature table (features.parquet, features.json, rejects/) of a data directory')
    .requiredOption('--data <dir>', 'directory with customers, transactions, interactions, tiles (and first_names) files')
    .requiredOption('--out <dir>', 'output directory')
    .option('--as-of <date>', 'date the features are computed at (YYYY-MM-DD); default: last transaction date')
    .option('--columns <file>', 'JSON or YAML column map for client files named differently')
    .action(async (opts: { data: string; out: string; asOf?: string; columns?: string }) => {
      const progress = terminalProgress();
      mkdirSync(opts.out, { recursive: true });
      const result = await buildFeatures({
        dataDir: opts.data,
        outDir: opts.out,
        asOf: opts.asOf,
        columnMap: opts.columns ? readColumnMap(opts.columns) : undefined,
        progress,
      });
      const rejected = result.rejects.filter((r) => r.action === 'dropped').reduce((s, r) => s + r.rows, 0);
      progress.log(
        `${result.table.rows} customers, ${result.table.numericNames.length + result.table.categoricalNames.length} features at ${result.asOf}; ` +
          `${rejected} row(s) rejected${result.rejects.length ? ` (see ${opts.out}/rejects/)` : ''}; wrote ${opts.out}/features.parquet`,
      );
    });
}
