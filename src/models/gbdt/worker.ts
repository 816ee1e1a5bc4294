// Worker-thread entry of the learners: trains one model of any kind (learners.ts), or scores a
// slice of rows, per message. Started by workers.ts; models travel as their JSON format. A kind
// that needs an asynchronous set-up (the mlp's tfjs backend) gets it once per thread.
import { parentPort } from 'node:worker_threads';
import { takeRows, type FitInput, type LearnerKind } from '../learner.ts';
import { fitLearner, loadModel } from '../learners.ts';

export type WorkerTask =
  | {
      type: 'train';
      kind: LearnerKind;
      options: Record<string, unknown>;
      /** With `rows`, input.x is a larger matrix (shared memory, not copied) and y, weights follow `rows`. */
      input: FitInput;
      rows?: Uint32Array;
      /** Also score every row of input.x with the trained model (as loaded from its file). */
      score?: boolean;
      /** With score: only these rows of input.x (proba then follows them). */
      scoreRows?: Uint32Array;
    }
  | { type: 'predict'; model: unknown; rows: number; columns: Float32Array[] };

export type WorkerRequest = WorkerTask & { id: number };

export type WorkerResponse = { id: number; ok: true; model?: unknown; proba?: Float64Array } | { id: number; ok: false; error: string; code?: string };

async function handle(req: WorkerRequest): Promise<void> {
  try {
    if (req.type === 'train') {
      if (req.rows?.some((i) => i >= req.input.x.rows)) throw new Error(`training rows outside the matrix: it has ${req.input.x.rows} rows`);
      const input = req.rows ? { ...req.input, x: takeRows(req.input.x, req.rows) } : req.input;
      const json = (await fitLearner(req.kind, req.options, input)).toJSON();
      // Scored from the model file, as the caller will load it: the same numbers either side.
      if (req.scoreRows?.some((i) => i >= req.input.x.rows)) throw new Error(`rows to score outside the matrix: it has ${req.input.x.rows} rows`);
      const proba = req.score ? loadModel(json).predictProba(req.scoreRows ? takeRows(req.input.x, req.scoreRows) : req.input.x) : undefined;
      parentPort!.postMessage({ id: req.id, ok: true, model: json, proba } satisfies WorkerResponse, proba ? [proba.buffer as ArrayBuffer] : []);
    } else {
      const proba = loadModel(req.model).predictProba({ rows: req.rows, columns: req.columns });
      parentPort!.postMessage({ id: req.id, ok: true, proba } satisfies WorkerResponse, [proba.buffer as ArrayBuffer]);
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    parentPort!.postMessage({ id: req.id, ok: false, error: e.message, code: e.code } satisfies WorkerResponse);
  }
}

parentPort?.on('message', (req: WorkerRequest) => void handle(req));
