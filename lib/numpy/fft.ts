/**
 * `np.fft`: NumPy's discrete Fourier transforms (n / s crop or zero-pad, axis / axes, norm) on the
 * `fft` primitive. Complex arrays enter and leave it as (re, im) pairs through `real` / `imag` /
 * `complex`, so gradients follow JAX's convention. Real inputs give complex64 from float32 and
 * complex128 from float64 (ints and bools compute in float32), as in JAX. Every backend runs it:
 * the CPU with mixed-radix / Bluestein kernels, WebGPU (float32) with Stockham WGSL passes.
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { type DType, isComplex } from "../dtype.ts";
import { normAxis } from "../shape.ts";
import * as mv from "../ops/movement.ts";
import { convert } from "../ops/elementwise.ts";
import { complex, imag, real } from "../ops/complex.ts";
import { fft as fftPrim, type FftType } from "../ops/fft.ts";
import { full, fullLike } from "../ops/_util.ts";
import { multiply } from "./math.ts";
import { asTensor } from "./_convert.ts";
import { checkOptions } from "../options.ts";
import { fitAxis } from "../fft/pairs.ts";
import { fmt } from "../lax/_args.ts";

/** Which direction is scaled: "backward" (default: the inverse by 1/n), "ortho" (both by 1/√n), "forward". */
export type FftNorm = "backward" | "ortho" | "forward";

/** Options of the 1-d transforms. */
export interface FftOptions {
  /** Length of the transform axis (input cropped or zero-padded); for irfft the output length. */
  n?: number;
  /** Axis transformed (default -1). */
  axis?: number;
  /** Normalization mode (default "backward"). */
  norm?: FftNorm;
}

/** Options of the 2-d and N-d transforms. */
export interface FftNOptions {
  /** Lengths of the transform axes (input cropped or zero-padded); for irfftn the output shape. */
  s?: number[];
  /** Axes transformed (fftn: all, or the last len(s); fft2: [-2, -1]). */
  axes?: number[];
  /** Normalization mode (default "backward"). */
  norm?: FftNorm;
}

/** (re, im) pairs [..., 2] of x (real x: zero imaginary part), in float32 or float64. */
function toPairs(x: Tensor): Tensor {
  if (isComplex(x.dtype)) {
    const s = x.shape;
    return mv.concatenate(
      [mv.reshape(real(x), [...s, 1]), mv.reshape(imag(x), [...s, 1])],
      s.length,
    );
  }
  const f = x.dtype === "float64" ? x : convert(x, "float32");
  const s = f.shape;
  return mv.concatenate([mv.reshape(f, [...s, 1]), full([...s, 1], 0, f.dtype)], s.length);
}

/** The complex array of pairs p [..., 2]. */
function fromPairs(p: Tensor): Tensor {
  const s = p.shape, r = s.length, lead = s.slice(0, -1);
  const part = (k: number) =>
    mv.reshape(
      mv.slice(
        p,
        s.map((_, i) => (i === r - 1 ? k : 0)),
        s.map((d, i) => (i === r - 1 ? k + 1 : d)),
      ),
      lead,
    );
  return complex(part(0), part(1));
}

function realInput(op: string, x: Tensor): Tensor {
  if (isComplex(x.dtype)) {
    throw new TypeError(
      `${op}: input must be real, got ${x.dtype} (take np.real first, or use fft)`,
    );
  }
  return x.dtype === "float64" ? x : convert(x, "float32");
}

function checkNorm(op: string, norm: unknown): FftNorm {
  if (norm === undefined) return "backward";
  if (norm !== "backward" && norm !== "ortho" && norm !== "forward") {
    throw new RangeError(`${op}: norm ${fmt(norm)} must be "backward", "ortho" or "forward"`);
  }
  return norm;
}

function checkLength(op: string, name: string, n: unknown): number {
  if (!Number.isInteger(n) || (n as number) < 1) {
    throw new RangeError(
      `${op}: ${name} must be a positive integer number of points, got ${fmt(n)}`,
    );
  }
  return n as number;
}

/** Axes and lengths of an N-d transform (NumPy's defaults); `lastHalf`: irfftn's last default. */
function plan(
  op: string,
  x: Tensor,
  o: FftNOptions,
  defaultAxes: number[] | null,
  lastHalf: boolean,
): { axes: number[]; lengths: number[] } {
  const r = x.ndim;
  let axes: number[];
  if (o.axes !== undefined) axes = [o.axes].flat().map((a) => normAxis(op, a, r, "axes"));
  else if (defaultAxes) axes = defaultAxes.map((a) => normAxis(op, a, r, "axes"));
  else if (o.s !== undefined) {
    if (o.s.length > r) {
      throw new RangeError(`${op}: s ${fmt(o.s)} has more entries than x has axes (${r})`);
    }
    axes = o.s.map((_, i) => r - o.s!.length + i);
  } else axes = [...Array(r).keys()];
  if (new Set(axes).size !== axes.length) {
    throw new RangeError(`${op}: axes ${fmt(o.axes)} repeat an axis`);
  }
  if (axes.length === 0) throw new RangeError(`${op}: at least one axis must be transformed`);
  if (o.s !== undefined && o.s.length !== axes.length) {
    throw new RangeError(`${op}: s ${fmt(o.s)} and axes ${fmt(axes)} must have the same length`);
  }
  const lengths = o.s !== undefined
    ? o.s.map((n) => checkLength(op, "s", n))
    : axes.map((a, i) =>
      checkLength(
        op,
        "the transform length",
        lastHalf && i === axes.length - 1 ? 2 * (x.shape[a] - 1) : x.shape[a],
      )
    );
  return { axes, lengths };
}

/** Moves `axes` of pairs p [..., 2] to just before the pair axis; returns the inverse too. */
function axesLast(p: Tensor, axes: number[], pair: boolean): [Tensor, number[]] {
  const r = p.ndim - (pair ? 1 : 0);
  const rest = [...Array(r).keys()].filter((i) => !axes.includes(i));
  const perm = [...rest, ...axes, ...(pair ? [r] : [])], inv = new Array<number>(perm.length);
  perm.forEach((q, i) => (inv[q] = i));
  return [mv.transpose(p, perm), inv];
}

/** The factor applied after the primitive (whose IFFT / IRFFT already divide by n). */
function normFactor(norm: FftNorm, n: number, inverse: boolean): number {
  if (norm === "backward") return 1;
  if (norm === "ortho") return inverse ? Math.sqrt(n) : 1 / Math.sqrt(n);
  return inverse ? n : 1 / n;
}

function scaled(x: Tensor, c: number): Tensor {
  return c === 1 ? x : multiply(x, fullLike(x, c));
}

/** A complex (or real-input) transform over `axes` of lengths `lengths`. */
function transform(
  op: string,
  type: FftType,
  a: ArrayLike,
  o: FftNOptions,
  defAxes: number[] | null,
): Tensor {
  const norm = checkNorm(op, o.norm);
  let x = asTensor(a, op);
  const realIn = type === "RFFT", inverse = type === "IFFT" || type === "IRFFT";
  if (realIn) x = realInput(op, x);
  const { axes, lengths } = plan(op, x, o, defAxes, type === "IRFFT");
  const N = lengths.reduce((p, q) => p * q, 1);
  let p = realIn ? x : toPairs(x);
  axes.forEach((ax, i) => {
    const want = type === "IRFFT" && i === axes.length - 1 ? (lengths[i] >> 1) + 1 : lengths[i];
    p = fitAxis(p, ax, want);
  });
  const [moved, inv] = axesLast(p, axes, !realIn);
  let y = scaled(fftPrim(moved, type, lengths), normFactor(norm, N, inverse));
  if (type === "RFFT") {
    const perm = [...inv, inv.length]; // the pair axis stays last
    return fromPairs(mv.transpose(y, perm));
  }
  if (type === "IRFFT") return mv.transpose(y, inv.slice(0, -1));
  y = mv.transpose(y, inv);
  return fromPairs(y);
}

const ONE = ["n", "axis", "norm"], ND = ["s", "axes", "norm"];
function one(op: string, type: FftType, a: ArrayLike, opts: FftOptions | undefined): Tensor {
  const o = checkOptions(op, opts ?? {}, ONE);
  const nd: FftNOptions = { axes: [o.axis ?? -1], norm: o.norm };
  if (o.n !== undefined) nd.s = [o.n];
  return transform(op, type, a, nd, null);
}
function nd(
  op: string,
  type: FftType,
  a: ArrayLike,
  opts: FftNOptions | undefined,
  def: number[] | null,
) {
  return transform(op, type, a, checkOptions(op, opts ?? {}, ND), def);
}

/**
 * 1-d discrete Fourier transform along `axis`: `numpy.fft.fft`. Any length (mixed radix, and
 * Bluestein for large prime factors) on every backend (WebGPU: Stockham WGSL passes, complex64);
 * `n` crops or zero-pads the input.
 *
 * @param a Input (real or complex).
 * @param opts `n`, `axis` (default -1), `norm`.
 * @returns The complex spectrum (complex64, or complex128 from float64 / complex128 input).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const y = np.fft.fft([1, 2, 3, 4]);
 * if (y.dtype !== "complex64") throw new Error();
 * if ((await y.data()).join() !== "10,0,-2,2,-2,0,-2,-2") throw new Error(); // (re, im) pairs
 * ```
 */
export function fft(a: ArrayLike, opts?: FftOptions): Tensor {
  return one("fft", "FFT", a, opts);
}

/**
 * Inverse of {@linkcode fft} along `axis`: `numpy.fft.ifft` (scaled by 1/n with norm "backward").
 *
 * @param a Input (real or complex).
 * @param opts `n`, `axis` (default -1), `norm`.
 * @returns The complex inverse transform.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const x = await np.fft.ifft(np.fft.fft([1, 2, 3])).data();
 * if ([1, 0, 2, 0, 3, 0].some((v, i) => Math.abs(x[i] - v) > 1e-6)) throw new Error();
 * ```
 */
export function ifft(a: ArrayLike, opts?: FftOptions): Tensor {
  return one("ifft", "IFFT", a, opts);
}

/**
 * FFT of a real input: the n/2 + 1 non-negative frequency terms, `numpy.fft.rfft`.
 *
 * @param a Real input.
 * @param opts `n`, `axis` (default -1), `norm`.
 * @returns The half spectrum (complex).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const y = np.fft.rfft([1, 2, 3, 4]);
 * if (y.shape.join() !== "3" || (await y.data()).join() !== "10,0,-2,2,-2,0") throw new Error();
 * ```
 */
export function rfft(a: ArrayLike, opts?: FftOptions): Tensor {
  return one("rfft", "RFFT", a, opts);
}

/**
 * Inverse of {@linkcode rfft}: `numpy.fft.irfft`; `n` is the output length (default 2(m - 1) for
 * m input bins); the imaginary parts of the DC and Nyquist bins are ignored.
 *
 * @param a Half spectrum (complex; a real input counts as zero imaginary part).
 * @param opts `n`, `axis` (default -1), `norm`.
 * @returns The real signal.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const x = await np.fft.irfft(np.fft.rfft([1, 2, 3, 4, 5]), { n: 5 }).data();
 * if ([1, 2, 3, 4, 5].some((v, i) => Math.abs(x[i] - v) > 1e-5)) throw new Error();
 * ```
 */
export function irfft(a: ArrayLike, opts?: FftOptions): Tensor {
  return one("irfft", "IRFFT", a, opts);
}

/**
 * 2-d FFT over `axes` (default the last two): `numpy.fft.fft2`.
 *
 * @param a Input (real or complex).
 * @param opts `s`, `axes`, `norm`.
 * @returns The complex spectrum.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * if ((await np.fft.fft2([[1, 2], [3, 4]]).data()).join() !== "10,0,-2,0,-4,0,0,0") throw new Error();
 * ```
 */
export function fft2(a: ArrayLike, opts?: FftNOptions): Tensor {
  return nd("fft2", "FFT", a, opts, opts?.axes ? null : [-2, -1]);
}

/**
 * Inverse of {@linkcode fft2}: `numpy.fft.ifft2`.
 *
 * @param a Input (real or complex).
 * @param opts `s`, `axes` (default the last two), `norm`.
 * @returns The complex inverse transform.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const x = await np.fft.ifft2(np.fft.fft2([[1, 2], [3, 4]])).data();
 * if ([1, 0, 2, 0, 3, 0, 4, 0].some((v, i) => Math.abs(x[i] - v) > 1e-6)) throw new Error();
 * ```
 */
export function ifft2(a: ArrayLike, opts?: FftNOptions): Tensor {
  return nd("ifft2", "IFFT", a, opts, opts?.axes ? null : [-2, -1]);
}

/**
 * 2-d FFT of a real input (half spectrum on the last axis): `numpy.fft.rfft2`.
 *
 * @param a Real input.
 * @param opts `s`, `axes` (default the last two), `norm`.
 * @returns The complex half spectrum.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * if (np.fft.rfft2(np.ones([4, 6])).shape.join() !== "4,4") throw new Error();
 * ```
 */
export function rfft2(a: ArrayLike, opts?: FftNOptions): Tensor {
  return nd("rfft2", "RFFT", a, opts, opts?.axes ? null : [-2, -1]);
}

/**
 * Inverse of {@linkcode rfft2}: `numpy.fft.irfft2`.
 *
 * @param a Complex half spectrum.
 * @param opts `s` (the output shape), `axes` (default the last two), `norm`.
 * @returns The real signal.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const x = np.arange(12).reshape([3, 4]);
 * const y = np.fft.irfft2(np.fft.rfft2(x), { s: [3, 4] });
 * if (Number(np.max(np.abs(np.subtract(y, x))).item()) > 1e-4) throw new Error();
 * ```
 */
export function irfft2(a: ArrayLike, opts?: FftNOptions): Tensor {
  return nd("irfft2", "IRFFT", a, opts, opts?.axes ? null : [-2, -1]);
}

/**
 * N-d FFT over `axes` (default all, or the last len(s)): `numpy.fft.fftn`.
 *
 * @param a Input (real or complex).
 * @param opts `s`, `axes`, `norm`.
 * @returns The complex spectrum.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const y = np.fft.fftn(np.ones([2, 3, 4]));
 * if ((await y.data())[0] !== 24) throw new Error();
 * ```
 */
export function fftn(a: ArrayLike, opts?: FftNOptions): Tensor {
  return nd("fftn", "FFT", a, opts, null);
}

/**
 * Inverse of {@linkcode fftn}: `numpy.fft.ifftn`.
 *
 * @param a Input (real or complex).
 * @param opts `s`, `axes`, `norm`.
 * @returns The complex inverse transform.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const y = await np.fft.ifftn(np.fft.fftn(np.ones([2, 3]))).data();
 * if (Math.abs(y[0] - 1) > 1e-6) throw new Error();
 * ```
 */
export function ifftn(a: ArrayLike, opts?: FftNOptions): Tensor {
  return nd("ifftn", "IFFT", a, opts, null);
}

/**
 * N-d FFT of a real input (half spectrum on the last transformed axis): `numpy.fft.rfftn`.
 *
 * @param a Real input.
 * @param opts `s`, `axes`, `norm`.
 * @returns The complex half spectrum.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * if (np.fft.rfftn(np.ones([2, 3, 4])).shape.join() !== "2,3,3") throw new Error();
 * ```
 */
export function rfftn(a: ArrayLike, opts?: FftNOptions): Tensor {
  return nd("rfftn", "RFFT", a, opts, null);
}

/**
 * Inverse of {@linkcode rfftn}: `numpy.fft.irfftn` (last output length 2(m - 1) unless `s`).
 *
 * @param a Complex half spectrum.
 * @param opts `s` (the output shape), `axes`, `norm`.
 * @returns The real signal.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * if (np.fft.irfftn(np.fft.rfftn(np.ones([2, 3, 4]))).shape.join() !== "2,3,4") throw new Error();
 * ```
 */
export function irfftn(a: ArrayLike, opts?: FftNOptions): Tensor {
  return nd("irfftn", "IRFFT", a, opts, null);
}

/** Options of {@linkcode fftfreq} and {@linkcode rfftfreq}. */
export interface FftFreqOptions {
  /** Sample spacing (default 1). */
  d?: number;
  /** float32 (default) or float64. */
  dtype?: DType;
}

function freqs(op: string, n: number, opts: FftFreqOptions | undefined, half: boolean): Tensor {
  const o = checkOptions(op, opts ?? {}, ["d", "dtype"]);
  checkLength(op, "n", n);
  const d = o.d ?? 1, dtype = o.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64") {
    throw new TypeError(`${op}: dtype must be float32 or float64, got ${fmt(dtype)}`);
  }
  const m = half ? (n >> 1) + 1 : n;
  const v = dtype === "float64" ? new Float64Array(m) : new Float32Array(m);
  for (let k = 0; k < m; k++) v[k] = (k < Math.ceil(n / 2) || half ? k : k - n) / (d * n);
  return asTensor(v, op);
}

/**
 * Sample frequencies of an n-point {@linkcode fft}: `[0, 1, ..., ⌈n/2⌉-1, -⌊n/2⌋, ..., -1] / (d·n)`.
 *
 * @param n Transform length.
 * @param opts `d` (sample spacing, default 1), `dtype`.
 * @returns The frequencies.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * if (np.fft.fftfreq(4).dataSync().join() !== "0,0.25,-0.5,-0.25") throw new Error();
 * ```
 */
export function fftfreq(n: number, opts?: FftFreqOptions): Tensor {
  return freqs("fftfreq", n, opts, false);
}

/**
 * Sample frequencies of an n-point {@linkcode rfft}: `[0, 1, ..., ⌊n/2⌋] / (d·n)`.
 *
 * @param n Transform length.
 * @param opts `d` (sample spacing, default 1), `dtype`.
 * @returns The frequencies.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * if (np.fft.rfftfreq(5, { d: 0.1 }).shape.join() !== "3") throw new Error();
 * ```
 */
export function rfftfreq(n: number, opts?: FftFreqOptions): Tensor {
  return freqs("rfftfreq", n, opts, true);
}

/** Options of {@linkcode fftshift} and {@linkcode ifftshift}. */
export interface FftShiftOptions {
  /** Axes shifted (default all). */
  axes?: number | number[];
}

function shift(
  op: string,
  a: ArrayLike,
  opts: FftShiftOptions | undefined,
  inverse: boolean,
): Tensor {
  const o = checkOptions(op, opts ?? {}, ["axes"]);
  const x = asTensor(a, op);
  const cplx = isComplex(x.dtype);
  let p = cplx ? toPairs(x) : x;
  const axes = o.axes === undefined
    ? [...Array(x.ndim).keys()]
    : [o.axes].flat().map((ax) => normAxis(op, ax, x.ndim, "axes"));
  for (const ax of axes) {
    const n = p.shape[ax];
    const k = inverse ? n - (n >> 1) : n >> 1; // roll by ⌊n/2⌋ (fftshift) or -⌊n/2⌋
    if (n === 0 || k % n === 0) continue;
    const s = p.shape, z = s.map(() => 0);
    const head = mv.slice(p, z, s.map((d, i) => (i === ax ? n - k : d)));
    const tail = mv.slice(p, s.map((_, i) => (i === ax ? n - k : 0)), s);
    p = mv.concatenate([tail, head], ax);
  }
  return cplx ? fromPairs(p) : p;
}

/**
 * Moves the zero-frequency term to the centre: `numpy.fft.fftshift` (a roll by ⌊n/2⌋ per axis).
 *
 * @param a Input (any dtype).
 * @param opts `axes` (default all).
 * @returns The shifted array.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * if (np.fft.fftshift(np.fft.fftfreq(5)).dataSync()[0] !== -0.4000000059604645) throw new Error();
 * ```
 */
export function fftshift(a: ArrayLike, opts?: FftShiftOptions): Tensor {
  return shift("fftshift", a, opts, false);
}

/**
 * Inverse of {@linkcode fftshift}: `numpy.fft.ifftshift` (a roll by -⌊n/2⌋ per axis).
 *
 * @param a Input (any dtype).
 * @param opts `axes` (default all).
 * @returns The shifted array.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * if (np.fft.ifftshift(np.fft.fftshift(np.arange(5))).dataSync().join() !== "0,1,2,3,4") throw new Error();
 * ```
 */
export function ifftshift(a: ArrayLike, opts?: FftShiftOptions): Tensor {
  return shift("ifftshift", a, opts, true);
}
