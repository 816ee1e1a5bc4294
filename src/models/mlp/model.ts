// A fitted MLP: its input preparation and dense layers (ReLU hidden units, one sigmoid output).
// Prediction runs in plain JavaScript from the stored weights (float32 values, float64 sums), so
// it is synchronous, needs no tfjs backend (the API and scoring never load tfjs), and gives the
// same probabilities before and after save/load on every machine.
import { ModelError } from '../../errors.ts';
import type { ColumnMatrix, FittedClassifier } from '../learner.ts';
import { checkMatrix } from '../gbdt/validate.ts';
import { serialiseMlp } from './format.ts';
import { inputWidth, prepareRows } from './preprocess.ts';
import type { DenseLayer, MlpState } from './state.ts';

const BLOCK = 512;

export class MlpModel implements FittedClassifier {
  readonly kind = 'mlp';
  readonly featureNames: string[];
  readonly backend: string;
  private transposed?: Transposed[];

  constructor(readonly state: MlpState) {
    this.featureNames = state.featureNames;
    this.backend = `tfjs ${state.training.backend}`;
  }

  /** Log-odds of the positive class per row. */
  predictRaw(x: ColumnMatrix): Float64Array {
    checkMatrix(x, 'prediction data');
    if (x.columns.length !== this.featureNames.length) {
      throw new ModelError(
        'MODEL_MISMATCH',
        `prediction data has ${x.columns.length} feature columns; this mlp model was trained on ${this.featureNames.length} (${this.featureNames.slice(0, 5).join(', ')}${this.featureNames.length > 5 ? ', ...' : ''})`,
      );
    }
    const out = new Float64Array(x.rows);
    const width = inputWidth(this.state.preprocessing);
    const input = new Float32Array(BLOCK * width);
    const layers = (this.transposed ??= this.state.layers.map(transpose));
    const widest = Math.max(width, ...layers.map((l) => l.outputs));
    let a = new Float64Array(widest);
    let b = new Float64Array(widest);
    for (let start = 0; start < x.rows; start += BLOCK) {
      const end = Math.min(x.rows, start + BLOCK);
      prepareRows(this.state.preprocessing, x, start, end, input);
      for (let r = 0; r < end - start; r++) {
        for (let k = 0; k < width; k++) a[k] = input[r * width + k];
        for (let li = 0; li < layers.length; li++) {
          dense(layers[li], a, b, li < layers.length - 1);
          const t = a;
          a = b;
          b = t;
        }
        out[start + r] = a[0];
      }
    }
    return out;
  }

  predictProba(x: ColumnMatrix): Float64Array {
    const raw = this.predictRaw(x);
    for (let i = 0; i < raw.length; i++) raw[i] = 1 / (1 + Math.exp(-raw[i]));
    return raw;
  }

  /** Share of the first layer's absolute weights leaving each feature (its missing indicator included). */
  featureImportance(): Float64Array {
    const d = this.featureNames.length;
    const imp = new Float64Array(d);
    const first = this.state.layers[0];
    const inputFeature = [...Array.from({ length: d }, (_, j) => j), ...this.state.preprocessing.indicators];
    for (let k = 0; k < first.inputs; k++) {
      let s = 0;
      for (let o = 0; o < first.outputs; o++) s += Math.abs(first.weights[k * first.outputs + o]);
      imp[inputFeature[k]] += s;
    }
    const total = imp.reduce((p, q) => p + q, 0);
    if (total > 0) for (let j = 0; j < d; j++) imp[j] /= total;
    return imp;
  }

  toJSON(): unknown {
    return serialiseMlp(this.state);
  }
}

/** A layer's weights as float64, transposed to [outputs][inputs] (each output a dot product). */
interface Transposed {
  inputs: number;
  outputs: number;
  weights: Float64Array;
  bias: Float64Array;
}

function transpose(l: DenseLayer): Transposed {
  const weights = new Float64Array(l.inputs * l.outputs);
  for (let k = 0; k < l.inputs; k++) for (let o = 0; o < l.outputs; o++) weights[o * l.inputs + k] = l.weights[k * l.outputs + o];
  return { inputs: l.inputs, outputs: l.outputs, weights, bias: Float64Array.from(l.bias) };
}

/** out = act(W in + bias) for one row. */
function dense(layer: Transposed, input: Float64Array, out: Float64Array, relu: boolean): void {
  const { inputs, outputs, weights, bias } = layer;
  for (let o = 0; o < outputs; o++) {
    let s = bias[o];
    const w0 = o * inputs;
    for (let k = 0; k < inputs; k++) s += input[k] * weights[w0 + k];
    out[o] = relu && s < 0 ? 0 : s;
  }
}
