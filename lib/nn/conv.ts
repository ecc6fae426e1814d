/**
 * Neural-network convolutions in the NC+spatial layout: `convNd` (mygrad `conv_nd` / PyTorch
 * `convNd` semantics, with groups, dilation, asymmetric, "valid"/"same" padding and the PyTorch
 * padding modes) and `convTransposeNd` (PyTorch `conv_transposeNd`). Both lower onto the `conv`
 * primitive, so they differentiate to any order, vmap and jit.
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { conv as convPrim } from "../ops/conv.ts";
import { resolveConvParams } from "../ops/conv_params.ts";
import * as mv from "../ops/movement.ts";
import { add } from "../numpy/math.ts";
import { asTensor } from "../numpy/_convert.ts";
import {
  type BoundaryMode,
  fmt,
  isInt,
  nnPadding,
  padIndexed,
  perDim,
  promoteFloat,
} from "../lax/_args.ts";
import { checkOptions } from "../options.ts";

/** Padding of `convNd`: one number, one per spatial dim, `[lo, hi]` per dim, "valid" or "same". */
export type ConvNdPadding = number | number[] | [number, number][] | "valid" | "same";

/** How `convNd` fills its padding (PyTorch `padding_mode`). */
export type PaddingMode = "zeros" | "reflect" | "replicate" | "circular";

/** Options of {@linkcode convNd}. */
export interface ConvNdOptions {
  /** Window stride: a number or one per spatial dim (default 1). */
  stride?: number | number[];
  /** Padding (default 0). "same" needs stride 1 and puts an odd extra pad on the high side. */
  padding?: ConvNdPadding;
  /** Kernel dilation: a number or one per spatial dim (default 1). */
  dilation?: number | number[];
  /** Feature groups: C and F must be multiples, w has C / groups input channels (default 1). */
  groups?: number;
  /** Padding values: zeros (default), reflect, replicate (edge) or circular (wrap-around). */
  paddingMode?: PaddingMode;
  /** Optional bias of shape (F,), added to every output position. */
  bias?: ArrayLike;
}

const MODES: Record<PaddingMode, BoundaryMode | null> = {
  zeros: null,
  reflect: "reflect",
  replicate: "edge",
  circular: "circular",
};

function checkRanks(op: string, x: Tensor, w: Tensor, wLayout: string): void {
  if (x.ndim < 3) {
    throw new TypeError(
      `${op}: x must have at least 3 dimensions (N, C, X0, ...), got shape ${fmt(x.shape)}`,
    );
  }
  if (w.ndim !== x.ndim) {
    throw new TypeError(
      `${op}: w shape ${fmt(w.shape)} must have as many dimensions as x shape ${
        fmt(x.shape)
      } (${wLayout}), got ${w.ndim} and ${x.ndim}`,
    );
  }
  const k = w.shape.slice(2);
  if (k.some((d) => d === 0)) {
    throw new TypeError(
      `${op}: kernel spatial sizes ${fmt(k)} of w shape ${fmt(w.shape)} must be positive`,
    );
  }
}

function checkGroups(op: string, groups: unknown): number {
  if (!isInt(groups) || groups < 1) {
    throw new RangeError(`${op}: groups ${fmt(groups)} must be a positive integer`);
  }
  return groups;
}

/** Resolves convNd padding to `[lo, hi]` pairs (non-negative). */
function resolvePadding(
  op: string,
  padding: unknown,
  n: number,
  kd: number[],
  stride: number[],
): [number, number][] {
  // NOTE: holes would be skipped by every/map below; Array.from makes them undefined
  if (Array.isArray(padding)) padding = Array.from(padding);
  if (typeof padding === "string") {
    const mode = padding.toLowerCase();
    if (mode === "valid") return kd.map(() => [0, 0]);
    if (mode === "same") {
      if (stride.some((s) => s !== 1)) {
        throw new RangeError(
          `${op}: padding "same" requires stride 1 in every dimension, got stride ${fmt(stride)}`,
        );
      }
      return kd.map((k) => [Math.floor((k - 1) / 2), k - 1 - Math.floor((k - 1) / 2)]);
    }
    throw new RangeError(
      `${op}: padding ${
        fmt(padding)
      } must be "valid", "same", a number, or per-dimension numbers or [lo, hi] pairs`,
    );
  }
  return nnPadding(op, padding, n, "spatial dimension");
}

/**
 * N-d convolution (cross-correlation) of `x (N, C, X0, ...)` with `w (F, C / groups, W0, ...)`,
 * giving `(N, F, Y0, ...)` with `Y = floor((X + lo + hi - dilation (W - 1) - 1) / stride) + 1`.
 * Semantics of mygrad `conv_nd` and PyTorch `convNd`: strides that do not tile the input are
 * floored (PyTorch / JAX behaviour); a kernel that fits nowhere in the padded input is a
 * RangeError; rank, channel and group mismatches are TypeErrors naming the shapes.
 *
 * @param x Input (N, C, X0, ...), any number >= 1 of spatial dims.
 * @param w Filters (F, C / groups, W0, ...).
 * @param opts `stride`, `padding`, `dilation`, `groups`, `paddingMode`, `bias`.
 * @returns The convolution (N, F, Y0, ...), in the promoted float dtype.
 * @example mygrad's 1-d example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { convNd } from "./conv.ts";
 * const x = np.array([[[0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]]]);
 * const y = convNd(x, np.ones([1, 1, 5]), { stride: 1 });
 * if (y.dataSync().join() !== "0,1,2,3,4,5,5,4,3,2,1,0") throw new Error("convNd");
 * ```
 * @example Gradients of the sum (mygrad's backward example)
 * ```ts
 * import { grad, np } from "../../mod.ts";
 * import { convNd } from "./conv.ts";
 * const x = np.array([[[0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]]], { dtype: "float32" });
 * const k = np.ones([1, 1, 5]);
 * const [dx, dk] = grad((a, b) => np.sum(convNd(a, b, { stride: 1 })), { argnums: [0, 1] })(x, k);
 * if (dx.dataSync().join() !== "1,2,3,4,5,5,5,5,5,5,5,5,4,3,2,1") throw new Error("dx");
 * if (dk.dataSync().join() !== "6,6,6,6,6") throw new Error("dk");
 * ```
 */
export function convNd(x: ArrayLike, w: ArrayLike, opts: ConvNdOptions = {}): Tensor {
  const op = "convNd";
  opts = checkOptions(op, opts, [
    "stride",
    "padding",
    "dilation",
    "groups",
    "paddingMode",
    "bias",
  ]);
  let [xt, wt] = promoteFloat(op, x, w);
  checkRanks(op, xt, wt, "N, C, spatial... vs F, C/groups, kernel...");
  const n = xt.ndim - 2;
  const groups = checkGroups(op, opts.groups ?? 1);
  const C = xt.shape[1], F = wt.shape[0], I = wt.shape[1];
  if (C !== I * groups) {
    throw new TypeError(
      `${op}: x has ${C} channels (shape ${fmt(xt.shape)}) but w (shape ${
        fmt(wt.shape)
      }) expects ${I} per group × groups ${groups} = ${I * groups}`,
    );
  }
  if (F % groups !== 0) {
    throw new TypeError(
      `${op}: the number of filters ${F} (w shape ${
        fmt(wt.shape)
      }) must be a multiple of groups ${groups}`,
    );
  }
  const stride = perDim(op, "stride", opts.stride ?? 1, n, 1);
  const dilation = perDim(op, "dilation", opts.dilation ?? 1, n, 1);
  const K = wt.shape.slice(2);
  const kd = K.map((k, i) => (k - 1) * dilation[i] + 1);
  const pads = resolvePadding(op, opts.padding ?? 0, n, kd, stride);
  const modeName = opts.paddingMode ?? "zeros";
  if (!Object.hasOwn(MODES, modeName)) {
    throw new RangeError(
      `${op}: paddingMode ${fmt(modeName)} must be "zeros", "reflect", "replicate" or "circular"`,
    );
  }
  const X = xt.shape.slice(2);
  for (let i = 0; i < n; i++) {
    const P = X[i] + pads[i][0] + pads[i][1];
    if (kd[i] > P) {
      throw new RangeError(
        `${op}: the kernel fits nowhere along spatial dimension ${i}: dilated kernel size ${
          kd[i]
        } exceeds the padded input size ${P} ` +
          `(input ${X[i]}, padding ${fmt(pads[i])}, x shape ${fmt(xt.shape)}, w shape ${
            fmt(wt.shape)
          })`,
      );
    }
  }
  const mode = MODES[modeName];
  let convPads = pads;
  if (mode) {
    for (let i = 0; i < n; i++) {
      const [lo, hi] = pads[i];
      if (lo === 0 && hi === 0) continue;
      const limit = modeName === "reflect" ? X[i] - 1 : modeName === "circular" ? X[i] : Infinity;
      if (X[i] === 0 || lo > limit || hi > limit) {
        throw new RangeError(
          `${op}: paddingMode "${modeName}" needs padding ${
            fmt(pads[i])
          } of spatial dimension ${i} to be at most ${
            limit === Infinity ? "anything, on a non-empty axis" : limit
          } for input size ${X[i]}`,
        );
      }
      xt = padIndexed(xt, i + 2, lo, hi, mode);
    }
    convPads = pads.map(() => [0, 0]);
  }
  const p = resolveConvParams(xt.shape, wt.shape, stride, convPads, {
    rhsDilation: dilation,
    featureGroupCount: groups,
  });
  const out = convPrim(xt, wt, p);
  return opts.bias === undefined ? out : addBias(op, out, opts.bias, F);
}

function addBias(op: string, out: Tensor, bias: ArrayLike, F: number): Tensor {
  const b = asTensor(bias, op);
  if (b.ndim !== 1 || b.shape[0] !== F) {
    throw new TypeError(
      `${op}: bias shape ${fmt(b.shape)} must be [${F}], one value per output channel`,
    );
  }
  return add(out, mv.reshape(b, [F, ...out.shape.slice(2).map(() => 1)]));
}

/** Options of {@linkcode convTransposeNd} (PyTorch names). */
export interface ConvTransposeNdOptions {
  /** Stride of the forward conv this transposes: a number or one per spatial dim (default 1). */
  stride?: number | number[];
  /** Padding of the forward conv (symmetric, default 0): removes `padding` rows from each side. */
  padding?: number | number[];
  /** Extra rows on the high side of the output (default 0, must be < max(stride, dilation)). */
  outputPadding?: number | number[];
  /** Kernel dilation (default 1). */
  dilation?: number | number[];
  /** Groups (default 1). */
  groups?: number;
  /** Optional bias of shape (C_out,). */
  bias?: ArrayLike;
}

/**
 * N-d transposed convolution with PyTorch `conv_transposeNd` semantics: `x (N, C_in, X0, ...)`,
 * `w (C_in, C_out / groups, W0, ...)`, output `(N, C_out, Y0, ...)` with
 * `Y = (X - 1) stride - 2 padding + dilation (W - 1) + outputPadding + 1`. It is the gradient
 * of `convNd` with respect to its input; lowered onto one convolution with input dilation
 * `stride` and the flipped, group-transposed kernel.
 *
 * @param x Input (N, C_in, X0, ...).
 * @param w Kernel (C_in, C_out / groups, W0, ...).
 * @param opts `stride`, `padding`, `outputPadding`, `dilation`, `groups`, `bias`.
 * @returns The transposed convolution.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { convTransposeNd } from "./conv.ts";
 * const y = convTransposeNd(np.ones([1, 1, 3]), np.ones([1, 1, 2]), { stride: 2 });
 * if (y.dataSync().join() !== "1,1,1,1,1,1") throw new Error("convTransposeNd");
 * ```
 */
export function convTransposeNd(
  x: ArrayLike,
  w: ArrayLike,
  opts: ConvTransposeNdOptions = {},
): Tensor {
  const op = "convTransposeNd";
  opts = checkOptions(op, opts, [
    "stride",
    "padding",
    "outputPadding",
    "dilation",
    "groups",
    "bias",
  ]);
  const [xt, wt] = promoteFloat(op, x, w);
  checkRanks(op, xt, wt, "N, C_in, spatial... vs C_in, C_out/groups, kernel...");
  const n = xt.ndim - 2;
  const groups = checkGroups(op, opts.groups ?? 1);
  const C = xt.shape[1], Cw = wt.shape[0], Og = wt.shape[1];
  if (C !== Cw) {
    throw new TypeError(
      `${op}: x has ${C} channels (shape ${fmt(xt.shape)}) but w (shape ${
        fmt(wt.shape)
      }) has ${Cw} input channels`,
    );
  }
  if (C % groups !== 0) {
    throw new TypeError(
      `${op}: the number of input channels ${C} must be a multiple of groups ${groups}`,
    );
  }
  const stride = perDim(op, "stride", opts.stride ?? 1, n, 1);
  const dilation = perDim(op, "dilation", opts.dilation ?? 1, n, 1);
  const padding = perDim(op, "padding", opts.padding ?? 0, n, 0);
  const outPad = perDim(op, "outputPadding", opts.outputPadding ?? 0, n, 0);
  outPad.forEach((p, i) => {
    if (p >= Math.max(stride[i], dilation[i])) {
      throw new RangeError(
        `${op}: outputPadding ${
          fmt(opts.outputPadding)
        } must be smaller than stride or dilation in every dimension (dimension ${i}: ${p} vs stride ${
          stride[i]
        }, dilation ${dilation[i]})`,
      );
    }
  });
  const X = xt.shape.slice(2), K = wt.shape.slice(2);
  const kd = K.map((k, i) => (k - 1) * dilation[i]);
  X.forEach((xs, i) => {
    const y = (xs - 1) * stride[i] - 2 * padding[i] + kd[i] + outPad[i] + 1;
    if (xs === 0 || y < 1) {
      throw new RangeError(
        `${op}: output size ${y} of spatial dimension ${i} is not positive (input ${xs}, stride ${
          stride[i]
        }, padding ${padding[i]}, dilation ${dilation[i]}, kernel ${K[i]}, outputPadding ${
          outPad[i]
        })`,
      );
    }
  });
  // kernel (C_in, C_out/G, K..) -> (G, C_in/G, C_out/G, K..) -> (G, C_out/G, C_in/G, K..) -> (C_out, C_in/G, K..), flipped
  const Ig = C / groups;
  let k = mv.reshape(wt, [groups, Ig, Og, ...K]);
  k = mv.transpose(k, [0, 2, 1, ...K.map((_, i) => i + 3)]);
  k = mv.reshape(k, [groups * Og, Ig, ...K]);
  k = mv.rev(k, K.map((_, i) => i + 2));
  const pads = kd.map((d, i): [number, number] => [d - padding[i], d - padding[i] + outPad[i]]);
  const p = resolveConvParams(xt.shape, k.shape, new Array<number>(n).fill(1), pads, {
    lhsDilation: stride,
    rhsDilation: dilation,
    featureGroupCount: groups,
  });
  const out = convPrim(xt, k, p);
  return opts.bias === undefined ? out : addBias(op, out, opts.bias, groups * Og);
}
