// The learner registry: one place that builds a learner of any kind from its options, fits it
// (loading what it needs first), loads a saved model by the kind its file declares, and says
// what a kind runs on. Options come as one flat record (a persona file's `model.params`, over the
// projection's defaults for each kind: withLearnerDefaults): each learner takes the keys it knows; a key several
// learners know (learningRate) goes to the trees, and `mlp: {...}` / `gbdt: {...}` / `forest:
// {...}` give one learner's options explicitly (they win over the flat keys).
import { InputError, ModelError } from '../errors.ts';
import { GbdtLearner, GBDT_DEFAULTS } from './gbdt/booster.ts';
import { FOREST_DEFAULTS, RandomForestLearner } from './gbdt/forest.ts';
import { GBDT_FORMAT, parseEnsemble } from './gbdt/format.ts';
import { TreeEnsemble } from './gbdt/model.ts';
import { AveragedEnsemble, ENSEMBLE_DEFAULTS, ENSEMBLE_FORMAT, EnsembleLearner, parseAveragedEnsemble, type EnsembleOptions } from './ensemble.ts';
import { LEARNER_KINDS, type FitInput, type FittedClassifier, type Learner, type LearnerKind } from './learner.ts';
import { initBackend, type BackendInfo } from './mlp/backend.ts';
import { MLP_FORMAT, parseMlp } from './mlp/format.ts';
import { MlpLearner, MLP_DEFAULTS } from './mlp/learner.ts';
import { MlpModel } from './mlp/model.ts';
import { ConditionViewsModel, parseViewsModel, VIEWS_FORMAT, VIEWS_FORMAT_V1, VIEWS_FORMAT_V2, VIEWS_FORMAT_V3 } from './personas/views-model.ts';

export { LEARNER_KINDS, type LearnerKind };

export function isLearnerKind(kind: unknown): kind is LearnerKind {
  return typeof kind === 'string' && (LEARNER_KINDS as readonly string[]).includes(kind);
}

/** The kind, or an InputError listing the kinds (`where` names the option or field). */
export function learnerKind(kind: string, where = 'learner'): LearnerKind {
  if (!isLearnerKind(kind)) throw new InputError('INPUT_INVALID', `${where} "${kind}" is not a learner kind (expected one of ${LEARNER_KINDS.join(', ')})`, { field: 'learner' });
  return kind;
}

const TREE_KEYS = new Set([...Object.keys(GBDT_DEFAULTS), ...Object.keys(FOREST_DEFAULTS)]);

function section(params: Record<string, unknown>, name: string): Record<string, unknown> {
  const v = params[name];
  if (v === undefined) return {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ModelError('TRAINING_DATA_INVALID', `learner option ${name}: expected an object of ${name} options`, { field: name });
  return v as Record<string, unknown>;
}

/** The flat keys `defaults` knows (for the mlp: not the ones the trees know too, except seed), then its section. */
function optionsFor(params: Record<string, unknown>, defaults: object, name: 'gbdt' | 'forest' | 'mlp'): Record<string, unknown> {
  const flat = Object.entries(params).filter(([k]) => k in defaults && (name !== 'mlp' || k === 'seed' || !TREE_KEYS.has(k)));
  return { ...Object.fromEntries(flat), ...section(params, name) };
}

const DEFAULTS_OF = { gbdt: GBDT_DEFAULTS, forest: FOREST_DEFAULTS, mlp: MLP_DEFAULTS } as const;
type MemberKind = keyof typeof DEFAULTS_OF;

/**
 * `params` over per-learner starting points: each learner of `kind` (each member of an ensemble)
 * starts from `defaults[its kind]`, then takes the flat keys it knows, then its own section. So
 * the defaults of one kind never reach another (a boosted tree's depth is not a forest's), and a
 * user's flat `numTrees: 50` still reaches every tree learner of an ensemble.
 */
export function withLearnerDefaults(kind: LearnerKind, params: Record<string, unknown>, defaults: Partial<Record<MemberKind, Record<string, unknown>>>): Record<string, unknown> {
  const under = (name: MemberKind) => ({ ...defaults[name], ...optionsFor(params, DEFAULTS_OF[name], name) });
  if (kind === 'ensemble') return { ...params, gbdt: under('gbdt'), forest: under('forest'), mlp: under('mlp') };
  return { ...defaults[kind], ...params };
}

/** A learner of `kind` with `params` (see the header for how options are shared out). */
export function makeLearner(kind: LearnerKind, params: Record<string, unknown> = {}): Learner<unknown> {
  switch (kind) {
    case 'gbdt':
      return new GbdtLearner(optionsFor(params, GBDT_DEFAULTS, 'gbdt'));
    case 'forest':
      return new RandomForestLearner(optionsFor(params, FOREST_DEFAULTS, 'forest'));
    case 'mlp':
      return new MlpLearner(optionsFor(params, MLP_DEFAULTS, 'mlp'));
    case 'ensemble':
      return new EnsembleLearner({
        ...(typeof params.holdout === 'number' ? { holdout: params.holdout } : {}),
        ...(typeof params.seed === 'number' ? { seed: params.seed } : {}),
        ...(params.members !== undefined ? { members: params.members as EnsembleOptions['members'] } : {}),
        gbdt: optionsFor(params, GBDT_DEFAULTS, 'gbdt'),
        forest: optionsFor(params, FOREST_DEFAULTS, 'forest'),
        mlp: optionsFor(params, MLP_DEFAULTS, 'mlp'),
      });
    default:
      return learnerKind(kind as string) as never;
  }
}

/** Builds, prepares and fits a learner of `kind`. */
export async function fitLearner(kind: LearnerKind, params: Record<string, unknown>, input: FitInput): Promise<FittedClassifier> {
  const learner = makeLearner(kind, params);
  await learner.prepare?.();
  // Fitting is synchronous and may take seconds: let pending I/O run first.
  await new Promise((resolve) => setImmediate(resolve));
  return learner.fit(input);
}

/** Loads a model file of any kind (its `format` says which); strict, see each format module. */
export function loadModel(json: unknown): FittedClassifier {
  const format = json && typeof json === 'object' ? (json as { format?: unknown }).format : undefined;
  switch (format) {
    case GBDT_FORMAT:
      return new TreeEnsemble(parseEnsemble(json));
    case MLP_FORMAT:
      return new MlpModel(parseMlp(json));
    case ENSEMBLE_FORMAT:
      return parseAveragedEnsemble(json);
    case VIEWS_FORMAT:
    case VIEWS_FORMAT_V3:
    case VIEWS_FORMAT_V2:
    case VIEWS_FORMAT_V1:
      return parseViewsModel(json, loadModel);
    default:
      throw new ModelError(
        'MODEL_FORMAT',
        `model file: format "${String(format)}" is not supported (this code reads ${[GBDT_FORMAT, MLP_FORMAT, ENSEMBLE_FORMAT, VIEWS_FORMAT, VIEWS_FORMAT_V3, VIEWS_FORMAT_V2, VIEWS_FORMAT_V1].join(', ')})`,
        { field: 'format' },
      );
  }
}

/** What a fitted model runs on, for logs: "javascript" (trees), "tfjs wasm", or both for the ensemble. */
export function modelBackend(model: FittedClassifier): string {
  return model.backend ?? 'javascript';
}

/**
 * A fitted model in a few words, for logs: its kind and what it runs on; an average of models of
 * one kind (the bagged persona models) as their count, not each member; condition views counted.
 * E.g. "gbdt (5 averaged) on javascript, with 3 condition views".
 */
export function describeModel(model: FittedClassifier): string {
  if (model instanceof ConditionViewsModel) {
    const n = model.views.length;
    return `${describeModel(model.base.model)}, with ${n} condition view${n === 1 ? '' : 's'}`;
  }
  if (model instanceof AveragedEnsemble) {
    const kinds = new Set(model.members.map((m) => `${m.model.kind}|${modelBackend(m.model)}`));
    const first = model.members[0].model;
    if (kinds.size === 1) return `${first.kind} (${model.members.length} averaged) on ${modelBackend(first)}`;
    return `ensemble of ${model.members.map((m) => describeModel(m.model)).join(' + ')}`;
  }
  return `${model.kind} on ${modelBackend(model)}`;
}

/** The tfjs backend this thread would train an mlp on (loads tfjs). */
export async function tfjsBackend(): Promise<BackendInfo> {
  return (await initBackend()).info;
}

export { ENSEMBLE_DEFAULTS, GBDT_DEFAULTS, FOREST_DEFAULTS, MLP_DEFAULTS };
