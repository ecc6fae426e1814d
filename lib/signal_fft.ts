/**
 * FFT convolution with `scipy.signal` semantics: `fftconvolve`, `oaconvolve` (overlap-add), and
 * the cost model behind `method: "auto"` of `convolve` / `correlate`. Everything is the `fft`
 * primitive plus pads, slices and products, so it differentiates (the gradient of an FFT
 * convolution is an FFT correlation), vmaps and jits.
 * @module
 */
import type { ArrayLike, Tensor } from "./tensor.ts";
import { normAxis, sizeOf } from "./shape.ts";
import { isComplex } from "./dtype.ts";
import * as mv from "./ops/movement.ts";
import { fft } from "./ops/fft.ts";
import { convert } from "./ops/elementwise.ts";
import { add, multiply } from "./numpy/math.ts";
import { fmt, promoteFloat } from "./lax/_args.ts";
import { checkOptions } from "./options.ts";
import { cmul, fitAxis, nextFastLen } from "./fft/pairs.ts";
import { full } from "./ops/_util.ts";
import type { ConvolveMode } from "./signal.ts";

/** Options of {@linkcode fftconvolve} and {@linkcode oaconvolve}. */
export interface FftConvolveOptions {
  /** "full" (default), "valid" or "same" (the size of `a`, centred as in SciPy). */
  mode?: ConvolveMode;
  /** Axes convolved (default all); on the others sizes must match or be 1 (broadcast). */
  axes?: number | number[];
}

const KEYS = ["mode", "axes"];

interface Prepared {
  x: Tensor;
  y: Tensor;
  axes: number[];
  mode: ConvolveMode;
}

/** A convolution mode, checked (RangeError naming `op` and the value). */
export function checkMode(op: string, mode: unknown): ConvolveMode {
  if (mode !== "full" && mode !== "valid" && mode !== "same") {
    throw new RangeError(`${op}: mode ${fmt(mode)} must be "full", "valid" or "same"`);
  }
  return mode;
}

/** The operands of a whole-array convolution: the same rank, neither empty (TypeError naming `op`). */
export function checkSameRankNonEmpty(op: string, x: Tensor, y: Tensor): void {
  if (x.ndim !== y.ndim) {
    throw new TypeError(
      `${op}: a shape ${fmt(x.shape)} and b shape ${
        fmt(y.shape)
      } must have the same number of dimensions`,
    );
  }
  if (x.size === 0 || y.size === 0) {
    throw new TypeError(
      `${op}: zero-size arrays are not supported, got a shape ${fmt(x.shape)} and b shape ${
        fmt(y.shape)
      }`,
    );
  }
}

function prepare(op: string, a: ArrayLike, b: ArrayLike, opts: FftConvolveOptions): Prepared {
  opts = checkOptions(op, opts, KEYS);
  let [x, y] = promoteFloat(op, a, b);
  const mode = checkMode(op, opts.mode ?? "full");
  if (isComplex(x.dtype)) {
    throw new TypeError(
      `${op}: complex operands are not supported yet, got ${x.dtype}; convolve the real and imaginary parts`,
    );
  }
  checkSameRankNonEmpty(op, x, y);
  const raw = opts.axes === undefined ? [...Array(x.ndim).keys()] : [opts.axes].flat();
  const axes = raw.map((ax) => normAxis(op, ax, x.ndim, "axes"));
  if (new Set(axes).size !== axes.length) {
    throw new RangeError(`${op}: axes ${fmt(raw)} repeat an axis`);
  }
  axes.sort((p, q) => p - q);
  for (let i = 0; i < x.ndim; i++) {
    const p = x.shape[i], q = y.shape[i];
    if (!axes.includes(i) && p !== q && p !== 1 && q !== 1) {
      throw new TypeError(
        `${op}: axis ${i} is not convolved, so its sizes must match or be 1, got a shape ${
          fmt(x.shape)
        } and b shape ${fmt(y.shape)}`,
      );
    }
  }
  if (mode === "valid") {
    const geq = axes.every((i) => x.shape[i] >= y.shape[i]);
    if (!geq) {
      if (!axes.every((i) => y.shape[i] >= x.shape[i])) {
        throw new TypeError(
          `${op}: in "valid" mode one operand must be at least as large as the other on every convolved axis, got shapes ${
            fmt(x.shape)
          } and ${fmt(y.shape)}`,
        );
      }
      [x, y] = [y, x];
    }
  }
  return { x, y, axes, mode };
}

/** Moves `axes` of x to the end (in order); returns the inverse permutation too. */
function axesLast(x: Tensor, axes: number[]): [Tensor, number[]] {
  const rest = [...Array(x.ndim).keys()].filter((i) => !axes.includes(i));
  const perm = [...rest, ...axes], inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return [mv.transpose(x, perm), inv];
}

/** The slice of a full convolution (trailing axes of sizes sa + sb - 1) that `mode` keeps. */
function cropMode(full: Tensor, sa: number[], sb: number[], mode: ConvolveMode): Tensor {
  const s = full.shape, k = sa.length, lead = s.length - k;
  const start = s.map(() => 0), limit = [...s];
  sa.forEach((na, i) => {
    const nb = sb[i], n = na + nb - 1;
    const keep = mode === "full" ? n : mode === "same" ? na : na - nb + 1;
    start[lead + i] = Math.floor((n - keep) / 2), limit[lead + i] = start[lead + i] + keep;
  });
  return mv.slice(full, start, limit);
}

/** FFT convolution of x and y over their trailing k axes (other axes broadcast). */
function fftConvTrailing(x: Tensor, y: Tensor, k: number, lengths: number[]): Tensor {
  const r = x.ndim;
  let xs = x, ys = y;
  for (let i = 0; i < k; i++) {
    xs = fitAxis(xs, r - k + i, lengths[i]), ys = fitAxis(ys, r - k + i, lengths[i]);
  }
  const prod = cmul(fft(xs, "RFFT", lengths), fft(ys, "RFFT", lengths));
  return fft(prod, "IRFFT", lengths);
}

/** Runs `f` in float32 for float16 operands (the fft primitive has no float16 form). */
function inFloat(x: Tensor, y: Tensor, f: (x: Tensor, y: Tensor) => Tensor): Tensor {
  if (x.dtype !== "float16") return f(x, y);
  return convert(f(convert(x, "float32"), convert(y, "float32")), "float16");
}

/** fftconvolve on prepared operands (shared with `convolve(..., { method: "fft" })`). */
export function fftConvolvePrepared({ x, y, axes, mode }: Prepared): Tensor {
  if (x.ndim === 0) return multiply(x, y);
  return inFloat(x, y, (x, y) => {
    const [xt, inv] = axesLast(x, axes), [yt] = axesLast(y, axes);
    const k = axes.length, sa = axes.map((i) => x.shape[i]), sb = axes.map((i) => y.shape[i]);
    const lengths = sa.map((n, i) => nextFastLen(n + sb[i] - 1));
    const full = fftConvTrailing(xt, yt, k, lengths);
    const s = full.shape, lead = s.length - k;
    const cropped = mv.slice(
      full,
      s.map(() => 0),
      s.map((d, i) => (i < lead ? d : sa[i - lead] + sb[i - lead] - 1)),
    );
    return mv.transpose(cropMode(cropped, sa, sb, mode), inv);
  });
}

/**
 * Convolves `a` and `b` with FFTs: `scipy.signal.fftconvolve`. Same result as
 * `signal.convolve` up to rounding, in O(N log N) instead of O(Na·Nb); real operands (ints and
 * bools become float32). Differentiable in both operands; runs on every backend (WebGPU: the
 * `fft` primitive's WGSL passes, float32).
 *
 * @param a First operand.
 * @param b Second operand, same rank as `a`.
 * @param opts `mode` ("full" | "same" | "valid"), `axes` (default all; the other axes broadcast).
 * @returns The convolution, float dtype of the promoted operands.
 * @example
 * ```ts
 * import { signal } from "../mod.ts";
 * const y = await signal.fftconvolve([1, 2, 3], [0, 1, 0.5]).data();
 * if ([0, 1, 2.5, 4, 1.5].some((v, i) => Math.abs(y[i] - v) > 1e-6)) throw new Error();
 * const same = signal.fftconvolve([[1, 2, 3], [4, 5, 6]], [[1, -1]], { mode: "same", axes: 1 });
 * if (same.shape.join() !== "2,3") throw new Error();
 * ```
 */
export function fftconvolve(a: ArrayLike, b: ArrayLike, opts: FftConvolveOptions = {}): Tensor {
  return fftConvolvePrepared(prepare("fftconvolve", a, b, opts));
}

/** Overlap-add block length minimising L·log L / (L − nb + 1) over fast lengths. */
function oaBlock(na: number, nb: number): number {
  let best = 0, bestCost = Infinity;
  for (let L = nextFastLen(2 * nb); L < 16 * nb + 64; L = nextFastLen(L + 1)) {
    const c = (L * Math.log2(L)) / (L - nb + 1);
    if (c < bestCost) bestCost = c, best = L;
  }
  return best >= na + nb - 1 ? 0 : best;
}

/**
 * Sums overlapping blocks: y [..., nb, O] (block j starts at j·step) along its last two axes
 * into [..., (nb-1)·step + O].
 */
function overlapAdd(y: Tensor, step: number): Tensor {
  const s = y.shape, r = s.length, nb = s[r - 2], O = s[r - 1], lead = s.slice(0, -2);
  const parts = Math.ceil(O / step), total = (nb - 1 + parts) * step;
  let acc: Tensor | null = null;
  for (let q = 0; q < parts; q++) {
    // columns [q·step, (q+1)·step) of every block, laid end to end, start q blocks later
    const lo = q * step, hi = Math.min(O, lo + step);
    let p = mv.slice(
      y,
      s.map((_, i) => (i === r - 1 ? lo : 0)),
      s.map((d, i) => (i === r - 1 ? hi : d)),
    );
    p = mv.reshape(fitAxis(p, r - 1, step), [...lead, nb * step]);
    p = mv.pad(p, full([], 0, p.dtype), [...lead.map(() => 0), lo], [
      ...lead.map(() => 0),
      total - lo - nb * step,
    ]);
    acc = acc ? add(acc, p) : p;
  }
  return fitAxis(acc!, r - 2, (nb - 1) * step + O);
}

/**
 * Convolves `a` and `b` by overlap-add: `scipy.signal.oaconvolve`. Same result as
 * {@linkcode fftconvolve}; `a` is cut into blocks transformed as one batch, which is faster
 * when `b` is much shorter than `a`. Falls back to one FFT where blocks would not help.
 *
 * @param a First operand.
 * @param b Second operand, same rank as `a`.
 * @param opts `mode` ("full" | "same" | "valid"), `axes` (default all).
 * @returns The convolution.
 * @example
 * ```ts
 * import { signal, np } from "../mod.ts";
 * const x = np.arange(200), k = np.array([1, 0, -1]);
 * const d = np.max(np.abs(np.subtract(signal.oaconvolve(x, k), signal.convolve(x, k))));
 * if (Number(d.item()) > 1e-3) throw new Error();
 * ```
 */
export function oaconvolve(a: ArrayLike, b: ArrayLike, opts: FftConvolveOptions = {}): Tensor {
  const p = prepare("oaconvolve", a, b, opts);
  const { x, y, axes, mode } = p;
  const sa = axes.map((i) => x.shape[i]), sb = axes.map((i) => y.shape[i]);
  const blocks = sa.map((na, i) => oaBlock(na, sb[i]));
  if (x.ndim === 0 || blocks.every((L) => L === 0)) return fftConvolvePrepared(p);
  return inFloat(x, y, (x, y) => {
    const [xt, inv] = axesLast(x, axes), [yt] = axesLast(y, axes);
    const k = axes.length, lead = xt.ndim - k;
    const L = blocks.map((b, i) => b || nextFastLen(sa[i] + sb[i] - 1));
    const step = L.map((l, i) => (blocks[i] ? l - sb[i] + 1 : sa[i]));
    const nbk = sa.map((n, i) => Math.ceil(n / step[i]));
    // blocks: [..., nb0, step0, nb1, step1, ...] → [..., nb0, nb1, ..., step0, step1, ...]
    let xb = xt;
    for (let i = 0; i < k; i++) xb = fitAxis(xb, lead + i, nbk[i] * step[i]);
    const ls = xb.shape.slice(0, lead);
    xb = mv.reshape(xb, [...ls, ...nbk.flatMap((n, i) => [n, step[i]])]);
    const perm = [
      ...Array(lead).keys(),
      ...nbk.map((_, i) => lead + 2 * i),
      ...nbk.map((_, i) => lead + 2 * i + 1),
    ];
    xb = mv.transpose(xb, perm);
    const yb = mv.reshape(yt, [...yt.shape.slice(0, lead), ...nbk.map(() => 1), ...sb]);
    let out = fftConvTrailing(xb, yb, k, L); // [..., nb..., L...]
    // each block to step + nb - 1 values, then (nb_i, O_i) pairs side by side, folded last first
    for (let i = 0; i < k; i++) {
      out = fitAxis(out, lead + k + i, Math.min(L[i], step[i] + sb[i] - 1));
    }
    out = mv.transpose(out, [
      ...Array(lead).keys(),
      ...nbk.flatMap((_, i) => [lead + i, lead + k + i]),
    ]);
    for (let i = k - 1; i >= 0; i--) {
      const r = out.ndim, p = lead + 2 * i;
      const others = [...Array(r).keys()].filter((d) => d !== p && d !== p + 1);
      const folded = overlapAdd(mv.transpose(out, [...others, p, p + 1]), step[i]);
      const back = [...Array(r - 2).keys()];
      back.splice(p, 0, r - 2);
      out = fitAxis(mv.transpose(folded, back), p, sa[i] + sb[i] - 1);
    }
    return mv.transpose(cropMode(out, sa, sb, mode), inv);
  });
}

/**
 * The cost model of `method: "auto"` (CPU backend, jitted, float32): ns per direct multiply-add
 * and per FFT unit (1.5·n·log2 n over the padded fast lengths). Only their ratio decides; it is
 * fitted over a grid of 1-d and 2-d sizes by `deno run -A bench/w8_fft.ts --calibrate`.
 * @internal
 */
export const CONV_COST = { directMacNs: 0.3, fftUnitNs: 3.6 };

/**
 * The two sides of the cost model for sizes sa and sb on all axes: multiply-adds of the direct
 * method and FFT units (three real transforms of the fast lengths).
 * @internal
 */
export function convCosts(
  sa: number[],
  sb: number[],
  mode: ConvolveMode,
  batch: number,
): { macs: number; units: number } {
  const out = sa.map((
    na,
    i,
  ) => (mode === "full" ? na + sb[i] - 1 : mode === "same" ? na : Math.abs(na - sb[i]) + 1));
  const n = sizeOf(sa.map((na, i) => nextFastLen(na + sb[i] - 1)));
  return {
    macs: batch * sizeOf(out) * sizeOf(sb),
    units: batch * 1.5 * n * Math.log2(Math.max(n, 2)),
  };
}

/** Whether `method: "auto"` picks the FFT for a convolution of sizes sa and sb on all axes. */
export function fftIsFaster(
  sa: number[],
  sb: number[],
  mode: ConvolveMode,
  batch: number,
): boolean {
  const { macs, units } = convCosts(sa, sb, mode, batch);
  return units * CONV_COST.fftUnitNs < macs * CONV_COST.directMacNs;
}

export { prepare as prepareFftConvolve };
