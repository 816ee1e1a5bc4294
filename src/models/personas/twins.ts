// Look-alike twins: each persona's seed set grown with the customers nearest to its seeds in a
// standardised feature space (the columns the persona's model sees, so the twins are not picked
// by the rule's own features), up to a target size and within a distance cut-off: a twin is no
// farther from its nearest seed than most seeds are from theirs. The search is exact (knn.ts),
// split across worker threads over one shared matrix. A customer that is a seed of any persona is
// never another persona's twin.
import { Worker } from 'node:worker_threads';
import { ModelError } from '../../errors.ts';
import { Random } from '../../random.ts';
import type { ColumnMatrix } from '../learner.ts';
import { nearestSeedDistances, type NearestSeedTask } from './knn.ts';

/** Values beyond this many standard deviations are clipped, so one outlier cannot dominate a distance. */
const CLIP_SD = 5;

/**
 * Row-major standardised copy of `x` (z-scores clipped to +-5, missing = 0, the mean; constant
 * columns left out), in shared memory for the workers.
 */
export function standardisedPoints(x: ColumnMatrix): { points: Float32Array; dims: number } {
  const keep: { col: Float32Array; mean: number; sd: number }[] = [];
  for (const col of x.columns) {
    let n = 0;
    let s = 0;
    let ss = 0;
    for (let i = 0; i < col.length; i++) if (!Number.isNaN(col[i])) {
      n++;
      s += col[i];
      ss += col[i] * col[i];
    }
    const mean = n ? s / n : 0;
    const sd = n ? Math.sqrt(Math.max(0, ss / n - mean * mean)) : 0;
    if (sd > 1e-9) keep.push({ col, mean, sd });
  }
  const dims = keep.length;
  const points = new Float32Array(new SharedArrayBuffer(Float32Array.BYTES_PER_ELEMENT * x.rows * Math.max(1, dims)));
  keep.forEach(({ col, mean, sd }, j) => {
    for (let i = 0; i < x.rows; i++) {
      const v = col[i];
      points[i * dims + j] = Number.isNaN(v) ? 0 : Math.max(-CLIP_SD, Math.min(CLIP_SD, (v - mean) / sd));
    }
  });
  return { points, dims };
}

const here = new URL(import.meta.url);
const fromSource = here.pathname.endsWith('.ts');

function startWorker(): Worker {
  const url = new URL(fromSource ? './knn-worker.ts' : './knn-worker.js', here);
  if (!fromSource) return new Worker(url);
  // From the TypeScript sources: register tsx's loader inside the thread first (as gbdt/workers.ts).
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true });
}

/**
 * Seed-candidate pairs up to which a one-worker search runs in the calling thread: a fraction of a
 * second of search, less than a worker's start (the bases of the tests and the demo stay there).
 */
export const IN_THREAD_PAIRS = 50_000_000;

/**
 * nearestSeedDistances with the candidates split across `workers` threads. Even with one worker a
 * large search (over IN_THREAD_PAIRS) runs off the calling thread: a batch job searches with one worker, and on the main
 * thread the search held up everything else the process does (the other jobs it runs at the same
 * time, the API it serves).
 */
export async function nearestSeedDistancesParallel(task: NearestSeedTask, workers: number): Promise<Float64Array> {
  const parts = Math.max(1, Math.min(workers, Math.ceil(task.candidates.length / 2000)));
  if (parts === 1 && task.seeds.length * task.candidates.length <= IN_THREAD_PAIRS) return nearestSeedDistances(task);
  const shared = task.points.buffer instanceof SharedArrayBuffer ? task.points : new Float32Array(new SharedArrayBuffer(task.points.byteLength));
  if (shared !== task.points) shared.set(task.points);
  const size = Math.ceil(task.candidates.length / parts);
  const slices = Array.from({ length: parts }, (_, k) => task.candidates.subarray(k * size, (k + 1) * size));
  const pool = slices.map(() => startWorker());
  try {
    const results = await Promise.all(
      slices.map(
        (candidates, k) =>
          new Promise<Float64Array>((resolve, reject) => {
            const w = pool[k];
            w.on('message', (r: { ok: true; distances: Float64Array } | { ok: false; error: string }) => (r.ok ? resolve(r.distances) : reject(new ModelError('TRAINING_DATA_INVALID', `look-alike search: ${r.error}`))));
            w.on('error', reject);
            w.postMessage({ id: k, points: shared, dims: task.dims, seeds: task.seeds, candidates: Uint32Array.from(candidates), maxDistance: task.maxDistance });
          }),
      ),
    );
    const out = new Float64Array(task.candidates.length);
    results.forEach((r, k) => out.set(r, k * size));
    return out;
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

export interface TwinOptions {
  /** Twins wanted per seed. */
  perSeed: number;
  /**
   * Distance cut-off as a quantile of the seeds' own nearest-other-seed distances (on up to 500
   * seeds): a twin must be at least as close to the seed set as that share of seeds.
   */
  cutoffQuantile: number;
  workers: number;
  seed: number;
}

export interface TwinResult {
  mask: Uint8Array;
  twins: number;
  cutoff: number;
}

/**
 * The look-alikes of one persona's seeds in `x`: the customers nearest to a seed, never in
 * `blocked` (the seeds of every persona), `perSeed` per seed at most, within the cut-off.
 */
export async function findTwins(x: ColumnMatrix, seedMask: Uint8Array, blocked: Uint8Array, opts: TwinOptions, space = standardisedPoints(x)): Promise<TwinResult> {
  const seeds: number[] = [];
  const candidates: number[] = [];
  for (let i = 0; i < x.rows; i++) {
    if (seedMask[i]) seeds.push(i);
    else if (!blocked[i]) candidates.push(i);
  }
  const mask = new Uint8Array(x.rows);
  if (seeds.length < 2 || !candidates.length || opts.perSeed <= 0) return { mask, twins: 0, cutoff: 0 };
  // The cut-off: nearest-other-seed distances of a sample of seeds.
  const rng = new Random(opts.seed);
  const order = rng.shuffle(seeds.slice());
  const probe = order.slice(0, Math.min(500, Math.floor(order.length / 2)));
  const rest = order.slice(probe.length);
  const own = nearestSeedDistances({ points: space.points, dims: space.dims, seeds: Uint32Array.from(rest), candidates: Uint32Array.from(probe) }).sort();
  const cutoff = own[Math.min(own.length - 1, Math.floor(opts.cutoffQuantile * own.length))];
  // Only the candidates within the cut-off can be twins: the search stops at it.
  const distances = await nearestSeedDistancesParallel({ points: space.points, dims: space.dims, seeds: Uint32Array.from(seeds), candidates: Uint32Array.from(candidates), maxDistance: cutoff }, opts.workers);
  const ranked = Array.from(candidates.keys())
    .filter((k) => distances[k] <= cutoff)
    .sort((a, b) => distances[a] - distances[b] || candidates[a] - candidates[b]);
  const want = Math.round(opts.perSeed * seeds.length);
  for (const k of ranked.slice(0, want)) mask[candidates[k]] = 1;
  return { mask, twins: Math.min(want, ranked.length), cutoff };
}
