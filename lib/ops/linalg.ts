/**
 * Linear-algebra primitives over leading batch dims: `triangularSolve` (left side; linear in b),
 * `cholesky` (of the symmetrized input), `solve` (LU with partial pivoting), `det`, `slogdet`.
 * Derivative rules are JAX's, written with these primitives so they compose to any order.
 * @module
 */
import { bind, bind1, fromHost } from "../core.ts";
import { allocTyped, type DType } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, shapeEqual, sizeOf } from "../shape.ts";
import { type Aval, type BDim, defineOp, type HostArray, type OpDef } from "./_define.ts";
import { batchAt0, broadcastInDim, reduceSum, transpose, zerosOf } from "./_util.ts";
import { add, mul, sub } from "./elementwise.ts";
import { dotGeneral } from "./dot.ts";
import {
  choleskyInPlace,
  luInPlace,
  luSolveInPlace,
  matrixAt,
  triSolveInPlace,
} from "./linalg_host.ts";

/** Params of `triangularSolve`: solves op(a) x = b, a's `lower` triangle, op = transpose if `transposeA`. */
export interface TriSolveParams {
  lower: boolean;
  transposeA: boolean;
  unitDiagonal: boolean;
}
/** Params of `solve`: solves op(a) x = b. */
export interface SolveParams {
  transposeA: boolean;
}

function checkSquare(op: string, a: Aval, arg = "a"): number {
  if (a.shape.length < 2) {
    throw new TypeError(`${op}: ${arg} must be at least 2-d, got shape ${fmtShape(a.shape)}`);
  }
  const n = a.shape[a.shape.length - 1];
  if (a.shape[a.shape.length - 2] !== n) {
    throw new TypeError(
      `${op}: ${arg} must be square in its last two dims, got ${fmtShape(a.shape)}`,
    );
  }
  if (a.dtype !== "float32" && a.dtype !== "float64") {
    throw new TypeError(`${op}: ${arg} must be float32 or float64, got ${a.dtype}`);
  }
  return n;
}

/** a [..., n, n] and b [..., n, k] with equal batch dims and dtypes. */
function solveAval(op: string, [a, b]: Aval[]): Aval[] {
  const n = checkSquare(op, a);
  const bs = b.shape;
  if (
    bs.length !== a.shape.length || bs[bs.length - 2] !== n ||
    !shapeEqual(bs.slice(0, -2), a.shape.slice(0, -2))
  ) {
    throw new TypeError(
      `${op}: b must have shape [...batch, ${n}, k] matching a ${fmtShape(a.shape)}, got ${
        fmtShape(bs)
      }`,
    );
  }
  if (a.dtype !== b.dtype) throw new TypeError(`${op}: dtypes differ: ${a.dtype} and ${b.dtype}`);
  return [{ shape: [...bs], dtype: b.dtype, weak: false }];
}

/** Runs `f(batchIndex)` per matrix of a [..., n, n] host array. */
function batches(a: HostArray): { count: number; n: number } {
  const n = a.shape[a.shape.length - 1];
  return { count: n === 0 ? sizeOf(a.shape.slice(0, -2)) : a.data.length / (n * n), n };
}

/** Swaps the last two axes. */
export function mT(x: Tensor): Tensor {
  const r = x.aval.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return transpose(x, perm);
}

/** Batched matrix product of [..., m, k] and [..., k, n] with equal batch dims. */
export function bmm(a: Tensor, b: Tensor): Tensor {
  const r = a.aval.shape.length;
  const bd = [...Array(r - 2).keys()];
  return dotGeneral(a, b, { contract: [[r - 1], [r - 2]], batch: [bd, bd] });
}

/** A constant [n, n] matrix with f(i, j), broadcast to `like`'s shape. */
export function constMatrix(like: Tensor, f: (i: number, j: number) => number): Tensor {
  const shape = like.aval.shape, r = shape.length, n = shape[r - 1];
  const d = allocTyped(like.aval.dtype, n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i * n + j] = f(i, j);
  return broadcastInDim(fromHost(d, [n, n], like.aval.dtype), shape, [r - 2, r - 1]);
}

/** Trace over the last two axes. */
export function trace(x: Tensor): Tensor {
  const r = x.aval.shape.length;
  return reduceSum(mul(x, constMatrix(x, (i, j) => (i === j ? 1 : 0))), [r - 2, r - 1]);
}

function batchedTwo(args: Tensor[], bdims: BDim[], size: number): Tensor[] {
  return args.map((x, i) => batchAt0(x, bdims[i], size));
}

/** `triangularSolve` primitive: x with op(a) x = b (left side). */
export const triangularSolveOp: OpDef<TriSolveParams> = defineOp({
  name: "triangularSolve",
  kind: "linalg",
  abstractEval: (avals) => solveAval("triangularSolve", avals),
  impl: ([a, b], p, [out]) => {
    const { count, n } = batches(a);
    const k = b.shape[b.shape.length - 1];
    const res = allocTyped(out.dtype, b.data.length);
    for (let q = 0; q < count; q++) {
      const x = matrixAt(b.data, q * n * k, n * k);
      triSolveInPlace(a.data, q * n * n, x, n, k, p.lower, p.transposeA, p.unitDiagonal);
      res.set(x, q * n * k);
    }
    return [res];
  },
  jvp: ([a, b], [da, db], p) => {
    const x = triangularSolve(a, b, p);
    const keep = (i: number, j: number) =>
      (p.lower ? j < i : j > i) || (i === j && !p.unitDiagonal) ? 1 : 0;
    const dam = mul(da, constMatrix(da, keep));
    const rhs = sub(db, bmm(p.transposeA ? mT(dam) : dam, x));
    return [[x], [triangularSolve(a, rhs, p)]];
  },
  vmap: (
    args,
    bdims,
    p,
    size,
  ) => [[triangularSolve(...pair(batchedTwo(args, bdims, size)), p)], [0]],
  transpose: ([ct], [a], p) => [
    null,
    triangularSolve(a as Tensor, ct, { ...p, transposeA: !p.transposeA }),
  ],
});

const pair = (xs: Tensor[]) => xs as [Tensor, Tensor];

/** `cholesky` primitive: lower factor L of (a + aᵀ)/2 (NaN where not positive definite). */
export const choleskyOp: OpDef<Record<string, never>> = defineOp({
  name: "cholesky",
  kind: "linalg",
  abstractEval: ([a]) => {
    checkSquare("cholesky", a);
    return [{ shape: [...a.shape], dtype: a.dtype, weak: false }];
  },
  impl: ([a], _p, [out]) => {
    const { count, n } = batches(a);
    const res = allocTyped(out.dtype, a.data.length);
    for (let q = 0; q < count; q++) {
      const m = matrixAt(a.data, q * n * n, n * n);
      choleskyInPlace(m, n);
      res.set(m, q * n * n);
    }
    return [res];
  },
  jvp: ([a], [da]) => {
    const l = cholesky(a);
    const half = constMatrix(da, () => 0.5);
    const ds = mul(add(da, mT(da)), half);
    const lo = { lower: true, transposeA: false, unitDiagonal: false };
    const y = triangularSolve(l, mT(triangularSolve(l, ds, lo)), lo); // L⁻¹ Ṡ L⁻ᵀ
    const phi = mul(y, constMatrix(y, (i, j) => (j < i ? 1 : i === j ? 0.5 : 0)));
    return [[l], [bmm(l, phi)]];
  },
  vmap: ([a], [bd], _p, size) => [[cholesky(batchAt0(a, bd, size))], [0]],
});

/** LU-factors every matrix of `a` and calls `f` with each factor. */
function eachLu(
  a: HostArray,
  f: (q: number, lu: Float64Array, perm: Int32Array, sign: number, n: number) => void,
): void {
  const { count, n } = batches(a);
  for (let q = 0; q < count; q++) {
    const lu = matrixAt(a.data, q * n * n, n * n);
    const { perm, sign } = luInPlace(lu, n);
    f(q, lu, perm, sign, n);
  }
}

/** `solve` primitive: x with op(a) x = b for square a (LU with partial pivoting). */
export const solveOp: OpDef<SolveParams> = defineOp({
  name: "solve",
  kind: "linalg",
  abstractEval: (avals) => solveAval("solve", avals),
  impl: ([a, b], p, [out]) => {
    const k = b.shape[b.shape.length - 1];
    const res = allocTyped(out.dtype, b.data.length);
    eachLu(a, (q, lu, perm, _s, n) => {
      const x = matrixAt(b.data, q * n * k, n * k);
      luSolveInPlace(lu, perm, x, n, k, p.transposeA);
      res.set(x, q * n * k);
    });
    return [res];
  },
  jvp: ([a, b], [da, db], p) => {
    const x = solveP(a, b, p);
    return [[x], [solveP(a, sub(db, bmm(p.transposeA ? mT(da) : da, x)), p)]];
  },
  vmap: (args, bdims, p, size) => [[solveP(...pair(batchedTwo(args, bdims, size)), p)], [0]],
  transpose: ([ct], [a], p) => [null, solveP(a as Tensor, ct, { transposeA: !p.transposeA })],
});

function detAval(op: string, a: Aval): Aval {
  checkSquare(op, a);
  return { shape: a.shape.slice(0, -2), dtype: a.dtype, weak: false };
}

/** `det` primitive: determinant over the last two axes. */
export const detOp: OpDef<Record<string, never>> = defineOp({
  name: "det",
  kind: "linalg",
  abstractEval: ([a]) => [detAval("det", a)],
  impl: ([a], _p, [out]) => {
    const res = allocTyped(out.dtype, sizeOf(out.shape));
    eachLu(a, (q, lu, _perm, sign, n) => {
      let d = sign;
      for (let i = 0; i < n; i++) d *= lu[i * n + i];
      res[q] = d;
    });
    return [res];
  },
  jvp: ([a], [da]) => {
    const y = det(a);
    return [[y], [mul(y, trace(solveP(a, da, { transposeA: false })))]];
  },
  vmap: ([a], [bd], _p, size) => [[det(batchAt0(a, bd, size))], [0]],
});

/** `slogdet` primitive: [log|det|, sign(det)] over the last two axes. */
export const slogdetOp: OpDef<Record<string, never>> = defineOp({
  name: "slogdet",
  kind: "linalg",
  abstractEval: ([a]) => [detAval("slogdet", a), detAval("slogdet", a)],
  impl: ([a], _p, [out]) => {
    const m = sizeOf(out.shape);
    const logs = allocTyped(out.dtype, m), signs = allocTyped(out.dtype, m);
    eachLu(a, (q, lu, _perm, sign, n) => {
      let s = sign, l = 0;
      for (let i = 0; i < n; i++) {
        const v = lu[i * n + i];
        s *= Math.sign(v);
        l += Math.log(Math.abs(v));
      }
      logs[q] = s === 0 ? -Infinity : l;
      signs[q] = s;
    });
    return [logs, signs];
  },
  jvp: ([a], [da]) => {
    const [l, s] = slogdetP(a);
    return [[l, s], [trace(solveP(a, da, { transposeA: false })), zerosOf(s)]];
  },
  vmap: ([a], [bd], _p, size) => [slogdetP(batchAt0(a, bd, size)), [0, 0]],
});

/** Binds `triangularSolve` (left side). */
export function triangularSolve(a: Tensor, b: Tensor, p: TriSolveParams): Tensor {
  return bind1(triangularSolveOp, [a, b], p);
}
/** Binds `cholesky`. */
export function cholesky(a: Tensor): Tensor {
  return bind1(choleskyOp, [a], {});
}
/** Binds `solve`. */
export function solveP(a: Tensor, b: Tensor, p: SolveParams): Tensor {
  return bind1(solveOp, [a, b], p);
}
/** Binds `det`. */
export function det(a: Tensor): Tensor {
  return bind1(detOp, [a], {});
}
/** Binds `slogdet`: [log|det|, sign]. */
export function slogdetP(a: Tensor): [Tensor, Tensor] {
  return bind(slogdetOp, [a], {}) as [Tensor, Tensor];
}

/**
 * The dtype a linalg front end computes in: float64 stays, everything else becomes float32, but
 * bfloat16 is refused (a TypeError naming `op`), as JAX's decompositions refuse it.
 */
export function linalgDType(d: DType, op = "linalg"): DType {
  if (d === "bfloat16") {
    throw new TypeError(
      `${op}: dtype bfloat16 is not supported by the linear algebra routines (as in JAX); ` +
        `convert with x.astype("float32")`,
    );
  }
  return d === "float64" ? "float64" : "float32";
}
