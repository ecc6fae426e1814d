/**
 * bfloat16 on the host: the bits of a number rounded to bfloat16 (ties to even), their value, and
 * packing arrays of values to raw bits (what `data()` returns; JS has no BFloat16Array).
 * @module
 */

const F = new Float32Array(1);
const U = new Uint32Array(F.buffer);

/**
 * The 16 bits of `x` rounded to the nearest bfloat16 (ties to even; overflow to ±Infinity;
 * subnormals kept; NaN as a quiet NaN of the same sign, 0x7fc0 for a positive one). A float64
 * `x` is rounded once, as if exactly: a float32 rounding that lands on a tie is undone.
 *
 * @example
 * ```ts
 * import { bf16Bits } from "./bfloat16.ts";
 * import assert from "node:assert/strict";
 * assert.equal(bf16Bits(1), 0x3f80);
 * assert.equal(bf16Bits(1 + 2 ** -8), 0x3f80); // a tie rounds to even
 * assert.equal(bf16Bits(1 + 3 * 2 ** -8), 0x3f82);
 * assert.equal(bf16Bits(3.4e38), 0x7f80); // overflow: Infinity
 * assert.equal(bf16Bits(NaN), 0x7fc0);
 * ```
 */
export function bf16Bits(x: number): number {
  F[0] = x;
  const u = U[0];
  if (x !== x) return ((u >>> 16) & 0x8000) | 0x7fc0;
  const f = F[0];
  // the float32 rounding of a float64 made a bfloat16 tie: round toward x instead of to even
  if ((u & 0xffff) === 0x8000 && f !== x) {
    return (Math.abs(x) > Math.abs(f) ? u + 0x8000 : u - 0x8000) >>> 16;
  }
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

/** The number whose bfloat16 bits are `b` (exact). */
export function bf16FromBits(b: number): number {
  U[0] = (b & 0xffff) << 16;
  return F[0];
}

/**
 * Rounds `x` to the nearest bfloat16 value (ties to even; overflow to ±Infinity; NaN stays NaN).
 *
 * @example
 * ```ts
 * import { bf16round } from "./bfloat16.ts";
 * import assert from "node:assert/strict";
 * assert.equal(bf16round(1 / 3), 0.333984375);
 * assert.equal(bf16round(2 ** -133), 2 ** -133); // the smallest subnormal
 * assert.equal(bf16round(2 ** -134), 0); // half of it: a tie, to even (zero)
 * ```
 */
export function bf16round(x: number): number {
  if (x !== x) return x;
  return bf16FromBits(bf16Bits(x));
}

/** Packs bfloat16 values (a host array holding bfloat16-rounded numbers) to their raw bits. */
export function packBf16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = bf16Bits(values[i]);
  return out;
}

/** The values of raw bfloat16 bits, in a Float32Array (exact: every bfloat16 is a float32). */
export function unpackBf16(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) u[i] = (bits[i] & 0xffff) << 16;
  return out;
}
