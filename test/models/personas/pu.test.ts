// The positive-unlabeled correction on synthetic data whose truth is known: positives labelled
// completely at random (SCAR) with a known label frequency c. The Elkan-Noto estimate of c (mean
// held-out score of the labelled) and the prevalence estimate (mean score / c) must recover them.
import { describe, expect, it } from 'vitest';
import { Random } from '../../../src/random.ts';
import { trainPersonas, TRAIN_DEFAULTS } from '../../../src/models/personas/index.ts';
import type { DesignMatrix } from '../../../src/models/personas/design.ts';

function scarWorld(rows: number, prevalence: number, c: number, seed: number) {
  const rng = new Random(seed);
  const positive = Uint8Array.from({ length: rows }, () => (rng.next() < prevalence ? 1 : 0));
  // Three informative columns (classes 3.5 sd apart: nearly separable) and one noise column.
  const columns = [0, 1, 2, 3].map((j) => Float32Array.from(positive, (y) => rng.normal(j < 3 && y ? 3.5 : 0, 1)));
  const labelled = Uint8Array.from(positive, (y) => (y && rng.next() < c ? 1 : 0));
  const names = ['a', 'b', 'c', 'noise'];
  const design: DesignMatrix = { rows, columns, names, sources: names };
  return { design, positive, labelled };
}

describe('positive-unlabeled correction', () => {
  it.each([
    [0.3, 0.4],
    [0.15, 0.25],
  ])('recovers c and the prevalence within 0.05 when positives are labelled at random (prevalence %s, c %s)', async (prevalence, c) => {
    const world = scarWorld(8000, prevalence, c, Math.round(prevalence * 100));
    const [model] = await trainPersonas(world.design, [{ id: 'p', seedMask: world.labelled, ruleFeatures: [] }], {
      ...TRAIN_DEFAULTS,
      unlabeledPerSeed: 1000,
      learner: { kind: 'gbdt', params: { numTrees: 40, numLeaves: 8, maxDepth: 3, learningRate: 0.1, minDataInLeaf: 20 } },
      workers: 2,
    });
    const truePrevalence = world.positive.reduce((a, b) => a + b, 0) / world.design.rows;
    // The default bags ('auto'): about 7,000 sampled unlabelled rows, so five bags.
    expect(model.bags).toBe(5);
    expect(Math.abs(model.c - c)).toBeLessThan(0.05);
    expect(Math.abs(model.prevalence - truePrevalence)).toBeLessThan(0.05);
    // The corrected probabilities rank positives above negatives.
    let pos = 0;
    let neg = 0;
    world.positive.forEach((y, i) => (y ? (pos += model.probabilities[i]) : (neg += model.probabilities[i])));
    expect(pos / world.positive.reduce((a, b) => a + b, 0)).toBeGreaterThan(0.8);
    expect(neg / (world.design.rows - world.positive.reduce((a, b) => a + b, 0))).toBeLessThan(0.1);
  }, 60_000);

  it('overestimates c when each bag has too few unlabelled rows, which bags auto does not go down to', async () => {
    // Ten bags of 770 unlabelled rows each: the held-out seeds score above the label frequency.
    const world = scarWorld(8000, 0.15, 0.25, 15);
    const train = (bags: number | 'auto') =>
      trainPersonas(world.design, [{ id: 'p', seedMask: world.labelled, ruleFeatures: [] }], {
        ...TRAIN_DEFAULTS,
        bags,
        unlabeledPerSeed: 1000,
        learner: { kind: 'gbdt', params: { numTrees: 40, numLeaves: 8, maxDepth: 3, learningRate: 0.1, minDataInLeaf: 20 } },
        workers: 2,
      });
    const [[ten], [auto]] = [await train(10), await train('auto')];
    expect(ten.c - 0.25).toBeGreaterThan(0.05);
    expect(auto.bags).toBe(5);
    expect(Math.abs(auto.c - 0.25)).toBeLessThan(0.05);
  }, 60_000);

  it('divides the prevalence by the mean score of every rule seed, the ones left out of training included', async () => {
    // Rule-biased labelling (not SCAR): a positive is labelled more often when its column a is
    // high (typical), so the model scores the labelled above the other positives and c on the
    // labelled is too high; leaving out the lowest-scored labelled (seed cleaning) raises it more.
    const rows = 8000;
    const rng = new Random(11);
    const positive = Uint8Array.from({ length: rows }, () => (rng.next() < 0.2 ? 1 : 0));
    const columns = [0, 1, 2].map(() => Float32Array.from(positive, (y) => rng.normal(y ? 3.5 : 0, 1)));
    const labelled = Uint8Array.from(positive, (y, i) => (y && rng.next() < (columns[0][i] > 3.5 ? 0.45 : 0.15) ? 1 : 0));
    const names = ['a', 'b', 'c'];
    const design: DesignMatrix = { rows, columns, names, sources: names };
    const options = { ...TRAIN_DEFAULTS, unlabeledPerSeed: 1000, learner: { kind: 'gbdt' as const, params: { numTrees: 30, numLeaves: 8, maxDepth: 3, learningRate: 0.1, minDataInLeaf: 20 } }, workers: 2 };
    const [first] = await trainPersonas(design, [{ id: 'p', seedMask: labelled, ruleFeatures: [] }], options);
    expect(first.prevalenceC).toBeCloseTo(first.c, 12);
    // Leave out the quarter of the labelled the first model scores lowest, as seed cleaning does.
    const scores = Array.from(labelled.keys()).filter((i) => labelled[i]).map((i) => first.oofScores[i]).sort((x, y) => x - y);
    const cut = scores[Math.floor(scores.length / 4)];
    const excludeMask = Uint8Array.from(labelled, (v, i) => (v && first.oofScores[i] < cut ? 1 : 0));
    const [second] = await trainPersonas(design, [{ id: 'p', seedMask: labelled, excludeMask, ruleFeatures: [] }], options);
    let sum = 0;
    let count = 0;
    let sumAll = 0;
    for (let i = 0; i < rows; i++) {
      sumAll += second.oofScores[i];
      if (labelled[i]) {
        sum += second.oofScores[i];
        count++;
      }
    }
    expect(second.prevalenceC).toBeCloseTo(sum / count, 12);
    expect(second.prevalence).toBeCloseTo(sumAll / rows / (sum / count), 12);
    expect(second.c).toBeGreaterThan(second.prevalenceC);
    const truePrevalence = positive.reduce((a, b) => a + b, 0) / rows;
    const trueC = labelled.reduce((a, b) => a + b, 0) / positive.reduce((a, b) => a + b, 0);
    // c is overestimated either way (the labelled are typical), less so on every seed.
    expect(second.prevalenceC).toBeGreaterThan(trueC);
    expect(Math.abs(second.prevalence - truePrevalence)).toBeLessThan(Math.abs(sumAll / rows / second.c - truePrevalence));
  }, 60_000);
});
