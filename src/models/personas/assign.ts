// Thresholds and the assignment rule (CONTRACT.md): a customer gets its best persona when that
// persona's probability reaches the persona's threshold and beats the runner-up by min_margin;
// everyone else stays unassigned. `threshold: auto` takes, per persona, the lowest threshold whose
// expected precision (the mean probability of the customers above it) meets the target.

export interface ReachPoint {
  threshold: number;
  customers: number;
  expectedPrecision: number | null;
}

/** Customers above each threshold 0.05..0.95 and their expected precision. */
export function reachCurve(p: Float64Array): ReachPoint[] {
  const sorted = Float64Array.from(p).sort().reverse();
  const out: ReachPoint[] = [];
  for (let k = 1; k <= 19; k++) {
    const t = k / 20;
    let count = 0;
    let sum = 0;
    while (count < sorted.length && sorted[count] >= t) sum += sorted[count++];
    out.push({ threshold: t, customers: count, expectedPrecision: count ? sum / count : null });
  }
  return out;
}

/**
 * The lowest threshold at which the mean probability of the customers at or above it reaches
 * `target`; 1 when none does (nobody is assigned to that persona).
 */
export function autoThreshold(p: Float64Array, target: number): { threshold: number; expectedPrecision: number | null } {
  const sorted = Float64Array.from(p).sort().reverse();
  let sum = 0;
  let best: { threshold: number; expectedPrecision: number | null } = { threshold: 1, expectedPrecision: null };
  for (let k = 0; k < sorted.length; k++) {
    sum += sorted[k];
    // Only cut between distinct values, so every customer at the threshold is included.
    if (k + 1 < sorted.length && sorted[k + 1] === sorted[k]) continue;
    if (sum / (k + 1) >= target) best = { threshold: sorted[k], expectedPrecision: sum / (k + 1) };
  }
  return best;
}

export interface Assignment {
  /** Persona index per customer, -1 when unassigned. */
  persona: Int32Array;
  confidence: Float64Array;
  margin: Float64Array;
}

/** The contract's decision rule over per-persona probabilities (one array per persona). */
export function assignPersonas(probabilities: Float64Array[], thresholds: number[], minMargin: number): Assignment {
  const n = probabilities[0]?.length ?? 0;
  const persona = new Int32Array(n).fill(-1);
  const confidence = new Float64Array(n);
  const margin = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let first = -Infinity;
    let second = 0;
    for (let k = 0; k < probabilities.length; k++) {
      const v = probabilities[k][i];
      if (v > first) {
        second = first === -Infinity ? 0 : first;
        first = v;
        best = k;
      } else if (v > second) second = v;
    }
    if (best < 0) continue;
    confidence[i] = first;
    margin[i] = probabilities.length > 1 ? first - second : first;
    if (first >= thresholds[best] && margin[i] >= minMargin) persona[i] = best;
  }
  return { persona, confidence, margin };
}
