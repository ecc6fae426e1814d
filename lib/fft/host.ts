/**
 * N-d FFTs on host arrays (lax.fft semantics) over the kernels of kernel.ts, and a naive float64
 * DFT with the same interface (the reference backend's oracle). Complex data is interleaved.
 * @module
 */
import { fftInPlace } from "./kernel.ts";

/** lax.fft's transform types. */
export type FftType = "FFT" | "IFFT" | "RFFT" | "IRFFT";

/** A 1-d complex transform of `n` interleaved values at `x[off..]` (in place). */
type Line = (x: Float64Array, off: number, n: number, inverse: boolean) => void;

let scratch: Float64Array = new Float64Array(0);
let lineBuf: Float64Array = new Float64Array(0);
function grow(a: Float64Array, n: number): Float64Array {
  return a.length >= n ? a : new Float64Array(Math.max(n, 2 * a.length));
}

const fastLine: Line = (x, off, n, inverse) => {
  scratch = grow(scratch, 2 * n);
  fftInPlace(
    off === 0 && x.length === 2 * n ? x : x.subarray(off, off + 2 * n),
    scratch,
    n,
    inverse,
  );
};

/** Naive O(n²) DFT in float64 (angles reduced mod n): the reference implementation. */
export const naiveLine: Line = (x, off, n, inverse) => {
  const out = new Float64Array(2 * n), s = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    let re = 0, im = 0;
    for (let j = 0; j < n; j++) {
      const a = (s * 2 * Math.PI * ((j * k) % n)) / n, c = Math.cos(a), sn = Math.sin(a);
      const xr = x[off + 2 * j], xi = x[off + 2 * j + 1];
      re += xr * c - xi * sn, im += xr * sn + xi * c;
    }
    out[2 * k] = re, out[2 * k + 1] = im;
  }
  x.set(out, off);
};

/** Applies `line` along axis `ax` of a complex array of dims `dims` (interleaved, in place). */
function alongAxis(x: Float64Array, dims: number[], ax: number, inverse: boolean, line: Line) {
  const n = dims[ax];
  if (n <= 1) return;
  let inner = 1;
  for (let i = ax + 1; i < dims.length; i++) inner *= dims[i];
  const total = x.length / 2, outer = total / (n * inner);
  if (inner === 1) {
    for (let o = 0; o < outer; o++) line(x, 2 * o * n, n, inverse);
    return;
  }
  lineBuf = grow(lineBuf, 2 * n);
  const buf = lineBuf;
  for (let o = 0; o < outer; o++) {
    for (let s = 0; s < inner; s++) {
      const base = o * n * inner + s;
      for (let j = 0; j < n; j++) {
        const p = 2 * (base + j * inner);
        buf[2 * j] = x[p], buf[2 * j + 1] = x[p + 1];
      }
      line(buf, 0, n, inverse);
      for (let j = 0; j < n; j++) {
        const p = 2 * (base + j * inner);
        x[p] = buf[2 * j], x[p + 1] = buf[2 * j + 1];
      }
    }
  }
}

const halfTw = new Map<number, Float64Array>();
/** e^{-2πik/n} for k = 0..n/2 (interleaved), cached per even n. */
export function halfTwiddles(n: number): Float64Array {
  let w = halfTw.get(n);
  if (!w) {
    w = new Float64Array(n + 2);
    for (let k = 0; k <= n >> 1; k++) {
      const t = (-2 * Math.PI * k) / n;
      w[2 * k] = Math.cos(t), w[2 * k + 1] = Math.sin(t);
    }
    if (halfTw.size >= 32) halfTw.delete(halfTw.keys().next().value!);
    halfTw.set(n, w);
  }
  return w;
}

/** Real rows of length n (`rows` of them) → half spectra of n/2+1 bins (interleaved). */
function rfftRows(src: ArrayLike<number>, rows: number, n: number, line: Line): Float64Array {
  const m = (n >> 1) + 1, out = new Float64Array(2 * rows * m);
  const h = n >> 1, even = n % 2 === 0 && line === fastLine && n >= 4;
  const z = new Float64Array(even ? n : 2 * n), tw = even ? halfTwiddles(n) : z;
  for (let r = 0; r < rows; r++) {
    const o = 2 * r * m;
    if (!even) {
      for (let j = 0; j < n; j++) z[2 * j] = src[r * n + j], z[2 * j + 1] = 0;
      line(z, 0, n, false);
      out.set(z.subarray(0, 2 * m), o);
      continue;
    }
    for (let j = 0; j < n; j++) z[j] = src[r * n + j]; // z_k = x_2k + i x_2k+1
    line(z, 0, h, false);
    for (let k = 0; k <= h; k++) {
      const a = k % h, b = (h - k) % h;
      const zr = z[2 * a], zi = z[2 * a + 1], cr = z[2 * b], ci = -z[2 * b + 1];
      const er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci), dr = zr - cr, di = zi - ci;
      // O_k = (Z_k - conj Z_{h-k}) / 2i; X_k = E_k + e^{-2πik/n} O_k
      const or = 0.5 * di, oi = -0.5 * dr, wr = tw[2 * k], wi = tw[2 * k + 1];
      out[o + 2 * k] = er + wr * or - wi * oi, out[o + 2 * k + 1] = ei + wr * oi + wi * or;
    }
    // the DC and Nyquist bins exactly: real, Z_0r ± Z_0i
    out[o] = z[0] + z[1], out[o + 1] = 0, out[o + 2 * h] = z[0] - z[1], out[o + 2 * h + 1] = 0;
  }
  return out;
}

/** Half spectra (n/2+1 bins) → real rows of length n, unnormalized (n × NumPy's irfft). */
function irfftRows(src: Float64Array, rows: number, n: number, line: Line): Float64Array {
  const m = (n >> 1) + 1, out = new Float64Array(rows * n), h = n >> 1;
  const even = n % 2 === 0 && line === fastLine && n >= 4;
  const z = new Float64Array(2 * n), tw = even ? halfTwiddles(n) : z;
  for (let r = 0; r < rows; r++) {
    const o = 2 * r * m;
    const X = (k: number, im: 0 | 1) =>
      im && (k === 0 || (n % 2 === 0 && k === h)) ? 0 : src[o + 2 * k + im];
    if (!even) {
      for (let k = 0; k < n; k++) {
        const kk = k < m ? k : n - k, sg = k < m ? 1 : -1;
        z[2 * k] = X(kk, 0), z[2 * k + 1] = sg * X(kk, 1);
      }
      line(z, 0, n, true);
      for (let t = 0; t < n; t++) out[r * n + t] = z[2 * t];
      continue;
    }
    for (let k = 0; k < h; k++) {
      const ar = X(k, 0), ai = X(k, 1), br = X(h - k, 0), bi = -X(h - k, 1);
      const er = ar + br, ei = ai + bi, dr = ar - br, di = ai - bi;
      const wr = tw[2 * k], wi = -tw[2 * k + 1];
      const or = dr * wr - di * wi, oi = dr * wi + di * wr; // (X_k - conj X_{h-k}) e^{+2πik/n}
      z[2 * k] = er - oi, z[2 * k + 1] = ei + or; // Z = E + i O
    }
    line(z, 0, h, true);
    for (let t = 0; t < n; t++) out[r * n + t] = z[t];
  }
  return out;
}

/**
 * lax.fft on a host array: `x` holds the operand (interleaved for complex types) of logical
 * shape `shape` (no pair axis); returns the result (interleaved for FFT/IFFT/RFFT) in float64.
 * `naive` selects the O(n²) DFT. Inverse transforms are scaled by 1/∏lengths.
 */
export function fftHost(
  x: ArrayLike<number>,
  shape: number[],
  type: FftType,
  lengths: number[],
  naive = false,
): Float64Array {
  const line = naive ? naiveLine : fastLine;
  const r = shape.length, k = lengths.length, axes = [...Array(k).keys()].map((i) => r - k + i);
  const last = lengths[k - 1] ?? 1, norm = lengths.reduce((a, b) => a * b, 1);
  if (type === "FFT" || type === "IFFT") {
    const w = new Float64Array(x as ArrayLike<number>);
    for (const ax of axes) alongAxis(w, shape, ax, type === "IFFT", line);
    if (type === "IFFT" && norm > 0) { for (let i = 0; i < w.length; i++) w[i] /= norm; }
    return w;
  }
  if (type === "RFFT") {
    const rows = last === 0 ? 0 : x.length / last;
    const w = rfftRows(x, rows, last, line);
    const dims = [...shape.slice(0, -1), (last >> 1) + 1];
    for (const ax of axes.slice(0, -1)) alongAxis(w, dims, ax, false, line);
    return w;
  }
  const m = (last >> 1) + 1, dims = [...shape.slice(0, -1), m];
  const w = new Float64Array(x as ArrayLike<number>);
  for (const ax of axes.slice(0, -1)) alongAxis(w, dims, ax, true, line);
  const rows = m === 0 ? 0 : w.length / (2 * m);
  const out = irfftRows(w, rows, last, line);
  if (norm > 0) { for (let i = 0; i < out.length; i++) out[i] /= norm; }
  return out;
}
