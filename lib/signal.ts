/**
 * The `signal` namespace: true convolution and correlation with `scipy.signal` semantics (N-d,
 * modes "full" / "valid" / "same"), HIPS autograd's generalisation (`axes` convolved, `dotAxes`
 * contracted, the other axes an outer product), and `convolve2d` / `correlate2d` with boundary
 * rules. Everything lowers onto the `conv` primitive (kernel flipped; ignored axes become the batch
 * and output-feature axes; dot axes the input feature axis), so it differentiates to any order,
 * vmaps and jits, and NaN stays local to the outputs that read it.
 * @module
 */
import type { ArrayLike, Tensor } from "./tensor.ts";
import { normAxis, sizeOf } from "./shape.ts";
import { conv as convPrim } from "./ops/conv.ts";
import { resolveConvParams } from "./ops/conv_params.ts";
import * as mv from "./ops/movement.ts";
import { multiply } from "./numpy/math.ts";
import { type BoundaryMode, fmt, padIndexed, promoteFloat, scalarOf } from "./lax/_args.ts";
import { asTensor, resultType } from "./numpy/_convert.ts";
import { isInexact } from "./dtype.ts";
import { checkOptions } from "./options.ts";
import {
  checkMode,
  checkSameRankNonEmpty,
  fftConvolvePrepared,
  fftIsFaster,
  prepareFftConvolve,
} from "./signal_fft.ts";

export { fftconvolve, type FftConvolveOptions, oaconvolve } from "./signal_fft.ts";

/** Output size rule of a convolution: "full", "valid" or "same" (scipy). */
export type ConvolveMode = "full" | "valid" | "same";

/** Options of {@linkcode convolve}. */
export interface ConvolveOptions {
  /** "full" (default), "valid" or "same" (the size of `a`, scipy's centring). */
  mode?: ConvolveMode;
  /** `[aAxes, bAxes]`: pairs of axes that are convolved (autograd semantics). */
  axes?: [number[], number[]];
  /** `[aAxes, bAxes]`: pairs of axes that are contracted like `tensordot` (autograd semantics). */
  dotAxes?: [number[], number[]];
  /**
   * "auto" (default): the FFT where a cost model of our kernels says it is faster, else direct
   * (always direct for integer and bool operands, whose sums then stay exact, as SciPy's
   * `choose_conv_method` does for large integers);
   * "direct"; or "fft" (`fftconvolve`; SciPy semantics only, not with `axes` / `dotAxes`).
   */
  method?: "auto" | "direct" | "fft";
}

const CONVOLVE_KEYS = ["mode", "axes", "dotAxes", "method"];
const CONVOLVE2D_KEYS = ["mode", "boundary", "fillvalue"];

function checkMethod(op: string, m: unknown): "auto" | "direct" | "fft" {
  if (m !== "auto" && m !== "direct" && m !== "fft") {
    throw new RangeError(`${op}: method ${fmt(m)} must be "auto", "direct" or "fft"`);
  }
  return m;
}

function axisPairs(
  op: string,
  name: string,
  v: unknown,
  a: Tensor,
  b: Tensor,
): [number[], number[]] {
  if (!Array.isArray(v) || v.length !== 2 || !Array.isArray(v[0]) || !Array.isArray(v[1])) {
    throw new RangeError(`${op}: ${name} ${fmt(v)} must be a pair [aAxes, bAxes] of axis lists`);
  }
  if (v[0].length !== v[1].length) {
    throw new RangeError(
      `${op}: ${name} ${fmt(v)} must list as many axes of a as of b, got ${v[0].length} and ${
        v[1].length
      }`,
    );
  }
  return [
    v[0].map((x: number) => normAxis(op, x, a.ndim, `${name}[0]`)),
    v[1].map((x: number) => normAxis(op, x, b.ndim, `${name}[1]`)),
  ];
}

interface Plan {
  conv: [number[], number[]];
  dot: [number[], number[]];
}

/** Lowers a planned autograd-style convolution onto the conv primitive. */
function lower(op: string, a: Tensor, b: Tensor, plan: Plan, mode: ConvolveMode): Tensor {
  const [ca, cb] = plan.conv, [da, db] = plan.dot;
  const ignA = [...Array(a.ndim).keys()].filter((i) => !ca.includes(i) && !da.includes(i));
  const ignB = [...Array(b.ndim).keys()].filter((i) => !cb.includes(i) && !db.includes(i));
  const Na = ca.map((i) => a.shape[i]), Nb = cb.map((i) => b.shape[i]);
  if ([...Na, ...Nb].some((d) => d === 0)) {
    throw new TypeError(
      `${op}: zero-size convolved axes are not supported (a shape ${fmt(a.shape)}, b shape ${
        fmt(b.shape)
      })`,
    );
  }
  if (mode === "valid" && !(Na.every((n, i) => n >= Nb[i]) || Na.every((n, i) => n <= Nb[i]))) {
    throw new TypeError(
      `${op}: in "valid" mode one operand must be at least as large as the other on every convolved axis, got sizes ${
        fmt(Na)
      } and ${fmt(Nb)}`,
    );
  }
  const shapeA = ignA.map((i) => a.shape[i]), shapeB = ignB.map((i) => b.shape[i]);
  const dotSize = sizeOf(da.map((i) => a.shape[i]));
  const lhs = mv.reshape(mv.transpose(a, [...ignA, ...da, ...ca]), [
    sizeOf(shapeA),
    dotSize,
    ...Na,
  ]);
  let rhs = mv.reshape(mv.transpose(b, [...ignB, ...db, ...cb]), [sizeOf(shapeB), dotSize, ...Nb]);
  rhs = mv.rev(rhs, Nb.map((_, i) => i + 2));
  const pads = Na.map((na, i): [number, number] => {
    const nb = Nb[i];
    if (mode === "full") return [nb - 1, nb - 1];
    if (mode === "same") return [nb - 1 - Math.floor((nb - 1) / 2), Math.floor((nb - 1) / 2)];
    const d = Math.max(nb - na, 0);
    return [d, d];
  });
  const p = resolveConvParams(lhs.aval.shape, rhs.aval.shape, Na.map(() => 1), pads);
  const out = convPrim(lhs, rhs, p);
  return mv.reshape(out, [...shapeA, ...shapeB, ...out.aval.shape.slice(2)]);
}

function autogradPlan(op: string, a: Tensor, b: Tensor, opts: ConvolveOptions): Plan {
  const dot = opts.dotAxes === undefined
    ? [[], []] as [number[], number[]]
    : axisPairs(op, "dotAxes", opts.dotAxes, a, b);
  let conv: [number[], number[]];
  if (opts.axes === undefined) {
    const restA = [...Array(a.ndim).keys()].filter((i) => !dot[0].includes(i));
    const restB = [...Array(b.ndim).keys()].filter((i) => !dot[1].includes(i));
    if (restB.length < restA.length) {
      throw new TypeError(
        `${op}: without axes, every non-dot axis of a is convolved with one of b, but a (shape ${
          fmt(a.shape)
        }) has ${restA.length} and b (shape ${fmt(b.shape)}) only ${restB.length}`,
      );
    }
    conv = [restA, restB.slice(0, restA.length)];
  } else conv = axisPairs(op, "axes", opts.axes, a, b);
  for (const [side, t] of [[0, a], [1, b]] as const) {
    const all = [...conv[side], ...dot[side]];
    if (new Set(all).size !== all.length) {
      throw new RangeError(
        `${op}: axes ${fmt(conv[side])} and dotAxes ${fmt(dot[side])} of ${
          side ? "b" : "a"
        } (shape ${fmt(t.shape)}) must not repeat an axis`,
      );
    }
  }
  dot[0].forEach((ax, k) => {
    if (a.shape[ax] !== b.shape[dot[1][k]]) {
      throw new TypeError(
        `${op}: dotAxes pair ${k} has sizes ${a.shape[ax]} (a axis ${ax}, shape ${
          fmt(a.shape)
        }) and ${b.shape[dot[1][k]]} (b axis ${dot[1][k]}, shape ${fmt(b.shape)}); they must match`,
      );
    }
  });
  return { conv, dot };
}

/**
 * True convolution (the kernel is flipped), N-d.
 *
 * Without `axes` / `dotAxes`: `scipy.signal.convolve(a, b, mode)`: equal ranks, every axis
 * convolved; "full" has size `Na + Nb - 1`, "same" the size of `a` (centred like scipy), "valid"
 * `|Na - Nb| + 1` and needs one operand at least as large as the other on every axis. Empty
 * operands are a TypeError, as in scipy; 0-d operands multiply.
 *
 * With `axes: [aAxes, bAxes]` and/or `dotAxes: [aAxes, bAxes]`: HIPS autograd's
 * `autograd.scipy.signal.convolve`: pairs in `axes` are convolved, pairs in `dotAxes` summed
 * (tensordot), all other axes form an outer product; output axes are a's other axes, then b's,
 * then the convolved axes in the order of `axes`. If `axes` is omitted, a's non-dot axes are
 * paired in order with b's first non-dot axes (b's remaining axes join the outer product).
 * Gradients are exact for any listing order of the dot pairs.
 *
 * @param a First operand.
 * @param b Second operand (the kernel).
 * @param opts `mode`, `axes`, `dotAxes`, `method` ("auto" | "direct" | "fft").
 * @returns The convolution (promoted float dtype).
 * @example scipy semantics
 * ```ts
 * import { np } from "../mod.ts";
 * import { convolve } from "./signal.ts";
 * if (convolve(np.array([1, 2, 3]), np.array([0, 1, 0.5])).dataSync().join() !== "0,1,2.5,4,1.5") throw new Error();
 * ```
 * @example autograd: four 3×3 images, one 2×2 filter, valid mode
 * ```ts
 * import { np } from "../mod.ts";
 * import { convolve } from "./signal.ts";
 * const row = [[1, 1, 1], [0, 0, 0], [0, 0, 0]];
 * const images = np.array([row, row, row, row]);
 * const out = convolve(images, np.array([[1, 1], [-1, -1]]), { axes: [[1, 2], [0, 1]], mode: "valid" });
 * if (out.shape.join() !== "4,2,2" || out.dataSync().join() !== "-2,-2,0,0,".repeat(4).slice(0, -1)) throw new Error();
 * ```
 * @example autograd: pure tensordot with crossed dot axes
 * ```ts
 * import { np } from "../mod.ts";
 * import { convolve } from "./signal.ts";
 * const a = np.arange(60).reshape([3, 4, 5]), b = np.arange(24).reshape([4, 3, 2]);
 * const out = convolve(a, b, { axes: [[], []], dotAxes: [[1, 0], [0, 1]] });
 * if (out.shape.join() !== "5,2" || out.dataSync().slice(0, 2).join() !== "4400,4730") throw new Error();
 * ```
 */
export function convolve(a: ArrayLike, b: ArrayLike, opts: ConvolveOptions = {}): Tensor {
  return convolveAs("convolve", a, b, opts);
}

/** Whether neither operand is inexact (ints, bools): "auto" then keeps exact, direct sums. */
function exactOperands(op: string, a: ArrayLike, b: ArrayLike): [Tensor, Tensor, boolean] {
  const x = asTensor(a, op), y = asTensor(b, op);
  return [x, y, !isInexact(resultType([x, y]).dtype)];
}

function convolveAs(
  op: string,
  a: ArrayLike,
  b: ArrayLike,
  opts: ConvolveOptions,
  exactIn?: boolean,
): Tensor {
  opts = checkOptions(op, opts, CONVOLVE_KEYS);
  const [xa, ya, exact] = exactOperands(op, a, b);
  const [x, y] = promoteFloat(op, xa, ya);
  const mode = checkMode(op, opts.mode ?? "full");
  const method = checkMethod(op, opts.method ?? "auto");
  if (opts.axes !== undefined || opts.dotAxes !== undefined) {
    if (method === "fft") {
      throw new TypeError(
        `${op}: method "fft" supports scipy semantics only; drop axes / dotAxes or use method "direct"`,
      );
    }
    return lower(op, x, y, autogradPlan(op, x, y, opts), mode);
  }
  if (
    method === "fft" ||
    (method === "auto" && !(exactIn ?? exact) && x.ndim === y.ndim && x.size > 0 &&
      y.size > 0 && fftIsFaster(x.shape, y.shape, mode, 1))
  ) {
    return fftConvolvePrepared(prepareFftConvolve(op, x, y, { mode }));
  }
  checkSameRankNonEmpty(op, x, y);
  if (x.ndim === 0) return multiply(x, y);
  const all = [...Array(x.ndim).keys()];
  return lower(op, x, y, { conv: [all, all], dot: [[], []] }, mode);
}

/**
 * Cross-correlation with `scipy.signal.correlate` semantics: `convolve(a, flip(b), mode)` (N-d,
 * equal ranks; "same" centring and "valid" dominance rule as in {@linkcode convolve}). With
 * `axes` / `dotAxes` (autograd semantics, as in {@linkcode convolve}), `b` is flipped along its
 * convolved axes only: the correlation over `axes`, contracted over `dotAxes`.
 *
 * @param a First operand.
 * @param b Second operand.
 * @param opts `mode` (default "full"), `axes`, `dotAxes`, `method` (as in {@linkcode convolve}).
 * @returns The correlation (promoted float dtype).
 * @example
 * ```ts
 * import { np } from "../mod.ts";
 * import { correlate } from "./signal.ts";
 * if (correlate(np.array([1, 2, 3]), np.array([0, 1, 0.5])).dataSync().join() !== "0.5,2,3.5,3,0") throw new Error();
 * ```
 */
export function correlate(a: ArrayLike, b: ArrayLike, opts: ConvolveOptions = {}): Tensor {
  opts = checkOptions("correlate", opts, CONVOLVE_KEYS);
  const [xa, ya, exact] = exactOperands("correlate", a, b);
  const [x, y] = promoteFloat("correlate", xa, ya);
  if (opts.axes !== undefined || opts.dotAxes !== undefined) {
    const mode = checkMode("correlate", opts.mode ?? "full");
    const plan = autogradPlan("correlate", x, y, opts);
    return lower("correlate", x, mv.rev(y, plan.conv[1]), plan, mode);
  }
  return convolveAs("correlate", x, mv.rev(y, [...Array(y.ndim).keys()]), {
    mode: opts.mode,
    method: opts.method,
  }, exact);
}

/** Options of {@linkcode convolve2d} and {@linkcode correlate2d}. */
export interface Convolve2dOptions {
  /** "full" (default), "valid" or "same". */
  mode?: ConvolveMode;
  /** How `a` is extended: "fill" (default, with `fillvalue`), "wrap" (circular) or "symm" (mirrored, edge repeated). */
  boundary?: "fill" | "wrap" | "symm";
  /** Value used outside `a` with boundary "fill" (default 0). */
  fillvalue?: number;
}

/** 2-d convolution of `a` with `b`; `corr` marks a correlation (b already flipped), whose "same"
 * window sits at offset `floor(K / 2)` of the full result (scipy's correlate2d) instead of
 * convolve2d's `floor((K - 1) / 2)`. */
function conv2d(op: string, a: Tensor, b: Tensor, opts: Convolve2dOptions, corr: boolean): Tensor {
  if (a.ndim !== 2 || b.ndim !== 2) {
    throw new TypeError(
      `${op}: a and b must both be 2-d, got shapes ${fmt(a.shape)} and ${fmt(b.shape)}`,
    );
  }
  const mode = checkMode(op, opts.mode ?? "full");
  const boundary = opts.boundary ?? "fill";
  const fill = opts.fillvalue ?? 0;
  if (boundary !== "fill" && boundary !== "wrap" && boundary !== "symm") {
    throw new RangeError(`${op}: boundary ${fmt(boundary)} must be "fill", "wrap" or "symm"`);
  }
  if (typeof fill !== "number") {
    throw new TypeError(`${op}: fillvalue ${fmt(fill)} must be a number`);
  }
  if (mode === "valid" || (boundary === "fill" && fill === 0 && !(corr && mode === "same"))) {
    return convolveAs(op, a, b, { mode });
  }
  if (a.size === 0 || b.size === 0) {
    throw new TypeError(
      `${op}: zero-size arrays are not supported, got a shape ${fmt(a.shape)} and b shape ${
        fmt(b.shape)
      }`,
    );
  }
  // extend a by (Nb - 1) on every side with the boundary rule, then a valid convolution gives "full"
  const [kh, kw] = [b.shape[0] - 1, b.shape[1] - 1];
  let ext: Tensor;
  if (boundary === "fill" && fill === 0) ext = a;
  else if (boundary === "fill") ext = mv.pad(a, scalarOf(fill, a.dtype), [kh, kw], [kh, kw]);
  else {
    const m: BoundaryMode = boundary === "wrap" ? "circular" : "symmetric";
    ext = padIndexed(padIndexed(a, 0, kh, kh, m), 1, kw, kw, m);
  }
  const full = convolveAs(op, ext, b, { mode: ext === a ? "full" : "valid" });
  if (mode === "full") return full;
  const [oh, ow] = corr
    ? [Math.ceil(kh / 2), Math.ceil(kw / 2)]
    : [Math.floor(kh / 2), Math.floor(kw / 2)];
  return mv.slice(full, [oh, ow], [oh + a.shape[0], ow + a.shape[1]]);
}

/**
 * 2-d convolution, `scipy.signal.convolve2d(a, b, mode, boundary, fillvalue)`.
 *
 * @param a 2-d input.
 * @param b 2-d kernel.
 * @param opts `mode`, `boundary`, `fillvalue`.
 * @returns The convolution.
 * @example
 * ```ts
 * import { np } from "../mod.ts";
 * import { convolve2d } from "./signal.ts";
 * const y = convolve2d(np.array([[1, 2], [3, 4]]), np.array([[1, 1]]), { mode: "same", boundary: "wrap" });
 * if (y.dataSync().join() !== "3,3,7,7") throw new Error();
 * ```
 */
export function convolve2d(a: ArrayLike, b: ArrayLike, opts: Convolve2dOptions = {}): Tensor {
  opts = checkOptions("convolve2d", opts, CONVOLVE2D_KEYS);
  const [x, y] = promoteFloat("convolve2d", a, b);
  return conv2d("convolve2d", x, y, opts, false);
}

/**
 * 2-d cross-correlation, `scipy.signal.correlate2d(a, b, mode, boundary, fillvalue)`. Note that
 * scipy centres correlate2d's "same" window differently from N-d `correlate` for even template
 * sizes (offset `floor(K / 2)` into the full correlation instead of `floor((K - 1) / 2)`); this
 * function follows correlate2d.
 *
 * @param a 2-d input.
 * @param b 2-d template.
 * @param opts `mode`, `boundary`, `fillvalue`.
 * @returns The correlation.
 * @example
 * ```ts
 * import { np } from "../mod.ts";
 * import { correlate2d } from "./signal.ts";
 * const y = correlate2d(np.array([[1, 2], [3, 4]]), np.array([[1, 2]]), { mode: "valid" });
 * if (y.dataSync().join() !== "5,11") throw new Error();
 * ```
 */
export function correlate2d(a: ArrayLike, b: ArrayLike, opts: Convolve2dOptions = {}): Tensor {
  opts = checkOptions("correlate2d", opts, CONVOLVE2D_KEYS);
  const [x, y] = promoteFloat("correlate2d", a, b);
  if (y.ndim !== 2) return conv2d("correlate2d", x, y, opts, true);
  return conv2d("correlate2d", x, mv.rev(y, [0, 1]), opts, true);
}
