/**
 * Renders a kernel (kernel.ts) to a JavaScript function `(ins, out) => void` over typed arrays.
 * Elementwise ops render from a few inline templates; any other op calls its reference scalar
 * function, so semantics match the reference backend exactly.
 * @module
 */
import { type DType, isFloat } from "../dtype.ts";
import { f16round, HAS_FLOAT16 } from "../float16.ts";
import type { Expr, Idx, Kernel } from "./kernel.ts";

/** A compiled kernel. */
export type KernelFn = (
  ins: ArrayLike<number>[],
  out: { [i: number]: number; length: number },
) => void;

const INLINE: Record<string, (a: string[], d: DType) => string> = {
  add: ([a, b], d) => (d === "int32" ? `((${a} + ${b}) | 0)` : `(${a} + ${b})`),
  sub: ([a, b], d) => (d === "int32" ? `((${a} - ${b}) | 0)` : `(${a} - ${b})`),
  mul: ([a, b], d) => (d === "int32" ? `Math.imul(${a}, ${b})` : `(${a} * ${b})`),
  div: ([a, b]) => `(${a} / ${b})`,
  neg: ([a], d) => (d === "int32" ? `((-${a}) | 0)` : `(-${a})`),
  exp: ([a]) => `Math.exp(${a})`,
  log: ([a]) => `Math.log(${a})`,
  sqrt: ([a]) => `Math.sqrt(${a})`,
  abs: ([a]) => `Math.abs(${a})`,
  tanh: ([a]) => `Math.tanh(${a})`,
  sin: ([a]) => `Math.sin(${a})`,
  cos: ([a]) => `Math.cos(${a})`,
  eq: ([a, b]) => `(${a} === ${b} ? 1 : 0)`,
  ne: ([a, b]) => `(${a} !== ${b} ? 1 : 0)`,
  lt: ([a, b]) => `(${a} < ${b} ? 1 : 0)`,
  le: ([a, b]) => `(${a} <= ${b} ? 1 : 0)`,
  gt: ([a, b]) => `(${a} > ${b} ? 1 : 0)`,
  ge: ([a, b]) => `(${a} >= ${b} ? 1 : 0)`,
  select: ([c, x, y]) => `(${c} ? ${x} : ${y})`,
  land: ([a, b]) => `(${a} && ${b})`,
  stopGradient: ([a]) => a,
  not: ([a], d) => (d === "bool" ? `(${a} ? 0 : 1)` : `(~${a})`),
};

function renderIdx(i: Idx): string {
  switch (i.k) {
    case "lit":
      return String(i.v);
    case "var":
      return i.name;
    case "bin":
      return i.op === "/"
        ? `Math.floor(${renderIdx(i.a)} / ${renderIdx(i.b)})`
        : `(${renderIdx(i.a)} ${i.op} ${renderIdx(i.b)})`;
  }
}

function convertSrc(a: string, from: DType, to: DType): string {
  if (to === "bool") return `(${a} !== 0 ? 1 : 0)`;
  if (to === "int32" && isFloat(from)) return `CVT_I32(${a})`;
  if (to === "float16" && from !== "float16") return `F16R(${a})`;
  return WRAP_NARROW[to]?.(a) ?? a;
}

/**
 * Wrapping of the narrow integer dtypes, applied to every value computed in them (JS ToInt8,
 * ToUint8, ToUint32: truncation, NaN and infinities to 0, then two's complement), as their stores do.
 */
const WRAP_NARROW: Partial<Record<DType, (a: string) => string>> = {
  int8: (a) => `((${a}) << 24 >> 24)`,
  uint8: (a) => `((${a}) & 255)`,
  uint32: (a) => `((${a}) >>> 0)`,
};

const PRELUDE = "const CVT_I32 = (v) => (Number.isFinite(v) ? Math.trunc(v) | 0 : 0);\n";

function renderAlu(e: Expr & { k: "alu" }, args: string[], inline: typeof INLINE[string]): string {
  const d = e.args.length ? argDtype(e.args[0]) : e.dtype;
  if (e.op === "mul" && d === "uint32") return `(Math.imul(${args[0]}, ${args[1]}) >>> 0)`;
  const src = inline(args, d);
  return WRAP_NARROW[e.dtype]?.(src) ?? src;
}

/** Renders and compiles a kernel; `scalars` supplies reference functions for non-inline ops. */
export function renderKernel(
  k: Kernel,
  scalars: Map<string, (...x: number[]) => number>,
): KernelFn {
  const used = new Map<string, number>();
  const fns: ((...x: number[]) => number)[] = [];
  const expr = (e: Expr): string => {
    switch (e.k) {
      case "load":
        return `in${e.input}[${renderIdx(e.index)}]`;
      case "const":
        return Number.isNaN(e.v)
          ? "NaN"
          : e.v === Infinity
          ? "Infinity"
          : e.v === -Infinity
          ? "-Infinity"
          : `(${e.v})`;
      case "index":
        return renderIdx(e.index);
      case "cmpIdx":
        return `(${renderIdx(e.a)} ${e.op === "==" ? "===" : e.op} ${renderIdx(e.b)})`;
      case "acc":
        return "acc";
      case "alu": {
        const args = e.args.map(expr);
        if (e.op === "convert") {
          return convertSrc(
            args[0],
            e.args[0].k === "load" || e.args[0].k === "alu" || e.args[0].k === "const"
              ? e.args[0].dtype
              : "int32",
            e.dtype,
          );
        }
        const inline = INLINE[e.op];
        if (inline) return renderAlu(e, args, inline);
        let id = used.get(e.op);
        if (id === undefined) {
          const f = scalars.get(e.op);
          if (!f) throw new TypeError(`renderKernel: no scalar function for op ${e.op}`);
          id = fns.length;
          fns.push(f);
          used.set(e.op, id);
        }
        const call = `F${id}(${args.join(", ")})`;
        return WRAP_NARROW[e.dtype]?.(call) ?? call;
      }
    }
  };
  const n = k.inputs.length;
  const head = [...Array(n).keys()].map((i) => `const in${i} = ins[${i}];`).join(" ");
  // without Float16Array, float16 is stored in a Float32Array: round on store
  const store = (v: string) => (k.outDtype === "float16" && !HAS_FLOAT16 ? `F16R(${v})` : v);
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
    let loops = `{ const v = ${body}; ${step} }`;
    for (let r = shape.length - 1; r >= 0; r--) {
      // NOTE: tiny reduction loops are unrolled (the engine folds the constant indices)
      loops = shape[r] <= 4
        ? Array.from({ length: shape[r] }, (_, j) => `{ const r${r} = ${j}; ${loops} }`).join(" ")
        : `for (let r${r} = 0; r${r} < ${shape[r]}; r${r}++) { ${loops} }`;
    }
    inner = `let acc = ${init}; ${loops} out[o] = ${
      store(k.epilogue ? expr(k.epilogue) : "acc")
    }; o++;`;
  } else inner = `out[o] = ${store(body)}; o++;`;
  const outer = k.outShape;
  const usesVars = /\bi\d+\b/.test(inner);
  let loop: string;
  if (!usesVars) {
    const total = outer.reduce((a, b) => a * b, 1);
    loop = `for (let o = 0; o < ${total};) { ${inner} }`;
  } else {
    loop = inner;
    for (let d = outer.length - 1; d >= 0; d--) {
      loop = `for (let i${d} = 0; i${d} < ${outer[d]}; i${d}++) { ${loop} }`;
    }
    loop = `let o = 0; ${loop}`;
  }
  const fnNames = fns.map((_, i) => `F${i}`);
  const src = `${PRELUDE}return (ins, out) => { ${head} ${loop} };`;
  // NOTE: kernels are generated from our own IR only; no user strings reach this source.
  return new Function("F16R", ...fnNames, src)(f16round, ...fns) as KernelFn;
}

function argDtype(e: Expr): DType {
  return e.k === "load" || e.k === "alu" || e.k === "const" || e.k === "acc" ? e.dtype : "int32";
}
