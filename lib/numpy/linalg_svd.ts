/**
 * `np.linalg.qr`, `eigh`, `svd` on the decomposition primitives, and `lstsq`, `pinv` as
 * compositions of `svd` (differentiable, batchable and jittable through it).
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { fmtShape } from "../shape.ts";
import { checkOptions } from "../options.ts";
import { convert } from "../ops/elementwise.ts";
import { constMatrix, linalgDType, mT } from "../ops/linalg.ts";
import * as ld from "../ops/linalg_decomp.ts";
import { asTensor, resultType } from "./_convert.ts";
import { add, astype, divide, greater, multiply, square, subtract, where } from "./math.ts";
import { max, sum } from "./reductions.ts";
import { expandDims, reshape } from "./shape_ops.ts";
import { matmul } from "./linalg.ts";

/** `x` as a float matrix stack (float64 stays; other dtypes become float32), at least 2-d. */
function matrixArg(op: string, x: ArrayLike, dtype?: "float32" | "float64"): Tensor {
  const t = asTensor(x, op);
  const d = dtype ?? linalgDType(t.dtype, op);
  const f = t.dtype === d ? t : convert(t, d);
  if (f.ndim < 2) {
    throw new TypeError(`${op}: a must be at least 2-d, got shape ${fmtShape(f.shape)}`);
  }
  return f;
}

/** Options of {@link qr}. */
export interface QrOptions {
  /** "reduced" (default): q [..., m, k], r [..., k, n]; "complete": q [..., m, m], r [..., m, n]; "r": only r [..., k, n]. */
  mode?: "reduced" | "complete" | "r";
}

/**
 * QR decomposition a = q r by Householder reflections (LAPACK's sign convention, as NumPy), over
 * leading batch dims. Differentiable (JAX's rule) for m ≥ n, and for m < n in mode "reduced".
 *
 * @param a Array of shape [..., m, n].
 * @param options `mode`.
 * @returns `[q, r]`, or r alone for mode "r".
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const a = np.array([[3, 1], [4, 2]], { dtype: "float64" });
 * const [q, r] = np.linalg.qr(a);
 * const back = np.matmul(q, r).dataSync();
 * if (![3, 1, 4, 2].every((v, i) => Math.abs(back[i] - v) < 1e-12)) throw new Error("qr");
 * if (Math.abs(Math.abs(r.dataSync()[0]) - 5) > 1e-12) throw new Error("r00");
 * ```
 */
export function qr(a: ArrayLike, options: { mode: "r" }): Tensor;
export function qr(a: ArrayLike, options?: { mode?: "reduced" | "complete" }): [Tensor, Tensor];
export function qr(a: ArrayLike, options?: QrOptions): Tensor | [Tensor, Tensor] {
  const o = checkOptions("qr", options, ["mode"]);
  const mode = o.mode ?? "reduced";
  if (mode !== "reduced" && mode !== "complete" && mode !== "r") {
    throw new RangeError(
      `qr: mode must be "reduced", "complete" or "r", got ${JSON.stringify(mode)}`,
    );
  }
  const [q, r] = ld.qr(matrixArg("qr", a), { fullMatrices: mode === "complete" });
  return mode === "r" ? r : [q, r];
}

/** Options of {@link eigh}. */
export interface EighOptions {
  /** Triangle read when `symmetrizeInput` is false: "L" (default) or "U". */
  UPLO?: "L" | "U";
  /** Use (a + aᵀ)/2 (default true, as JAX); false reads only the `UPLO` triangle (as NumPy). */
  symmetrizeInput?: boolean;
}

/**
 * Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices, by Jacobi rotations.
 * Each eigenvector is normalized so its largest-magnitude entry is positive (NumPy and JAX promise
 * no sign). Derivatives (JAX's rule) need distinct eigenvalues: repeated ones give inf/NaN in the
 * eigenvector derivative, as in JAX; losses invariant to the basis (e.g. of w alone) are fine.
 *
 * @param a Array of shape [..., n, n].
 * @param options `UPLO`, `symmetrizeInput`.
 * @returns `[w, v]`: w [..., n], v [..., n, n] with a v = v diag(w).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const [w, v] = np.linalg.eigh([[2, 1], [1, 2]]);
 * if (w.dataSync().join() !== "1,3") throw new Error("eigh values");
 * if (Math.abs(v.dataSync()[1] - Math.SQRT1_2) > 1e-6) throw new Error("eigh vectors");
 * ```
 */
export function eigh(a: ArrayLike, options?: EighOptions): [Tensor, Tensor] {
  const o = checkOptions("eigh", options, ["UPLO", "symmetrizeInput"]);
  let x = matrixArg("eigh", a);
  const s = x.shape;
  if (s[s.length - 1] !== s[s.length - 2]) {
    throw new TypeError(`eigh: a must be square in its last two dims, got shape ${fmtShape(s)}`);
  }
  const uplo = o.UPLO ?? "L";
  if (uplo !== "L" && uplo !== "U") {
    throw new RangeError(`eigh: UPLO must be "L" or "U", got ${JSON.stringify(uplo)}`);
  }
  if (o.symmetrizeInput === false) {
    const tri = uplo === "L" ? x : mT(x); // the chosen triangle, as lower
    const low = multiply(tri, constMatrix(tri, (i, j) => (j < i ? 1 : 0)));
    const diag = multiply(tri, constMatrix(tri, (i, j) => (i === j ? 1 : 0)));
    x = add(add(low, mT(low)), diag);
  }
  const [v, w] = ld.eigh(x);
  return [w, v];
}

/** Options of {@link svd}. */
export interface SvdOptions {
  /** true (default): u [..., m, m], vh [..., n, n]; false: u [..., m, k], vh [..., k, n]. */
  fullMatrices?: boolean;
  /** false: return only the singular values (default true). */
  computeUv?: boolean;
  /** a is symmetric: decompose (a + aᵀ)/2 (default false). */
  hermitian?: boolean;
}

/**
 * Singular value decomposition a = u diag(s) vh by one-sided Jacobi (accurate in float32 and
 * float64), singular values descending. Each row of vh is normalized so its largest-magnitude
 * entry is positive. Derivatives follow JAX: with `fullMatrices` only for square matrices, and
 * u, vh need distinct singular values (s alone is always fine).
 *
 * @param a Array of shape [..., m, n].
 * @param options `fullMatrices`, `computeUv`, `hermitian`.
 * @returns `[u, s, vh]`, or s alone when `computeUv` is false.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const s = np.linalg.svd([[3, 0], [0, -4]], { computeUv: false });
 * if (s.dataSync().join() !== "4,3") throw new Error("svd");
 * const [u, s2, vh] = np.linalg.svd([[1, 2], [3, 4], [5, 6]], { fullMatrices: false });
 * const back = np.matmul(np.multiply(u, s2), vh).dataSync();
 * if (![1, 2, 3, 4, 5, 6].every((v, i) => Math.abs(back[i] - v) < 1e-5)) throw new Error("usv");
 * ```
 */
export function svd(a: ArrayLike, options: SvdOptions & { computeUv: false }): Tensor;
export function svd(a: ArrayLike, options?: SvdOptions): [Tensor, Tensor, Tensor];
export function svd(a: ArrayLike, options?: SvdOptions): Tensor | [Tensor, Tensor, Tensor] {
  const o = checkOptions("svd", options, ["fullMatrices", "computeUv", "hermitian"]);
  let x = matrixArg("svd", a);
  if (o.hermitian) x = symmetrized("svd", x);
  const computeUv = o.computeUv ?? true;
  const r = ld.svdP(x, { fullMatrices: o.fullMatrices ?? true, computeUv });
  return computeUv ? [r[1], r[0], r[2]] : r[0];
}

function symmetrized(op: string, x: Tensor): Tensor {
  const s = x.shape;
  if (s[s.length - 1] !== s[s.length - 2]) {
    throw new TypeError(`${op}: hermitian needs square matrices, got shape ${fmtShape(s)}`);
  }
  return multiply(add(x, mT(x)), 0.5);
}

const EPS = { float32: 2 ** -23, float64: 2 ** -52 };

/** Reciprocals of s where s > cutoff (cutoff = tol · max s per matrix), else 0; and that mask. */
function cutoffInverse(s: Tensor, tol: number | undefined, m: number, n: number) {
  if (s.shape[s.ndim - 1] === 0) return { inv: s, keep: greater(s, 0) }; // empty: a⁺ is zeros
  const rt = tol ?? EPS[s.dtype as "float32" | "float64"] * Math.max(m, n);
  const cut = multiply(max(s, { axis: -1, keepdims: true }), rt);
  const keep = greater(s, cut);
  return { inv: where(keep, divide(1, where(keep, s, 1)), 0), keep };
}

/** Options of {@link pinv}. */
export interface PinvOptions {
  /** Relative cutoff: singular values ≤ rtol · max s count as zero (default max(m, n) · eps). */
  rtol?: number;
  /** NumPy's older name of `rtol`. */
  rcond?: number;
  /** a is symmetric: use (a + aᵀ)/2 (default false). */
  hermitian?: boolean;
}

/**
 * Moore-Penrose pseudo-inverse through the SVD, over leading batch dims.
 *
 * @param a Array of shape [..., m, n].
 * @param options `rtol` (or `rcond`), `hermitian`.
 * @returns a⁺ of shape [..., n, m].
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const p = np.linalg.pinv([[1, 0], [0, 0], [0, 2]]).dataSync();
 * if (![1, 0, 0, 0, 0, 0.5].every((v, i) => Math.abs(p[i] - v) < 1e-6)) throw new Error("pinv");
 * ```
 */
export function pinv(a: ArrayLike, options?: PinvOptions): Tensor {
  const o = checkOptions("pinv", options, ["rtol", "rcond", "hermitian"]);
  let x = matrixArg("pinv", a);
  if (o.hermitian) x = symmetrized("pinv", x);
  const [m, n] = x.shape.slice(-2);
  const [s, u, vt] = ld.svdP(x, { fullMatrices: false, computeUv: true });
  const { inv } = cutoffInverse(s, o.rtol ?? o.rcond, m, n);
  return matmul(multiply(mT(vt), expandDims(inv, -2)), mT(u));
}

/** Options of {@link lstsq}. */
export interface LstsqOptions {
  /** Singular values ≤ rcond · max s count as zero (default max(m, n) · eps, NumPy 2's default). */
  rcond?: number;
}

/**
 * Least-squares solution of a x ≈ b through the SVD (minimum norm when a is rank deficient).
 * Like JAX's default, residuals are always ‖b − a x‖² per column (NumPy returns an empty
 * array when rank < n or m ≤ n).
 *
 * @param a Coefficients [m, n].
 * @param b Right-hand side [m] or [m, k].
 * @param options `rcond`.
 * @returns `[x, residuals, rank, s]`: x [n] or [n, k], residuals [k] ([1] for a vector b), rank (int32), s [min(m, n)].
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const [x, res, rank] = np.linalg.lstsq([[1, 0], [1, 1], [1, 2]], [1, 2, 4]);
 * const xs = x.dataSync();
 * if (Math.abs(xs[0] - 5 / 6) > 1e-5 || Math.abs(xs[1] - 1.5) > 1e-5) throw new Error("lstsq");
 * if (rank.item() !== 2 || Math.abs(Number(res.item()) - 1 / 6) > 1e-5) throw new Error("res");
 * ```
 */
export function lstsq(
  a: ArrayLike,
  b: ArrayLike,
  options?: LstsqOptions,
): [Tensor, Tensor, Tensor, Tensor] {
  const o = checkOptions("lstsq", options, ["rcond"]);
  const at = asTensor(a, "lstsq"), bt0 = asTensor(b, "lstsq");
  const d = linalgDType(resultType([at, bt0]).dtype, "lstsq") as "float32" | "float64";
  const x = matrixArg("lstsq", at, d);
  let bt = bt0.dtype === d ? bt0 : convert(bt0, d);
  const [m, n] = x.shape;
  const vec = bt.ndim === 1;
  if (x.ndim !== 2 || (bt.ndim !== 1 && bt.ndim !== 2) || bt.shape[0] !== m) {
    throw new TypeError(
      `lstsq: a must be [m, n] and b [m] or [m, k] with the same m, got ${fmtShape(x.shape)} and ${
        fmtShape(bt.shape)
      }`,
    );
  }
  if (vec) bt = reshape(bt, [m, 1]);
  const [s, u, vt] = ld.svdP(x, { fullMatrices: false, computeUv: true });
  const { inv, keep } = cutoffInverse(s, o.rcond, m, n);
  const sol = matmul(mT(vt), multiply(expandDims(inv, -1), matmul(mT(u), bt)));
  const res = sum(square(subtract(bt, matmul(x, sol))), { axis: 0 });
  const rank = sum(astype(keep, "int32"));
  return [vec ? reshape(sol, [n]) : sol, res, rank, s];
}

/** Singular values of the matrices on the last two axes (for matrix norms 2, −2, "nuc"). */
export function singularValues(x: Tensor): Tensor {
  return ld.svdP(x, { fullMatrices: false, computeUv: false })[0];
}
