// Scoring: trees as flat typed arrays walked on raw feature values (no binning at predict time),
// tree by tree over all rows so a tree's nodes stay in cache; no allocation per row.
import type { ColumnMatrix } from '../learner.ts';
import type { Tree } from './tree.ts';

/** Rows scored together by every tree, so their feature values stay in cache. */
const BLOCK = 512;

/** Adds the output of `trees` to `raw` for every row of `x`. */
export function addTreeOutputs(trees: Tree[], x: ColumnMatrix, raw: Float64Array, scale = 1): void {
  const cols = x.columns;
  const n = x.rows;
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    for (const t of trees) {
      const { feature, threshold, defaultLeft, left, right, leafValue } = t;
      if (feature.length === 0) {
        const v = leafValue[0] * scale;
        for (let i = start; i < end; i++) raw[i] += v;
        continue;
      }
      for (let i = start; i < end; i++) {
        // Walk from the root until a negative child index, which is ~leaf.
        let node = 0;
        while (node >= 0) {
          const v = cols[feature[node]][i];
          const goLeft = v !== v ? defaultLeft[node] === 1 : v <= threshold[node];
          node = goLeft ? left[node] : right[node];
        }
        raw[i] += leafValue[~node] * scale;
      }
    }
  }
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
