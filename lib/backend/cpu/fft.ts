/**
 * The `fft` primitive's CPU implementation: the mixed-radix / Bluestein kernels of lib/fft in
 * float64, rounded once on store (float32 results are as accurate as the float64 oracle allows).
 * @module
 */
import type { TypedArray } from "../../dtype.ts";
import { allocTyped } from "../../dtype.ts";
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { FftParams } from "../../ops/fft.ts";
import { fftHost } from "../../fft/host.ts";

/** lax.fft on a host array; `dest` (output 0's size and dtype) is reused when given. */
export function fftFast(
  x: HostArray,
  p: FftParams,
  out: Aval,
  dest?: TypedArray,
): TypedArray[] {
  const shape = p.fftType === "RFFT" ? x.shape : x.shape.slice(0, -1);
  const r = fftHost(x.data, shape, p.fftType, p.fftLengths);
  if (out.dtype === "float64" && !dest) return [r];
  const res = dest ?? allocTyped(out.dtype, r.length);
  res.set(r);
  return [res];
}
