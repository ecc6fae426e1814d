/**
 * Activation functions and normalisers under their `jax.nn` names (camelCase), composed from
 * `np` functions so that every one is differentiable to any order, batchable and jittable.
 * Gradients at kinks follow JAX (`relu'(0) = 0`); NaN propagates.
 * @module
 */
import { bind1 } from "../core.ts";
import type { DType } from "../dtype.ts";
import { checkDType } from "../dtype.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import { stopGradientOp } from "../ops/elementwise.ts";
import {
  abs,
  add,
  astype,
  equal,
  exp,
  expm1,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  log1p,
  maximum,
  minimum,
  multiply,
  negative,
  sigmoid as npSigmoid,
  subtract,
  tanh as npTanh,
  where,
} from "../numpy/math.ts";
import { logsumexp as npLogsumexp, max, sum } from "../numpy/reductions.ts";
import { expandDims } from "../numpy/shape_ops.ts";
import { arange } from "../numpy/creation.ts";
import { normAxes } from "../shape.ts";
import { erf } from "../lax/erf.ts";
import { toFloat } from "../lax/_args.ts";
import { checkOptions } from "../options.ts";

/**
 * Rectified linear unit `max(x, 0)`, with gradient 0 at 0 (as JAX).
 *
 * @param x Input.
 * @returns relu(x).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { relu } from "./activations.ts";
 * if (relu(np.array([-1, 0, 2])).dataSync().join() !== "0,0,2") throw new Error("relu");
 * ```
 */
export function relu(x: ArrayLike): Tensor {
  return where(lessEqual(x, 0), 0, x);
}

/**
 * `min(max(x, 0), 6)`, with gradient 0 outside (0, 6).
 *
 * @param x Input.
 * @returns relu6(x).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { relu6 } from "./activations.ts";
 * if (relu6(np.array([-1, 3, 9])).dataSync().join() !== "0,3,6") throw new Error("relu6");
 * ```
 */
export function relu6(x: ArrayLike): Tensor {
  return where(lessEqual(x, 0), 0, where(greaterEqual(x, 6), 6, x));
}

/**
 * Logistic sigmoid `1 / (1 + e^-x)`.
 *
 * @param x Input.
 * @returns sigmoid(x) (float).
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { sigmoid } from "./activations.ts";
 * if (sigmoid(0).item() !== 0.5) throw new Error("sigmoid");
 * ```
 */
export function sigmoid(x: ArrayLike): Tensor {
  return npSigmoid(x);
}

/**
 * Hyperbolic tangent.
 *
 * @param x Input.
 * @returns tanh(x) (float).
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { tanh } from "./activations.ts";
 * if (tanh(0).item() !== 0) throw new Error("tanh");
 * ```
 */
export function tanh(x: ArrayLike): Tensor {
  return npTanh(x);
}

/**
 * `log(1 + e^x)`, computed stably as `max(x, 0) + log1p(e^-|x|)`.
 *
 * @param x Input.
 * @returns softplus(x) (float).
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { softplus } from "./activations.ts";
 * if (Math.abs((softplus(0).item() as number) - Math.LN2) > 1e-6) throw new Error("softplus");
 * ```
 */
export function softplus(x: ArrayLike): Tensor {
  const t = toFloat("softplus", x);
  return add(maximum(t, 0), log1p(exp(negative(abs(t)))));
}

/**
 * `log(sigmoid(x)) = -softplus(-x)`.
 *
 * @param x Input.
 * @returns logSigmoid(x) (float).
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { logSigmoid } from "./activations.ts";
 * if (Math.abs((logSigmoid(0).item() as number) + Math.LN2) > 1e-6) throw new Error("logSigmoid");
 * ```
 */
export function logSigmoid(x: ArrayLike): Tensor {
  return negative(softplus(negative(toFloat("logSigmoid", x))));
}

/**
 * SiLU / swish: `x * sigmoid(x)`.
 *
 * @param x Input.
 * @returns silu(x) (float).
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { silu } from "./activations.ts";
 * if (silu(0).item() !== 0) throw new Error("silu");
 * ```
 */
export function silu(x: ArrayLike): Tensor {
  const t = toFloat("silu", x);
  return multiply(t, npSigmoid(t));
}

/** Alias of {@linkcode silu}. */
export const swish: (x: ArrayLike) => Tensor = silu;

/** Options of {@linkcode gelu}. */
export interface GeluOptions {
  /** Tanh approximation (default true, as `jax.nn.gelu`); false uses the exact `x Φ(x)` via erf. */
  approximate?: boolean;
}

/**
 * Gaussian error linear unit. Default: the tanh approximation
 * `x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`; `{ approximate: false }`: `x/2 (1 + erf(x/sqrt 2))`.
 *
 * @param x Input.
 * @param opts `approximate`.
 * @returns gelu(x) (float).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { gelu } from "./activations.ts";
 * const y = gelu(np.array([1], { dtype: "float64" }), { approximate: false });
 * if (Math.abs(y.dataSync()[0] - 0.8413447460685429) > 1e-12) throw new Error("gelu");
 * ```
 */
export function gelu(x: ArrayLike, opts: GeluOptions = {}): Tensor {
  opts = checkOptions("gelu", opts, ["approximate"]);
  const t = toFloat("gelu", x);
  if (opts.approximate ?? true) {
    const inner = multiply(
      add(t, multiply(multiply(multiply(t, t), t), 0.044715)),
      Math.sqrt(2 / Math.PI),
    );
    return multiply(multiply(t, 0.5), add(npTanh(inner), 1));
  }
  return multiply(multiply(t, 0.5), add(erf(multiply(t, Math.SQRT1_2)), 1));
}

/**
 * Exponential linear unit: `x` for `x > 0`, else `alpha (e^x - 1)`.
 *
 * @param x Input.
 * @param alpha Scale of the negative part (default 1).
 * @returns elu(x) (float).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { elu } from "./activations.ts";
 * if (elu(np.array([2])).item() !== 2) throw new Error("elu");
 * ```
 */
export function elu(x: ArrayLike, alpha = 1): Tensor {
  const t = toFloat("elu", x);
  const pos = greater(t, 0);
  const safe = where(pos, 0, t); // keeps expm1 finite where the branch is unused
  return where(pos, t, multiply(expm1(safe), alpha));
}

/**
 * Continuously differentiable ELU: `max(x, 0) + alpha expm1(min(x, 0) / alpha)`.
 *
 * @param x Input.
 * @param alpha Scale (default 1).
 * @returns celu(x) (float).
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { celu } from "./activations.ts";
 * if (celu(3).item() !== 3) throw new Error("celu");
 * ```
 */
export function celu(x: ArrayLike, alpha = 1): Tensor {
  const t = toFloat("celu", x);
  return add(maximum(t, 0), multiply(expm1(multiply(minimum(t, 0), 1 / alpha)), alpha));
}

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/**
 * Scaled ELU: `scale * elu(x, alpha)` with the self-normalising constants.
 *
 * @param x Input.
 * @returns selu(x) (float).
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { selu } from "./activations.ts";
 * if (selu(0).item() !== 0) throw new Error("selu");
 * ```
 */
export function selu(x: ArrayLike): Tensor {
  return multiply(elu(x, SELU_ALPHA), SELU_SCALE);
}

/**
 * Leaky ReLU: `x` for `x >= 0`, else `negativeSlope * x`.
 *
 * @param x Input.
 * @param negativeSlope Slope for negative inputs (default 0.01).
 * @returns leakyRelu(x).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { leakyRelu } from "./activations.ts";
 * if (leakyRelu(np.array([-2, 3]), 0.5).dataSync().join() !== "-1,3") throw new Error("leaky");
 * ```
 */
export function leakyRelu(x: ArrayLike, negativeSlope = 0.01): Tensor {
  const t = toFloat("leakyRelu", x);
  return where(greaterEqual(t, 0), t, multiply(t, negativeSlope));
}

/**
 * Clips to [-1, 1] (gradient 0 outside).
 *
 * @param x Input.
 * @returns hardTanh(x).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { hardTanh } from "./activations.ts";
 * if (hardTanh(np.array([-3, 0.5, 2])).dataSync().join() !== "-1,0.5,1") throw new Error("hardTanh");
 * ```
 */
export function hardTanh(x: ArrayLike): Tensor {
  const t = toFloat("hardTanh", x);
  return where(greater(t, 1), 1, where(less(t, -1), -1, t));
}

/** Axis options of the softmax family. */
export interface SoftmaxOptions {
  /** Axis or axes to normalise over (default -1). */
  axis?: number | number[];
}

function stopGrad(t: Tensor): Tensor {
  return bind1(stopGradientOp, [t]);
}

/**
 * Softmax along `axis`: `exp(x - max) / sum(exp(x - max))`.
 *
 * @param x Input.
 * @param opts `axis` (default -1).
 * @returns Probabilities summing to 1 along `axis`.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { softmax } from "./activations.ts";
 * const p = softmax(np.array([[1, 1], [0, 0]]));
 * if (p.dataSync().join() !== "0.5,0.5,0.5,0.5") throw new Error("softmax");
 * ```
 */
export function softmax(x: ArrayLike, opts: SoftmaxOptions = {}): Tensor {
  opts = checkOptions("softmax", opts, ["axis"]);
  const t = toFloat("softmax", x);
  const axis = normAxes("softmax", opts.axis ?? -1, t.ndim);
  const e = exp(subtract(t, stopGrad(max(t, { axis, keepdims: true }))));
  return e.div(sum(e, { axis, keepdims: true }));
}

/**
 * Log-softmax along `axis`: `x - max - log(sum(exp(x - max)))`.
 *
 * @param x Input.
 * @param opts `axis` (default -1).
 * @returns Log-probabilities.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { logSoftmax } from "./activations.ts";
 * const y = logSoftmax(np.array([0, 0]));
 * if (Math.abs(y.dataSync()[0] + Math.LN2) > 1e-6) throw new Error("logSoftmax");
 * ```
 */
export function logSoftmax(x: ArrayLike, opts: SoftmaxOptions = {}): Tensor {
  opts = checkOptions("logSoftmax", opts, ["axis"]);
  const t = toFloat("logSoftmax", x);
  const axis = normAxes("logSoftmax", opts.axis ?? -1, t.ndim);
  const shifted = subtract(t, stopGrad(max(t, { axis, keepdims: true })));
  return subtract(shifted, log(sum(exp(shifted), { axis, keepdims: true })));
}

/**
 * `log(sum(exp(x)))` over `axis` (all axes by default), computed stably.
 *
 * @param x Input.
 * @param opts `axis` (default all) and `keepdims`.
 * @returns The log-sum-exp.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { logsumexp } from "./activations.ts";
 * if (Math.abs((logsumexp(np.array([0, 0])).item() as number) - Math.LN2) > 1e-6) throw new Error("lse");
 * ```
 */
export function logsumexp(
  x: ArrayLike,
  opts: { axis?: number | number[] | null; keepdims?: boolean } = {},
): Tensor {
  return npLogsumexp(x, opts);
}

/** Options of {@linkcode oneHot}. */
export interface OneHotOptions {
  /** Result dtype (default float32). */
  dtype?: DType;
  /** Position of the new class axis (default -1, last). */
  axis?: number;
}

/**
 * One-hot encoding: `result[..., k] = (labels[...] == k)`; out-of-range labels give all zeros.
 *
 * @param labels Integer class labels (any shape).
 * @param numClasses Number of classes.
 * @param opts `dtype` (default float32) and `axis` (default -1).
 * @returns Shape `labels.shape` with a `numClasses` axis inserted at `axis`.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { oneHot } from "./activations.ts";
 * if (oneHot(np.array([2, 0]), 3).dataSync().join() !== "0,0,1,1,0,0") throw new Error("oneHot");
 * ```
 */
export function oneHot(labels: ArrayLike, numClasses: number, opts: OneHotOptions = {}): Tensor {
  opts = checkOptions("oneHot", opts, ["dtype", "axis"]);
  if (!Number.isInteger(numClasses) || numClasses < 0) {
    throw new RangeError(`oneHot: numClasses ${numClasses} must be a non-negative integer`);
  }
  const dtype = checkDType(opts.dtype ?? "float32", "oneHot");
  const l = expandDims(labels, -1);
  const hot = astype(equal(l, arange(numClasses)), dtype);
  const axis = opts.axis ?? -1;
  const nd = hot.ndim;
  const ax = normAxes("oneHot", axis, nd)[0];
  if (ax === nd - 1) return hot;
  const perm = [...Array(nd - 1).keys()];
  perm.splice(ax, 0, nd - 1);
  return hot.transpose(perm);
}
