/**
 * Renders the kernel IR (lib/compile/kernel.ts) to WGSL compute shaders: map kernels (one
 * invocation per output element) and reductions (a loop per output element, or a workgroup tree
 * when few outputs reduce many elements). Scalar semantics follow lib/ops/elementwise.ts: NaN
 * propagates through max/min, round is half-to-even, int32 wraps, bool is stored as u32 0/1.
 * @module
 */
import type { DType } from "../lib/dtype.ts";
import type { Expr, Idx, Kernel } from "../lib/compile/kernel.ts";
import { helperSource } from "./wgsl/helpers.ts";
import { renderMap4 } from "./wgsl/map4.ts";
import { reduceLoop4 } from "./wgsl/reduce4.ts";

export { helperSource };

/** The WGSL scalar type that stores a dtype on the GPU (bool as u32 0/1). */
export function wgslType(d: DType): "f32" | "i32" | "u32" {
  if (d === "float32") return "f32";
  if (d === "int32") return "i32";
  if (d === "bool") return "u32";
  throw new TypeError(
    `webgpu: dtype ${d} is not supported on WebGPU yet (float32, int32 and bool are); use the cpu backend or float32`,
  );
}

/** Renders an index expression as i32 WGSL. */
export function renderIdx(i: Idx): string {
  switch (i.k) {
    case "lit":
      return String(i.v);
    case "var":
      return i.name;
    case "bin":
      return `(${renderIdx(i.a)} ${i.op} ${renderIdx(i.b)})`;
  }
}

/** A float32 literal (finite values only; see `ExprRenderer.constant` for the others). */
export function f32Lit(v: number): string {
  const s = String(Math.fround(v));
  return /[.e]/.test(s) ? `${s}f` : `${s}.0f`;
}

const outside1 = (v: string, a: string, h: Set<string>) => (
  h.add("nan"), `select(${v}, tg_nan(), abs(${a}) > 1.0 || tg_isnan(${a}))`
);
const FLOAT_UNARY: Record<string, (a: string, h: Set<string>) => string> = {
  exp: (a, h) => (h.add("exp"), `tg_exp(${a})`),
  log: (a, h) => (h.add("log"), `tg_log(${a})`),
  log1p: (a, h) => (h.add("log1p"), `tg_log1p(${a})`),
  expm1: (a, h) => (h.add("expm1"), `tg_expm1(${a})`),
  sqrt: (a, h) => (h.add("sqrt"), `tg_sqrt(${a})`),
  rsqrt: (a, h) => (h.add("sqrt"), `(1.0 / tg_sqrt(${a}))`),
  sin: (a) => `sin(${a})`,
  cos: (a) => `cos(${a})`,
  tan: (a) => `tan(${a})`,
  tanh: (a, h) => (h.add("tanh"), `tg_tanh(${a})`),
  logistic: (a, h) => (h.add("logistic"), `tg_logistic(${a})`),
  floor: (a) => `floor(${a})`,
  ceil: (a) => `ceil(${a})`,
  round: (a) => `round(${a})`,
  abs: (a) => `abs(${a})`,
  sign: (a, h) => (h.add("sign"), `tg_sign(${a})`),
  neg: (a) => `(-${a})`,
  // asin/acos through atan2 (llvmpipe's asin/acos are off by ~3e-4), NaN outside [-1, 1]
  asin: (a, h) => outside1(`atan2(${a}, sqrt((1.0 - ${a}) * (1.0 + ${a})))`, a, h),
  acos: (a, h) => outside1(`atan2(sqrt((1.0 - ${a}) * (1.0 + ${a})), ${a})`, a, h),
  atan: (a) => `atan(${a})`,
  sinh: (a) => `sinh(${a})`,
  cosh: (a) => `cosh(${a})`,
  asinh: (a) => `asinh(${a})`,
  acosh: (a) => `acosh(${a})`,
  atanh: (a) => `atanh(${a})`,
};
const COMPARE: Record<string, string> = {
  eq: "==",
  ne: "!=",
  lt: "<",
  le: "<=",
  gt: ">",
  ge: ">=",
};

function exprDtype(e: Expr): DType {
  return e.k === "load" || e.k === "alu" || e.k === "const" || e.k === "acc"
    ? e.dtype
    : e.k === "index"
    ? "int32"
    : "bool";
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
    if (d === "int32") return `i32(${Number.isFinite(v) ? Math.trunc(v) | 0 : 0})`;
    if (d === "bool") return v !== 0 ? "1u" : "0u";
    const f = Math.fround(v);
    if (Number.isFinite(f)) return f32Lit(f);
    this.helpers.add("nan");
    return Number.isNaN(f) ? "tg_nan()" : f > 0 ? "tg_inf()" : "(-tg_inf())";
  }

  /** The expression as a WGSL boolean. */
  cond(e: Expr): string {
    if (e.k === "cmpIdx") return `(${renderIdx(e.a)} ${e.op} ${renderIdx(e.b)})`;
    if (e.k === "alu" && e.op === "land") {
      return `(${this.cond(e.args[0])} && ${this.cond(e.args[1])})`;
    }
    const d = exprDtype(e);
    const v = this.val(e);
    return d === "float32" ? `(!(${v} == 0.0))` : d === "int32" ? `(${v} != 0)` : `(${v} != 0u)`;
  }

  /** The expression's value in its storage type (f32, i32, or u32 for bool). */
  val(e: Expr): string {
    switch (e.k) {
      case "const":
        return this.constant(e.v, e.dtype);
      case "index":
        return `i32(${renderIdx(e.index)})`;
      case "acc":
        return this.#acc;
      case "cmpIdx":
        return `select(0u, 1u, ${this.cond(e)})`;
      case "load": {
        const idx = renderIdx(e.index);
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

  #alu(e: Expr & { k: "alu" }): string {
    const h = this.helpers;
    const out = e.dtype;
    if (e.op === "land") return `select(0u, 1u, ${this.cond(e)})`;
    if (e.op === "select") {
      return `select(${this.val(e.args[2])}, ${this.val(e.args[1])}, ${this.cond(e.args[0])})`;
    }
    const src = exprDtype(e.args[0]);
    const a = e.args.map((x) => this.val(x));
    if (e.op === "convert") return convert(a[0], src, out, h);
    if (e.op === "stopGradient") return a[0];
    if (e.op === "ne" && src === "float32") return `select(1u, 0u, ${a[0]} == ${a[1]})`;
    if (e.op in COMPARE) return `select(0u, 1u, ${a[0]} ${COMPARE[e.op]} ${a[1]})`;
    if (e.op === "isnan" || e.op === "isfinite") {
      if (src !== "float32") return e.op === "isnan" ? "0u" : "1u";
      h.add("nan");
      return `select(0u, 1u, tg_${e.op}(${a[0]}))`;
    }
    if (e.op === "and" || e.op === "or" || e.op === "xor") {
      return `(${a[0]} ${e.op === "and" ? "&" : e.op === "or" ? "|" : "^"} ${a[1]})`;
    }
    if (e.op === "not") return src === "bool" ? `(1u - ${a[0]})` : `(~${a[0]})`;
    if (src === "float32") return floatOp(e.op, a, h);
    return intOp(e.op, a, src, out, h);
  }
}

function floatOp(op: string, a: string[], h: Set<string>): string {
  const un = FLOAT_UNARY[op];
  if (un) return un(a[0], h);
  switch (op) {
    case "add":
      return `(${a[0]} + ${a[1]})`;
    case "sub":
      return `(${a[0]} - ${a[1]})`;
    case "mul":
      return `(${a[0]} * ${a[1]})`;
    case "div":
      return `(${a[0]} / ${a[1]})`;
    case "pow":
      h.add("pow");
      return `tg_pow(${a[0]}, ${a[1]})`;
    case "rem":
      return `(${a[0]} % ${a[1]})`;
    case "max":
    case "min":
      h.add(op);
      return `tg_${op}(${a[0]}, ${a[1]})`;
  }
  throw new TypeError(`webgpu: no WGSL template for elementwise op ${op}`);
}

/** Integer and bool arithmetic: native where it matches JS-then-store semantics, else via f32. */
function intOp(op: string, a: string[], src: DType, out: DType, h: Set<string>): string {
  const wrap = (x: string) => (out === "bool" ? `(${x} & 255u)` : x);
  switch (op) {
    case "add":
      return wrap(`(${a[0]} + ${a[1]})`);
    case "sub":
      return wrap(`(${a[0]} - ${a[1]})`);
    case "mul":
      return wrap(`(${a[0]} * ${a[1]})`);
    case "neg":
      return src === "int32" ? `(-${a[0]})` : `((0u - ${a[0]}) & 255u)`;
    case "max":
    case "min":
      return `${op}(${a[0]}, ${a[1]})`;
    case "abs":
      return src === "int32" ? `abs(${a[0]})` : a[0];
    case "sign":
      return src === "int32" ? `sign(${a[0]})` : a[0];
    case "floor":
    case "ceil":
    case "round":
    case "stopGradient":
      return a[0];
    case "div":
      if (src === "int32") return `select(${a[0]} / ${a[1]}, 0, ${a[1]} == 0)`;
      break;
    case "rem":
      // |a| % |b| in u32 with a's sign (an i32 `%` computed as unsigned was seen on llvmpipe)
      if (src === "int32") {
        const mag = `i32(u32(abs(${a[0]})) % u32(abs(${a[1]})))`;
        return `select(select(${mag}, -${mag}, ${a[0]} < 0), 0, ${a[1]} == 0)`;
      }
  }
  // Anything else computes in f32 and stores like a JS typed array (truncation, wraparound).
  const fa = a.map((x) => `f32(${x})`);
  const f = floatOp(op, fa, h);
  h.add(out === "bool" ? "f2u8" : "f2i");
  return out === "bool" ? `tg_f2u8(${f})` : `tg_f2i(${f})`;
}

function convert(a: string, from: DType, to: DType, h: Set<string>): string {
  if (from === to) return a;
  if (to === "bool") {
    return from === "float32"
      ? `select(1u, 0u, ${a} == 0.0)`
      : `select(0u, 1u, ${a} != ${from === "int32" ? "0" : "0u"})`;
  }
  if (to === "float32") return `f32(${a})`;
  if (from === "float32") {
    h.add("f2i");
    return `tg_f2i(${a})`;
  }
  return `i32(${a})`;
}

/** Options shared by kernel renderers. */
export interface RenderOptions {
  /** Invocations per workgroup for map kernels and reduction loops. */
  workgroupSize: number;
  /** Largest workgroup count per dispatch dimension. */
  maxWorkgroupsPerDim: number;
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

/** Binding declarations: inputs 0..n-1 read-only, then the output. */
export function bindings(inputs: DType[], outs: DType[]): string {
  const lines = inputs.map((d, i) =>
    `@group(0) @binding(${i}) var<storage, read> in${i}: array<${wgslType(d)}>;`
  );
  outs.forEach((d, j) => {
    lines.push(
      `@group(0) @binding(${inputs.length + j}) var<storage, read_write> out${j || ""}: array<${
        wgslType(d)
      }>;`,
    );
  });
  return lines.join("\n") + "\n";
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

const load = (slot: number, index: string) => `in${slot}[${index}]`;

/** Phony assignments that keep every input binding in the pipeline layout. */
export function phonyUses(n: number, name = "in"): string {
  return [...Array(n).keys()].map((i) => `_ = &${name}${i};`).join(" ");
}

/** Renders a kernel without a reduction: one invocation per output element. */
/** Loads at a literal index (scalars): independent of the element, so hoisted out of loops. */
const CONST_LOAD = /^let \w+ = in\d+\[\d+\];$/;

/** Splits rendered statements into constant-index loads and the rest. */
export function hoistConstLoads(stmts: string[]): [string[], string[]] {
  return [stmts.filter((t) => CONST_LOAD.test(t)), stmts.filter((t) => !CONST_LOAD.test(t))];
}

/**
 * Renders a kernel without a reduction: one output element per step. Large kernels give each
 * invocation U = 4 elements (a workgroup's lanes take consecutive elements in each step), so
 * loads of scalars are done once per 4 elements: on software adapters every storage load is a
 * per-lane loop, and broadcast scalars can be most of a kernel's loads.
 */
function renderMap(k: Kernel, opt: RenderOptions): RenderedKernel {
  const m4 = renderMap4(k, opt);
  if (m4) return m4;
  const r = new ExprRenderer(load);
  const v = r.val(k.body);
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const [consts, rest] = hoistConstLoads(r.stmts);
  const body = `${rest.join("\n    ")}\n    out[o] = ${v};`;
  const wg = opt.workgroupSize;
  const U = total >= 65536 ? 4 : 1;
  const dispatch = spread(Math.ceil(total / (wg * U)), opt.maxWorkgroupsPerDim);
  const idx = unflatten(k.outShape, body);
  // Without multi-indices the shader is shape-free (bindings carry exact sizes), so one
  // pipeline serves every shape of an elementwise expression.
  const limit = idx ? String(total) : "i32(arrayLength(&out))";
  let steps = "";
  for (let u = 0; u < U; u++) {
    steps += `  {
    let o = base + ${u * wg};
    if (o < ${limit}) {
    ${idx}
    ${body}
    }
  }
`;
  }
  const code = `${bindings(k.inputs, [k.outDtype])}${helperSource(r.helpers)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${phonyUses(k.inputs.length)}
  let base = i32((wid.y * nwg.x + wid.x) * ${wg * U}u + lid);
  if (base >= ${limit}) { return; }
  ${consts.join("\n  ")}
${steps}}
`;
  return { code, dispatch };
}

function reduceInit(op: "sum" | "max" | "min", d: DType, r: ExprRenderer, empty: boolean): string {
  if (op === "sum" || (empty && d !== "float32")) return r.constant(0, d);
  if (d === "float32") return r.constant(op === "max" ? -Infinity : Infinity, d);
  if (d === "int32") return op === "max" ? "i32(-2147483648)" : "i32(2147483647)";
  return op === "max" ? "0u" : "1u";
}

function reduceStep(op: "sum" | "max" | "min", d: DType, h: Set<string>): string {
  if (op === "sum") return d === "bool" ? "acc = (acc + v) & 255u;" : "acc = acc + v;";
  if (d !== "float32") return `acc = ${op}(acc, v);`;
  h.add("nan");
  return `if (v ${op === "max" ? ">" : "<"} acc || tg_isnan(v)) { acc = v; }`;
}

/** Renders a reduction kernel: one invocation per output element loops over the reduced axes. */
function renderReduceLoop(k: Kernel, opt: RenderOptions): RenderedKernel {
  const red = k.reduce!;
  const helpers = new Set<string>();
  const r = new ExprRenderer(load, { helpers });
  const v = r.val(k.body);
  const empty = red.shape.some((s) => s === 0);
  const init = reduceInit(red.op, k.outDtype, r, empty);
  const [consts, rest] = hoistConstLoads(r.stmts);
  let loop = `${rest.join("\n      ")}\n      let v = ${v};\n      ${
    reduceStep(red.op, k.outDtype, helpers)
  }`;
  for (let d = red.shape.length - 1; d >= 0; d--) {
    loop = `for (var r${d} = 0; r${d} < ${red.shape[d]}; r${d}++) {\n      ${loop}\n    }`;
  }
  if (empty) {
    loop = "";
    consts.length = 0;
  }
  const ep = new ExprRenderer(load, { helpers, prefix: "e" });
  const res = k.epilogue ? ep.val(k.epilogue) : "acc";
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const wg = opt.workgroupSize;
  const dispatch = spread(Math.ceil(total / wg), opt.maxWorkgroupsPerDim);
  const body = `${loop}\n${ep.stmts.join("\n  ")}\n${res}`;
  const code = `${bindings(k.inputs, [k.outDtype])}${helperSource(helpers)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${phonyUses(k.inputs.length)}
  let o = i32((wid.y * ${dispatch[0]}u + wid.x) * ${wg}u + lid);
  if (o >= ${total}) { return; }
  ${unflatten(k.outShape, body)}
  var acc: ${wgslType(k.outDtype)} = ${init};
  ${consts.join("\n  ")}
  ${loop}
  ${ep.stmts.join("\n  ")}
  out[o] = ${res};
}
`;
  return { code, dispatch };
}

/**
 * Renders a reduction with one workgroup per output element and a tree in workgroup memory.
 * With `P > 1` each output's reduction is cut into P slices, one workgroup each, whose results
 * (no epilogue) go to a partials buffer `out[o * P + p]` for `renderCombine`.
 */
function renderReduceTree(k: Kernel, opt: RenderOptions, wg: number, P = 1): RenderedKernel {
  const red = k.reduce!;
  const helpers = new Set<string>();
  const r = new ExprRenderer(load, { helpers });
  const v = r.val(k.body);
  const rTotal = red.shape.reduce((a, b) => a * b, 1);
  const t = wgslType(k.outDtype);
  const init = reduceInit(red.op, k.outDtype, r, false);
  const step = reduceStep(red.op, k.outDtype, helpers);
  const [consts, rest] = hoistConstLoads(r.stmts);
  const inner = `${rest.join("\n    ")}\n    let v = ${v};\n    ${step}`;
  const ep = new ExprRenderer(load, { helpers, prefix: "e" });
  const res = k.epilogue ? ep.val(k.epilogue) : "acc";
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const dispatch = spread(total * P, opt.maxWorkgroupsPerDim);
  const all = `${inner}\n${ep.stmts.join("\n")}\n${res}`;
  const chunk = Math.ceil(rTotal / P / 4) * 4;
  const [lo, hi] = P === 1
    ? ["0", `${rTotal}`]
    : [`p * ${chunk}`, `min(p * ${chunk} + ${chunk}, ${rTotal})`];
  let decls = bindings(k.inputs, [k.outDtype]);
  let loop = `for (var rf = ${lo} + i32(lid); rf < ${hi}; rf += ${wg}) {
    ${unflatten(red.shape, inner, "rf", "r")}
    ${inner}
  }`;
  const l4 = reduceLoop4(k, r, step, lo, hi, wg, k.outDtype);
  if (l4) {
    [decls, loop] = [l4.decls, l4.loop];
    consts.splice(0, consts.length, ...l4.consts);
  }
  const code = `${decls}${helperSource(helpers)}
var<workgroup> part: array<${t}, ${wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${phonyUses(k.inputs.length)}
  let wo = i32(wid.y * ${dispatch[0]}u + wid.x);
  let o = wo / ${P}; let p = wo % ${P};
  ${unflatten(k.outShape, all)}
  var acc: ${t} = ${init};
  ${consts.join("\n  ")}
  ${loop}
  part[lid] = acc;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      acc = part[lid];
      let v = part[lid + s];
      ${step}
      part[lid] = acc;
    }
    workgroupBarrier();
  }
  if (lid == 0u && o < ${total}) {
    acc = part[0];
    ${P === 1 ? `${ep.stmts.join("\n    ")}\n    out[o] = ${res};` : "out[wo] = acc;"}
  }
}
`;
  return { code, dispatch };
}

/** The second pass of a split reduction: one invocation per output folds its P partials. */
function renderCombine(k: Kernel, opt: RenderOptions, P: number): RenderedKernel["combine"] {
  const red = k.reduce!;
  const helpers = new Set<string>();
  const r = new ExprRenderer(load, { helpers });
  const t = wgslType(k.outDtype);
  const init = reduceInit(red.op, k.outDtype, r, false);
  const step = reduceStep(red.op, k.outDtype, helpers);
  const ep = new ExprRenderer(load, { helpers, prefix: "e" });
  const res = k.epilogue ? ep.val(k.epilogue) : "acc";
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const wg = opt.workgroupSize;
  const dispatch = spread(Math.ceil(total / wg), opt.maxWorkgroupsPerDim);
  const n = k.inputs.length;
  const tail = `${ep.stmts.join("\n  ")}\n  out[o] = ${res};`;
  const code = `${
    bindings(k.inputs, [])
  }@group(0) @binding(${n}) var<storage, read> partial: array<${t}>;
@group(0) @binding(${n + 1}) var<storage, read_write> out: array<${t}>;
${helperSource(helpers)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${phonyUses(n)}
  let o = i32((wid.y * ${dispatch[0]}u + wid.x) * ${wg}u + lid);
  if (o >= ${total}) { return; }
  ${unflatten(k.outShape, tail)}
  var acc: ${t} = ${init};
  for (var p = 0; p < ${P}; p++) {
    let v = partial[o * ${P} + p];
    ${step}
  }
  ${tail}
}
`;
  return { code, dispatch, partials: total * P };
}

/** Renders any kernel of the IR to a WGSL compute shader. */
export function renderKernelWgsl(k: Kernel, opt: RenderOptions): RenderedKernel {
  if (!k.reduce) return renderMap(k, opt);
  const rTotal = k.reduce.shape.reduce((a, b) => a * b, 1);
  const total = k.outShape.reduce((a, b) => a * b, 1);
  if (rTotal >= 128 && total <= 2048) {
    // few outputs of long reductions: slice each so that about 64 workgroups share the work
    // (a single workgroup runs on one CPU thread on software adapters)
    const P = Math.min(Math.ceil(64 / total), Math.floor(rTotal / 4096));
    if (P < 2) return renderReduceTree(k, opt, 64);
    return { ...renderReduceTree(k, opt, 64, P), combine: renderCombine(k, opt, P) };
  }
  return renderReduceLoop(k, opt);
}
