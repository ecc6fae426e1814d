/**
 * `nn.initializers`: JAX's initializer factories. Each returns `(key, shape, dtype?) → Tensor`;
 * the variance-scaling ones take JAX's fan axes (`inAxis` −2, `outAxis` −1 by default; pass
 * `{ inAxis: 1, outAxis: 0 }` for PyTorch's `[out, in, ...]` weights) and draw the normal ones
 * from a normal truncated to ±2 standard deviations, as `jax.nn.initializers` does.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const w = nn.initializers.heNormal()(random.key(0), [256, 128]);
 * if (w.shape.join() !== "256,128") throw new Error();
 * ```
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { DType } from "../dtype.ts";
import { checkOptions } from "../options.ts";
import { checkShape } from "../shape.ts";
import { normal as randomNormal, uniform } from "../random.ts";
import { add, astype, clip, full, less, log, multiply, sqrt, subtract, where } from "../numpy.ts";

/** An initializer: a key, a shape and an optional dtype (default float32) to a Tensor. */
export type Initializer = (key: Tensor, shape: number[], dtype?: DType) => Tensor;

/** Options of the variance-scaling initializers. */
export interface FanOptions {
  /** Axis (or axes) of the input features (default -2). */
  inAxis?: number | number[];
  /** Axis (or axes) of the output features (default -1). */
  outAxis?: number | number[];
}

function fans(op: string, shape: number[], o: FanOptions): [number, number] {
  if (shape.length < 2) {
    throw new TypeError(
      `${op}: shape [${shape}] needs at least 2 dims to compute fan in and fan out`,
    );
  }
  const norm = (a: number | number[]) =>
    (Array.isArray(a) ? a : [a]).map((x) => {
      if (!Number.isInteger(x) || x < -shape.length || x >= shape.length) {
        throw new RangeError(`${op}: axis ${x} out of range for shape [${shape}]`);
      }
      return x < 0 ? x + shape.length : x;
    });
  const ins = norm(o.inAxis ?? -2), outs = norm(o.outAxis ?? -1);
  const prod = (ax: number[]) => ax.reduce((p, a) => p * shape[a], 1);
  const receptive = prod(
    shape.map((_, i) => i).filter((i) => !ins.includes(i) && !outs.includes(i)),
  );
  return [prod(ins) * receptive, prod(outs) * receptive];
}

/** √2·erfinv(u) for u in (−1, 1): Giles' single-precision approximation of erfinv. */
function erfinv(x: Tensor): Tensor {
  const w = multiply(log(multiply(subtract(1, x), add(1, x))), -1);
  const horner = (cs: number[], t: Tensor) =>
    cs.reduce((p: Tensor, c) => add(multiply(p, t), c), multiply(t, 0));
  const small = horner([
    2.81022636e-08,
    3.43273939e-07,
    -3.5233877e-06,
    -4.39150654e-06,
    0.00021858087,
    -0.00125372503,
    -0.00417768164,
    0.246640727,
    1.50140941,
  ], subtract(w, 2.5));
  const big = horner([
    -0.000200214257,
    0.000100950558,
    0.00134934322,
    -0.00367342844,
    0.00573950773,
    -0.0076224613,
    0.00943887047,
    1.00167406,
    2.83297682,
  ], subtract(sqrt(w), 3));
  return multiply(where(less(w, 5), small, big), x);
}

/** A standard normal truncated to [−2, 2] (inverse-CDF sampling, as jax.random.truncated_normal). */
function truncatedNormal(key: Tensor, shape: number[], dtype: DType): Tensor {
  const lo = -0.9544997361036416, hi = -lo; // erf(∓√2)
  const u = uniform(key, shape, { minval: lo, maxval: hi, dtype });
  return clip(multiply(erfinv(u), Math.SQRT2), -2, 2);
}

/** JAX's `variance_scaling` with `mode` and `distribution`. */
export function varianceScaling(
  scale: number,
  mode: "fanIn" | "fanOut" | "fanAvg",
  distribution: "truncatedNormal" | "normal" | "uniform",
  opts: FanOptions = {},
): Initializer {
  const op = "varianceScaling";
  const o = checkOptions(op, opts, ["inAxis", "outAxis"]);
  if (!["fanIn", "fanOut", "fanAvg"].includes(mode)) {
    throw new RangeError(`${op}: unknown mode ${mode}`);
  }
  return (key, shape, dtype = "float32") => {
    const s = checkShape(op, shape);
    const [fi, fo] = fans(op, s, o);
    const denom = mode === "fanIn" ? fi : mode === "fanOut" ? fo : (fi + fo) / 2;
    const variance = scale / Math.max(1, denom);
    if (distribution === "uniform") {
      const lim = Math.sqrt(3 * variance);
      return uniform(key, s, { minval: -lim, maxval: lim, dtype });
    }
    if (distribution === "normal") {
      return multiply(randomNormal(key, s, { dtype }), Math.sqrt(variance));
    }
    if (distribution !== "truncatedNormal") {
      throw new RangeError(`${op}: unknown distribution ${distribution}`);
    }
    // 0.8796... is the standard deviation of a standard normal truncated to [-2, 2]
    return astype(
      multiply(truncatedNormal(key, s, dtype), Math.sqrt(variance) / 0.87962566103423978),
      dtype,
    );
  };
}

/**
 * Glorot (Xavier) uniform: `U(±√(6 / (fanIn + fanOut)))`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const w = nn.initializers.glorotUniform()(random.key(1), [30, 20]);
 * if (Math.max(...w.dataSync().map(Math.abs)) > Math.sqrt(6 / 50)) throw new Error();
 * ```
 */
export function glorotUniform(opts: FanOptions = {}): Initializer {
  return varianceScaling(1, "fanAvg", "uniform", opts);
}
/**
 * Glorot (Xavier) normal: truncated normal with variance `2 / (fanIn + fanOut)`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * if (nn.initializers.glorotNormal()(random.key(1), [4, 3]).shape.join() !== "4,3") throw new Error();
 * ```
 */
export function glorotNormal(opts: FanOptions = {}): Initializer {
  return varianceScaling(1, "fanAvg", "truncatedNormal", opts);
}
/**
 * He (Kaiming) normal: truncated normal with variance `2 / fanIn`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * if (nn.initializers.heNormal()(random.key(1), [4, 3]).dtype !== "float32") throw new Error();
 * ```
 */
export function heNormal(opts: FanOptions = {}): Initializer {
  return varianceScaling(2, "fanIn", "truncatedNormal", opts);
}
/**
 * He (Kaiming) uniform: `U(±√(6 / fanIn))`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * const w = nn.initializers.heUniform()(random.key(2), [8, 5]);
 * if (Math.max(...w.dataSync().map(Math.abs)) > Math.sqrt(6 / 8)) throw new Error();
 * ```
 */
export function heUniform(opts: FanOptions = {}): Initializer {
  return varianceScaling(2, "fanIn", "uniform", opts);
}
/**
 * LeCun normal: truncated normal with variance `1 / fanIn`.
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * if (nn.initializers.lecunNormal()(random.key(1), [2, 2], "float64").dtype !== "float64") throw new Error();
 * ```
 */
export function lecunNormal(opts: FanOptions = {}): Initializer {
  return varianceScaling(1, "fanIn", "truncatedNormal", opts);
}
/**
 * Zeros (the key is ignored).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * if (nn.initializers.zeros()(random.key(0), [2]).dataSync().join() !== "0,0") throw new Error();
 * ```
 */
export function zeros(): Initializer {
  return (_key, shape, dtype = "float32") => full(checkShape("zeros", shape), 0, { dtype });
}
/**
 * Ones (the key is ignored).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * if (nn.initializers.ones()(random.key(0), [2]).dataSync().join() !== "1,1") throw new Error();
 * ```
 */
export function ones(): Initializer {
  return (_key, shape, dtype = "float32") => full(checkShape("ones", shape), 1, { dtype });
}
/**
 * Normal with standard deviation `stddev` (default 0.01, JAX's).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * if (nn.initializers.normal(1)(random.key(0), [3]).shape[0] !== 3) throw new Error();
 * ```
 */
export function normal(stddev = 0.01): Initializer {
  return (key, shape, dtype = "float32") =>
    multiply(randomNormal(key, checkShape("normal", shape), { dtype }), stddev);
}
/**
 * Uniform on `[0, scale)` (default scale 0.01, JAX's).
 *
 * @example
 * ```ts
 * import { nn, random } from "../../mod.ts";
 * if (Math.max(...nn.initializers.uniform(1)(random.key(0), [9]).dataSync()) >= 1) throw new Error();
 * ```
 */
export function uniformInit(scale = 0.01): Initializer {
  return (key, shape, dtype = "float32") =>
    uniform(key, checkShape("uniform", shape), { minval: 0, maxval: scale, dtype });
}
export { uniformInit as uniform };
