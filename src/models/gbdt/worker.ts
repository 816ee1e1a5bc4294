// Worker-thread entry of the learners: trains one model of any kind (learners.ts), or scores a
// slice of rows, per message. Started by workers.ts; models travel as their JSON format. A kind
// that needs an asynchronous set-up (the mlp's tfjs backend) gets it once per thread.
import { parentPort } from 'node:worker_threads';
import type { FitInput, LearnerKind } from '../learner.ts';
import { fitLearner, loadModel } from '../learners.ts';

export type WorkerTask =
  | { type: 'train'; kind: LearnerKind; options: Record<string, unknown>; input: FitInput }
  | { type: 'predict'; model: unknown; rows: number; columns: Float32Array[] };

export type WorkerRequest = WorkerTask & { id: number };

export type WorkerResponse = { id: number; ok: true; model?: unknown; proba?: Float64Array } | { id: number; ok: false; error: string; code?: string };

async function handle(req: WorkerRequest): Promise<void> {
  try {
    if (req.type === 'train') {
      const model = await fitLearner(req.kind, req.options, req.input);
      parentPort!.postMessage({ id: req.id, ok: true, model: model.toJSON() } satisfies WorkerResponse);
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
