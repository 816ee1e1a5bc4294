// `personas report`: the consultant's HTML report of a run directory (src/report).
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { LANGS, writeReport, type Lang } from '../report/index.ts';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write the HTML report of a run: quantification, portraits, reach vs precision, persona x segment, model quality (one offline file), or its tables as an Excel workbook')
    .requiredOption('--run <dir>', 'run directory (written by personas run)')
    .requiredOption('--out <file>', 'HTML file to write; a file ending in .xlsx gets the report\'s tables and every customer\'s assignment as an Excel workbook')
    .option('--lang <lang>', 'language of the report: fr or en', 'en')
    .option('--features <file>', 'feature table of the run for the portraits (default <run>/features/features.parquet)')
    .action(async (o: { run: string; out: string; lang: string; features?: string }) => {
      if (!(LANGS as readonly string[]).includes(o.lang)) throw new InputError('INPUT_INVALID', `--lang must be fr or en (got "${o.lang}")`, { field: 'lang' });
      const model = await writeReport(o.run, o.out, { lang: o.lang as Lang, features: o.features, onNote: (line) => process.stderr.write(`${line}\n`) });
      process.stderr.write(`report of model ${model.modelVersion}: ${o.out}${model.portraits ? '' : ' (no feature table: portraits unavailable)'}${model.evaluation ? ', with its check against known customers' : ''}\n`);
    });
}
