// The WebAssembly scorer: the binary emitter (LEB128, constants, control flow, memory; modules
// checked by the engine's own validator and run), the float32 threshold and key helpers, and the
// scorer's raw scores and probabilities compared bit for bit with the JavaScript scorer on random
// models (NaN, -0, infinities, thresholds on and between float32 values, unused features,
// single-leaf and deep trees), trained boosted trees and forests, and a model loaded from JSON.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GbdtLearner, loadTreeModel, RandomForestLearner, TreeEnsemble, type EnsembleState, type Tree } from '../../../src/models/gbdt/index.ts';
import { Code, emitModule, f32Bytes, f64Bytes, Op, sleb, uleb, type ValType } from '../../../src/models/gbdt/wasm-emit.ts';
import { compileWasmScorer, floatBelow, floatKey, treeDepth, WASM_DEFAULTS } from '../../../src/models/gbdt/wasm.ts';
import { Random } from '../../../src/random.ts';
import { syntheticData } from '../../../bench/synthetic.ts';

/** The engine's WebAssembly API (the project's TypeScript lib has no DOM types). */
const wasm = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean; Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: Record<string, unknown> } } })
  .WebAssembly;

/** Instantiates a module of one exported function `f`; returns it. */
function fn(params: ValType[], results: ValType[], locals: ValType[], build: (c: Code) => void): (...args: unknown[]) => unknown {
  const body = new Code();
  build(body);
  const bytes = emitModule({ memory: { min: 1, max: 1 }, funcs: [{ params, results, locals, body, export: 'f' }] });
  expect(wasm.validate(bytes)).toBe(true);
  return new wasm.Instance(new wasm.Module(bytes), {}).exports.f as (...args: unknown[]) => unknown;
}

describe('LEB128', () => {
  it('encodes unsigned values at the 7-bit boundaries and the largest sizes', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(2 ** 32 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(uleb(2 ** 53 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(uleb(2n ** 64n - 1n)).toEqual([...Array(9).fill(0xff), 0x01]);
    expect(() => uleb(-1)).toThrow(RangeError);
    expect(() => uleb(2 ** 53)).toThrow(RangeError);
    expect(() => uleb(0.5)).toThrow();
  });

  it('encodes signed values with the sign bit of the last byte', () => {
    expect(sleb(0)).toEqual([0]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(2 ** 31 - 1)).toEqual([0xff, 0xff, 0xff, 0xff, 0x07]);
    expect(sleb(-(2 ** 31))).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
    expect(sleb(-(2n ** 63n))).toEqual([...Array(9).fill(0x80), 0x7f]);
    expect(() => sleb(2 ** 53)).toThrow(RangeError);
  });

  it('round-trips through the engine: i32 and i64 constants at their limits', () => {
    for (const v of [0, 1, -1, 63, 64, -64, -65, 127, 128, 8191, 8192, -8193, 2 ** 31 - 1, -(2 ** 31), 123456789, -987654321]) {
      expect(fn([], ['i32'], [], (c) => c.i32(v))()).toBe(v);
    }
    // Unsigned 32-bit values are accepted and wrap like i32.
    expect(fn([], ['i32'], [], (c) => c.i32(0xffffffff))()).toBe(-1);
    expect(() => new Code().i32(2 ** 32)).toThrow(RangeError);
    for (const v of [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 40n + 3n]) expect(fn([], ['i64'], [], (c) => c.i64(v))()).toBe(v);
  });
});

describe('emitter', () => {
  it('writes float constants exactly: -0, infinities, NaN, subnormals', () => {
    for (const v of [0, -0, 1.5, -2.25e-300, Infinity, -Infinity, 5e-324, Number.MAX_VALUE]) expect(Object.is(fn([], ['f64'], [], (c) => c.f64(v))(), v)).toBe(true);
    expect(fn([], ['f64'], [], (c) => c.f64(NaN))()).toBeNaN();
    for (const v of [0, -0, 0.1, Infinity, -Infinity, 2 ** -149, 3.4028234663852886e38]) expect(Object.is(fn([], ['f32'], [], (c) => c.f32(v))(), Math.fround(v))).toBe(true);
    expect(f32Bytes(1)).toEqual([0, 0, 0x80, 0x3f]);
    expect(f64Bytes(-0)).toEqual([0, 0, 0, 0, 0, 0, 0, 0x80]);
  });

  it('runs loops, if/else with results, locals and memory', () => {
    // sum of 1..n with a loop and a branch back.
    const sum = fn(['i32'], ['i32'], ['i32'], (c) => {
      c.block().get(0).op(Op.i32Eqz).brIf(0);
      c.loop().get(1).get(0).op(Op.i32Add).set(1).get(0).i32(1).op(Op.i32Sub).tee(0).brIf(0).end();
      c.end().get(1);
    });
    expect(sum(0)).toBe(0);
    expect(sum(100)).toBe(5050);
    // Nested if/else with f64 results: the sign of x, NaN -> 0.
    const sign = fn(['f64'], ['f64'], [], (c) => {
      c.get(0).f64(0).op(Op.f64Gt).if('f64').f64(1).else();
      c.get(0).f64(0).op(Op.f64Lt).if('f64').f64(-1).else().f64(0).end();
      c.end();
    });
    expect([sign(3), sign(-0.5), sign(0), sign(NaN)]).toEqual([1, -1, 0, 0]);
    // Memory: store an f32 at an offset, load it back promoted to f64.
    const mem = fn(['f32'], ['f64'], [], (c) => {
      c.i32(8).get(0).mem(Op.f32Store, 2, 100);
      c.i32(8).mem(Op.f32Load, 2, 100).op(Op.f64PromoteF32);
    });
    expect(mem(0.1)).toBe(Math.fround(0.1));
  });

  it('calls functions and splits runs of locals', () => {
    const a = new Code().get(0).get(1).op(Op.i32Mul);
    const b = new Code().get(0).get(0).call(1).i32(5).set(1).get(1).op(Op.i32Add);
    const bytes = emitModule({
      funcs: [
        { params: ['i32'], results: ['i32'], locals: ['i32', 'f64', 'f64', 'i32'], body: b, export: 'f' },
        { params: ['i32', 'i32'], results: ['i32'], locals: [], body: a },
      ],
    });
    expect(wasm.validate(bytes)).toBe(true);
    const f = new wasm.Instance(new wasm.Module(bytes), {}).exports.f as (x: number) => number;
    expect(f(7)).toBe(54);
  });

  it('refuses unbalanced blocks, and the engine rejects a corrupted module', () => {
    expect(() => new Code().block().finish()).toThrow(/left open/);
    expect(() => new Code().end()).toThrow(/without an open block/);
    const good = emitModule({ funcs: [{ params: [], results: ['i32'], locals: [], body: new Code().i32(1), export: 'f' }] });
    expect(wasm.validate(good)).toBe(true);
    const bad = Uint8Array.from(good);
    expect(Array.from(good.slice(-3))).toEqual([Op.i32Const, 1, Op.end]);
    bad[bad.length - 3] = Op.f64Const; // i32.const 1 turned into a truncated f64.const
    expect(wasm.validate(bad)).toBe(false);
    // A result of the wrong type: valid binary structure, invalid module.
    expect(wasm.validate(emitModule({ funcs: [{ params: [], results: ['i32'], locals: [], body: new Code().f64(1) }] }))).toBe(false);
  });
});

const rng = new Random(2026);
const f32 = (x: number) => Math.fround(x);
/** Values that stress the comparisons: exact float32s, their neighbours, signed zeros, infinities. */
const SPECIAL = [0, -0, Infinity, -Infinity, 1, -1, 0.1, f32(0.1), 1e-45, -1e-45, 2 ** -149, 3.4e38, -3.4e38, 3.5e38, 1e300, -1e300];

function randomThreshold(): number {
  const r = rng.next();
  if (r < 0.15) return SPECIAL[rng.int(SPECIAL.length)];
  if (r < 0.4) return f32(rng.normal()); // exactly a float32: values equal to it go left
  if (r < 0.5) return rng.int(10) - 5; // integer-valued features
  return rng.normal(); // between two float32s
}

/** A random tree on `features` (only some of them), depth at most maxDepth. */
function randomTree(features: number, maxDepth: number, usable: number[]): Tree {
  const nodes = { feature: [] as number[], threshold: [] as number[], defaultLeft: [] as number[], left: [] as number[], right: [] as number[] };
  const leaves: number[] = [];
  const grow = (depth: number): number => {
    if (depth >= maxDepth || (depth > 0 && rng.next() < 0.25)) {
      leaves.push(rng.next() < 0.05 ? -0 : rng.normal() * 0.3);
      return ~(leaves.length - 1);
    }
    const i = nodes.feature.length;
    nodes.feature.push(usable[rng.int(usable.length)]);
    nodes.threshold.push(randomThreshold());
    nodes.defaultLeft.push(rng.int(2));
    nodes.left.push(0);
    nodes.right.push(0);
    nodes.left[i] = grow(depth + 1);
    nodes.right[i] = grow(depth + 1);
    return i;
  };
  grow(0);
  void features;
  return {
    feature: Int32Array.from(nodes.feature),
    threshold: Float64Array.from(nodes.threshold),
    defaultLeft: Uint8Array.from(nodes.defaultLeft),
    left: Int32Array.from(nodes.left),
    right: Int32Array.from(nodes.right),
    leafValue: Float64Array.from(leaves),
    gain: new Float64Array(nodes.feature.length).fill(1),
  };
}

const singleLeaf = (v: number): Tree => ({
  feature: new Int32Array(0),
  threshold: new Float64Array(0),
  defaultLeft: new Uint8Array(0),
  left: new Int32Array(0),
  right: new Int32Array(0),
  leafValue: Float64Array.of(v),
  gain: new Float64Array(0),
});

/** Rows mixing ordinary values with NaN, signed zeros, infinities and the thresholds themselves. */
function randomMatrix(rows: number, features: number, trees: Tree[]): { rows: number; columns: Float32Array[] } {
  const thresholds = trees.flatMap((t) => Array.from(t.threshold));
  const columns = Array.from({ length: features }, () =>
    Float32Array.from({ length: rows }, () => {
      const r = rng.next();
      if (r < 0.08) return NaN;
      if (r < 0.16) return SPECIAL[rng.int(SPECIAL.length)];
      if (r < 0.3 && thresholds.length) return thresholds[rng.int(thresholds.length)];
      if (r < 0.4) return rng.int(10) - 5;
      return rng.normal();
    }),
  );
  return { rows, columns };
}

function ensemble(trees: Tree[], features: number, kind: 'gbdt' | 'forest'): TreeEnsemble {
  const state: EnsembleState = {
    kind,
    params: {},
    featureNames: Array.from({ length: features }, (_, j) => `f${j}`),
    initScore: kind === 'gbdt' ? rng.normal() : 0,
    trees,
    output: kind === 'gbdt' ? 'sigmoid' : 'mean',
  };
  return new TreeEnsemble(state);
}

/** Same bits, NaN included (toEqual treats -0 and 0 as different already; this says where). */
function expectSameBits(actual: Float64Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  let firstDiff = -1;
  for (let i = 0; i < actual.length && firstDiff < 0; i++) if (!Object.is(actual[i], expected[i])) firstDiff = i;
  expect(firstDiff, firstDiff >= 0 ? `row ${firstDiff}: ${actual[firstDiff]} vs ${expected[firstDiff]}` : '').toBe(-1);
}

describe('float32 thresholds and keys', () => {
  it('floatBelow gives the same comparison for every float32 as the double threshold', () => {
    const xs = [...SPECIAL, ...Array.from({ length: 2000 }, () => randomThreshold()), 1.401298464324817e-45 / 2, -1.401298464324817e-45 / 2];
    const vs = Float32Array.from([...SPECIAL, ...Array.from({ length: 300 }, () => rng.normal()), ...xs.map(f32)]);
    for (const x of xs) {
      const t = floatBelow(x);
      expect(Math.fround(t)).toBe(t);
      expect(t <= x).toBe(true);
      for (const v of vs) if (v <= x !== v <= t) throw new Error(`${v} <= ${x} differs from ${v} <= ${t}`);
    }
  });

  it('floatKey orders float32 values as numbers, with -0 equal to 0', () => {
    const vs = Array.from(Float32Array.from([...SPECIAL, ...Array.from({ length: 500 }, () => rng.normal() * 10 ** rng.int(6))]));
    expect(floatKey(-0)).toBe(0);
    for (let i = 0; i < vs.length; i++) {
      const a = vs[i];
      const b = vs[(i * 7 + 3) % vs.length];
      expect(Math.sign(floatKey(a) - floatKey(b))).toBe(Math.sign(a - b) || 0);
    }
  });

  it('treeDepth measures trees and refuses node arrays that are not a tree', () => {
    expect(treeDepth(singleLeaf(1))).toBe(0);
    const t = randomTree(5, 7, [0, 1, 2, 3, 4]);
    expect(treeDepth(t)).toBeLessThanOrEqual(7);
    const cyclic = { ...t, left: Int32Array.from(t.left, (c, i) => (i === 0 ? 0 : c)) };
    if (t.feature.length > 0) expect(() => treeDepth(cyclic)).toThrow(/do not form a tree/);
  });
});

describe('WebAssembly scorer', () => {
  it('is the scorer in use on this engine', () => {
    const m = ensemble([randomTree(4, 3, [0, 1, 2, 3])], 4, 'gbdt');
    expect(m.scorer()).toEqual({ kind: 'wasm' });
  });

  it('gives bit-identical raw scores and probabilities on random models, row counts not a multiple of the block', () => {
    const features = 12;
    // Features 3 and 7 are never used; trees of depth 0 to 8 (heap) and 9 to 14 (explicit).
    const usable = [0, 1, 2, 4, 5, 6, 8, 9, 10, 11];
    for (const [kind, maxDepth, count] of [
      ['gbdt', 6, 60],
      ['gbdt', 3, 7],
      ['forest', 11, 25],
      ['gbdt', 14, 10],
    ] as const) {
      const trees = Array.from({ length: count }, (_, i) => (i % 9 === 4 ? singleLeaf(rng.normal()) : randomTree(features, maxDepth, usable)));
      const m = ensemble(trees, features, kind);
      for (const rows of [0, 1, 7, WASM_DEFAULTS.blockRows, 3 * WASM_DEFAULTS.blockRows + 13]) {
        const x = randomMatrix(rows, features, trees);
        expectSameBits(m.predictRaw(x), m.predictRaw(x, { scorer: 'js' }));
        expectSameBits(m.predictProba(x), m.predictProba(x, { scorer: 'js' }));
      }
    }
  });

  it('stays bit-identical with other step sizes, blocks, padding depths and code split across functions', () => {
    const features = 6;
    const trees = Array.from({ length: 15 }, () => randomTree(features, 7, [0, 1, 2, 3, 4, 5]));
    const m = ensemble(trees, features, 'gbdt');
    const x = randomMatrix(2500, features, trees);
    const expected = m.predictRaw(x, { scorer: 'js' });
    for (const o of [
      { rowsPerStep: 1, blockRows: 64 },
      { rowsPerStep: 3, blockRows: 996 },
      { rowsPerStep: 8, blockRows: 1024, heapMaxDepth: 0 },
      { rowsPerStep: 5, blockRows: 4000, heapMaxDepth: 4 },
      // A function per tree or so: the trees called in order from several functions.
      { functionBytes: 1000 },
    ]) {
      const s = compileWasmScorer({ trees, initScore: m.state.initScore, scale: 1 }, o);
      if (typeof s === 'string') throw new Error(s);
      const raw = new Float64Array(x.rows);
      s.score(x.columns, x.rows, raw);
      expectSameBits(raw, expected);
    }
    expect(() => compileWasmScorer({ trees, initScore: 0, scale: 1 }, { rowsPerStep: 3, blockRows: 1000 })).toThrow(/multiple of rowsPerStep/);
  });

  it('scores models without splits or without trees', () => {
    for (const trees of [[], [singleLeaf(0.5), singleLeaf(-0), singleLeaf(-1.25)]]) {
      const m = ensemble(trees, 3, 'gbdt');
      const x = randomMatrix(1500, 3, trees);
      expect(m.scorer().kind).toBe('wasm');
      expectSameBits(m.predictProba(x), m.predictProba(x, { scorer: 'js' }));
    }
  });

  it('gives bit-identical probabilities for trained boosted trees and forests, and a model loaded from JSON', () => {
    const train = syntheticData(3000, 31);
    const test = syntheticData(2 * WASM_DEFAULTS.blockRows + 77, 32);
    for (let i = 0; i < test.rows; i += 5) test.columns[(i * 7) % 30][i] = NaN;
    const gbdt = new GbdtLearner({ numTrees: 40, seed: 2 }).fit({ x: train, y: train.y });
    const forest = new RandomForestLearner({ numTrees: 12, seed: 2 }).fit({ x: train, y: train.y });
    for (const m of [gbdt, forest, loadTreeModel(JSON.parse(JSON.stringify(gbdt.toJSON()))), loadTreeModel(JSON.parse(JSON.stringify(forest.toJSON())))]) {
      expect(m.scorer().kind).toBe('wasm');
      expectSameBits(m.predictProba(test), m.predictProba(test, { scorer: 'js' }));
    }
  });

  it('explains why a model cannot have a module: over the limits, or trees that are not trees', () => {
    const t = randomTree(3, 5, [0, 1, 2]);
    expect(compileWasmScorer({ trees: [t], initScore: 0, scale: 1 }, { maxModuleBytes: 100 })).toMatch(/module of \d+ bytes is over the 100 byte limit/);
    expect(compileWasmScorer({ trees: [t], initScore: 0, scale: 1 }, { maxMemoryBytes: 1000 })).toMatch(/memory of \d+ bytes is over the 1000 byte limit/);
    const broken = { ...t, right: Int32Array.from(t.right, () => 0) };
    expect(compileWasmScorer({ trees: [broken], initScore: 0, scale: 1 })).toMatch(/invalid tree/);
  });

  it('falls back to the JavaScript scorer where WebAssembly is unavailable (node --jitless), with the same scores', () => {
    const train = syntheticData(1500, 51);
    const test = syntheticData(1200, 52);
    const m = new GbdtLearner({ numTrees: 10, seed: 1 }).fit({ x: train, y: train.y });
    const dir = mkdtempSync(join(tmpdir(), 'personas-wasm-'));
    try {
      writeFileSync(join(dir, 'model.json'), JSON.stringify(m.toJSON()));
      const script = [
        `import { readFileSync } from 'node:fs';`,
        `import { loadTreeModel } from ${JSON.stringify(new URL('../../../src/models/gbdt/index.ts', import.meta.url).pathname)};`,
        `import { syntheticData } from ${JSON.stringify(new URL('../../../bench/synthetic.ts', import.meta.url).pathname)};`,
        `const m = loadTreeModel(JSON.parse(readFileSync(${JSON.stringify(join(dir, 'model.json'))}, 'utf8')));`,
        `const p = m.predictProba(syntheticData(1200, 52));`,
        `console.log(JSON.stringify({ scorer: m.scorer(), p: Array.from(p) }));`,
      ].join('\n');
      writeFileSync(join(dir, 'run.ts'), script);
      const out = execFileSync(process.execPath, ['--jitless', '--import', 'tsx', join(dir, 'run.ts')], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      const result = JSON.parse(out.trim().split('\n').pop()!) as { scorer: { kind: string; reason: string }; p: number[] };
      expect(result.scorer).toEqual({ kind: 'js', reason: 'WebAssembly is not available in this engine' });
      expect(result.p).toEqual(Array.from(m.predictProba(test)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
