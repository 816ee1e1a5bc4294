// Gradient boosting for binary log-loss (GbdtLearner): each round fits a tree to the gradients
// and hessians of the current scores, with learning rate, row and column subsampling, per-row
// weights, and early stopping on a validation set that keeps the best round. Deterministic for a
// given seed (which also drives the rounding of the quantised gradients, quantize.ts). The
// training scores are updated from the rows each leaf ended with, not by walking the tree.
import type { FitInput, Learner } from '../learner.ts';
import { Random } from '../../random.ts';
import { binMatrix, sampleFeatures } from './dataset.ts';
import type { NodeHistogram } from './histogram.ts';
import { TreeEnsemble } from './model.ts';
import { initialScore, logLoss, logLossGradients } from './objective.ts';
import { addTreeOutputs } from './predict.ts';
import { growTree, type Tree } from './tree.ts';
import { checkFitInput, checkMatrix } from './validate.ts';
import { ModelError } from '../../errors.ts';

export interface GbdtOptions {
  numTrees: number;
  learningRate: number;
  maxDepth: number;
  numLeaves: number;
  lambda: number;
  minChildWeight: number;
  minDataInLeaf: number;
  minGain: number;
  /** Share of rows drawn (without replacement) for each tree. */
  subsample: number;
  /** Share of features drawn for each tree. */
  colsample: number;
  maxBins: number;
  /** Stop when the validation log-loss has not improved for this many rounds (0: never). */
  earlyStoppingRounds: number;
  seed: number;
}

export const GBDT_DEFAULTS: GbdtOptions = {
  numTrees: 100,
  learningRate: 0.1,
  maxDepth: 6,
  numLeaves: 63,
  lambda: 1,
  minChildWeight: 1e-3,
  minDataInLeaf: 20,
  minGain: 0,
  subsample: 1,
  colsample: 1,
  maxBins: 255,
  earlyStoppingRounds: 20,
  seed: 0,
};

export function checkTreeOptions(o: { numTrees: number; maxBins: number; numLeaves: number; maxDepth: number; subsample: number; colsample: number }): void {
  const bad = (field: string, expected: string) => {
    throw new ModelError('TRAINING_DATA_INVALID', `option ${field} = ${String((o as Record<string, unknown>)[field])}: expected ${expected}`, { field });
  };
  if (!Number.isInteger(o.numTrees) || o.numTrees < 1) bad('numTrees', 'an integer >= 1');
  if (!Number.isInteger(o.maxBins) || o.maxBins < 2 || o.maxBins > 255) bad('maxBins', 'an integer in [2, 255]');
  if (!Number.isInteger(o.numLeaves) || o.numLeaves < 2) bad('numLeaves', 'an integer >= 2');
  if (!Number.isInteger(o.maxDepth) || o.maxDepth < 1) bad('maxDepth', 'an integer >= 1');
  if (!(o.subsample > 0 && o.subsample <= 1)) bad('subsample', 'a share in (0, 1]');
  if (!(o.colsample > 0 && o.colsample <= 1)) bad('colsample', 'a share in (0, 1]');
}

export class GbdtLearner implements Learner<GbdtOptions> {
  readonly kind = 'gbdt';
  readonly options: Readonly<GbdtOptions>;

  constructor(options: Partial<GbdtOptions> = {}) {
    this.options = { ...GBDT_DEFAULTS, ...options };
    checkTreeOptions(this.options);
  }

  fit(input: FitInput): TreeEnsemble {
    const o = this.options;
    const w = checkFitInput(input);
    const { x, y } = input;
    const validW = input.valid ? checkValid(input.valid, x.columns.length) : undefined;
    const rng = new Random(o.seed);
    const next = () => rng.next();
    const data = binMatrix(x, o.maxBins);
    const n = x.rows;

    const init = initialScore(y, w);
    const raw = new Float64Array(n).fill(init);
    const grad = new Float64Array(n);
    const hess = new Float64Array(n);
    const packed = new Float64Array(n);
    const validRaw = input.valid ? new Float64Array(input.valid.x.rows).fill(init) : undefined;
    const trees: Tree[] = [];
    const pool: NodeHistogram[] = [];
    const allRows = Uint32Array.from({ length: n }, (_, i) => i);
    let bestLoss = Infinity;
    let bestRound = 0;
    const leafOutput = (g: number, h: number) => (-g / (h + o.lambda)) * o.learningRate;

    for (let round = 0; round < o.numTrees; round++) {
      logLossGradients(raw, y, w, grad, hess);
      let rows = allRows.slice();
      if (o.subsample < 1) rows = rows.filter(() => next() < o.subsample);
      if (rows.length === 0) rows = allRows.slice();
      const featureIds = sampleFeatures(x.columns.length, o.colsample, next);
      const { tree, leafBegin, leafEnd } = growTree(
        { bins: data.bins, columns: data.columns, featureBins: data.featureBins, featureIds, grad, hess, rows, packed, seed: o.seed * 7919 + round, leafOutput },
        o,
        pool,
      );
      trees.push(tree);
      if (rows.length === n) {
        // Every row is in the tree's partition: add each leaf's value to its rows.
        for (let k = 0; k < tree.leafValue.length; k++) {
          const v = tree.leafValue[k];
          for (let i = leafBegin[k]; i < leafEnd[k]; i++) raw[rows[i]] += v;
        }
      } else addTreeOutputs([tree], x, raw);
      if (input.valid && validRaw && validW) {
        addTreeOutputs([tree], input.valid.x, validRaw);
        const loss = logLoss(validRaw, input.valid.y, validW);
        if (loss < bestLoss - 1e-12) {
          bestLoss = loss;
          bestRound = round + 1;
        } else if (o.earlyStoppingRounds > 0 && round + 1 - bestRound >= o.earlyStoppingRounds) break;
      }
    }
    const kept = input.valid ? trees.slice(0, Math.max(1, bestRound)) : trees;
    return new TreeEnsemble({
      kind: 'gbdt',
      params: { ...o },
      featureNames: input.featureNames ?? x.columns.map((_, j) => `f${j}`),
      initScore: init,
      trees: kept,
      output: 'sigmoid',
      bestIteration: input.valid ? kept.length : undefined,
    });
  }
}

/** Validates the early-stopping set; returns its weights. */
export function checkValid(valid: NonNullable<FitInput['valid']>, features: number): Float64Array {
  checkMatrix(valid.x, 'validation data');
  if (valid.x.columns.length !== features) {
    throw new ModelError('TRAINING_DATA_INVALID', `validation data has ${valid.x.columns.length} feature columns, training data ${features}`);
  }
  if (valid.y.length !== valid.x.rows) throw new ModelError('TRAINING_DATA_INVALID', `validation labels: ${valid.y.length} values for ${valid.x.rows} rows`);
  const w = new Float64Array(valid.x.rows).fill(1);
  for (let i = 0; i < valid.y.length; i++) {
    if (valid.y[i] !== 0 && valid.y[i] !== 1) throw new ModelError('TRAINING_DATA_INVALID', `validation labels: row ${i} is ${valid.y[i]}; expected 0 or 1`, { row: i });
    if (valid.weights) {
      const v = valid.weights[i];
      if (!Number.isFinite(v) || v < 0) throw new ModelError('TRAINING_DATA_INVALID', `validation weights: row ${i} is ${v}`, { row: i });
      w[i] = v;
    }
  }
  return w;
}
