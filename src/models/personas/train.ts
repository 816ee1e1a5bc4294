// Per-persona training, positive-unlabeled: the persona's seeds are the labelled positives, every
// other customer is unlabelled. For each persona, a sample of the unlabelled (weighted back to
// their share of the base) is learned against the seeds with the rule's own features left out,
// and the features rank-correlated with them (a model that sees them re-learns the rule: measured
// on the benchmark worlds, macro-F1 0.37 with the rule's features, 0.51 without, 0.54 to 0.56
// without their correlates too). Out-of-fold scores s(x) = P(seed | x) for every customer come
// from k fold models; the Elkan-Noto label frequency c = mean held-out s of the seeds turns them
// into probabilities p(x) = min(1, s(x) / c). The prevalence is mean s over the base divided by
// the mean held-out s of all the rule's seeds, those a first round left out included (c on the
// kept seeds alone, the ones the model finds most typical, overestimates the label frequency
// more). A final model on all rows serves new customers. Seeds left out (excludeMask) and
// look-alike twins (twinMask) come from a first round (project.ts, rounds.ts).
import { Random } from '../../random.ts';
import { shareMatrix, trainManyScored } from '../gbdt/index.ts';
import type { FittedClassifier, LearnerKind } from '../learner.ts';
import { withLearnerDefaults } from '../learners.ts';
import { AveragedEnsemble, MemberMean } from '../ensemble.ts';
import { ModelError } from '../../errors.ts';
import { relatedFeatures, withoutFeatures, type DesignMatrix } from './design.ts';

export interface TrainOptions {
  folds: number;
  /** Unlabelled rows sampled per seed (at most). */
  unlabeledPerSeed: number;
  /** 'drop': the model does not see the features the persona's rule reads. */
  ruleFeatures: 'drop' | 'keep';
  /**
   * With ruleFeatures 'drop', also drop the features rank-correlated with a rule feature at least
   * this much (|Spearman|; 0: none), so the model cannot re-learn the rule through them.
   */
  relatedCorrelation: number;
  /**
   * Look-alike twins per seed (0: none). Twins are the customers the first-round model finds most
   * like the seeds (highest out-of-fold probability, never another persona's seed); a second
   * round learns seeds and twins (weight `twinWeight`) against the rest.
   */
  twinsPerSeed: number;
  twinWeight: number;
  /**
   * 'knn': twins are the nearest non-seed customers to the seeds in the standardised space of the
   * persona's model columns (twins.ts); 'model': the highest first-round probabilities.
   */
  twinSearch: 'knn' | 'model';
  /** kNN twins: distance cut-off as a quantile of the seeds' nearest-other-seed distances. */
  twinCutoffQuantile: number;
  /**
   * Second round without the seeds the first judges mislabelled (seed-cleaning.ts): this share of
   * each persona's lowest-scored seeds, and those another persona's model claims more strongly
   * (negative: no cleaning).
   */
  cleanSeedsQuantile: number;
  /**
   * Positive-unlabeled bagging (Mordelet and Vert, 2014): each fold's model (and the final one) is
   * the mean of this many models, each learning every positive against its own share of the
   * sampled unlabelled. 1: one model. Boosted trees (gbdt) only: other kinds learn one model
   * (bagsOf). 'auto' (the default since session 21): AUTO_MIN_BAGS bags, more (to MAX_BAGS) where
   * the persona's sampled unlabelled rows give each at least UNLABELED_PER_BAG, each bag then
   * learning AUTO_MIN_BAGS / bags of the trees at bags / AUTO_MIN_BAGS times the rate (bagsFor,
   * bagLearner). A saved model is then an `ensemble` file of its bags.
   */
  bags?: number | 'auto';
  /**
   * Condition views (views.ts): one more model per top-level condition of the persona's rule, on
   * that condition's features, whose evidence is added to the persona model's; null: none.
   * Boosted trees only (viewsOf).
   */
  views?: ViewOptions | null;
  learner: { kind: LearnerKind; params: Record<string, unknown> };
  seed: number;
  workers?: number;
  /** Skip the model on all rows (a first round whose models only give out-of-fold scores). */
  foldsOnly?: boolean;
  /**
   * At most this many customers train the models: on a larger base, a uniform sample of them
   * (trainingSample, the same for every persona, round and view) gives the seeds, twins and
   * unlabelled rows, and every customer is still scored. Training then does not grow with the
   * base (DESIGN.md, scale path); 0 or undefined: every customer.
   */
  trainingCustomers?: number;
}

export interface ViewOptions {
  /** Boosted trees of each view's models (the persona's other learner options apply). */
  trees: number;
  folds: number;
  /** How much of each view's evidence the persona's probability takes at most, in (0, 1] (views-model.ts). */
  weight: number;
  /** Lower the weight of a view whose evidence the persona model or the other conditions already carry (views.ts, viewWeight). */
  scaleByDependence: boolean;
  /**
   * Strict precision: temper the persona model's own evidence by how much it rebuilds its rule
   * (views.ts, strictBaseWeight), so that the expected precision holds, at the cost of coverage.
   * Off by default (BENCHMARKS.md, session 18).
   */
  strictPrecision?: boolean;
  /** Unlabelled rows sampled per positive of a view (at most; a view has 2 to 3 times the rule's seeds). */
  unlabeledPerSeed: number;
  /**
   * Bags of each view's models (1 when unsaid, as saved options before session 23 were): the
   * sampled unlabelled rows shared out among them, each bag learning `trees / bags` of the trees at
   * `bags` times the rate, so a view holds as many trees as one bag would (views.ts, viewLearner).
   */
  bags?: number;
}

/**
 * The views' options (the default; `--no-views` or `train.views: false` go without). Weight 0.6,
 * lowered per view by its dependence and relearning (views.ts, viewWeight), since session 18: on
 * the four 100k worlds macro-F1 0.679 to 0.686, precision 0.850 to 0.861, coverage 0.435 to 0.446,
 * against 0.675 to 0.682, 0.851 to 0.860 and 0.431 to 0.437 with 0.4 for every view; 0.7 puts
 * world 2 under precision 0.85, 0.5 gives less coverage than before (BENCHMARKS.md, session 18).
 */
export const VIEW_DEFAULTS: ViewOptions = { trees: 100, folds: 2, weight: 0.6, scaleByDependence: true, unlabeledPerSeed: 20, bags: 3 };

/** The views' options a run asks for: none when `views` is false, else the defaults, with strict precision if asked. */
export function viewOptionsFor(o: { views?: boolean; strictPrecision?: boolean }): ViewOptions | null {
  if (o.views === false) return null;
  return o.strictPrecision ? { ...VIEW_DEFAULTS, strictPrecision: true } : VIEW_DEFAULTS;
}

/**
 * Where each learner kind starts when it learns seeds against the unlabelled. Boosted trees: many
 * small, shallow, subsampled trees. The labels are the seeds, about a quarter of a persona's
 * members and mixed with a few of other personas, so the signal per customer is weak and a
 * deeper, faster-learning model fits its noise: measured on the three 100k benchmark worlds and
 * the dirty one (BENCHMARKS.md, persona projection, session 8), these settings against 100 trees
 * of depth 6 at rate 0.1 raise macro-F1 by 0.007 to 0.012 and precision by 0.02 to 0.03 (to 0.87
 * to 0.88 for a target of 0.9), and the best macro-F1 any threshold reaches at precision 0.85
 * from 0.55 to 0.60 (with 200 rows a leaf: leafRows), for a worse size estimate (sum of share
 * errors 0.12 to 0.16 against 0.08 to 0.11) and 1.4 times the training time. The trees and rate
 * are those of five bags: with bags 'auto' and more unlabelled rows, more bags of fewer trees
 * (bagLearner). The forest keeps
 * the tree sizes it was measured with.
 */
export const PERSONA_LEARNER_DEFAULTS = {
  // minDataInLeaf, unless given: leafRows() of each model's training rows.
  gbdt: { numTrees: 300, numLeaves: 7, maxDepth: 3, learningRate: 0.03, subsample: 0.7, colsample: 0.7, earlyStoppingRounds: 0 },
  forest: { numTrees: 100, numLeaves: 31, maxDepth: 6, minDataInLeaf: 20 },
};

export const TRAIN_DEFAULTS: TrainOptions = {
  folds: 3,
  unlabeledPerSeed: 20,
  ruleFeatures: 'drop',
  // 0.4 since session 14 (0.5 before): a rule's attribute blocks have columns the rule does not
  // read but that show whether the block follows the persona's profile (app sessions beside
  // share_app), and every seed passes every condition, so a model seeing them learns the rule's
  // blocks again. On the four 100k worlds: macro-F1 0.674 to 0.682 (0.658 to 0.673 at 0.5),
  // coverage 0.431 to 0.437 (0.408 to 0.422), size error 0.086 to 0.099 (0.108 to 0.122), for
  // precision 0.851 to 0.860 (0.857 to 0.865); 0.35 goes below 0.85 (BENCHMARKS.md, session 14).
  relatedCorrelation: 0.4,
  twinsPerSeed: 1,
  twinWeight: 0.5,
  twinSearch: 'knn',
  twinCutoffQuantile: 0.9,
  cleanSeedsQuantile: 0.15,
  bags: 'auto',
  // A base of up to 200,000 customers trains on all of them, so the 100k benchmark worlds are
  // unchanged; a larger one on a sample of 200,000 (BENCHMARKS.md, persona projection, session 19).
  trainingCustomers: 200_000,
  // On by default since session 12. Since session 13 (views on their condition's features, added
  // as evidence): macro-F1 0.658 to 0.673, precision 0.857 to 0.865, coverage 0.408 to 0.422 on the
  // four 100k worlds, against 0.571 to 0.581, 0.872 to 0.881 and 0.32 to 0.33 without views, for
  // the same run time (187 s through the CLI on world 1; BENCHMARKS.md, persona projection); each
  // view's own weight since session 18 (VIEW_DEFAULTS).
  views: VIEW_DEFAULTS,
  learner: { kind: 'gbdt', params: PERSONA_LEARNER_DEFAULTS.gbdt },
  seed: 1,
};

/** The smallest training sample (trainingCustomers) taken: fewer customers hold too few seeds a persona to learn from. */
export const MIN_TRAINING_CUSTOMERS = 500;

/**
 * The customers that train the models when the base has more than `trainingCustomers` (1 in the
 * mask), else null (all of them): a uniform sample of exactly that many, drawn from the run's seed
 * alone, so every persona, both rounds, the views and a batch job's steps draw the same one.
 */
export function trainingSample(rows: number, opts: Pick<TrainOptions, 'trainingCustomers' | 'seed'>): Uint8Array | null {
  const cap = opts.trainingCustomers ?? 0;
  // Checked whatever the base's size, so a bad option fails on a small base too.
  if (!Number.isInteger(cap) || cap < 0) throw new ModelError('TRAINING_DATA_INVALID', `option trainingCustomers = ${cap}: expected a whole number of customers (0: all of them)`, { field: 'trainingCustomers' });
  if (cap > 0 && cap < MIN_TRAINING_CUSTOMERS) throw new ModelError('TRAINING_DATA_INVALID', `option trainingCustomers = ${cap}: expected 0 (every customer) or at least ${MIN_TRAINING_CUSTOMERS} customers`, { field: 'trainingCustomers' });
  if (cap === 0 || rows <= cap) return null;
  const rng = new Random(opts.seed * 1000 + 555);
  const order = Uint32Array.from({ length: rows }, (_, i) => i);
  // A partial Fisher-Yates shuffle: the first `cap` places are the sample.
  for (let i = 0; i < cap; i++) {
    const j = i + rng.int(rows - i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const mask = new Uint8Array(rows);
  for (let i = 0; i < cap; i++) mask[order[i]] = 1;
  return mask;
}

/** How many customers train the models of a base of `rows`. */
export const trainingCustomersOf = (rows: number, opts: Pick<TrainOptions, 'trainingCustomers'>): number => (opts.trainingCustomers && opts.trainingCustomers > 0 ? Math.min(rows, opts.trainingCustomers) : rows);

/** The log line of a run that trains on a sample, or null when every customer trains the models. */
export function trainingSampleNote(rows: number, opts: Pick<TrainOptions, 'trainingCustomers'>): string | null {
  const used = trainingCustomersOf(rows, opts);
  if (used === rows) return null;
  return `training sample: ${used.toLocaleString('en')} of the ${rows.toLocaleString('en')} customers train the models (a uniform sample, the same for every persona; --training-customers sets its size); every customer is scored`;
}

/**
 * Rows a boosted tree's leaf must hold when the options do not say: 1 % of the model's training
 * rows, between 20 and 200. 200 is what was measured on the 100k worlds (training sets of 20,000
 * rows and more, so the share never binds there); on a small base, such as the 5,000-customer
 * demo, 200 rows would be a tenth of the data and its models too coarse to reach any threshold.
 */
export const leafRows = (trainingRows: number): number => Math.min(200, Math.max(20, Math.round(trainingRows / 100)));

/** The learner options of one model: leafRows() for the boosted trees that were given no minDataInLeaf. */
function withLeafRows(learner: TrainOptions['learner'], trainingRows: number): Record<string, unknown> {
  const params = learner.params;
  const fill = (o: Record<string, unknown>) => (o.minDataInLeaf === undefined ? { ...o, minDataInLeaf: leafRows(trainingRows) } : o);
  if (learner.kind === 'gbdt') return fill(params);
  const gbdt = params.gbdt;
  if (learner.kind === 'ensemble' && gbdt && typeof gbdt === 'object' && !Array.isArray(gbdt)) return { ...params, gbdt: fill(gbdt as Record<string, unknown>) };
  return params;
}

/** A persona file's learner choice (default: gbdt) over the persona training's defaults for its kind. */
export function personaLearner(choice: { kind: LearnerKind; params?: Record<string, unknown> } | undefined): TrainOptions['learner'] {
  const kind = choice?.kind ?? 'gbdt';
  return { kind, params: withLearnerDefaults(kind, choice?.params ?? {}, PERSONA_LEARNER_DEFAULTS) };
}

export interface PersonaTrainingInput {
  id: string;
  seedMask: Uint8Array;
  /** Look-alike customers learned as positives with a lower weight (see twinsPerSeed). */
  twinMask?: Uint8Array;
  /** Customers left out of training (seeds judged mislabelled by a first round); still scored. */
  excludeMask?: Uint8Array;
  /** Seeds known to be members (known-seeds.ts): trained on even outside the training sample. */
  knownMembers?: Uint8Array;
  ruleFeatures: string[];
  /**
   * The model sees only these features and those rank-correlated with them (relatedCorrelation),
   * never ruleFeatures (a condition view, views.ts); default: every feature but the rule's.
   */
  keepOnly?: string[];
  /** This input's learner instead of the options' (a condition view's, views.ts). */
  learner?: TrainOptions['learner'];
  /**
   * The persona's index among the personas trained (default: its place in the list given):
   * seeds its sample and folds, so a persona trained alone (a batch job) gets the same ones
   * as in `personas run`.
   */
  index?: number;
}

export interface PersonaModel {
  id: string;
  model: FittedClassifier;
  /** Model column names (the design matrix less the rule's features when dropped). */
  features: string[];
  /** Elkan-Noto label frequency: mean out-of-fold score of the seeds. */
  c: number;
  /** Out-of-fold P(seed | x) for every customer. */
  oofScores: Float64Array;
  /** min(1, s / c) for every customer. */
  probabilities: Float64Array;
  /**
   * The label frequency the prevalence divides by: mean out-of-fold score of all the rule's seeds,
   * those left out of training included (equal to c without seed cleaning). Cleaning leaves out the
   * seeds the model scores lowest, so c on the kept ones is higher still than the rule-biased
   * seeds already make it (BENCHMARKS.md, persona projection); c itself stays on the kept seeds,
   * where the thresholds it gives hold the precision target.
   */
  prevalenceC: number;
  /** Estimated share of the persona in the base: mean s / prevalenceC, not clipped at 1 (with condition views: their mean combined probability). */
  prevalence: number;
  /** Models averaged per fold and in the final model (bagsFor). */
  bags: number;
  /** Positives vs unlabelled AUC of the out-of-fold scores on the training sample. */
  validationAuc: number;
  /** The condition views combined into the probabilities and the model (views.ts), if any. */
  views?: {
    condition: string;
    features: string[];
    seeds: number;
    c: number;
    validationAuc: number;
    dependence: number | null;
    relearning: number | null;
    weight: number;
    /** Customers the view adds no evidence for (at or below its gate: views.ts, viewGate); 0 without a gate. */
    gated?: number;
  }[];
  /** Strict precision only: the temper of the persona model's own evidence in the probabilities (views.ts, strictBaseWeight). */
  baseWeight?: number;
  /** Mean out-of-fold score vs observed seed share per score decile of the training sample. */
  calibration: { predicted: number; observed: number; count: number }[];
}

/** AUC with ties counted half; weights per row. */
export function weightedAuc(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): number {
  const idx = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  let neg = 0;
  let area = 0;
  for (let k = 0; k < idx.length; ) {
    let e = k;
    let tp = 0;
    let tn = 0;
    while (e < idx.length && scores[idx[e]] === scores[idx[k]]) {
      const w = weights ? weights[idx[e]] : 1;
      if (labels[idx[e]]) tp += w;
      else tn += w;
      e++;
    }
    area += tp * (neg + tn / 2);
    pos += tp;
    neg += tn;
    k = e;
  }
  return pos > 0 && neg > 0 ? area / (pos * neg) : NaN;
}

/**
 * Bags 'auto' gives every persona: five, as measured against one on the four 100k worlds
 * (session 8: macro-F1 +0.008 to +0.012 at the same precision) and on 20,000-customer worlds
 * (session 21: five bags of 300 trees at rate 0.03 rank better there than fewer bags, or five of
 * 150 at 0.06: coverage at precision 0.85 0.440 / 0.451 against 0.430 / 0.437 and 0.437 / 0.439).
 */
export const AUTO_MIN_BAGS = 5;
/**
 * Sampled unlabelled rows each bag keeps at least when 'auto' gives more than AUTO_MIN_BAGS. A bag
 * learns every positive against its share of the unlabelled; with too small a share its held-out
 * seeds score above the label frequency and c is overestimated (session 21, an 8,000-row SCAR
 * world with c = 0.25 and 6,000 unlabelled rows sampled: 0.23 and 0.26 with 1 and 2 bags of 150
 * trees at 0.06, 0.28 with 3, 0.44 with 10; 0.33 with the five of 300 at 0.03 the defaults give
 * there; on 40,000 rows ten bags give 0.25 to 0.27). On the 100k benchmark worlds nearly every persona has 30,000
 * sampled unlabelled rows or more, so ten bags of 150 trees at 0.06, which raise coverage by
 * 0.004 to 0.008 and macro-F1 by 0.005 to 0.007 at the same precision against five of 300 at 0.03
 * (sessions 20 and 21).
 */
export const UNLABELED_PER_BAG = 3000;
/** The most bags 'auto' gives a model. */
export const MAX_BAGS = 10;

/**
 * The `bags` option checked: a whole number of 1 or more, or 'auto'; 1 for the learner kinds
 * other than boosted trees (bagging is measured for the trees only; the forest and the ensemble
 * average already). What a manifest records.
 */
export function bagsOf(opts: Pick<TrainOptions, 'bags' | 'learner'>): number | 'auto' {
  if (opts.learner.kind !== 'gbdt') return 1;
  const bags = opts.bags ?? 1;
  if (bags === 'auto') return bags;
  if (!Number.isInteger(bags) || bags < 1) throw new ModelError('TRAINING_DATA_INVALID', `option bags = ${bags}: expected a whole number of 1 or more, or 'auto'`, { field: 'bags' });
  return bags;
}

/** The bags of a persona's models that learn from `unlabeled` sampled unlabelled rows. */
export function bagsFor(opts: Pick<TrainOptions, 'bags' | 'learner'>, unlabeled: number): number {
  const bags = bagsOf(opts);
  return bags === 'auto' ? Math.max(AUTO_MIN_BAGS, Math.min(MAX_BAGS, Math.floor(unlabeled / UNLABELED_PER_BAG))) : bags;
}

/**
 * The learner of each of `bags` bags. With bags 'auto' the learner's trees and rate are those of
 * AUTO_MIN_BAGS bags: more bags each learn proportionally fewer trees at a proportionally higher
 * rate, so a persona model holds the same trees to score and learns as much (the defaults' 300 at
 * 0.03 become 150 at 0.06 in ten bags). A number of bags takes the learner as given.
 */
export function bagLearner(opts: Pick<TrainOptions, 'bags' | 'learner'>, bags: number): TrainOptions['learner'] {
  const { kind, params } = opts.learner;
  if (bagsOf(opts) !== 'auto' || kind !== 'gbdt' || bags === AUTO_MIN_BAGS) return opts.learner;
  const share = AUTO_MIN_BAGS / bags;
  return {
    kind,
    params: {
      ...params,
      ...(typeof params.numTrees === 'number' ? { numTrees: Math.max(1, Math.round(params.numTrees * share)) } : {}),
      ...(typeof params.learningRate === 'number' ? { learningRate: params.learningRate / share } : {}),
    },
  };
}

/**
 * Trains every persona's fold models and final model, two at a time in worker threads. The
 * workers read the design matrix in shared memory (each job names its rows), and score every
 * customer with the fold models they have just trained.
 */
export async function trainPersonas(sourceDesign: DesignMatrix, personas: PersonaTrainingInput[], opts: TrainOptions, onProgress?: (done: number, total: number) => void): Promise<PersonaModel[]> {
  const design = shareMatrix(sourceDesign);
  const n = design.rows;
  bagsOf(opts); // the option checked before any work
  const sampleRng = new Random(opts.seed * 1000 + 999);
  const correlationSample = Uint32Array.from({ length: Math.min(n, 20000) }, () => sampleRng.int(n));
  // Customers outside the training sample are scored, never trained on (as the seeds left out),
  // each by the models of one fold (outFold) rather than the mean of them all: on a base of
  // 1,000,000 scoring every customer with every fold's models was most of the training time.
  const sample = trainingSample(n, opts);
  const outFoldRng = new Random(opts.seed * 1000 + 556);
  const outFold = sample ? Uint8Array.from(sample, (v) => (v ? 0 : outFoldRng.int(opts.folds))) : null;
  const ranked = new Map<number, Float64Array>();
  const plans = personas.map((p, k) => {
    const rng = new Random(opts.seed * 1000 + (p.index ?? k));
    let x: DesignMatrix;
    if (p.keepOnly) {
      const related = opts.relatedCorrelation > 0 ? relatedFeatures(design, p.keepOnly, opts.relatedCorrelation, correlationSample, ranked) : [];
      const kept = new Set([...p.keepOnly, ...related].filter((f) => !p.ruleFeatures.includes(f)));
      x = withoutFeatures(design, design.sources.filter((f) => !kept.has(f)));
    } else {
      const related = opts.ruleFeatures === 'drop' && opts.relatedCorrelation > 0 ? relatedFeatures(design, p.ruleFeatures, opts.relatedCorrelation, correlationSample, ranked) : [];
      x = opts.ruleFeatures === 'drop' ? withoutFeatures(design, [...p.ruleFeatures, ...related]) : design;
    }
    const seeds: number[] = [];
    const twins: number[] = [];
    const unlabeled: number[] = [];
    for (let i = 0; i < n; i++) if (!p.excludeMask?.[i] && (!sample || sample[i] || (p.knownMembers?.[i] && p.seedMask[i]))) (p.seedMask[i] ? seeds : p.twinMask?.[i] ? twins : unlabeled).push(i);
    const take = Math.min(unlabeled.length, seeds.length * opts.unlabeledPerSeed);
    const sampled = rng.shuffle(unlabeled.slice()).slice(0, take);
    const rows = Uint32Array.from([...seeds, ...twins, ...sampled]);
    const positives = seeds.length + twins.length;
    const y = new Uint8Array(rows.length);
    y.fill(1, 0, positives);
    const isSeed = new Uint8Array(rows.length);
    isSeed.fill(1, 0, seeds.length);
    const weights = new Float64Array(rows.length).fill(1);
    weights.fill(opts.twinWeight, seeds.length, positives);
    weights.fill(unlabeled.length / Math.max(1, take), positives);
    const fold = Uint8Array.from(rows, () => rng.int(opts.folds));
    const sampledSet = new Uint8Array(n);
    for (const i of rows) sampledSet[i] = 1;
    const bags = bagsFor(opts, take);
    const bagRng = new Random(opts.seed * 1000 + 700 + (p.index ?? k));
    const bag = Uint8Array.from(rows, () => (bags > 1 ? bagRng.int(bags) : 0));
    return { p, x, rows, y, isSeed, weights, fold, bags, bag, sampledSet };
  });

  const jobs = plans.flatMap((plan) => {
    // One model per bag: every positive, and the bag's share of the unlabelled weighted up by the bag count.
    // A fold's models also score every customer (the out-of-fold scores below).
    // With a training sample, fold f's models score only the customers whose score comes from them.
    let rowFold: Int8Array | null = null;
    if (sample) {
      rowFold = new Int8Array(n).fill(-1);
      plan.rows.forEach((i, r) => (rowFold![i] = plan.fold[r]));
    }
    const toScore = (f: number): Uint32Array | undefined => {
      if (!sample || !rowFold || !outFold) return undefined;
      const out: number[] = [];
      // A training row by the fold that did not see it (a known member outside the sample too), another customer of the sample by every fold, the rest by one.
      for (let i = 0; i < n; i++) if (rowFold[i] !== -1 ? rowFold[i] === f : sample[i] ? true : outFold[i] === f) out.push(i);
      return Uint32Array.from(out);
    };
    const bags = plan.bags;
    const learner = bagLearner({ ...opts, learner: plan.p.learner ?? opts.learner }, bags);
    const make = (keep: (k: number) => boolean, score: boolean, scoreRows?: Uint32Array) =>
      Array.from({ length: bags }, (_, b) => {
        const idx = Array.from(plan.rows.keys()).filter((k) => keep(k) && (plan.y[k] === 1 || plan.bag[k] === b));
        return {
          kind: learner.kind,
          options: { ...withLeafRows(learner, idx.length), seed: opts.seed + b },
          input: { x: plan.x, y: Uint8Array.from(idx, (k) => plan.y[k]), weights: Float64Array.from(idx, (k) => plan.weights[k] * (plan.y[k] ? 1 : bags)), featureNames: plan.x.names },
          rows: Uint32Array.from(idx, (k) => plan.rows[k]),
          score,
          scoreRows,
        };
      });
    const foldModels = Array.from({ length: opts.folds }, (_, f) => make((k) => plan.fold[k] !== f, true, toScore(f))).flat();
    return opts.foldsOnly ? foldModels : [...foldModels, ...make(() => true, false)];
  });
  // Progress counts the personas' models (folds and final), as the callers' stages do, not their
  // bags: a model counts once all its bags have ended (jobs end about in order, a few at a time).
  const perPersona = opts.folds + (opts.foldsOnly ? 0 : 1);
  const modelEnds: number[] = [];
  for (const plan of plans) for (let m = 0; m < perPersona; m++) modelEnds.push((modelEnds.at(-1) ?? 0) + plan.bags);
  const modelsDone = (jobsDone: number) => modelEnds.filter((end) => end <= jobsDone).length;
  onProgress?.(0, modelEnds.length);
  // A fold model's scores of every customer: its bags' mean, each bag's added as it ends and then
  // let go (on 1,000,000 customers, ten bags of eighteen fold models held 1.4 GB of scores when kept
  // to the end). A model of one bag keeps that bag's scores as they are.
  const modelOf = new Uint32Array(jobs.length);
  modelEnds.forEach((end, m) => modelOf.fill(m, m ? modelEnds[m - 1] : 0, end));
  const identity = { a: 1, b: 0 };
  const means = new Map<number, MemberMean>();
  const scores: Float64Array[] = [];
  const trained = await trainManyScored(jobs, {
    workers: opts.workers ?? 2,
    onDone: (completed) => onProgress?.(modelsDone(completed), modelEnds.length),
    onScores: (job, jobScores) => {
      const m = modelOf[job];
      const first = m ? modelEnds[m - 1] : 0;
      const bags = modelEnds[m] - first;
      if (bags === 1) return void (scores[m] = jobScores);
      let mean = means.get(m);
      if (!mean) means.set(m, (mean = new MemberMean(Array.from({ length: bags }, () => identity), n)));
      mean.add(job - first, jobScores);
    },
  });
  onProgress?.(modelEnds.length, modelEnds.length);
  for (const [m, mean] of means) scores[m] = mean.mean();
  // A model per fold (and the final one): its bags' mean, and for a fold, its scores of every customer.
  const models = modelEnds.map((end, m) => {
    const members = trained.slice(m ? modelEnds[m - 1] : 0, end).map(({ model }) => model);
    return { model: members.length === 1 ? members[0] : new AveragedEnsemble({ bags: members.length }, members.map((model) => ({ model, ...identity }))), scores: scores[m] };
  });

  return plans.map((plan, k) => {
    const own = models.slice(k * perPersona, (k + 1) * perPersona);
    // With foldsOnly, the first fold's model stands in for the final one (the caller discards it).
    const final = own[opts.foldsOnly ? 0 : opts.folds].model;
    const oof = new Float64Array(n);
    // Training rows: the model of the fold that did not see them; the others: the mean of the folds.
    const perFold = own.slice(0, opts.folds).map((m) => m.scores!);
    for (let i = 0; i < n; i++) {
      if (outFold && !sample![i]) oof[i] = perFold[outFold[i]][i];
      else if (!plan.sampledSet[i]) {
        let s = 0;
        for (const scores of perFold) s += scores[i];
        oof[i] = s / opts.folds;
      }
    }
    plan.rows.forEach((i, r) => {
      oof[i] = perFold[plan.fold[r]][i];
    });
    let seedSum = 0;
    let seedCount = 0;
    for (let r = 0; r < plan.rows.length; r++) if (plan.isSeed[r]) {
      seedSum += oof[plan.rows[r]];
      seedCount++;
    }
    const c = Math.max(1e-6, seedSum / Math.max(1, seedCount));
    const probabilities = Float64Array.from(oof, (s) => Math.min(1, s / c));
    let oofSum = 0;
    // The prevalence's c: mean score of every seed of the rule, the ones left out included.
    let ruleSeedSum = 0;
    let ruleSeedCount = 0;
    for (let i = 0; i < n; i++) {
      oofSum += oof[i];
      if (plan.p.seedMask[i]) {
        ruleSeedSum += oof[i];
        ruleSeedCount++;
      }
    }
    const prevalenceC = Math.max(1e-6, ruleSeedSum / Math.max(1, ruleSeedCount));
    const sampleScores = Float64Array.from(plan.rows, (i) => oof[i]);
    return {
      id: plan.p.id,
      model: final,
      features: plan.x.names,
      c,
      oofScores: oof,
      probabilities,
      prevalenceC,
      prevalence: oofSum / n / prevalenceC,
      bags: plan.bags,
      validationAuc: weightedAuc(sampleScores, plan.y, plan.weights),
      calibration: calibrationTable(sampleScores, plan.y, plan.weights),
    };
  });
}

/** Mean predicted vs observed positive share in ten bins of equal count (weighted). */
export function calibrationTable(scores: Float64Array, y: ArrayLike<number>, w: ArrayLike<number>): PersonaModel['calibration'] {
  const idx = Array.from(scores.keys()).sort((a, b) => scores[a] - scores[b]);
  const out: PersonaModel['calibration'] = [];
  const bins = 10;
  for (let b = 0; b < bins; b++) {
    const part = idx.slice(Math.floor((b * idx.length) / bins), Math.floor(((b + 1) * idx.length) / bins));
    if (!part.length) continue;
    let sw = 0;
    let sp = 0;
    let sy = 0;
    for (const i of part) {
      sw += w[i];
      sp += w[i] * scores[i];
      sy += w[i] * y[i];
    }
    out.push({ predicted: sp / sw, observed: sy / sw, count: part.length });
  }
  return out;
}

