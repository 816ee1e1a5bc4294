// Worker-thread entry of the tree learners: trains one model, or scores a slice of rows, per
// message. Started by workers.ts; models travel as their JSON format.
import { parentPort } from 'node:worker_threads';
import type { FitInput } from '../learner.ts';
import { GbdtLearner } from './booster.ts';
import { RandomForestLearner } from './forest.ts';
import { parseEnsemble } from './format.ts';
import { TreeEnsemble } from './model.ts';

export type WorkerTask =
  | { type: 'train'; kind: 'gbdt' | 'forest'; options: Record<string, unknown>; input: FitInput }
  | { type: 'predict'; model: unknown; rows: number; columns: Float32Array[] };

export type WorkerRequest = WorkerTask & { id: number };

export type WorkerResponse = { id: number; ok: true; model?: unknown; proba?: Float64Array } | { id: number; ok: false; error: string; code?: string };

parentPort?.on('message', (req: WorkerRequest) => {
  try {
    if (req.type === 'train') {
      const learner = req.kind === 'gbdt' ? new GbdtLearner(req.options) : new RandomForestLearner(req.options);
      const model = learner.fit(req.input);
      parentPort!.postMessage({ id: req.id, ok: true, model: model.toJSON() } satisfies WorkerResponse);
    } else {
      const model = new TreeEnsemble(parseEnsemble(req.model));
      const proba = model.predictProba({ rows: req.rows, columns: req.columns });
      parentPort!.postMessage({ id: req.id, ok: true, proba } satisfies WorkerResponse, [proba.buffer as ArrayBuffer]);
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    parentPort!.postMessage({ id: req.id, ok: false, error: e.message, code: e.code } satisfies WorkerResponse);
  }
});
