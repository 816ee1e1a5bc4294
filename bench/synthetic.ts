// Synthetic binary classification data for learner benchmarks and tests: 30 features, a
// nonlinear logit with interactions, some missing values. Same seed, same data.
import { Random } from '../src/random.ts';

export interface SyntheticData {
  rows: number;
  columns: Float32Array[];
  y: Uint8Array;
}

export function syntheticData(rows: number, seed: number, features = 30): SyntheticData {
  const rng = new Random(seed);
  const columns = Array.from({ length: features }, () => new Float32Array(rows));
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < features; j++) columns[j][i] = j % 3 === 0 ? rng.normal() : j % 3 === 1 ? rng.next() * 4 - 2 : rng.int(10);
    const x = (j: number) => columns[j][i];
    const logit = 1.2 * x(0) - 0.8 * x(1) * x(3) + Math.sin(2 * x(4)) + 0.4 * (x(2) > 5 ? 1 : -1) + 0.5 * x(6) * x(6) - 0.5 + 0.3 * x(7) - 0.2 * x(9) * (x(10) > 0 ? 1 : 0);
    y[i] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    // Missing values after the label is drawn: 5% of feature 0 and 10% of feature 4.
    if (rng.next() < 0.05) columns[0][i] = NaN;
    if (rng.next() < 0.1) columns[4][i] = NaN;
  }
  return { rows, columns, y };
}

/** Area under the ROC curve (ties counted half). */
export function auc(scores: ArrayLike<number>, y: ArrayLike<number>): number {
  const idx = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSum = 0;
  let pos = 0;
  for (let k = 0; k < idx.length; ) {
    let e = k;
    while (e + 1 < idx.length && scores[idx[e + 1]] === scores[idx[k]]) e++;
    const rank = (k + e) / 2 + 1;
    for (let m = k; m <= e; m++) if (y[idx[m]] === 1) {
      rankSum += rank;
      pos++;
    }
    k = e + 1;
  }
  const neg = y.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
