/**
 * Renders a kernel (lib/compile/kernel.ts) to a JavaScript function `(ins, out) => void` over
 * typed arrays: `alu` ops from their OpDef's JS template, or calls of their reference scalar
 * function, so semantics match the reference backend exactly.
 * @module
 */
import {
  type Expr,
  type Idx,
  idxExprs,
  type Kernel,
  LAND,
  subExprs,
} from "../lib/compile/kernel.ts";
import { aluOf } from "../lib/compile/alu.ts";
import { type DType, hostRound } from "../lib/dtype.ts";
import { f16round } from "../lib/float16.ts";
import { bf16round } from "../lib/bfloat16.ts";

/** A compiled kernel. */
export type KernelFn = (
  ins: ArrayLike<number>[],
  out: { [i: number]: number; length: number },
) => void;

/**
 * An index as JS; `dyn` renders a data-dependent index, `lit` a literal (a divisor or modulus
 * stays a literal: the engine turns a division by a constant into cheaper operations).
 */
function renderIdx(
  i: Idx,
  dyn: (d: Extract<Idx, { k: "dyn" }>) => string,
  lit: (v: number) => string,
): string {
  switch (i.k) {
    case "lit":
      return lit(i.v);
    case "var":
      return i.name;
    case "bin": {
      const a = renderIdx(i.a, dyn, lit);
      const b = i.b.k === "lit" && (i.op === "/" || i.op === "%")
        ? String(i.b.v)
        : renderIdx(i.b, dyn, lit);
      return i.op === "/" ? `Math.floor(${a} / ${b})` : `(${a} ${i.op} ${b})`;
    }
    case "dyn":
      return dyn(i);
  }
}

/** True when `e` reads through a data-dependent index. */
function hasDyn(e: Expr): boolean {
  const inIdx = e.k === "cmpIdx"
    ? idxExprs(e.a).length + idxExprs(e.b).length > 0
    : (e.k === "load" || e.k === "index") && idxExprs(e.index).length > 0;
  return inIdx || subExprs(e).some(hasDyn);
}

/**
 * The loop level an expression depends on (`i<d>`: 1 + d, reduction variable `r<j>`: 1 + n + j for
 * n output axes, 0 for none); null when it depends on the running output `o` or the accumulator.
 */
function levelOf(e: Expr, n: number): number | null {
  let lv = 0;
  const idx = (i: Idx): boolean => {
    if (i.k === "var") {
      const m = /^([ir])(\d+)$/.exec(i.name);
      if (!m) return false;
      lv = Math.max(lv, Number(m[2]) + 1 + (m[1] === "r" ? n : 0));
    }
    return i.k !== "bin" || (idx(i.a) && idx(i.b));
  };
  const walk = (x: Expr): boolean =>
    x.k !== "acc" && (x.k !== "load" && x.k !== "index" || idx(x.index)) &&
    (x.k !== "cmpIdx" || (idx(x.a) && idx(x.b))) && subExprs(x).every(walk);
  return walk(e) ? lv : null;
}

/**
 * Wrapping of the narrow integer dtypes, applied to every value computed in them (JS ToInt8,
 * ToUint8, ToUint32: truncation, NaN and infinities to 0, then two's complement), as stores do.
 */
const WRAP_NARROW: Partial<Record<DType, (a: string) => string>> = {
  int8: (a) => `((${a}) << 24 >> 24)`,
  uint8: (a) => `((${a}) & 255)`,
  uint32: (a) => `((${a}) >>> 0)`,
  // every bfloat16 result rounds, as the unfused program's stores would (jit equals eager)
  bfloat16: (a) => `BF16R(${a})`,
};

const PRELUDE = "const CVT_I32 = (v) => (Number.isFinite(v) ? Math.trunc(v) | 0 : 0);\n";

const keys = new WeakMap<Expr, string>();
/** A structural key of an expression (memoized per node). */
function exprKey(e: Expr): string {
  let key = keys.get(e);
  if (key === undefined) keys.set(e, key = JSON.stringify(e));
  return key;
}

/**
 * How often each `alu` subexpression that calls out to JS (a `call` op or a `Math.*` template)
 * occurs in the kernel's body and epilogue (each counted on its own); empty when none repeats.
 */
function callCounts(k: Kernel): Map<string, number> {
  const counts = new Map<string, number>();
  let repeated = false;
  const walk = (e: Expr, seen: Map<string, number>): void => {
    if (e.k === "alu" && e.op !== LAND) {
      const js = aluOf(e).render.js;
      if (
        js === "call" || /Math\./.test(js(e.args.map(() => "a"), { arg: e.dtype, out: e.dtype }))
      ) {
        const key = exprKey(e), n = (seen.get(key) ?? 0) + 1;
        seen.set(key, n);
        if (n > 1) repeated = true;
      }
    }
    subExprs(e).forEach((a) => walk(a, seen));
  };
  walk(k.body, counts);
  if (k.epilogue) {
    const epi = new Map<string, number>();
    walk(k.epilogue, epi);
    for (const [key, n] of epi) counts.set(key, Math.max(n, counts.get(key) ?? 0));
  }
  return repeated ? counts : new Map();
}

type Factory = (...a: unknown[]) => KernelFn;
/**
 * Compiled kernel sources by text. A kernel's sizes, strides and constants are arguments
 * (`Q`, `P`), so kernels of one structure share a source, a compiled function and the engine's
 * optimized code: a new shape's kernel starts hot. Cleared past `jsKernelTuning.maxSources`.
 */
const templates = new Map<string, Factory>();

/**
 * The number of kernel sources compiled and kept (for tests: bounded by the template cache).
 *
 * @example
 * ```ts
 * import { jsTemplateCount } from "./render_js.ts";
 * if (!(jsTemplateCount() >= 0)) throw new Error("count");
 * ```
 */
export function jsTemplateCount(): number {
  return templates.size;
}

/**
 * @internal Elementwise kernels of one loop (a flat or 1-d output, no reduction) of fewer than
 * `genericMaxWork` elements render generic (see `renderKernel`): a fresh literal kernel's first
 * calls run in the engine's interpreter (a 64-element one ~20× slower than optimized), while a
 * generic one is hot from earlier shapes; larger kernels get literals, whose loops the engine
 * optimizes on the spot, and so do strided loops and reductions, whose constant strides and
 * bounds index faster (generic ones measured 1.3-2.5× slower in steady state).
 */
export const jsKernelTuning: { genericMaxWork: number; maxSources: number } = {
  genericMaxWork: 4096,
  maxSources: 2048,
};

const literal = (v: number): string =>
  Number.isNaN(v)
    ? "NaN"
    : v === Infinity
    ? "Infinity"
    : v === -Infinity
    ? "-Infinity"
    : Object.is(v, -0)
    ? "(-0)"
    : `(${v})`;

/**
 * Renders and compiles a kernel. `genericArg` (default: small flat kernels, see `jsKernelTuning`):
 * sizes, strides and constants are passed as arguments to a function shared by every kernel of
 * the same structure; false: they are literals in a function of this kernel's own (the same
 * results, bit for bit).
 */
export function renderKernel(k: Kernel, genericArg?: boolean): KernelFn {
  // by default only elementwise kernels: in reductions (and nested loops, below) variable sizes
  // and strides cost the optimized code up to 2.5× (overflow and bounds checks stay)
  const generic = genericArg ?? (k.reduce === undefined &&
    k.outShape.reduce((a, b) => a * b, 1) < jsKernelTuning.genericMaxWork);
  // generic: int32 sizes/strides/bounds in `Q` (an Int32Array, so index arithmetic stays int32),
  // constants in `P` (a Float64Array: NaN, ±Infinity and -0 kept)
  const ints: number[] = [], consts: number[] = [];
  const lit = (v: number): string => generic && (v | 0) === v ? `q${ints.push(v) - 1}` : literal(v);
  const constant = (v: number): string => generic ? `p${consts.push(v) - 1}` : literal(v);
  const used = new Map<string, number>();
  const fns: ((...x: number[]) => number)[] = [];
  // data-dependent indices (int32 values: a NaN-free clamp), hoisted to the loop level they need
  const hoisted = new Map<string, string>();
  const nOut = k.outShape.length;
  const hoistAt: string[][] = [...k.outShape, ...k.reduce?.shape ?? [], 0].map(() => []);
  // common subexpressions that call out (Math.*, scalar functions: e.g. the two tanh(x) of
  // 1 - tanh(x)², inlined twice by fusion) are computed once per element: `const cN` before use
  const repeats = callCounts(k);
  const cseNames = new Map<string, string>();
  let pre: string[] | null = null;
  const dyn = (d: Extract<Idx, { k: "dyn" }>): string => {
    const src = `Math.min(Math.max(${hoistedCode(() => expr(d.e))}, ${lit(d.lo)}), ${lit(d.hi)})`;
    const lv = levelOf(d.e, nOut);
    if (lv === null) return src;
    const key = JSON.stringify(d);
    let h = hoisted.get(key);
    if (h === undefined) {
      hoisted.set(key, h = `h${hoisted.size}`);
      hoistAt[lv].push(`const ${h} = ${src};`);
    }
    return h;
  };
  const renderIdx_ = (i: Idx) => renderIdx(i, dyn, lit);
  // conditions on data-dependent indices (a gather's bounds check), hoisted out of inner loops
  const innermost = nOut + (k.reduce?.shape.length ?? 0);
  /** Renders hoisted code, where no per-element common subexpression exists. */
  const hoistedCode = (f: () => string): string => {
    const saved = pre;
    pre = null;
    try {
      return f();
    } finally {
      pre = saved;
    }
  };
  const hoistCond = (e: Expr, src: string): string => {
    const lv = hasDyn(e) ? levelOf(e, nOut) : null;
    if (lv === null || lv >= innermost) return src;
    const key = JSON.stringify(e);
    let h = hoisted.get(key);
    if (h === undefined) {
      hoisted.set(key, h = `h${hoisted.size}`);
      hoistAt[lv].push(`const ${h} = ${src};`);
    }
    return h;
  };
  const expr = (e: Expr): string => {
    switch (e.k) {
      case "load":
        return `in${e.input}[${renderIdx_(e.index)}]`;
      case "const":
        return constant(e.v);
      case "index":
        return renderIdx_(e.index);
      case "cmpIdx":
        return hoistCond(
          e,
          `(${renderIdx_(e.a)} ${e.op === "==" ? "===" : e.op} ${renderIdx_(e.b)})`,
        );
      case "acc":
        return "acc";
      case "alu": {
        // a LAND may be hoisted out of the loops (hoistCond): its operands share no temporaries
        const def = aluOf(e), js = def.render.js;
        const args = e.op === LAND
          ? hoistedCode(() => e.args.map(expr).join("\0")).split("\0")
          : e.args.map(expr);
        const arg = e.args[0]?.dtype ?? e.dtype;
        let src: string;
        if (js !== "call") src = js(args, { arg, out: e.dtype });
        else {
          let id = used.get(e.op);
          if (id === undefined) used.set(e.op, id = fns.push(def.scalar) - 1);
          src = `F${id}(${args.join(", ")})`;
        }
        if (e.op === LAND) return hoistCond(e, src);
        src = WRAP_NARROW[e.dtype]?.(src) ?? src;
        const key = pre && repeats.size ? exprKey(e) : "";
        if (!pre || !((repeats.get(key) ?? 0) > 1)) return src;
        let name = cseNames.get(key);
        if (name === undefined) {
          cseNames.set(key, name = `c${cseNames.size}`);
          pre.push(`const ${name} = ${src};`);
        }
        return name;
      }
    }
  };
  const n = k.inputs.length;
  const head = [...Array(n).keys()].map((i) => `const in${i} = ins[${i}];`).join(" ");
  // F16R / BF16R (float16 / bfloat16 rounding) are in scope of every kernel; a dtype kept in a wider
  // host array (bfloat16; float16 without Float16Array) rounds on store
  const round = hostRound(k.outDtype);
  const store = (v: string) => (round ? `${round === bf16round ? "BF16R" : "F16R"}(${v})` : v);
  const bodyPre: string[] = [];
  pre = bodyPre;
  const body = expr(k.body);
  let inner: string;
  if (k.reduce) {
    const { op, shape } = k.reduce;
    const init = op === "sum" ? "0" : op === "max" ? "-Infinity" : "Infinity";
    const step = op === "sum"
      ? "acc += v;"
      : op === "max"
      ? "if (v > acc || v !== v) acc = v;"
      : "if (v < acc || v !== v) acc = v;";
    let loops = `{ ${bodyPre.join(" ")} const v = ${body}; ${step} }`;
    for (let r = shape.length - 1; r >= 0; r--) {
      // NOTE: tiny reduction loops are unrolled (the engine folds the constant indices)
      const body = `${hoistAt[nOut + 1 + r].join(" ")} ${loops}`;
      loops = shape[r] <= 4
        ? Array.from({ length: shape[r] }, (_, j) => `{ const r${r} = ${j}; ${body} }`).join(" ")
        : `for (let r${r} = 0; r${r} < ${lit(shape[r])}; r${r}++) { ${body} }`;
    }
    const epiPre: string[] = [];
    pre = epiPre;
    cseNames.clear(); // the body's names are out of scope after the reduction loop
    const epi = k.epilogue ? expr(k.epilogue) : "acc";
    inner = `let acc = ${init}; ${loops} ${epiPre.join(" ")} out[o] = ${store(epi)}; o++;`;
  } else inner = `${bodyPre.join(" ")} out[o] = ${store(body)}; o++;`;
  const outer = k.outShape;
  const usesVars = /\bi\d+\b/.test(inner + hoistAt.flat().join(""));
  let loop: string;
  if (!usesVars) {
    const total = outer.reduce((a, b) => a * b, 1);
    loop = `${hoistAt[0].join(" ")} for (let o = 0; o < ${lit(total)};) { ${inner} }`;
  } else {
    loop = inner;
    for (let d = outer.length - 1; d >= 0; d--) {
      const pre = hoistAt[d + 1].join(" ");
      loop = `for (let i${d} = 0; i${d} < ${lit(outer[d])}; i${d}++) { ${pre} ${loop} }`;
    }
    loop = `let o = 0; ${hoistAt[0].join(" ")} ${loop}`;
  }
  // ... and only of one loop (known once rendered: whether the body indexes by loop variables)
  if (generic && genericArg === undefined && usesVars && outer.length > 1) {
    return renderKernel(k, false);
  }
  const fnNames = fns.map((_, i) => `F${i}`);
  const ps = [
    ...ints.map((_, i) => `q${i} = Q[${i}]`),
    ...consts.map((_, i) => `p${i} = P[${i}]`),
  ].join(", ");
  // the dtypes in the text keep a shared function's element accesses monomorphic
  const src = `// ${k.inputs.join()} -> ${k.outDtype}\n${PRELUDE}return (ins, out) => { ${
    ps ? `const ${ps};` : ""
  } ${head} ${loop} };`;
  // NOTE: kernels are generated from our own IR only; no user strings reach this source.
  let make = generic ? templates.get(src) : undefined;
  if (!make) {
    make = new Function("F16R", "BF16R", ...fnNames, "Q", "P", src) as Factory;
    if (generic) {
      if (templates.size >= jsKernelTuning.maxSources) templates.clear();
      templates.set(src, make);
    }
  }
  return make(f16round, bf16round, ...fns, new Int32Array(ints), new Float64Array(consts));
}
