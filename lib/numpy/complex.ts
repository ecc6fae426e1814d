/**
 * Complex-number functions of `np` (real, imag, conj, angle) over the `complex` / `real` / `imag`
 * primitives; real inputs give what NumPy gives (real(x) = x, imag(x) = 0, angle(x) = 0 or π).
 * @module
 */
import { bind1 } from "../core.ts";
import { floatOf, isComplex } from "../dtype.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import * as ew from "../ops/elementwise.ts";
import { fullLike } from "../ops/_util.ts";
import { complex, imag as imagPrim, real as realPrim } from "../ops/complex.ts";
import "../ops/complex_rules.ts";
import { checkOptions } from "../options.ts";
import { asTensor } from "./_convert.ts";

/**
 * The real part (`x` itself for real arrays).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const z = np.array([{ re: 1, im: 2 }, { re: -3, im: 0.5 }]);
 * assert.equal(z.dtype, "complex64");
 * assert.deepEqual(Array.from(np.real(z).dataSync()), [1, -3]);
 * ```
 */
export function real(x: ArrayLike): Tensor {
  const t = asTensor(x, "real");
  return isComplex(t.dtype) ? realPrim(t) : t;
}

/**
 * The imaginary part (zeros of `x`'s dtype for real arrays).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const z = np.array([{ re: 1, im: 2 }, { re: -3, im: 0.5 }]);
 * assert.deepEqual(Array.from(np.imag(z).dataSync()), [2, 0.5]);
 * assert.deepEqual(Array.from(np.imag(np.array([4, 5])).dataSync()), [0, 0]);
 * ```
 */
export function imag(x: ArrayLike): Tensor {
  const t = asTensor(x, "imag");
  return isComplex(t.dtype) ? imagPrim(t) : fullLike(t, 0);
}

/**
 * The complex conjugate (`x` itself for real arrays).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const z = np.conj(np.array([{ re: 1, im: 2 }]));
 * assert.deepEqual(Array.from(z.dataSync()), [1, -2]);
 * ```
 */
export function conj(x: ArrayLike): Tensor {
  const t = asTensor(x, "conj");
  return isComplex(t.dtype) ? complex(realPrim(t), ew.neg(imagPrim(t))) : t;
}

/**
 * The complex conjugate (alias of {@linkcode conj}).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const z = np.conjugate(np.array([{ re: 0, im: -1 }]));
 * assert.deepEqual(Array.from(z.dataSync()), [0, 1]);
 * ```
 */
export function conjugate(x: ArrayLike): Tensor {
  return conj(x);
}

/** Options of {@linkcode angle}. */
export interface AngleOptions {
  /** Return degrees instead of radians (default false). */
  deg?: boolean;
}

/**
 * The argument of each element, `atan2(imag, real)` in (-π, π]; for real arrays 0 where x ≥ 0
 * and π where x < 0. The result is real (float32 for complex64 and ints, float64 for complex128).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const a = np.angle(np.array([{ re: 0, im: 1 }, { re: -1, im: 0 }]));
 * assert.ok(Math.abs(a.dataSync()[0] - Math.PI / 2) < 1e-6);
 * assert.ok(Math.abs(a.dataSync()[1] - Math.PI) < 1e-6);
 * assert.deepEqual(Array.from(np.angle(np.array([2, -2]), { deg: true }).dataSync()), [0, 180]);
 * ```
 */
export function angle(x: ArrayLike, opts: AngleOptions = {}): Tensor {
  const { deg = false } = checkOptions("angle", opts, ["deg"]);
  const t = asTensor(x, "angle");
  let re: Tensor, im: Tensor;
  if (isComplex(t.dtype)) {
    re = realPrim(t);
    im = imagPrim(t);
  } else {
    re = ew.convert(t, floatOf(t.dtype));
    im = fullLike(re, 0);
  }
  const a = bind1(ew.atan2Op, [im, re]);
  return deg ? ew.mul(a, fullLike(a, 180 / Math.PI)) : a;
}
