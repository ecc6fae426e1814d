// A small, table-driven WebAssembly binary encoder: enough of the module format (types, imports,
// functions, exports, memory import) and of the instruction set (scalar i32/f32/f64, control flow,
// memory access, the SIMD128 subset used by our kernels) to generate kernels at run time.
// Opcodes live in three tables (no immediate / memory argument / lane index); adding one is one line.

/** Value types of the generated code. */
export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** A SIMD opcode `n` is stored as `SIMD_PREFIX | n` and emitted as `0xfd, uleb(n)`. */
const SIMD = 0xfd0000;
/** A threads-proposal (atomic) opcode `n` is stored as `ATOMIC | n`, emitted as `0xfe, uleb(n)`. */
const ATOMIC = 0xfe0000;

/** Instructions without immediates (name → opcode). */
// deno-fmt-ignore
export const PLAIN = {
  "unreachable": 0x00, "nop": 0x01, "return": 0x0f, "drop": 0x1a, "select": 0x1b,
  "i32.eqz": 0x45, "i32.eq": 0x46, "i32.ne": 0x47, "i32.lt_s": 0x48, "i32.lt_u": 0x49,
  "i32.gt_s": 0x4a, "i32.gt_u": 0x4b, "i32.le_s": 0x4c, "i32.le_u": 0x4d, "i32.ge_s": 0x4e,
  "i32.ge_u": 0x4f,
  "f32.eq": 0x5b, "f32.ne": 0x5c, "f32.lt": 0x5d, "f32.gt": 0x5e, "f32.le": 0x5f, "f32.ge": 0x60,
  "f64.eq": 0x61, "f64.ne": 0x62, "f64.lt": 0x63, "f64.gt": 0x64, "f64.le": 0x65, "f64.ge": 0x66,
  "i32.add": 0x6a, "i32.sub": 0x6b, "i32.mul": 0x6c, "i32.div_s": 0x6d, "i32.div_u": 0x6e,
  "i32.rem_s": 0x6f, "i32.rem_u": 0x70, "i32.and": 0x71, "i32.or": 0x72, "i32.xor": 0x73,
  "i32.shl": 0x74, "i32.shr_s": 0x75, "i32.shr_u": 0x76, "i32.rotl": 0x77, "i32.rotr": 0x78,
  "f32.abs": 0x8b, "f32.neg": 0x8c, "f32.sqrt": 0x91, "f32.add": 0x92, "f32.sub": 0x93,
  "f32.mul": 0x94, "f32.div": 0x95, "f32.min": 0x96, "f32.max": 0x97,
  "f64.abs": 0x99, "f64.neg": 0x9a, "f64.floor": 0x9c, "f64.trunc": 0x9d, "f64.sqrt": 0x9f,
  "f64.add": 0xa0, "f64.sub": 0xa1, "f64.mul": 0xa2, "f64.div": 0xa3, "f64.min": 0xa4,
  "f64.max": 0xa5,
  "i32.trunc_f32_s": 0xa8, "i32.trunc_f64_s": 0xaa, "i32.trunc_f64_u": 0xab,
  "f32.convert_i32_s": 0xb2, "f32.demote_f64": 0xb6, "f64.convert_i32_s": 0xb7,
  "f64.promote_f32": 0xbb,
  "i32x4.splat": SIMD | 0x11, "i64x2.splat": SIMD | 0x12, "f32x4.splat": SIMD | 0x13,
  "f64x2.splat": SIMD | 0x14,
  "v128.not": SIMD | 0x4d, "v128.and": SIMD | 0x4e, "v128.or": SIMD | 0x50, "v128.xor": SIMD | 0x51,
  "v128.andnot": SIMD | 0x4f, "v128.bitselect": SIMD | 0x52, "i32x4.eq": SIMD | 0x37,
  "i32x4.gt_u": SIMD | 0x3c, "i32x4.shl": SIMD | 0xab, "i32x4.shr_s": SIMD | 0xac,
  "i32x4.shr_u": SIMD | 0xad,
  "i32x4.add": SIMD | 0xae, "i32x4.sub": SIMD | 0xb1, "i32x4.mul": SIMD | 0xb5,
  "f32x4.abs": SIMD | 0xe0, "f32x4.neg": SIMD | 0xe1, "f32x4.sqrt": SIMD | 0xe3,
  "f32x4.add": SIMD | 0xe4, "f32x4.sub": SIMD | 0xe5, "f32x4.mul": SIMD | 0xe6,
  "f32x4.div": SIMD | 0xe7, "f32x4.min": SIMD | 0xe8, "f32x4.max": SIMD | 0xe9,
  "f32x4.relaxed_madd": SIMD | 0x105,
  "f64x2.add": SIMD | 0xf0, "f64x2.sub": SIMD | 0xf1, "f64x2.mul": SIMD | 0xf2,
  "f64x2.div": SIMD | 0xf3,
} as const;

/** Memory instructions: name → [opcode, natural alignment as log2 bytes]. */
// deno-fmt-ignore
export const MEM = {
  "i32.load": [0x28, 2], "f32.load": [0x2a, 2], "f64.load": [0x2b, 3], "i32.load8_u": [0x2d, 0],
  "i64.load": [0x29, 3], "i64.store": [0x37, 3],
  "i32.store": [0x36, 2], "f32.store": [0x38, 2], "f64.store": [0x39, 3], "i32.store8": [0x3a, 0],
  "v128.load": [SIMD | 0x00, 4], "v128.store": [SIMD | 0x0b, 4],
  "v128.load32_splat": [SIMD | 0x09, 2], "v128.load64_splat": [SIMD | 0x0a, 3],
  "v128.load32_zero": [SIMD | 0x5c, 2], "v128.load64_zero": [SIMD | 0x5d, 3],
  "i32.atomic.rmw.add": [ATOMIC | 0x1e, 2],
} as const;

/** Instructions with one lane-index immediate (name → opcode). */
// deno-fmt-ignore
export const LANE = {
  "i32x4.extract_lane": SIMD | 0x1b, "i32x4.replace_lane": SIMD | 0x1c,
  "i64x2.extract_lane": SIMD | 0x1d, "i64x2.replace_lane": SIMD | 0x1e,
  "f32x4.extract_lane": SIMD | 0x1f, "f32x4.replace_lane": SIMD | 0x20,
  "f64x2.extract_lane": SIMD | 0x21, "f64x2.replace_lane": SIMD | 0x22,
} as const;

/** Names of instructions without immediates. */
export type PlainOp = keyof typeof PLAIN;
/** Names of memory instructions (take an offset and an alignment). */
export type MemOp = keyof typeof MEM;
/** Names of lane instructions (take a lane index). */
export type LaneOp = keyof typeof LANE;

/** Appends `value` as unsigned LEB128 to `out`. */
export function uleb(out: number[], value: number): void {
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
}

/** Appends `value` (a 32-bit signed integer) as signed LEB128 to `out`. */
export function sleb(out: number[], value: number): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

function utf8(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function opcode(out: number[], code: number): void {
  if (code >= ATOMIC) {
    out.push(0xfe);
    uleb(out, code - ATOMIC);
  } else if (code >= SIMD) {
    out.push(0xfd);
    uleb(out, code - SIMD);
  } else out.push(code);
}

/** A structured-control label returned by `block`/`loop`, used as a branch target. */
export interface Label {
  /** Nesting depth of the block (1 = outermost). */
  readonly depth: number;
}

/** Builds one function body; every instruction method returns `this` for chaining. */
export class FuncBuilder {
  /** Function index in the module (imports come first). */
  readonly index: number;
  /** Parameter types (parameters are locals 0..params.length-1). */
  readonly params: readonly ValType[];
  /** Result types. */
  readonly results: readonly ValType[];
  /** Encoded instructions so far (without locals and the final `end`). */
  readonly code: number[] = [];
  #locals: ValType[] = [];
  #depth = 0;

  /** Use `ModuleBuilder.func` rather than constructing directly. */
  constructor(index: number, params: readonly ValType[], results: readonly ValType[]) {
    this.index = index;
    this.params = params;
    this.results = results;
  }

  /** Declares a new local of type `t` and returns its index. */
  local(t: ValType): number {
    this.#locals.push(t);
    return this.params.length + this.#locals.length - 1;
  }

  /** Emits an instruction without immediates. */
  op(name: PlainOp): this {
    opcode(this.code, PLAIN[name]);
    return this;
  }

  /** Emits a load/store with a constant byte `offset` and `align` (log2, default natural). */
  mem(name: MemOp, offset = 0, align?: number): this {
    const [code, natural] = MEM[name];
    opcode(this.code, code);
    uleb(this.code, align ?? natural);
    uleb(this.code, offset);
    return this;
  }

  /** Emits a lane extract/replace instruction. */
  lane(name: LaneOp, lane: number): this {
    opcode(this.code, LANE[name]);
    this.code.push(lane);
    return this;
  }

  /** `local.get i`. */
  get(i: number): this {
    this.code.push(0x20);
    uleb(this.code, i);
    return this;
  }

  /** `local.set i`. */
  set(i: number): this {
    this.code.push(0x21);
    uleb(this.code, i);
    return this;
  }

  /** `local.tee i`. */
  tee(i: number): this {
    this.code.push(0x22);
    uleb(this.code, i);
    return this;
  }

  /** `i32.const v`. */
  i32(v: number): this {
    this.code.push(0x41);
    sleb(this.code, v);
    return this;
  }

  /** `f32.const v`. */
  f32(v: number): this {
    this.code.push(0x43, ...new Uint8Array(new Float32Array([v]).buffer));
    return this;
  }

  /** `f64.const v`. */
  f64(v: number): this {
    this.code.push(0x44, ...new Uint8Array(new Float64Array([v]).buffer));
    return this;
  }

  /** `v128.const` with four f32 lanes. */
  v128f32(a: number, b = a, c = a, d = a): this {
    opcode(this.code, SIMD | 0x0c);
    this.code.push(...new Uint8Array(new Float32Array([a, b, c, d]).buffer));
    return this;
  }

  /** `i8x16.shuffle` of the two v128 operands with 32-bit lane indices (0-3 first, 4-7 second). */
  shuffle32(l0: number, l1: number, l2: number, l3: number): this {
    opcode(this.code, SIMD | 0x0d);
    for (const l of [l0, l1, l2, l3]) this.code.push(4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3);
    return this;
  }

  /** `call f` (a function index or builder). */
  call(f: number | FuncBuilder): this {
    this.code.push(0x10);
    uleb(this.code, typeof f === "number" ? f : f.index);
    return this;
  }

  #structured(opc: number, body: (l: Label) => void): this {
    this.code.push(opc, 0x40);
    const label = { depth: ++this.#depth };
    body(label);
    this.#depth--;
    this.code.push(0x0b);
    return this;
  }

  /** `block ... end`; a branch to its label jumps past the end. */
  block(body: (l: Label) => void): this {
    return this.#structured(0x02, body);
  }

  /** `loop ... end`; a branch to its label jumps back to the start. */
  loop(body: (l: Label) => void): this {
    return this.#structured(0x03, body);
  }

  /**
   * `if ... (else ...) end`, consuming an i32 condition; with `result`, both arms leave one value
   * of that type (and `otherwise` is required).
   */
  if(then: () => void, otherwise?: () => void, result?: ValType): this {
    this.code.push(0x04, result === undefined ? 0x40 : VALTYPE[result]);
    this.#depth++;
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    this.#depth--;
    this.code.push(0x0b);
    return this;
  }

  /** `br label`. */
  br(l: Label): this {
    this.code.push(0x0c);
    uleb(this.code, this.#depth - l.depth);
    return this;
  }

  /** `br_if label` (consumes an i32). */
  brIf(l: Label): this {
    this.code.push(0x0d);
    uleb(this.code, this.#depth - l.depth);
    return this;
  }

  /** Encodes locals + body + `end` as a code-section entry (without the size prefix). */
  encode(): number[] {
    const out: number[] = [];
    const runs: [number, ValType][] = [];
    for (const t of this.#locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(out, runs.length);
    for (const [n, t] of runs) {
      uleb(out, n);
      out.push(VALTYPE[t]);
    }
    return [...out, ...this.code, 0x0b];
  }
}

/** Memory limits: sizes in 64 KiB pages; `shared` requires `maximum`. */
export interface MemoryLimits {
  /** Minimum size in pages. */
  initial: number;
  /** Maximum size in pages (required when shared). */
  maximum?: number;
  /** Whether the memory is shared between threads. */
  shared?: boolean;
}

function section(out: number[], id: number, items: number[][]): void {
  if (items.length === 0) return;
  const body: number[] = [];
  uleb(body, items.length);
  for (const it of items) for (const b of it) body.push(b);
  out.push(id);
  uleb(out, body.length);
  for (const b of body) out.push(b);
}

/**
 * Assembles a module: function types are deduplicated, function indices count imports first.
 *
 * @example
 * ```ts
 * const mb = new ModuleBuilder();
 * const f = mb.func(["i32", "i32"], ["i32"], "add");
 * f.get(0).get(1).op("i32.add");
 * const { exports } = new WebAssembly.Instance(new WebAssembly.Module(mb.toBytes()));
 * const add = exports.add as (a: number, b: number) => number;
 * if (add(2, 3) !== 5) throw new Error("bad add");
 * ```
 */
export class ModuleBuilder {
  #types: number[][] = [];
  #imports: number[][] = [];
  #funcImports = 0;
  #funcs: { type: number; body: FuncBuilder }[] = [];
  #exports: number[][] = [];

  #typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const t = [0x60];
    uleb(t, params.length);
    for (const p of params) t.push(VALTYPE[p]);
    uleb(t, results.length);
    for (const r of results) t.push(VALTYPE[r]);
    const key = t.join(",");
    const found = this.#types.findIndex((x) => x.join(",") === key);
    if (found >= 0) return found;
    this.#types.push(t);
    return this.#types.length - 1;
  }

  /** Imports a linear memory as `module.name`. */
  importMemory(module: string, name: string, limits: MemoryLimits): this {
    const e: number[] = [];
    utf8(e, module);
    utf8(e, name);
    e.push(0x02, limits.shared ? 0x03 : limits.maximum !== undefined ? 0x01 : 0x00);
    uleb(e, limits.initial);
    if (limits.maximum !== undefined) uleb(e, limits.maximum);
    this.#imports.push(e);
    return this;
  }

  /**
   * Imports `env.memory`: shared (up to 4 GiB) for a module every pool thread instantiates, else
   * private and growable without bound.
   */
  importEnvMemory(opts: { shared: boolean }): this {
    const { shared } = opts;
    return this.importMemory("env", "memory", {
      initial: 1,
      maximum: shared ? 65536 : undefined,
      shared,
    });
  }

  /** Imports a function; must be called before any `func`. Returns its function index. */
  importFunc(module: string, name: string, params: ValType[], results: ValType[]): number {
    if (this.#funcs.length > 0) throw new Error("importFunc: imports must precede functions");
    const e: number[] = [];
    utf8(e, module);
    utf8(e, name);
    e.push(0x00);
    uleb(e, this.#typeIndex(params, results));
    this.#imports.push(e);
    return this.#funcImports++;
  }

  /** Declares a function (optionally exported) and returns its body builder. */
  func(params: ValType[], results: ValType[], exportName?: string): FuncBuilder {
    const index = this.#funcImports + this.#funcs.length;
    const body = new FuncBuilder(index, params, results);
    this.#funcs.push({ type: this.#typeIndex(params, results), body });
    if (exportName !== undefined) this.exportFunc(exportName, index);
    return body;
  }

  /** Exports function `index` as `name`. */
  exportFunc(name: string, index: number): this {
    const e: number[] = [];
    utf8(e, name);
    e.push(0x00);
    uleb(e, index);
    this.#exports.push(e);
    return this;
  }

  /** Returns the binary module. */
  toBytes(): Uint8Array<ArrayBuffer> {
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    section(out, 1, this.#types);
    section(out, 2, this.#imports);
    section(
      out,
      3,
      this.#funcs.map((f) => {
        const e: number[] = [];
        uleb(e, f.type);
        return e;
      }),
    );
    section(out, 7, this.#exports);
    section(
      out,
      10,
      this.#funcs.map((f) => {
        const body = f.body.encode();
        const e: number[] = [];
        uleb(e, body.length);
        for (const b of body) e.push(b);
        return e;
      }),
    );
    return new Uint8Array(out);
  }
}
