// The features a persona's model leaves out besides its rule's own: those rank-correlated with
// them (design.ts relatedFeatures), at the default threshold of the training options.
import { describe, expect, it } from 'vitest';
import { relatedFeatures, type DesignMatrix } from '../../../src/models/personas/design.ts';
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
