/**
 * What every WGSL kernel builds on: storage types, index and literal rendering, `ExprRenderer`
 * (kernel IR expressions as `let` statements, `alu` ops from their OpDef's WGSL template), and
 * dispatch, binding and entry-point helpers.
 * @module
 */
import { type DType, isHalf } from "../../lib/dtype.ts";
import { type Alu, type Expr, type Idx, LAND } from "../../lib/compile/kernel.ts";
import { aluOf } from "../../lib/compile/alu.ts";
import type { WgslOperands } from "../../lib/ops/_render.ts";
import { defineHelper, helperSource } from "./helpers.ts";

/**
 * The WGSL scalar type that stores and computes a dtype on the GPU: one 32-bit word per element
 * (WGSL has no 8-bit storage): float16 and bfloat16 in f32 (rounded on store), int8 and uint8
 * widened to i32 (wrapped on store), uint32 in u32, bool as u32 0/1.
 */
export function wgslType(d: DType): "f32" | "i32" | "u32" {
  switch (d) {
    case "float32":
    case "float16":
    case "bfloat16":
      return "f32";
    case "int32":
    case "int8":
    case "uint8":
      return "i32";
    case "bool":
    case "uint32":
      return "u32";
    default:
      throw new TypeError(
        `webgpu: dtype ${d} is not supported on WebGPU (no ${d} in WGSL); use float32 or the cpu backend`,
      );
  }
}

/**
 * The dtype whose WGSL templates compute `d` (lib/ops/_render.ts): float16 computes as float32,
 * int8 and uint8 as int32 (then `narrow` wraps the result); the others as themselves.
 */
export function computeDtype(d: DType): DType {
  return isHalf(d) ? "float32" : d === "int8" || d === "uint8" ? "int32" : d;
}

/**
 * A value of storage type `wgslType(d)` brought into `d`'s range, as a typed array of `d` stores
 * it: int8 sign-extends its low 8 bits, uint8 keeps them, float16 rounds (helper `tg_f16r`).
 */
export function narrow(d: DType, v: string, use: (helper: string) => void): string {
  if (d === "int8") return `extractBits(${v}, 0u, 8u)`;
  if (d === "uint8") return `(${v} & 255)`;
  if (d === "float16") return use("tg_f16r"), `tg_f16r(${v})`;
  if (d === "bfloat16") return use("tg_bf16r"), `tg_bf16r(${v})`;
  return v;
}

/**
 * The value of expression `e` (rendered as `v`) stored to an output of its dtype: `narrow`ed
 * unless `ExprRenderer` already did (an `alu` result of a narrow int, or rounded to float16).
 */
export function storeValue(e: Expr, v: string, use: (helper: string) => void): string {
  const done = e.k === "alu" && (e.dtype !== "float16" || e.args[0]?.dtype !== "float16");
  return done ? v : narrow(e.dtype, v, use);
}

/** True for dtypes whose GPU storage holds values `narrow` must bring into range. */
export function isNarrow(d: DType): boolean {
  return d === "int8" || d === "uint8" || isHalf(d);
}

/**
 * A kernel bringing `n` stored values of `d` into range in place (`narrow`), run after kernels
 * that store wider results (window sums, scatter-adds, scans, random draws).
 */
export function narrowKernel(d: DType, n: number, maxWg: number): RenderedKernel {
  const h = new Set<string>();
  const v = narrow(d, "out[o]", (x) => h.add(x));
  const m = flatMain(n, maxWg);
  const code = `@group(0) @binding(0) var<storage, read_write> out: array<${wgslType(d)}>;
${helperSource(h)}${m.head}
  out[o] = ${v};
}
`;
  return { code, dispatch: m.dispatch };
}

/**
 * Renders an index expression as i32 WGSL; `val` renders the i32 value of a data-dependent
 * (`dyn`) index's expression (ExprRenderer passes its own).
 */
export function renderIdx(i: Idx, val?: (e: Expr) => string): string {
  switch (i.k) {
    case "lit":
      return String(i.v);
    case "var":
      return i.name;
    case "bin":
      return `(${renderIdx(i.a, val)} ${i.op} ${renderIdx(i.b, val)})`;
    case "dyn":
      if (!val) throw new TypeError("webgpu: a data-dependent index outside an expression");
      return `clamp(${val(i.e)}, ${i32Lit(i.lo)}, ${i32Lit(i.hi)})`;
  }
}

/** An i32 literal (the minimum needs a cast: `-2147483648` overflows as a negated literal). */
const i32Lit = (v: number) => v === -2147483648 ? "i32(-2147483647 - 1)" : String(v);

/** A float32 literal (finite values only; see `ExprRenderer.constant` for the others). */
export function f32Lit(v: number): string {
  const s = String(Math.fround(v));
  return /[.e]/.test(s) ? `${s}f` : `${s}.0f`;
}

/**
 * Renders scalar expressions as a list of `let` statements (one per distinct node, so shared
 * subexpressions are computed once and nesting stays shallow) and returns each node's value.
 */
export class ExprRenderer {
  /** Statements emitted so far, in order. */
  readonly stmts: string[] = [];
  /** Helper functions the statements call. */
  readonly helpers: Set<string>;
  #names = new Map<string, string>();
  #prefix: string;
  #load: (slot: number, index: string, dtype: DType) => string;
  #subst: Map<number, string>;
  #acc: string;

  /**
   * @param load renders a load of input `slot` at an i32 index expression
   * @param opts `subst` replaces loads of a slot by a value, `acc` names the accumulator
   */
  constructor(
    load: (slot: number, index: string, dtype: DType) => string,
    opts: { prefix?: string; subst?: Map<number, string>; acc?: string; helpers?: Set<string> } =
      {},
  ) {
    this.#load = load;
    this.#prefix = opts.prefix ?? "t";
    this.#subst = opts.subst ?? new Map();
    this.#acc = opts.acc ?? "acc";
    this.helpers = opts.helpers ?? new Set();
  }

  #bind(key: string, src: string): string {
    let n = this.#names.get(key);
    if (n === undefined) {
      n = `${this.#prefix}${this.#names.size}`;
      this.#names.set(key, n);
      this.stmts.push(`let ${n} = ${src};`);
    }
    return n;
  }

  /** A literal of dtype `d` (NaN and infinities become runtime values). */
  constant(v: number, d: DType): string {
    const t = wgslType(d);
    if (t === "i32") return `i32(${Number.isFinite(v) ? Math.trunc(v) | 0 : 0})`;
    if (d === "bool") return v !== 0 ? "1u" : "0u";
    if (t === "u32") return `${Number.isFinite(v) ? Math.trunc(v) >>> 0 : 0}u`;
    const f = Math.fround(v);
    if (Number.isFinite(f)) return f32Lit(f);
    this.helpers.add("tg_nan");
    return Number.isNaN(f) ? "tg_nan()" : f > 0 ? "tg_inf()" : "(-tg_inf())";
  }

  /** The expression as a WGSL boolean. */
  cond(e: Expr): string {
    if (e.k === "cmpIdx") return `(${this.idx(e.a)} ${e.op} ${this.idx(e.b)})`;
    if (e.k === "alu" && e.op === LAND) {
      return `(${this.cond(e.args[0])} && ${this.cond(e.args[1])})`;
    }
    const t = wgslType(e.dtype);
    const v = this.val(e);
    return t === "f32" ? `(!(${v} == 0.0))` : t === "i32" ? `(${v} != 0)` : `(${v} != 0u)`;
  }

  /** An index as i32 WGSL, data-dependent parts through this renderer. */
  idx(i: Idx): string {
    return renderIdx(i, (e) => this.val(e));
  }

  /** The expression's value in its storage type (f32, i32, or u32 for bool). */
  val(e: Expr): string {
    switch (e.k) {
      case "const":
        return this.constant(e.v, e.dtype);
      case "index":
        return `i32(${this.idx(e.index)})`;
      case "acc":
        return this.#acc;
      case "cmpIdx":
        return `select(0u, 1u, ${this.cond(e)})`;
      case "load": {
        const idx = this.idx(e.index);
        const s = this.#subst.get(e.input);
        if (s !== undefined) return s;
        return this.#bind(`L${e.input}[${idx}]`, this.#load(e.input, idx, e.dtype));
      }
      case "alu": {
        const key = JSON.stringify(e);
        const known = this.#names.get(key);
        if (known) return known;
        return this.#bind(key, this.#alu(e));
      }
    }
  }

  #alu(e: Alu): string {
    const args = e.args;
    const arg = args[0]?.dtype ?? e.dtype;
    const x: WgslOperands = {
      arg: computeDtype(arg),
      out: computeDtype(e.dtype),
      vals: () => args.map((a) => this.val(a)),
      val: (i) => this.val(args[i]),
      cond: (i) => this.cond(args[i]),
      use: (h, def) => {
        if (def) defineHelper(h, def);
        this.helpers.add(h);
      },
    };
    const v = aluOf(e).render.wgsl(x);
    // narrow ints wrap like every value of their dtype; float16 rounds where a value becomes one,
    // bfloat16 after every op (as the unfused program would)
    if (e.dtype === "float16" && arg === "float16") return v;
    return narrow(e.dtype, v, (h) => this.helpers.add(h));
  }
}

/** Options shared by kernel renderers. */
export interface RenderOptions {
  /** Invocations per workgroup for map kernels and reduction loops. */
  workgroupSize: number;
  /** Largest workgroup count per dispatch dimension. */
  maxWorkgroupsPerDim: number;
  /**
   * The device's `maxComputeWorkgroupStorageSize` in bytes (default 16384, WebGPU's minimum):
   * reduction trees use fewer lanes, or a plain loop, to fit it.
   */
  maxWorkgroupStorage?: number;
  /** float16 arrays are 2-byte `f16` storage (kernels/wgsl/f16.ts), else f32 words. */
  f16?: boolean;
}

const SCALAR_BYTES: Record<string, number> = { f32: 4, i32: 4, u32: 4, f16: 2, bool: 4 };

/** Bytes of one array element of a WGSL type (`f32`, `vec4<f16>`; vec3 padded like vec4). */
function typeBytes(t: string): number {
  const m = /^vec([234])<(\w+)>$/.exec(t);
  if (!m) return SCALAR_BYTES[t] ?? NaN;
  const n = m[1] === "3" ? 4 : Number(m[1]);
  return n * (SCALAR_BYTES[m[2]] ?? NaN);
}

/**
 * The workgroup memory a WGSL shader declares, in bytes: the sum over its `var<workgroup>`
 * variables (scalars, vectors and fixed-size arrays of them). NaN for a type it cannot size.
 *
 * @example
 * ```ts
 * const code = "var<workgroup> a: array<vec4<f32>, 8>;\nvar<workgroup> b: array<f32, 64>;";
 * if (workgroupBytes(code) !== 8 * 16 + 64 * 4) throw new Error("wrong size");
 * ```
 */
export function workgroupBytes(code: string): number {
  let total = 0;
  for (const m of code.matchAll(/var<workgroup>\s+\w+\s*:\s*([^;]+);/g)) {
    const ty = m[1].replace(/\s+/g, "");
    const arr = /^array<(.+),(\d+)u?>$/.exec(ty);
    total += arr ? typeBytes(arr[1]) * Number(arr[2]) : typeBytes(ty);
  }
  return total;
}

/** A rendered shader and how to dispatch it. */
export interface RenderedKernel {
  code: string;
  /** Workgroup counts (x, y, z). */
  dispatch: [number, number, number];
  /**
   * A two-pass reduction: `code` writes `partials` elements (of the output dtype) to a
   * temporary bound in place of the output; `combine` then binds the kernel's inputs, the
   * partials and the output.
   */
  combine?: { code: string; dispatch: [number, number, number]; partials: number };
}

/** Spreads `n` workgroups over x and y within the per-dimension limit. */
export function spread(n: number, max: number): [number, number, number] {
  if (n <= 0) return [0, 0, 0]; // nothing to do: the dispatch is skipped
  if (n <= max) return [n, 1, 1];
  const y = Math.ceil(n / max);
  return [Math.ceil(n / y), y, 1];
}

/**
 * Entry point of a flat kernel of 64-invocation workgroups over `total` elements: its dispatch,
 * and the `main` header binding element index `v` (an i32) and returning past the end.
 */
export function flatMain(total: number, maxWg: number, v = "o"): {
  dispatch: [number, number, number];
  head: string;
} {
  const dispatch = spread(Math.ceil(total / 64), maxWg);
  const head = `@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let ${v} = i32((wid.y * ${dispatch[0]}u + wid.x) * 64u + lid);
  if (${v} >= ${total}) { return; }`;
  return { dispatch, head };
}

/**
 * Binding declarations: inputs 0..n-1 read-only, then the output; with `f16`, float16 arrays
 * are `array<f16>` (and the source starts with `enable f16;`).
 */
export function bindings(inputs: DType[], outs: DType[], f16 = false): string {
  const ty = (d: DType) => storageType(d, f16);
  const lines = inputs.map((d, i) =>
    `@group(0) @binding(${i}) var<storage, read> in${i}: array<${ty(d)}>;`
  );
  outs.forEach((d, j) => {
    lines.push(
      `@group(0) @binding(${inputs.length + j}) var<storage, read_write> out${j || ""}: array<${
        ty(d)
      }>;`,
    );
  });
  const on = f16 && [...inputs, ...outs].includes("float16");
  return (on ? ENABLE_F16 : "") + lines.join("\n") + "\n";
}

/** Statements defining the multi-index variables `i0..` (those used in `body`) from flat `o`. */
export function unflatten(shape: number[], body: string, flat = "o", prefix = "i"): string {
  let s = "";
  let stride = 1;
  const parts: string[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    const name = `${prefix}${d}`;
    if (new RegExp(`\\b${name}\\b`).test(body)) {
      const q = stride === 1 ? flat : `(${flat} / ${stride})`;
      parts.push(`let ${name} = ${d === 0 ? q : `${q} % ${shape[d]}`};`);
    }
    stride *= shape[d];
  }
  s = parts.reverse().join(" ");
  return s;
}

/** A load of input `slot` at an index (the binding names of `bindings`). */
export const load = (slot: number, index: string): string => `in${slot}[${index}]`;

/** `load`, with float16 inputs read from f16 storage as f32 (`bindings` with `f16`). */
export const loadF16 = (slot: number, index: string, d: DType): string =>
  fromStorage(d, true, load(slot, index));

/** The directive a shader declaring `f16` (float16 as 2-byte storage, kernels/wgsl/f16.ts) needs first. */
export const ENABLE_F16 = "enable f16;\n";

/** The WGSL element type of a `d` array in storage: `f16` for float16 with `f16`, else `wgslType`. */
export function storageType(d: DType, f16: boolean): string {
  return f16 && d === "float16" ? "f16" : wgslType(d);
}

/** A load from an f16 array as the f32 the kernels compute with (exact). */
export function fromStorage(d: DType, f16: boolean, v: string): string {
  return f16 && d === "float16" ? `f32(${v})` : v;
}

/** Phony assignments that keep every input binding in the pipeline layout. */
export function phonyUses(n: number, name = "in"): string {
  return [...Array(n).keys()].map((i) => `_ = &${name}${i};`).join(" ");
}

/** Loads at a literal index (scalars): independent of the element, so hoisted out of loops. */
const CONST_LOAD = /^let \w+ = (in\d+\[\d+\]|f32\(in\d+\[\d+\]\));$/;

/** Splits rendered statements into constant-index loads and the rest. */
export function hoistConstLoads(stmts: string[]): [string[], string[]] {
  return [stmts.filter((t) => CONST_LOAD.test(t)), stmts.filter((t) => !CONST_LOAD.test(t))];
}
