/**
 * Renders a kernel (lib/compile/kernel.ts) to a JavaScript function `(ins, out) => void` over
 * typed arrays: `alu` ops from their OpDef's JS template, or calls of their reference scalar
 * function, so semantics match the reference backend exactly.
 * @module
 */
import type { Expr, Idx, Kernel } from "../lib/compile/kernel.ts";
import { aluOf } from "../lib/compile/alu.ts";
import type { DType } from "../lib/dtype.ts";
import { f16round, HAS_FLOAT16 } from "../lib/float16.ts";

/** A compiled kernel. */
export type KernelFn = (
  ins: ArrayLike<number>[],
  out: { [i: number]: number; length: number },
) => void;

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

/**
 * Wrapping of the narrow integer dtypes, applied to every value computed in them (JS ToInt8,
 * ToUint8, ToUint32: truncation, NaN and infinities to 0, then two's complement), as stores do.
 */
const WRAP_NARROW: Partial<Record<DType, (a: string) => string>> = {
  int8: (a) => `((${a}) << 24 >> 24)`,
  uint8: (a) => `((${a}) & 255)`,
  uint32: (a) => `((${a}) >>> 0)`,
};

const PRELUDE = "const CVT_I32 = (v) => (Number.isFinite(v) ? Math.trunc(v) | 0 : 0);\n";

/** Renders and compiles a kernel. */
export function renderKernel(k: Kernel): KernelFn {
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
        const def = aluOf(e), args = e.args.map(expr), js = def.render.js;
        const arg = e.args[0]?.dtype ?? e.dtype;
        let src: string;
        if (js !== "call") src = js(args, { arg, out: e.dtype });
        else {
          let id = used.get(e.op);
          if (id === undefined) used.set(e.op, id = fns.push(def.scalar) - 1);
          src = `F${id}(${args.join(", ")})`;
        }
        return WRAP_NARROW[e.dtype]?.(src) ?? src;
      }
    }
  };
  const n = k.inputs.length;
  const head = [...Array(n).keys()].map((i) => `const in${i} = ins[${i}];`).join(" ");
  // F16R (float16 rounding) is in scope of every kernel; without Float16Array, float16 is stored in a Float32Array: round on store
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
