// Each persona's size from a random sample of known customers (personas evaluate --random-sample,
// drawn by personas survey): the difference estimator that corrects the models' estimate by the
// sample, the check that the sample's labels are spread as the base's, and the intervals and
// tail probabilities they use.
import type { Evaluation, EvaluationSize } from '../artefacts.ts';

/** Below this p-value the known customers' labels are spread too unlike the base's to be taken for a random sample of it (Evaluation.sampleCheck). */
export const SAMPLE_CHECK_P = 0.001;

/** P(X >= x) for X chi-square with `df` degrees of freedom (the regularised upper incomplete gamma Q(df/2, x/2)). */
export function chiSquareTail(x: number, df: number): number {
  if (x <= 0) return 1;
  const a = df / 2;
  const z = x / 2;
  const logFront = a * Math.log(z) - z - logGamma(a);
  if (z < a + 1) {
    // The series of the lower function P, then Q = 1 - P.
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000 && Math.abs(term) > Math.abs(sum) * 1e-15; n++) {
      term *= z / (a + n);
      sum += term;
    }
    return Math.max(0, 1 - sum * Math.exp(logFront));
  }
  // Q's continued fraction (modified Lentz).
  let b = z + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(logFront) * h);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7). */
function logGamma(x: number): number {
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = g[0];
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += g[i] / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Each persona's size in the base from a random sample of known customers: the models' estimate
 * (the mean probability over the base) corrected by the sample's mean gap between membership and
 * probability, a difference estimator (prediction-powered inference, Angelopoulos et al. 2023),
 * unbiased whatever the probabilities' errors, with a 95 % normal interval narrowed by the share
 * of the base the sample is (a census has none); beside it the sample's own share with its Wilson
 * interval, which does not use the models.
 */
export function correctedSizes(
  gaps: { persona: string; estimated: number | null; sum: number; squares: number; members: number }[],
  sample: number,
  base: number,
): EvaluationSize[] {
  const finite = 1 - Math.min(1, sample / Math.max(base, 1));
  return gaps.flatMap((g) => {
    if (g.estimated === null || sample === 0) return [];
    const mean = g.sum / sample;
    const variance = sample > 1 ? Math.max(0, (g.squares - sample * mean * mean) / (sample - 1)) : Infinity;
    const half = 1.96 * Math.sqrt((variance / sample) * finite);
    const corrected = g.estimated + mean;
    const clamp = (v: number) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : v > 0 ? 1 : 0);
    return [{ persona: g.persona, estimated: g.estimated, corrected: clamp(corrected), interval: [clamp(corrected - half), clamp(corrected + half)] as [number, number], sampleShare: g.members / sample, sampleInterval: wilson(g.members, sample) }];
  });
}

/**
 * Whether the sample's labels (customers per assigned persona, unassigned last) are spread as the
 * base's are: Pearson's chi-square against the base's shares. A random sample of the base passes
 * but for one time in 1 / SAMPLE_CHECK_P; interviewees chosen for their profile rarely do.
 */
export function sampleCheck(sampleLabels: number[], baseLabels: number[]): { statistic: number; df: number; p: number; random: boolean } {
  const n = sampleLabels.reduce((a, b) => a + b, 0);
  const total = baseLabels.reduce((a, b) => a + b, 0);
  let statistic = 0;
  let cells = 0;
  sampleLabels.forEach((observed, k) => {
    if (baseLabels[k] <= 0 || total <= 0) return;
    const expected = (n * baseLabels[k]) / total;
    statistic += ((observed - expected) * (observed - expected)) / expected;
    cells++;
  });
  const df = Math.max(1, cells - 1);
  const p = chiSquareTail(statistic, df);
  return { statistic, df, p, random: p >= SAMPLE_CHECK_P };
}

/** The 95 % Wilson interval of `k` successes out of `n`. */
export function wilson(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** A p-value as said: `= 0.012`, `= 3.1e-79`, `< 1e-300` (beyond a double's reach). */
export function formatP(p: number): string {
  return p < 1e-300 ? '< 1e-300' : p < 0.001 ? `= ${p.toExponential(1)}` : `= ${p.toFixed(3)}`;
}

/** What a failed sample check says (Evaluation.sampleCheck). */
export function sampleWarning(check: NonNullable<Evaluation['sampleCheck']>): string {
  return `the known customers' labels are spread unlike the base's (chi-square ${check.statistic.toFixed(1)} on ${check.df} degrees of freedom, p ${formatP(check.p)}): they do not look drawn at random from it, and the corrected sizes hold only if they were`;
}
