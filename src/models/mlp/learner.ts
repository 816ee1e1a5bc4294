// The MLP learner (MlpLearner): a small fully-connected network (ReLU hidden layers, sigmoid
// output) trained on TensorFlow.js with Adam on the weighted log-loss, L2 on the weights, and
// early stopping on a validation set (the one given, else a stratified share of the training
// rows) that keeps the best epoch's weights. Deterministic for a seed on a given backend: the
// initial weights, the validation split and the batch order come from the seeded generator, and
// the wasm backend runs on one thread. `prepare()` loads tfjs (async, once per thread) and must
// have resolved before `fit`, which is synchronous like every learner's.
import { ModelError } from '../../errors.ts';
import { Random } from '../../random.ts';
import { takeRows, type FitInput, type Learner } from '../learner.ts';
import { checkValid } from '../gbdt/booster.ts';
import { checkFitInput } from '../gbdt/validate.ts';
import type { Optimizer, Tensor, Tensor2D, Variable } from '@tensorflow/tfjs-core';
import { initBackend, loadedBackend, type Tf } from './backend.ts';
import { MlpModel } from './model.ts';
import { fitPreprocessing, inputWidth, prepareRows } from './preprocess.ts';
import type { DenseLayer } from './state.ts';

export interface MlpOptions {
  /** Units per hidden layer. */
  hidden: number[];
  learningRate: number;
  batchSize: number;
  maxEpochs: number;
  /** Stop when the validation loss has not improved for this many epochs. */
  patience: number;
  /** Share of the training rows held out for early stopping when no validation set is given (0: none). */
  validFraction: number;
  /** L2 penalty on the weights (not the biases). */
  l2: number;
  seed: number;
}

export const MLP_DEFAULTS: MlpOptions = {
  hidden: [32, 16],
  learningRate: 0.003,
  batchSize: 512,
  maxEpochs: 20,
  patience: 3,
  validFraction: 0.15,
  l2: 1e-5,
  seed: 0,
};

/** Fewest optimiser steps per epoch (the batch shrinks on small data). */
const MIN_STEPS = 32;

function checkOptions(o: MlpOptions): void {
  const bad = (field: keyof MlpOptions, expected: string) => {
    throw new ModelError('TRAINING_DATA_INVALID', `option ${field} = ${JSON.stringify(o[field])}: expected ${expected}`, { field });
  };
  if (!Array.isArray(o.hidden) || o.hidden.length === 0 || !o.hidden.every((h) => Number.isInteger(h) && h >= 1 && h <= 4096)) bad('hidden', 'a non-empty list of layer sizes in [1, 4096]');
  if (!(o.learningRate > 0 && o.learningRate < 10)) bad('learningRate', 'a number in (0, 10)');
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) bad('batchSize', 'an integer >= 1');
  if (!Number.isInteger(o.maxEpochs) || o.maxEpochs < 1) bad('maxEpochs', 'an integer >= 1');
  if (!Number.isInteger(o.patience) || o.patience < 1) bad('patience', 'an integer >= 1');
  if (!(o.validFraction >= 0 && o.validFraction < 1)) bad('validFraction', 'a share in [0, 1)');
  if (!(o.l2 >= 0 && Number.isFinite(o.l2))) bad('l2', 'a number >= 0');
  if (!Number.isInteger(o.seed)) bad('seed', 'an integer');
}

export class MlpLearner implements Learner<MlpOptions> {
  readonly kind = 'mlp';
  readonly options: Readonly<MlpOptions>;

  constructor(options: Partial<MlpOptions> = {}) {
    this.options = { ...MLP_DEFAULTS, ...options };
    checkOptions(this.options);
  }

  /** Loads tfjs and its backend in this thread (see backend.ts). */
  async prepare(): Promise<void> {
    await initBackend();
  }

  fit(input: FitInput): MlpModel {
    const o = this.options;
    const w = checkFitInput(input);
    const backend = loadedBackend();
    if (!backend) throw new ModelError('MODEL_NOT_FITTED', 'the mlp learner needs TensorFlow.js loaded first: await learner.prepare() (fitLearner in learners.ts does it)');
    const { x, y } = input;
    const rng = new Random(o.seed);
    const split = input.valid ? undefined : validationSplit(y, o.validFraction, rng);
    const trainRows = split?.train ?? Uint32Array.from({ length: x.rows }, (_, i) => i);
    const valid = input.valid
      ? { x: input.valid.x, y: input.valid.y, w: checkValid(input.valid, x.columns.length) }
      : split && { x: takeRows(x, split.valid), y: Array.from(split.valid, (i) => y[i]), w: Float64Array.from(split.valid, (i) => w[i]) };

    const preprocessing = fitPreprocessing(takeRows(x, trainRows));
    const width = inputWidth(preprocessing);
    const prepared = new Float32Array(x.rows * width);
    prepareRows(preprocessing, x, 0, x.rows, prepared);

    const sizes = [width, ...o.hidden, 1];
    let sw = 0;
    let sy = 0;
    for (const i of trainRows) {
      sw += w[i];
      sy += w[i] * y[i];
    }
    if (!(sw > 0)) throw new ModelError('TRAINING_DATA_INVALID', 'weights: the training rows weigh 0 in total');
    const prior = Math.min(1 - 1e-6, Math.max(1e-6, sy / sw));
    const layers = initialLayers(sizes, rng, Math.log(prior / (1 - prior)));
    const model = (ls: DenseLayer[], epochs: number, bestEpoch: number, validLoss: number | null) =>
      new MlpModel({
        params: { ...o },
        featureNames: input.featureNames ?? x.columns.map((_, j) => `f${j}`),
        preprocessing,
        layers: ls,
        training: { backend: backend.info.name, epochs, bestEpoch, validLoss },
      });

    const { tf } = backend;
    const meanWeight = sw / trainRows.length;
    const result = (() => {
      const vars = layers.map((l) => ({
        w: tf.tidy(() => tf.variable(tf.tensor2d(l.weights, [l.inputs, l.outputs]))),
        b: tf.tidy(() => tf.variable(tf.tensor1d(l.bias))),
      }));
      const varList = vars.flatMap((v) => [v.w, v.b]);
      const optimizer = tf.train.adam(o.learningRate);
      // Small data: smaller batches, so that an epoch still takes MIN_STEPS steps.
      const batchSize = Math.max(1, Math.min(o.batchSize, Math.ceil(trainRows.length / MIN_STEPS)));
      const bx = new Float32Array(batchSize * width);
      const by = new Float32Array(batchSize);
      const bw = new Float32Array(batchSize);
      let best = { loss: Infinity, epoch: 0, layers: layers };
      let epoch = 0;
      try {
        while (epoch < o.maxEpochs) {
          epoch++;
          const order = rng.shuffle(Array.from(trainRows));
          for (let start = 0; start < order.length; start += batchSize) {
            const n = Math.min(batchSize, order.length - start);
            for (let r = 0; r < n; r++) {
              const i = order[start + r];
              bx.set(prepared.subarray(i * width, (i + 1) * width), r * width);
              by[r] = y[i];
              bw[r] = w[i] / (meanWeight * batchSize);
            }
            step(tf, optimizer, vars, bx.subarray(0, n * width), by.subarray(0, n), bw.subarray(0, n), n, width, o.l2);
          }
          const current = readLayers(vars, layers);
          if (!valid) {
            best = { loss: NaN, epoch, layers: current };
            continue;
          }
          const loss = logLoss(model(current, epoch, epoch, null).predictRaw(valid.x), valid.y, valid.w);
          if (!Number.isFinite(loss)) throw new ModelError('TRAINING_DATA_INVALID', `mlp training diverged at epoch ${epoch} (validation loss ${loss}); try a lower learningRate`);
          if (loss < best.loss - 1e-7) best = { loss, epoch, layers: current };
          else if (epoch - best.epoch >= o.patience) break;
        }
      } finally {
        optimizer.dispose();
        for (const v of varList) v.dispose();
      }
      return { best, epoch };
    })();
    return model(result.best.layers, result.epoch, result.best.epoch, valid ? result.best.loss : null);
  }
}

type Vars = { w: Variable; b: Variable }[];

/**
 * One Adam step on a batch of the weighted log-loss (weights already divided by the normaliser)
 * plus L2, with the gradients written out (backpropagation through the dense layers): the
 * Node builds of tfjs-core do not register the autodiff gradients, and this is also cheaper.
 */
function step(tf: Tf, optimizer: Optimizer, vars: Vars, bx: Float32Array, by: Float32Array, bw: Float32Array, n: number, width: number, l2: number): void {
  tf.tidy(() => {
    const inputs: Tensor2D[] = [tf.tensor2d(bx, [n, width])];
    const pre: Tensor2D[] = [];
    vars.forEach((v, k) => {
      const z = tf.add(tf.matMul(inputs[k], v.w as Tensor2D), v.b) as Tensor2D;
      pre.push(z);
      if (k < vars.length - 1) inputs.push(tf.relu(z));
    });
    // d(loss)/d(logit) = w (sigmoid(z) - y).
    let dz = tf.mul(tf.sub(tf.sigmoid(pre[pre.length - 1]), tf.tensor2d(by, [n, 1])), tf.tensor2d(bw, [n, 1])) as Tensor2D;
    const grads: Record<string, Tensor> = {};
    for (let k = vars.length - 1; k >= 0; k--) {
      let dw = tf.matMul(inputs[k], dz, true, false);
      if (l2 > 0) dw = tf.add(dw, tf.mul(vars[k].w, 2 * l2));
      grads[vars[k].w.name] = dw;
      grads[vars[k].b.name] = tf.sum(dz, 0);
      if (k > 0) dz = tf.mul(tf.matMul(dz, vars[k].w as Tensor2D, false, true), tf.step(pre[k - 1], 0)) as Tensor2D;
    }
    optimizer.applyGradients(grads);
  });
}

/** The variables' current values as layers (copies). */
function readLayers(vars: Vars, shape: DenseLayer[]): DenseLayer[] {
  return vars.map((v, k) => ({ inputs: shape[k].inputs, outputs: shape[k].outputs, weights: Float32Array.from(v.w.dataSync()), bias: Float32Array.from(v.b.dataSync()) }));
}

/** He-uniform hidden layers, Glorot-uniform output; output bias at the log-odds of the prior. */
function initialLayers(sizes: number[], rng: Random, outputBias: number): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (let k = 0; k + 1 < sizes.length; k++) {
    const inputs = sizes[k];
    const outputs = sizes[k + 1];
    const last = k + 2 === sizes.length;
    const limit = last ? Math.sqrt(6 / (inputs + outputs)) : Math.sqrt(6 / inputs);
    const weights = Float32Array.from({ length: inputs * outputs }, () => (2 * rng.next() - 1) * limit);
    const bias = new Float32Array(outputs);
    if (last) bias[0] = outputBias;
    layers.push({ inputs, outputs, weights, bias });
  }
  return layers;
}

/** Stratified held-out rows for early stopping (none when either class is too small to spare). */
function validationSplit(y: ArrayLike<number>, share: number, rng: Random): { train: Uint32Array; valid: Uint32Array } | undefined {
  if (share <= 0) return undefined;
  const byClass: number[][] = [[], []];
  for (let i = 0; i < y.length; i++) byClass[y[i]].push(i);
  const held = byClass.map((rows) => Math.floor(rows.length * share));
  if (held.some((h, c) => h < 1 || byClass[c].length - h < 1) || held[0] + held[1] < 20) return undefined;
  const train: number[] = [];
  const valid: number[] = [];
  byClass.forEach((rows, c) => {
    const shuffled = rng.shuffle(rows.slice());
    valid.push(...shuffled.slice(0, held[c]));
    train.push(...shuffled.slice(held[c]));
  });
  return { train: Uint32Array.from(train.sort((a, b) => a - b)), valid: Uint32Array.from(valid.sort((a, b) => a - b)) };
}

/** Weighted mean log-loss of log-odds `raw`. */
function logLoss(raw: Float64Array, y: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  let sw = 0;
  for (let i = 0; i < raw.length; i++) {
    const z = raw[i];
    const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    s += w[i] * (softplus - y[i] * z);
    sw += w[i];
  }
  return sw > 0 ? s / sw : 0;
}
