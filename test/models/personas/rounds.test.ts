// The between-rounds functions shared by `personas run` and the batch jobs (rounds.ts): a persona
// trained alone (a job) gets the same sample, folds and scores as in a run of all personas;
// seed cleaning is off for a negative quantile; twins follow the options (none, kNN, model).
import { describe, expect, it } from 'vitest';
import { Random } from '../../../src/random.ts';
import { anySeedMask, cleanSeedsBetweenRounds, hasSecondRound, keptSeeds, secondRoundTwins, trainingCustomersOf, trainingSample, trainingSampleNote, trainPersonas, TRAIN_DEFAULTS } from '../../../src/models/personas/index.ts';
import type { DesignMatrix } from '../../../src/models/personas/design.ts';
import { claimants, claimedSeedsLine, topClaimant } from '../../../src/models/personas/seed-cleaning.ts';

function world(rows: number, seed: number) {
  const rng = new Random(seed);
  const klass = Uint8Array.from({ length: rows }, () => rng.int(3));
  const names = ['a', 'b', 'c', 'd'];
  const columns = names.map((_, j) => Float32Array.from(klass, (k) => rng.normal(k === 1 && j < 2 ? 2.5 : k === 2 && j >= 2 ? 2.5 : 0, 1)));
  const design: DesignMatrix = { rows, columns, names, sources: names };
  const seedsOf = (k: number) => Uint8Array.from(klass, (v) => (v === k && rng.next() < 0.3 ? 1 : 0));
  return { design, seeds: [seedsOf(1), seedsOf(2)] };
}

const options = { ...TRAIN_DEFAULTS, folds: 2, unlabeledPerSeed: 5, relatedCorrelation: 0, learner: { kind: 'gbdt' as const, params: { numTrees: 10, numLeaves: 4, maxDepth: 2, learningRate: 0.2, minDataInLeaf: 10 } }, workers: 1 };

describe('training rounds shared by personas run and the jobs', () => {
  const w = world(1500, 3);

  it('gives a persona trained alone with its index the scores it gets among all personas', async () => {
    const both = await trainPersonas(w.design, [
      { id: 'p1', seedMask: w.seeds[0], ruleFeatures: [] },
      { id: 'p2', seedMask: w.seeds[1], ruleFeatures: [] },
    ], { ...options, foldsOnly: true });
    const [alone] = await trainPersonas(w.design, [{ id: 'p2', seedMask: w.seeds[1], ruleFeatures: [], index: 1 }], { ...options, foldsOnly: true });
    expect(Array.from(alone.oofScores)).toEqual(Array.from(both[1].oofScores));
    expect(alone.c).toBe(both[1].c);
    // Without the index, the lone persona takes stream 0: a different sample.
    const [unindexed] = await trainPersonas(w.design, [{ id: 'p2', seedMask: w.seeds[1], ruleFeatures: [] }], { ...options, foldsOnly: true });
    expect(Array.from(unindexed.oofScores)).not.toEqual(Array.from(both[1].oofScores));
    // With a training sample too: it is drawn from the run's seed alone, the same for a persona trained alone.
    const sampled = { ...options, foldsOnly: true, trainingCustomers: 900 };
    const bothSampled = await trainPersonas(w.design, [
      { id: 'p1', seedMask: w.seeds[0], ruleFeatures: [] },
      { id: 'p2', seedMask: w.seeds[1], ruleFeatures: [] },
    ], sampled);
    const [aloneSampled] = await trainPersonas(w.design, [{ id: 'p2', seedMask: w.seeds[1], ruleFeatures: [], index: 1 }], sampled);
    expect(Array.from(aloneSampled.oofScores)).toEqual(Array.from(bothSampled[1].oofScores));
    expect(Array.from(aloneSampled.oofScores)).not.toEqual(Array.from(both[1].oofScores));
  }, 60_000);

  it('cleans seeds only with a quantile >= 0 and keeps the seeds not left out', () => {
    const scores = w.seeds.map((m) => Float64Array.from(m, (v, i) => (v ? (i % 10) / 10 : 0)));
    expect(cleanSeedsBetweenRounds(w.seeds, scores, scores, { cleanSeedsQuantile: -1 })).toBeNull();
    expect(hasSecondRound({ twinsPerSeed: 0, cleanSeedsQuantile: -1 })).toBe(false);
    expect(hasSecondRound({ twinsPerSeed: 0, cleanSeedsQuantile: 0 })).toBe(true);
    // A persona whose seeds another persona's model scores higher, all of them: it keeps its seeds.
    const dominated = scores.map((s, k) => (k === 1 ? Float64Array.from(s, (v, i) => (w.seeds[0][i] ? 2 : v)) : s));
    const spared = cleanSeedsBetweenRounds(w.seeds, dominated, dominated, { cleanSeedsQuantile: 0.2 })!;
    expect(spared.counts[0]).toBe(0);
    expect(spared.excluded[0].every((v) => v === 0)).toBe(true);
    const seeds0 = w.seeds[0].reduce((a, b) => a + b, 0);
    expect(spared.skipped[0]).toBe(`seed cleaning would have left out ${seeds0} of ${seeds0} seeds (more than half): all kept`);
    // Kept, but counted as claimed by the other persona's model, and said so.
    expect(spared.claimed[0]).toBe(seeds0);
    expect(claimedSeedsLine('p1', spared.claimed[0], w.seeds[0])).toBe(`p1: ${seeds0} of its ${seeds0} seeds (100 %) look more like another persona's customers to that persona's model than like its own: its rule picks other personas' customers, fewer of its assigned customers may be right than its expected precision says, and its estimated size may be too large`);
    expect(claimedSeedsLine('p1', Math.floor(seeds0 / 5), w.seeds[0])).toBeNull();
    // Named by the persona that claimed them: p2's model, every one.
    const by = claimants(spared.claimedBy[0], ['p1', 'p2']);
    expect(by).toEqual({ p2: seeds0 });
    expect(claimedSeedsLine('p1', spared.claimed[0], w.seeds[0], by)).toContain(`than like its own, most of them p2's (${seeds0}): its rule picks`);
    expect(claimants([0, 3, 0, 7], ['a', 'b', 'c', 'd'])).toEqual({ d: 7, b: 3 });
    expect(topClaimant({ b: 3, d: 7, e: 7 })).toEqual(['d', 7]);
    expect(topClaimant({})).toBeUndefined();
    expect(spared.counts[1]).toBeGreaterThan(0);
    expect(spared.skipped[1]).toBeNull();
    const cleaning = cleanSeedsBetweenRounds(w.seeds, scores, scores, { cleanSeedsQuantile: 0.2 })!;
    expect(cleaning.counts[0]).toBeGreaterThan(0);
    const kept = keptSeeds(w.seeds[0], cleaning.excluded[0]);
    expect(kept.reduce((a, b) => a + b, 0)).toBe(w.seeds[0].reduce((a, b) => a + b, 0) - cleaning.counts[0]);
    for (let i = 0; i < kept.length; i++) expect(kept[i] && cleaning.excluded[0][i]).toBeFalsy();
  });

  it('takes model-score twins as the best first-round customers who are nobody\'s seed, kNN twins from the model columns', async () => {
    const anySeed = anySeedMask(w.seeds, w.design.rows);
    const probabilities = Float64Array.from({ length: w.design.rows }, (_, i) => i / w.design.rows);
    const request = { design: w.design, modelFeatures: ['a', 'b'], seedMask: w.seeds[0], anySeed, firstRoundProbabilities: probabilities, index: 0 };
    expect(await secondRoundTwins(request, { ...options, twinsPerSeed: 0 })).toBeNull();
    const byModel = (await secondRoundTwins(request, { ...options, twinsPerSeed: 1, twinSearch: 'model' }))!;
    const seeds = w.seeds[0].reduce((a, b) => a + b, 0);
    expect(byModel.twins).toBe(seeds);
    const chosen = Array.from(byModel.mask.keys()).filter((i) => byModel.mask[i]);
    const lowest = Math.min(...chosen);
    for (let i = lowest; i < w.design.rows; i++) expect(byModel.mask[i]).toBe(anySeed[i] ? 0 : 1);
    await expect(secondRoundTwins({ ...request, firstRoundProbabilities: undefined }, { ...options, twinsPerSeed: 1, twinSearch: 'model' })).rejects.toThrow(/first round's probabilities/);
    const byKnn = (await secondRoundTwins(request, { ...options, twinsPerSeed: 1, twinSearch: 'knn' }))!;
    expect(byKnn.twins).toBeGreaterThan(0);
    for (let i = 0; i < w.design.rows; i++) if (byKnn.mask[i]) expect(anySeed[i]).toBe(0);
  }, 60_000);

  it('draws the training sample from the run seed alone: exactly that many customers, none when the base is not larger', () => {
    expect(trainingSample(1500, { trainingCustomers: 1500, seed: 1 })).toBeNull();
    expect(trainingSample(1500, { trainingCustomers: 0, seed: 1 })).toBeNull();
    expect(trainingSample(1500, { seed: 1 })).toBeNull();
    const a = trainingSample(1500, { trainingCustomers: 600, seed: 1 })!;
    expect(a.reduce((s, v) => s + v, 0)).toBe(600);
    expect(Array.from(trainingSample(1500, { trainingCustomers: 600, seed: 1 })!)).toEqual(Array.from(a));
    const other = trainingSample(1500, { trainingCustomers: 600, seed: 2 })!;
    expect(Array.from(other)).not.toEqual(Array.from(a));
    // Spread over the base, not its first rows.
    expect(a.subarray(750).reduce((s, v) => s + v, 0)).toBeGreaterThan(200);
    expect(() => trainingSample(1500, { trainingCustomers: 600.5, seed: 1 })).toThrow(/trainingCustomers = 600.5: expected a whole number/);
    expect(() => trainingSample(50, { trainingCustomers: 100, seed: 1 })).toThrow(/at least 500 customers/);
    expect(() => trainingSample(50, { trainingCustomers: -3, seed: 1 })).toThrow(/trainingCustomers = -3: expected a whole number/);
    expect(() => trainingSample(1500, { trainingCustomers: 100, seed: 1 })).toThrow(/trainingCustomers = 100: expected 0 \(every customer\) or at least 500 customers/);
    expect([trainingCustomersOf(1500, { trainingCustomers: 600 }), trainingCustomersOf(500, { trainingCustomers: 600 }), trainingCustomersOf(1500, { trainingCustomers: 0 })]).toEqual([600, 500, 1500]);
    expect(trainingSampleNote(1500, { trainingCustomers: 600 })).toMatch(/^training sample: 600 of the 1,500 customers train the models/);
    expect(trainingSampleNote(1500, { trainingCustomers: 2000 })).toBeNull();
  });

  it('on a base larger than the training sample, trains on the sample only, scores everyone, and takes seeds and twins from the sample', async () => {
    const capped = { ...options, trainingCustomers: 600, unlabeledPerSeed: 1000, foldsOnly: true };
    const sample = trainingSample(w.design.rows, capped)!;
    const [m] = await trainPersonas(w.design, [{ id: 'p1', seedMask: w.seeds[0], ruleFeatures: [] }], capped);
    // Every unlabelled customer of the sample is taken (1000 per seed): the training rows are the sample.
    expect(m.calibration.reduce((s, b) => s + b.count, 0)).toBe(600);
    const [full] = await trainPersonas(w.design, [{ id: 'p1', seedMask: w.seeds[0], ruleFeatures: [] }], { ...capped, trainingCustomers: 0 });
    expect(full.calibration.reduce((s, b) => s + b.count, 0)).toBe(w.design.rows);
    expect(m.oofScores.length).toBe(w.design.rows);
    // Each customer outside the sample is scored by one fold's model (a different one from customer to customer), never left unscored.
    expect(m.oofScores.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true);
    // Outside the sample, scored by one fold each, the persona's seeds still rank above the other customers.
    let auc = 0;
    const seedScores = Array.from(m.oofScores).filter((_, i) => w.seeds[0][i] && !sample[i]);
    const otherScores = Array.from(m.oofScores).filter((_, i) => !w.seeds[0][i] && !sample[i]);
    for (const a of seedScores) for (const b of otherScores) auc += a > b ? 1 : a === b ? 0.5 : 0;
    expect(auc / (seedScores.length * otherScores.length)).toBeGreaterThan(0.8);
    // The size divides by the mean score of every seed of the rule, those outside the sample too.
    let sum = 0;
    let count = 0;
    for (let i = 0; i < w.design.rows; i++) if (w.seeds[0][i]) {
      sum += m.oofScores[i];
      count++;
    }
    expect(m.prevalenceC).toBeCloseTo(sum / count, 12);
    const anySeed = anySeedMask(w.seeds, w.design.rows);
    const request = { design: w.design, modelFeatures: ['a', 'b'], seedMask: w.seeds[0], anySeed, firstRoundProbabilities: Float64Array.from({ length: w.design.rows }, (_, i) => i / w.design.rows), index: 0 };
    let sampleSeeds = 0;
    for (let i = 0; i < w.design.rows; i++) sampleSeeds += w.seeds[0][i] & sample[i];
    for (const twinSearch of ['knn', 'model'] as const) {
      const twins = (await secondRoundTwins(request, { ...capped, twinsPerSeed: 1, twinSearch }))!;
      expect(twins.twins).toBeGreaterThan(0);
      expect(twins.twins).toBeLessThanOrEqual(sampleSeeds);
      for (let i = 0; i < w.design.rows; i++) if (twins.mask[i]) expect([sample[i], anySeed[i]]).toEqual([1, 0]);
    }
  }, 60_000);
});
