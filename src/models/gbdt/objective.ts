// Binary log-loss: gradients and hessians of the raw score, weighted; the initial score is the
// log-odds of the weighted base rate.

export function initialScore(y: ArrayLike<number>, w: Float64Array): number {
  let pos = 0;
  let total = 0;
  for (let i = 0; i < w.length; i++) {
    pos += w[i] * y[i];
    total += w[i];
  }
  const p = Math.min(1 - 1e-6, Math.max(1e-6, pos / total));
  return Math.log(p / (1 - p));
}

/** grad = w (p - y), hess = w p (1 - p), p = sigmoid(raw). */
export function logLossGradients(raw: Float64Array, y: ArrayLike<number>, w: Float64Array, grad: Float64Array, hess: Float64Array): void {
  for (let i = 0; i < raw.length; i++) {
    const p = 1 / (1 + Math.exp(-raw[i]));
    grad[i] = w[i] * (p - y[i]);
    hess[i] = Math.max(w[i] * p * (1 - p), 1e-16);
  }
}

/** Weighted mean log-loss of raw scores. */
export function logLoss(raw: Float64Array, y: ArrayLike<number>, w: Float64Array): number {
  let loss = 0;
  let total = 0;
  for (let i = 0; i < raw.length; i++) {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, 1 / (1 + Math.exp(-raw[i]))));
    loss -= w[i] * (y[i] ? Math.log(p) : Math.log(1 - p));
    total += w[i];
  }
  return loss / total;
}
