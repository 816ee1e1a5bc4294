// The `ensemble` learner: boosted trees and the MLP (or any `members` among gbdt, forest and
// mlp) learned side by side, each calibrated, their probabilities averaged. A stratified share
// of the rows (`holdout`) is kept out of every member's training; on it each member's
// probabilities are Platt-scaled (p' = sigmoid(a logit(p) + b), weighted log-loss, Newton steps,
// calibration.ts), so that differently-scaled outputs (the trees' sharp probabilities, the
// network's smoother ones) count alike in the mean. Format `personas-ensemble/1`: the members'
// own model files with their calibration.
import { ModelError } from '../errors.ts';
import { applyPlatt, plattScaling } from './calibration.ts';
import { Random } from '../random.ts';
import { GbdtLearner, GBDT_DEFAULTS } from './gbdt/booster.ts';
import { FOREST_DEFAULTS, RandomForestLearner } from './gbdt/forest.ts';
import { parseEnsemble } from './gbdt/format.ts';
import { TreeEnsemble } from './gbdt/model.ts';
import { checkFitInput, checkMatrix } from './gbdt/validate.ts';
import { takeRows, type ColumnMatrix, type FitInput, type FittedClassifier, type Learner } from './learner.ts';
import { MlpLearner, MLP_DEFAULTS } from './mlp/learner.ts';
import { MlpModel } from './mlp/model.ts';
import { parseMlp } from './mlp/format.ts';

export const ENSEMBLE_FORMAT = 'personas-ensemble/1';

export const ENSEMBLE_MEMBERS = ['gbdt', 'forest', 'mlp'] as const;
export type MemberKind = (typeof ENSEMBLE_MEMBERS)[number];

export interface EnsembleOptions {
  /** Share of the rows kept out of the members' training to calibrate them. */
  holdout: number;
  /** The learners averaged, two or more different ones (default gbdt and mlp). */
  members: MemberKind[];
  /** Options of the boosted trees, the forest and the MLP. */
  gbdt: Record<string, unknown>;
  forest: Record<string, unknown>;
  mlp: Record<string, unknown>;
  seed: number;
}

export const ENSEMBLE_DEFAULTS: EnsembleOptions = { holdout: 0.2, members: ['gbdt', 'mlp'], gbdt: {}, forest: {}, mlp: {}, seed: 0 };

interface Member {
  model: FittedClassifier;
  /** Platt scaling of the member's log-odds. */
  a: number;
  b: number;
}

/**
 * The ensemble's probability from its members' own (`probabilities[m]` for member m): the mean
 * of their Platt-scaled values. Exported so that members scored elsewhere (each in its training
 * worker) combine to exactly what predictProba gives.
 */
export function averageMembers(members: { a: number; b: number }[], probabilities: Float64Array[]): Float64Array {
  const mean = new MemberMean(members, probabilities[0]?.length ?? 0);
  probabilities.forEach((p, k) => mean.add(k, p));
  return mean.mean();
}

/**
 * averageMembers for members whose probabilities arrive one at a time and in any order (bags
 * trained in worker threads): each is added as soon as the members before it are in, so the sum
 * is made in member order (the same figures whatever the order of arrival) and only the members
 * that came early are held, not all of them.
 */
export class MemberMean {
  private readonly sum: Float64Array;
  private readonly early = new Map<number, Float64Array>();
  private added = 0;
  private done = false;

  constructor(
    private readonly members: { a: number; b: number }[],
    length: number,
  ) {
    this.sum = new Float64Array(length);
  }

  /** Member k's probabilities (the mean's length). */
  add(k: number, probabilities: Float64Array): void {
    if (!Number.isInteger(k) || k < this.added || k >= this.members.length || this.early.has(k)) throw new RangeError(`member ${k}: expected one not added yet, of ${this.members.length}`);
    if (probabilities.length !== this.sum.length) throw new RangeError(`member ${k}: ${probabilities.length} probabilities, expected ${this.sum.length}`);
    this.early.set(k, probabilities);
    for (let p = this.early.get(this.added); p; p = this.early.get(this.added)) {
      this.early.delete(this.added);
      const m = this.members[this.added++];
      for (let i = 0; i < p.length; i++) this.sum[i] += applyPlatt(m, p[i]);
    }
  }

  /** The mean, once every member is in. */
  mean(): Float64Array {
    if (this.added !== this.members.length) throw new RangeError(`mean of ${this.members.length} members asked with ${this.added} in`);
    if (!this.done) for (let i = 0; i < this.sum.length; i++) this.sum[i] /= this.members.length;
    this.done = true;
    return this.sum;
  }
}

export class AveragedEnsemble implements FittedClassifier {
  readonly kind = 'ensemble';
  readonly featureNames: string[];
  readonly backend: string;

  constructor(
    readonly params: Record<string, unknown>,
    readonly members: Member[],
  ) {
    this.featureNames = members[0].model.featureNames;
    this.backend = members.map((m) => `${m.model.kind}: ${m.model.backend ?? 'javascript'}`).join(' + ');
  }

  predictProba(x: ColumnMatrix): Float64Array {
    checkMatrix(x, 'prediction data');
    if (x.columns.length !== this.featureNames.length) {
      throw new ModelError('MODEL_MISMATCH', `prediction data has ${x.columns.length} feature columns; this ensemble model was trained on ${this.featureNames.length}`);
    }
    return averageMembers(this.members, this.members.map((m) => m.model.predictProba(x)));
  }

  featureImportance(): Float64Array {
    const imp = new Float64Array(this.featureNames.length);
    for (const m of this.members) m.model.featureImportance().forEach((v, j) => (imp[j] += v / this.members.length));
    return imp;
  }

  toJSON(): unknown {
    return {
      format: ENSEMBLE_FORMAT,
      kind: 'ensemble',
      params: this.params,
      featureNames: this.featureNames,
      members: this.members.map((m) => ({ kind: m.model.kind, calibration: { a: m.a, b: m.b }, model: m.model.toJSON() })),
    };
  }
}

/** Picks the options a learner knows from `params` (other keys belong to other learners). */
function known(params: Record<string, unknown>, defaults: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => k in defaults));
}

export class EnsembleLearner implements Learner<EnsembleOptions> {
  readonly kind = 'ensemble';
  readonly options: Readonly<EnsembleOptions>;
  private readonly learners: (GbdtLearner | RandomForestLearner | MlpLearner)[];

  constructor(options: Partial<EnsembleOptions> = {}) {
    this.options = { ...ENSEMBLE_DEFAULTS, ...options };
    const o = this.options;
    if (!(o.holdout > 0 && o.holdout < 0.5)) throw new ModelError('TRAINING_DATA_INVALID', `option holdout = ${o.holdout}: expected a share in (0, 0.5)`, { field: 'holdout' });
    const members = o.members as unknown;
    if (!Array.isArray(members) || members.length < 2 || new Set(members).size !== members.length || !members.every((m) => (ENSEMBLE_MEMBERS as readonly unknown[]).includes(m))) {
      throw new ModelError('TRAINING_DATA_INVALID', `option members = ${JSON.stringify(members)}: expected two or more different kinds among ${ENSEMBLE_MEMBERS.join(', ')}`, { field: 'members' });
    }
    this.learners = o.members.map((kind) =>
      kind === 'gbdt'
        ? new GbdtLearner({ ...known(o.gbdt, GBDT_DEFAULTS), seed: o.seed })
        : kind === 'forest'
          ? new RandomForestLearner({ ...known(o.forest, FOREST_DEFAULTS), seed: o.seed })
          : new MlpLearner({ ...known(o.mlp, MLP_DEFAULTS), seed: o.seed }),
    );
  }

  async prepare(): Promise<void> {
    for (const l of this.learners) if (l instanceof MlpLearner) await l.prepare();
  }

  fit(input: FitInput): AveragedEnsemble {
    const w = checkFitInput(input);
    const { x, y } = input;
    const rng = new Random(this.options.seed * 31 + 7);
    const calibrate = new Uint8Array(x.rows);
    // Stratified: the same share of each class, at least one of each on both sides when possible.
    for (const c of [0, 1]) {
      const rows = rng.shuffle(Array.from({ length: x.rows }, (_, i) => i).filter((i) => y[i] === c));
      const take = rows.length >= 2 ? Math.max(1, Math.round(rows.length * this.options.holdout)) : 0;
      for (const i of rows.slice(0, take)) calibrate[i] = 1;
    }
    const fitRows = Uint32Array.from(Array.from({ length: x.rows }, (_, i) => i).filter((i) => !calibrate[i]));
    const calRows = Uint32Array.from(Array.from({ length: x.rows }, (_, i) => i).filter((i) => calibrate[i]));
    const pick = (rows: Uint32Array): ColumnMatrix => takeRows(x, rows);
    const fitPart: FitInput = { x: pick(fitRows), y: Uint8Array.from(fitRows, (i) => y[i]), weights: Float64Array.from(fitRows, (i) => w[i]), featureNames: input.featureNames };
    const calX = pick(calRows);
    const calY = Uint8Array.from(calRows, (i) => y[i]);
    const calW = Float64Array.from(calRows, (i) => w[i]);
    const hasBoth = calY.includes(0) && calY.includes(1);
    const members = this.learners.map((learner): Member => {
      const model = learner.fit(hasBoth ? fitPart : input);
      const { a, b } = hasBoth ? plattScaling(model.predictProba(calX), calY, calW) : { a: 1, b: 0 };
      return { model, a, b };
    });
    return new AveragedEnsemble({ ...this.options }, members);
  }
}

function fail(field: string, expected: string): never {
  throw new ModelError('MODEL_FORMAT', `model file: field "${field}" is missing or invalid (expected ${expected})`, { field });
}

export function parseAveragedEnsemble(json: unknown): AveragedEnsemble {
  if (!json || typeof json !== 'object' || Array.isArray(json)) fail('(root)', 'a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== ENSEMBLE_FORMAT) {
    throw new ModelError('MODEL_FORMAT', `model file: format "${String(o.format)}" is not supported (this code reads ${ENSEMBLE_FORMAT})`, { field: 'format' });
  }
  if (o.kind !== 'ensemble') fail('kind', '"ensemble"');
  if (!o.params || typeof o.params !== 'object') fail('params', 'an object');
  if (!Array.isArray(o.members) || o.members.length === 0) fail('members', 'a non-empty array');
  const members = (o.members as unknown[]).map((m, k): Member => {
    if (!m || typeof m !== 'object') fail(`members[${k}]`, 'an object');
    const mj = m as Record<string, unknown>;
    const cal = mj.calibration as Record<string, unknown> | undefined;
    if (!cal || typeof cal.a !== 'number' || typeof cal.b !== 'number' || !Number.isFinite(cal.a) || !Number.isFinite(cal.b)) fail(`members[${k}].calibration`, '{ a, b } finite numbers');
    const model = mj.kind === 'mlp' ? new MlpModel(parseMlp(mj.model)) : mj.kind === 'gbdt' || mj.kind === 'forest' ? new TreeEnsemble(parseEnsemble(mj.model)) : fail(`members[${k}].kind`, '"gbdt", "forest" or "mlp"');
    return { model, a: cal.a, b: cal.b };
  });
  if (!Array.isArray(o.featureNames) || !o.featureNames.every((n) => typeof n === 'string')) fail('featureNames', 'an array of strings');
  const names = JSON.stringify(o.featureNames);
  members.forEach((m, k) => {
    if (JSON.stringify(m.model.featureNames) !== names) fail(`members[${k}].model.featureNames`, 'the features of the ensemble (featureNames)');
  });
  return new AveragedEnsemble(o.params as Record<string, unknown>, members);
}
