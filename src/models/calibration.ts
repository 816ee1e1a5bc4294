// Platt scaling (Platt 1999; scikit-learn's CalibratedClassifierCV "sigmoid"): a probability p is
// mapped to sigmoid(a logit(p) + b), with a and b fitted by weighted log-loss on scores the model
// did not train on (held-out rows for the ensemble's members, out-of-bag rows for a forest).
export interface Platt {
  a: number;
  b: number;
}

export const logit = (p: number) => {
  const q = Math.min(1 - 1e-7, Math.max(1e-7, p));
  return Math.log(q / (1 - q));
};

export const applyPlatt = (c: Platt, p: number) => 1 / (1 + Math.exp(-(c.a * logit(p) + c.b)));

/** a, b minimising the weighted log-loss of sigmoid(a logit(p) + b) (Newton, a few steps); identity when it cannot be fitted. */
export function plattScaling(p: ArrayLike<number>, y: ArrayLike<number>, w: ArrayLike<number>): Platt {
  const z = Float64Array.from({ length: p.length }, (_, i) => logit(p[i]));
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 50; iter++) {
    let ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (let i = 0; i < z.length; i++) {
      const q = 1 / (1 + Math.exp(-(a * z[i] + b)));
      const g = w[i] * (q - y[i]);
      const h = w[i] * q * (1 - q) + 1e-9;
      ga += g * z[i];
      gb += g;
      haa += h * z[i] * z[i];
      hab += h * z[i];
      hbb += h;
    }
    haa += 1e-6;
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return Number.isFinite(a) && Number.isFinite(b) ? { a, b } : { a: 1, b: 0 };
}
