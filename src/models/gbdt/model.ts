// A fitted tree ensemble (boosted or forest): the learned state, kept apart from the options that
// produced it. `predictProba` checks the matrix it is given against the training features, then
// scores with the WebAssembly scorer (wasm.ts), compiled at the first call, or with the compiled
// JavaScript trees (compile.ts) when WebAssembly is unavailable or the model too large for it;
// both give bit-identical scores.
import { ModelError } from '../../errors.ts';
import type { ColumnMatrix, FittedClassifier } from '../learner.ts';
import { compileTree, type CompiledTree } from './compile.ts';
import { compileWasmScorer, type WasmScorer } from './wasm.ts';
import { sigmoid } from './predict.ts';
import { applyPlatt } from '../calibration.ts';
import { serialiseEnsemble } from './format.ts';
import type { EnsembleKind, EnsembleState } from './state.ts';
import { checkMatrix } from './validate.ts';

export class TreeEnsemble implements FittedClassifier {
  readonly kind: EnsembleKind;
  readonly featureNames: string[];

  private compiled?: CompiledTree[];
  /** The WebAssembly scorer, or why there is none. */
  private wasm?: WasmScorer | string;

  constructor(readonly state: EnsembleState) {
    this.kind = state.kind;
    this.featureNames = state.featureNames;
  }

  /** Which scorer `predictRaw` uses ('js' only when WebAssembly cannot be used, with the reason). */
  scorer(): { kind: 'wasm' | 'js'; reason?: string } {
    const w = this.wasmScorer();
    return typeof w === 'string' ? { kind: 'js', reason: w } : { kind: 'wasm' };
  }

  private wasmScorer(): WasmScorer | string {
    const s = this.state;
    this.wasm ??= compileWasmScorer({ trees: s.trees, initScore: s.initScore, scale: this.scale() });
    return this.wasm;
  }

  private scale(): number {
    return this.state.output === 'mean' ? 1 / Math.max(1, this.state.trees.length) : 1;
  }

  /** Raw scores (log-odds for gbdt); `scorer: 'js'` forces the JavaScript scorer (benchmarks, tests). */
  predictRaw(x: ColumnMatrix, options: { scorer?: 'auto' | 'js' } = {}): Float64Array {
    checkMatrix(x, 'prediction data');
    if (x.columns.length !== this.featureNames.length) {
      throw new ModelError(
        'MODEL_MISMATCH',
        `prediction data has ${x.columns.length} feature columns; this ${this.kind} model was trained on ${this.featureNames.length} (${this.featureNames.slice(0, 5).join(', ')}${this.featureNames.length > 5 ? ', ...' : ''})`,
      );
    }
    if (options.scorer !== 'js') {
      const w = this.wasmScorer();
      if (typeof w !== 'string') {
        const raw = new Float64Array(x.rows);
        w.score(x.columns, x.rows, raw);
        return raw;
      }
    }
    const raw = new Float64Array(x.rows).fill(this.state.initScore);
    this.compiled ??= this.state.trees.map(compileTree);
    const scale = this.scale();
    // Blocks of rows scored by every tree in turn, so the block's feature values stay in cache.
    for (let start = 0; start < x.rows; start += 4096) {
      const end = Math.min(x.rows, start + 4096);
      for (const tree of this.compiled) tree(x.columns, raw, start, end, scale);
    }
    return raw;
  }

  predictProba(x: ColumnMatrix, options: { scorer?: 'auto' | 'js' } = {}): Float64Array {
    const raw = this.predictRaw(x, options);
    if (this.state.output === 'sigmoid') for (let i = 0; i < raw.length; i++) raw[i] = sigmoid(raw[i]);
    else {
      const c = this.state.calibration;
      for (let i = 0; i < raw.length; i++) raw[i] = Math.min(1, Math.max(0, raw[i]));
      if (c) for (let i = 0; i < raw.length; i++) raw[i] = applyPlatt(c, raw[i]);
    }
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
