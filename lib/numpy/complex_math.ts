/**
 * Composite complex forms of `np.abs`, `np.sign` and `np.power` (math.ts dispatches to them when
 * an operand is complex), written with the complex-aware primitives.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import * as ew from "../ops/elementwise.ts";
import { fullLike } from "../ops/_util.ts";
import { complex, imag, real } from "../ops/complex.ts";
import { hypot } from "../ops/complex_rules.ts";

/**
 * |z| of a complex array as a real array (hypot of the parts, without overflow); for `np.abs`.
 */
export function complexAbs(z: Tensor): Tensor {
  return hypot(real(z), imag(z));
}

/** z / |z| (0 where z = 0), NumPy 2's sign of complex numbers; for `np.sign`. */
export function complexSign(z: Tensor): Tensor {
  const a = complexAbs(z);
  const zero = ew.eq(a, fullLike(a, 0));
  const safe = ew.select(zero, fullLike(a, 1), a);
  const q = ew.div(z, complex(safe, fullLike(safe, 0)));
  return ew.select(zero, fullLike(q, 0), q);
}

/** z ** n for an integer n by repeated squaring (n < 0: 1 / z ** -n). */
function intPower(z: Tensor, n: number): Tensor {
  let result: Tensor | null = null;
  let base = z;
  for (let k = Math.abs(n); k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) result = result ? ew.mul(result, base) : base;
    if (k > 1) base = ew.mul(base, base);
  }
  const r = result ?? fullLike(z, 1);
  return n < 0 ? ew.div(fullLike(r, 1), r) : r;
}

/**
 * x ** y where an operand is complex (`np.power`): integer JS exponents by repeated
 * multiplication (exact, as JAX's integer_pow), else exp(y · log x) on the principal branch,
 * with 0 ** y = 0 (1 for y = 0).
 */
export function complexPower(a: Tensor, b: Tensor, intExponent: number | null): Tensor {
  if (intExponent !== null && Math.abs(intExponent) <= 1024) return intPower(a, intExponent);
  const zero = ew.eq(a, fullLike(a, 0));
  const safe = ew.select(zero, fullLike(a, 1), a);
  const p = ew.exp(ew.mul(b, ew.log(safe)));
  const atZero = ew.select(ew.eq(b, fullLike(b, 0)), fullLike(p, 1), fullLike(p, 0));
  return ew.select(zero, atZero, p);
}
