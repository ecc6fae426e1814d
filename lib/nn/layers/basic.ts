// Stateless layers with PyTorch's parameter names, shapes and default initialisation: dense
// (Linear), conv (ConvNd), convTranspose, pooling, flatten, dropout, embedding, activations.
import type { Tensor } from "../../tensor.ts";
import { checkOptions } from "../../options.ts";
import { normal, splitList, uniform } from "../../random.ts";
import { add, matmul, reshape, transpose } from "../../numpy.ts";
import {
  convNd,
  type ConvNdOptions,
  convTransposeNd,
  type ConvTransposeNdOptions,
} from "../conv.ts";
import {
  avgPool as avgPoolFn,
  type AvgPoolOptions,
  maxPool as maxPoolFn,
  type MaxPoolOptions,
} from "../pool.ts";
import { dropout as dropoutFn } from "../norm.ts";
import { oneHot } from "../activations.ts";
import * as act from "../activations.ts";
import { defineLayer, type Layer } from "./_layer.ts";
import type { Initializer } from "../initializers.ts";

/** PyTorch's default: `U(±1/√fanIn)` (kaiming_uniform with a = √5, and the bias rule). */
const torchUniform = (key: Tensor, shape: number[], fanIn: number) => {
  const b = 1 / Math.sqrt(Math.max(1, fanIn));
  return uniform(key, shape, { minval: -b, maxval: b });
};

function checkInt(op: string, name: string, v: unknown, min = 1): number {
  if (!Number.isInteger(v) || (v as number) < min) {
    throw new RangeError(`${op}: ${name} must be an integer >= ${min}, got ${v}`);
  }
  return v as number;
}

/** Parameters of {@link dense} (PyTorch `Linear`: weight `[out, in]`). */
export interface DenseParams {
  /** `[features, inFeatures]`. */
  weight: Tensor;
  /** `[features]` (absent without bias). */
  bias?: Tensor;
}

/** Options of {@link dense}. */
export interface DenseOptions {
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Weight initializer, called with the `[out, in]` shape (default PyTorch's `U(±1/√in)`). */
  kernelInit?: Initializer;
  /** Bias initializer (default PyTorch's `U(±1/√in)`). */
  biasInit?: Initializer;
}

/**
 * A fully connected layer over the last axis: `y = x Wᵀ + b`, PyTorch's `Linear` (weight
 * `[features, in]`, bias `[features]`, both `U(±1/√in)`).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const layer = nn.layers.dense(3);
 * const p = layer.init(random.key(0), [5, 4]);
 * if (p.weight.shape.join() !== "3,4" || layer.apply(p, np.ones([5, 4])).shape.join() !== "5,3") throw new Error();
 * ```
 */
export function dense(features: number, opts: DenseOptions = {}): Layer<DenseParams, null> {
  const op = "dense";
  checkInt(op, "features", features);
  const o = checkOptions(op, opts, ["useBias", "kernelInit", "biasInit"]);
  return defineLayer({
    name: op,
    init(key, shape) {
      const fin = shape[shape.length - 1];
      const [kw, kb] = splitList(key);
      const weight = o.kernelInit
        ? o.kernelInit(kw, [features, fin])
        : torchUniform(kw, [features, fin], fin);
      if (o.useBias === false) return { weight };
      return {
        weight,
        bias: o.biasInit ? o.biasInit(kb, [features]) : torchUniform(kb, [features], fin),
      };
    },
    forward(p, x) {
      const y = matmul(x, transpose(p.weight));
      return [p.bias ? add(y, p.bias) : y, null];
    },
  });
}

/** Parameters of {@link conv} (PyTorch `ConvNd`: weight `[F, C/groups, ...kernel]`). */
export interface ConvParams {
  /** `[features, channels / groups, ...kernelSize]`. */
  weight: Tensor;
  /** `[features]` (absent without bias). */
  bias?: Tensor;
}

/**
 * The kernel size per spatial dim of a conv layer on inputs of `shape`, checking its length and
 * that `groups` divides the channels and the features.
 */
function kernelDims(
  op: string,
  kernelSize: number | number[],
  shape: number[],
  groups: number,
  features: number,
): number[] {
  const nsp = shape.length - 2;
  const ks = typeof kernelSize === "number" ? new Array(nsp).fill(kernelSize) : kernelSize;
  if (ks.length !== nsp) {
    throw new TypeError(
      `${op}.init: kernelSize [${ks}] needs ${ks.length} spatial dims, input shape is [${shape}]`,
    );
  }
  if (shape[1] % groups !== 0 || features % groups !== 0) {
    throw new RangeError(
      `${op}.init: groups ${groups} must divide channels ${shape[1]} and features ${features}`,
    );
  }
  return ks;
}

/** A conv layer's weight of `wShape` and bias, PyTorch's `U(±1/√fanIn)` unless initializers are given. */
function convInit(
  key: Tensor,
  wShape: number[],
  features: number,
  useBias: boolean | undefined,
  kernelInit?: Initializer,
  biasInit?: Initializer,
): ConvParams {
  const fin = wShape.slice(1).reduce((a, b) => a * b, 1);
  const [kw, kb] = splitList(key);
  const weight = kernelInit ? kernelInit(kw, wShape) : torchUniform(kw, wShape, fin);
  if (useBias === false) return { weight };
  return { weight, bias: biasInit ? biasInit(kb, [features]) : torchUniform(kb, [features], fin) };
}

/** Options of {@link conv}: every `nn.convNd` option, plus the bias and initializers. */
export interface ConvOptions extends Omit<ConvNdOptions, "bias"> {
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Weight initializer (default PyTorch's `U(±1/√fanIn)`, fanIn = C/groups · kernel size). */
  kernelInit?: Initializer;
  /** Bias initializer (default as PyTorch). */
  biasInit?: Initializer;
}

/**
 * An N-d convolution layer over `[N, C, ...spatial]` inputs (N-d from `kernelSize`'s length),
 * PyTorch's `ConvNd`: every `nn.convNd` option (`stride`, `padding` incl. "same"/"valid" and
 * `[lo, hi]` pairs, `dilation`, `groups`, `paddingMode` zeros/reflect/replicate/circular).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const layer = nn.layers.conv(8, [3, 3], { padding: "same", paddingMode: "reflect" });
 * const p = layer.init(random.key(0), [2, 3, 16, 16]);
 * if (layer.apply(p, np.ones([2, 3, 16, 16])).shape.join() !== "2,8,16,16") throw new Error();
 * ```
 */
export function conv(
  features: number,
  kernelSize: number | number[],
  opts: ConvOptions = {},
): Layer<ConvParams, null> {
  const op = "conv";
  checkInt(op, "features", features);
  const o = checkOptions(op, opts, [
    "stride",
    "padding",
    "dilation",
    "groups",
    "paddingMode",
    "useBias",
    "kernelInit",
    "biasInit",
  ]);
  const { useBias, kernelInit, biasInit, ...convOpts } = o;
  const groups = o.groups ?? 1;
  return defineLayer({
    name: op,
    init(key, shape) {
      const ks = kernelDims(op, kernelSize, shape, groups, features);
      const wShape = [features, shape[1] / groups, ...ks];
      return convInit(key, wShape, features, useBias, kernelInit, biasInit);
    },
    forward: (p, x) => [convNd(x, p.weight, { ...convOpts, bias: p.bias }), null],
  });
}

/** Options of {@link convTranspose}. */
export interface ConvTransposeOptions extends Omit<ConvTransposeNdOptions, "bias"> {
  /** Add a bias (default true). */
  useBias?: boolean;
}

/**
 * An N-d transposed convolution layer, PyTorch's `ConvTransposeNd` (weight
 * `[C, F/groups, ...kernel]`, `U(±1/√(F/groups · kernel size))`).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const layer = nn.layers.convTranspose(4, 2, { stride: 2 });
 * const p = layer.init(random.key(0), [1, 3, 5, 5]);
 * if (layer.apply(p, np.ones([1, 3, 5, 5])).shape.join() !== "1,4,10,10") throw new Error();
 * ```
 */
export function convTranspose(
  features: number,
  kernelSize: number | number[],
  opts: ConvTransposeOptions = {},
): Layer<ConvParams, null> {
  const op = "convTranspose";
  checkInt(op, "features", features);
  const o = checkOptions(op, opts, [
    "stride",
    "padding",
    "outputPadding",
    "dilation",
    "groups",
    "useBias",
  ]);
  const { useBias, ...convOpts } = o;
  const groups = o.groups ?? 1;
  return defineLayer({
    name: op,
    init(key, shape) {
      const ks = kernelDims(op, kernelSize, shape, groups, features);
      return convInit(key, [shape[1], features / groups, ...ks], features, useBias);
    },
    forward: (p, x) => [convTransposeNd(x, p.weight, { ...convOpts, bias: p.bias }), null],
  });
}

/** Parameters of layers without parameters. */
export type NoParams = Record<string, never>;

/**
 * Max pooling over `[N, C, ...spatial]` (`nn.maxPool`'s options).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const l = nn.layers.maxPool({ window: 2 });
 * if (l.apply(l.init(random.key(0), [1, 1, 4, 4]), np.ones([1, 1, 4, 4])).shape.join() !== "1,1,2,2") throw new Error();
 * ```
 */
export function maxPool(opts: MaxPoolOptions): Layer<NoParams, null> {
  return defineLayer({
    name: "maxPool",
    init: () => ({}),
    forward: (_p, x) => [maxPoolFn(x, opts), null],
  });
}

/**
 * Average pooling over `[N, C, ...spatial]` (`nn.avgPool`'s options).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const l = nn.layers.avgPool({ window: 2 });
 * if (l.apply({}, np.ones([1, 1, 4, 4])).dataSync()[0] !== 1) throw new Error();
 * ```
 */
export function avgPool(opts: AvgPoolOptions): Layer<NoParams, null> {
  return defineLayer({
    name: "avgPool",
    init: () => ({}),
    forward: (_p, x) => [avgPoolFn(x, opts), null],
  });
}

/**
 * Flattens every axis after the batch axis: `[N, ...] → [N, prod(...)]`.
 *
 * @example
 * ```ts
 * import { nn, np } from "../../../mod.ts";
 * if (nn.layers.flatten().apply({}, np.ones([2, 3, 4])).shape.join() !== "2,12") throw new Error();
 * ```
 */
export function flatten(): Layer<NoParams, null> {
  return defineLayer({
    name: "flatten",
    init: () => ({}),
    forward: (
      _p,
      x,
    ) => [reshape(x, [x.shape[0], x.shape.slice(1).reduce((a, b) => a * b, 1)]), null],
  });
}

/**
 * Dropout: active only with `{ train: true, key }` (inverted scaling, `nn.dropout`).
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const l = nn.layers.dropout(0.5);
 * if (l.apply({}, np.ones([4])).dataSync().join() !== "1,1,1,1") throw new Error();
 * const y = l.apply({}, np.ones([100]), { train: true, key: random.key(1) });
 * if (!Array.from(y.dataSync()).some((v) => v === 0)) throw new Error();
 * ```
 */
export function dropout(rate: number): Layer<NoParams, null> {
  if (typeof rate !== "number" || !(rate >= 0 && rate <= 1)) {
    throw new RangeError(`dropout: rate ${rate} must be in [0, 1]`);
  }
  return defineLayer({
    name: "dropout",
    init: () => ({}),
    forward(_p, x, ctx) {
      if (!ctx.train || rate === 0) return [x, null];
      if (!ctx.key) throw new TypeError("dropout.apply: training needs opts.key");
      return [dropoutFn(ctx.key, x, rate), null];
    },
  });
}

/** Parameters of {@link embedding}: `weight [numEmbeddings, features]`. */
export interface EmbeddingParams {
  /** The embedding table. */
  weight: Tensor;
}

/**
 * A lookup table, PyTorch's `Embedding` (weight `[numEmbeddings, features]` drawn from N(0, 1)):
 * integer inputs of any shape get a trailing `features` axis.
 *
 * @example
 * ```ts
 * import { nn, np, random } from "../../../mod.ts";
 * const l = nn.layers.embedding(10, 4);
 * const p = l.init(random.key(0), [2, 3]);
 * if (l.apply(p, np.array([[1, 2, 3], [0, 0, 9]])).shape.join() !== "2,3,4") throw new Error();
 * ```
 */
export function embedding(numEmbeddings: number, features: number): Layer<EmbeddingParams, null> {
  checkInt("embedding", "numEmbeddings", numEmbeddings);
  checkInt("embedding", "features", features);
  return defineLayer({
    name: "embedding",
    init: (key) => ({ weight: normal(key, [numEmbeddings, features]) }),
    forward: (
      p,
      x,
    ) => [matmul(oneHot(x, numEmbeddings, { dtype: p.weight.dtype }), p.weight), null],
  });
}

/** A layer applying `fn` elementwise (no parameters). */
function activation(name: string, fn: (x: Tensor) => Tensor): () => Layer<NoParams, null> {
  return () => defineLayer({ name, init: () => ({}), forward: (_p, x) => [fn(x), null] });
}

/**
 * Activation layers (`nn.relu`, `nn.gelu`, ...), no parameters.
 *
 * @example
 * ```ts
 * import { nn, np } from "../../../mod.ts";
 * if (nn.layers.relu().apply({}, np.array([-1, 2])).dataSync().join() !== "0,2") throw new Error();
 * ```
 */
export const relu: () => Layer<NoParams, null> = activation("relu", act.relu);
/** GELU layer (tanh approximation off, as PyTorch's default). */
export const gelu: () => Layer<NoParams, null> = activation(
  "gelu",
  (x) => act.gelu(x, { approximate: false }),
);
/** tanh layer. */
export const tanh: () => Layer<NoParams, null> = activation("tanh", act.tanh);
/** Sigmoid layer. */
export const sigmoid: () => Layer<NoParams, null> = activation("sigmoid", act.sigmoid);
/** SiLU (swish) layer. */
export const silu: () => Layer<NoParams, null> = activation("silu", act.silu);
/** Softmax over the last axis. */
export const softmax: () => Layer<NoParams, null> = activation("softmax", (x) => act.softmax(x));
/** Log-softmax over the last axis. */
export const logSoftmax: () => Layer<NoParams, null> = activation(
  "logSoftmax",
  (x) => act.logSoftmax(x),
);
