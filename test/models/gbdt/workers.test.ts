// Training and scoring in worker threads give the same models and scores as in-process.
import { describe, expect, it } from 'vitest';
import { GbdtLearner, predictParallel, trainMany } from '../../../src/models/gbdt/index.ts';
import { ModelError } from '../../../src/errors.ts';
import { syntheticData } from '../../../bench/synthetic.ts';

describe('worker threads', () => {
  it('train several models at once, identical to in-process training', async () => {
    const a = syntheticData(2000, 31);
    const b = syntheticData(2000, 32);
    const options = { numTrees: 10, seed: 2, subsample: 0.9 };
    const [ma, mb] = await trainMany(
      [
        { kind: 'gbdt', options, input: { x: a, y: a.y } },
        { kind: 'forest', options: { numTrees: 5 }, input: { x: b, y: b.y } },
      ],
      { workers: 2 },
    );
    expect(JSON.stringify(ma.toJSON())).toBe(JSON.stringify(new GbdtLearner(options).fit({ x: a, y: a.y }).toJSON()));
    expect(mb.kind).toBe('forest');
  });

  it('score a matrix split across workers, identical to one thread', async () => {
    const data = syntheticData(5001, 33);
    const model = new GbdtLearner({ numTrees: 10 }).fit({ x: data, y: data.y });
    expect(await predictParallel(model, data, { workers: 2 })).toEqual(model.predictProba(data));
  });

  it('report a training error from a worker as a ModelError', async () => {
    const data = syntheticData(100, 34);
    await expect(trainMany([{ kind: 'gbdt', input: { x: data, y: new Uint8Array(100) } }], { workers: 1 })).rejects.toThrow(ModelError);
  });
});
