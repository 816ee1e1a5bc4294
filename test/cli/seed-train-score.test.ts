// `personas seed | train | score` over real files: seeds written and read back, a model trained
// from them, and customers scored by the saved model through the command line, with the same
// probabilities the saved model gives in process; and the errors a user can make, named.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { scoreCustomers } from '../../src/cli/score.ts';
import { seedPersonas } from '../../src/cli/seed.ts';
import { trainProjection } from '../../src/cli/train.ts';
import { writeDemoBase } from '../../src/demo/index.ts';
import { buildFeatures, readFeatureTable } from '../../src/features/index.ts';
import { readColumnMap } from '../../src/features/column-map.ts';
import { ManifestSchema, QuantificationSchema, RunMetricsSchema } from '../../src/models/artefacts.ts';
import { loadSavedProjection, VIEW_DEFAULTS, type ConditionViewsModel } from '../../src/models/personas/index.ts';
import { readSeeds } from '../../src/models/personas/seed-files.ts';
import { silentProgress } from '../../src/progress.ts';
import { CLIENT_VALUES, clientExport, RENAMES } from '../helpers/client-export.ts';
import { runToEnd } from '../helpers/spawn.ts';
import { tempDir } from '../helpers/world.ts';
import { strictBaseWeight } from '../../src/models/personas/views.ts';

describe('personas seed, train and score', () => {
  const root = tempDir();
  const data = join(root, 'data');
  const seedDir = join(root, 'seeds');
  const modelDir = join(root, 'trained');
  const scoreDir = join(root, 'scored');
  let personas: string;

  beforeAll(async () => {
    await writeDemoBase(data, { customers: 2500, seed: 4 });
    personas = join(data, 'personas.yaml');
    // Keep the test fast: a small learner and two folds.
    writeFileSync(personas, readFileSync(personas, 'utf8') + '\nmodel:\n  kind: gbdt\n  params:\n    numTrees: 15\n');
    await seedPersonas({ data, personas, out: seedDir }, silentProgress);
    await trainProjection({ features: join(seedDir, 'features'), personas, out: modelDir, seeds: seedDir, seed: 3 }, silentProgress);
  }, 120_000);

  it('seed writes one row per seed and a report with counts and overlaps', () => {
    const report = JSON.parse(readFileSync(join(seedDir, 'seeds.json'), 'utf8')) as { customers: number; personas: { id: string; seeds: number; ruleMatches: number; overlaps: Record<string, number> }[] };
    expect(report.customers).toBe(2500);
    const rows = readFileSync(join(seedDir, 'seeds.csv'), 'utf8').trim().split('\n');
    expect(rows[0]).toBe('customer_id,persona');
    expect(rows.length - 1).toBe(report.personas.reduce((s, p) => s + p.seeds, 0));
    for (const p of report.personas) {
      expect(p.seeds).toBeLessThanOrEqual(p.ruleMatches);
      // Exclusive overlap policy: the shared customers are no one's seeds.
      expect(p.ruleMatches - p.seeds).toBeLessThanOrEqual(Object.values(p.overlaps).reduce((a, b) => a + b, 0));
    }
    // No customer is a seed of two personas.
    const ids = rows.slice(1).map((r) => r.split(',')[0]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('train writes model/ and metrics.json (and no assignments) from the seeds given', () => {
    const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(modelDir, 'model', 'manifest.json'), 'utf8')));
    const metrics = RunMetricsSchema.parse(JSON.parse(readFileSync(join(modelDir, 'metrics.json'), 'utf8')));
    expect(manifest.seed).toBe(3);
    expect(existsSync(join(modelDir, 'assignments.csv'))).toBe(false);
    const report = JSON.parse(readFileSync(join(seedDir, 'seeds.json'), 'utf8')) as { personas: { id: string; seeds: number }[] };
    expect(metrics.personas.map((p) => [p.persona, p.seeds])).toEqual(report.personas.map((p) => [p.id, p.seeds]));
    expect(metrics.personas.some((p) => p.status === 'trained')).toBe(true);
  });

  it('score (the command) writes assignments and a quantification that match the saved model', async () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'score', '--model', modelDir, '--features', join(seedDir, 'features', 'features.parquet'), '--out', scoreDir], { stdio: 'pipe' });
    const quantification = QuantificationSchema.parse(JSON.parse(readFileSync(join(scoreDir, 'quantification.json'), 'utf8')));
    const lines = readFileSync(join(scoreDir, 'assignments.csv'), 'utf8').trim().split('\n');
    expect(lines.length - 1).toBe(2500);
    expect(quantification.personas.reduce((s, r) => s + r.customers, 0)).toBe(2500);
    const saved = loadSavedProjection(modelDir);
    const table = await readFeatureTable(join(seedDir, 'features', 'features.parquet'));
    const expected = saved.score(table);
    const header = lines[0].split(',');
    for (const [k, id] of expected.personas.entries()) {
      const col = header.indexOf(`score_${id}`);
      for (const [r, line] of lines.slice(1, 200).entries()) expect(Number(line.split(',')[col])).toBeCloseTo(expected.probabilities[k][r], 5);
      const row = quantification.personas.find((p) => p.persona === id)!;
      expect(row.estimatedPrevalence).toBeCloseTo(expected.prevalence[k], 9);
      expect(row.customers).toBe(expected.assignment.persona.filter((v) => v === k).length);
    }
  }, 60_000);

  it('score --data builds the share_cat_* columns of the model, whatever the new base buys most', async () => {
    // A later base where nobody buys 'kids' any more and a new category 'toys' is everywhere.
    const later = join(root, 'later');
    execFileSync('cp', ['-r', data, later]);
    const tx = readFileSync(join(data, 'transactions.csv'), 'utf8').trim().split('\n');
    writeFileSync(join(later, 'transactions.csv'), [tx[0], ...tx.slice(1).filter((l) => !l.includes(',kids,')).map((l, i) => (i % 3 === 0 ? l.replace(/,(\w+),(\d)$/, ',toys,$2') : l))].join('\n') + '\n');
    const out = join(root, 'scored-later');
    await scoreCustomers({ model: modelDir, data: later, out }, silentProgress);
    const names = (JSON.parse(readFileSync(join(out, 'features', 'features.json'), 'utf8')) as { features: { name: string }[] }).features.map((f) => f.name);
    const modelCats = loadSavedProjection(modelDir).encoding.numeric.filter((n) => n.startsWith('share_cat_'));
    expect(modelCats).toContain('share_cat_kids');
    expect(names.filter((n) => n.startsWith('share_cat_')).sort()).toEqual([...modelCats].sort());
    const table = await readFeatureTable(join(out, 'features', 'features.parquet'));
    const kids = table.numeric[table.numericNames.indexOf('share_cat_kids')];
    expect(kids.every((v) => v === 0 || Number.isNaN(v))).toBe(true);
  }, 60_000);

  it("train --features keeps the table's summary; score --data then reads a later export's channels and contact types as the model learnt them, with the column file's renames", async () => {
    // Features of the client's export with its column file (as `personas features --columns`), a model trained on them.
    const columns = join(root, 'columns.yaml');
    writeFileSync(columns, stringify({ ...RENAMES, values: CLIENT_VALUES }));
    const built = join(root, 'client-features');
    await buildFeatures({ dataDir: clientExport(data), outDir: built, columnMap: readColumnMap(columns) });
    const model = join(root, 'trained-on-client');
    await trainProjection({ features: built, personas, out: model, seed: 3 }, silentProgress);
    expect(readFileSync(join(model, 'features', 'features.json'), 'utf8')).toBe(readFileSync(join(built, 'features.json'), 'utf8'));
    // A later export of the client's, read with the renames alone: the labels of the contract base.
    const renames = join(root, 'renames.yaml');
    writeFileSync(renames, stringify(RENAMES));
    const assignments = async (model: string, data: string, columns?: string) => {
      const out = tempDir();
      await scoreCustomers({ model, data, columns, out }, silentProgress);
      return readFileSync(join(out, 'assignments.csv'), 'utf8');
    };
    const contract = await assignments(model, data);
    expect(await assignments(model, clientExport(data), renames)).toBe(contract);
    // A model that learnt no values (trained on the contract base) reads none of the export's purchases as in store or on the web: other labels.
    expect(await assignments(modelDir, clientExport(data), renames)).not.toBe(await assignments(modelDir, data));
    // A file reading a value otherwise than the model learnt it is refused, naming both.
    writeFileSync(renames, stringify({ ...RENAMES, values: { channel: { internet: 'app' } } }));
    await expect(scoreCustomers({ model, data: clientExport(data), columns: renames, out: tempDir() }, silentProgress)).rejects.toThrow(
      /renames\.yaml: values\.channel\.internet reads 'internet' as app, but the models of .*trained-on-client learnt 'Internet' as web/,
    );
  }, 120_000);

  it('score builds the features of a data directory itself', async () => {
    const out = join(root, 'scored-from-data');
    const scores = await scoreCustomers({ model: join(modelDir, 'model'), data, out }, silentProgress);
    expect(existsSync(join(out, 'features', 'features.parquet'))).toBe(true);
    expect(scores.assignment.persona.length).toBe(2500);
  }, 60_000);

  it('train --trees --folds --bags [--no-views]: models of that many trees on a persona file that names no learner, with condition views unless --no-views, recorded in the manifest', async () => {
    const plain = join(root, 'plain.yaml');
    writeFileSync(plain, readFileSync(personas, 'utf8').replace(/\nmodel:[\s\S]*$/, '\n'));
    // Asynchronous, so the test worker's event loop runs while the trainings do (helpers/spawn.ts); a failure throws with its stderr.
    const cli = async (...args: string[]) => {
      const r = await runToEnd(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'train', '--features', join(seedDir, 'features'), '--personas', plain, ...args]);
      if (r.status !== 0) throw new Error(`train ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    };
    // --no-views: single models of 12 trees.
    const out = join(root, 'trained-small');
    await cli('--out', out, '--trees', '12', '--folds', '2', '--bags', '1', '--no-views');
    const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(out, 'model', 'manifest.json'), 'utf8')));
    expect(manifest.learner.kind).toBe('gbdt');
    expect(manifest.learner.params).toMatchObject({ numTrees: 12, folds: 2, bags: 1, views: null });
    const trained = manifest.personas.filter((p) => p.modelFile);
    expect(trained.length).toBeGreaterThan(0);
    for (const p of trained) {
      const { model } = JSON.parse(readFileSync(join(out, 'model', p.modelFile!), 'utf8')) as { model: { kind: string; trees: unknown[] } };
      expect([model.kind, model.trees.length]).toEqual(['gbdt', 12]);
    }
    // The defaults: five bags (an ensemble file of them; 'auto' gives more only on a larger base) with the condition views.
    const bagged = loadSavedProjection(modelDir);
    expect(bagged.manifest.learner.params).toMatchObject({ numTrees: 15, bags: 'auto', views: { trees: 15, folds: 2, weight: VIEW_DEFAULTS.weight, unlabeledPerSeed: 20 } });
    expect(bagged.personas.map((p) => [p.model.kind, (p.model as ConditionViewsModel).base.model.kind])).toEqual(bagged.personas.map(() => ['views', 'ensemble']));
    expect(bagged.personas.map((p) => ((p.model as ConditionViewsModel).base.model.toJSON() as { members: unknown[] }).members.length)).toEqual(bagged.personas.map(() => 5));
    // The same single models with the default views, each a view per condition of its rule (of 12 trees, never more than the persona model's, in the views' three bags of 4).
    const viewed = join(root, 'trained-views');
    await cli('--out', viewed, '--trees', '12', '--folds', '2', '--bags', '1');
    const withViews = loadSavedProjection(join(viewed, 'model'));
    expect(withViews.manifest.learner.params).toMatchObject({ numTrees: 12, bags: 1, views: { trees: 12, folds: 2, weight: VIEW_DEFAULTS.weight, unlabeledPerSeed: 20 } });
    for (const p of withViews.personas) {
      const model = p.model as ConditionViewsModel;
      expect(model.kind).toBe('views');
      expect(model.base.model.kind).toBe('gbdt');
      expect(model.views.length).toBeGreaterThanOrEqual(2);
      expect(model.views.map((v) => (v.model.toJSON() as { members: { model: { trees: unknown[] } }[] }).members.map((m) => m.model.trees.length))).toEqual(model.views.map(() => [4, 4, 4]));
    }
    // --strict-precision: the same models, each persona model's own evidence tempered by its relearning (recorded and saved).
    const strict = join(root, 'trained-strict');
    await cli('--out', strict, '--trees', '12', '--folds', '2', '--bags', 'auto', '--strict-precision');
    const tempered = loadSavedProjection(join(strict, 'model'));
    expect(tempered.manifest.learner.params).toMatchObject({ bags: 'auto', views: { strictPrecision: true } });
    const metrics = RunMetricsSchema.parse(JSON.parse(readFileSync(join(strict, 'metrics.json'), 'utf8')));
    for (const p of tempered.personas) {
      const file = (p.model as ConditionViewsModel).toJSON() as { baseWeight?: number };
      const views = metrics.personas.find((m) => m.persona === p.id)!.views;
      expect(file.baseWeight ?? 1).toBeCloseTo(strictBaseWeight(views), 12);
      expect(metrics.personas.find((m) => m.persona === p.id)!.baseWeight).toBe(file.baseWeight);
    }
    expect(tempered.personas.some((p) => ((p.model as ConditionViewsModel).toJSON() as { baseWeight?: number }).baseWeight! < 1)).toBe(true);
    await expect(cli('--out', join(root, 'bad'), '--no-views', '--strict-precision')).rejects.toThrow(/--strict-precision tempers each persona model by what its condition views measure: it cannot go with --no-views/);
    await expect(cli('--out', join(root, 'bad'), '--bags', '0')).rejects.toThrow(/--bags must be a whole number of at least 1 or 'auto' \(got "0"\)/);
    await expect(cli('--out', join(root, 'bad'), '--bags', 'many')).rejects.toThrow(/--bags must be a whole number of at least 1 or 'auto' \(got "many"\)/);
  }, 120_000);

  it('train --training-customers N: the models learn from a sample of N customers, every customer is scored, and the run says so', async () => {
    const args = ['--import', 'tsx', 'src/cli.ts', 'train', '--features', join(seedDir, 'features'), '--personas', personas, '--folds', '2', '--bags', '1'];
    const out = join(root, 'trained-sample');
    const run = await runToEnd(process.execPath, [...args, '--out', out, '--training-customers', '1500']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toContain('training sample: 1,500 of the 2,500 customers train the models');
    const metrics = RunMetricsSchema.parse(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')));
    expect([metrics.customers, metrics.trainingCustomers]).toEqual([2500, 1500]);
    const saved = loadSavedProjection(join(out, 'model'));
    expect(saved.manifest.learner.params).toMatchObject({ trainingCustomers: 1500 });
    // Every customer is still scored: the coverage counts assigned customers over the whole base.
    const trained = metrics.personas.filter((p) => p.status === 'trained');
    expect(trained.length).toBeGreaterThan(0);
    expect(trained.some((p) => p.coverage > 0)).toBe(true);
    // The default run trained on all 2,500 (a base under the default's 200,000), and said nothing of a sample.
    const all = RunMetricsSchema.parse(JSON.parse(readFileSync(join(modelDir, 'metrics.json'), 'utf8')));
    expect(all.trainingCustomers).toBe(2500);
    const bad = await runToEnd(process.execPath, [...args, '--out', join(root, 'bad-sample'), '--training-customers', '1.5k']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--training-customers must be a whole number of at least 0 (got "1.5k")');
    const tiny = await runToEnd(process.execPath, [...args, '--out', join(root, 'bad-sample'), '--training-customers', '100']);
    expect(tiny.status).not.toBe(0);
    expect(tiny.stderr).toContain('--training-customers must be 0 (every customer) or at least 500 (got "100")');
  }, 120_000);

  it('names the file and line of a seed whose customer is unknown, and refuses two customer sources', async () => {
    const table = await readFeatureTable(join(seedDir, 'features', 'features.parquet'));
    const bad = tempDir();
    writeFileSync(join(bad, 'seeds.json'), readFileSync(join(seedDir, 'seeds.json')));
    writeFileSync(join(bad, 'seeds.csv'), 'customer_id,persona\nNOPE-1,bargain_hunter\n');
    expect(() => readSeeds(bad, table)).toThrow(/seeds\.csv: line 2: customer 'NOPE-1' is not in the feature table/);
    await expect(scoreCustomers({ model: modelDir, data, features: join(seedDir, 'features'), out: tempDir() }, silentProgress)).rejects.toThrow(/exactly one of --data/);
    await expect(seedPersonas({ personas, out: tempDir() }, silentProgress)).rejects.toThrow(/exactly one of --data/);
  });
});
