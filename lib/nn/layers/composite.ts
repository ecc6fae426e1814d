// Normalisation layers (batchNorm with running statistics as state, layerNorm, groupNorm),
// multiHeadAttention and sequential, with PyTorch's parameter names and initialisation.
import type { Tensor } from "../../tensor.ts";
import { checkOptions } from "../../options.ts";
import { foldIn, key as randomKey, splitList, uniform } from "../../random.ts";
import { add, matmul, ones, reshape, transpose, zeros } from "../../numpy.ts";
import {
  batchNorm as batchNormFn,
  type BatchNormState,
  dotProductAttention,
  groupNorm as groupNormFn,
  layerNorm as layerNormFn,
} from "../norm.ts";
import { defineLayer, type Layer } from "./_layer.ts";

/** Affine parameters of the normalisation layers (PyTorch: weight ones, bias zeros). */
export interface NormParams {
  /** Per-feature scale (absent when `affine` is false). */
  weight?: Tensor;
  /** Per-feature offset (absent when `affine` is false). */
  bias?: Tensor;
}

/** Options of {@link batchNorm}. */
export interface BatchNormLayerOptions {
  /** Running-average weight of each new batch (default 0.1, PyTorch's). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a per-channel scale and offset (default true). */
  affine?: boolean;
}

const affineParams = (n: number, affine: boolean | undefined): NormParams =>
  affine === false ? {} : { weight: ones([n]), bias: zeros([n]) };

/**
 * Batch normalisation over channel axis 1 (PyTorch's `BatchNormNd`): parameters `weight`/`bias`,
 * state `{ mean, var }` from `initState`; pass `{ state, train }` to `apply`, which returns
 * `[y, newState]` (training updates the running statistics; evaluation uses them).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const bn = nn.layers.batchNorm();
 * const p = bn.init(random.key(0), [8, 3]);
 * const [y, s] = bn.apply(p, np.arange(24).reshape([8, 3]).astype("float32"), { state: bn.initState([8, 3]), train: true });
 * if (y.shape.join() !== "8,3" || Math.abs(s.mean.dataSync()[0] - 1.05) > 1e-5) throw new Error();
 * ```
 */
export function batchNorm(opts: BatchNormLayerOptions = {}): Layer<NormParams, BatchNormState> {
  const op = "batchNorm";
  const o = checkOptions(op, opts, ["momentum", "eps", "affine"]);
  return defineLayer<NormParams, BatchNormState>({
    name: op,
    init: (_key, shape) => affineParams(shape[1], o.affine),
    initState: (shape) => ({ mean: zeros([shape[1]]), var: ones([shape[1]]) }),
    forward(p, x, ctx) {
      if (!ctx.state) {
        throw new TypeError(
          `${op}.apply: pass the running statistics as opts.state (from initState)`,
        );
      }
      return batchNormFn(x, ctx.state, {
        train: ctx.train,
        momentum: o.momentum,
        eps: o.eps,
        scale: p.weight,
        bias: p.bias,
      });
    },
  });
}

/**
 * Layer normalisation over the last axis (PyTorch's `LayerNorm(inputShape[-1])`, eps 1e-5).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const ln = nn.layers.layerNorm();
 * const y = ln.apply(ln.init(random.key(0), [2, 4]), np.arange(8).reshape([2, 4]).astype("float32"));
 * if (Math.abs(y.dataSync()[0] + 1.3416) > 1e-3) throw new Error();
 * ```
 */
export function layerNorm(opts: { eps?: number; affine?: boolean } = {}): Layer<NormParams, null> {
  const o = checkOptions("layerNorm", opts, ["eps", "affine"]);
  return defineLayer({
    name: "layerNorm",
    init: (_key, shape) => affineParams(shape[shape.length - 1], o.affine),
    forward: (p, x) => [layerNormFn(x, { eps: o.eps, scale: p.weight, bias: p.bias }), null],
  });
}

/**
 * Group normalisation over channel axis 1 (PyTorch's `GroupNorm(numGroups, C)`).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const gn = nn.layers.groupNorm(2);
 * const p = gn.init(random.key(0), [1, 4, 3]);
 * if (gn.apply(p, np.ones([1, 4, 3])).shape.join() !== "1,4,3") throw new Error();
 * ```
 */
export function groupNorm(
  numGroups: number,
  opts: { eps?: number; affine?: boolean } = {},
): Layer<NormParams, null> {
  const o = checkOptions("groupNorm", opts, ["eps", "affine"]);
  return defineLayer({
    name: "groupNorm",
    init: (_key, shape) => affineParams(shape[1], o.affine),
    forward: (
      p,
      x,
    ) => [groupNormFn(x, numGroups, { eps: o.eps, scale: p.weight, bias: p.bias }), null],
  });
}

/** A projection's parameters (PyTorch `Linear` layout). */
export interface Projection {
  /** `[out, in]`. */
  weight: Tensor;
  /** `[out]`. */
  bias?: Tensor;
}

/** Parameters of {@link multiHeadAttention}. */
export interface AttentionParams {
  /** Query projection. */
  query: Projection;
  /** Key projection. */
  key: Projection;
  /** Value projection. */
  value: Projection;
  /** Output projection. */
  out: Projection;
}

/** Options of {@link multiHeadAttention}. */
export interface MultiHeadAttentionOptions {
  /** Width of the query/key/value projections (default the input width). */
  qkvFeatures?: number;
  /** Output width (default the input width). */
  outFeatures?: number;
  /** Biases on the projections (default true). */
  useBias?: boolean;
  /** Causal masking (default false). */
  isCausal?: boolean;
}

/**
 * Multi-head attention over `[batch, length, features]` (batch first): projections `query`,
 * `key`, `value`, `out` in PyTorch's `Linear` layout (PyTorch's `MultiheadAttention` packs the
 * first three as `in_proj_weight` = their concatenation), Xavier-uniform weights and zero biases
 * as PyTorch. `apply(params, x, { mask, context })`: `context` gives keys/values (cross-attention).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const mha = nn.layers.multiHeadAttention(2);
 * const p = mha.init(random.key(0), [3, 5, 8]);
 * if (mha.apply(p, np.ones([3, 5, 8])).shape.join() !== "3,5,8") throw new Error();
 * ```
 */
export function multiHeadAttention(
  numHeads: number,
  opts: MultiHeadAttentionOptions = {},
): Layer<AttentionParams, null> {
  const op = "multiHeadAttention";
  const o = checkOptions(op, opts, ["qkvFeatures", "outFeatures", "useBias", "isCausal"]);
  if (!Number.isInteger(numHeads) || numHeads < 1) {
    throw new RangeError(`${op}: numHeads ${numHeads} must be a positive integer`);
  }
  const proj = (key: Tensor, out: number, inp: number): Projection => {
    const lim = Math.sqrt(6 / (inp + out));
    const weight = uniform(key, [out, inp], { minval: -lim, maxval: lim });
    return o.useBias === false ? { weight } : { weight, bias: zeros([out]) };
  };
  const run = (p: Projection, x: Tensor) => {
    const y = matmul(x, transpose(p.weight));
    return p.bias ? add(y, p.bias) : y;
  };
  return defineLayer({
    name: op,
    init(key, shape) {
      const e = shape[shape.length - 1], qkv = o.qkvFeatures ?? e;
      if (qkv % numHeads !== 0) {
        throw new RangeError(`${op}.init: ${qkv} features do not split into ${numHeads} heads`);
      }
      const [kq, kk, kv, ko] = splitList(key, 4);
      return {
        query: proj(kq, qkv, e),
        key: proj(kk, qkv, e),
        value: proj(kv, qkv, e),
        out: proj(ko, o.outFeatures ?? e, qkv),
      };
    },
    forward(p, x, ctx) {
      const c = ctx.context ?? x;
      const heads = (t: Tensor) =>
        reshape(t, [...t.shape.slice(0, -1), numHeads, t.shape[t.shape.length - 1] / numHeads]);
      const y = dotProductAttention(
        heads(run(p.query, x)),
        heads(run(p.key, c)),
        heads(run(p.value, c)),
        {
          mask: ctx.mask,
          isCausal: o.isCausal,
        },
      );
      return [run(p.out, reshape(y, [...y.shape.slice(0, -2), -1])), null];
    },
  });
}

/**
 * Layers in sequence: params and state are arrays with one entry per layer (so saved names
 * read `0.weight`, `1.bias`, ... as in PyTorch's `nn.Sequential`); `init` threads the shape
 * through, `apply` gives each layer its own key (`foldIn(key, i)`).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const L = nn.layers;
 * const net = L.sequential(L.conv(4, 3), L.relu(), L.flatten(), L.dense(10));
 * const p = net.init(random.key(0), [2, 1, 8, 8]);
 * if (net.apply(p, np.ones([2, 1, 8, 8])).shape.join() !== "2,10") throw new Error();
 * ```
 */
// deno-lint-ignore no-explicit-any
export function sequential(...layers: Layer<any, any>[]): Layer<unknown[], unknown[]> {
  layers.forEach((l, i) => {
    if (typeof l?.init !== "function" || typeof l?.apply !== "function") {
      throw new TypeError(`sequential: argument ${i} is not a layer`);
    }
  });
  const shapes = (params: unknown[] | null, keyed: Tensor | null, shape: number[]) => {
    const ps: unknown[] = [];
    const states: unknown[] = [];
    let s = shape;
    layers.forEach((l, i) => {
      const p = params ? params[i] : l.init(splitList(foldIn(keyed!, i))[0], s);
      ps.push(p);
      states.push(l.initState(s));
      if (i < layers.length - 1) s = l.outputShape(p, s);
    });
    return [ps, states];
  };
  return defineLayer<unknown[], unknown[]>({
    name: "sequential",
    init: (key, shape) => shapes(null, key, shape)[0],
    initState(shape) {
      // states never depend on parameter values, only on shapes: init with a fixed key
      const [, states] = shapes(null, randomKey(0), shape);
      return states;
    },
    forward(ps, x, ctx) {
      if (!Array.isArray(ps) || ps.length !== layers.length) {
        throw new TypeError(
          `sequential.apply: params must be an array of ${layers.length} layer params`,
        );
      }
      const state = ctx.state;
      const out: unknown[] = [];
      let y = x;
      layers.forEach((l, i) => {
        const key = ctx.key ? foldIn(ctx.key, i) : undefined;
        const s = state ? state[i] : l.initState(y.shape);
        const r = l.apply(ps[i], y, {
          key,
          train: ctx.train,
          state: s ?? null,
          mask: ctx.mask,
        }) as [Tensor, unknown];
        [y] = r;
        out.push(r[1]);
        if (!state && s !== null) {
          throw new TypeError(
            `sequential.apply: layer ${i} (${l.name}) has state; pass opts.state from initState`,
          );
        }
      });
      return [y, out];
    },
  });
}
