/**
 * float16 on the host: rounding a number to the nearest float16 (Math.f16round where the runtime
 * has it, else an exact emulation) and whether the runtime has Float16Array.
 * @module
 */

// deno-lint-ignore no-explicit-any
const G = globalThis as any;

/** True where the runtime has Float16Array (float16 arrays are then stored in 16 bits). */
export const HAS_FLOAT16: boolean = typeof G.Float16Array === "function";

/**
 * Rounds `x` to the nearest float16 value (ties to even; overflow to ±Infinity; NaN stays NaN).
 *
 * @example
 * ```ts
 * import { f16roundEmulated } from "./float16.ts";
 * import assert from "node:assert/strict";
 * assert.equal(f16roundEmulated(1 + 2 ** -11), 1); // a tie rounds to even
 * assert.equal(f16roundEmulated(65520), Infinity);
 * assert.equal(f16roundEmulated(2 ** -25 * 1.5), 2 ** -24); // subnormal
 * ```
 */
export function f16roundEmulated(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return x > 0 ? Infinity : -Infinity;
  // spacing of float16 values around a: 2^(e-10) for normals, 2^-24 for subnormals
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 rounding at a power-of-two boundary
  else if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (r - q === 0.5 && r % 2 !== 0) r -= 1; // ties to even
  return Math.sign(x) * r * ulp;
}

/** Rounds to the nearest float16 (Math.f16round where available). */
export const f16round: (x: number) => number = typeof Math.f16round === "function"
  ? Math.f16round
  : f16roundEmulated;

/**
 * The IEEE binary16 bit pattern of `x` rounded to float16 (what a Float16Array stores; NaN is
 * the quiet 0x7e00).
 *
 * @example
 * ```ts
 * import { f16Bits, f16FromBits } from "./float16.ts";
 * import assert from "node:assert/strict";
 * assert.equal(f16Bits(1), 0x3c00);
 * assert.equal(f16Bits(-(2 ** -24)), 0x8001); // the smallest subnormal
 * assert.equal(f16FromBits(f16Bits(65504)), 65504);
 * ```
 */
export function f16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const r = f16roundEmulated(x);
  const sign = r < 0 || Object.is(r, -0) ? 0x8000 : 0;
  const a = Math.abs(r);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | (a / 2 ** -24); // subnormal (or zero): exact multiple of 2^-24
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return sign | ((e + 15) << 10) | ((a / 2 ** e - 1) * 1024);
}

/** The number a binary16 bit pattern holds (the inverse of `f16Bits`). */
export function f16FromBits(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31, m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}
