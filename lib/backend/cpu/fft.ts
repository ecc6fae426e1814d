/**
 * The `fft` primitive's CPU implementation: float32 (complex64) transforms in Wasm SIMD
 * (fft_wasm.ts) where every length is supported there, else the float64 kernels of lib/fft
 * (rounded once on store).
 * @module
 */
import type { TypedArray } from "../../dtype.ts";
import { allocTyped } from "../../dtype.ts";
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { FftParams } from "../../ops/fft.ts";
import { fftHost, type FftType, halfTwiddles } from "../../fft/host.ts";
import { fftRowsF32, wasmFftSupports } from "./fft_wasm.ts";

/** lax.fft on a host array; `dest` (output 0's size and dtype) is reused when given. */
export function fftFast(
  x: HostArray,
  p: FftParams,
  out: Aval,
  dest?: TypedArray,
): TypedArray[] {
  const shape = p.fftType === "RFFT" ? x.shape : x.shape.slice(0, -1);
  if (x.data instanceof Float32Array && out.dtype === "float32") {
    const r = fftF32(x.data, shape, p.fftType, p.fftLengths);
    if (r) {
      if (!dest) return [r];
      dest.set(r);
      return [dest];
    }
  }
  const r = fftHost(x.data, shape, p.fftType, p.fftLengths);
  if (out.dtype === "float64" && !dest) return [r];
  const res = dest ?? allocTyped(out.dtype, r.length);
  res.set(r);
  return [res];
}

/** The complex row lengths a real transform of length n runs (half length when even). */
const realRows = (n: number) => n % 2 === 0 && n >= 4 ? n / 2 : n;

/**
 * lax.fft in float32 through the Wasm kernels (same contract as `fftHost`, float32 results), or
 * null when some length is not supported there.
 */
export function fftF32(
  x: Float32Array,
  shape: number[],
  type: FftType,
  lengths: number[],
): Float32Array | null {
  const k = lengths.length, r = shape.length, axes = lengths.map((_, i) => r - k + i);
  const last = lengths[k - 1] ?? 1, norm = lengths.reduce((a, b) => a * b, 1);
  const real = type === "RFFT" || type === "IRFFT";
  const ok = (n: number) => n <= 1 || wasmFftSupports(n);
  if (!lengths.every((n, i) => ok(real && i === k - 1 ? realRows(n) : n))) return null;
  if (x.length === 0 || norm === 0) return null;
  const scale = (w: Float32Array) => {
    const s = 1 / norm;
    for (let i = 0; i < w.length; i++) w[i] *= s;
    return w;
  };
  if (!real) {
    const w = new Float32Array(x);
    for (const ax of axes) alongAxis(w, shape, ax, type === "IFFT");
    return type === "IFFT" ? scale(w) : w;
  }
  const m = (last >> 1) + 1, dims = [...shape.slice(0, -1), m], rows = x.length / last;
  if (type === "RFFT") {
    const w = rfftRows(x, rows, last);
    for (const ax of axes.slice(0, -1)) alongAxis(w, dims, ax, false);
    return w;
  }
  const w = new Float32Array(x);
  for (const ax of axes.slice(0, -1)) alongAxis(w, dims, ax, true);
  return scale(irfftRows(w, w.length / (2 * m), last));
}

function rows(w: Float32Array, rows: number, n: number, inverse: boolean): void {
  if (!fftRowsF32(w, w, rows, n, inverse)) throw new Error(`fft: length ${n} not supported`);
}

/** Complex FFTs along axis `ax` of interleaved `w` (logical dims `dims`), in place. */
function alongAxis(w: Float32Array, dims: number[], ax: number, inverse: boolean): void {
  const n = dims[ax];
  if (n <= 1) return;
  let inner = 1;
  for (let i = ax + 1; i < dims.length; i++) inner *= dims[i];
  const outer = w.length / (2 * n * inner);
  if (inner === 1) return rows(w, outer, n, inverse);
  // transpose each [n, inner] block to [inner, n], transform rows, transpose back
  const t = new Float32Array(w.length), blk = 2 * n * inner;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      for (let s = 0, src = o * blk + 2 * j * inner; s < inner; s++) {
        const d = o * blk + 2 * (s * n + j);
        t[d] = w[src + 2 * s], t[d + 1] = w[src + 2 * s + 1];
      }
    }
  }
  rows(t, outer * inner, n, inverse);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      for (let s = 0, dst = o * blk + 2 * j * inner; s < inner; s++) {
        const d = o * blk + 2 * (s * n + j);
        w[dst + 2 * s] = t[d], w[dst + 2 * s + 1] = t[d + 1];
      }
    }
  }
}

/** Real rows of length n → half spectra of n/2+1 bins (interleaved float32). */
function rfftRows(x: Float32Array, nr: number, n: number): Float32Array {
  const m = (n >> 1) + 1, h = n >> 1, out = new Float32Array(2 * nr * m);
  if (realRows(n) === n) {
    const z = new Float32Array(2 * nr * n);
    for (let i = 0; i < nr * n; i++) z[2 * i] = x[i];
    rows(z, nr, n, false);
    for (let r = 0; r < nr; r++) out.set(z.subarray(2 * r * n, 2 * r * n + 2 * m), 2 * r * m);
    return out;
  }
  const z = new Float32Array(x), tw = halfTwiddles(n); // z_k = x_2k + i x_2k+1
  rows(z, nr, h, false);
  for (let r = 0; r < nr; r++) {
    const o = 2 * r * m, zo = 2 * r * h;
    for (let k = 1; k < h; k++) {
      const a = zo + 2 * k, b = zo + 2 * (h - k);
      const zr = z[a], zi = z[a + 1], cr = z[b], ci = -z[b + 1];
      const er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci), or = 0.5 * (zi - ci), oi = -0.5 * (zr - cr);
      const wr = tw[2 * k], wi = tw[2 * k + 1]; // X_k = E_k + e^{-2πik/n} O_k
      out[o + 2 * k] = er + wr * or - wi * oi, out[o + 2 * k + 1] = ei + wr * oi + wi * or;
    }
    out[o] = z[zo] + z[zo + 1], out[o + 2 * h] = z[zo] - z[zo + 1]; // DC and Nyquist: real
  }
  return out;
}

/** Half spectra (n/2+1 bins) → real rows of length n, unnormalized. */
function irfftRows(src: Float32Array, nr: number, n: number): Float32Array {
  const m = (n >> 1) + 1, h = n >> 1;
  const X = (o: number, k: number, im: 0 | 1) =>
    im && (k === 0 || (n % 2 === 0 && k === h)) ? 0 : src[o + 2 * k + im];
  if (realRows(n) === n) {
    const z = new Float32Array(2 * nr * n), out = new Float32Array(nr * n);
    for (let r = 0; r < nr; r++) {
      for (let k = 0, o = 2 * r * m; k < n; k++) {
        const kk = k < m ? k : n - k, sg = k < m ? 1 : -1;
        z[2 * (r * n + k)] = X(o, kk, 0), z[2 * (r * n + k) + 1] = sg * X(o, kk, 1);
      }
    }
    rows(z, nr, n, true);
    for (let i = 0; i < nr * n; i++) out[i] = z[2 * i];
    return out;
  }
  const z = new Float32Array(nr * n), tw = halfTwiddles(n);
  for (let r = 0; r < nr; r++) {
    for (let k = 0, o = 2 * r * m, zo = r * n; k < h; k++) {
      const ar = X(o, k, 0), ai = X(o, k, 1), br = X(o, h - k, 0), bi = -X(o, h - k, 1);
      const er = ar + br, ei = ai + bi, dr = ar - br, di = ai - bi;
      const wr = tw[2 * k], wi = -tw[2 * k + 1];
      const or = dr * wr - di * wi, oi = dr * wi + di * wr; // (X_k - conj X_{h-k}) e^{+2πik/n}
      z[zo + 2 * k] = er - oi, z[zo + 2 * k + 1] = ei + or; // Z = E + i O
    }
  }
  rows(z, nr, h, true);
  return z;
}
