/**
 * The kernel IR: a loop nest over an output shape (plus optional reduction loops) whose body is a
 * typed scalar expression tree (every node has a dtype) over simplified integer index arithmetic.
 * Renderers (kernels/render_*.ts) turn one kernel into JavaScript, Wasm or WGSL.
 * @module
 */
import type { DType } from "../dtype.ts";

/**
 * Integer index expression. `dyn` is data-dependent: the int32 value of scalar expression `e`
 * (e.g. a loaded index) clamped to [lo, hi], so every load it addresses stays in bounds.
 */
export type Idx =
  | { k: "lit"; v: number }
  | { k: "var"; name: string }
  | { k: "bin"; op: "+" | "*" | "/" | "%"; a: Idx; b: Idx }
  | { k: "dyn"; e: Expr; lo: number; hi: number };

/**
 * Scalar expression; every node has a dtype. `alu` applies an elementwise primitive (by name, see
 * lib/compile/alu.ts) or the IR's own logical and of conditions (`LAND`); `cmpIdx` and `LAND`
 * are conditions (bool) that only feed `select` and `LAND`.
 */
export type Expr =
  | { k: "load"; input: number; index: Idx; dtype: DType }
  | { k: "const"; v: number; dtype: DType }
  | { k: "index"; index: Idx; dtype: "int32" }
  | { k: "alu"; op: string; args: Expr[]; dtype: DType }
  | { k: "cmpIdx"; op: "<" | ">=" | "=="; a: Idx; b: Idx; dtype: "bool" }
  | { k: "acc"; dtype: DType };

/** An `alu` node. */
export type Alu = Extract<Expr, { k: "alu" }>;

/** The IR's logical and of two conditions (not a primitive: conditions are not values). */
export const LAND = "land";

/** Index comparison `a op b` (a condition). */
export function cmpIdx(op: "<" | ">=" | "==", a: Idx, b: Idx): Expr {
  return { k: "cmpIdx", op, a, b, dtype: "bool" };
}

/** Logical and of conditions, or null for none. */
export function landAll(conds: Expr[]): Expr | null {
  if (!conds.length) return null;
  return conds.reduce((a, b) => ({ k: "alu", op: LAND, args: [a, b], dtype: "bool" }));
}

/** True for condition nodes (`cmpIdx`, `LAND`): JS booleans in the JS and Wasm renderers. */
export function isCond(e: Expr): boolean {
  return e.k === "cmpIdx" || (e.k === "alu" && e.op === LAND);
}

/** A reduction loop nest inside each output element. */
export interface ReduceSpec {
  op: "sum" | "max" | "min";
  /** Extents of the reduction loop variables `r0, r1, ...`. */
  shape: number[];
}

/** One kernel: for each output element (vars `i0, i1, ...`) evaluate `body` (reduced if `reduce`). */
export interface Kernel {
  outShape: number[];
  outDtype: DType;
  inputs: DType[];
  body: Expr;
  reduce?: ReduceSpec;
  /** Applied to the reduced value (`acc`); defaults to the accumulator itself. */
  epilogue?: Expr;
}

/** True when every dtype the kernel loads, computes or stores is a key of `allowed`. */
export function hasDtypesOnly(k: Kernel, allowed: Partial<Record<DType, unknown>>): boolean {
  const ok = (e: Expr): boolean => (!("dtype" in e) || e.dtype in allowed) && subExprs(e).every(ok);
  return [k.outDtype, ...k.inputs].every((d) => d in allowed) &&
    ok(k.body) && (!k.epilogue || ok(k.epilogue));
}

/** The int32 value of `e` clamped to [lo, hi] as an index (a data-dependent load address). */
export function dynIdx(e: Expr, lo: number, hi: number): Idx {
  if (e.dtype !== "int32") {
    throw new TypeError(`kernel: a dynamic index must be int32, got ${e.dtype}`);
  }
  return lo === hi ? lit(lo) : { k: "dyn", e, lo, hi };
}

/** The expressions inside an index (those of its `dyn` nodes). */
export function idxExprs(i: Idx): Expr[] {
  if (i.k === "dyn") return [i.e];
  return i.k === "bin" ? [...idxExprs(i.a), ...idxExprs(i.b)] : [];
}

/** Rewrites the expressions inside an index. */
export function mapIdxExprs(i: Idx, f: (e: Expr) => Expr): Idx {
  if (i.k === "dyn") return { ...i, e: f(i.e) };
  return i.k === "bin" ? { ...i, a: mapIdxExprs(i.a, f), b: mapIdxExprs(i.b, f) } : i;
}

/** The direct sub-expressions of `e`: an `alu`'s operands and the expressions in its indices. */
export function subExprs(e: Expr): Expr[] {
  if (e.k === "alu") return e.args;
  if (e.k === "load" || e.k === "index") return idxExprs(e.index);
  return e.k === "cmpIdx" ? [...idxExprs(e.a), ...idxExprs(e.b)] : [];
}

/** `e` with `f` applied to each direct sub-expression (see {@link subExprs}). */
export function mapSubExprs(e: Expr, f: (e: Expr) => Expr): Expr {
  if (e.k === "alu") return { ...e, args: e.args.map(f) };
  if (e.k === "load" || e.k === "index") return { ...e, index: mapIdxExprs(e.index, f) };
  if (e.k === "cmpIdx") return { ...e, a: mapIdxExprs(e.a, f), b: mapIdxExprs(e.b, f) };
  return e;
}

/** True when a kernel addresses memory through a data-dependent (`dyn`) index. */
export function hasDynIdx(k: Kernel): boolean {
  const dyn = (e: Expr): boolean =>
    ((e.k === "load" || e.k === "index") && idxExprs(e.index).length > 0) ||
    (e.k === "cmpIdx" && idxExprs(e.a).length + idxExprs(e.b).length > 0) ||
    subExprs(e).some(dyn);
  return dyn(k.body) || (!!k.epilogue && dyn(k.epilogue));
}

/** Index literal. */
export function lit(v: number): Idx {
  return { k: "lit", v };
}
/** Index variable. */
export function ivar(name: string): Idx {
  return { k: "var", name };
}

function bin(op: "+" | "*" | "/" | "%", a: Idx, b: Idx): Idx {
  if (a.k === "lit" && b.k === "lit") {
    const x = a.v, y = b.v;
    return lit(op === "+" ? x + y : op === "*" ? x * y : op === "/" ? Math.floor(x / y) : x % y);
  }
  if (op === "+") {
    if (a.k === "lit" && a.v === 0) return b;
    if (b.k === "lit" && b.v === 0) return a;
    if (a.k === "lit") return bin("+", b, a);
    // (x + c1) + c2 -> x + (c1 + c2)
    if (b.k === "lit" && a.k === "bin" && a.op === "+" && a.b.k === "lit") {
      return bin("+", a.a, lit(a.b.v + b.v));
    }
  }
  if (op === "*") {
    if ((a.k === "lit" && a.v === 0) || (b.k === "lit" && b.v === 0)) return lit(0);
    if (a.k === "lit" && a.v === 1) return b;
    if (b.k === "lit" && b.v === 1) return a;
    if (a.k === "lit") return bin("*", b, a);
  }
  if (op === "/" && b.k === "lit") {
    if (b.v === 1) return a;
    // (x * c) / d with d | c
    if (a.k === "bin" && a.op === "*" && a.b.k === "lit" && a.b.v % b.v === 0) {
      return bin("*", a.a, lit(a.b.v / b.v));
    }
  }
  if (op === "%" && b.k === "lit" && b.v === 1) return lit(0);
  return { k: "bin", op, a, b };
}
/** a + b (simplified). */
export function iadd(a: Idx, b: Idx | number): Idx {
  return bin("+", a, typeof b === "number" ? lit(b) : b);
}
/** a * b (simplified). */
export function imul(a: Idx, b: Idx | number): Idx {
  return bin("*", a, typeof b === "number" ? lit(b) : b);
}
/** floor(a / b) for non-negative a (simplified). */
export function idiv(a: Idx, b: number): Idx {
  return bin("/", a, lit(b));
}
/** a mod b for non-negative a (simplified). */
export function imod(a: Idx, b: number): Idx {
  return bin("%", a, lit(b));
}

/** Row-major flat index of a multi-index. */
export function flatIndex(idx: Idx[], shape: number[]): Idx {
  let flat: Idx = lit(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1) flat = iadd(imul(idx[i], stride), flat);
    stride *= shape[i];
  }
  return flat;
}

/** Multi-index of a row-major flat index. */
export function unflatIndex(flat: Idx, shape: number[]): Idx[] {
  const out: Idx[] = new Array(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = shape[i] === 1
      ? lit(0)
      : i === 0
      ? idiv(flat, stride)
      : imod(idiv(flat, stride), shape[i]);
    stride *= shape[i];
  }
  return out;
}

/** A stable text key of an expression (for caching compiled kernels). */
export function kernelKey(k: Kernel): string {
  return JSON.stringify(k);
}
