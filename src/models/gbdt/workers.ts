// Parallel training and scoring in worker_threads: several models of any learner kind trained at
// once (one per worker, e.g. one persona each), and a large matrix scored in row slices across
// workers.
// Workers run from the TypeScript sources under tsx, or from the compiled JavaScript.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ModelError } from '../../errors.ts';
import type { ColumnMatrix, FitInput, FittedClassifier, LearnerKind } from '../learner.ts';
import { loadModel } from '../learners.ts';
import type { WorkerRequest, WorkerResponse, WorkerTask } from './worker.ts';

const here = new URL(import.meta.url);
const fromSource = here.pathname.endsWith('.ts');

function startWorker(): Worker {
  const url = new URL(fromSource ? './worker.ts' : './worker.js', here);
  started++;
  // Running from the TypeScript sources: a small .mjs entry registers tsx, then loads the module.
  const w = fromSource ? new Worker(new URL('./worker-boot.mjs', here), { workerData: { personasWorkerUrl: url.href } }) : new Worker(url);
  // A thread that fails or ends while idle leaves the idle threads (a call's own listeners, added
  // while it holds the thread, say what a failure does to that call).
  const drop = () => forget(w);
  w.on('error', drop);
  w.on('exit', drop);
  return w;
}

/**
 * Threads kept between calls. Starting one costs about a third of a second from the TypeScript
 * sources (tsx compiles the learners in each) and a tenth compiled, and a run starts a pool per
 * persona and round (a batch run's train and retrain jobs, their condition views): on a small base
 * that was most of the training time. An idle thread does not keep the process alive (unref) and
 * ends after IDLE_MS; no more than the machine's cores wait idle.
 */
const IDLE_MS = 30_000;
const idle: Worker[] = [];
let started = 0;
const idleTimers = new Map<Worker, NodeJS.Timeout>();

function forget(w: Worker): void {
  const at = idle.indexOf(w);
  if (at >= 0) idle.splice(at, 1);
  clearTimeout(idleTimers.get(w));
  idleTimers.delete(w);
}

/** An idle thread if there is one, else a new one; held (ref) until released. */
function acquire(): Worker {
  const w = idle.pop();
  if (!w) return startWorker();
  forget(w);
  w.ref();
  return w;
}

/** Back to the idle threads, once its call's work on it has ended (or ended, past the idle cap). */
function release(w: Worker): void {
  if (idle.length >= availableParallelism()) return void w.terminate();
  w.unref();
  idle.push(w);
  idleTimers.set(
    w,
    setTimeout(() => {
      forget(w);
      void w.terminate();
    }, IDLE_MS).unref(),
  );
}

/** Threads started by this process so far, and those idle now (a run's log, tests). */
export function workerThreads(): { started: number; idle: number } {
  return { started, idle: idle.length };
}

/** The idle threads now: ended (tests that count threads, or a process that wants them gone now). */
export async function endIdleWorkers(): Promise<void> {
  const ending = idle.splice(0);
  for (const w of ending) forget(w);
  await Promise.all(ending.map((w) => w.terminate()));
}

/**
 * Runs `requests` on a pool of `workers` threads; results in request order; `onDone` after each one
 * that ends. `keep` takes each result that succeeds as it comes and returns what the pool holds of
 * it to the end (by default all of it).
 */
async function runPool(requests: WorkerTask[], workers: number, onDone?: (completed: number) => void, keep?: (result: WorkerResponse & { ok: true }) => WorkerResponse): Promise<WorkerResponse[]> {
  const size = Math.max(1, Math.min(workers, requests.length));
  const results: WorkerResponse[] = new Array(requests.length);
  let nextIndex = 0;
  let completed = 0;
  const pool = Array.from({ length: size }, () => acquire());
  const detach: (() => void)[] = [];
  let failed = false;
  try {
    await Promise.all(
      pool.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              if (nextIndex >= requests.length) return resolve();
              const id = nextIndex++;
              w.postMessage({ ...requests[id], id } as WorkerRequest);
            };
            const onMessage = (res: WorkerResponse) => {
              try {
                results[res.id] = res.ok && keep ? keep(res) : res;
              } catch (e) {
                return reject(e as Error);
              }
              onDone?.(++completed);
              send();
            };
            const onExit = (code: number) => reject(new ModelError('TRAINING_DATA_INVALID', `a learner worker stopped with exit code ${code}`));
            w.on('message', onMessage);
            w.on('error', reject);
            w.on('exit', onExit);
            detach.push(() => {
              w.off('message', onMessage);
              w.off('error', reject);
              w.off('exit', onExit);
            });
            send();
          }),
      ),
    );
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    for (const off of detach) off();
    // After a failure the other threads may still be on a task of this call: ended, not kept.
    if (failed) await Promise.all(pool.map((w) => w.terminate()));
    else for (const w of pool) release(w);
  }
  for (const r of results) {
    if (!r.ok) throw new ModelError((r.code as 'TRAINING_DATA_INVALID') ?? 'TRAINING_DATA_INVALID', r.error);
  }
  return results;
}

export interface TrainJob {
  kind: LearnerKind;
  options?: Record<string, unknown>;
  input: FitInput;
  /**
   * Learn rows `rows` of input.x only (y and weights given for those rows). With input.x in
   * shared memory (shareMatrix), the workers read it where it is instead of a copy per job.
   */
  rows?: Uint32Array;
  /** Also score every row of input.x with the trained model (scores of trainManyScored). */
  score?: boolean;
  /** With score: only these rows; the scores then have the matrix's length, NaN for the rows not scored. */
  scoreRows?: Uint32Array;
}

/**
 * The matrix with its columns in shared memory: posted to workers without a copy. Many jobs over
 * rows of one large matrix (the persona models) then cost one copy, not one per job.
 */
export function shareMatrix<M extends ColumnMatrix>(m: M): M {
  return {
    ...m,
    columns: m.columns.map((c) => {
      if (c.buffer instanceof SharedArrayBuffer) return c;
      const shared = new Float32Array(new SharedArrayBuffer(c.length * Float32Array.BYTES_PER_ELEMENT));
      shared.set(c);
      return shared;
    }),
  };
}

/** Trains every job, up to `workers` at once (default: the machine's cores). */
export async function trainMany(jobs: TrainJob[], opts: { workers?: number } = {}): Promise<FittedClassifier[]> {
  return (await trainManyScored(jobs, opts)).map((r) => r.model);
}

/**
 * trainMany, with each `score` job's probabilities on every row of its input.x; `onDone` gets the
 * count of jobs ended so far. With `onScores`, each job's scores go to it as the job ends (in the
 * order the jobs end), not into the result: a caller that reduces them (a model's bags to their
 * mean) then holds only what it keeps, not every job's scores to the end.
 */
export async function trainManyScored(
  jobs: TrainJob[],
  opts: { workers?: number; onDone?: (completed: number) => void; onScores?: (job: number, scores: Float64Array) => void } = {},
): Promise<{ model: FittedClassifier; scores?: Float64Array }[]> {
  const scoresOf = (k: number, proba: Float64Array): Float64Array => {
    const only = jobs[k].scoreRows;
    if (!only) return proba;
    const scores = new Float64Array(jobs[k].input.x.rows).fill(NaN);
    only.forEach((i, j) => (scores[i] = proba[j]));
    return scores;
  };
  const onScores = opts.onScores;
  const results = await runPool(
    jobs.map((j) => ({ type: 'train', kind: j.kind, options: j.options ?? {}, input: j.input, rows: j.rows, score: j.score, scoreRows: j.scoreRows })),
    opts.workers ?? availableParallelism(),
    opts.onDone,
    onScores &&
      ((res) => {
        if (!res.proba) return res;
        onScores(res.id, scoresOf(res.id, res.proba));
        return { ...res, proba: undefined };
      }),
  );
  return results.map((r, k) => {
    const proba = (r as { proba?: Float64Array }).proba;
    return { model: loadModel((r as { model: unknown }).model), scores: proba && scoresOf(k, proba) };
  });
}

/** Scores `x` with `model`, split into row slices across `workers` threads. */
export async function predictParallel(model: FittedClassifier, x: ColumnMatrix, opts: { workers?: number } = {}): Promise<Float64Array> {
  const workers = Math.max(1, opts.workers ?? availableParallelism());
  const slice = Math.ceil(x.rows / workers);
  const json = model.toJSON();
  const requests: WorkerTask[] = [];
  for (let start = 0; start < x.rows; start += slice) {
    const end = Math.min(x.rows, start + slice);
    requests.push({ type: 'predict', model: json, rows: end - start, columns: x.columns.map((c) => c.subarray(start, end)) });
  }
  const results = await runPool(requests, workers);
  const out = new Float64Array(x.rows);
  let offset = 0;
  for (const r of results) {
    const p = (r as { proba: Float64Array }).proba;
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
