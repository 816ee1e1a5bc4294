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
 * One persona's gaps between membership (1 or 0) and probability over the known customers, summed
 * per stratum: the label the run gave them, each persona's in order, then the unassigned.
 */
export interface PersonaGaps {
  persona: string;
  /** Its size as the models estimate it (quantification's estimatedPrevalence); null: not trained. */
  estimated: number | null;
  /** Known customers who are its members. */
  members: number;
  sum: number[];
  squares: number[];
}

/**
 * Each persona's size in the base from a random sample of known customers: the models' estimate
 * (the mean probability over the base) corrected by the sample's mean gap between membership and
 * probability, a difference estimator (prediction-powered inference, Angelopoulos et al. 2023),
 * unbiased whatever the probabilities' errors. The gaps are averaged per label the run gave (its
 * share of the base known exactly) and then weighed by those shares (post-stratification): as
 * good as the plain mean for a random sample, and still right when those who answer a survey do
 * so at a rate that depends on their label (assigned customers answering twice as often as the
 * unassigned: a size error of 0.034 against the plain mean's 0.044 on the benchmark world). A
 * label no known customer has gets no correction (its share is Evaluation.sampleCheck.unsampled).
 * The 95 % normal interval adds each label's variance, narrowed by the share of it the sample
 * holds (a census has none; a label with one known customer takes the whole sample's variance).
 * Beside it the sample's own share with its Wilson interval, which does not use the models.
 */
export function correctedSizes(gaps: PersonaGaps[], strata: { sample: number[]; base: number[] }): EvaluationSize[] {
  const n = strata.sample.reduce((a, b) => a + b, 0);
  const total = strata.base.reduce((a, b) => a + b, 0);
  const clamp = (v: number) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : v > 0 ? 1 : 0);
  return gaps.flatMap((g) => {
    if (g.estimated === null || n === 0 || total === 0) return [];
    const sum = g.sum.reduce((a, b) => a + b, 0);
    const squares = g.squares.reduce((a, b) => a + b, 0);
    const pooled = n > 1 ? Math.max(0, (squares - (sum * sum) / n) / (n - 1)) : Infinity;
    let correction = 0;
    let variance = 0;
    strata.sample.forEach((nh, h) => {
      const Nh = strata.base[h];
      if (nh === 0 || Nh <= 0) return;
      const w = Nh / total;
      const mean = g.sum[h] / nh;
      const vh = nh > 1 ? Math.max(0, (g.squares[h] - nh * mean * mean) / (nh - 1)) : pooled;
      correction += w * mean;
      variance += ((w * w * vh) / nh) * Math.max(0, 1 - nh / Nh);
    });
    const corrected = g.estimated + correction;
    const half = 1.96 * Math.sqrt(variance);
    return [{ persona: g.persona, estimated: g.estimated, corrected: clamp(corrected), interval: [clamp(corrected - half), clamp(corrected + half)] as [number, number], sampleShare: g.members / n, sampleInterval: wilson(g.members, n) }];
  });
}

/**
 * Whether the sample's labels (customers per assigned persona, unassigned last) are spread as the
 * base's are: Pearson's chi-square against the base's shares. A random sample of the base passes
 * but for one time in 1 / SAMPLE_CHECK_P; interviewees chosen for their profile rarely do.
 */
export function sampleCheck(sampleLabels: number[], baseLabels: number[]): { statistic: number; df: number; p: number; random: boolean; unsampled: number } {
  const n = sampleLabels.reduce((a, b) => a + b, 0);
  const total = baseLabels.reduce((a, b) => a + b, 0);
  let statistic = 0;
  let cells = 0;
  let unsampled = 0;
  sampleLabels.forEach((observed, k) => {
    if (observed === 0 && total > 0) unsampled += baseLabels[k] / total;
    if (baseLabels[k] <= 0 || total <= 0) return;
    const expected = (n * baseLabels[k]) / total;
    statistic += ((observed - expected) * (observed - expected)) / expected;
    cells++;
  });
  const df = Math.max(1, cells - 1);
  const p = chiSquareTail(statistic, df);
  return { statistic, df, p, random: p >= SAMPLE_CHECK_P, unsampled };
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

/** A survey's expected precision for one persona: the 95 % half-width of its corrected size. */
export interface PlannedWidth {
  persona: string;
  halfWidth: number;
}

/**
 * How precise a survey of the base would make each persona's corrected size, before it is drawn:
 * the base's customers added one at a time with their label and probabilities, then the expected
 * 95 % half-width of the difference estimator (correctedSizes) for n answers drawn at random, and
 * the fewest answers that bring every persona within a half-width. Within each label the variance
 * of (membership - probability) is taken as the mean of p (1 - p), what it is where the
 * probabilities are calibrated; where they are overconfident the real intervals come out wider
 * (on the benchmark worlds, by a tenth on average and up to 45 % for one persona: BENCHMARKS.md,
 * session 39). The answers are what counts: invite more customers than that for those who do not
 * answer.
 */
export class SurveyPlanner {
  private readonly strata = new Map<string, { customers: number; spread: Float64Array }>();
  private total = 0;

  constructor(readonly personas: readonly string[]) {}

  /** A customer of the base: its label (a persona, or null for unassigned) and its probability of each persona (null: none). */
  add(label: string | null, probabilities: readonly (number | null)[]): void {
    const key = label ?? '';
    let s = this.strata.get(key);
    if (!s) this.strata.set(key, (s = { customers: 0, spread: new Float64Array(this.personas.length) }));
    s.customers++;
    this.total++;
    probabilities.forEach((p, k) => {
      if (p !== null && Number.isFinite(p)) s.spread[k] += p * (1 - p);
    });
  }

  /** The customers added. */
  get customers(): number {
    return this.total;
  }

  /** Per persona, sum over labels of (label's share of the base) x (mean p (1 - p) in it). */
  private variances(): number[] {
    return this.personas.map((_, k) => [...this.strata.values()].reduce((v, s) => v + (s.customers / this.total) * (s.spread[k] / s.customers), 0));
  }

  /** Each persona's expected 95 % half-width with `answers` customers answering. */
  halfWidths(answers: number): PlannedWidth[] {
    const fpc = this.total > 0 ? Math.max(0, 1 - answers / this.total) : 0;
    return this.variances().map((v, k) => ({ persona: this.personas[k], halfWidth: answers > 0 ? 1.96 * Math.sqrt((v / answers) * fpc) : Infinity }));
  }

  /** The fewest answers giving every persona an expected half-width of at most `halfWidth` (the whole base at most). */
  answersFor(halfWidth: number): number {
    const widest = Math.max(0, ...this.variances());
    if (widest === 0) return Math.min(1, this.total);
    // 1.96^2 v (1/n - 1/N) <= h^2
    const n = Math.ceil(1 / ((halfWidth * halfWidth) / (1.96 * 1.96 * widest) + 1 / this.total) - 1e-9);
    return Math.min(this.total, Math.max(1, n));
  }
}
