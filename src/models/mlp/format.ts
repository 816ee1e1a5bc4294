// The versioned model format `personas-mlp/1`, of the same family as the trees' `personas-gbdt/1`
// (format + kind + params + feature names + learned state as arrays): the input preparation and
// each dense layer's weights (row-major [inputs][outputs]) and biases. Weights are float32 values
// written as JSON numbers, so they round-trip exactly. `parseMlp` is strict: a wrong version, a
// missing or corrupted field, or layers that do not chain is a ModelError naming the field.
import { ModelError } from '../../errors.ts';
import type { DenseLayer, MlpState } from './state.ts';

export const MLP_FORMAT = 'personas-mlp/1';

export function serialiseMlp(s: MlpState): unknown {
  return {
    format: MLP_FORMAT,
    kind: 'mlp',
    params: s.params,
    featureNames: s.featureNames,
    preprocessing: s.preprocessing,
    activation: 'relu',
    output: 'sigmoid',
    layers: s.layers.map((l) => ({ inputs: l.inputs, outputs: l.outputs, weights: Array.from(l.weights), bias: Array.from(l.bias) })),
    training: s.training,
  };
}

function fail(field: string, expected: string): never {
  throw new ModelError('MODEL_FORMAT', `model file: field "${field}" is missing or invalid (expected ${expected})`, { field });
}

function numbers(v: unknown, field: string, length?: number, check: (x: number) => boolean = Number.isFinite): number[] {
  if (!Array.isArray(v) || (length !== undefined && v.length !== length)) fail(field, `an array of ${length ?? 'some'} numbers`);
  for (const x of v) if (typeof x !== 'number' || !check(x)) fail(field, 'valid numbers');
  return v as number[];
}

function positiveInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(field, 'an integer >= 1');
  return v;
}

export function parseMlp(json: unknown): MlpState {
  if (!json || typeof json !== 'object' || Array.isArray(json)) fail('(root)', 'a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== MLP_FORMAT) {
    throw new ModelError('MODEL_FORMAT', `model file: format "${String(o.format)}" is not supported (this code reads ${MLP_FORMAT})`, { field: 'format' });
  }
  if (o.kind !== 'mlp') fail('kind', '"mlp"');
  if (o.activation !== 'relu' || o.output !== 'sigmoid') fail('activation/output', '"relu" and "sigmoid"');
  if (!o.params || typeof o.params !== 'object') fail('params', 'an object');
  if (!Array.isArray(o.featureNames) || !o.featureNames.every((n) => typeof n === 'string')) fail('featureNames', 'an array of strings');
  const d = (o.featureNames as string[]).length;
  const pre = o.preprocessing as Record<string, unknown> | undefined;
  if (!pre || typeof pre !== 'object') fail('preprocessing', 'an object');
  const center = numbers(pre.center, 'preprocessing.center', d);
  const scale = numbers(pre.scale, 'preprocessing.scale', d, (x) => Number.isFinite(x) && x > 0);
  const indicators = numbers(pre.indicators, 'preprocessing.indicators', undefined, (x) => Number.isInteger(x) && x >= 0 && x < d);
  if (!Array.isArray(o.layers) || o.layers.length === 0) fail('layers', 'a non-empty array');
  let width = d + indicators.length;
  const layers: DenseLayer[] = (o.layers as unknown[]).map((l, i) => {
    const at = (f: string) => `layers[${i}].${f}`;
    if (!l || typeof l !== 'object') fail(`layers[${i}]`, 'an object');
    const lj = l as Record<string, unknown>;
    const inputs = positiveInt(lj.inputs, at('inputs'));
    const outputs = positiveInt(lj.outputs, at('outputs'));
    if (inputs !== width) fail(at('inputs'), `${width} (the previous layer's outputs, or the prepared inputs)`);
    width = outputs;
    return {
      inputs,
      outputs,
      weights: Float32Array.from(numbers(lj.weights, at('weights'), inputs * outputs)),
      bias: Float32Array.from(numbers(lj.bias, at('bias'), outputs)),
    };
  });
  if (width !== 1) fail(`layers[${layers.length - 1}].outputs`, '1 (the output layer)');
  const t = o.training as Record<string, unknown> | undefined;
  if (!t || typeof t !== 'object' || typeof t.backend !== 'string' || typeof t.epochs !== 'number' || typeof t.bestEpoch !== 'number') fail('training', '{ backend, epochs, bestEpoch, validLoss }');
  return {
    params: o.params as Record<string, unknown>,
    featureNames: o.featureNames as string[],
    preprocessing: { center, scale, indicators },
    layers,
    training: { backend: t.backend, epochs: t.epochs, bestEpoch: t.bestEpoch, validLoss: typeof t.validLoss === 'number' ? t.validLoss : null },
  };
}
