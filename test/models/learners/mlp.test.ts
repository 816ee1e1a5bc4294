// What is particular to the MLP learner: the input preparation stored in the model (medians,
// scales, missing indicators), early stopping keeping the best epoch, no tfjs memory left
// behind, and a clear error when tfjs has not been loaded.
import { describe, expect, it } from 'vitest';
import { syntheticData } from '../../../bench/synthetic.ts';
import { MlpLearner, initBackend } from '../../../src/models/mlp/index.ts';
import { fitPreprocessing } from '../../../src/models/mlp/preprocess.ts';

describe('the mlp learner', () => {
  it('stores the input preparation: medians, robust scales, indicators for features with missing values', () => {
    const x = { rows: 6, columns: [Float32Array.from([1, 2, 3, 4, 5, NaN]), Float32Array.from([0, 0, 0, 0, 0, 10]), Float32Array.from([7, 7, 7, 7, 7, 7])] };
    const p = fitPreprocessing(x);
    expect(p.center).toEqual([3, 0, 7]);
    // IQR 2..4 over 1.349; a zero IQR falls back to the standard deviation; a constant to 1.
    expect(p.scale[0]).toBeCloseTo(2 / 1.349, 6);
    expect(p.scale[1]).toBeCloseTo(Math.sqrt(100 / 6), 6);
    expect(p.scale[2]).toBe(1);
    expect(p.indicators).toEqual([0]);
  });

  it('stops early on the validation loss, keeps the best epoch, and leaves no tensor behind', async () => {
    const { tf, info } = await initBackend();
    const train = syntheticData(1500, 5, 12);
    const valid = syntheticData(600, 6, 12);
    const before = tf.memory().numTensors;
    // A high learning rate on little data overfits fast: the validation loss turns up early.
    const m = new MlpLearner({ hidden: [64], learningRate: 0.05, maxEpochs: 200, patience: 3, seed: 1 }).fit({ x: train, y: train.y, valid: { x: valid, y: valid.y } });
    expect(tf.memory().numTensors).toBe(before);
    const t = m.state.training;
    expect(t.backend).toBe(info.name);
    expect(t.epochs).toBeLessThan(200);
    expect(t.epochs - t.bestEpoch).toBe(3);
    expect(t.validLoss).toBeGreaterThan(0);
    expect(m.state.preprocessing.indicators).toEqual([0, 4]);
  });
});
