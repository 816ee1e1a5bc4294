// A fitted tree ensemble (boosted or forest): the learned state, kept apart from the options that
// produced it. `predictProba` checks the matrix it is given against the training features.
import { ModelError } from '../../errors.ts';
import type { ColumnMatrix, FittedClassifier } from '../learner.ts';
import { compileTree, type CompiledTree } from './compile.ts';
import { sigmoid } from './predict.ts';
import { serialiseEnsemble } from './format.ts';
import type { EnsembleKind, EnsembleState } from './state.ts';
import { checkMatrix } from './validate.ts';

export class TreeEnsemble implements FittedClassifier {
  readonly kind: EnsembleKind;
  readonly featureNames: string[];

  private compiled?: CompiledTree[];

  constructor(readonly state: EnsembleState) {
    this.kind = state.kind;
    this.featureNames = state.featureNames;
  }

  /** Raw scores (log-odds for gbdt). */
  predictRaw(x: ColumnMatrix): Float64Array {
    checkMatrix(x, 'prediction data');
    if (x.columns.length !== this.featureNames.length) {
      throw new ModelError(
        'MODEL_MISMATCH',
        `prediction data has ${x.columns.length} feature columns; this ${this.kind} model was trained on ${this.featureNames.length} (${this.featureNames.slice(0, 5).join(', ')}${this.featureNames.length > 5 ? ', ...' : ''})`,
      );
    }
    const raw = new Float64Array(x.rows).fill(this.state.initScore);
    const s = this.state;
    this.compiled ??= s.trees.map(compileTree);
    const scale = s.output === 'mean' ? 1 / Math.max(1, s.trees.length) : 1;
    // Blocks of rows scored by every tree in turn, so the block's feature values stay in cache.
    for (let start = 0; start < x.rows; start += 4096) {
      const end = Math.min(x.rows, start + 4096);
      for (const tree of this.compiled) tree(x.columns, raw, start, end, scale);
    }
    return raw;
  }

  predictProba(x: ColumnMatrix): Float64Array {
    const raw = this.predictRaw(x);
    if (this.state.output === 'sigmoid') for (let i = 0; i < raw.length; i++) raw[i] = sigmoid(raw[i]);
    else for (let i = 0; i < raw.length; i++) raw[i] = Math.min(1, Math.max(0, raw[i]));
    return raw;
  }

  featureImportance(): Float64Array {
    const imp = new Float64Array(this.featureNames.length);
    for (const t of this.state.trees) for (let i = 0; i < t.feature.length; i++) imp[t.feature[i]] += t.gain[i];
    const total = imp.reduce((a, b) => a + b, 0);
    if (total > 0) for (let j = 0; j < imp.length; j++) imp[j] /= total;
    return imp;
  }

  toJSON(): unknown {
    return serialiseEnsemble(this.state);
  }
}
