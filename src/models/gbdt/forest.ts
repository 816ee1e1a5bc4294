// Random forest on the same tree engine (RandomForestLearner): each tree learns from a bootstrap
// sample (rows drawn with replacement, as integer weights) and a random subset of features;
// with gradients w (p0 - y) and hessians w, a leaf's output p0 - G / H is the weighted share of
// positives in the leaf, and the forest's probability is the mean over its trees. That mean is
// not a calibrated probability (averaged leaf shares crowd towards the middle; the persona
// pipeline divides probabilities by their mean over the seeds and sums them into prevalences), so
// it is Platt-scaled on the out-of-bag scores: each training row scored by the trees whose
// bootstrap sample left it out, with its weight (`calibrate: false` keeps the raw mean).
import { ModelError } from '../../errors.ts';
import type { FitInput, Learner } from '../learner.ts';
import { Random } from '../../random.ts';
import { plattScaling, type Platt } from '../calibration.ts';
import { binMatrix, sampleFeatures } from './dataset.ts';
import type { NodeHistogram } from './histogram.ts';
import { TreeEnsemble } from './model.ts';
import { growTree, type Tree } from './tree.ts';
import { checkFitInput } from './validate.ts';
import { checkTreeOptions } from './booster.ts';

export interface ForestOptions {
  numTrees: number;
  maxDepth: number;
  numLeaves: number;
  minDataInLeaf: number;
  /** Share of features drawn for each tree. */
  colsample: number;
  /** Bootstrap sample size as a share of the rows. */
  subsample: number;
  maxBins: number;
  seed: number;
  /** Platt-scale the mean on out-of-bag scores. */
  calibrate: boolean;
}

export const FOREST_DEFAULTS: ForestOptions = {
  numTrees: 100,
  maxDepth: 12,
  numLeaves: 255,
  minDataInLeaf: 5,
  colsample: 0.5,
  subsample: 1,
  maxBins: 255,
  seed: 0,
  calibrate: true,
};

export class RandomForestLearner implements Learner<ForestOptions> {
  readonly kind = 'forest';
  readonly options: Readonly<ForestOptions>;

  constructor(options: Partial<ForestOptions> = {}) {
    this.options = { ...FOREST_DEFAULTS, ...options };
    checkTreeOptions(this.options);
    if (typeof this.options.calibrate !== 'boolean') {
      throw new ModelError('TRAINING_DATA_INVALID', `option calibrate = ${JSON.stringify(this.options.calibrate)}: expected true or false`, { field: 'calibrate' });
    }
  }

  fit(input: FitInput): TreeEnsemble {
    const o = this.options;
    const w = checkFitInput(input);
    const { x, y } = input;
    const rng = new Random(o.seed);
    const data = binMatrix(x, o.maxBins);
    const n = x.rows;
    const grad = new Float64Array(n);
    const hess = new Float64Array(n);
    const counts = new Float64Array(n);
    const packed = new Float64Array(n);
    const trees: Tree[] = [];
    const pool: NodeHistogram[] = [];
    const draws = Math.max(1, Math.round(n * o.subsample));
    const oobSum = new Float64Array(n);
    const oobCount = new Uint32Array(n);
    for (let t = 0; t < o.numTrees; t++) {
      counts.fill(0);
      for (let k = 0; k < draws; k++) counts[rng.int(n)]++;
      // Rows drawn at least once; a row drawn k times weighs k.
      let weightSum = 0;
      let posSum = 0;
      const picked: number[] = [];
      for (let i = 0; i < n; i++) {
        if (counts[i] === 0) continue;
        picked.push(i);
        weightSum += counts[i] * w[i];
        posSum += counts[i] * w[i] * y[i];
      }
      const p0 = weightSum > 0 ? posSum / weightSum : 0;
      for (const i of picked) {
        grad[i] = counts[i] * w[i] * (p0 - y[i]);
        hess[i] = counts[i] * w[i];
      }
      const rows = Uint32Array.from(picked);
      const featureIds = sampleFeatures(x.columns.length, o.colsample, () => rng.next());
      const leafOutput = (g: number, h: number) => (h > 0 ? p0 - g / h : p0);
      const tree = growTree(
        { bins: data.bins, columns: data.columns, featureBins: data.featureBins, featureIds, grad, hess, rows, packed, seed: o.seed * 7919 + t, leafOutput },
        { numLeaves: o.numLeaves, maxDepth: o.maxDepth, lambda: 0, minChildWeight: 1e-9, minDataInLeaf: o.minDataInLeaf, minGain: 1e-12 },
        pool,
      ).tree;
      trees.push(tree);
      if (o.calibrate) {
        for (let i = 0; i < n; i++) {
          if (counts[i] !== 0) continue;
          oobSum[i] += leafOf(tree, x.columns, i);
          oobCount[i]++;
        }
      }
    }
    let calibration: Platt | undefined;
    if (o.calibrate) {
      const oob: number[] = [];
      const oy: number[] = [];
      const ow: number[] = [];
      for (let i = 0; i < n; i++) {
        if (!oobCount[i]) continue;
        oob.push(Math.min(1, Math.max(0, oobSum[i] / oobCount[i])));
        oy.push(y[i]);
        ow.push(w[i]);
      }
      if (oy.includes(0) && oy.includes(1)) calibration = plattScaling(oob, oy, ow);
    }
    return new TreeEnsemble({
      kind: 'forest',
      params: { ...o },
      featureNames: input.featureNames ?? x.columns.map((_, j) => `f${j}`),
      initScore: 0,
      trees,
      output: 'mean',
      ...(calibration ? { calibration } : {}),
    });
  }
}

/** The leaf value row `i` reaches in `t`, from raw values (the compiled scorers' rule: NaN takes the default side). */
function leafOf(t: Tree, columns: Float32Array[], i: number): number {
  let node = 0;
  if (t.feature.length === 0) return t.leafValue[0];
  while (node >= 0) {
    const v = columns[t.feature[node]][i];
    const left = t.defaultLeft[node] ? !(v > t.threshold[node]) : v <= t.threshold[node];
    node = left ? t.left[node] : t.right[node];
  }
  return t.leafValue[~node];
}
