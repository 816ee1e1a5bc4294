// Training and scoring in worker threads give the same models and scores as in-process.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GbdtLearner, predictParallel, shareMatrix, trainMany, trainManyScored } from '../../../src/models/gbdt/index.ts';
import { endIdleWorkers, workerThreads } from '../../../src/models/gbdt/workers.ts';
import { takeRows } from '../../../src/models/learner.ts';
import { ModelError } from '../../../src/errors.ts';
import { syntheticData } from '../../../bench/synthetic.ts';
import { tempDir } from '../../helpers/world.ts';

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

  it('train on rows of a shared matrix and score all of it: the model of those rows, its scores of every row', async () => {
    const data = syntheticData(3000, 35);
    const shared = shareMatrix(data);
    expect(shared.columns.every((c) => c.buffer instanceof SharedArrayBuffer)).toBe(true);
    expect(shared.columns[0]).toEqual(data.columns[0]);
    const rows = Uint32Array.from({ length: 1000 }, (_, k) => 3 * k + 1);
    const y = Uint8Array.from(rows, (i) => data.y[i]);
    const options = { numTrees: 8, seed: 3 };
    const [scored, plain] = await trainManyScored(
      [
        { kind: 'gbdt', options, input: { x: shared, y }, rows, score: true },
        { kind: 'gbdt', options, input: { x: shared, y }, rows },
      ],
      { workers: 2 },
    );
    const alone = new GbdtLearner(options).fit({ x: takeRows(data, rows), y });
    expect(JSON.stringify(scored.model.toJSON())).toBe(JSON.stringify(alone.toJSON()));
    expect(scored.scores).toEqual(alone.predictProba(data));
    expect(plain.scores).toBeUndefined();
    await expect(trainManyScored([{ kind: 'gbdt', input: { x: shared, y: new Uint8Array(2).fill(1) }, rows: Uint32Array.of(0, 3000) }], { workers: 1 })).rejects.toThrow(/rows outside the matrix: it has 3000 rows/);
    // scoreRows: the same model, scores of those rows only (NaN for the others), and progress after each job.
    const only = Uint32Array.from({ length: 700 }, (_, k) => 4 * k + 2);
    const done: number[] = [];
    const [partial] = await trainManyScored([{ kind: 'gbdt', options, input: { x: shared, y }, rows, score: true, scoreRows: only }, { kind: 'gbdt', options, input: { x: shared, y }, rows }], { workers: 1, onDone: (n) => done.push(n) });
    expect(done).toEqual([1, 2]);
    expect(partial.scores!.length).toBe(3000);
    const all = alone.predictProba(data);
    const wanted = new Set(only);
    for (let i = 0; i < 3000; i++) {
      if (wanted.has(i)) expect(partial.scores![i]).toBe(all[i]);
      else expect(partial.scores![i]).toBeNaN();
    }
    await expect(trainManyScored([{ kind: 'gbdt', options, input: { x: shared, y }, rows, score: true, scoreRows: Uint32Array.of(5, 3000) }], { workers: 1 })).rejects.toThrow(/rows to score outside the matrix: it has 3000 rows/);
  });

  it('hand each job its scores as it ends with onScores, and keep none of them in the result', async () => {
    const data = syntheticData(3000, 36);
    const shared = shareMatrix(data);
    const rows = Uint32Array.from({ length: 1200 }, (_, k) => 2 * k);
    const y = Uint8Array.from(rows, (i) => data.y[i]);
    const only = Uint32Array.from({ length: 500 }, (_, k) => 5 * k + 1);
    const jobs = [1, 2, 3].map((seed) => ({ kind: 'gbdt' as const, options: { numTrees: 6, seed }, input: { x: shared, y }, rows, score: true, scoreRows: seed === 2 ? only : undefined }));
    const kept = await trainManyScored([...jobs, { ...jobs[0], score: false }], { workers: 2 });
    const given = new Map<number, Float64Array>();
    const streamed = await trainManyScored([...jobs, { ...jobs[0], score: false }], {
      workers: 2,
      onScores: (job, scores) => {
        expect(given.has(job)).toBe(false);
        given.set(job, scores);
      },
    });
    expect([...given.keys()].sort()).toEqual([0, 1, 2]);
    for (let k = 0; k < 3; k++) {
      expect(given.get(k)).toEqual(kept[k].scores);
      expect(streamed[k].scores).toBeUndefined();
      expect(JSON.stringify(streamed[k].model.toJSON())).toBe(JSON.stringify(kept[k].model.toJSON()));
    }
    expect(given.get(1)!.filter((v) => !Number.isNaN(v)).length).toBe(500);
    // A failing reduction stops the training with its own error.
    await expect(
      trainManyScored(jobs, {
        workers: 1,
        onScores: () => {
          throw new RangeError('no room for these scores');
        },
      }),
    ).rejects.toThrow(/no room for these scores/);
  });

  it('report a training error from a worker as a ModelError', async () => {
    const data = syntheticData(100, 34);
    await expect(trainMany([{ kind: 'gbdt', input: { x: data, y: new Uint8Array(100) } }], { workers: 1 })).rejects.toThrow(ModelError);
  });

  it('keep their threads between calls: a later call starts none while enough are idle, and the same models come out', async () => {
    const data = syntheticData(1000, 36);
    const jobs = [1, 2, 3].map((seed) => ({ kind: 'gbdt' as const, options: { numTrees: 4, seed }, input: { x: data, y: data.y } }));
    await endIdleWorkers();
    const before = workerThreads().started;
    const first = await trainMany(jobs, { workers: 2 });
    expect(workerThreads()).toEqual({ started: before + 2, idle: 2 });
    const again = await trainMany(jobs, { workers: 2 });
    expect(await predictParallel(first[0], data, { workers: 2 })).toEqual(first[0].predictProba(data));
    expect(workerThreads()).toEqual({ started: before + 2, idle: 2 });
    expect(again.map((m) => JSON.stringify(m.toJSON()))).toEqual(first.map((m) => JSON.stringify(m.toJSON())));
    // A call that asks more threads than are idle starts the rest; a task's error leaves its thread usable.
    await expect(trainMany([{ kind: 'gbdt', input: { x: data, y: new Uint8Array(1000) } }], { workers: 1 })).rejects.toThrow(ModelError);
    await trainMany([...jobs, ...jobs], { workers: 3 });
    expect(workerThreads().started).toBe(before + 3);
    // A failing caller's threads, which may still be on its tasks, are ended, not kept.
    await expect(trainManyScored(jobs.map((j) => ({ ...j, score: true })), { workers: 2, onScores: () => { throw new RangeError('no room'); } })).rejects.toThrow(/no room/);
    expect(workerThreads().idle).toBeLessThanOrEqual(1);
    await endIdleWorkers();
    expect(workerThreads().idle).toBe(0);
  });

  it('do not keep a process alive once its work is done: idle threads let it end', () => {
    const script = join(tempDir(), 'train.mts');
    writeFileSync(script, `import { trainMany } from '${pathToFileURL(resolve('src/models/gbdt/workers.ts')).href}';
const x = { rows: 200, cols: 2, columns: [Float32Array.from({ length: 200 }, (_, i) => i), Float32Array.from({ length: 200 }, (_, i) => i % 7)] };
await trainMany([{ kind: 'gbdt', options: { numTrees: 2 }, input: { x, y: Uint8Array.from({ length: 200 }, (_, i) => i % 2) } }], { workers: 2 });
console.log('trained');`);
    const start = Date.now();
    // The idle threads would otherwise hold it IDLE_MS (30 s) longer.
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 25_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('trained');
    expect(r.status).toBe(0);
    expect(Date.now() - start).toBeLessThan(25_000);
  });
});
