// The versioned model format `personas-gbdt/1`: parameters, feature names and trees as arrays,
// floats written losslessly (JSON numbers of doubles round-trip exactly; Infinity thresholds are
// written as the string "inf"). `loadEnsemble` is strict: a wrong version, a missing or corrupted
// field is a ModelError naming it.
import { ModelError } from '../../errors.ts';
import type { EnsembleState } from './state.ts';
import type { Tree } from './tree.ts';

export const GBDT_FORMAT = 'personas-gbdt/1';

interface TreeJson {
  feature: number[];
  threshold: (number | 'inf')[];
  defaultLeft: number[];
  left: number[];
  right: number[];
  leafValue: number[];
  gain: number[];
}

export function serialiseEnsemble(s: EnsembleState): unknown {
  return {
    format: GBDT_FORMAT,
    kind: s.kind,
    params: s.params,
    featureNames: s.featureNames,
    initScore: s.initScore,
    output: s.output,
    bestIteration: s.bestIteration ?? null,
    ...(s.calibration ? { calibration: s.calibration } : {}),
    trees: s.trees.map(
      (t): TreeJson => ({
        feature: Array.from(t.feature),
        threshold: Array.from(t.threshold, (v) => (v === Infinity ? 'inf' : v)),
        defaultLeft: Array.from(t.defaultLeft),
        left: Array.from(t.left),
        right: Array.from(t.right),
        leafValue: Array.from(t.leafValue),
        gain: Array.from(t.gain),
      }),
    ),
  };
}

function fail(field: string, expected: string): never {
  throw new ModelError('MODEL_FORMAT', `model file: field "${field}" is missing or invalid (expected ${expected})`, { field });
}

function numbers(v: unknown, field: string, integer = false): number[] {
  if (!Array.isArray(v)) fail(field, 'an array of numbers');
  for (const x of v) if (typeof x !== 'number' || !Number.isFinite(x) || (integer && !Number.isInteger(x))) fail(field, integer ? 'integers' : 'finite numbers');
  return v as number[];
}

export function parseEnsemble(json: unknown): EnsembleState {
  if (!json || typeof json !== 'object') fail('(root)', 'a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== GBDT_FORMAT) {
    throw new ModelError('MODEL_FORMAT', `model file: format "${String(o.format)}" is not supported (this code reads ${GBDT_FORMAT})`, { field: 'format' });
  }
  if (o.kind !== 'gbdt' && o.kind !== 'forest') fail('kind', '"gbdt" or "forest"');
  if (o.output !== 'sigmoid' && o.output !== 'mean') fail('output', '"sigmoid" or "mean"');
  if (!Array.isArray(o.featureNames) || !o.featureNames.every((n) => typeof n === 'string')) fail('featureNames', 'an array of strings');
  if (typeof o.initScore !== 'number' || !Number.isFinite(o.initScore)) fail('initScore', 'a finite number');
  if (!o.params || typeof o.params !== 'object') fail('params', 'an object');
  if (!Array.isArray(o.trees)) fail('trees', 'an array');
  const cal = o.calibration as Record<string, unknown> | undefined;
  if (cal !== undefined && (!cal || typeof cal.a !== 'number' || typeof cal.b !== 'number' || !Number.isFinite(cal.a) || !Number.isFinite(cal.b))) {
    fail('calibration', '{ a, b } finite numbers');
  }
  const nFeatures = (o.featureNames as string[]).length;
  const trees: Tree[] = (o.trees as unknown[]).map((t, i) => {
    const at = (f: string) => `trees[${i}].${f}`;
    if (!t || typeof t !== 'object') fail(`trees[${i}]`, 'an object');
    const tj = t as Record<string, unknown>;
    const feature = numbers(tj.feature, at('feature'), true);
    if (!Array.isArray(tj.threshold) || tj.threshold.some((v) => v !== 'inf' && (typeof v !== 'number' || Number.isNaN(v)))) fail(at('threshold'), 'numbers or "inf"');
    const threshold = (tj.threshold as (number | 'inf')[]).map((v) => (v === 'inf' ? Infinity : v));
    const defaultLeft = numbers(tj.defaultLeft, at('defaultLeft'), true);
    const left = numbers(tj.left, at('left'), true);
    const right = numbers(tj.right, at('right'), true);
    const leafValue = numbers(tj.leafValue, at('leafValue'));
    const gain = numbers(tj.gain, at('gain'));
    const n = feature.length;
    if ([threshold, defaultLeft, left, right, gain].some((a) => a.length !== n)) fail(`trees[${i}]`, 'node arrays of equal length');
    if (leafValue.length !== n + 1) fail(at('leafValue'), `${n + 1} leaf values for ${n} internal nodes`);
    for (const f of feature) if (f < 0 || f >= nFeatures) fail(at('feature'), `feature indices in [0, ${nFeatures})`);
    for (const c of [...left, ...right]) if (c >= n || ~c >= n + 1) fail(at('left/right'), 'node or leaf indices within the tree');
    return {
      feature: Int32Array.from(feature),
      threshold: Float64Array.from(threshold),
      defaultLeft: Uint8Array.from(defaultLeft),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      leafValue: Float64Array.from(leafValue),
      gain: Float64Array.from(gain),
    };
  });
  return {
    kind: o.kind,
    params: o.params as Record<string, unknown>,
    featureNames: o.featureNames as string[],
    initScore: o.initScore,
    output: o.output,
    trees,
    bestIteration: typeof o.bestIteration === 'number' ? o.bestIteration : undefined,
    ...(cal ? { calibration: { a: cal.a as number, b: cal.b as number } } : {}),
  };
}
