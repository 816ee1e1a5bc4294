// Public surface of the tree learners: boosted trees, random forest, the model format and the
// worker-thread helpers.
export { GbdtLearner, GBDT_DEFAULTS, type GbdtOptions } from './booster.ts';
export { RandomForestLearner, FOREST_DEFAULTS, type ForestOptions } from './forest.ts';
export { TreeEnsemble } from './model.ts';
export type { EnsembleState, EnsembleKind } from './state.ts';
export { GBDT_FORMAT, parseEnsemble } from './format.ts';
export { fitBins, binOf, type FeatureBins } from './bins.ts';
export type { Tree } from './tree.ts';

import { parseEnsemble } from './format.ts';
import { TreeEnsemble } from './model.ts';

/** Loads a model written by `toJSON` (strict: see format.ts). */
export function loadTreeModel(json: unknown): TreeEnsemble {
  return new TreeEnsemble(parseEnsemble(json));
}
export { trainMany, trainManyScored, shareMatrix, predictParallel, endIdleWorkers, workerThreads, type TrainJob } from './workers.ts';
