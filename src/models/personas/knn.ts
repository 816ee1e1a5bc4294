// Exact nearest-seed search on typed arrays, the kernel of the look-alike twins (twins.ts):
// points are rows of a row-major Float32Array (`dims` values per customer, already
// standardised, no missing values); the distance of a candidate to a seed set is the Euclidean
// distance to its nearest seed. The search is exhaustive; a candidate's partial sum stops as soon
// as it exceeds the best distance found so far, which skips most of the work without changing
// the result.

export interface NearestSeedTask {
  /** Row-major standardised points, `dims` per customer (a SharedArrayBuffer in workers). */
  points: Float32Array;
  dims: number;
  /** Customer rows of the seeds. */
  seeds: Uint32Array;
  /** Customer rows whose nearest-seed distance is wanted. */
  candidates: Uint32Array;
}

/** Distance from each candidate to its nearest seed (Infinity with no seeds). */
export function nearestSeedDistances(task: NearestSeedTask): Float64Array {
  const { points, dims, seeds, candidates } = task;
  const out = new Float64Array(candidates.length);
  for (let c = 0; c < candidates.length; c++) {
    const a = candidates[c] * dims;
    let best = Infinity;
    for (let s = 0; s < seeds.length; s++) {
      const b = seeds[s] * dims;
      // Squared distance, abandoned once it cannot beat the best seed so far.
      let d = 0;
      for (let j = 0; j < dims && d < best; j++) {
        const t = points[a + j] - points[b + j];
        d += t * t;
      }
      if (d < best) best = d;
    }
    out[c] = Math.sqrt(best);
  }
  return out;
}
