/**
 * `random`: JAX-style explicit keys. `key(seed)`, `split(key, n)`, then draws that depend only on
 * the key: the same key gives the same numbers on every backend and runtime.
 * @module
 */
import { bind1, fromHost } from "./core.ts";
import type { DType } from "./dtype.ts";
import type { Tensor } from "./tensor.ts";
import { checkShape } from "./shape.ts";
import { randomOp } from "./ops/random.ts";
import { keyFromSeed } from "./prng.ts";
import * as np from "./numpy.ts";
import { reshape, slice } from "./ops/movement.ts";
import { checkOptions } from "./options.ts";

/**
 * A key from an integer seed (an int32 array of shape [2]).
 *
 * @example Reproducible draws
 * ```ts
 * import { random } from "../mod.ts";
 * const a = random.normal(random.key(0), [3]).dataSync();
 * const b = random.normal(random.key(0), [3]).dataSync();
 * if (a.join() !== b.join()) throw new Error("random");
 * ```
 */
export function key(seed: number): Tensor {
  if (!Number.isInteger(seed)) {
    throw new TypeError(`random.key: seed must be an integer, got ${seed}`);
  }
  return fromHost(new Int32Array(keyFromSeed(seed).buffer), [2], "int32");
}

/** `n` new keys from one, as an array of shape [n, 2] (index or `unstack` it). */
export function split(k: Tensor, n = 2): Tensor {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`random.split: n must be a positive integer, got ${n}`);
  }
  return reshape(bind1(randomOp, [k], { dist: "split", shape: [2 * n], dtype: "int32" }), [n, 2]);
}

/** The `n` keys of `split(k, n)` as a list. */
export function splitList(k: Tensor, n = 2): Tensor[] {
  const s = split(k, n);
  return [...Array(n).keys()].map((i) => reshape(slice(s, [i, 0], [i + 1, 2]), [2]));
}

/** A key derived from `k` and an integer. */
export function foldIn(k: Tensor, data: number): Tensor {
  if (!Number.isSafeInteger(data)) {
    throw new RangeError(`random.foldIn: data must be a safe integer, got ${data}`);
  }
  const d = data - Math.floor(data / 2 ** 32) * 2 ** 32;
  return bind1(randomOp, [k], { dist: "foldIn", shape: [2], dtype: "int32", data: d });
}

/** Options of the float draws. */
export interface DrawOptions {
  /** Element type (float32 by default). */
  dtype?: DType;
}

/** Uniform samples in [minval, maxval). */
export function uniform(
  k: Tensor,
  shape: number[] = [],
  opts: DrawOptions & { minval?: number; maxval?: number } = {},
): Tensor {
  opts = checkOptions("random.uniform", opts, ["dtype", "minval", "maxval"]);
  const s = checkShape("random.uniform", shape);
  const low = opts.minval ?? 0, high = opts.maxval ?? 1;
  return bind1(randomOp, [k], {
    dist: "uniform",
    shape: s,
    dtype: opts.dtype ?? "float32",
    low,
    high,
  });
}

/** Standard normal samples. */
export function normal(k: Tensor, shape: number[] = [], opts: DrawOptions = {}): Tensor {
  opts = checkOptions("random.normal", opts, ["dtype"]);
  const s = checkShape("random.normal", shape);
  return bind1(randomOp, [k], { dist: "normal", shape: s, dtype: opts.dtype ?? "float32" });
}

/** Booleans that are true with probability `p`. */
export function bernoulli(k: Tensor, p = 0.5, shape: number[] = []): Tensor {
  return np.less(uniform(k, shape), p);
}

/** Integers in [minval, maxval). */
export function randint(k: Tensor, shape: number[], minval: number, maxval: number): Tensor {
  return np.astype(np.floor(uniform(k, shape, { minval, maxval, dtype: "float64" })), "int32");
}
