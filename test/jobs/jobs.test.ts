// Batch runs on both runners: every stage, retries then failure, a transient fault retried
// away, cancellation, and status through the API.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../src/api/index.ts';
import { jobLines } from '../../src/cli/jobs.ts';
import { DEMO_AS_OF } from '../../src/demo/index.ts';
import { buildFeatures } from '../../src/features/index.ts';
import { readDataSummary } from '../../src/features/summary.ts';
import { runStatus, startRun, type JobQueue, type RunStatus } from '../../src/jobs/index.ts';
import { loadModel } from '../../src/models/learners.ts';
import { loadPersonaFile, loadSavedProjection, projectPersonas, VIEW_DEFAULTS } from '../../src/models/personas/index.ts';
import { strictBaseWeight } from '../../src/models/personas/views.ts';
import { activeVersion, cancelRun, createKey, listVersions, loadVersionModels, publishRun, runSource, versionCategories, versionDetail, type Db } from '../../src/store/index.ts';
import { CLIENT_VALUES, clientExport, RENAMES } from '../helpers/client-export.ts';
import { RUNNER_VARIANTS } from '../helpers/queues.ts';
import { tempDir } from '../helpers/world.ts';

const runs = inject('runs');
const personas = join(runs.data, 'personas.yaml');
const quick = { partitions: 3, train: { folds: 2, numTrees: 10 } };

async function until(db: Db, runId: string, done: (s: RunStatus) => boolean, timeoutMs = 90_000): Promise<RunStatus> {
  const start = Date.now();
  for (;;) {
    const s = await runStatus(db, runId);
    if (done(s)) return s;
    if (Date.now() - start > timeoutMs) throw new Error(`run ${runId} did not get there in time: ${JSON.stringify({ status: s.run.status, stage: s.run.stage, error: s.run.error })}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const finished = (s: RunStatus) => ['done', 'failed', 'cancelled'].includes(s.run.status);


/**
 * The runner the tests of a run's training options use: the BullMQ one when Redis and PostgreSQL
 * are there, else the in-process one. A job step reads the options from the run's row in the
 * store, whichever runner carries the job, so they are tested once (four whole runs less).
 */
const optionsVariant = RUNNER_VARIANTS.filter((v) => !v.skip).at(-1);

for (const variant of RUNNER_VARIANTS) {
  describe.skipIf(!!variant.skip)(`jobs ${variant.name}`, () => {
    let db: Db;
    let queue: JobQueue;
    let close: () => Promise<void>;
    let previous: string;
    beforeAll(async () => {
      db = await variant.store.open();
      previous = (await publishRun(db, runSource(runs.a), { activate: true })).version;
      ({ queue, close } = await variant.start(db, { attempts: 2, backoffMs: 1500 }));
    });
    afterAll(async () => {
      await close?.();
      if (db) await variant.store.dispose(db);
    });

    it('goes through every stage and publishes a version with one label and one score per persona for every customer: the labels `personas run` gives', async () => {
      // The training options of the shared run `runs.a` (seed 1, 2 folds, 15 trees), on its base as
      // a client's export with the column file that reads it (given as a path, read at start).
      const columns = join(tempDir(), 'columns.yaml');
      writeFileSync(columns, stringify({ ...RENAMES, values: CLIENT_VALUES }));
      const started = await startRun(db, queue, { data: clientExport(runs.data), personas, columns, partitions: 3, train: { folds: 2, numTrees: 15 } });
      writeFileSync(columns, 'not: a column map'); // read when the run started: the run does not see this
      expect(started.run.status).toBe('queued');
      const end = await until(db, started.run.id, finished);
      expect(end.run.error).toBeNull();
      expect(end.run.status).toBe('done');
      expect(end.percent).toBe(100);
      expect(end.stages.map((s) => [s.stage, s.jobs, s.done])).toEqual([['features', 1, 1], ['train', 5, 5], ['clean', 1, 1], ['retrain', 5, 5], ['assemble', 1, 1], ['score', 3, 3], ['publish', 1, 1], ['report', 1, 1]]);
      const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
      expect(await activeVersion(db)).toBe(version);
      const trained = (end.jobs.find((j) => j.kind === 'assemble')!.result as { personas: string[] }).personas;
      const [c] = await db.query<{ a: number; s: number; bad: number }>(
        `SELECT count(*)::int AS a, sum(cardinality(scores))::int AS s, count(*) FILTER (WHERE cardinality(scores) <> $2)::int AS bad
         FROM assignments WHERE version = $1`,
        [version, trained.length],
      );
      expect(c).toEqual({ a: 1500, s: 1500 * trained.length, bad: 0 });
      // The reference files the features used are kept with the version, for raw-row scoring.
      const [kept] = await db.query<{ inputs: { references: Record<string, string>; categories: string[] } }>('SELECT inputs FROM model_versions WHERE version = $1', [version]);
      expect(Object.keys(kept.inputs.references).sort()).toEqual(['first_names', 'postcodes', 'tiles']);
      expect(kept.inputs.categories.length).toBeGreaterThan(0);
      const [q] = await db.query<{ quantification: { customers: number; personas: { customers: number }[] } }>('SELECT quantification FROM model_versions WHERE version = $1', [version]);
      expect(q.quantification.customers).toBe(1500);
      expect(q.quantification.personas.reduce((a, p) => a + p.customers, 0)).toBe(1500);
      // The report job kept the portraits with the version and the page with the run.
      const [p] = await db.query<{ portraits: unknown; data_summary: unknown }>('SELECT portraits, data_summary FROM model_versions WHERE version = $1', [version]);
      expect(p.portraits).not.toBeNull();
      // And what the base held (the run's features.json: the same base as the shared runs'), with
      // the client's values as read, which a later base scored with this version is read with.
      expect(p.data_summary).toEqual({ ...readDataSummary(join(runs.a, 'features', 'features.json')), values: CLIENT_VALUES });
      const [page] = await db.query<{ n: number }>(`SELECT length(content)::int AS n FROM run_files WHERE run_id = $1 AND name = 'report.html'`, [started.run.id]);
      expect(page.n).toBeGreaterThan(100_000);
      // The run's working files (feature table and partitions, scores, models, probabilities) are gone.
      expect((await db.query<{ name: string }>('SELECT name FROM run_files WHERE run_id = $1 ORDER BY name', [started.run.id])).map((f) => f.name)).toEqual(['features.json', 'report.html']);
      // Same persona file, data and options: the models of `personas run` (runs.a, published as
      // `previous`), and its labels: each customer's out-of-fold probabilities (to the CSV's six
      // decimals), not the final models' in-sample scores of the customers they learnt from.
      const models = loadSavedProjection(runs.a);
      expect(trained.sort()).toEqual(models.personas.map((p) => p.id).sort());
      const [same] = await db.query<{ n: number; persona: number; scores: number; assigned: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE a.persona IS NOT DISTINCT FROM b.persona)::int AS persona,
                count(*) FILTER (WHERE abs(a.confidence - b.confidence) < 1e-5 AND (SELECT bool_and(abs(x - y) < 1e-5) FROM unnest(a.scores, b.scores) AS u (x, y)))::int AS scores, count(a.persona)::int AS assigned
         FROM assignments a JOIN assignments b ON a.customer_id = b.customer_id WHERE a.version = $1 AND b.version = $2`,
        [version, previous],
      );
      expect(same).toMatchObject({ n: 1500, persona: 1500, scores: 1500 });
      expect(same.assigned).toBeGreaterThan(100);
    });

    it.runIf(variant === optionsVariant)('trains with the learner the run asks for, over the persona file (forest here), and refuses an unknown one', async () => {
      await expect(startRun(db, queue, { data: runs.data, personas, learner: 'svm' as 'gbdt' })).rejects.toThrow(/learner/);
      const started = await startRun(db, queue, { data: runs.data, personas, ...quick, learner: 'forest', activate: false });
      const end = await until(db, started.run.id, finished);
      expect(end.run.error).toBeNull();
      const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
      const kept = await db.query<{ persona: string; model: { kind?: string } }>('SELECT persona, model FROM persona_models WHERE version = $1', [version]);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.map((m) => loadModel(m.model).kind)).toEqual(kept.map(() => 'forest'));
      const [v] = await db.query<{ manifest: { learner: { kind: string } } }>('SELECT manifest FROM model_versions WHERE version = $1', [version]);
      expect(v.manifest.learner.kind).toBe('forest');
    });

    it.runIf(variant === optionsVariant)('learns from known customers as seeds when asked (known.learn): the labels `personas run --learn-from-known` gives', async () => {
      const truth = readFileSync(join(runs.data, 'truth.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
      const known = join(tempDir(), 'known.csv');
      const drawn = truth.filter((_, i) => i % 6 === 0);
      writeFileSync(known, ['customer_id,persona', ...drawn.map(([id, p]) => `${id},${p || 'none'}`)].join('\n') + '\n');
      await expect(startRun(db, queue, { data: runs.data, model: previous, known: { file: known, learn: true } })).rejects.toThrow(`known.learn: a run scoring with the models of version ${previous} trains none to learn from the known customers`);
      const started = await startRun(db, queue, { data: runs.data, personas, partitions: 2, activate: false, train: { folds: 2, numTrees: 15 }, known: { file: known, learn: true } });
      const end = await until(db, started.run.id, finished);
      expect(end.run.error).toBeNull();
      const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
      const detail = await versionDetail(db, version);
      expect(detail.manifest.learner.params.knownSeeds).toEqual({ file: known, customers: drawn.length });
      expect(detail.evaluation!.learntFrom).toEqual({ file: known, customers: drawn.length });
      // The same projection in one process, as `personas run --learn-from-known` makes it (runs.a's options).
      const table = (await buildFeatures({ dataDir: runs.data, outDir: tempDir() })).table;
      const p = await projectPersonas({
        table,
        personaFile: loadPersonaFile(personas),
        asOf: DEMO_AS_OF,
        seed: 1,
        train: { folds: 2, learner: { kind: 'gbdt', params: { numTrees: 15 } } },
        learnFrom: { file: known, personas: new Map(drawn.map(([id, persona]) => [id, persona || null])) },
      });
      const seedFigures = (m: (typeof p.metrics.personas)[number]) => [m.persona, m.seeds, m.knownSeeds, m.seedsLeftOut, m.seedsClaimed, m.seedsClaimedBy, m.threshold];
      expect(detail.metrics.personas.map(seedFigures)).toEqual(p.metrics.personas.map(seedFigures));
      // Every trained persona counts the seeds another persona's model claims (between the rounds), in the jobs as in the run.
      const trained = detail.metrics.personas.filter((x) => x.status === 'trained');
      for (const m of trained) expect(m.seedsClaimed).toBeTypeOf('number');
      // The cleaning job logs what `personas run` logs of it: each persona's seeds left out, and a fifth claimed by another's model.
      const cleanLog = (end.jobs.find((j) => j.kind === 'clean')!.result!.log ?? []) as string[];
      expect(cleanLog.filter((l) => / seeds judged mislabelled, left out of the second round$/.test(l)).map((l) => l.split(':')[0])).toEqual(trained.map((m) => m.persona));
      expect(cleanLog.filter((l) => / look more like another persona's customers /.test(l)).map((l) => l.split(':')[0])).toEqual(trained.filter((m) => m.seedsClaimed! / m.seeds > 0.2).map((m) => m.persona));
      expect(p.metrics.personas.some((m) => m.knownSeeds!.added > 0)).toBe(true);
      const stored = new Map((await db.query<{ customer_id: string; persona: string | null }>('SELECT customer_id, persona FROM assignments WHERE version = $1', [version])).map((r) => [r.customer_id, r.persona]));
      const ids = p.manifest.personas.map((x) => x.id);
      let same = 0;
      table.ids.forEach((id, i) => (same += stored.get(id) === (p.assignment.persona[i] >= 0 ? ids[p.assignment.persona[i]] : null) ? 1 : 0));
      expect(same).toBe(1500);
    });

    it.runIf(variant === optionsVariant)('trains the trees, bags and condition views (or none) the run asks for when the persona file names no learner, and records them', async () => {
      for (const bags of [0, 2.5, 'many']) {
        await expect(startRun(db, queue, { data: runs.data, personas, train: { bags: bags as number } })).rejects.toThrow("run request: field 'train.bags': expected a whole number from 1 to 50, or 'auto'");
      }
      await expect(startRun(db, queue, { data: runs.data, personas, train: { views: 'no' as unknown as boolean } })).rejects.toThrow(/views/);
      type Part = { kind: string; members?: { model: { trees: unknown[] } }[]; trees?: unknown[] };
      type Kept = { model: Part & { base?: { c: number; model: Part }; views?: { condition: string; c: number; model: Part }[]; baseWeight?: number } };
      const run = async (train: { folds: number; numTrees: number; bags: number; views?: boolean; strictPrecision?: boolean; trainingCustomers?: number }) => {
        const started = await startRun(db, queue, { data: runs.data, personas, partitions: 2, train, activate: false });
        const end = await until(db, started.run.id, finished);
        expect(end.run.error).toBeNull();
        const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
        const kept = await db.query<Kept>('SELECT model FROM persona_models WHERE version = $1', [version]);
        expect(kept.length).toBeGreaterThan(0);
        const [v] = await db.query<{ manifest: { learner: { kind: string; params: Record<string, unknown> } }; metrics: { customers: number; trainingCustomers?: number; personas: { status: string; views: { condition: string; seeds: number; relearning?: number | null }[]; prevalenceC: number | null; baseWeight?: number }[] } }>('SELECT manifest, metrics FROM model_versions WHERE version = $1', [version]);
        return { kept, manifest: v.manifest, metrics: v.metrics };
      };
      // The default (views on): each persona model is its bagged model (two members of 7 trees) with a view per condition of its rule (7 trees too, never more than the persona's, in the views' own bags).
      const withViews = await run({ folds: 2, numTrees: 7, bags: 2 });
      for (const { model } of withViews.kept) {
        expect(model.kind).toBe('views');
        expect(model.base!.model.kind).toBe('ensemble');
        expect(model.base!.model.members!.map((m) => m.model.trees.length)).toEqual([7, 7]);
        expect(model.views!.length).toBeGreaterThanOrEqual(2);
        for (const view of model.views!) {
          expect(view.condition).toMatch(/^personas\[\d+\]\.key_drivers\.all\[\d+\]$/);
          // The view's 7 trees shared among its three bags (VIEW_DEFAULTS.bags): 2 each.
          expect(view.model.kind).toBe('ensemble');
          expect(view.model.members!.map((m) => m.model.trees.length)).toEqual([2, 2, 2]);
        }
      }
      expect(withViews.manifest.learner.params).toMatchObject({ numTrees: 7, folds: 2, bags: 2, views: { trees: 7, folds: 2, weight: VIEW_DEFAULTS.weight, scaleByDependence: true, unlabeledPerSeed: 20, bags: 3 } });
      for (const p of withViews.metrics.personas.filter((x) => x.status === 'trained')) {
        expect(p.views.length).toBeGreaterThanOrEqual(2);
        expect(p.prevalenceC).toBeGreaterThan(0);
      }
      // views: false: the bagged model alone.
      const without = await run({ folds: 2, numTrees: 7, bags: 2, views: false });
      for (const { model } of without.kept) {
        expect(model.kind).toBe('ensemble');
        expect(model.members!.map((m) => m.model.trees.length)).toEqual([7, 7]);
      }
      expect(without.manifest.learner.params).toMatchObject({ numTrees: 7, folds: 2, bags: 2, views: null });
      for (const p of without.metrics.personas.filter((x) => x.status === 'trained')) expect(p.views).toEqual([]);
      // strictPrecision: each persona model tempered by its relearning, as `personas run --strict-precision` does.
      await expect(startRun(db, queue, { data: runs.data, personas, train: { strictPrecision: 'yes' as unknown as boolean } })).rejects.toThrow(/strictPrecision/);
      await expect(startRun(db, queue, { data: runs.data, personas, train: { views: false, strictPrecision: true } })).rejects.toThrow(/cannot go with views: false/);
      // Also on a training sample of 1,000 of the 1,500 customers (as `--training-customers`): recorded, every customer scored.
      await expect(startRun(db, queue, { data: runs.data, personas, train: { trainingCustomers: -1 } })).rejects.toThrow(/trainingCustomers/);
      await expect(startRun(db, queue, { data: runs.data, personas, train: { trainingCustomers: 100 } })).rejects.toThrow(/0 \(every customer\) or at least 500 customers/);
      expect([withViews.metrics.customers, withViews.metrics.trainingCustomers]).toEqual([1500, 1500]);
      const strict = await run({ folds: 2, numTrees: 7, bags: 1, strictPrecision: true, trainingCustomers: 1000 });
      expect(strict.manifest.learner.params).toMatchObject({ views: { strictPrecision: true }, trainingCustomers: 1000 });
      expect([strict.metrics.customers, strict.metrics.trainingCustomers]).toEqual([1500, 1000]);
      const trainedViews = strict.metrics.personas.filter((x) => x.status === 'trained').map((p) => p.views);
      expect(strict.kept.map(({ model }) => model.baseWeight ?? 1).sort()).toEqual(trainedViews.map((views) => strictBaseWeight(views)).sort());
      expect(strict.kept.some(({ model }) => model.baseWeight! < 1)).toBe(true);
      expect(strict.metrics.personas.filter((x) => x.status === 'trained').map((p) => p.baseWeight ?? 1).sort()).toEqual(strict.kept.map(({ model }) => model.baseWeight ?? 1).sort());
      // Three whole batch runs: about 30 s alone, 80 s once beside the crash test's three workers in the full suite.
    }, 240_000);

    it('scores a base with the models of a published version, without training, reading the client values as the version learnt them', async () => {
      const source = (await activeVersion(db))!;
      const trained = (await versionDetail(db, source)).dataSummary!.values;
      expect(trained).toEqual(CLIENT_VALUES); // the first test's version, trained on the client's export
      // A later export of the same client: the renames given (inline), the values the version's.
      const client = clientExport(runs.data);
      // A value read otherwise than the version learnt it is refused, naming both.
      await expect(startRun(db, queue, { data: client, model: source, columns: { ...RENAMES, values: { channel: { ' MAGASIN': 'web' } } } })).rejects.toThrow(
        new RegExp(`values\\.channel\\. MAGASIN reads ' MAGASIN' as web, but the models of version ${source} learnt 'Magasin' as store`),
      );
      await expect(startRun(db, queue, { data: client, model: source, columns: { customers: { id_client: 3 } } })).rejects.toThrow(/run request field 'columns': column map invalid at customers\.id_client/);
      const started = await startRun(db, queue, { data: client, model: source, partitions: 2, columns: RENAMES });
      const end = await until(db, started.run.id, finished);
      expect(end.run.error).toBeNull();
      expect(end.stages.map((s) => s.stage)).toEqual(['features', 'assemble', 'score', 'publish', 'report']);
      expect(end.jobs.some((j) => j.kind === 'train')).toBe(false);
      // The features job checked the base against the version's models: every feature they read is there.
      const featuresLog = (end.jobs.find((j) => j.kind === 'features')!.result!.log ?? []) as string[];
      expect(featuresLog.filter((line) => line.startsWith('the models read'))).toEqual([]);
      const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
      expect(version).not.toBe(source);
      const [same] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM persona_models a JOIN persona_models b ON a.persona = b.persona AND a.model = b.model AND a.c = b.c
         WHERE a.version = $1 AND b.version = $2`,
        [source, version],
      );
      expect(same.n).toBe((await db.query('SELECT 1 FROM persona_models WHERE version = $1', [source])).length);
      // The labels the source version's models give this base (a training run's own labels are
      // out-of-fold instead: each customer scored by models that did not learn from it).
      const saved = await loadVersionModels(db, source);
      const { table } = await buildFeatures({ dataDir: runs.data, outDir: tempDir(), asOf: DEMO_AS_OF, categories: await versionCategories(db, source) });
      const scored = saved.score(table);
      const expected = new Map(table.ids.map((id, i) => [id, scored.assignment.persona[i] >= 0 ? scored.personas[scored.assignment.persona[i]] : null]));
      const labels = await db.query<{ customer_id: string; persona: string | null }>('SELECT customer_id, persona FROM assignments WHERE version = $1', [version]);
      expect(labels.length).toBe(1500);
      expect(labels.filter((l) => expected.get(l.customer_id) !== l.persona).length).toBe(0);
      expect(labels.filter((l) => l.persona).length).toBeGreaterThan(100);
      // The new version keeps the values it was scored with, for the next one.
      expect((await versionDetail(db, version)).dataSummary!.values).toEqual(CLIENT_VALUES);
      await expect(startRun(db, queue, { data: runs.data, model: '19990101T000000Z-deadbeef' })).rejects.toThrow(/is not published/);
      await expect(startRun(db, queue, { data: runs.data })).rejects.toThrow(/give either `personas` .* or `model`/);
    });

    it('scores a base lacking a column the models read: the features job says which, and every customer is scored', async () => {
      const source = (await activeVersion(db))!;
      // The base without its client column optin_email (a later export that left it out).
      const data = join(tempDir(), 'no-optin');
      cpSync(runs.data, data, { recursive: true });
      const customers = join(data, 'customers.csv');
      const lines = readFileSync(customers, 'utf8').trimEnd().split('\n');
      expect(lines[0].endsWith(',optin_email')).toBe(true);
      writeFileSync(customers, lines.map((line) => line.slice(0, line.lastIndexOf(','))).join('\n') + '\n');
      // Checked against known customers too: every fourth of the demo base's truth, none written empty.
      const truth = readFileSync(join(runs.data, 'truth.csv'), 'utf8').trim().split('\n');
      const known = join(tempDir(), 'known.csv');
      // (every other id in lower case: matched to its customer, and counted)
      writeFileSync(known, [truth[0], ...truth.slice(1).filter((_, i) => i % 4 === 0).map((l, k) => (k % 2 ? l.toLowerCase() : l))].join('\n') + '\n');
      // A known file naming no persona of the version is refused when the run starts, with its line.
      const bad = join(tempDir(), 'bad.csv');
      writeFileSync(bad, 'customer_id,persona\nD000001,Philippe\n');
      await expect(startRun(db, queue, { data, model: source, known: { file: bad } })).rejects.toThrow(`${bad}: column persona: 1 value(s) name no persona of the run (line 2 'Philippe')`);
      const started = await startRun(db, queue, { data, model: source, partitions: 1, activate: false, known: { file: known, empty: 'none', randomSample: true } });
      const end = await until(db, started.run.id, finished);
      expect(end.run.error).toBeNull();
      expect(end.run.status).toBe('done');
      const featuresLog = (end.jobs.find((j) => j.kind === 'features')!.result!.log ?? []) as string[];
      expect(featuresLog.filter((line) => line.startsWith('the models read'))).toEqual([expect.stringMatching(/^the models read 1 feature\(s\) these customers' data does not hold, .*: optin_email; /)]);
      const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
      const [n] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM assignments WHERE version = $1', [version]);
      expect(n.n).toBe(1500);
      // The check kept with the version: counted again here from the store's labels.
      const evaluation = (await versionDetail(db, version)).evaluation!;
      expect(evaluation).toMatchObject({ modelVersion: version, customers: 375, matched: 375, reformattedIds: 187 });
      const labels = new Map((await db.query<{ customer_id: string; persona: string | null }>('SELECT customer_id, persona FROM assignments WHERE version = $1', [version])).map((r) => [r.customer_id, r.persona]));
      const sample = truth.slice(1).filter((_, i) => i % 4 === 0).map((l) => l.split(','));
      expect(evaluation.correct).toBe(sample.filter(([id, p]) => p && labels.get(id) === p).length);
      expect(evaluation.assigned).toBe(sample.filter(([id]) => labels.get(id) !== null).length);
      const report = end.jobs.find((j) => j.kind === 'report')!;
      expect(report.result).toMatchObject({ known: { matched: 375, assigned: evaluation.assigned, correct: evaluation.correct } });
      expect(report.result!.log).toEqual([expect.stringMatching(new RegExp(`^checked against 375 known customers \\(.*known\\.csv\\): ${evaluation.assigned} assigned, .*; each persona's size corrected by them \\(a random sample\\)$`))]);
      // Said to be drawn at random: each trained persona's size in the version's quantification corrected by them.
      const estimated = (await versionDetail(db, version)).quantification.personas.filter((p) => p.persona !== null && p.estimatedPrevalence !== null);
      expect(evaluation.randomSample).toBe(true);
      expect(evaluation.sizes.map((z) => [z.persona, z.estimated])).toEqual(estimated.map((p) => [p.persona, p.estimatedPrevalence]));
      expect(evaluation.sampleCheck!.random).toBe(true);
    });

    it('retries a failing job, then fails the run with its error and leaves the active version alone', async () => {
      const active = await activeVersion(db);
      const started = await startRun(db, queue, { data: join(tempDir(), 'missing'), personas, ...quick });
      const end = await until(db, started.run.id, finished);
      expect(end.run.status).toBe('failed');
      expect(end.run.error).toMatch(/features failed after 2 attempts: .*missing/);
      const job = end.jobs.find((j) => j.kind === 'features')!;
      expect(job).toMatchObject({ status: 'failed', attempts: 2 });
      expect(job.error).toMatch(/^attempt 2 of 2: /);
      expect(await activeVersion(db)).toBe(active);
    });

    it('keeps what a failed job logged: the format it read the purchases in, before it found no date it could read', async () => {
      // The base's purchases as a semicolon-separated export whose dates are in words no reader takes.
      const data = join(tempDir(), 'dates-in-words');
      cpSync(runs.data, data, { recursive: true });
      const purchases = join(data, 'transactions.csv');
      const [header, ...lines] = readFileSync(purchases, 'utf8').trimEnd().split('\n');
      const ts = header.split(',').indexOf('ts');
      const rewrite = (line: string) => line.split(',').map((v, i) => (i === ts ? 'the day before yesterday' : v)).join(';');
      writeFileSync(purchases, [header.replaceAll(',', ';'), ...lines.map(rewrite)].join('\n') + '\n');
      const started = await startRun(db, queue, { data, personas, ...quick, activate: false });
      const end = await until(db, started.run.id, finished);
      expect(end.run.status).toBe('failed');
      expect(end.run.error).toMatch(/^features failed after 2 attempts: .*transactions\.csv: no transaction could be read \(every row was rejected: bad_date \d+/);
      const job = end.jobs.find((j) => j.kind === 'features')!;
      expect(job).toMatchObject({ status: 'failed', attempts: 2 });
      expect(job.result!.log).toEqual([expect.stringMatching(/transactions\.csv: .*semicolon/)]);
      expect(Object.keys(job.result!.stageSeconds as object)).toContain('load and validate inputs');
      // `jobs show --jobs` prints them under the failed job.
      expect(jobLines(end).join('\n')).toMatch(/^ {2}features +failed +attempts 2 .*\n {6}\S*transactions\.csv: .*semicolon/m);
    });

    it('retries away a transient fault: the data appears before the second attempt', async () => {
      const data = join(tempDir(), 'late');
      const started = await startRun(db, queue, { data, personas, ...quick, activate: false });
      await until(db, started.run.id, (s) => s.jobs.some((j) => j.kind === 'features' && j.attempts === 1 && j.status === 'queued' && !!j.error));
      cpSync(runs.data, data, { recursive: true });
      const end = await until(db, started.run.id, finished);
      expect(end.run.status).toBe('done');
      expect(end.jobs.find((j) => j.kind === 'features')).toMatchObject({ status: 'done', attempts: 2, error: null });
      const version = (end.jobs.find((j) => j.kind === 'publish')!.result as { version: string }).version;
      expect((await listVersions(db)).find((v) => v.version === version)?.status).toBe('ready');
    });

    it('cancels a run: no version is left behind and the active one stays', async () => {
      const active = await activeVersion(db);
      const before = (await listVersions(db)).length;
      const started = await startRun(db, queue, { data: runs.data, personas, ...quick });
      await until(db, started.run.id, (s) => s.run.stage === 'train' || finished(s));
      const cancelled = await cancelRun(db, started.run.id);
      expect(cancelled.status).toBe('cancelled');
      await expect(cancelRun(db, started.run.id)).rejects.toThrow(/already cancelled/);
      // Jobs in flight stop at their next check; nothing after them runs.
      await new Promise((r) => setTimeout(r, 3000));
      const end = await runStatus(db, started.run.id);
      expect(end.run.status).toBe('cancelled');
      expect(end.jobs.filter((j) => j.kind === 'publish' || j.kind === 'score')).toEqual([]);
      // Its working files go too (the feature table and its partitions were written before it was
      // cancelled; a training job in flight writes its own as it ends, and they go then).
      const files = async () => (await db.query<{ name: string }>('SELECT name FROM run_files WHERE run_id = $1 ORDER BY name', [started.run.id])).map((f) => f.name);
      for (let t0 = Date.now(); (await files()).length > 1 && Date.now() - t0 < 30_000;) await new Promise((r) => setTimeout(r, 200));
      expect(await files()).toEqual(['features.json']);
      expect((await listVersions(db)).length).toBe(before);
      expect(await activeVersion(db)).toBe(active);
    });

    it('starts runs and reports their status through the API', async () => {
      const app = createApp({ db, queue });
      const admin = (await createKey(db, { name: 'ops', scopes: ['admin'], rateLimit: 10_000 })).token;
      const reader = (await createKey(db, { name: 'crm', scopes: ['read'], rateLimit: 10_000 })).token;
      const post = await request(app).post('/v1/jobs').set('Authorization', `Bearer ${admin}`).send({ data: runs.data, personas, ...quick, activate: false });
      expect(post.status).toBe(202);
      expect(post.headers.location).toBe(`/v1/jobs/${post.body.id}`);
      expect(post.body).toMatchObject({ status: 'queued', stage: 'features' });
      let body: { status: string; percent: number; version: string | null; stages: { stage: string; done: number }[] };
      const t0 = Date.now();
      do {
        await new Promise((r) => setTimeout(r, 200));
        const res = await request(app).get(post.headers.location).set('Authorization', `Bearer ${reader}`);
        expect(res.status).toBe(200);
        body = res.body;
      } while (!['done', 'failed', 'cancelled'].includes(body.status) && Date.now() - t0 < 90_000);
      expect(body.status).toBe('done');
      expect(body.percent).toBe(100);
      expect(body.version).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
      const list = await request(app).get('/v1/jobs?limit=50').set('Authorization', `Bearer ${reader}`);
      expect(list.body.runs.map((r: { id: string }) => r.id)).toContain(post.body.id);
      expect((await request(app).post('/v1/jobs').set('Authorization', `Bearer ${reader}`).send({})).status).toBe(403);
      const bad = await request(app).post('/v1/jobs').set('Authorization', `Bearer ${admin}`).send({ data: runs.data, personas, partitions: 0 });
      expect(bad.status).toBe(400);
      expect(bad.body.detail).toMatch(/body\.partitions/);
      // A column map sent with the run is checked before any job starts.
      const badValues = await request(app).post('/v1/jobs').set('Authorization', `Bearer ${admin}`).send({ data: runs.data, personas, columns: { values: { channel: { Magasin: 'shop' } } } });
      expect(badValues.status).toBe(400);
      expect(badValues.body.detail).toMatch(/run request field 'columns': column map invalid at values\.channel\.Magasin: expected one of store, web, app, phone/);
      const missing = await request(app).post('/v1/jobs').set('Authorization', `Bearer ${admin}`).send({ data: runs.data, personas, columns: '/nowhere/columns.yaml' });
      expect(missing.status).toBe(400);
      expect(missing.body.detail).toMatch(/\/nowhere\/columns\.yaml: column map not found/);
      expect((await request(app).get('/v1/jobs/run-20990101T000000Z-abcdef').set('Authorization', `Bearer ${reader}`)).status).toBe(404);
      const again = await request(app).post(`/v1/jobs/${post.body.id}/cancel`).set('Authorization', `Bearer ${admin}`);
      expect(again.status).toBe(409);
      expect(previous).toBeTruthy();
    });
  });
}
