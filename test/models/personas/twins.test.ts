// Look-alike twins: the exact nearest-seed search (in this thread and split across worker
// threads) against a brute-force search on small data, and the twin selection rules.
import { describe, expect, it } from 'vitest';
import { Random } from '../../../src/random.ts';
import { nearestSeedDistances } from '../../../src/models/personas/knn.ts';
import { findTwins, IN_THREAD_PAIRS, nearestSeedDistancesParallel, standardisedPoints } from '../../../src/models/personas/twins.ts';

function randomMatrix(rows: number, cols: number, seed: number) {
  const rng = new Random(seed);
  const columns = Array.from({ length: cols }, (_, j) => Float32Array.from({ length: rows }, () => (rng.next() < 0.05 ? NaN : rng.normal(j, 1 + j))));
  return { rows, columns };
}

/** Brute force: every seed, every dimension, no early stop. */
function bruteNearest(points: Float32Array, dims: number, seeds: number[], candidates: number[]): number[] {
  return candidates.map((c) => Math.min(...seeds.map((s) => Math.sqrt(Array.from({ length: dims }, (_, j) => (points[c * dims + j] - points[s * dims + j]) ** 2).reduce((a, b) => a + b, 0)))));
}

describe('look-alike twins', () => {
  const x = randomMatrix(5000, 6, 3);
  const space = standardisedPoints(x);
  const rng = new Random(9);
  const seedMask = Uint8Array.from({ length: x.rows }, () => (rng.next() < 0.02 ? 1 : 0));
  const seeds = Array.from(seedMask.keys()).filter((i) => seedMask[i]);
  const candidates = Array.from(seedMask.keys()).filter((i) => !seedMask[i]);

  it('standardises each column to mean 0 and sd 1, missing at the mean', () => {
    expect(space.dims).toBe(6);
    for (let j = 0; j < space.dims; j++) {
      let s = 0;
      for (let i = 0; i < x.rows; i++) s += space.points[i * space.dims + j];
      expect(Math.abs(s / x.rows)).toBeLessThan(0.05);
    }
    const missing = x.columns[2].findIndex((v) => Number.isNaN(v));
    expect(space.points[missing * space.dims + 2]).toBe(0);
  });

  it('finds the same nearest-seed distances as brute force, in one thread and in two workers', async () => {
    const task = { points: space.points, dims: space.dims, seeds: Uint32Array.from(seeds), candidates: Uint32Array.from(candidates) };
    const expected = bruteNearest(space.points, space.dims, seeds, candidates);
    const single = nearestSeedDistances(task);
    const parallel = await nearestSeedDistancesParallel(task, 2);
    for (let k = 0; k < candidates.length; k++) {
      // The same sum in the same order: equal to the last bit, whatever the seeds' visiting order.
      expect(single[k]).toBe(expected[k]);
      expect(parallel[k]).toBe(single[k]);
    }
  }, 60_000);

  it('searches off the calling thread with one worker too when the search is large, so the process goes on meanwhile (a small search stays in it)', async () => {
    // Just over IN_THREAD_PAIRS seed-candidate pairs.
    const big = standardisedPoints(randomMatrix(20_000, 6, 5));
    const bigSeeds = Uint32Array.from({ length: 3000 }, (_, i) => i);
    const task = { points: big.points, dims: big.dims, seeds: bigSeeds, candidates: Uint32Array.from({ length: 17_000 }, (_, i) => 3000 + i) };
    expect(task.seeds.length * task.candidates.length).toBeGreaterThan(IN_THREAD_PAIRS);
    // Timer ticks while the search runs: none when it holds the calling thread.
    const during = async (search: () => Promise<Float64Array>) => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      try {
        const distances = await search();
        return { distances, ticks };
      } finally {
        clearInterval(timer);
      }
    };
    const oneWorker = await during(() => nearestSeedDistancesParallel(task, 1));
    expect(oneWorker.ticks).toBeGreaterThan(0);
    expect(Array.from(oneWorker.distances)).toEqual(Array.from(nearestSeedDistances(task)));
    const small = { ...task, candidates: task.candidates.subarray(0, 2000) };
    expect(small.seeds.length * small.candidates.length).toBeLessThanOrEqual(IN_THREAD_PAIRS);
    const inThread = await during(() => nearestSeedDistancesParallel(small, 1));
    expect(inThread.ticks).toBe(0);
    expect(Array.from(inThread.distances)).toEqual(Array.from(nearestSeedDistances(small)));
  }, 60_000);

  it('gives the exact distance within maxDistance and Infinity beyond, on clustered data in more dimensions', () => {
    const r = new Random(12);
    const rows = 3000;
    const centres = Array.from({ length: 4 }, () => Array.from({ length: 20 }, () => r.normal(0, 3)));
    const columns = Array.from({ length: 20 }, () => new Float32Array(rows));
    for (let i = 0; i < rows; i++) {
      const centre = centres[i % 4];
      for (let j = 0; j < 20; j++) columns[j][i] = centre[j] + r.normal(0, 1);
    }
    const clustered = standardisedPoints({ rows, columns });
    const mask = Array.from({ length: rows }, () => r.next() < 0.05);
    const s = Array.from(mask.keys()).filter((i) => mask[i]);
    const c = Array.from(mask.keys()).filter((i) => !mask[i]);
    const expected = bruteNearest(clustered.points, clustered.dims, s, c);
    const task = { points: clustered.points, dims: clustered.dims, seeds: Uint32Array.from(s), candidates: Uint32Array.from(c) };
    expect(Array.from(nearestSeedDistances(task))).toEqual(expected);
    const maxDistance = [...expected].sort((p, q) => p - q)[Math.floor(expected.length / 2)];
    const bounded = nearestSeedDistances({ ...task, maxDistance });
    expect(Array.from(bounded)).toEqual(expected.map((d) => (d <= maxDistance ? d : Infinity)));
    expect(bounded.filter((d) => d === Infinity).length).toBeGreaterThan(c.length / 3);
  });

  it('takes the nearest non-blocked customers, at most perSeed per seed, within the cut-off', async () => {
    const blocked = Uint8Array.from(seedMask);
    blocked[candidates[0]] = 1; // another persona's seed: never a twin
    const result = await findTwins(x, seedMask, blocked, { perSeed: 1, cutoffQuantile: 0.9, workers: 2, seed: 1 }, space);
    const twins = Array.from(result.mask.keys()).filter((i) => result.mask[i]);
    expect(twins.length).toBe(result.twins);
    expect(twins.length).toBeGreaterThan(0);
    expect(twins.length).toBeLessThanOrEqual(seeds.length);
    expect(twins.every((i) => !blocked[i])).toBe(true);
    const open = candidates.filter((i) => !blocked[i]);
    const d = bruteNearest(space.points, space.dims, seeds, open);
    const dist = new Map(open.map((i, k) => [i, d[k]]));
    const farthestTwin = Math.max(...twins.map((i) => dist.get(i)!));
    expect(farthestTwin).toBeLessThanOrEqual(result.cutoff + 1e-9);
    // Exact: no customer left out is nearer than the farthest twin.
    expect(open.filter((i) => !result.mask[i] && dist.get(i)! < farthestTwin - 1e-6)).toEqual([]);
  }, 60_000);

  it('finds no twins when asked for none', async () => {
    const result = await findTwins(x, seedMask, seedMask, { perSeed: 0, cutoffQuantile: 0.9, workers: 1, seed: 1 }, space);
    expect(result.twins).toBe(0);
  });
});
