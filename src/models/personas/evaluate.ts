// A run's labels checked against customers whose persona is known (personas evaluate): per
// persona, how many of the known members it assigned, how many of those it assigned were right,
// with a 95 % interval, set against the precision the run expected; and which known persona went
// to which label. What a consultant shows before the client trusts the sizes, and what a data
// scientist compares versions by when the base has no truth.
import { InputError } from '../../errors.ts';
import type { KnownRow } from '../../features/known.ts';
import type { Evaluation, EvaluationPersona, EvaluationSize, Manifest, Quantification, RunMetrics } from '../artefacts.ts';

/** Values of the persona column that say the customer is known to be none of the personas. */
export const NONE_WORDS = ['none', 'aucun', 'aucune', 'aucun persona', 'no persona', 'other', 'autre', 'unassigned', 'non assigné', '-'];

/** Bins of confidence the assigned known customers are counted in (evaluation.calibration). */
export const CONFIDENCE_BINS = 10;

/** A persona assigned to fewer known customers than this: its observed precision is too loose to judge the expected one by. */
export const FEW_ASSIGNED = 10;

/** One known customer's label in the run: its persona (null: unassigned) and its probability for each persona. */
export interface RunLabel {
  persona: string | null;
  scores: number[];
}

/**
 * The key an id is matched by when it is not found as written (the feature pipeline's
 * matchReformattedIds, in JavaScript): a numeric id without its leading zeros and a trailing
 * ".0" (`42` or `42.0` for `00042`: a spreadsheet read the ids as numbers), any other id in
 * lower case (`jean.dupont@mail.fr` for `Jean.Dupont@Mail.fr`).
 */
export function idKey(id: string): string {
  // ASCII letters only, as lower() under the store's C collation.
  return /^[0-9]+(\.0+)?$/.test(id) ? `n:${id.replace(/\.0+$/, '').replace(/^0+/, '')}` : `l:${id.replace(/[A-Z]/g, (c) => c.toLowerCase())}`;
}

/**
 * Where a model's labels come from: `exact`, the labels of the ids asked (each with its scores in
 * the persona order asked); `byKey`, for the keys asked (idKey), every id of the model with that
 * key and its label.
 */
export interface LabelSource {
  exact(ids: string[], personaIds: string[]): Promise<Map<string, RunLabel>>;
  byKey(keys: string[], personaIds: string[]): Promise<Map<string, { id: string; label: RunLabel }[]>>;
}

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

const folded = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').trim().toLowerCase();

/**
 * The known customers as persona ids (null: known to be none), from the file's rows: a persona is
 * written as its id or its label (any case, accents or not), none as one of NONE_WORDS. Rows
 * without a persona are left out and counted (or, with `empty` 'none', read as none, as the
 * benchmark's and the demo's truth.csv write it); an unknown value, an empty id, or a customer
 * given two personas stops with the lines.
 */
export function knownPersonas(
  rows: KnownRow[],
  personas: readonly { id: string; label: string }[],
  file: string,
  /** What an empty persona says: nothing (the row is left out), or that the customer is none of the personas. */
  empty: 'skip' | 'none' = 'skip',
): { known: Map<string, string | null>; empty: number; repeated: number } {
  const byWord = new Map<string, string | null>();
  for (const w of NONE_WORDS) byWord.set(folded(w), null);
  for (const p of personas) {
    byWord.set(folded(p.id), p.id);
    byWord.set(folded(p.label), p.id);
  }
  const known = new Map<string, string | null>();
  const lineOf = new Map<string, number>();
  const unknown: KnownRow[] = [];
  let skipped = 0;
  let repeated = 0;
  for (const row of rows) {
    if (!row.customerId) throw new InputError('INPUT_INVALID', `${file}: line ${row.line}, column customer_id: empty (every row names a customer)`, { file, line: row.line, column: 'customer_id' });
    if (!row.value && empty === 'skip') {
      skipped++;
      continue;
    }
    const persona = row.value ? byWord.get(folded(row.value)) : null;
    if (persona === undefined) {
      unknown.push(row);
      continue;
    }
    const before = known.get(row.customerId);
    if (before !== undefined) {
      if (before !== persona) {
        throw new InputError('INPUT_INVALID', `${file}: customer '${row.customerId}' is given two personas: ${before ?? 'none'} (line ${lineOf.get(row.customerId)}) and ${persona ?? 'none'} (line ${row.line})`, { file, line: row.line, column: 'persona' });
      }
      repeated++;
      continue;
    }
    known.set(row.customerId, persona);
    lineOf.set(row.customerId, row.line);
  }
  if (unknown.length) {
    const shown = unknown.slice(0, 5).map((r) => `line ${r.line} '${r.value}'`).join(', ');
    throw new InputError(
      'INPUT_INVALID',
      `${file}: column persona: ${unknown.length} value(s) name no persona of the run (${shown}${unknown.length > 5 ? ', ...' : ''}); expected a persona's id or label (${personas.map((p) => `${p.id} "${p.label}"`).join(', ')}) or none (${NONE_WORDS.slice(0, 3).join(', ')}...)`,
      { file, line: unknown[0].line, column: 'persona' },
    );
  }
  if (!known.size) throw new InputError('INPUT_INVALID', `${file}: no row gives a customer's persona (${skipped} row(s) with the persona column empty; --empty none reads those as none of the personas)`, { file, column: 'persona' });
  return { known, empty: skipped, repeated };
}

/**
 * Evaluates a run's labels (`labelOf`: a known customer's label, undefined when the run has no
 * such customer) against the known personas. `personas`: the run's personas in its score order,
 * each with the precision the run expected of it.
 */
export function evaluateKnown(
  known: Map<string, string | null>,
  labelOf: (id: string) => RunLabel | undefined,
  personas: readonly { id: string; expectedPrecision: number | null }[],
  meta: {
    file: string;
    modelVersion: string;
    empty: number;
    repeated: number;
    reformatted?: number;
    /**
     * Given when the known customers were drawn at random from the base: its customers, each
     * persona's estimated prevalence (in `personas`' order; null: not trained) and its customers
     * per label (the personas', then the unassigned): the sizes are then corrected by the sample.
     */
    base?: { customers: number; prevalence: (number | null)[]; labels: number[] };
  },
): Evaluation {
  const notInRun: string[] = [];
  const pairs = new Map<string, number>();
  const perPersona = personas.map(() => ({ known: 0, assigned: 0, correct: 0, probability: 0 }));
  const index = new Map(personas.map((p, k) => [p.id, k]));
  let matched = 0;
  let assigned = 0;
  let correct = 0;
  // The assigned known customers by their confidence (the assigned persona's probability), a tenth at a time.
  const bins = Array.from({ length: CONFIDENCE_BINS }, () => ({ customers: 0, confidence: 0, right: 0 }));
  // Per persona, the sum of (member - probability) and of its squares, and the members (correctedSizes); the labels of the sample.
  const gaps = personas.map((p) => ({ persona: p.id, estimated: null as number | null, sum: 0, squares: 0, members: 0 }));
  const sampleLabels = new Array<number>(personas.length + 1).fill(0);
  for (const [id, truth] of known) {
    const label = labelOf(id);
    if (!label) {
      notInRun.push(id);
      continue;
    }
    matched++;
    personas.forEach((p, k) => {
      const member = truth === p.id ? 1 : 0;
      const gap = member - (Number.isFinite(label.scores[k]) ? label.scores[k] : 0);
      gaps[k].sum += gap;
      gaps[k].squares += gap * gap;
      gaps[k].members += member;
    });
    sampleLabels[label.persona === null ? personas.length : (index.get(label.persona) ?? personas.length)]++;
    const key = JSON.stringify([truth, label.persona]);
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
    if (truth !== null && index.has(truth)) perPersona[index.get(truth)!].known++;
    label.scores.forEach((s, k) => (perPersona[k].probability += Number.isFinite(s) ? s : 0));
    if (label.persona === null) continue;
    assigned++;
    const k = index.get(label.persona);
    if (k === undefined) continue;
    perPersona[k].assigned++;
    const confidence = label.scores[k];
    const bin = Number.isFinite(confidence) ? bins[Math.min(CONFIDENCE_BINS - 1, Math.max(0, Math.floor(confidence * CONFIDENCE_BINS)))] : undefined;
    if (bin) {
      bin.customers++;
      bin.confidence += confidence;
    }
    if (label.persona === truth) {
      perPersona[k].correct++;
      correct++;
      if (bin) bin.right++;
    }
  }
  if (!matched) {
    throw new InputError('INPUT_INVALID', `${meta.file}: none of its ${known.size} customers is in the run's assignment file (${notInRun.slice(0, 3).map((id) => `'${id}'`).join(', ')}${notInRun.length > 3 ? ', ...' : ''}): ids written otherwise, or another base?`, { file: meta.file, column: 'customer_id' });
  }
  const rows: EvaluationPersona[] = personas.map((p, k) => {
    const c = perPersona[k];
    const precision = c.assigned ? c.correct / c.assigned : null;
    const recall = c.known ? c.correct / c.known : null;
    const interval = c.assigned ? wilson(c.correct, c.assigned) : null;
    const verdict: EvaluationPersona['verdict'] =
      c.assigned < FEW_ASSIGNED || p.expectedPrecision === null || !interval ? 'too few' : p.expectedPrecision > interval[1] ? 'optimistic' : p.expectedPrecision < interval[0] ? 'pessimistic' : 'consistent';
    return {
      persona: p.id,
      known: c.known,
      assigned: c.assigned,
      correct: c.correct,
      precision,
      precisionInterval: interval,
      expectedPrecision: p.expectedPrecision,
      recall,
      f1: precision !== null && recall !== null && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : precision !== null && recall !== null ? 0 : null,
      knownShare: c.known / matched,
      meanProbability: c.probability / matched,
      verdict,
    };
  });
  // Macro-F1 over the personas some known customer belongs to (0 for one of them never assigned right).
  const judged = rows.filter((r) => r.known > 0);
  const macroF1 = judged.length ? judged.reduce((s, r) => s + (r.f1 ?? 0), 0) / judged.length : null;
  const confusion = [...pairs].map(([key, customers]) => {
    const [k, a] = JSON.parse(key) as [string | null, string | null];
    return { known: k, assigned: a, customers };
  });
  confusion.sort((x, y) => y.customers - x.customers || String(x.known).localeCompare(String(y.known)) || String(x.assigned).localeCompare(String(y.assigned)));
  const base = meta.base;
  if (base) base.prevalence.forEach((v, k) => (gaps[k].estimated = v));
  return {
    file: meta.file,
    modelVersion: meta.modelVersion,
    customers: known.size,
    matched,
    notInRun: notInRun.length,
    notInRunIds: notInRun.slice(0, 10),
    emptyRows: meta.empty,
    repeatedRows: meta.repeated,
    reformattedIds: meta.reformatted ?? 0,
    knownNone: [...known.values()].filter((v) => v === null).length,
    assigned,
    correct,
    coverage: assigned / matched,
    precision: assigned ? correct / assigned : null,
    macroF1,
    personas: rows,
    confusion,
    calibration: bins.flatMap((b, k) =>
      b.customers ? [{ from: k / CONFIDENCE_BINS, to: (k + 1) / CONFIDENCE_BINS, customers: b.customers, meanConfidence: b.confidence / b.customers, right: b.right / b.customers }] : [],
    ),
    randomSample: base !== undefined,
    sizes: base ? correctedSizes(gaps, matched, base.customers) : [],
    sampleCheck: base ? sampleCheck(sampleLabels, base.labels) : null,
  };
}

/**
 * Evaluates the labels of a model (its manifest and metrics; `labelsOf`: where its labels come
 * from) against the rows of a known-personas file. A known id the model does not hold as written
 * is matched to the one customer it names written alike (idKey), and counted.
 */
export async function evaluateRows(
  rows: KnownRow[],
  manifest: Pick<Manifest, 'modelVersion' | 'personas'>,
  metrics: Pick<RunMetrics, 'personas'>,
  source: { file: string; empty?: 'skip' | 'none'; randomSample?: boolean },
  labelsOf: LabelSource,
  /** The model's quantification: with `source.randomSample`, the sizes it estimated are corrected by the known customers. */
  quantification?: Pick<Quantification, 'customers' | 'personas'>,
): Promise<Evaluation> {
  const { known, empty, repeated } = knownPersonas(rows, manifest.personas, source.file, source.empty);
  const ids = manifest.personas.map((p) => p.id);
  const labels = await labelsOf.exact([...known.keys()], ids);
  // An id not found as written: the one customer of the model it names once written alike (a known file saved by a spreadsheet).
  const missing = [...known.keys()].filter((id) => !labels.has(id));
  let reformatted = 0;
  if (missing.length) {
    const found = await labelsOf.byKey([...new Set(missing.map(idKey))], ids);
    for (const id of missing) {
      const candidates = found.get(idKey(id)) ?? [];
      if (candidates.length !== 1) continue;
      labels.set(id, candidates[0].label);
      reformatted++;
    }
  }
  const expected = new Map(metrics.personas.map((p) => [p.persona, p.status === 'trained' ? p.expectedPrecision : null]));
  let base: { customers: number; prevalence: (number | null)[]; labels: number[] } | undefined;
  if (source.randomSample) {
    if (!quantification) throw new Error('evaluateRows: a random sample needs the model quantification to correct');
    const row = (id: string | null) => quantification.personas.find((r) => r.persona === id);
    base = {
      customers: quantification.customers,
      prevalence: ids.map((id) => row(id)?.estimatedPrevalence ?? null),
      labels: [...ids.map((id) => row(id)?.customers ?? 0), row(null)?.customers ?? 0],
    };
  }
  return evaluateKnown(
    known,
    (id) => labels.get(id),
    ids.map((id) => ({ id, expectedPrecision: expected.get(id) ?? null })),
    { file: source.file, modelVersion: manifest.modelVersion, empty, repeated, reformatted, base },
  );
}

/** A p-value as said: `= 0.012`, `= 3.1e-79`, `< 1e-300` (beyond a double's reach). */
export function formatP(p: number): string {
  return p < 1e-300 ? '< 1e-300' : p < 0.001 ? `= ${p.toExponential(1)}` : `= ${p.toFixed(3)}`;
}

/** What a failed sample check says (Evaluation.sampleCheck). */
export function sampleWarning(check: NonNullable<Evaluation['sampleCheck']>): string {
  return `the known customers' labels are spread unlike the base's (chi-square ${check.statistic.toFixed(1)} on ${check.df} degrees of freedom, p ${formatP(check.p)}): they do not look drawn at random from it, and the corrected sizes hold only if they were`;
}

/** An evaluation in one line, for a run's log. */
export function evaluationLine(e: Evaluation): string {
  const sizes = e.sizes.length ? `; each persona's size corrected by them (a random sample)${e.sampleCheck && !e.sampleCheck.random ? `, but ${sampleWarning(e.sampleCheck)}` : ''}` : '';
  return `checked against ${e.matched} known customers (${e.file}): ${e.assigned} assigned, ${e.precision === null ? '-' : `${(100 * e.precision).toFixed(1)} %`} of them rightly, macro-F1 ${e.macroF1?.toFixed(3) ?? '-'}${sizes}`;
}
