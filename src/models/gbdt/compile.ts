// Compiled scoring: each tree becomes a small JavaScript function of nested comparisons with its
// thresholds and leaf values as constants (the approach of treelite), which V8 optimises to
// machine code; no node arrays are read while scoring. A missing value takes the default
// direction for free: `!(v > t)` is true for NaN, `v <= t` is false for NaN.
// The source is built only from validated numbers (feature indices, thresholds, leaf values), so
// no text of a model file ever reaches the generated code.
import type { Tree } from './tree.ts';

export type CompiledTree = (cols: Float32Array[], raw: Float64Array, start: number, end: number, scale: number) => void;

const num = (x: number): string => {
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  return Object.is(x, -0) ? '-0' : String(x);
};

function nodeSource(t: Tree, node: number, indent: string): string {
  if (node < 0) return `${indent}s = ${num(t.leafValue[~node])};\n`;
  const f = t.feature[node];
  if (!Number.isInteger(f) || f < 0) throw new Error(`invalid feature index ${f}`);
  const test = t.defaultLeft[node] ? `!(c${f}[i] > ${num(t.threshold[node])})` : `c${f}[i] <= ${num(t.threshold[node])}`;
  return (
    `${indent}if (${test}) {\n` +
    nodeSource(t, t.left[node], indent + '  ') +
    `${indent}} else {\n` +
    nodeSource(t, t.right[node], indent + '  ') +
    `${indent}}\n`
  );
}

export function compileTree(t: Tree): CompiledTree {
  if (t.feature.length === 0) {
    const v = t.leafValue[0];
    return (_cols, raw, start, end, scale) => {
      for (let i = start; i < end; i++) raw[i] += v * scale;
    };
  }
  const used = [...new Set(Array.from(t.feature))].sort((a, b) => a - b);
  const body =
    used.map((f) => `const c${f} = cols[${f}];\n`).join('') +
    'for (let i = start; i < end; i++) {\n  let s = 0;\n' +
    nodeSource(t, 0, '  ') +
    '  raw[i] += s * scale;\n}\n';
  return new Function('cols', 'raw', 'start', 'end', 'scale', body) as CompiledTree;
}
