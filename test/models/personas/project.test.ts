// The projection end to end on a small demo base: outputs follow the artefact schemas, the
// quantification adds up, the assignment follows the decision rule, a persona under min_seeds is
// skipped while the others go on, and a failed write leaves the previous outputs in place.
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { writeDemoBase } from '../../../src/demo/index.ts';
import { buildFeatures, type FeatureTable } from '../../../src/features/index.ts';
import { ManifestSchema, QuantificationSchema, RunMetricsSchema } from '../../../src/models/artefacts.ts';
import { describeModel, loadModel } from '../../../src/models/learners.ts';
import { conditionViews, loadPersonaFile, loadSavedProjection, parsePersonaFile, projectPersonas, VIEW_DEFAULTS, writeProjection, type Projection } from '../../../src/models/personas/index.ts';
import { topClaimant } from '../../../src/models/personas/seed-cleaning.ts';
import { personaWarnings } from '../../../src/report/warnings.ts';
import { viewWeight } from '../../../src/models/personas/views.ts';
import { encodeDesign } from '../../../src/models/personas/design.ts';
import { ConditionViewsModel, VIEWS_FORMAT } from '../../../src/models/personas/views-model.ts';
import { tempDir } from '../../helpers/world.ts';

describe('projection of the demo base', () => {
  let table: FeatureTable;
  let projection: Projection;
  const root = tempDir();
  const tempDirParent = () => root;
  const out = join(root, 'run');
  beforeAll(async () => {
    const data = join(tempDir(), 'data');
    await writeDemoBase(data, { customers: 2500, seed: 2 });
    // Make one persona impossible to seed: it must be skipped while the others train.
    const personasPath = join(data, 'personas.yaml');
    writeFileSync(personasPath, readFileSync(personasPath, 'utf8').replace('min_seeds: 50\n    threshold: auto\n  - id: suburban_family', 'min_seeds: 100000\n    threshold: auto\n  - id: suburban_family'));
    const personaFile = loadPersonaFile(personasPath);
    writeFileSync(join(tempDirParent(), 'personas-twins.yaml'), personaFile.content);
    table = (await buildFeatures({ dataDir: data })).table;
    projection = await projectPersonas({ table, personaFile, asOf: '2026-06-30', train: { folds: 2, learner: { kind: 'gbdt', params: { numTrees: 20 } } } });
    writeProjection(out, table, projection);
  }, 120_000);

  it('skips the persona under min_seeds with its reason and trains the others', () => {
    const status = Object.fromEntries(projection.manifest.personas.map((p) => [p.id, p.status]));
    expect(status.urban_digital).toBe('skipped');
    expect(projection.manifest.personas.find((p) => p.id === 'urban_digital')!.reason).toMatch(/below min_seeds 100000/);
    expect(Object.values(status).filter((s) => s === 'trained').length).toBeGreaterThanOrEqual(3);
  });

  it('trains with the learner the caller gives over the persona file\'s', () => {
    expect(projection.manifest.learner.params.numTrees).toBe(20);
    // Every boosted model saved (bag members, condition views) has the 20 trees asked for.
    const treeCounts: number[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (o.format && Array.isArray(o.trees)) treeCounts.push(o.trees.length);
        else Object.values(o).forEach(walk);
      }
    };
    for (const p of projection.manifest.personas.filter((x) => x.status === 'trained')) walk(JSON.parse(readFileSync(join(out, 'model', p.modelFile!), 'utf8')).model);
    expect(treeCounts.length).toBeGreaterThan(0);
    expect(treeCounts.filter((n) => n > 20)).toEqual([]);
    // The run's log names each model in a few words: its five bagged members counted, not listed.
    for (const m of projection.models) {
      const views = m.views?.length ?? 0;
      expect(views).toBeGreaterThan(0);
      expect(describeModel(m.model)).toBe(`gbdt (5 averaged) on javascript, with ${views} condition view${views === 1 ? '' : 's'}`);
    }
  });

  it('writes artefacts that follow their schemas', () => {
    const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(out, 'model', 'manifest.json'), 'utf8')));
    const metrics = RunMetricsSchema.parse(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')));
    // The schema keeps the sizing c (readers once stripped it): at most the kept seeds' c, since
    // the seeds cleaning leaves out are those the model scores lowest.
    for (const p of metrics.personas) {
      if (p.status === 'skipped') expect(p.prevalenceC).toBeNull();
      else {
        expect(p.prevalenceC).toBeGreaterThan(0);
        expect(p.prevalenceC).toBeLessThanOrEqual(p.estimatedC! + 1e-12);
      }
    }
    QuantificationSchema.parse(JSON.parse(readFileSync(join(out, 'quantification.json'), 'utf8')));
    for (const p of manifest.personas.filter((x) => x.status === 'trained')) {
      const file = JSON.parse(readFileSync(join(out, 'model', p.modelFile!), 'utf8'));
      expect(loadModel(file.model).featureNames).toEqual(file.features);
      expect(file.c).toBeGreaterThan(0);
    }
  });

  it('writes one assignment row per customer following the decision rule', () => {
    const lines = readFileSync(join(out, 'assignments.csv'), 'utf8').trim().split('\n');
    const header = lines[0].split(',');
    const ids = projection.manifest.personas.map((p) => p.id);
    expect(header).toEqual(['customer_id', 'persona', 'confidence', 'margin', 'model_version', ...ids.map((id) => `score_${id}`)]);
    expect(lines.length - 1).toBe(table.rows);
    const thresholds = Object.fromEntries(projection.manifest.personas.map((p) => [p.id, p.threshold ?? 1]));
    const minMargin = projection.manifest.assignment.minMargin;
    for (const line of lines.slice(1)) {
      const f = line.split(',');
      expect(f[4]).toBe(projection.manifest.modelVersion);
      if (f[1]) {
        expect(Number(f[2])).toBeGreaterThanOrEqual(thresholds[f[1]] - 1e-6);
        expect(Number(f[3])).toBeGreaterThanOrEqual(minMargin - 1e-6);
        expect(Number(f[5 + ids.indexOf(f[1])])).toBe(Number(f[2]));
      }
      expect(f[5 + ids.indexOf('urban_digital')]).toBe('');
    }
  });

  it('quantifies every customer once, revenue included, and crosses personas with segments', () => {
    const q = projection.quantification;
    expect(q.personas.reduce((s, r) => s + r.customers, 0)).toBe(table.rows);
    expect(q.personas.reduce((s, r) => s + r.share, 0)).toBeCloseTo(1, 9);
    expect(q.personas.reduce((s, r) => s + r.revenueShare, 0)).toBeCloseTo(1, 9);
    expect(q.personas.at(-1)!.persona).toBeNull();
    expect(q.bySegment.reduce((s, r) => s + r.customers, 0)).toBe(table.rows);
    const trained = projection.metrics.personas.filter((p) => p.status === 'trained');
    for (const p of trained) {
      expect(p.validationAuc).toBeGreaterThan(0.6);
      expect(p.estimatedPrevalence).toBeGreaterThan(0);
      expect(p.reachCurve).toHaveLength(19);
    }
  });

  it('loads the saved model directory back and scores a table as the final models do', () => {
    const saved = loadSavedProjection(out);
    expect(saved.modelVersion).toBe(projection.manifest.modelVersion);
    expect(saved.personas.map((p) => p.id)).toEqual(projection.models.map((m) => m.id));
    const scores = saved.score(table);
    projection.models.forEach((m, k) => {
      const direct = m.model.predictProba({ rows: table.rows, columns: saved.personas[k].columns.map((j) => designOf(saved, j)) });
      for (let i = 0; i < table.rows; i += 97) expect(scores.probabilities[k][i]).toBeCloseTo(Math.min(1, direct[i] / m.c), 12);
    });
    // Every assigned customer passes its persona's threshold and the margin.
    const a = scores.assignment;
    for (let i = 0; i < table.rows; i++) {
      if (a.persona[i] < 0) continue;
      expect(a.confidence[i]).toBeGreaterThanOrEqual(saved.personas[a.persona[i]].threshold);
      expect(a.margin[i]).toBeGreaterThanOrEqual(saved.manifest.assignment.minMargin - 1e-12);
    }
    // A later table without some features scores them as missing, not as an error.
    const partial = { ...table, numericNames: table.numericNames.slice(2), numeric: table.numeric.slice(2) };
    expect(saved.score(partial).probabilities[0]).toHaveLength(table.rows);
    function designOf(s: typeof saved, j: number) {
      return encodeDesign(table, s.encoding).columns[j];
    }
  });

  it('refuses a model directory whose files are damaged, naming the file', () => {
    const copy = join(root, 'damaged');
    cpSync(join(out, 'model'), copy, { recursive: true });
    const first = projection.models[0].id;
    writeFileSync(join(copy, `${first}.json`), '{"persona": "x"');
    expect(() => loadSavedProjection(copy)).toThrow(new RegExp(`${first}\\.json: not valid JSON`));
    const file = JSON.parse(readFileSync(join(out, 'model', `${first}.json`), 'utf8'));
    writeFileSync(join(copy, `${first}.json`), JSON.stringify({ ...file, features: ['no_such_feature'] }));
    expect(() => loadSavedProjection(copy)).toThrow(/feature 'no_such_feature' is not a column/);
    writeFileSync(join(copy, 'manifest.json'), JSON.stringify({ format: 'personas-model/0' }));
    expect(() => loadSavedProjection(copy)).toThrow(/manifest\.json: field 'format'/);
  });

  it('grows each seed set with kNN twins that are no persona\'s seeds, and leaves out mislabelled seeds, when asked', async () => {
    const personaFile = loadPersonaFile(join(out, '..', 'personas-twins.yaml'));
    const withTwins = await projectPersonas({
      table,
      personaFile,
      asOf: '2026-06-30',
      train: { folds: 2, twinsPerSeed: 1, cleanSeedsQuantile: 0.1, views: null, learner: { kind: 'gbdt', params: { numTrees: 20 } } },
    });
    for (const m of withTwins.metrics.personas.filter((p) => p.status === 'trained')) {
      // At most one twin per seed kept after cleaning (a tenth or more of the seeds left out).
      expect(m.twins).toBeGreaterThan(0);
      expect(m.twins).toBeLessThan(m.seeds);
    }
    expect(withTwins.manifest.learner.params).toMatchObject({ twinsPerSeed: 1, twinSearch: 'knn', twinWeight: 0.5, cleanSeedsQuantile: 0.1, bags: 'auto' });
    // Each persona's model is the mean of its bags (views: null, so no condition views), and the manifest and metrics say how many.
    expect(withTwins.models.every((m) => m.model.kind === 'ensemble')).toBe(true);
    expect(withTwins.metrics.personas.filter((p) => p.status === 'trained').every((p) => p.bags === 5)).toBe(true);
    expect(withTwins.manifest.learner.params.views).toBeNull();
  });

  it('adds a view per condition of each rule to the persona models by default, which stay the same models as without views', async () => {
    const trained = projection.metrics.personas.filter((p) => p.status === 'trained');
    const spec = loadPersonaFile(join(root, 'personas-twins.yaml')).spec;
    const design = encodeDesign(table, projection.encoding);
    for (const p of trained) {
      expect(p.views.length).toBeGreaterThanOrEqual(2);
      for (const v of p.views) {
        expect(v.condition).toMatch(/^personas\[\d\]\.key_drivers\.all\[\d\]$/);
        // A view's positives pass all but one of the rule's conditions: at least the rule's own seeds.
        expect(v.seeds).toBeGreaterThanOrEqual(p.seeds);
        expect(v.c).toBeGreaterThan(0);
        expect(v.validationAuc).toBeGreaterThan(0.5);
        expect(v.dependence).toBeGreaterThanOrEqual(0);
        expect(v.dependence).toBeLessThanOrEqual(1);
        expect(v.features!.length).toBeGreaterThan(0);
        // Each view's weight follows from its dependence and the persona model's relearning of its condition.
        expect(v.weight).toBe(viewWeight(VIEW_DEFAULTS.weight, v.dependence ?? null, v.relearning ?? null));
      }
      const file = JSON.parse(readFileSync(join(out, 'model', `${p.persona}.json`), 'utf8'));
      expect(file.model.format).toBe(VIEWS_FORMAT);
      expect(file.model.views.map((v: { weight: number }) => v.weight)).toEqual(p.views.map((v) => v.weight));
      expect(file.model.views.map((v: { condition: string }) => v.condition)).toEqual(p.views.map((v) => v.condition));
      // Each view reads its condition's features (and correlates), never another condition's.
      const i = Number(/^personas\[(\d)\]/.exec(p.views[0].condition)![1]);
      const views = conditionViews(spec.personas[i].key_drivers, table, `personas[${i}].key_drivers`);
      file.model.views.forEach((v: { model: { featureNames: string[] }; floor: number; mean: number }, a: number) => {
        const sources = v.model.featureNames.map((name) => design.sources[design.names.indexOf(name)]);
        expect(views[a].features.every((f) => sources.includes(f))).toBe(true);
        expect(sources.filter((f) => views[a].ruleFeatures.includes(f))).toEqual([]);
        expect(v.mean).toBeGreaterThan(v.floor);
      });
    }
    expect(projection.manifest.learner.params.views).toEqual({ trees: 20, folds: 2, weight: VIEW_DEFAULTS.weight, scaleByDependence: true, unlabeledPerSeed: 20, bags: VIEW_DEFAULTS.bags });
    const personaFile = loadPersonaFile(join(out, '..', 'personas-twins.yaml'));
    const plain = await projectPersonas({ table, personaFile, asOf: '2026-06-30', train: { folds: 2, views: null, learner: { kind: 'gbdt', params: { numTrees: 20 } } } });
    expect(plain.manifest.learner.params.views).toBeNull();
    expect(plain.metrics.personas.every((p) => p.views.length === 0)).toBe(true);
    plain.models.forEach((m, k) => {
      const views = projection.models[k].model as ConditionViewsModel;
      expect(views.kind).toBe('views');
      // The same persona model inside, on the same columns: views add to it, they do not change it.
      expect(views.base.c).toBe(m.c);
      // The views read their evidence against the persona model's size estimate; the size becomes the mean combined probability.
      const combination = views.combination;
      expect(combination.rule === 'evidence' && combination.prevalence).toBeCloseTo(Math.min(0.99, Math.max(0.001, m.prevalence)), 12);
      const probs = projection.models[k].probabilities;
      expect(projection.models[k].prevalence).toBeCloseTo(probs.reduce((a, b) => a + b, 0) / probs.length, 12);
      expect(views.base.model.featureNames).toEqual(m.features);
      const x = { rows: table.rows, columns: m.features.map((f) => design.columns[design.names.indexOf(f)]) };
      expect(Array.from(views.base.model.predictProba(x))).toEqual(Array.from(m.model.predictProba(x)));
      expect(projection.models[k].features.length).toBeGreaterThan(m.features.length);
      // The views move the probabilities.
      let moved = 0;
      for (let i = 0; i < table.rows; i++) if (Math.abs(projection.models[k].probabilities[i] - m.probabilities[i]) > 1e-9) moved++;
      expect(moved).toBeGreaterThan(table.rows / 2);
    });
  });

  it('leaves previous outputs whole when a write fails', () => {
    const before = readFileSync(join(out, 'assignments.csv'), 'utf8');
    // A directory where model/manifest.json must go makes the write fail midway.
    const broken = { ...projection, models: [...projection.models, { ...projection.models[0], id: '../../x/y' }] };
    expect(() => writeProjection(out, table, broken)).toThrow();
    expect(readFileSync(join(out, 'assignments.csv'), 'utf8')).toBe(before);
    expect(existsSync(join(out, 'model', 'manifest.json'))).toBe(true);
  });
});

describe('seeds another persona claims', () => {
  const runs = inject('runs');

  it("names, for a rule that is another persona's with one condition turned round, the persona whose model claims its seeds, and the report says so", async () => {
    const file = loadPersonaFile(join(runs.data, 'personas.yaml'));
    // suburban_family's rule with its neighbourhood condition turned round: families of the same
    // age and baskets, elsewhere. Each model, blind to its own rule's columns, finds the other's
    // seeds its own.
    const block = / {2}- id: suburban_family\n[\s\S]*?(?= {2}- id: )/.exec(file.content)![0];
    const turned = block
      .replace('id: suburban_family', 'id: family_elsewhere')
      .replace(/label: .*/, 'label: "Families elsewhere"')
      .replace('tile_share_owner: { gte: 0.5 }', 'tile_share_owner: { lt: 0.5 }');
    expect(turned).toContain('tile_share_owner: { lt: 0.5 }');
    const content = file.content.replace('\nassignment:', `\n${turned}assignment:`);
    const personaFile = { ...file, content, spec: parsePersonaFile(content, file.path) };
    const table = (await buildFeatures({ dataDir: runs.data })).table;
    const p = await projectPersonas({ table, personaFile, asOf: '2026-06-30', seed: 1, train: { folds: 2, learner: { kind: 'gbdt', params: { numTrees: 15 } } } });
    const metrics = new Map(p.metrics.personas.map((m) => [m.persona, m]));
    const suburban = metrics.get('suburban_family')!;
    const elsewhere = metrics.get('family_elsewhere')!;
    expect(topClaimant(suburban.seedsClaimedBy!)![0]).toBe('family_elsewhere');
    expect(topClaimant(elsewhere.seedsClaimedBy!)![0]).toBe('suburban_family');
    for (const m of p.metrics.personas.filter((x) => x.status === 'trained')) {
      // The count is the sum of its claimants, each another persona.
      expect(Object.values(m.seedsClaimedBy!).reduce((a, b) => a + b, 0)).toBe(m.seedsClaimed);
      expect(Object.keys(m.seedsClaimedBy!)).not.toContain(m.persona);
    }
    const labels = new Map(p.manifest.personas.map((x) => [x.id, x.label]));
    const warning = personaWarnings(suburban, (id) => labels.get(id) ?? id, 10, null, 'en').find((w) => w.kind === 'seeds_claimed');
    expect(suburban.seedsClaimed! / suburban.seeds).toBeGreaterThan(0.2);
    expect(warning?.message).toContain("than like its own to the models, most of them Families elsewhere's (");
  }, 60_000);
});
