/**
 * The `random` primitive: counter-based Threefry-2x32 draws from an explicit key (int32[2] holding
 * the two uint32 words). Same key, same numbers on every backend and runtime.
 * @module
 */
import { bind1 } from "../core.ts";
import { allocTyped, type DType } from "../dtype.ts";
import { sizeOf } from "../shape.ts";
import { defineOp, type OpDef } from "./_define.ts";
import { zerosOf } from "./_util.ts";
import { concatenate, reshape, slice } from "./movement.ts";
import { foldIn, normalFromBits, randomBits, splitKey, uniformFromBits } from "../prng.ts";

/** What to draw. */
export interface RandomParams {
  dist: "split" | "uniform" | "normal" | "bits" | "foldIn";
  shape: number[];
  dtype: DType;
  /** The integer mixed into the key by `foldIn` (taken mod 2^32). */
  data?: number;
  /** Bounds of uniform draws (default [0, 1)). */
  low?: number;
  high?: number;
}

/** `random` primitive. */
export const randomOp: OpDef<RandomParams> = defineOp({
  name: "random",
  kind: "random",
  abstractEval: ([k], p) => {
    if (k.shape.length !== 1 || k.shape[0] !== 2 || k.dtype !== "int32") {
      throw new TypeError(
        `random: key must be an int32 array of shape [2] (from random.key), got ${k.dtype}[${k.shape}]`,
      );
    }
    return [{ shape: [...p.shape], dtype: p.dtype, weak: false }];
  },
  impl: ([k], p, [out]) => {
    const key = new Uint32Array(Int32Array.from(k.data).buffer);
    const n = sizeOf(out.shape);
    if (p.dist === "split") return [new Int32Array(splitKey(key, p.shape[0] / 2).buffer)];
    if (p.dist === "foldIn") return [new Int32Array(foldIn(key, p.data ?? 0).buffer)];
    if (p.dist === "bits") return [new Int32Array(randomBits(key, n).buffer)];
    const res = allocTyped(out.dtype, n) as Float32Array | Float64Array;
    const bits = randomBits(key, out.dtype === "float64" ? 2 * n : n);
    return [
      p.dist === "uniform"
        ? uniformFromBits(bits, res, p.low ?? 0, p.high ?? 1)
        : normalFromBits(bits, res),
    ];
  },
  jvp: ([k], _t, p) => {
    const out = bind1(randomOp, [k], p);
    return [[out], [zerosOf(out)]];
  },
  vmap: ([k], [bd], p, size) => {
    // NOTE: one draw per key; batching is a loop over the (small) key axis.
    const rows = [...Array(size).keys()].map((i) => {
      const start = k.aval.shape.map((_, d) => (d === bd ? i : 0));
      const limit = k.aval.shape.map((n, d) => (d === bd ? i + 1 : n));
      const key = reshape(slice(k, start, limit), [2]);
      return reshape(bind1(randomOp, [key], p), [1, ...p.shape]);
    });
    return [[concatenate(rows, 0)], [0]];
  },
});
