// Tree learner: grows one regression tree on gradients and hessians, leaf-wise (best-gain leaf
// first, as LightGBM does) under `numLeaves` and `maxDepth`. Each leaf owns a contiguous segment
// of a row-index array that is partitioned in place when the leaf splits; the smaller child's
// histograms are built and the larger child's are the parent's minus the smaller's. Splits are
// chosen on quantised gradients (quantize.ts); leaf values come from the exact sums.
import type { FeatureBins } from './bins.ts';
import { buildHistogram, newHistogram, setPairs, subtractHistogram, type NodeHistogram, type RowBins } from './histogram.ts';
import { packedGrad, packedHess, quantiseGradients } from './quantize.ts';
import { findBestSplit, type Split, type SplitParams } from './split.ts';

export interface TreeParams extends SplitParams {
  numLeaves: number;
  maxDepth: number;
}

/**
 * A tree as flat arrays (LightGBM's layout): internal node i splits on feature[i] at raw
 * threshold[i] (value <= threshold goes left, missing goes left when defaultLeft[i]); a child
 * index < 0 is the leaf ~child.
 */
export interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  defaultLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  leafValue: Float64Array;
  /** Split gain of each internal node (for importance). */
  gain: Float64Array;
}

interface Leaf {
  begin: number;
  end: number;
  depth: number;
  /** Quantised (integer) gradient and hessian sums. */
  grad: number;
  hess: number;
  /** Absent once the leaf is known never to split. */
  hist?: NodeHistogram;
  split?: Split;
  /** Internal node whose child this leaf is, and on which side (-1 for the root). */
  parent: number;
  isLeft: boolean;
}

export interface GrowInput {
  /** Bin codes row-major (histograms) and one column per feature (partitioning). */
  bins: RowBins;
  columns: Uint8Array[];
  featureBins: FeatureBins[];
  /** Features this tree may use. */
  featureIds: Int32Array;
  grad: Float64Array;
  hess: Float64Array;
  /** Row indices of the rows the tree learns from; partitioned in place. */
  rows: Uint32Array;
  /** Scratch of one double per training row, for the packed quantised gradients. */
  packed: Float64Array;
  /** Seed of the stochastic rounding of the gradients. */
  seed: number;
  /** Leaf output from a leaf's (exact) gradient and hessian sums. */
  leafOutput: (grad: number, hess: number) => number;
}

/**
 * A grown tree and where its training rows ended: `rows` (the input array, partitioned in place)
 * holds leaf k's rows at rows[leafBegin[k]..leafEnd[k]), so the booster adds the leaf values to
 * the training scores without walking the tree (LightGBM's DataPartition).
 */
export interface GrownTree {
  tree: Tree;
  leafBegin: Uint32Array;
  leafEnd: Uint32Array;
}

export function growTree(input: GrowInput, p: TreeParams, pool: NodeHistogram[]): GrownTree {
  const { bins, columns, featureBins, featureIds, grad, hess, rows } = input;
  const nanBins = Int32Array.from(featureBins, (b) => b.nanBin);
  const take = () => pool.pop() ?? newHistogram(bins);
  const q = quantiseGradients(grad, hess, rows, input.packed, input.seed);
  const { packed, shift } = q;
  setPairs(bins, rows, packed);

  let total = 0;
  for (let i = 0; i < rows.length; i++) total += packed[rows[i]];
  const rootHist = take();
  const root: Leaf = { begin: 0, end: rows.length, depth: 0, grad: packedGrad(total, shift), hess: packedHess(total, shift), hist: rootHist, parent: -1, isLeft: false };
  buildHistogram(bins, featureIds, rows, 0, rows.length, rootHist);
  // A leaf at the depth limit, or with too few rows for two children, never splits: it needs no
  // histograms (skipping them saves about a seventh of the histogram work of a depth-6 tree).
  const canSplit = (leaf: Leaf) => leaf.depth < p.maxDepth && leaf.end - leaf.begin >= 2 * p.minDataInLeaf;
  const splitOf = (leaf: Leaf) =>
    canSplit(leaf) ? findBestSplit(leaf.hist!, featureIds, nanBins, { grad: leaf.grad, hess: leaf.hess, count: leaf.end - leaf.begin }, q, p) : undefined;
  root.split = splitOf(root);

  const leaves: Leaf[] = [root];
  const nodes = { feature: [] as number[], threshold: [] as number[], defaultLeft: [] as number[], left: [] as number[], right: [] as number[], gain: [] as number[] };
  const scratch = new Uint32Array(rows.length);

  while (leaves.length < p.numLeaves) {
    let bestIndex = -1;
    for (let i = 0; i < leaves.length; i++) {
      const s = leaves[i].split;
      if (s && (bestIndex < 0 || s.gain > leaves[bestIndex].split!.gain)) bestIndex = i;
    }
    if (bestIndex < 0) break;
    const leaf = leaves[bestIndex];
    const s = leaf.split!;

    // Partition the leaf's rows: those going left first, stably. Each row is written to both
    // places and only one count advances (no unpredictable branch per row).
    const codes = columns[s.feature];
    const nan = nanBins[s.feature];
    const threshold = s.bin;
    const nanLeft = s.defaultLeft ? 1 : 0;
    let nl = 0;
    let nr = 0;
    for (let i = leaf.begin; i < leaf.end; i++) {
      const r = rows[i];
      const b = codes[r];
      const goLeft = b === nan ? nanLeft : +(b <= threshold);
      rows[leaf.begin + nl] = r;
      scratch[nr] = r;
      nl += goLeft;
      nr += 1 - goLeft;
    }
    rows.set(scratch.subarray(0, nr), leaf.begin + nl);
    const mid = leaf.begin + nl;

    const node = nodes.feature.length;
    const edges = featureBins[s.feature].edges;
    nodes.feature.push(s.feature);
    nodes.threshold.push(s.bin < edges.length ? edges[s.bin] : Infinity);
    nodes.defaultLeft.push(s.defaultLeft ? 1 : 0);
    nodes.left.push(0);
    nodes.right.push(0);
    nodes.gain.push(s.gain);
    if (leaf.parent >= 0) (leaf.isLeft ? nodes.left : nodes.right)[leaf.parent] = node;

    const left: Leaf = { begin: leaf.begin, end: mid, depth: leaf.depth + 1, grad: s.leftGrad, hess: s.leftHess, parent: node, isLeft: true };
    const right: Leaf = { begin: mid, end: leaf.end, depth: leaf.depth + 1, grad: leaf.grad - s.leftGrad, hess: leaf.hess - s.leftHess, parent: node, isLeft: false };
    // Build the smaller child's histograms; the larger one is the parent's minus the smaller's.
    const [small, large] = nl <= nr ? [left, right] : [right, left];
    const parentHist = leaf.hist!;
    if (canSplit(small) || canSplit(large)) {
      small.hist = take();
      buildHistogram(bins, featureIds, rows, small.begin, small.end, small.hist);
      if (canSplit(large)) {
        large.hist = take();
        subtractHistogram(parentHist, small.hist, featureIds, large.hist);
      }
    }
    pool.push(parentHist);
    left.split = splitOf(left);
    right.split = splitOf(right);
    leaves.splice(bestIndex, 1, left, right);
  }

  // Number the leaves, link them into their parents, and give each the output of its exact sums.
  const leafValue = new Float64Array(leaves.length);
  const leafBegin = new Uint32Array(leaves.length);
  const leafEnd = new Uint32Array(leaves.length);
  leaves.forEach((leaf, k) => {
    let g = 0;
    let h = 0;
    for (let i = leaf.begin; i < leaf.end; i++) {
      g += grad[rows[i]];
      h += hess[rows[i]];
    }
    leafValue[k] = input.leafOutput(g, h);
    leafBegin[k] = leaf.begin;
    leafEnd[k] = leaf.end;
    if (leaf.parent >= 0) (leaf.isLeft ? nodes.left : nodes.right)[leaf.parent] = ~k;
    if (leaf.hist) pool.push(leaf.hist);
  });
  const tree: Tree = {
    feature: Int32Array.from(nodes.feature),
    threshold: Float64Array.from(nodes.threshold),
    defaultLeft: Uint8Array.from(nodes.defaultLeft),
    left: Int32Array.from(nodes.left),
    right: Int32Array.from(nodes.right),
    leafValue,
    gain: Float64Array.from(nodes.gain),
  };
  return { tree, leafBegin, leafEnd };
}
