// `personas demo`: writes the sample base; with --run, runs the whole product on it.
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { writeDemoBase } from '../demo/index.ts';
import { writeReport } from '../report/index.ts';
import { openStore, publishRun, runSource } from '../store/index.ts';
import { runProjection } from './run.ts';
import { runPortraits } from './store.ts';
import { terminalProgress } from './progress-bar.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('write a small sample base (customers, purchases, contacts, INSEE cells, first names, persona file)')
    .option('--out <dir>', 'output directory of the run; the base goes to <dir>/data', 'out/demo')
    .option('--customers <n>', 'number of customers', '5000')
    .option('--seed <n>', 'random seed', '1')
    .option('--force', 'replace <dir>/data even if it is not a previous demo output')
    .option('--run', 'then run the projection on it (features, seeds, models, assignment file) and publish it to the embedded store <dir>/store')
    .action(async (opts: { out: string; customers: string; seed: string; force?: boolean; run?: boolean }) => {
      for (const [name, text] of [['--customers', opts.customers], ['--seed', opts.seed]]) {
        if (!/^-?\d+$/.test(text)) throw new InputError('INPUT_INVALID', `${name} must be a whole number (got "${text}")`, { field: name });
      }
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
      // The run is checked against the demo's survey, customers drawn at random who picked their
      // portrait (evaluation.json, with each persona's size corrected by them), which the report shows.
      await runProjection({ data: base.dir, personas: base.files.personas, out: opts.out, known: { file: base.files.survey, randomSample: true } }, progress);
      // Into the embedded store, so the API can serve it at once.
      const storeDir = join(opts.out, 'store');
      const db = await openStore({ databaseUrl: null, dataDir: storeDir });
      try {
        const r = await publishRun(db, runSource(opts.out), { activate: true, progress, portraits: await runPortraits(opts.out) });
        progress.log(`published and activated ${r.version} in the embedded store ${storeDir}`);
      } finally {
        await db.close();
      }
      const report = join(opts.out, 'report.html');
      await writeReport(opts.out, report, { lang: 'en' });
      const workbook = join(opts.out, 'report.xlsx');
      await writeReport(opts.out, workbook, { lang: 'en' });
      progress.log(`report: ${report}, its tables and every customer's persona in ${workbook} (personas report --run ${opts.out} --out FILE --lang fr for French)`);
      progress.log(`serve it: personas keys create --store ${storeDir} --name me --scopes read && personas serve --store ${storeDir}`);
      progress.log(`check it against every customer's true persona: personas evaluate --run ${opts.out} --known ${base.files.truth} --empty none`);
    });
}
