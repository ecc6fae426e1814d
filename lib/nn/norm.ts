// Normalisation and regularisation functions: layerNorm, batchNorm (running statistics as explicit
// state, PyTorch's update rule), groupNorm, dropout and dotProductAttention (JAX's layout).
import type { ArrayLike, Tensor } from "../tensor.ts";
import { checkOptions } from "../options.ts";
import { normAxes } from "../shape.ts";
import { bernoulli } from "../random.ts";
import {
  add,
  array,
  astype,
  divide,
  einsum,
  mean,
  multiply,
  reshape,
  rsqrt,
  subtract,
  variance,
  where,
} from "../numpy.ts";
import { softmax } from "./activations.ts";
import { toFloat } from "../lax/_args.ts";
import { Tensor as TensorClass } from "../tensor.ts";

/** `t` (one dim per axis in `axes`) reshaped to broadcast along those axes of `shape`. */
function alongAxes(t: ArrayLike, axes: number[], shape: number[]): ArrayLike {
  if (!(t instanceof TensorClass) || t.ndim !== axes.length) return t;
  const sorted = [...axes].sort((a, b) => a - b);
  return reshape(t, shape.map((_, i) => (sorted.includes(i) ? t.shape[sorted.indexOf(i)] : 1)));
}

/** Options of {@link layerNorm}. */
export interface LayerNormOptions {
  /** Axes normalised over (default -1). */
  axis?: number | number[];
  /** Added to the variance (default 1e-5, PyTorch's; Flax uses 1e-6). */
  eps?: number;
  /** Multiplies the result; shaped like the normalised axes. */
  scale?: ArrayLike;
  /** Added after scaling; shaped like the normalised axes. */
  bias?: ArrayLike;
}

/**
 * Layer normalisation: `(x − mean) / √(var + eps) · scale + bias` over `axis` (biased variance,
 * as PyTorch and Flax).
 *
 * @example
 * ```ts
 * import { nn, np } from "../../mod.ts";
 * const y = nn.layerNorm(np.array([[1, 2, 3]], { dtype: "float32" }));
 * if (Math.abs(y.dataSync()[2] - 1.2247) > 1e-3) throw new Error();
 * ```
 */
export function layerNorm(x: ArrayLike, opts: LayerNormOptions = {}): Tensor {
  const op = "layerNorm";
  const o = checkOptions(op, opts, ["axis", "eps", "scale", "bias"]);
  const t = toFloat(op, x);
  const axes = normAxes(op, o.axis ?? -1, t.ndim);
  const m = mean(t, { axis: axes, keepdims: true });
  const v = variance(t, { axis: axes, keepdims: true });
  let y = multiply(subtract(t, m), rsqrt(add(v, o.eps ?? 1e-5)));
  if (o.scale !== undefined) y = multiply(y, alongAxes(o.scale, axes, t.shape));
  if (o.bias !== undefined) y = add(y, alongAxes(o.bias, axes, t.shape));
  return y;
}

/** Running statistics of {@link batchNorm}: one value per channel. */
export interface BatchNormState {
  /** Running mean per channel. */
  mean: Tensor;
  /** Running (unbiased) variance per channel. */
  var: Tensor;
}

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Use the batch's statistics and update the running ones (default false: use the running ones). */
  train?: boolean;
  /** Weight of the new batch in the running averages (default 0.1, PyTorch's; Flax's 0.99 is 1 − this). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Channel axis (default 1, NC+spatial). */
  axis?: number;
  /** Per-channel scale (gamma). */
  scale?: ArrayLike;
  /** Per-channel offset (beta). */
  bias?: ArrayLike;
}

/**
 * Batch normalisation with its running statistics as explicit state, PyTorch's rule: in training
 * the batch mean and biased variance normalise, and `running ← (1 − momentum)·running +
 * momentum·batch` (unbiased variance); in evaluation the running statistics normalise and the
 * state comes back unchanged. Returns `[y, newState]`.
 *
 * @example
 * ```ts
 * import { nn, np } from "../../mod.ts";
 * const x = np.array([[1, 10], [3, 30]], { dtype: "float32" });
 * const s0 = { mean: np.zeros([2]), var: np.ones([2]) };
 * const [y, s1] = nn.batchNorm(x, s0, { train: true });
 * if (Math.abs(y.dataSync()[0] + 1) > 1e-3 || Math.abs(s1.mean.dataSync()[1] - 2) > 1e-5) throw new Error();
 * ```
 */
export function batchNorm(
  x: ArrayLike,
  state: BatchNormState,
  opts: BatchNormOptions = {},
): [Tensor, BatchNormState] {
  const op = "batchNorm";
  const o = checkOptions(op, opts, ["train", "momentum", "eps", "axis", "scale", "bias"]);
  const t = toFloat(op, x);
  if (t.ndim < 2) {
    throw new TypeError(`${op}: x must have a batch and a channel axis, got shape [${t.shape}]`);
  }
  const ch = normAxes(op, o.axis ?? 1, t.ndim)[0];
  if (!(state?.mean instanceof TensorClass) || !(state?.var instanceof TensorClass)) {
    throw new TypeError(`${op}: state must be { mean, var } Tensors of ${t.shape[ch]} channels`);
  }
  if (state.mean.size !== t.shape[ch] || state.var.size !== t.shape[ch]) {
    throw new TypeError(
      `${op}: state has ${state.mean.size} channels but x has ${t.shape[ch]} on axis ${ch}`,
    );
  }
  const red = t.shape.map((_, i) => i).filter((i) => i !== ch);
  const eps = o.eps ?? 1e-5, mom = o.momentum ?? 0.1;
  const chan = (v: ArrayLike) => alongAxes(v, [ch], t.shape);
  let m: ArrayLike, v: ArrayLike, next = state;
  if (o.train) {
    m = mean(t, { axis: red, keepdims: true });
    v = variance(t, { axis: red, keepdims: true });
    const n = red.reduce((a, i) => a * t.shape[i], 1);
    const unbiased = multiply(reshape(v, [t.shape[ch]]), n / Math.max(n - 1, 1));
    const upd = (r: Tensor, b: Tensor) =>
      astype(add(multiply(r, 1 - mom), multiply(b, mom)), r.dtype);
    next = { mean: upd(state.mean, reshape(m, [t.shape[ch]])), var: upd(state.var, unbiased) };
  } else {
    m = chan(state.mean);
    v = chan(state.var);
  }
  let y = multiply(subtract(t, m), rsqrt(add(v, eps)));
  if (o.scale !== undefined) y = multiply(y, chan(o.scale));
  if (o.bias !== undefined) y = add(y, chan(o.bias));
  return [y, next];
}

/** Options of {@link groupNorm}. */
export interface GroupNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Per-channel scale. */
  scale?: ArrayLike;
  /** Per-channel offset. */
  bias?: ArrayLike;
}

/**
 * Group normalisation (PyTorch's `group_norm`): channels (axis 1 of `[N, C, ...]`) split into
 * `numGroups` groups, each normalised over its channels and spatial positions.
 *
 * @example
 * ```ts
 * import { nn, np } from "../../mod.ts";
 * const y = nn.groupNorm(np.arange(8).reshape([1, 4, 2]), 2);
 * if (y.shape.join() !== "1,4,2" || Math.abs(y.dataSync()[3] - 1.3416) > 1e-3) throw new Error();
 * ```
 */
export function groupNorm(x: ArrayLike, numGroups: number, opts: GroupNormOptions = {}): Tensor {
  const op = "groupNorm";
  const o = checkOptions(op, opts, ["eps", "scale", "bias"]);
  const t = toFloat(op, x);
  if (t.ndim < 2) throw new TypeError(`${op}: x must be [N, C, ...], got shape [${t.shape}]`);
  const [n, c] = t.shape;
  if (!Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) {
    throw new RangeError(`${op}: numGroups ${numGroups} must divide the ${c} channels`);
  }
  const g = reshape(t, [n, numGroups, -1]);
  const m = mean(g, { axis: 2, keepdims: true });
  const v = variance(g, { axis: 2, keepdims: true });
  let y = reshape(multiply(subtract(g, m), rsqrt(add(v, o.eps ?? 1e-5))), t.shape);
  if (o.scale !== undefined) y = multiply(y, alongAxes(o.scale, [1], t.shape));
  if (o.bias !== undefined) y = add(y, alongAxes(o.bias, [1], t.shape));
  return y;
}

/**
 * Inverted dropout: zeroes each element with probability `rate` and scales the rest by
 * `1 / (1 − rate)`, so the expectation is unchanged. `rate` 0 returns `x`; 1 returns zeros.
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../mod.ts";
 * const y = nn.dropout(random.key(0), np.ones([1000]), 0.5);
 * const kept = Array.from(y.dataSync()).filter((v) => v === 2).length;
 * if (kept < 400 || kept > 600) throw new Error();
 * ```
 */
export function dropout(key: Tensor, x: ArrayLike, rate: number): Tensor {
  const op = "dropout";
  if (typeof rate !== "number" || !(rate >= 0 && rate <= 1)) {
    throw new RangeError(`${op}: rate ${rate} must be in [0, 1]`);
  }
  const t = toFloat(op, x);
  if (rate === 0) return t;
  if (rate === 1) return multiply(t, 0);
  const keep = bernoulli(key, 1 - rate, t.shape);
  return where(keep, divide(t, 1 - rate), 0);
}

/** Options of {@link dotProductAttention}. */
export interface AttentionOptions {
  /** Boolean mask broadcastable to `[batch, heads, qLength, kvLength]`; true = attend. */
  mask?: ArrayLike;
  /** Added to the logits (broadcastable like `mask`). */
  bias?: ArrayLike;
  /** Logit scale (default `1/√headDim`). */
  scale?: number;
  /** Only attend to keys at or before the query position. */
  isCausal?: boolean;
}

/**
 * Scaled dot-product attention with JAX's layout: `q` `[batch, T, heads, D]`, `k`/`v`
 * `[batch, S, heads, D]` (or without the batch axis) → `[batch, T, heads, D]`. Masked-out
 * logits get the dtype's lowest value, as in `jax.nn.dot_product_attention`.
 *
 * @example
 * ```ts
 * import { nn, np } from "../../mod.ts";
 * const q = np.ones([1, 2, 1, 4]), v = np.arange(8).reshape([1, 2, 1, 4]).astype("float32");
 * const y = nn.dotProductAttention(q, q, v, { isCausal: true });
 * if (y.dataSync().slice(0, 4).join() !== "0,1,2,3") throw new Error();
 * ```
 */
export function dotProductAttention(
  q: ArrayLike,
  k: ArrayLike,
  v: ArrayLike,
  opts: AttentionOptions = {},
): Tensor {
  const op = "dotProductAttention";
  const o = checkOptions(op, opts, ["mask", "bias", "scale", "isCausal"]);
  let [qt, kt, vt] = [toFloat(op, q), toFloat(op, k), toFloat(op, v)];
  const unbatched = qt.ndim === 3;
  if (unbatched) [qt, kt, vt] = [qt, kt, vt].map((t) => reshape(t, [1, ...t.shape]));
  if (qt.ndim !== 4 || kt.ndim !== 4 || vt.ndim !== 4) {
    throw new TypeError(
      `${op}: q, k, v must be [batch, length, heads, headDim], got [${qt.shape}], [${kt.shape}], [${vt.shape}]`,
    );
  }
  const [b, tq, h, d] = qt.shape, s = kt.shape[1];
  if (
    kt.shape[0] !== b || kt.shape[2] !== h || kt.shape[3] !== d || vt.shape[0] !== b ||
    vt.shape[1] !== s || vt.shape[2] !== h
  ) {
    throw new TypeError(`${op}: k [${kt.shape}] and v [${vt.shape}] do not match q [${qt.shape}]`);
  }
  let logits = multiply(einsum("bthd,bshd->bhts", qt, kt), o.scale ?? 1 / Math.sqrt(d));
  if (o.bias !== undefined) logits = add(logits, o.bias);
  const lowest = logits.dtype === "float64" ? -Number.MAX_VALUE : -3.4028234663852886e38;
  if (o.mask !== undefined) logits = where(o.mask, logits, lowest);
  if (o.isCausal) {
    const causal = Array.from({ length: tq * s }, (_, i) => (i % s) <= Math.floor(i / s));
    logits = where(reshape(array(causal), [tq, s]), logits, lowest);
  }
  const out = einsum("bhts,bshd->bthd", softmax(logits, { axis: -1 }), vt);
  return unbatched ? reshape(out, out.shape.slice(1)) : out;
}
