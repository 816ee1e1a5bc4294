// Public surface of the neural learner: the MLP learner on TensorFlow.js, the fitted model (plain
// JavaScript prediction), its model format, and the tfjs backend selection.
export { MlpLearner, MLP_DEFAULTS, type MlpOptions } from './learner.ts';
export { MlpModel } from './model.ts';
export type { MlpState, DenseLayer } from './state.ts';
export { MLP_FORMAT, parseMlp } from './format.ts';
export { initBackend, loadedBackend, type BackendInfo } from './backend.ts';

import { parseMlp } from './format.ts';
import { MlpModel } from './model.ts';

/** Loads a model written by `MlpModel.toJSON` (strict: see format.ts). */
export function loadMlpModel(json: unknown): MlpModel {
  return new MlpModel(parseMlp(json));
}
