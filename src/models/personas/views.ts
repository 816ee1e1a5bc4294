// Condition views: one more model per top-level condition of a persona's `all` rule. The seeds
// pick customers by the rule's own features, so the persona's model may not see them (it would
// re-learn the rule), and what they say about membership is lost to it. The view of condition a
// gets it back: it learns the customers who pass every *other* condition against the rest, seeing
// only a's features (and their correlates, never another condition's). Among a persona's members
// the rule's conditions are close to independent of one another (measured on the benchmark
// worlds, pairwise lift 0.94 to 1.15), so those positives were not chosen by a's features: the
// view's score is a line in P(member | a's features), whose floor (its lowest score) and mean (the
// prevalence) fix it (views-model.ts). The persona's probability is then its own model's plus each
// view's evidence, as naive Bayes adds the evidence of independent blocks, tempered by a weight
// (the views' blocks are not wholly independent of the persona model's columns, and full weight
// counts their evidence twice): `weight` for a view whose condition goes with the rest only through
// membership, less for one whose condition goes with the other conditions, or with the persona
// model's score, even among the customers least like the persona (viewWeight). Measured on the 100k benchmark worlds (BENCHMARKS.md,
// persona projection, session 13): macro-F1 0.66 to 0.67 at precision 0.85 to 0.86, coverage 0.41
// to 0.42, where the views of sessions 10 to 12 (every feature but the other conditions', pooled by
// a geometric mean) gave 0.586 to 0.594, 0.858 to 0.868 and 0.344 to 0.355. On by default
// (TRAIN_DEFAULTS), `--no-views` goes without. The size estimate is the mean combined probability.
import { ModelError } from '../../errors.ts';
import type { FeatureTable } from '../../features/table.ts';
import type { Rule } from './file.ts';
import type { DesignMatrix } from './design.ts';
import { evaluateRule } from './rules.ts';
import { dependentViews, personaRelearning, RELEARNING_LIMIT, VIEW_DEPENDENCE_LIMIT } from '../artefacts.ts';
import { bagLearner, trainPersonas, weightedAuc, type PersonaModel, type TrainOptions, type ViewOptions } from './train.ts';
import { combineViewEvidence, ConditionViewsModel, type ViewScale } from './views-model.ts';

export interface ConditionView {
  /** The condition left out, as a path in the persona file. */
  condition: string;
  /** Customers passing every other top-level condition. */
  seedMask: Uint8Array;
  seeds: number;
  /** Features of the condition left out: the view's model sees them and their correlates. */
  features: string[];
  /** Features of the other conditions: the ones the view's model does not see. */
  ruleFeatures: string[];
  /** Customers passing the condition itself. */
  conditionMask: Uint8Array;
  /**
   * Customers for whom the other conditions are undecided (missing values: evaluateRule's
   * `unknown`): never the view's positives, whatever persona they are (viewGate).
   */
  blocked: Uint8Array;
}

/** A view's trained part and what the metrics report of it. */
export interface TrainedView {
  condition: string;
  seeds: number;
  /** The view's positives (customers passing the other conditions). */
  seedMask: Uint8Array;
  /** The features the condition reads. */
  features: string[];
  /** Customers passing the condition itself. */
  conditionMask: Uint8Array;
  /** Customers for whom the other conditions are undecided (ConditionView). */
  blocked: Uint8Array;
  model: PersonaModel;
}

/**
 * A view's condition as the run's log names it: the features it reads, then its place in the
 * persona's rule (`share_cat_gifts (key_drivers.all[1])`); the place alone for a view of no feature.
 */
export function viewName(v: { condition: string; features?: readonly string[] }): string {
  const place = v.condition.replace(/^personas\[\d+\]\./, '');
  return v.features?.length ? `${v.features.join(' + ')} (${place})` : place;
}

/** A log line per view of the persona above VIEW_DEPENDENCE_LIMIT, saying what it means. */
export function viewDependenceWarnings(m: Pick<PersonaModel, 'id' | 'views'>): string[] {
  return dependentViews(m.views).map(
    (v) =>
      `${m.id}: condition ${viewName(v)} goes with the others even among the customers least like the persona (dependence ${v.dependence!.toFixed(2)}, above ${VIEW_DEPENDENCE_LIMIT}): its evidence is partly counted twice${typeof v.weight === 'number' ? ` (its weight is lowered to ${v.weight.toFixed(2)} for that)` : ''}, so fewer of this persona's assigned customers may be right than its expected precision says`,
  );
}

/**
 * What the run's log says of a persona's views once they are combined: each view's weight, with its
 * dependence and relearning, then viewDependenceWarnings. Nothing for a persona without views.
 */
export function viewLogLines(m: Pick<PersonaModel, 'id' | 'views'> & { baseWeight?: number }): string[] {
  if (!m.views?.length) return [];
  const auc = (v: number | null) => (v === null ? '-' : v.toFixed(2));
  const each = m.views.map((v) => `${viewName(v)} ${v.weight.toFixed(2)} (dependence ${auc(v.dependence)}, relearning ${auc(v.relearning)}${v.gated ? `; silent on ${v.gated} customers for whom the other conditions are undecided` : ''})`);
  const relearning = personaRelearning(m.views);
  // Under strict precision the temper answers the warning: the line says what it did instead.
  const rebuilt =
    relearning !== null && relearning > RELEARNING_LIMIT && m.baseWeight === undefined
      ? [`${m.id}: its model partly rebuilds the rule's conditions from other columns (relearning ${relearning.toFixed(2)}, above ${RELEARNING_LIMIT}): fewer of its assigned customers may be right than its expected precision says`]
      : [];
  const strict = m.baseWeight !== undefined ? [`${m.id}: strict precision: its model's own evidence counts ${m.baseWeight.toFixed(2)} (1 - its relearning)`] : [];
  return [`${m.id}: condition views' weights ${each.join(', ')}`, ...viewDependenceWarnings(m), ...rebuilt, ...strict];
}

/**
 * Strict precision's temper of the persona model's own evidence: 1 - its relearning (personaRelearning
 * of its views), at least 0.2; 1 when not measured. The relearning tells which personas'
 * probabilities are optimistic (RELEARNING_LIMIT); on the four benchmark worlds this temper makes
 * the assigned 0.888 to 0.900 right for an expected 0.90 (0.850 to 0.861 without), for coverage
 * 0.376 to 0.384 instead of 0.435 to 0.446 (BENCHMARKS.md, session 18).
 */
export function strictBaseWeight(views: readonly { relearning?: number | null }[]): number {
  const relearning = personaRelearning(views);
  return relearning === null ? 1 : Math.max(0.2, 1 - relearning);
}

/** The half of the customers the persona model scores lowest (almost no members there), by index. */
function leastLike(personaScores: Float64Array): number[] {
  const order = Array.from(personaScores.keys()).sort((a, b) => personaScores[a] - personaScores[b] || a - b);
  return order.slice(0, Math.floor(order.length / 2));
}

/**
 * How much a view's score tells its positives from the rest among the half of the customers the
 * persona's model scores lowest (where there are almost no members): its AUC there. About 0.5
 * when the view's condition goes with the others only through membership, as the combination
 * assumes; higher when it goes with them anyway. null when that half holds no positive or nothing else.
 */
export function viewDependence(personaScores: Float64Array, viewScores: Float64Array, positives: Uint8Array, low = leastLike(personaScores)): number | null {
  const auc = weightedAuc(Float64Array.from(low, (i) => viewScores[i]), Uint8Array.from(low, (i) => positives[i]));
  return Number.isNaN(auc) ? null : auc;
}

/**
 * How much the persona model re-learned a condition although it does not see its features: the
 * AUC of the persona model's score for the customers passing the condition, among the half of the
 * customers it scores lowest. About 0.5 when its columns tell the condition only through membership;
 * higher when they rebuild it (several of them together can: BENCHMARKS.md, session 15), and the
 * view's evidence is then partly the persona model's own. null when that half is all one way.
 */
export function viewRelearning(personaScores: Float64Array, conditionMask: Uint8Array, low = leastLike(personaScores)): number | null {
  const auc = weightedAuc(Float64Array.from(low, (i) => personaScores[i]), Uint8Array.from(low, (i) => conditionMask[i]));
  return Number.isNaN(auc) ? null : auc;
}

/**
 * A view's weight: `weight` times min(1, 2 (1 - a)), a the larger of its dependence and its
 * relearning (each 0.5 for a view whose evidence is its own; null counts as 0.5). A view at 0.75
 * counts half, one at 1 not at all. Measured on the benchmark worlds (BENCHMARKS.md, session 18).
 */
export function viewWeight(weight: number, dependence: number | null, relearning: number | null): number {
  const a = Math.max(dependence ?? 0.5, relearning ?? 0.5);
  return weight * Math.max(0, Math.min(1, 2 * (1 - a)));
}

/**
 * The views of a rule: one per top-level condition of an `all` of two or more (none for any other
 * rule). A view whose positives would be more than half the customers is left out (the other
 * conditions then say little about the persona, and too few customers are left to learn against).
 */
export function conditionViews(rule: Rule, table: FeatureTable, path = 'key_drivers'): ConditionView[] {
  if (!('all' in rule) || !Array.isArray(rule.all) || rule.all.length < 2) return [];
  const conditions = (rule.all as Rule[]).map((c, a) => evaluateRule(c, table, `${path}.all[${a}]`));
  const views: ConditionView[] = [];
  conditions.forEach((_, a) => {
    const others = conditions.filter((__, b) => b !== a);
    const seedMask = new Uint8Array(table.rows);
    const blocked = new Uint8Array(table.rows);
    let seeds = 0;
    for (let i = 0; i < table.rows; i++) {
      let trues = 0;
      let unknowns = 0;
      for (const o of others) {
        trues += o.mask[i];
        unknowns += o.unknown[i];
      }
      if (trues === others.length) {
        seedMask[i] = 1;
        seeds++;
      } else if (unknowns > 0 && trues + unknowns === others.length) blocked[i] = 1;
    }
    if (seeds > 0 && 2 * seeds <= table.rows) {
      views.push({ condition: `${path}.all[${a}]`, seedMask, seeds, features: conditions[a].features, ruleFeatures: [...new Set(others.flatMap((o) => o.features))], conditionMask: conditions[a].mask, blocked });
    }
  });
  return views;
}

/**
 * The views whose condition has a column in the design: a condition on a categorical feature none
 * of whose levels is common enough to be encoded (design.ts) leaves its view nothing to learn from.
 */
export function viewsWithColumns(views: ConditionView[], design: Pick<DesignMatrix, 'sources'>): ConditionView[] {
  return views.filter((v) => v.features.some((f) => design.sources.includes(f)));
}

/** The view options of a training, or null without views: boosted trees only (the kind they were measured with). */
export function viewsOf(opts: Pick<TrainOptions, 'views' | 'learner'>): ViewOptions | null {
  const v = opts.views;
  if (!v || opts.learner.kind !== 'gbdt') return null;
  const bad = (field: string, expected: string, value: unknown): never => {
    throw new ModelError('TRAINING_DATA_INVALID', `option views.${field} = ${value}: expected ${expected}`, { field: `views.${field}` });
  };
  if (!Number.isInteger(v.trees) || v.trees < 1) bad('trees', 'a whole number of 1 or more', v.trees);
  if (!Number.isInteger(v.folds) || v.folds < 2) bad('folds', 'a whole number of 2 or more', v.folds);
  if (!(v.weight > 0 && v.weight <= 1)) bad('weight', 'a number above 0, at most 1', v.weight);
  if (!(v.unlabeledPerSeed > 0)) bad('unlabeledPerSeed', 'a number above 0', v.unlabeledPerSeed);
  if (typeof v.scaleByDependence !== 'boolean') bad('scaleByDependence', 'true or false', v.scaleByDependence);
  if (v.strictPrecision !== undefined && typeof v.strictPrecision !== 'boolean') bad('strictPrecision', 'true or false', v.strictPrecision);
  if (v.bags !== undefined && (!Number.isInteger(v.bags) || v.bags < 1)) bad('bags', 'a whole number of 1 or more', v.bags);
  return v;
}

/** A view's trees: the views' own count, never more than the persona model's (a quick run with `--trees 10` stays quick). */
export function viewTrees(v: ViewOptions, params: Record<string, unknown>): number {
  return typeof params.numTrees === 'number' ? Math.min(v.trees, params.numTrees) : v.trees;
}

/** The view options as the manifest records them: with the trees each view was trained with (viewTrees), or null without views. */
export function viewsTrained(opts: Pick<TrainOptions, 'views' | 'learner'>): ViewOptions | null {
  const v = viewsOf(opts);
  return v && { ...v, trees: viewTrees(v, opts.learner.params) };
}

/**
 * Trains every view of every persona (one call, so the workers share them out): fold models for
 * out-of-fold probabilities and a final model each, no twins, in `v.bags` bags. `index` is the persona's
 * index among those trained, as trainPersonas takes it, so a persona trained alone (a batch job)
 * gets the same views as in `personas run`. A view learns at the rate of one of its persona
 * model's `bags` (bagLearner: 0.06 in ten bags with 'auto', where five learn at 0.03), with
 * viewTrees trees: measured so (BENCHMARKS.md, sessions 20 and 21); at 0.03 beside ten bags
 * coverage is 0.002 to 0.005 higher and precision 0.001 to 0.003 lower (world 2: 0.849). In three
 * bags of a third of the trees each (VIEW_DEFAULTS, session 23): coverage 0.001 to 0.005 higher at
 * the same precision (within 0.002) on the six 100k worlds, the same or better on the 20k ones.
 */
export async function trainConditionViews(
  design: DesignMatrix,
  personas: { id: string; index: number; bags?: number; views: ConditionView[] }[],
  opts: TrainOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<TrainedView[][]> {
  const v = viewsOf(opts);
  if (!v) return personas.map(() => []);
  const flat = personas.flatMap((p) =>
    p.views.map((view, a) => ({ p, view, input: { id: `${p.id} without ${view.condition}`, seedMask: view.seedMask, keepOnly: view.features, ruleFeatures: view.ruleFeatures, index: 1000 + 32 * p.index + a, learner: viewLearner(opts, v, p.bags) } })),
  );
  if (!flat.length) return personas.map(() => []);
  const models = await trainPersonas(
    design,
    flat.map((f) => f.input),
    { ...opts, folds: v.folds, unlabeledPerSeed: v.unlabeledPerSeed, bags: v.bags ?? 1, foldsOnly: false, views: null, learner: viewLearner(opts, v, undefined) },
    onProgress,
  );
  return personas.map((p) => flat.flatMap((f, k) => (f.p === p ? [{ condition: f.view.condition, seeds: f.view.seeds, seedMask: f.view.seedMask, features: f.view.features, conditionMask: f.view.conditionMask, blocked: f.view.blocked, model: models[k] }] : [])));
}

/**
 * A view's learner: the persona's, with viewTrees trees, at the rate of one of the persona model's
 * `bags` (if given); in the view's own bags (`v.bags`), each learns 1 / bags of those trees at bags
 * times that rate.
 */
function viewLearner(opts: TrainOptions, v: ViewOptions, personaBags: number | undefined): TrainOptions['learner'] {
  const base = personaBags === undefined ? opts.learner.params.learningRate : bagLearner(opts, personaBags).params.learningRate;
  const bags = v.bags ?? 1;
  const rate = typeof base === 'number' ? { learningRate: base * bags } : {};
  return { ...opts.learner, params: { ...opts.learner.params, numTrees: Math.max(1, Math.round(viewTrees(v, opts.learner.params) / bags)), ...rate } };
}

/**
 * The persona's model with its views: a `views` model over the union of the parts' columns (in
 * design order) and the combined out-of-fold probabilities (views-model.ts: the persona model's
 * probability plus each view's evidence, tempered by its weight: `options.weight`, lowered by
 * viewWeight unless `options.scaleByDependence` is false). Each view's scores are read against its
 * floor (lowest out-of-fold score) and mean over the base, and the persona's size estimate. The size
 * estimate becomes the mean combined probability; c, the out-of-fold scores, prevalenceC and the
 * validation figures stay the persona model's own.
 */
export function withViews(m: PersonaModel, views: TrainedView[], options: Pick<ViewOptions, 'weight' | 'scaleByDependence' | 'strictPrecision'>, designNames: string[]): PersonaModel {
  if (!views.length) return m;
  const used = new Set([...m.features, ...views.flatMap((v) => v.model.features)]);
  const features = designNames.filter((f) => used.has(f));
  const prevalence = Math.min(0.99, Math.max(0.001, m.prevalence));
  const low = leastLike(m.oofScores);
  const gates = views.map((v) => viewGate(v.model.oofScores, v.blocked));
  const measured = views.map((v, k) => {
    const gate = gates[k];
    // Dependence among the customers the view speaks of.
    const dependence = viewDependence(m.oofScores, v.model.oofScores, v.seedMask, gate === null ? low : low.filter((i) => v.model.oofScores[i] > gate));
    const relearning = viewRelearning(m.oofScores, v.conditionMask, low);
    let gated = 0;
    if (gate !== null) for (const s of v.model.oofScores) if (s <= gate) gated++;
    return { dependence, relearning, weight: options.scaleByDependence ? viewWeight(options.weight, dependence, relearning) : options.weight, gated };
  });
  const scales = views.map((v, k) => ({ ...scaleOf(v.model.oofScores, gates[k]), weight: measured[k].weight }));
  const baseWeight = options.strictPrecision ? strictBaseWeight(measured) : 1;
  const model = new ConditionViewsModel(
    features,
    { condition: 'key_drivers', model: m.model, c: m.c },
    views.map((v) => ({ condition: v.condition, model: v.model.model, c: v.model.c })),
    options.weight,
    { rule: 'evidence', prevalence, scales, ...(baseWeight !== 1 ? { baseWeight } : {}) },
  );
  const probabilities = combineViewEvidence(Float64Array.from(m.oofScores, (s) => s / m.c), views.map((v, k) => ({ scores: v.model.oofScores, ...scales[k] })), prevalence, 1, baseWeight);
  let sum = 0;
  for (const p of probabilities) sum += p;
  return {
    ...m,
    model,
    features,
    probabilities,
    // The size: the sum of the combined probabilities (measured closer to the truth than the persona model's own: BENCHMARKS.md, session 13).
    prevalence: sum / Math.max(1, probabilities.length),
    views: views.map((v, k) => ({ condition: v.condition, features: v.features, seeds: v.seeds, c: v.model.c, validationAuc: v.model.validationAuc, ...measured[k] })),
    ...(baseWeight !== 1 ? { baseWeight } : {}),
  };
}

/** A view's lowest and mean out-of-fold score over the base, above its gate (if any). */
function scaleOf(scores: Float64Array, gate: number | null): Omit<ViewScale, 'weight'> {
  let floor = Infinity;
  let sum = 0;
  let count = 0;
  for (const s of scores) {
    if (gate !== null && s <= gate) continue;
    if (s < floor) floor = s;
    sum += s;
    count++;
  }
  return { floor, mean: sum / Math.max(1, count), ...(gate !== null ? { gate } : {}) };
}

/** How well a view's scores must set its blocked customers apart (lowest) for it to be gated (viewGate). */
export const GATE_SEPARATION = 0.95;
/** The share of a gated view's blocked customers at or below its gate. */
export const GATE_QUANTILE = 0.99;

/**
 * Where a view says nothing. Its positives pass the other conditions, so a customer for whom they
 * cannot be decided (`blocked`: missing values, as the category shares of a customer without
 * purchases in the year) is never one, member or not; where the view's own features tell those
 * customers (they are missing too, or the purchase count is 0), it learns that they are never
 * positive, and its line reads that as "never a member". Measured on world 1 (BENCHMARKS.md,
 * session 23): 12 % of seasonal_gifter's members have no purchase in the year, and its three
 * views took its AUC from 0.947 to 0.922. So when the view's out-of-fold scores set the blocked
 * customers apart (AUC of their being lowest at least GATE_SEPARATION), its gate is the score
 * GATE_QUANTILE of them are at or below: at or below it the view adds no evidence, and its floor
 * and mean are taken above it. Null (no gate) when they are not set apart, as when they are
 * blocked by a missing value the view's features know nothing of, or when there are none.
 */
export function viewGate(scores: Float64Array, blocked: Uint8Array): number | null {
  let count = 0;
  for (const b of blocked) count += b;
  if (count === 0 || count === blocked.length) return null;
  const separation = weightedAuc(Float64Array.from(scores, (s) => -s), blocked);
  if (!(separation >= GATE_SEPARATION)) return null;
  const theirs = Float64Array.from(scores.filter((_, i) => blocked[i])).sort();
  const gate = theirs[Math.min(theirs.length - 1, Math.floor(GATE_QUANTILE * theirs.length))];
  return scores.some((s) => s > gate) ? gate : null;
}
