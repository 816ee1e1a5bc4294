// The learner kind through the persona pipeline: the persona file's `model.kind` (every kind,
// default gbdt, unknown kinds named), `--learner` overriding it, a projection trained with the
// mlp whose saved model/ directory loads back by kind and scores as the run's final models do.
import { join } from 'node:path';
import { writeFileSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainProjection } from '../../../src/cli/train.ts';
import { writeDemoBase } from '../../../src/demo/index.ts';
import { readFeatureTable } from '../../../src/features/index.ts';
import { encodeDesign, loadSavedProjection, parsePersonaFile, personaLearner, PERSONA_LEARNER_DEFAULTS, trainPersonas, TRAIN_DEFAULTS, type Projection } from '../../../src/models/personas/index.ts';
import { AUTO_MIN_BAGS, bagLearner, bagsFor, leafRows, MAX_BAGS, UNLABELED_PER_BAG } from '../../../src/models/personas/train.ts';
import type { DesignMatrix } from '../../../src/models/personas/design.ts';
import { Random } from '../../../src/random.ts';
import { loadModel, makeLearner } from '../../../src/models/learners.ts';
import { averageMembers, MemberMean } from '../../../src/models/ensemble.ts';
import { applyPlatt } from '../../../src/models/calibration.ts';
import { FOREST_DEFAULTS } from '../../../src/models/gbdt/forest.ts';
import { withLearner, type LoadedPersonaFile } from '../../../src/models/personas/file.ts';
import { silentProgress } from '../../../src/progress.ts';
import { tempDir } from '../../helpers/world.ts';

const FILE = `personas:\n  - id: a\n    label: A\n    key_drivers: { age: { gte: 50 } }\n`;

describe('the learner kind in the persona file', () => {
  it('accepts every kind, defaults to none (gbdt), and names an unknown kind', () => {
    for (const kind of ['gbdt', 'forest', 'mlp', 'ensemble']) expect(parsePersonaFile(`${FILE}model:\n  kind: ${kind}\n`).model?.kind).toBe(kind);
    expect(parsePersonaFile(`${FILE}model:\n  params: { numTrees: 5 }\n`).model).toEqual({ kind: 'gbdt', params: { numTrees: 5 } });
    expect(parsePersonaFile(FILE).model).toBeUndefined();
    expect(() => parsePersonaFile(`${FILE}model:\n  kind: svm\n`, 'p.yaml')).toThrow(/p\.yaml: model\.kind: .*"gbdt"\|"forest"\|"mlp"\|"ensemble"/);
  });

  it('--learner replaces the kind and keeps the params', () => {
    const spec = parsePersonaFile(`${FILE}model:\n  kind: gbdt\n  params: { numTrees: 5 }\n`);
    const file: LoadedPersonaFile = { path: 'p.yaml', content: '', sha256: '', spec };
    expect(withLearner(file, 'mlp').spec.model).toEqual({ kind: 'mlp', params: { numTrees: 5 } });
    expect(withLearner(file, undefined)).toBe(file);
  });
});

describe('the learner options persona training starts from', () => {
  const defaults = PERSONA_LEARNER_DEFAULTS;

  it('gives boosted trees their defaults under the file params, and the forest its own', () => {
    expect(personaLearner(undefined)).toEqual({ kind: 'gbdt', params: defaults.gbdt });
    expect(personaLearner({ kind: 'gbdt', params: { numTrees: 50 } }).params).toEqual({ ...defaults.gbdt, numTrees: 50 });
    const forest = personaLearner({ kind: 'forest', params: { numTrees: 50, learningRate: 0.2 } });
    expect(forest.params).toEqual({ ...defaults.forest, numTrees: 50, learningRate: 0.2 });
    const built = makeLearner('forest', forest.params).options as Record<string, unknown>;
    // The boosted trees' depth and subsampling never reach the forest.
    expect(built).toMatchObject({ numTrees: 50, maxDepth: defaults.forest.maxDepth, subsample: FOREST_DEFAULTS.subsample, colsample: FOREST_DEFAULTS.colsample });
    expect(makeLearner('mlp', personaLearner({ kind: 'mlp' }).params).options).toEqual(makeLearner('mlp', {}).options);
  });

  it('gives each ensemble member its own defaults, the file flat keys over them and its section over all', () => {
    const { params } = personaLearner({ kind: 'ensemble', params: { members: ['gbdt', 'forest'], numTrees: 40, forest: { maxDepth: 9 } } });
    const built = makeLearner('ensemble', params).options as { gbdt: Record<string, unknown>; forest: Record<string, unknown>; members: string[] };
    expect(built.members).toEqual(['gbdt', 'forest']);
    expect(built.gbdt).toEqual({ ...defaults.gbdt, numTrees: 40 });
    expect(built.forest).toEqual({ ...defaults.forest, numTrees: 40, maxDepth: 9 });
  });
});

describe('rows a boosted tree leaf holds in persona training', () => {
  it('is 1 % of the training rows between 20 and 200, unless the options say', async () => {
    expect([leafRows(500), leafRows(5000), leafRows(12345), leafRows(20000), leafRows(1e6)]).toEqual([20, 50, 123, 200, 200]);
    const rng = new Random(3);
    const rows = 3000;
    const names = ['a', 'b'];
    const columns = names.map(() => Float32Array.from({ length: rows }, () => rng.normal(0, 1)));
    const design: DesignMatrix = { rows, columns, names, sources: names };
    const seedMask = Uint8Array.from(columns[0], (v) => (v > 1 ? 1 : 0));
    const seeds = seedMask.reduce((a, b) => a + b, 0);
    const options = { ...TRAIN_DEFAULTS, folds: 2, unlabeledPerSeed: 3, relatedCorrelation: 0, workers: 1, bags: 1 };
    const leaf = async (learner: typeof options.learner) => {
      const [m] = await trainPersonas(design, [{ id: 'p', seedMask, ruleFeatures: [] }], { ...options, learner });
      return (m.model.toJSON() as { params: { minDataInLeaf: number } }).params.minDataInLeaf;
    };
    // The final model learns every sampled row: the seeds and three unlabelled customers per seed.
    expect(await leaf(personaLearner(undefined))).toBe(leafRows(seeds * 4));
    expect(await leaf(personaLearner({ kind: 'gbdt', params: { minDataInLeaf: 7 } }))).toBe(7);
  });
});

describe('positive-unlabeled bagging', () => {
  const rng = new Random(5);
  const rows = 3000;
  const names = ['a', 'b'];
  const columns = names.map(() => Float32Array.from({ length: rows }, () => rng.normal(0, 1)));
  const design: DesignMatrix = { rows, columns, names, sources: names };
  const seedMask = Uint8Array.from(columns[0], (v) => (v > 1 && rng.next() < 0.5 ? 1 : 0));
  const options = { ...TRAIN_DEFAULTS, folds: 2, unlabeledPerSeed: 6, relatedCorrelation: 0, twinsPerSeed: 0, workers: 1, learner: personaLearner({ kind: 'gbdt', params: { numTrees: 20 } }) };

  it('averages one model per bag, saved as an ensemble of them that loads back and scores the same', async () => {
    const [bagged] = await trainPersonas(design, [{ id: 'p', seedMask, ruleFeatures: [] }], { ...options, bags: 3 });
    const [single] = await trainPersonas(design, [{ id: 'p', seedMask, ruleFeatures: [] }], { ...options, bags: 1 });
    expect(single.model.kind).toBe('gbdt');
    expect(bagged.model.kind).toBe('ensemble');
    const json = bagged.model.toJSON() as { members: { kind: string; calibration: { a: number; b: number } }[] };
    expect(json.members.map((m) => m.kind)).toEqual(['gbdt', 'gbdt', 'gbdt']);
    expect(json.members.every((m) => m.calibration.a === 1 && m.calibration.b === 0)).toBe(true);
    expect(Array.from(loadModel(JSON.parse(JSON.stringify(json))).predictProba(design))).toEqual(Array.from(bagged.model.predictProba(design)));
    // Both learn the seeds' side of feature a: the customers above 1 score higher than the rest.
    for (const m of [single, bagged]) {
      let hi = 0;
      let lo = 0;
      let nh = 0;
      columns[0].forEach((v, i) => (v > 1 ? ((hi += m.probabilities[i]), nh++) : (lo += m.probabilities[i])));
      expect(hi / nh).toBeGreaterThan(2 * (lo / (rows - nh)));
    }
    // The bags' models differ (each its own unlabelled share): the mean is not one of them.
    expect(Array.from(bagged.oofScores)).not.toEqual(Array.from(single.oofScores));
  });

  it('gives the same scores whatever the order the bags end in (one worker or two)', async () => {
    const input = [{ id: 'p', seedMask, ruleFeatures: [] }];
    const [one] = await trainPersonas(design, input, { ...options, bags: 4, workers: 1 });
    const [two] = await trainPersonas(design, input, { ...options, bags: 4, workers: 2 });
    expect(two.oofScores).toEqual(one.oofScores);
    expect(two.c).toBe(one.c);
    expect(JSON.stringify(two.model.toJSON())).toBe(JSON.stringify(one.model.toJSON()));
  });

  it('averages bags that arrive in any order to the figures of the ensemble, and names a misuse', () => {
    const members = [
      { a: 1, b: 0 },
      { a: 0.8, b: 0.1 },
      { a: 1.2, b: -0.3 },
    ];
    const probabilities = members.map(() => Float64Array.from({ length: 50 }, () => rng.next()));
    const inOrder = averageMembers(members, probabilities);
    for (const order of [
      [2, 0, 1],
      [1, 2, 0],
      [0, 2, 1],
    ]) {
      const mean = new MemberMean(members, 50);
      for (const k of order) mean.add(k, probabilities[k]);
      expect(mean.mean()).toEqual(inOrder);
      expect(mean.mean()).toEqual(inOrder); // asked twice: the same mean
    }
    expect(inOrder[7]).toBeCloseTo((probabilities[0][7] + applyPlatt(members[1], probabilities[1][7]) + applyPlatt(members[2], probabilities[2][7])) / 3, 12);
    const mean = new MemberMean(members, 50);
    mean.add(1, probabilities[1]);
    expect(() => mean.add(1, probabilities[1])).toThrow(/member 1: expected one not added yet, of 3/);
    expect(() => mean.add(3, probabilities[0])).toThrow(/member 3: expected one not added yet, of 3/);
    expect(() => mean.add(0, new Float64Array(49))).toThrow(/member 0: 49 probabilities, expected 50/);
    expect(() => mean.mean()).toThrow(/mean of 3 members asked with 0 in/);
  });

  it('refuses a bag count that is not a whole number of 1 or more, or auto', async () => {
    for (const bags of [0, 1.5, -2, 'some' as 'auto']) {
      await expect(trainPersonas(design, [{ id: 'p', seedMask, ruleFeatures: [] }], { ...options, bags })).rejects.toThrow(/option bags = .*: expected a whole number of 1 or more, or 'auto'/);
    }
  });

  it("with bags 'auto', gives a persona five bags, more (to MAX_BAGS) where its unlabelled rows give each UNLABELED_PER_BAG, of proportionally fewer trees at a higher rate", async () => {
    const gbdt = options.learner;
    expect([0, 2999, 17_999, 18_000, 29_999, 30_000, 1e6].map((u) => bagsFor({ bags: 'auto', learner: gbdt }, u))).toEqual([5, 5, 5, 6, 9, 10, 10]);
    expect([AUTO_MIN_BAGS, UNLABELED_PER_BAG, MAX_BAGS]).toEqual([5, 3000, 10]);
    // A number is taken as given, learner and all; other learners are not bagged.
    expect(bagsFor({ bags: 4, learner: gbdt }, 1e6)).toBe(4);
    expect(bagLearner({ bags: 10, learner: gbdt }, 10)).toBe(gbdt);
    expect(bagsFor({ bags: 'auto', learner: personaLearner({ kind: 'forest' }) }, 1e6)).toBe(1);
    // The persona defaults in ten bags: 150 trees at 0.06 each, the trees of five bags of 300 at 0.03.
    const ten = bagLearner({ bags: 'auto', learner: personaLearner(undefined) }, 10).params;
    expect([ten.numTrees, ten.learningRate]).toEqual([PERSONA_LEARNER_DEFAULTS.gbdt.numTrees / 2, PERSONA_LEARNER_DEFAULTS.gbdt.learningRate * 2]);
    // Through training: two personas of one base, one with few seeds (so few unlabelled sampled), one with many.
    const big = 40_000;
    const bigColumns = names.map(() => Float32Array.from({ length: big }, () => rng.normal(0, 1)));
    const bigDesign: DesignMatrix = { rows: big, columns: bigColumns, names, sources: names };
    const few = Uint8Array.from(bigColumns[0], (v) => (v > 2.5 ? 1 : 0));
    const many = Uint8Array.from(bigColumns[1], (v) => (v > 0.5 ? 1 : 0));
    const count = (mask: Uint8Array) => mask.reduce((a, b) => a + b, 0);
    const unlabelled = (mask: Uint8Array) => Math.min(big - count(mask), count(mask) * options.unlabeledPerSeed);
    const learner = personaLearner({ kind: 'gbdt', params: { numTrees: 20 } });
    const [small, large] = await trainPersonas(bigDesign, [{ id: 'few', seedMask: few, ruleFeatures: [] }, { id: 'many', seedMask: many, ruleFeatures: [] }], { ...options, bags: 'auto', learner });
    type Bagged = { members: { model: { params: { numTrees: number; learningRate: number } } }[] };
    expect(unlabelled(few)).toBeLessThan(6 * UNLABELED_PER_BAG);
    expect(small.bags).toBe(5);
    expect((small.model.toJSON() as Bagged).members.map((m) => [m.model.params.numTrees, m.model.params.learningRate])).toEqual(Array(5).fill([20, learner.params.learningRate]));
    const bags = Math.floor(unlabelled(many) / UNLABELED_PER_BAG);
    expect(bags).toBeGreaterThan(5);
    expect(large.bags).toBe(bags);
    const members = (large.model.toJSON() as Bagged).members;
    expect(members).toHaveLength(bags);
    expect(members[0].model.params.numTrees).toBe(Math.round((20 * 5) / bags));
    expect(members[0].model.params.learningRate).toBeCloseTo(((learner.params.learningRate as number) * bags) / 5, 12);
  });
});

describe('a projection trained with --learner mlp', () => {
  const root = tempDir();
  const data = join(root, 'data');
  const out = join(root, 'out');
  let projection: Projection;
  const logs: string[] = [];

  beforeAll(async () => {
    await writeDemoBase(data, { customers: 2500, seed: 4 });
    const personas = join(data, 'personas.yaml');
    // The file says gbdt; the option says mlp. A small network keeps the test fast.
    writeFileSync(personas, readFileSync(personas, 'utf8') + '\nmodel:\n  kind: gbdt\n  params:\n    numTrees: 15\n    hidden: [8]\n    maxEpochs: 8\n');
    projection = await trainProjection({ data, personas, out, seed: 3, learner: 'mlp' }, { ...silentProgress, log: (m: string) => logs.push(m) });
  }, 600_000);

  it('trains every persona with the mlp and says so in the log, with the tfjs backend', () => {
    expect(projection.models.length).toBeGreaterThan(0);
    for (const m of projection.models) {
      expect(m.model.kind).toBe('mlp');
      expect(logs).toContain(`${m.id}: learner mlp on tfjs wasm`);
    }
    expect(projection.manifest.learner.kind).toBe('mlp');
    // Condition views are on by default, for boosted trees only: the log says why these have none.
    expect(logs).toContain('condition views: none, since they are trained for the gbdt learner only and these models are mlp');
    expect(projection.manifest.learner.params.views).toBeNull();
  });

  it('writes model files that load back by kind and score as the run final models do', async () => {
    const saved = loadSavedProjection(out);
    const table = await readFeatureTable(join(out, 'features', 'features.parquet'));
    const scores = saved.score(table);
    const design = encodeDesign(table, projection.encoding);
    for (const [k, m] of projection.models.entries()) {
      expect(saved.personas[k].model.kind).toBe('mlp');
      const x = { rows: design.rows, columns: m.features.map((f) => design.columns[design.names.indexOf(f)]) };
      const direct = m.model.predictProba(x).map((s) => Math.min(1, s / m.c));
      expect(scores.probabilities[k]).toEqual(direct);
    }
  });

  it('rejects an unknown --learner before doing any work', async () => {
    await expect(trainProjection({ data, personas: join(data, 'personas.yaml'), out: join(root, 'never'), learner: 'svm' }, silentProgress)).rejects.toThrow(
      /--learner "svm" is not a learner kind \(expected one of gbdt, forest, mlp, ensemble\)/,
    );
  });
});
