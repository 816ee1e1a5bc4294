// Checks of a learner's inputs: every bad input is a ModelError that says what was wrong.
import { ModelError } from '../../errors.ts';
import type { ColumnMatrix, FitInput } from '../learner.ts';

export function checkMatrix(x: ColumnMatrix, what: string): void {
  if (!x || !Array.isArray(x.columns)) throw new ModelError('TRAINING_DATA_INVALID', `${what}: expected a column matrix { rows, columns: Float32Array[] }`);
  if (x.columns.length === 0) throw new ModelError('TRAINING_DATA_INVALID', `${what}: no feature column`);
  x.columns.forEach((c, j) => {
    if (c.length !== x.rows) {
      throw new ModelError('TRAINING_DATA_INVALID', `${what}: column ${j} has ${c.length} values, expected ${x.rows} (rows)`, { column: j });
    }
  });
}

/** Validates training data; returns the weights as a Float64Array (1 when absent). */
export function checkFitInput(input: FitInput): Float64Array {
  const { x, y } = input;
  checkMatrix(x, 'training data');
  if (x.rows === 0) throw new ModelError('TRAINING_DATA_INVALID', 'training data is empty (0 rows)');
  if (y.length !== x.rows) throw new ModelError('TRAINING_DATA_INVALID', `labels: ${y.length} values for ${x.rows} rows`);
  let positives = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) {
      throw new ModelError('TRAINING_DATA_INVALID', `labels: row ${i} is ${v}; labels must be 0 or 1 (no NaN or Infinity)`, { row: i });
    }
    positives += v;
  }
  if (positives === 0 || positives === y.length) {
    throw new ModelError('TRAINING_DATA_INVALID', `labels: only one class (${positives === 0 ? 'no positive' : 'no negative'} row); a classifier needs both`);
  }
  const w = new Float64Array(x.rows);
  if (input.weights) {
    if (input.weights.length !== x.rows) throw new ModelError('TRAINING_DATA_INVALID', `weights: ${input.weights.length} values for ${x.rows} rows`);
    for (let i = 0; i < w.length; i++) {
      const v = input.weights[i];
      if (!Number.isFinite(v) || v < 0) throw new ModelError('TRAINING_DATA_INVALID', `weights: row ${i} is ${v}; weights must be finite and >= 0`, { row: i });
      w[i] = v;
    }
  } else w.fill(1);
  if (input.featureNames && input.featureNames.length !== x.columns.length) {
    throw new ModelError('TRAINING_DATA_INVALID', `featureNames: ${input.featureNames.length} names for ${x.columns.length} columns`);
  }
  return w;
}
