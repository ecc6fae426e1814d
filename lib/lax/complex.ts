/**
 * `jax.lax.complex`, `real`, `imag`, `conj`: the complex primitives under their JAX names.
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { floatOf, isComplex, isHalf } from "../dtype.ts";
import * as cx from "../ops/complex.ts";
import "../ops/complex_rules.ts";
import { convert, neg } from "../ops/elementwise.ts";
import { asTensor, prepareOperands } from "../numpy/_convert.ts";

/**
 * `jax.lax.complex`: the complex array `re + i·im`. Operands broadcast and promote to a common
 * float dtype (ints become float32); float32 parts give complex64, float64 parts complex128.
 *
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const z = lax.complex(np.array([1, 2]), 0.5);
 * assert.equal(z.dtype, "complex64");
 * assert.deepEqual(Array.from(z.dataSync()), [1, 0.5, 2, 0.5]);
 * ```
 */
export function complex(re: ArrayLike, im: ArrayLike): Tensor {
  const [a, b] = prepareOperands("complex", [re, im]);
  if (isComplex(a.dtype)) {
    throw new TypeError(`complex: re and im must be real, got ${a.dtype}`);
  }
  const d = isHalf(floatOf(a.dtype)) ? "float32" : floatOf(a.dtype);
  return cx.complex(convert(a, d), convert(b, d));
}

/**
 * `jax.lax.real`: the real part of a complex array.
 *
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(lax.real(lax.complex(np.array([3]), 4)).dataSync()), [3]);
 * ```
 */
export function real(z: ArrayLike): Tensor {
  return cx.real(asTensor(z, "real"));
}

/**
 * `jax.lax.imag`: the imaginary part of a complex array.
 *
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(lax.imag(lax.complex(np.array([3]), 4)).dataSync()), [4]);
 * ```
 */
export function imag(z: ArrayLike): Tensor {
  return cx.imag(asTensor(z, "imag"));
}

/**
 * `jax.lax.conj`: the complex conjugate (a real operand gives a complex result, as in JAX).
 *
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(lax.conj(lax.complex(np.array([3]), 4)).dataSync()), [3, -4]);
 * ```
 */
export function conj(z: ArrayLike): Tensor {
  const t = asTensor(z, "conj");
  if (!isComplex(t.dtype)) return complex(t, 0);
  return cx.complex(cx.real(t), neg(cx.imag(t)));
}
