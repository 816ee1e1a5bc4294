// The learned state of a tree ensemble, as held in memory and written by format.ts.
import type { Platt } from '../calibration.ts';
import type { Tree } from './tree.ts';

export type EnsembleKind = 'gbdt' | 'forest';

export interface EnsembleState {
  kind: EnsembleKind;
  params: Record<string, unknown>;
  featureNames: string[];
  /** Raw score before the trees (gbdt: log-odds of the base rate; forest: 0). */
  initScore: number;
  trees: Tree[];
  /** gbdt: sigmoid(init + sum of leaves); forest: mean of the trees' leaf probabilities. */
  output: 'sigmoid' | 'mean';
  /** Best iteration found by early stopping (number of trees kept), when used. */
  bestIteration?: number;
  /** Forest: Platt scaling of the mean, fitted on out-of-bag scores (absent in files written before it). */
  calibration?: Platt;
}

