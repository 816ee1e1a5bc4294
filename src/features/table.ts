// The in-memory feature table handed from the feature pipeline to the models:
// one row per customer, numeric features column-major as Float32Array (NaN = missing),
// categorical features as string columns (null = missing).

export interface FeatureTable {
  /** Number of customers (rows). */
  readonly rows: number;
  /** customer_id of each row, in row order. */
  readonly ids: string[];
  /** Names of the numeric features, in column order. */
  readonly numericNames: string[];
  /** One Float32Array of length `rows` per numeric feature; NaN where missing. */
  readonly numeric: Float32Array[];
  /** Names of the categorical features (sex, segment, postcode, client string columns). */
  readonly categoricalNames: string[];
  /** One array of length `rows` per categorical feature; null where missing. */
  readonly categorical: (string | null)[][];
}

/** Returns the numeric column called `name`, or undefined. */
export function numericColumn(table: FeatureTable, name: string): Float32Array | undefined {
  const i = table.numericNames.indexOf(name);
  return i < 0 ? undefined : table.numeric[i];
}

/** Returns the categorical column called `name`, or undefined. */
export function categoricalColumn(table: FeatureTable, name: string): (string | null)[] | undefined {
  const i = table.categoricalNames.indexOf(name);
  return i < 0 ? undefined : table.categorical[i];
}

/** Every feature name of the table, numeric first. */
export function featureNames(table: FeatureTable): string[] {
  return [...table.numericNames, ...table.categoricalNames];
}
