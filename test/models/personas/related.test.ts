// The features a persona's model leaves out besides its rule's own: those rank-correlated with
// them (design.ts relatedFeatures), at the default threshold of the training options.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ranks, relatedFeatures, type DesignMatrix } from '../../../src/models/personas/design.ts';
import { personaLearner, TRAIN_DEFAULTS, trainPersonas } from '../../../src/models/personas/train.ts';
import { Random } from '../../../src/random.ts';

/**
 * `rule` and four others: `close` (Spearman about 0.9 with it), `blockmate` (about 0.45, a column
 * of the rule's attribute block the rule does not read), `weak` (about 0.25) and `other` (none).
 * A tenth of `blockmate` is missing.
 */
function design(n: number): DesignMatrix {
  const rng = new Random(7);
  const rule = Float32Array.from({ length: n }, () => rng.normal());
  const noisy = (sd: number) => Float32Array.from(rule, (v) => v + sd * rng.normal());
  const blockmate = noisy(1.9).map((v, i) => (i % 10 === 0 ? NaN : v));
  const columns = [rule, noisy(0.45), blockmate, noisy(3.8), Float32Array.from({ length: n }, () => rng.normal())];
  const names = ['rule', 'close', 'blockmate', 'weak', 'other'];
  return { rows: n, columns, names, sources: names };
}

const sampleOf = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);

/** Mid-ranks by their definition: a present value's rank is the count of values below it plus half of its ties, less a half. */
function midRanks(values: Float32Array, rows: Uint32Array): number[] {
  const present = [...rows].map((i) => values[i]).filter((v) => !Number.isNaN(v));
  return [...rows].map((i) => {
    const v = values[i];
    if (Number.isNaN(v)) return NaN;
    const below = present.filter((w) => w < v).length;
    const ties = present.filter((w) => w === v).length;
    return below + (ties - 1) / 2;
  });
}

describe('ranks', () => {
  it('gives the mid-ranks of the rows named (ties share their mean place, missing values NaN, -0 equal to 0)', () => {
    const values = Float32Array.from([3, NaN, 1, 3, -0, 0, 3, 2.5, NaN, 1]);
    expect([...ranks(values, Uint32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]))]).toEqual([6, NaN, 2.5, 6, 0.5, 0.5, 6, 4, NaN, 2.5]);
    // A sample of rows, one of them twice: ranks among the sample, in its order.
    expect([...ranks(values, Uint32Array.from([7, 0, 2, 0, 1]))]).toEqual([1, 2.5, 0, 2.5, NaN]);
    expect([...ranks(values, new Uint32Array(0))]).toEqual([]);
  });

  it('matches the definition on any column and sample', () => {
    const value = fc.oneof(fc.constant(NaN), fc.constant(0), fc.constant(-0), fc.integer({ min: -3, max: 3 }), fc.float({ noNaN: true }));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 80 }), (raw, picks) => {
        const values = Float32Array.from(raw);
        const rows = Uint32Array.from(picks, (p) => p % values.length);
        expect([...ranks(values, rows)]).toEqual(midRanks(values, rows));
      }),
      { numRuns: 300 },
    );
  });
});

describe('features related to a rule', () => {
  it('finds the columns rank-correlated with the rule at the threshold, missing values aside', () => {
    const m = design(4000);
    expect(relatedFeatures(m, ['rule'], 0.5, sampleOf(4000)).sort()).toEqual(['close']);
    expect(relatedFeatures(m, ['rule'], 0.4, sampleOf(4000)).sort()).toEqual(['blockmate', 'close']);
    expect(relatedFeatures(m, ['rule'], 0.2, sampleOf(4000)).sort()).toEqual(['blockmate', 'close', 'weak']);
  });

  it('are left out of the persona model at the default threshold (0.4): a block-mate of the rule included', async () => {
    const m = design(3000);
    const seedMask = Uint8Array.from(m.columns[0], (v) => (v > 1 ? 1 : 0));
    const [model] = await trainPersonas(
      m,
      [{ id: 'p', seedMask, ruleFeatures: ['rule'] }],
      { ...TRAIN_DEFAULTS, folds: 2, bags: 1, unlabeledPerSeed: 3, views: null, workers: 1, learner: personaLearner({ kind: 'gbdt', params: { numTrees: 5 } }) },
    );
    expect(TRAIN_DEFAULTS.relatedCorrelation).toBe(0.4);
    expect(model.features).toEqual(['weak', 'other']);
  });
});
