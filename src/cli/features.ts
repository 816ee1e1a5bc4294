// `personas features`: builds the feature table of a data directory.
import { mkdirSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors.ts';
import { buildFeatures, type ColumnMap } from '../features/index.ts';
import { CODED_COLUMNS } from '../features/values.ts';
import { terminalProgress } from './progress-bar.ts';

const columns = z.record(z.string(), z.string()).optional();
/** The client's values of a coded column, each to one of the contract's. */
const values = (known: readonly string[]) =>
  z.record(z.string(), z.string().refine((v) => known.includes(v), { message: `expected one of ${known.join(', ')}` })).optional();
const ColumnMapSchema = z
  .object({
    customers: columns,
    transactions: columns,
    interactions: columns,
    tiles: columns,
    first_names: columns,
    values: z.object({ channel: values(CODED_COLUMNS.channel.values), type: values(CODED_COLUMNS.type.values) }).strict().optional(),
  })
  .strict();

/**
 * Reads a column-mapping file (JSON or YAML): `{ customers: { client_name: contract_name } }`, and
 * the client's values of the coded columns: `{ values: { channel: { Magasin: store } } }`.
 */
export function readColumnMap(path: string): ColumnMap {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError('INPUT_INVALID', `${path}: cannot read the column map (${(err as Error).message})`, { file: path });
  }
  const parsed = ColumnMapSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(
      'INPUT_INVALID',
      `${path}: column map invalid at ${issue.path.join('.') || '(root)'}: ${issue.message} ` +
        `(expected { customers: { client_column: contract_column }, ..., values: { channel: { client_value: store|web|app|phone }, type: { client_value: contact type } } })`,
      { file: path, field: issue.path.join('.') },
    );
  }
  return parsed.data;
}

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
