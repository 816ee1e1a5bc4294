// WebAssembly scorer: a module generated per tree model when it first scores (wasm-emit.ts), which
// scores blocks of rows copied into its memory. Scores are bit-identical to the JavaScript scorer
// (compile.ts): per row, the raw score starts at the initial score and adds each tree's leaf value
// (times the forest's 1 / trees, folded into the constants) in tree order, in doubles.
//
// How, chosen by measurement (BENCHMARKS.md, "WebAssembly scorer"):
// - Keys. A block's values are first turned into order-preserving 32-bit integer keys, row-major,
//   one key column per (feature, direction of missing values) the model uses. A missing value
//   becomes the smallest key where it must go left and the largest where it must go right, so
//   every node is one signed comparison: key > threshold key -> right. The threshold key is the
//   key of the largest float32 not above the double threshold, which for every float32 value
//   gives exactly the double comparison `value <= threshold` of compile.ts.
// - Branch-free descent: the next node is computed from the comparison instead of jumping on it,
//   so rows pay no branch mispredictions (nested if/else, as compile.ts does, measured slower than
//   the JavaScript). Trees of depth <= heapMaxDepth are padded to complete trees in heap order
//   (children of node i are 2i and 2i + 1: no child index to load); deeper trees keep explicit
//   child indices, leaves pointing to themselves, and take one step per level of their depth.
// - Tree at a time over the block, `rowsPerStep` rows interleaved level by level so their
//   independent descents overlap in the processor; the sums stay in the output buffer.
import type { Tree } from './tree.ts';
import { Code, emitModule, Op, type FuncSpec, type ValType } from './wasm-emit.ts';

export interface WasmScorerOptions {
  /** Rows descending a tree together, interleaved level by level. */
  rowsPerStep: number;
  /** Rows per block copied into the module's memory (a multiple of rowsPerStep). */
  blockRows: number;
  /** Deepest tree padded to a complete tree; deeper ones keep child indices. */
  heapMaxDepth: number;
  /** Trees are split across functions of about this many bytes of code (engines limit a function's size). */
  functionBytes: number;
  /** Largest generated module (bytes); a bigger model scores in JavaScript. */
  maxModuleBytes: number;
  /** Largest memory (tables + one block) of a model's module; a bigger model scores in JavaScript. */
  maxMemoryBytes: number;
}

/** The limits: 64 MiB of code is some 35,000 depth-6 trees; 256 MiB of memory some 60,000 depth-8 tables. */
export const WASM_DEFAULTS: WasmScorerOptions = { rowsPerStep: 8, blockRows: 1024, heapMaxDepth: 8, functionBytes: 256 * 1024, maxModuleBytes: 64 * 2 ** 20, maxMemoryBytes: 256 * 2 ** 20 };

const PAGE = 65536;
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/** The part of the WebAssembly JavaScript API used here (the project's lib has no DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
}
/** The engine's WebAssembly object, if it has one. */
export const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** Largest float32 not above x (x not NaN): for every float32 v, v <= x iff v <= floatBelow(x). */
export function floatBelow(x: number): number {
  const f = Math.fround(x);
  if (f <= x) return f;
  if (f === 0) return -(2 ** -149);
  f32[0] = f;
  i32[0] += f > 0 ? -1 : 1;
  return f32[0];
}

/** Order-preserving integer key of a float32 x (not NaN): x < y iff key(x) < key(y); key(-0) = key(0) = 0. */
export function floatKey(x: number): number {
  f32[0] = x;
  const b = i32[0];
  return ((b ^ ((b >> 31) >>> 1)) + (b >>> 31)) | 0;
}

/** Depth of a tree (0 for a single leaf); throws on a cycle or an index out of range. */
export function treeDepth(t: Tree): number {
  const n = t.feature.length;
  if (n === 0) return 0;
  let max = 0;
  let visited = 0;
  const stack: number[] = [0, 0];
  while (stack.length) {
    const d = stack.pop()!;
    const node = stack.pop()!;
    if (node < 0) {
      if (~node >= t.leafValue.length) throw new Error(`leaf ${~node} out of range`);
      max = Math.max(max, d);
      continue;
    }
    if (node >= n || ++visited > n) throw new Error('the nodes do not form a tree');
    stack.push(t.left[node], d + 1, t.right[node], d + 1);
  }
  return max;
}

/** The model to compile: its trees, initial score and the factor on every leaf value. */
export interface ScorerModel {
  trees: Tree[];
  initScore: number;
  /** Multiplies every leaf value (forest: 1 / trees; boosting: 1). */
  scale: number;
}

interface Layout {
  inBase: number;
  keyBase: number;
  outBase: number;
  memoryBytes: number;
}

/** A compiled model: `score` writes the raw scores of all rows. Not re-entrant (one block buffer). */
export class WasmScorer {
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private readonly run: (n: number) => void;

  constructor(
    /** Features read by the model: input slot s holds feature slots[s]. */
    readonly slots: number[],
    private readonly layout: Layout,
    readonly blockRows: number,
    /** Size of the module, bytes. */
    readonly moduleBytes: number,
    instance: WasmInstance,
  ) {
    const memory = instance.exports.memory as WasmMemory;
    this.f32 = new Float32Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
    this.run = instance.exports.score as (n: number) => void;
  }

  /** Raw scores of the first `rows` rows of `columns` into `raw`. */
  score(columns: Float32Array[], rows: number, raw: Float64Array): void {
    const B = this.blockRows;
    const { inBase, outBase } = this.layout;
    for (let start = 0; start < rows; start += B) {
      const n = Math.min(B, rows - start);
      for (let s = 0; s < this.slots.length; s++) this.f32.set(columns[this.slots[s]].subarray(start, start + n), inBase / 4 + s * B);
      this.run(n);
      raw.set(this.f64.subarray(outBase / 8, outBase / 8 + n), start);
    }
  }
}

/**
 * The scorer of a model, or the reason it cannot have one (the caller then scores in
 * JavaScript): no WebAssembly in this engine, a module or memory over the limits, a tree that is
 * not a tree, or a module the engine rejects.
 */
export function compileWasmScorer(model: ScorerModel, options: Partial<WasmScorerOptions> = {}): WasmScorer | string {
  if (!wasmApi) return 'WebAssembly is not available in this engine';
  const o = { ...WASM_DEFAULTS, ...options };
  const R = o.rowsPerStep;
  if (!(Number.isInteger(R) && R >= 1 && Number.isInteger(o.blockRows) && o.blockRows > 0 && o.blockRows % R === 0)) {
    throw new RangeError(`blockRows (${o.blockRows}) must be a positive multiple of rowsPerStep (${R})`);
  }
  let depths: number[];
  try {
    depths = model.trees.map(treeDepth);
  } catch (e) {
    return `invalid tree: ${(e as Error).message}`;
  }
  const plan = planKeys(model.trees);
  const tables = buildTables(model, depths, plan, o.heapMaxDepth);
  const layout = layoutFor(tables.bytes.length, plan.slots.length, plan.keyCols.length, o.blockRows);
  if (layout.memoryBytes > o.maxMemoryBytes) return `memory of ${layout.memoryBytes} bytes is over the ${o.maxMemoryBytes} byte limit`;
  let bytes: Uint8Array;
  try {
    bytes = emitScorer(model, depths, plan, tables, layout, o);
  } catch (e) {
    // A defect here must not stop scoring: the JavaScript scorer takes over (the reason is kept).
    return `module not generated: ${(e as Error).message}`;
  }
  if (bytes.length > o.maxModuleBytes) return `module of ${bytes.length} bytes is over the ${o.maxModuleBytes} byte limit`;
  let instance: WasmInstance;
  try {
    instance = new wasmApi.Instance(new wasmApi.Module(bytes), {});
  } catch (e) {
    return `WebAssembly module rejected: ${(e as Error).message}`;
  }
  new Uint8Array((instance.exports.memory as WasmMemory).buffer).set(tables.bytes, 0);
  return new WasmScorer(plan.slots, layout, o.blockRows, bytes.length, instance);
}

interface KeyPlan {
  /** Features read, ascending. */
  slots: number[];
  /** Key columns: input slot and where missing values go. */
  keyCols: { slot: number; nanRight: boolean }[];
  /** Key column of (feature, missing goes right). */
  keyOf(feature: number, nanRight: boolean): number;
}

function planKeys(trees: Tree[]): KeyPlan {
  const used = new Set<number>();
  for (const t of trees) for (const f of t.feature) used.add(f);
  const slots = [...used].sort((a, b) => a - b);
  const slotOf = new Map(slots.map((f, s) => [f, s]));
  const keyCols: KeyPlan['keyCols'] = [];
  const index = new Map<number, number>();
  const keyOf = (f: number, nanRight: boolean) => {
    const id = 2 * f + (nanRight ? 1 : 0);
    let k = index.get(id);
    if (k === undefined) {
      k = keyCols.length;
      keyCols.push({ slot: slotOf.get(f)!, nanRight });
      index.set(id, k);
    }
    return k;
  };
  for (const t of trees) for (let i = 0; i < t.feature.length; i++) keyOf(t.feature[i], !t.defaultLeft[i]);
  return { slots, keyCols, keyOf };
}

interface Tables {
  bytes: Uint8Array;
  /** Per tree: base address (heap: of entry 0; explicit: of node 0), -1 for a single leaf. */
  base: number[];
  /** Per explicit tree: offset of its leaf values from its base. */
  leafOffset: number[];
  /** Per heap tree: its root's key column byte offset and threshold key. */
  root: [number, number][];
}

/**
 * Tree tables. Heap trees: 8-byte entries indexed from 1, nodes (key column byte offset within a
 * row, threshold key) then leaves (f64 value); entry 0 is never read and overlaps the previous
 * table. Explicit trees: 16-byte nodes (offset, key, left id, right id), internal nodes first,
 * then one per leaf (threshold INT_MAX so it never goes right, both children itself), then the
 * f64 value of every node id.
 */
function buildTables(model: ScorerModel, depths: number[], plan: KeyPlan, heapMaxDepth: number): Tables {
  const { trees, scale } = model;
  const chunks: { offset: number; bytes: Uint8Array }[] = [];
  const base: number[] = [];
  const leafOffset: number[] = [];
  const root: [number, number][] = [];
  let size = 16;
  const nodeKey = (t: Tree, i: number): [number, number] => [plan.keyOf(t.feature[i], !t.defaultLeft[i]) * 4, floatKey(floatBelow(t.threshold[i]))];
  trees.forEach((t, ti) => {
    const d = depths[ti];
    if (d === 0) {
      base.push(-1);
      return;
    }
    if (d <= heapMaxDepth) {
      const view = new DataView(new ArrayBuffer(2 ** (d + 1) * 8));
      const fill = (node: number, h: number, level: number): void => {
        if (level === d) {
          view.setFloat64(h * 8, t.leafValue[~node] * scale, true);
        } else if (node < 0) {
          // A leaf above the last level: a node sending every row left, to copies of the leaf.
          view.setInt32(h * 8, 0, true);
          view.setInt32(h * 8 + 4, INT_MAX, true);
          fill(node, 2 * h, level + 1);
          fill(node, 2 * h + 1, level + 1);
        } else {
          const [off, key] = nodeKey(t, node);
          view.setInt32(h * 8, off, true);
          view.setInt32(h * 8 + 4, key, true);
          fill(t.left[node], 2 * h, level + 1);
          fill(t.right[node], 2 * h + 1, level + 1);
        }
      };
      fill(0, 1, 0);
      root[ti] = nodeKey(t, 0);
      base.push(size - 8);
      chunks.push({ offset: size, bytes: new Uint8Array(view.buffer, 8) });
      size += view.byteLength - 8;
    } else {
      const n = t.feature.length;
      const total = n + t.leafValue.length;
      const view = new DataView(new ArrayBuffer(total * 24));
      const id = (child: number) => (child < 0 ? n + ~child : child);
      for (let i = 0; i < total; i++) {
        const [off, key] = i < n ? nodeKey(t, i) : [0, INT_MAX];
        view.setInt32(i * 16, off, true);
        view.setInt32(i * 16 + 4, key, true);
        view.setInt32(i * 16 + 8, i < n ? id(t.left[i]) : i, true);
        view.setInt32(i * 16 + 12, i < n ? id(t.right[i]) : i, true);
        if (i >= n) view.setFloat64(total * 16 + i * 8, t.leafValue[i - n] * scale, true);
      }
      size = Math.ceil(size / 16) * 16;
      base.push(size);
      leafOffset[ti] = total * 16;
      chunks.push({ offset: size, bytes: new Uint8Array(view.buffer) });
      size += view.byteLength;
    }
  });
  const bytes = new Uint8Array(size);
  for (const c of chunks) bytes.set(c.bytes, c.offset);
  return { bytes, base, leafOffset, root };
}

function layoutFor(tablesBytes: number, slots: number, keyColumns: number, B: number): Layout {
  const align = (x: number) => Math.ceil(x / 16) * 16;
  const inBase = align(tablesBytes);
  const keyBase = align(inBase + slots * B * 4);
  const outBase = align(keyBase + keyColumns * B * 4);
  return { inBase, keyBase, outBase, memoryBytes: outBase + B * 8 };
}

/**
 * The module: `score(n)` rounds n up to whole steps (the buffers hold blockRows rows, so the
 * extra rows read stale values and write outputs nobody reads), writes the keys, sets every
 * output to the initial score, then calls the tree functions in order.
 */
function emitScorer(model: ScorerModel, depths: number[], plan: KeyPlan, tables: Tables, layout: Layout, o: WasmScorerOptions): Uint8Array {
  const R = o.rowsPerStep;
  const rowBytes = plan.keyCols.length * 4;
  // Locals of every function: 0 n, 1 rp (key row pointer), 2 end, 3 op (output pointer),
  // 4 s, 5 d, 6 v (key transform), then per row k of a step: idx, addr (i32), then acc (f64).
  const N = 0, RP = 1, END = 2, OP = 3, S = 4, D = 5, V = 6;
  const idx = (k: number) => 7 + 2 * k;
  const addr = (k: number) => 8 + 2 * k;
  const acc = (k: number) => 7 + 2 * R + k;
  const locals: ValType[] = [...Array<ValType>(6 + 2 * R).fill('i32'), ...Array<ValType>(R).fill('f64')];

  /** A loop over the block's steps: rp and op advance by one step. */
  const stepLoop = (c: Code, body: () => void) => {
    c.i32(layout.keyBase).set(RP).i32(layout.outBase).set(OP);
    c.loop();
    body();
    c.get(OP).i32(8 * R).op(Op.i32Add).set(OP);
    c.get(RP).i32(rowBytes * R).op(Op.i32Add).tee(RP).get(END).op(Op.i32LtU).brIf(0);
    c.end();
  };
  /** The end of the block's key rows, bound of stepLoop (a model without splits has no keys and loops over outputs instead). */
  const setEnd = (c: Code) => {
    if (rowBytes > 0) c.get(N).i32(rowBytes).op(Op.i32Mul).i32(layout.keyBase).op(Op.i32Add).set(END);
  };

  // Main function: keys, initial scores, then the tree functions.
  const main = new Code();
  main.get(N).i32(R - 1).op(Op.i32Add).tee(N).get(N).i32(R).op(Op.i32RemU).op(Op.i32Sub).set(N);
  main.block().get(N).op(Op.i32Eqz).brIf(0);
  emitKeyTransform(main, plan, layout, o.blockRows, rowBytes, { N, S, D, V });
  // Initial scores, one output per row.
  main.i32(layout.outBase).set(OP).get(N).i32(3).op(Op.i32Shl).i32(layout.outBase).op(Op.i32Add).set(END);
  main.loop().get(OP).f64(model.initScore).mem(Op.f64Store, 3, 0);
  main.get(OP).i32(8).op(Op.i32Add).tee(OP).get(END).op(Op.i32LtU).brIf(0).end();

  // Tree functions, each a run of trees of about functionBytes of code.
  const funcs: FuncSpec[] = [];
  let c = new Code();
  const flush = () => {
    if (c.size === 0) return;
    funcs.push({ params: ['i32'], results: [], locals, body: c });
    c = new Code();
  };
  model.trees.forEach((t, ti) => {
    const d = depths[ti];
    if (rowBytes === 0) {
      // No key at all: every tree is a single leaf; loop over the outputs.
      c.i32(layout.outBase).set(OP).get(N).i32(3).op(Op.i32Shl).i32(layout.outBase).op(Op.i32Add).set(END);
      c.loop().get(OP).get(OP).mem(Op.f64Load, 3, 0).f64(t.leafValue[0] * model.scale).op(Op.f64Add).mem(Op.f64Store, 3, 0);
      c.get(OP).i32(8).op(Op.i32Add).tee(OP).get(END).op(Op.i32LtU).brIf(0).end();
    } else {
      setEnd(c);
      stepLoop(c, () => {
        for (let k = 0; k < R; k++) c.get(OP).mem(Op.f64Load, 3, k * 8).set(acc(k));
        if (d === 0) for (let k = 0; k < R; k++) c.get(acc(k)).f64(t.leafValue[0] * model.scale).op(Op.f64Add).set(acc(k));
        else if (d <= o.heapMaxDepth) emitHeapDescent(c, tables.base[ti], tables.root[ti], d);
        else emitExplicitDescent(c, tables.base[ti], tables.leafOffset[ti], d);
        for (let k = 0; k < R; k++) c.get(OP).get(acc(k)).mem(Op.f64Store, 3, k * 8);
      });
    }
    if (c.size >= o.functionBytes) flush();
  });
  flush();
  funcs.forEach((_, i) => main.get(N).call(i + 1));
  main.end();

  /** Heap tree: root from constants, then idx = 2 idx + (key > threshold key) per level. */
  function emitHeapDescent(c: Code, base: number, root: [number, number], d: number): void {
    const [off0, key0] = root;
    for (let k = 0; k < R; k++) c.i32(2).get(RP).mem(Op.i32Load, 2, off0 + k * rowBytes).i32(key0).op(Op.i32GtS).op(Op.i32Add).set(idx(k));
    for (let level = 1; level < d; level++) {
      for (let k = 0; k < R; k++) {
        c.get(idx(k)).i32(1).op(Op.i32Shl);
        c.get(idx(k)).i32(3).op(Op.i32Shl).tee(addr(k)).mem(Op.i32Load, 2, base).get(RP).op(Op.i32Add).mem(Op.i32Load, 2, k * rowBytes);
        c.get(addr(k)).mem(Op.i32Load, 2, base + 4).op(Op.i32GtS).op(Op.i32Add).set(idx(k));
      }
    }
    for (let k = 0; k < R; k++) c.get(acc(k)).get(idx(k)).i32(3).op(Op.i32Shl).mem(Op.f64Load, 3, base).op(Op.f64Add).set(acc(k));
  }

  /** Explicit tree: d steps of node = child[node][key > threshold key]; leaves loop on themselves. */
  function emitExplicitDescent(c: Code, base: number, leafOffset: number, d: number): void {
    for (let k = 0; k < R; k++) c.i32(0).set(idx(k));
    for (let level = 0; level < d; level++) {
      for (let k = 0; k < R; k++) {
        c.get(idx(k)).i32(4).op(Op.i32Shl).tee(addr(k));
        c.get(addr(k)).mem(Op.i32Load, 2, base).get(RP).op(Op.i32Add).mem(Op.i32Load, 2, k * rowBytes);
        c.get(addr(k)).mem(Op.i32Load, 2, base + 4).op(Op.i32GtS).i32(2).op(Op.i32Shl).op(Op.i32Add);
        c.mem(Op.i32Load, 2, base + 8).set(idx(k));
      }
    }
    for (let k = 0; k < R; k++) c.get(acc(k)).get(idx(k)).i32(3).op(Op.i32Shl).mem(Op.f64Load, 3, base + leafOffset).op(Op.f64Add).set(acc(k));
  }

  const pages = Math.max(1, Math.ceil(layout.memoryBytes / PAGE));
  return emitModule({
    memory: { min: pages, max: pages },
    funcs: [{ params: ['i32'], results: [], locals, body: main, export: 'score' }, ...funcs],
  });
}

/** Keys of the block: key column j of row r = key(value of its slot) at keyBase + (r K + j) 4. */
function emitKeyTransform(c: Code, plan: KeyPlan, layout: Layout, B: number, rowBytes: number, l: { N: number; S: number; D: number; V: number }): void {
  plan.keyCols.forEach((col, j) => {
    const src = layout.inBase + col.slot * B * 4;
    // for (s = 0, d = row 0's key j; s < 4 n; s += 4, d += rowBytes)
    //   mem[d] = isNaN(bits) ? nanKey : (bits ^ ((bits >>s 31) >>u 1)) + (bits >>u 31)
    c.i32(0).set(l.S).i32(layout.keyBase + j * 4).set(l.D);
    c.loop();
    c.get(l.D).i32(col.nanRight ? INT_MAX : INT_MIN);
    c.get(l.S).mem(Op.i32Load, 2, src).tee(l.V).get(l.V).i32(31).op(Op.i32ShrS).i32(1).op(Op.i32ShrU).op(Op.i32Xor);
    c.get(l.V).i32(31).op(Op.i32ShrU).op(Op.i32Add);
    c.get(l.V).i32(0x7fffffff).op(Op.i32And).i32(0x7f800000).op(Op.i32GtU);
    c.op(Op.select).mem(Op.i32Store, 2, 0);
    c.get(l.D).i32(rowBytes).op(Op.i32Add).set(l.D);
    c.get(l.S).i32(4).op(Op.i32Add).tee(l.S).get(l.N).i32(2).op(Op.i32Shl).op(Op.i32LtU).brIf(0);
    c.end();
  });
}
