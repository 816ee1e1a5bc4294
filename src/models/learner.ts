// The contract every classifier of the product follows (scikit-learn's estimator contract):
// options are kept as given, `fit` validates and returns a fitted model, learned state is
// separate from options, a seed makes it repeatable, and a fitted model predicts positive-class
// probabilities on a column-major matrix. The kinds of learner the product has are listed here
// (a dependency-free module: the persona file schema reads it); learners.ts builds and loads them.

/** The learner kinds: boosted trees, random forest, MLP (TensorFlow.js), and gbdt + mlp averaged. */
export const LEARNER_KINDS = ['gbdt', 'forest', 'mlp', 'ensemble'] as const;
export type LearnerKind = (typeof LEARNER_KINDS)[number];

/** Column-major matrix: one Float32Array per feature, all of the same length; NaN = missing. */
export interface ColumnMatrix {
  readonly rows: number;
  readonly columns: Float32Array[];
}

/**
 * Rows `idx` of a matrix, copied. A plain loop: `Float32Array.from(idx, (i) => c[i])` goes
 * through the iterator and a callback per value and was measured 13 times slower (1.48 s against
 * 0.11 s for 70 columns of 90,000 rows), most of a persona training's set-up time.
 */
export function takeRows(m: ColumnMatrix, idx: ArrayLike<number>): ColumnMatrix {
  return {
    rows: idx.length,
    columns: m.columns.map((c) => {
      const out = new Float32Array(idx.length);
      for (let k = 0; k < idx.length; k++) out[k] = c[idx[k]];
      return out;
    }),
  };
}

export interface FitInput {
  readonly x: ColumnMatrix;
  /** Binary labels, 0 or 1, one per row. */
  readonly y: ArrayLike<number>;
  /** Optional non-negative per-row weights (default 1). */
  readonly weights?: ArrayLike<number>;
  /** Optional validation set for early stopping. */
  readonly valid?: { x: ColumnMatrix; y: ArrayLike<number>; weights?: ArrayLike<number> };
  /** Feature names, kept in the model for reports and mismatch checks. */
  readonly featureNames?: string[];
}

export interface FittedClassifier {
  readonly kind: string;
  readonly featureNames: string[];
  /** What it was trained on, for logs: "javascript" for the trees, "tfjs wasm" or "tfjs tensorflow" for the mlp. */
  readonly backend?: string;
  /** Probability of the positive class for each row. */
  predictProba(x: ColumnMatrix): Float64Array;
  /** Gain-based importance per feature (same order as featureNames), summing to 1. */
  featureImportance(): Float64Array;
  /** A versioned, self-describing JSON-serialisable form (see the learner's format module). */
  toJSON(): unknown;
}

export interface Learner<Options> {
  readonly kind: string;
  readonly options: Readonly<Options>;
  /** Loads what `fit` needs that can only load asynchronously (the mlp's tfjs backend); await it before `fit`. */
  prepare?(): Promise<void>;
  fit(input: FitInput): FittedClassifier;
}
