// The training-size options shared by `personas run`, `personas train` and `personas jobs start`:
// trees per model, validation folds, positive-unlabeled bags, the condition views and the training
// sample's size, so a data
// scientist can train smaller models (a quick look, a test) or single-model files without editing
// the persona file.
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { learnerKind } from '../models/learners.ts';
import { loadPersonaFile, withLearner, type LoadedPersonaFile, type PersonaFile } from '../models/personas/file.ts';
import { AUTO_MIN_BAGS, MAX_BAGS, MIN_TRAINING_CUSTOMERS, PERSONA_LEARNER_DEFAULTS, UNLABELED_PER_BAG, viewOptionsFor, type ViewOptions } from '../models/personas/train.ts';

/** A command-line value that must be a whole number of at least `min`. */
export function whole(name: string, text: string, min = 1): number {
  return wholeOr(name, text, null, min);
}

/** whole(), where the error also names the word the flag takes instead (`alternative`), if any. */
function wholeOr(name: string, text: string, alternative: string | null, min = 1): number {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new InputError('INPUT_INVALID', `${name} must be a whole number of at least ${min}${alternative ? ` or ${alternative}` : ''} (got "${text}")`, { field: name });
  return Number(text);
}

export interface TrainingFlags {
  trees?: string;
  folds?: string;
  bags?: string;
  /** `--views`: true, `--no-views`: false, neither: undefined. */
  views?: boolean;
  strictPrecision?: boolean;
  trainingCustomers?: string;
}

export interface TrainingSize {
  numTrees?: number;
  folds?: number;
  bags?: number | 'auto';
  /** Condition views (models/personas/views.ts): false goes without; absent, the default (on). */
  views?: boolean;
  /** Strict precision (ViewOptions.strictPrecision): true tempers each persona model by its relearning. */
  strictPrecision?: boolean;
  /** Customers that train the models at most (TrainOptions.trainingCustomers; 0: all). */
  trainingCustomers?: number;
}

export function addTrainingFlags(command: Command): Command {
  return command
    .option('--trees <n>', `trees per model (default: the learner default; persona training: ${PERSONA_LEARNER_DEFAULTS.gbdt.numTrees} for gbdt, per bag of ${AUTO_MIN_BAGS}; shared out among more bags with --bags auto)`)
    .option('--folds <n>', 'validation folds (default 3)')
    .option('--bags <n|auto>', `positive-unlabeled bags averaged per boosted-trees model (default auto: ${AUTO_MIN_BAGS}, up to ${MAX_BAGS} where each keeps ${UNLABELED_PER_BAG.toLocaleString('en')} sampled unlabelled customers of the persona, the trees shared out among them; 1: one model per file)`)
    .option('--views', 'condition views: one more model per condition of each rule, pooled in (boosted trees; the default)')
    .option('--no-views', 'without the condition views: about 0.7 times the run time, macro-F1 0.013 to 0.015 lower on the benchmark worlds')
    .option('--strict-precision', "temper each persona's model by how much it rebuilds its key drivers (with condition views), so that the assigned are as often right as the expected precision says: on the benchmark worlds 0.89 to 0.90 for 0.90, against 0.85 to 0.86, for coverage 0.38 instead of 0.44")
    .option('--training-customers <n>', 'customers that train the models at most: a larger base trains on a uniform sample of this many, and every customer is scored (default 200000; 0: all)');
}

/** `--training-customers`: 0 (every customer) or at least MIN_TRAINING_CUSTOMERS. */
function sampleSize(text: string): number {
  const n = whole('--training-customers', text, 0);
  if (n > 0 && n < MIN_TRAINING_CUSTOMERS) throw new InputError('INPUT_INVALID', `--training-customers must be 0 (every customer) or at least ${MIN_TRAINING_CUSTOMERS} (got "${text}")`, { field: '--training-customers' });
  return n;
}

/** The flags given, as numbers (absent ones stay absent). */
export function trainingSize(f: TrainingFlags): TrainingSize {
  if (f.strictPrecision && f.views === false) {
    throw new InputError('INPUT_INVALID', '--strict-precision tempers each persona model by what its condition views measure: it cannot go with --no-views', { field: '--strict-precision' });
  }
  return {
    ...(f.trees !== undefined ? { numTrees: whole('--trees', f.trees) } : {}),
    ...(f.folds !== undefined ? { folds: whole('--folds', f.folds, 2) } : {}),
    ...(f.bags !== undefined ? { bags: f.bags === 'auto' ? ('auto' as const) : wholeOr('--bags', f.bags, "'auto'") } : {}),
    ...(typeof f.views === 'boolean' ? { views: f.views } : {}),
    ...(f.strictPrecision ? { strictPrecision: true } : {}),
    ...(f.trainingCustomers !== undefined ? { trainingCustomers: sampleSize(f.trainingCustomers) } : {}),
  };
}

/** The persona file's learner with `numTrees` set (default learner gbdt), as the batch jobs apply `--trees`. */
export function specWithTrees(spec: PersonaFile, numTrees: number | undefined): PersonaFile {
  if (numTrees === undefined) return spec;
  return { ...spec, model: { kind: spec.model?.kind ?? 'gbdt', params: { ...spec.model?.params, numTrees } } };
}

/**
 * The persona file a training command (`personas run`, `personas train`) works with: `--learner`
 * over its model kinds and `--trees` over its tree counts, `--seed` checked first.
 */
export function trainingPersonaFile(opts: { personas: string; seed?: number; learner?: string; size?: TrainingSize }): LoadedPersonaFile {
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) {
    throw new InputError('INPUT_INVALID', `--seed must be a whole number (got ${opts.seed})`, { field: 'seed' });
  }
  const kind = opts.learner === undefined ? undefined : learnerKind(opts.learner, '--learner');
  const loaded = withLearner(loadPersonaFile(opts.personas), kind);
  return { ...loaded, spec: specWithTrees(loaded.spec, opts.size?.numTrees) };
}

/** The folds, bags, views and training sample of a training size as projection options (trees go through the persona file's learner). */
export function trainOptionsOf(size: TrainingSize | undefined): { folds?: number; bags?: number | 'auto'; views?: ViewOptions | null; trainingCustomers?: number } | undefined {
  if (!size) return undefined;
  return {
    ...(size.folds !== undefined ? { folds: size.folds } : {}),
    ...(size.bags !== undefined ? { bags: size.bags } : {}),
    ...(size.views !== undefined || size.strictPrecision ? { views: viewOptionsFor(size) } : {}),
    ...(size.trainingCustomers !== undefined ? { trainingCustomers: size.trainingCustomers } : {}),
  };
}
