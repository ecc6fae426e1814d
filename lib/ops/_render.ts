/**
 * How an elementwise primitive renders in each kernel target: one template per target (JS, Wasm,
 * WGSL) on its OpDef, required by the type. Renderers find them through lib/compile/alu.ts and
 * hold no per-op code. The builders below cover the common shapes of templates.
 * @module
 */
import { type DType, isFloat } from "../dtype.ts";

/** The dtypes a template may depend on: its first operand's and its result's. */
export interface ScalarTypes {
  /** Dtype of the first operand. */
  readonly arg: DType;
  /** Dtype of the result. */
  readonly out: DType;
}

/**
 * JavaScript: an expression over the operands' sources (JS numbers, bool as 0/1; int32 results
 * must already wrap), or "call": a call of the op's reference `scalar` function.
 */
export type JsTemplate = ((a: string[], t: ScalarTypes) => string) | "call";

/** The scalar f64 and i32 Wasm instructions a template may name (kernels/wasm/encoder.ts has them). */
export type WasmScalarOp =
  | `f64.${
    | "add"
    | "sub"
    | "mul"
    | "div"
    | "neg"
    | "abs"
    | "sqrt"
    | "floor"
    | "trunc"
    | "min"
    | "max"}`
  | `f64.${"eq" | "ne" | "lt" | "gt" | "le" | "ge"}`
  | `i32.${"add" | "sub" | "mul" | "and" | "or" | "xor" | "shl" | "shr_s" | "shr_u"}`
  | `i32.${"eq" | "ne" | "lt_s" | "gt_s" | "le_s" | "ge_s" | "lt_u" | "gt_u" | "le_u" | "ge_u"}`;

/**
 * WebAssembly, bit-identical to the JS template. Values are f64, or i32 where JS has an int32:
 * - "call" imports the op's `scalar` function (f64 operands and result); `{ import }` imports
 *   the very function the JS template calls;
 * - `{ f64 }` is one f64 instruction over f64 operands; with `i32` and int32 operands it wraps
 *   like JS: `int: "args"` converts the operands (Math.imul), `"result"` the result (`(a + b) | 0`,
 *   exact in i32 when both operands are i32); a unary i32 op computes `0 op a`;
 * - `{ cmp }` compares (i32 op, f64 op) to an i32 0/1;
 * - "choose" is a lazy `c ? x : y`, "identity" passes its operand, "bitNot" is `~a` (bool:
 *   `a ? 0 : 1`), "cast" converts to the result dtype as the JS `convert` does, "condAnd" is
 *   the logical and of two conditions (the IR's `LAND`).
 */
export type WasmForm =
  | "call"
  | "choose"
  | "condAnd"
  | "identity"
  | "bitNot"
  | "cast"
  | { import: (...x: number[]) => number }
  | { f64: WasmScalarOp; i32?: WasmScalarOp; int?: "args" | "result" }
  | { cmp: [WasmScalarOp, WasmScalarOp] };

/** The operands of a WGSL template, rendered on demand in storage types (f32, i32, u32 0/1). */
export interface WgslOperands extends ScalarTypes {
  /** Every operand's value, in order. */
  vals(): string[];
  /** Operand i's value. */
  val(i: number): string;
  /** Operand i as a WGSL bool. */
  cond(i: number): string;
  /**
   * Records a helper the source calls: one of kernels/wgsl/helpers.ts (`tg_exp`), or one the op
   * brings along (`def`: its WGSL source and the helpers that calls).
   */
  use(helper: string, def?: { deps: string[]; src: string }): void;
}

/** WGSL source of the op's value in its storage type. */
export type WgslTemplate = (x: WgslOperands) => string;

/** One template per kernel target. */
export interface ScalarRender {
  /** JavaScript (render_js.ts). */
  readonly js: JsTemplate;
  /** WebAssembly (render_wasm.ts). */
  readonly wasm: WasmForm;
  /** WGSL (render_wgsl.ts). */
  readonly wgsl: WgslTemplate;
}

type Use = WgslOperands["use"];
type F32Template = (a: string[], use: Use) => string;

/**
 * WGSL of an op computed in f32: `f` renders float32 operands. int32 and bool operands use `int`
 * where it returns a source, else compute `f` in f32 and store like a JS typed array.
 */
export function wgslFloat(
  f: F32Template,
  int?: (a: string[], t: ScalarTypes) => string | undefined,
): WgslTemplate {
  return (x) => {
    const a = x.vals();
    const use: Use = (h, def) => x.use(h, def);
    if (x.arg === "float32") return f(a, use);
    const native = int?.(a, x);
    if (native !== undefined) return native;
    const v = f(a.map((s) => `f32(${s})`), use);
    if (x.out === "float32") return v;
    const h = x.out === "bool" ? "tg_f2u8" : x.out === "uint32" ? "tg_f2u" : "tg_f2i";
    x.use(h);
    return `${h}(${v})`;
  };
}

/** `(a op b)`. */
export function infix(op: string): (a: string[]) => string {
  return (a) => `(${a[0]} ${op} ${a[1]})`;
}

/** A call of a WGSL builtin. */
export function builtin(name: string): (a: string[]) => string {
  return (a) => `${name}(${a.join(", ")})`;
}

/** A call of helper `tg_<name>`: of kernels/wgsl/helpers.ts, or the op's own (`def`). */
export function helperCall(name: string, def?: { deps: string[]; src: string }): F32Template {
  return (a, use) => (use(`tg_${name}`, def), `tg_${name}(${a.join(", ")})`);
}

/** Integer arithmetic that stores like JS: bool results wrap to 8 bits. */
export function wrapInt(src: string, t: ScalarTypes): string {
  return t.out === "bool" ? `(${src} & 255u)` : src;
}

/** A function without an inline form: JS and Wasm call the reference scalar, WGSL `wgsl`. */
export function scalarCall(wgsl: WgslTemplate): ScalarRender {
  return { js: "call", wasm: "call", wgsl };
}

/** A `Math` function: JS calls it inline, Wasm imports the very function. */
export function mathCall(
  fn: "exp" | "log" | "tanh" | "sin" | "cos" | "atan2" | "cbrt",
  wgsl: WgslTemplate,
): ScalarRender {
  return { js: (a) => `Math.${fn}(${a.join(", ")})`, wasm: { import: Math[fn] }, wgsl };
}

/** An arithmetic operator that wraps on int32 (`|0` after `+ -`, Math.imul for `*`). */
export function wrapping(op: "+" | "-" | "*", wasm: WasmForm): ScalarRender {
  return {
    js: (a, t) => {
      if (op === "*" && t.arg === "uint32") return `(Math.imul(${a[0]}, ${a[1]}) >>> 0)`;
      if (t.arg !== "int32") return `(${a[0]} ${op} ${a[1]})`;
      return op === "*" ? `Math.imul(${a[0]}, ${a[1]})` : `((${a[0]} ${op} ${a[1]}) | 0)`;
    },
    wasm,
    wgsl: wgslFloat(infix(op), (a, t) => wrapInt(`(${a[0]} ${op} ${a[1]})`, t)),
  };
}

/** A comparison with a bool result (WGSL `!=` of floats is `!(a == b)`, true for NaN). */
export function comparison(
  js: "===" | "!==" | "<" | "<=" | ">" | ">=",
  cmp: [WasmScalarOp, WasmScalarOp],
): ScalarRender {
  const w = js === "===" ? "==" : js === "!==" ? "!=" : js;
  return {
    js: (a) => `(${a[0]} ${js} ${a[1]} ? 1 : 0)`,
    wasm: { cmp },
    wgsl: (x) => {
      const a = x.vals();
      if (w === "!=" && x.arg === "float32") return `select(1u, 0u, ${a[0]} == ${a[1]})`;
      return `select(0u, 1u, ${a[0]} ${w} ${a[1]})`;
    },
  };
}

/** WGSL of a unary f32 op that is the identity on int32 and bool (floor, ceil, round). */
export function intIdentity(f: (a: string[]) => string): ScalarRender {
  return scalarCall(wgslFloat(f, ([a]) => a));
}

/**
 * WGSL of a unary f32 op that is `i32(a)` on int32, `u32(a)` on uint32 (the identity without
 * `u32`) and the identity on bool (abs, sign).
 */
export function intOwn(f: F32Template, i32: string, u32?: (a: string) => string): WgslTemplate {
  return wgslFloat(
    f,
    ([a], t) => t.arg === "int32" ? `${i32}(${a})` : t.arg === "uint32" && u32 ? u32(a) : a,
  );
}

/** WGSL of a float class test through helper `tg_<name>` (a constant for other dtypes). */
export function floatTest(name: string, notFloat: string): WgslTemplate {
  return (x) => {
    const [a] = x.vals();
    if (x.arg !== "float32") return notFloat;
    x.use("tg_nan");
    return `select(0u, 1u, tg_${name}(${a}))`;
  };
}

/** WGSL of `convert` from one storage type to another (float to int as a JS typed array). */
export function wgslConvert(a: string, from: DType, to: DType, use: Use): string {
  if (from === to) return a;
  if (to === "bool") {
    return from === "float32"
      ? `select(1u, 0u, ${a} == 0.0)`
      : `select(0u, 1u, ${a} != ${from === "int32" ? "0" : "0u"})`;
  }
  if (to === "float32") return `f32(${a})`;
  const h = to === "uint32" ? "tg_f2u" : "tg_f2i";
  if (from === "float32") return use(h), `${h}(${a})`;
  return to === "uint32" ? `u32(${a})` : `i32(${a})`;
}

/** JS of `convert` (float to int32 through the kernel prelude's `CVT_I32`). */
export function jsConvert(a: string, from: DType, to: DType): string {
  if (to === "bool") return `(${a} !== 0 ? 1 : 0)`;
  if (to === "int32" && isFloat(from)) return `CVT_I32(${a})`;
  if (to === "float16" && from !== "float16") return `F16R(${a})`; // render_js's float16 rounding
  return a; // narrow ints wrap in render_js like every value of their dtype
}
