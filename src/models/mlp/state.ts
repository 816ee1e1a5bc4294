// The learned state of an MLP (what the model file holds), apart from the options that produced it.
import type { Preprocessing } from './preprocess.ts';

export interface DenseLayer {
  inputs: number;
  outputs: number;
  /** Row-major [inputs][outputs]. */
  weights: Float32Array;
  bias: Float32Array;
}

export interface MlpState {
  params: Record<string, unknown>;
  featureNames: string[];
  preprocessing: Preprocessing;
  layers: DenseLayer[];
  /** How it was trained: tfjs backend, epochs run, best epoch kept, its validation loss. */
  training: { backend: string; epochs: number; bestEpoch: number; validLoss: number | null };
}
