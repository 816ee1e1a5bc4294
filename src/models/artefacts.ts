// The artefacts a projection run writes, as zod schemas (the schema is the type). These are
// the product's hand-off format between the projection (writer), the store/registry and API
// (readers) and the report. File names inside a run's output directory:
//   model/manifest.json          Manifest
//   model/<persona_id>.json      one learner model per trained persona (learner's own format)
//   assignments.csv              contract section 3: customer_id, persona, confidence, margin,
//                                model_version, score_<persona_id>...
//   quantification.json          Quantification
//   metrics.json                 RunMetrics
import { z } from 'zod';

export const MANIFEST_FORMAT = 'personas-model/1';

export const PersonaEntrySchema = z.object({
  id: z.string().regex(/^[a-z0-9_]+$/),
  label: z.string(),
  description: z.string().default(''),
  /** trained: a model file exists; skipped: too few seeds or another stated reason. */
  status: z.enum(['trained', 'skipped']),
  reason: z.string().optional(),
  /** Decision threshold on the calibrated confidence. */
  threshold: z.number().min(0).max(1).optional(),
  /** Model file name relative to the model directory, when trained. */
  modelFile: z.string().optional(),
});
export type PersonaEntry = z.infer<typeof PersonaEntrySchema>;

export const ManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  /** Unique, sortable id of this model version, e.g. `20261122T153700Z-1a2b3c4d`. */
  modelVersion: z.string().min(1),
  createdAt: z.string(),
  codeVersion: z.string(),
  personaFile: z.object({ path: z.string(), sha256: z.string().length(64), content: z.string() }),
  /** Date the features were computed at (YYYY-MM-DD). */
  asOf: z.string(),
  seed: z.number().int(),
  /** Names of the model input columns, in order. */
  features: z.array(z.string()),
  learner: z.object({ kind: z.string(), params: z.record(z.string(), z.unknown()) }),
  assignment: z.object({ targetPrecision: z.number(), minMargin: z.number() }),
  personas: z.array(PersonaEntrySchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/**
 * Above this dependence (viewDependence in personas/views.ts), a view's condition goes with the others even among
 * customers unlike the persona, and its evidence is partly counted twice: on the benchmark worlds,
 * seasonal_gifter's December condition (0.82; a few purchases make the December share extreme, and
 * the gift share with it), whose assigned customers are 0.77 right for an expected 0.90 (BENCHMARKS.md,
 * persona projection, session 13). The other conditions there are at 0.46 to 0.72.
 */
export const VIEW_DEPENDENCE_LIMIT = 0.75;

/** The views above VIEW_DEPENDENCE_LIMIT (the run's log and the report both warn of them). */
export function dependentViews<V extends { dependence?: number | null }>(views: readonly V[] | undefined): V[] {
  return (views ?? []).filter((v) => typeof v.dependence === 'number' && v.dependence > VIEW_DEPENDENCE_LIMIT);
}

/**
 * Above this relearning (the sum over a persona's views of how far each view's relearning, the
 * persona model's AUC for its condition among the customers it scores lowest, is above 0.5), the
 * persona model rebuilds its key drivers from other columns, and its probabilities are optimistic:
 * on the six benchmark worlds of session 18 the personas above 0.26 (0.27 to 0.46) have 0.63 to
 * 0.85 of their assigned customers right for an expected 0.90, those under it (0.12 to 0.25) 0.83
 * to 0.91 (BENCHMARKS.md, persona projection, session 18).
 */
export const RELEARNING_LIMIT = 0.26;

/**
 * Above this share of its seeds claimed by another persona's model (seedsClaimed), a persona's rule
 * picks other personas' customers as its own, and its probabilities are optimistic (BENCHMARKS.md,
 * persona projection, session 41).
 */
export const CLAIMED_SEEDS_LIMIT = 0.2;

/** A persona's relearning (RELEARNING_LIMIT), or null when no view measured it (no views, or a run before session 18). */
export function personaRelearning(views: readonly { relearning?: number | null }[] | undefined): number | null {
  const measured = (views ?? []).filter((v) => typeof v.relearning === 'number');
  return measured.length ? measured.reduce((s, v) => s + Math.max(0, v.relearning! - 0.5), 0) : null;
}

export const PersonaMetricsSchema = z.object({
  persona: z.string(),
  status: z.enum(['trained', 'skipped']),
  reason: z.string().optional(),
  seeds: z.number().int(),
  twins: z.number().int(),
  /** Seeds the first round judged mislabelled, left out of the second. */
  seedsLeftOut: z.number().int().default(0),
  /** Why seed cleaning left this persona's seeds whole although it judged some mislabelled; null otherwise. */
  seedCleaningSkipped: z.string().nullable().default(null),
  /**
   * Seeds that another persona's first-round model gives a higher probability than this persona's
   * own (seed-cleaning.ts); absent without a second round, and from runs before session 41.
   */
  seedsClaimed: z.number().int().nonnegative().optional(),
  /** With seedsClaimed: how many each other persona's model claimed, by persona id, most first. */
  seedsClaimedBy: z.record(z.string(), z.number().int().positive()).optional(),
  /** Mean validation AUC over the folds (positives vs unlabeled). */
  validationAuc: z.number().nullable(),
  /** Positive-unlabeled bags averaged in each of the persona's models (train.ts, bagsFor); absent from runs before session 21. */
  bags: z.number().int().nullable().optional(),
  /**
   * Condition views combined into the persona's probabilities (views.ts): the condition each leaves
   * out, its positives (customers passing the other conditions), its c and validation AUC, and its
   * dependence (viewDependence) and the features the condition reads (both absent from runs before
   * session 13), the persona model's relearning of the condition (viewRelearning) and the weight its
   * evidence had (both absent from runs before session 18), and the customers it said nothing of
   * (`gated`: views.ts, viewGate; absent before session 23).
   */
  views: z
    .array(z.object({ condition: z.string(), seeds: z.number().int(), c: z.number(), validationAuc: z.number(), dependence: z.number().nullable().optional(), relearning: z.number().nullable().optional(), weight: z.number().optional(), features: z.array(z.string()).optional(), gated: z.number().int().optional() }))
    .default([]),
  /** Elkan-Noto label frequency c = P(labeled | positive), estimated on held-out seeds. */
  estimatedC: z.number().nullable(),
  /**
   * The persona model's label frequency for sizing: the mean score of every seed the rule picked,
   * those left out of the second round as mislabelled included (estimatedC is the kept seeds' own).
   * Without condition views the estimated prevalence is the mean score over it; with them, their
   * mean combined probability. Absent from runs before session 17.
   */
  prevalenceC: z.number().nullable().optional(),
  /**
   * Strict precision only (views.ts, strictBaseWeight): how much the persona model's own evidence
   * counts in its probabilities, 1 - its relearning. Absent: 1 (as it is).
   */
  baseWeight: z.number().optional(),
  threshold: z.number().nullable(),
  expectedPrecision: z.number().nullable(),
  /** Share of the base assigned to this persona. */
  coverage: z.number(),
  /** Sum of calibrated probabilities / N: the estimated share of the persona in the base. */
  estimatedPrevalence: z.number().nullable(),
  /** Seeds also matched by another persona's rule, by persona id. */
  seedOverlaps: z.record(z.string(), z.number().int()).default({}),
  /**
   * With known customers taken in as seeds (`--learn-from-known`, known-seeds.ts): the persona's
   * known members (all seeds), those of them the rule had not picked, and the rule's seeds known to
   * be another persona or none (taken out). Absent otherwise.
   */
  knownSeeds: z.object({ members: z.number().int(), added: z.number().int(), removed: z.number().int() }).optional(),
  /** Reach vs precision: customers assigned and expected precision at each threshold. */
  reachCurve: z
    .array(z.object({ threshold: z.number(), customers: z.number().int(), expectedPrecision: z.number().nullable() }))
    .default([]),
  /** Calibration on held-out data: mean predicted vs observed positive rate per bin. */
  calibration: z.array(z.object({ predicted: z.number(), observed: z.number(), count: z.number().int() })).default([]),
  /** Gain importance per model feature. */
  featureImportance: z.record(z.string(), z.number()).default({}),
});
export type PersonaMetrics = z.infer<typeof PersonaMetricsSchema>;

export const RunMetricsSchema = z.object({
  modelVersion: z.string(),
  customers: z.number().int(),
  overlapPolicy: z.string(),
  personas: z.array(PersonaMetricsSchema),
  /** Customers that trained the models: all of them, or the training sample on a larger base (absent in files before session 19). */
  trainingCustomers: z.number().int().optional(),
  timings: z.record(z.string(), z.number()).default({}),
});
export type RunMetrics = z.infer<typeof RunMetricsSchema>;

export const QuantificationRowSchema = z.object({
  /** Persona id, or null for the unassigned row. */
  persona: z.string().nullable(),
  label: z.string(),
  customers: z.number().int(),
  share: z.number(),
  revenue: z.number(),
  revenueShare: z.number(),
  meanConfidence: z.number().nullable(),
  /** Sum of calibrated probabilities / N (null for the unassigned row). */
  estimatedPrevalence: z.number().nullable(),
});
export type QuantificationRow = z.infer<typeof QuantificationRowSchema>;

export const QuantificationSchema = z.object({
  modelVersion: z.string(),
  customers: z.number().int(),
  personas: z.array(QuantificationRowSchema),
  /** Cross-table persona x segment (segment null = missing); persona null = unassigned. */
  bySegment: z.array(z.object({ persona: z.string().nullable(), segment: z.string().nullable(), customers: z.number().int() })),
});
export type Quantification = z.infer<typeof QuantificationSchema>;

/** Fixed leading columns of assignments.csv; `score_<persona_id>` columns follow. */
export const ASSIGNMENT_COLUMNS = ['customer_id', 'persona', 'confidence', 'margin', 'model_version'] as const;

/** One persona's figures against the known customers (evaluation.json, personas evaluate). */
export const EvaluationPersonaSchema = z.object({
  persona: z.string(),
  /** Known customers of this persona found in the run. */
  known: z.number().int(),
  /** Known customers (of any persona, or none) the run assigned to it, and how many of them are its own. */
  assigned: z.number().int(),
  correct: z.number().int(),
  /** correct / assigned, with its 95 % Wilson interval; null when none assigned. */
  precision: z.number().nullable(),
  precisionInterval: z.tuple([z.number(), z.number()]).nullable(),
  /** The precision the run expected of its assigned customers (metrics.json). */
  expectedPrecision: z.number().nullable(),
  /** correct / known; null when no known customer is of it. */
  recall: z.number().nullable(),
  f1: z.number().nullable(),
  /** Its share of the known customers found, and its mean probability over them: alike when the known customers are a random sample and the probabilities are right. */
  knownShare: z.number(),
  meanProbability: z.number(),
  /** The expected precision against the interval: inside it, above it (optimistic), below it, or too few assigned to tell (FEW_ASSIGNED). */
  verdict: z.enum(['consistent', 'optimistic', 'pessimistic', 'too few']),
});
export type EvaluationPersona = z.infer<typeof EvaluationPersonaSchema>;

/**
 * One persona's size in the base from a random sample of known customers: the models' estimated
 * prevalence, the same corrected by the sample (the mean of membership minus probability over it
 * added) with its 95 % interval, and the sample's own share with its Wilson interval.
 */
export const EvaluationSizeSchema = z.object({
  persona: z.string(),
  estimated: z.number(),
  corrected: z.number(),
  interval: z.tuple([z.number(), z.number()]),
  sampleShare: z.number(),
  sampleInterval: z.tuple([z.number(), z.number()]),
});
export type EvaluationSize = z.infer<typeof EvaluationSizeSchema>;

/** A run's labels checked against customers whose persona is known (evaluation.json). */
export const EvaluationSchema = z.object({
  /** The known-personas file. */
  file: z.string(),
  modelVersion: z.string(),
  /** Customers the file gives a persona (or none) for; those of them in the run; those not in it (the first ten listed). */
  customers: z.number().int(),
  matched: z.number().int(),
  notInRun: z.number().int(),
  notInRunIds: z.array(z.string()),
  /** Rows without a persona (left out), rows repeating a customer with the same persona. */
  emptyRows: z.number().int(),
  repeatedRows: z.number().int(),
  /** Known ids matched to the run's customer written otherwise (leading zeros lost, another case). */
  reformattedIds: z.number().int().default(0),
  /** Known customers of no persona. */
  knownNone: z.number().int(),
  /** Of the known customers found: how many the run assigned, how many rightly; their share assigned, the precision, the macro-F1 over the personas known customers belong to. */
  assigned: z.number().int(),
  correct: z.number().int(),
  coverage: z.number(),
  precision: z.number().nullable(),
  macroF1: z.number().nullable(),
  personas: z.array(EvaluationPersonaSchema),
  /** Known customers per (known persona, assigned label), null for none / unassigned; most first. */
  confusion: z.array(z.object({ known: z.string().nullable(), assigned: z.string().nullable(), customers: z.number().int() })),
  /**
   * The assigned known customers by confidence (their persona's probability, a tenth at a time, empty
   * tenths left out): how many, their mean confidence and the share rightly assigned, alike where
   * the confidences are probabilities. Absent from evaluations before session 37's last commits.
   */
  calibration: z.array(z.object({ from: z.number(), to: z.number(), customers: z.number().int(), meanConfidence: z.number(), right: z.number() })).default([]),
  /** Whether the known customers were said to be drawn at random from the base (--random-sample); only then are the sizes corrected by them. */
  randomSample: z.boolean().default(false),
  /**
   * Where the models also learnt from known customers as seeds (`--learn-from-known`, the
   * manifest's `knownSeeds`): their file and how many were found in the base; null otherwise.
   * Each training customer is labelled by the fold models that did not learn from it.
   */
  learntFrom: z.object({ file: z.string(), customers: z.number().int() }).nullable().default(null),
  /** With a random sample: each trained persona's size corrected by it (EvaluationSizeSchema). */
  sizes: z.array(EvaluationSizeSchema).default([]),
  /**
   * With a random sample: Pearson's chi-square of the sample's labels against the base's (persona
   * by persona, unassigned too); `random` false when p < 0.001, a sample spread too unlike the
   * base's customers for the corrected sizes to be trusted.
   */
  sampleCheck: z
    .object({
      statistic: z.number(),
      df: z.number().int(),
      p: z.number(),
      random: z.boolean(),
      /** The share of the base whose label no known customer has: their sizes are the models' alone. */
      unsampled: z.number().default(0),
    })
    .nullable()
    .default(null),
});
export type Evaluation = z.infer<typeof EvaluationSchema>;
