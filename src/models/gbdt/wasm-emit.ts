// A small WebAssembly binary emitter: enough of the format (the MVP instructions we use) to write
// a module at runtime without a toolchain. It knows LEB128 integers, IEEE constants, function
// types, one memory, functions with locals, exports, and structured control (block, loop, if).
// The scorer (wasm.ts) generates one module per tree model with it. Spec: the WebAssembly Core
// Specification 1.0, chapter 5 (binary format).

export type ValType = 'i32' | 'i64' | 'f32' | 'f64';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c };

/** Unsigned LEB128 of a non-negative integer: a safe-integer number, or a bigint of any size. */
export function uleb(value: number | bigint): number[] {
  const out: number[] = [];
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`uleb: ${value} is not a non-negative safe integer`);
    // Plain arithmetic (no bigint): the generator calls this for every immediate.
    let v = value;
    while (v >= 128) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return out;
  }
  let v = value;
  if (v < 0n) throw new RangeError(`uleb: negative value ${value}`);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

/** Signed LEB128 (two's complement) of a safe-integer number or a bigint. */
export function sleb(value: number | bigint): number[] {
  const out: number[] = [];
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`sleb: ${value} is not a safe integer`);
    let v = value;
    for (;;) {
      const byte = ((v % 128) + 128) % 128; // low 7 bits of the two's complement
      v = Math.floor(v / 128); // arithmetic shift
      const signBit = (byte & 0x40) !== 0;
      if ((v === 0 && !signBit) || (v === -1 && signBit)) {
        out.push(byte);
        return out;
      }
      out.push(byte | 0x80);
    }
  }
  let v = value;
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n; // arithmetic shift on bigints
    const signBit = (byte & 0x40) !== 0;
    if ((v === 0n && !signBit) || (v === -1n && signBit)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const scratch = new DataView(new ArrayBuffer(8));

export function f32Bytes(x: number): number[] {
  scratch.setFloat32(0, x, true);
  return [0, 1, 2, 3].map((i) => scratch.getUint8(i));
}

export function f64Bytes(x: number): number[] {
  scratch.setFloat64(0, x, true);
  return [0, 1, 2, 3, 4, 5, 6, 7].map((i) => scratch.getUint8(i));
}

/** A growable byte buffer (plain arrays and spreads are far too slow for modules of megabytes). */
export class ByteWriter {
  private buf = new Uint8Array(4096);
  length = 0;

  push(...bytes: number[]): void {
    this.write(bytes);
  }

  write(bytes: ArrayLike<number>): void {
    const n = bytes.length;
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    for (let i = 0; i < n; i++) this.buf[this.length + i] = bytes[i];
    this.length += n;
  }

  /** A copy of the bytes written. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** Opcodes used by the scorer (numeric values from the spec). */
export const Op = {
  unreachable: 0x00,
  nop: 0x01,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i64Load: 0x29,
  f32Load: 0x2a,
  f64Load: 0x2b,
  i32Store: 0x36,
  i64Store: 0x37,
  f32Store: 0x38,
  f64Store: 0x39,
  memorySize: 0x3f,
  memoryGrow: 0x40,
  i32Const: 0x41,
  i64Const: 0x42,
  f32Const: 0x43,
  f64Const: 0x44,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32GtU: 0x4b,
  i32LeS: 0x4c,
  i32GeS: 0x4e,
  f32Eq: 0x5b,
  f32Ne: 0x5c,
  f32Lt: 0x5d,
  f32Gt: 0x5e,
  f32Le: 0x5f,
  f32Ge: 0x60,
  f64Eq: 0x61,
  f64Ne: 0x62,
  f64Lt: 0x63,
  f64Gt: 0x64,
  f64Le: 0x65,
  f64Ge: 0x66,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32RemU: 0x70,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  f64Add: 0xa0,
  f64Sub: 0xa1,
  f64Mul: 0xa2,
  f64PromoteF32: 0xbb,
  i32ReinterpretF32: 0xbc,
} as const;

/** Block result type: none, or one value. */
export type BlockType = ValType | 'void';

/** Builds the body of one function: an instruction stream with helpers for immediates. */
export class Code {
  private readonly out = new ByteWriter();
  private depth = 0;

  /** Bytes written so far. */
  get size(): number {
    return this.out.length;
  }

  op(...opcodes: number[]): this {
    this.out.write(opcodes);
    return this;
  }

  i32(v: number): this {
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 32) throw new RangeError(`i32.const: ${v} is not a 32-bit integer`);
    return this.op(Op.i32Const, ...sleb(v | 0));
  }

  i64(v: bigint): this {
    return this.op(Op.i64Const, ...sleb(BigInt.asIntN(64, v)));
  }

  f32(v: number): this {
    return this.op(Op.f32Const, ...f32Bytes(v));
  }

  f64(v: number): this {
    return this.op(Op.f64Const, ...f64Bytes(v));
  }

  get(local: number): this {
    return this.op(Op.localGet, ...uleb(local));
  }

  set(local: number): this {
    return this.op(Op.localSet, ...uleb(local));
  }

  tee(local: number): this {
    return this.op(Op.localTee, ...uleb(local));
  }

  /** A load or store with its alignment (log2 bytes) and constant byte offset. */
  mem(opcode: number, alignLog2: number, offset = 0): this {
    if (!Number.isInteger(offset) || offset < 0 || offset >= 2 ** 32) throw new RangeError(`memory offset ${offset} out of range`);
    return this.op(opcode, ...uleb(alignLog2), ...uleb(offset));
  }

  private open(opcode: number, type: BlockType): this {
    this.depth++;
    return this.op(opcode, type === 'void' ? 0x40 : VALTYPE[type]);
  }

  block(type: BlockType = 'void'): this {
    return this.open(Op.block, type);
  }

  loop(type: BlockType = 'void'): this {
    return this.open(Op.loop, type);
  }

  if(type: BlockType = 'void'): this {
    return this.open(Op.if, type);
  }

  else(): this {
    return this.op(Op.else);
  }

  end(): this {
    if (this.depth === 0) throw new Error('end without an open block');
    this.depth--;
    return this.op(Op.end);
  }

  br(label: number): this {
    return this.op(Op.br, ...uleb(label));
  }

  brIf(label: number): this {
    return this.op(Op.brIf, ...uleb(label));
  }

  call(funcIndex: number): this {
    return this.op(Op.call, ...uleb(funcIndex));
  }

  /** The finished body; every block must be closed. */
  finish(): Uint8Array {
    if (this.depth !== 0) throw new Error(`${this.depth} block(s) left open`);
    const w = new ByteWriter();
    w.write(this.out.bytes());
    w.push(Op.end);
    return w.bytes();
  }
}

export interface FuncSpec {
  params: ValType[];
  results: ValType[];
  /** Locals after the parameters, in order. */
  locals: ValType[];
  body: Code;
  export?: string;
}

export interface ModuleSpec {
  /** Memory defined by the module, in 64 KiB pages, exported as `memory`. */
  memory?: { min: number; max?: number };
  funcs: FuncSpec[];
}

function section(out: ByteWriter, id: number, content: ArrayLike<number>): void {
  out.push(id, ...uleb(content.length));
  out.write(content);
}

/** Locals as (count, type) runs. */
function localRuns(locals: ValType[]): number[][] {
  const runs: number[][] = [];
  for (let i = 0; i < locals.length; ) {
    let j = i;
    while (j < locals.length && locals[j] === locals[i]) j++;
    runs.push([...uleb(j - i), VALTYPE[locals[i]]]);
    i = j;
  }
  return runs;
}

/** The binary module. Function i has type i (types are not shared: modules here are small). */
export function emitModule(spec: ModuleSpec): Uint8Array {
  const types = spec.funcs.map((f) => [0x60, ...vec(f.params.map((t) => [VALTYPE[t]])), ...vec(f.results.map((t) => [VALTYPE[t]]))]);
  const out = new ByteWriter();
  out.push(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
  section(out, 1, vec(types));
  section(out, 3, vec(spec.funcs.map((_, i) => uleb(i))));
  if (spec.memory) {
    const { min, max } = spec.memory;
    section(out, 5, vec([max === undefined ? [0x00, ...uleb(min)] : [0x01, ...uleb(min), ...uleb(max)]]));
  }
  const exports: number[][] = [];
  if (spec.memory) exports.push([...name('memory'), 0x02, 0x00]);
  spec.funcs.forEach((f, i) => {
    if (f.export) exports.push([...name(f.export), 0x00, ...uleb(i)]);
  });
  section(out, 7, vec(exports));
  const code = new ByteWriter();
  code.push(...uleb(spec.funcs.length));
  for (const f of spec.funcs) {
    const locals = vec(localRuns(f.locals));
    const body = f.body.finish();
    code.push(...uleb(locals.length + body.length));
    code.write(locals);
    code.write(body);
  }
  section(out, 10, code.bytes());
  return out.bytes();
}
