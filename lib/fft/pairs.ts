/**
 * Helpers on complex values held as a trailing axis of 2 (re, im), the operand layout of the
 * `fft` primitive: product, zero padding / cropping of axes, and fast transform lengths.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import * as mv from "../ops/movement.ts";
import { add, mul, sub } from "../numpy/math.ts";
import { full } from "../ops/_util.ts";

/** Complex product of two pair arrays (NumPy broadcasting on the other axes). */
export function cmul(a: Tensor, b: Tensor): Tensor {
  const part = (x: Tensor, i: number) => {
    const s = x.shape, r = s.length;
    return mv.slice(
      x,
      s.map((_, d) => (d === r - 1 ? i : 0)),
      s.map((n, d) => (d === r - 1 ? i + 1 : n)),
    );
  };
  const ar = part(a, 0), ai = part(a, 1), br = part(b, 0), bi = part(b, 1);
  return mv.concatenate(
    [sub(mul(ar, br), mul(ai, bi)), add(mul(ar, bi), mul(ai, br))],
    -1 + ar.ndim,
  );
}

/** Crops or zero-pads axis `axis` of `x` to length `n` (at the end), as NumPy's `n` / `s`. */
export function fitAxis(x: Tensor, axis: number, n: number): Tensor {
  const s = x.shape, have = s[axis];
  if (have === n) return x;
  if (have > n) return mv.slice(x, s.map(() => 0), s.map((d, i) => (i === axis ? n : d)));
  const z = s.map(() => 0);
  return mv.pad(x, full([], 0, x.dtype), z, s.map((_, i) => (i === axis ? n - have : 0)));
}

/** True when n has no prime factor above 5 (the lengths the mixed-radix kernels do fastest). */
function smooth5(n: number): boolean {
  for (const p of [2, 3, 5]) while (n % p === 0) n /= p;
  return n === 1;
}

/** The smallest 5-smooth length ≥ n (SciPy's `next_fast_len` for real transforms). */
export function nextFastLen(n: number): number {
  if (n <= 6) return Math.max(n, 1);
  let m = n;
  while (!smooth5(m)) m++;
  return m;
}
