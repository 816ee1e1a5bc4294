// A run's labels checked against customers whose persona is known (personas evaluate): per
// persona, how many of the known members it assigned, how many of those it assigned were right,
// with a 95 % interval, set against the precision the run expected; and which known persona went
// to which label; when the known customers were drawn at random (a survey), each persona's size
// corrected by them (survey.ts). What a consultant shows before the client trusts the sizes, and
// what a data scientist compares versions by when the base has no truth.
import { InputError } from '../../errors.ts';
import type { KnownRow } from '../../features/known.ts';
import type { Evaluation, EvaluationPersona, Manifest, Quantification, RunMetrics } from '../artefacts.ts';
import { correctedSizes, sampleCheck, sampleWarning, wilson, type PersonaGaps } from './survey.ts';

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
    /** The known customers the models also learnt from as seeds (the manifest's knownSeeds), if any. */
    learntFrom?: { file: string; customers: number } | null;
    /**
     * Given when the known customers were drawn at random from the base: each persona's estimated
     * prevalence (in `personas`' order; null: not trained) and the base's customers per label (the
     * personas', then the unassigned): the sizes are then corrected by the sample.
     */
    base?: { prevalence: (number | null)[]; labels: number[] };
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
  // Per persona and label of the run (the strata: the personas', then the unassigned), the sum of
  // (member - probability) and of its squares, and the members (correctedSizes); the sample per label.
  const strata = personas.length + 1;
  const gaps: PersonaGaps[] = personas.map((p) => ({ persona: p.id, estimated: null, members: 0, sum: new Array<number>(strata).fill(0), squares: new Array<number>(strata).fill(0) }));
  const sampleLabels = new Array<number>(strata).fill(0);
  for (const [id, truth] of known) {
    const label = labelOf(id);
    if (!label) {
      notInRun.push(id);
      continue;
    }
    matched++;
    const stratum = label.persona === null ? personas.length : (index.get(label.persona) ?? personas.length);
    sampleLabels[stratum]++;
    personas.forEach((p, k) => {
      const member = truth === p.id ? 1 : 0;
      const gap = member - (Number.isFinite(label.scores[k]) ? label.scores[k] : 0);
      gaps[k].sum[stratum] += gap;
      gaps[k].squares[stratum] += gap * gap;
      gaps[k].members += member;
    });
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
    learntFrom: meta.learntFrom ?? null,
    sizes: base ? correctedSizes(gaps, { sample: sampleLabels, base: base.labels }) : [],
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
  manifest: Pick<Manifest, 'modelVersion' | 'personas'> & { learner?: Pick<Manifest['learner'], 'params'> },
  metrics: Pick<RunMetrics, 'personas'>,
  source: { file: string; empty?: 'skip' | 'none'; randomSample?: boolean },
  labelsOf: LabelSource,
  /** The model's quantification: with `source.randomSample`, the sizes it estimated are corrected by the known customers. */
  quantification?: Pick<Quantification, 'personas'>,
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
  let base: { prevalence: (number | null)[]; labels: number[] } | undefined;
  if (source.randomSample) {
    if (!quantification) throw new Error('evaluateRows: a random sample needs the model quantification to correct');
    const row = (id: string | null) => quantification.personas.find((r) => r.persona === id);
    base = {
      prevalence: ids.map((id) => row(id)?.estimatedPrevalence ?? null),
      labels: [...ids.map((id) => row(id)?.customers ?? 0), row(null)?.customers ?? 0],
    };
  }
  return evaluateKnown(
    known,
    (id) => labels.get(id),
    ids.map((id) => ({ id, expectedPrecision: expected.get(id) ?? null })),
    { file: source.file, modelVersion: manifest.modelVersion, empty, repeated, reformatted, base, learntFrom: knownSeedsOf(manifest.learner?.params) },
  );
}

/** The known customers a model learnt from as seeds, from its manifest's learner parameters (project.ts); null when none. */
export function knownSeedsOf(params: Record<string, unknown> | undefined): { file: string; customers: number } | null {
  const k = params?.knownSeeds as { file?: unknown; customers?: unknown } | undefined;
  return k && typeof k.file === 'string' && typeof k.customers === 'number' ? { file: k.file, customers: k.customers } : null;
}

/** An evaluation in one line, for a run's log. */
export function evaluationLine(e: Evaluation): string {
  const sizes = e.sizes.length ? `; each persona's size corrected by them (a random sample)${e.sampleCheck && !e.sampleCheck.random ? `, but ${sampleWarning(e.sampleCheck)}` : ''}` : '';
  const learnt = e.learntFrom ? `; the models learnt from ${e.learntFrom.customers} known customers of ${e.learntFrom.file} as seeds, each labelled by the fold models that did not learn from it` : '';
  return `checked against ${e.matched} known customers (${e.file}): ${e.assigned} assigned, ${e.precision === null ? '-' : `${(100 * e.precision).toFixed(1)} %`} of them rightly, macro-F1 ${e.macroF1?.toFixed(3) ?? '-'}${sizes}${learnt}`;
}
