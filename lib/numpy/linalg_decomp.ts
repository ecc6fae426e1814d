/**
 * The `np.linalg` namespace: `cholesky`, `solve`, `inv`, `det`, `slogdet` over leading batch
 * dims (float32 and float64; other dtypes compute in float32), on the linalg primitives.
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { broadcastShapes, fmtShape } from "../shape.ts";
import { allocTyped, type DType } from "../dtype.ts";
import { fromHost } from "../core.ts";
import { convert } from "../ops/elementwise.ts";
import { broadcastInDim, reshape } from "../ops/_util.ts";
import * as la from "../ops/linalg.ts";
import { asTensor, broadcastTo, resultType } from "./_convert.ts";

/** `x` as a float array (float64 stays; other dtypes become float32). */
function floatArg(op: string, x: ArrayLike, d?: DType): Tensor {
  const t = asTensor(x, op);
  const dt = d ?? la.linalgDType(t.aval.dtype, op);
  return t.aval.dtype === dt ? t : convert(t, dt);
}

function squareArg(op: string, x: ArrayLike): Tensor {
  const t = floatArg(op, x);
  const s = t.aval.shape;
  if (s.length < 2 || s[s.length - 1] !== s[s.length - 2]) {
    throw new TypeError(`${op}: a must be square in its last two dims, got shape ${fmtShape(s)}`);
  }
  return t;
}

/**
 * Cholesky factor L (lower triangular, L Lᵀ = a) of symmetric positive definite matrices.
 * Reads the symmetrized input (a + aᵀ)/2 as JAX does; NaN where a is not positive definite.
 *
 * @param a Array of shape [..., n, n].
 * @returns L, same shape.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const l = np.linalg.cholesky([[4, 2], [2, 5]]);
 * if (l.dataSync().join() !== "2,0,1,2") throw new Error("cholesky");
 * ```
 */
export function cholesky(a: ArrayLike): Tensor {
  return la.cholesky(squareArg("cholesky", a));
}

/**
 * Solves a x = b. b of shape [n] is a vector; otherwise [..., n, k] with batch dims broadcast
 * against a's (NumPy 2 semantics). Singular matrices give inf/NaN (no exception).
 *
 * @param a Coefficients, [..., n, n].
 * @param b Right-hand side, [n] or [..., n, k].
 * @returns x, the shape of b (with broadcast batch dims).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const x = np.linalg.solve([[2, 0], [0, 4]], [2, 8]);
 * if (x.dataSync().join() !== "1,2") throw new Error("solve");
 * ```
 */
export function solve(a: ArrayLike, b: ArrayLike): Tensor {
  const at = asTensor(a, "solve"), bt = asTensor(b, "solve");
  const d = la.linalgDType(resultType([at, bt]).dtype, "solve");
  let x = squareArg("solve", floatArg("solve", at, d));
  let y = floatArg("solve", bt, d);
  const n = x.aval.shape[x.aval.shape.length - 1];
  const vec = y.aval.shape.length === 1;
  if (vec) y = reshape(y, [y.aval.shape[0], 1]);
  if (y.aval.shape.length < 2 || y.aval.shape[y.aval.shape.length - 2] !== n) {
    throw new TypeError(
      `solve: b must have shape [${n}] or [..., ${n}, k] for a of shape ${
        fmtShape(x.aval.shape)
      }, got ${fmtShape(bt.aval.shape)}`,
    );
  }
  const batch = broadcastShapes("solve", x.aval.shape.slice(0, -2), y.aval.shape.slice(0, -2));
  x = broadcastTo(x, [...batch, n, n]);
  y = broadcastTo(y, [...batch, ...y.aval.shape.slice(-2)]);
  const r = la.solveP(x, y, { transposeA: false });
  return vec ? reshape(r, [n]) : r;
}

/**
 * Inverse of square matrices (via an LU solve against the identity).
 *
 * @param a Array of shape [..., n, n].
 * @returns a⁻¹, same shape.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const y = np.linalg.inv([[2, 0], [0, 4]]);
 * if (y.dataSync().join() !== "0.5,0,0,0.25") throw new Error("inv");
 * ```
 */
export function inv(a: ArrayLike): Tensor {
  const x = squareArg("inv", a);
  const s = x.aval.shape, n = s[s.length - 1];
  const eye = allocTyped(x.aval.dtype, n * n);
  for (let k = 0; k < n; k++) eye[k * n + k] = 1;
  const i = broadcastInDim(fromHost(eye, [n, n], x.aval.dtype), s, [s.length - 2, s.length - 1]);
  return la.solveP(x, i, { transposeA: false });
}

/**
 * Determinant over the last two axes (LU with partial pivoting).
 *
 * @param a Array of shape [..., n, n].
 * @returns Shape [...].
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const d = np.linalg.det([[1, 2], [3, 4]]);
 * if (Math.abs(Number(d.item()) + 2) > 1e-6) throw new Error("det");
 * ```
 */
export function det(a: ArrayLike): Tensor {
  return la.det(squareArg("det", a));
}

/**
 * Sign and natural log of the absolute determinant (no overflow for large matrices).
 * A singular matrix gives sign 0 and logabsdet -Infinity.
 *
 * @param a Array of shape [..., n, n].
 * @returns `[sign, logabsdet]`, each of shape [...].
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const [sign, logdet] = np.linalg.slogdet([[1, 2], [3, 4]]);
 * if (sign.item() !== -1 || Math.abs(Number(logdet.item()) - Math.log(2)) > 1e-6) throw new Error("slogdet");
 * ```
 */
export function slogdet(a: ArrayLike): [Tensor, Tensor] {
  const [l, s] = la.slogdetP(squareArg("slogdet", a));
  return [s, l];
}
