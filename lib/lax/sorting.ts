// jax.lax sort / top_k / associative_scan front ends over the sort primitive and the
// associative-scan core (lib/ops/assoc_scan.ts).

import { Tensor } from "../tensor.ts";
import type { ArrayLike } from "../tensor.ts";
import { asTensor } from "../numpy/_convert.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import { iotaAlong, sortN } from "../ops/sort.ts";
import { associativeScanFlat } from "../ops/assoc_scan.ts";
import { treeFlatten, treeUnflatten } from "../tree.ts";
import { fmtShape, normAxis } from "../shape.ts";
import { checkOptions } from "../options.ts";
import { fromHost } from "../core.ts";

/** Options of {@link sort}. */
export interface LaxSortOptions {
  /** Axis to sort along (default -1). */
  dimension?: number;
  /** Accepted for JAX compatibility: the sort is always stable. */
  isStable?: boolean;
  /** How many leading operands are keys, compared lexicographically (default 1). */
  numKeys?: number;
}

/**
 * `jax.lax.sort`: sorts one operand, or several along the same axis by the first `numKeys` of
 * them (lexicographically; NaN last; stable). Returns the same structure it was given.
 *
 * @param operand A Tensor or an array of equally shaped Tensors.
 * @param opts `dimension`, `numKeys`.
 * @returns The sorted operand(s).
 * @example Sort values by a key
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const [k, v] = lax.sort([np.array([3, 1, 2]), np.array([30, 10, 20])]) as np.Tensor[];
 * assert.deepEqual(Array.from(k.dataSync()), [1, 2, 3]);
 * assert.deepEqual(Array.from(v.dataSync()), [10, 20, 30]);
 * ```
 */
export function sort(operand: ArrayLike | ArrayLike[], opts?: LaxSortOptions): Tensor | Tensor[] {
  const o = checkOptions("lax.sort", opts, ["dimension", "isStable", "numKeys"]);
  const many = Array.isArray(operand) && operand.every((x) => x instanceof Tensor);
  const xs = many ? operand as Tensor[] : [asTensor(operand, "lax.sort")];
  if (xs.length === 0) throw new TypeError("lax.sort: no operands");
  const dim = normAxis("lax.sort", o.dimension ?? -1, xs[0].ndim, "dimension");
  const ys = sortN(xs, { dimension: dim, numKeys: o.numKeys ?? 1 });
  return many ? ys : ys[0];
}

/**
 * `jax.lax.top_k`: the `k` largest entries along the last axis, largest first (ties: lower
 * index first), and their int32 indices.
 *
 * @param x The array (at least 1-d).
 * @param k How many (0 <= k <= the last axis' size).
 * @returns `[values, indices]`.
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const [v, i] = lax.topK(np.array([1, 5, 3, 5]), 2);
 * assert.deepEqual(Array.from(v.dataSync()), [5, 5]);
 * assert.deepEqual(Array.from(i.dataSync()), [1, 3]);
 * ```
 */
export function topK(x: ArrayLike, k: number): [Tensor, Tensor] {
  const t = asTensor(x, "topK");
  const ax = t.ndim - 1;
  const n = t.shape[ax];
  if (t.ndim === 0) throw new TypeError("topK: x must be at least 1-d");
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new RangeError(
      `topK: k ${k} must be an integer in [0, ${n}] (shape ${fmtShape(t.shape)})`,
    );
  }
  // stable descending: sort the reversed row, then read it backwards
  const [vals, p] = sortN([mv.rev(t, [ax]), iotaAlong(t.shape, ax)], { dimension: ax, numKeys: 1 });
  const last = mv.broadcastInDim(fromHost(Int32Array.of(n - 1), [], "int32"), t.shape, []);
  const idx = mv.rev(ew.sub(last, p), [ax]);
  const head = (y: Tensor) =>
    mv.slice(y, y.shape.map(() => 0), y.shape.map((d, i) => (i === ax ? k : d)));
  return [head(mv.rev(vals, [ax])), head(idx)];
}

/** Options of {@link associativeScan}. */
export interface AssociativeScanOptions {
  /** Scan from the end (JAX: `[..., fn(fn(z, y), x), fn(z, y), z]` for elements x, y, z). */
  reverse?: boolean;
  /** The scanned axis (default 0). */
  axis?: number;
}

/**
 * `jax.lax.associative_scan`: the inclusive scan of `elems` (a Tensor or a pytree of equally
 * long Tensors) with an associative `fn(a, b)` of the same structure, in O(log n) parallel
 * steps. Differentiable, batchable and jittable like any composition of primitives.
 *
 * @param fn Associative combine of two partial results (same pytree structure as `elems`).
 * @param elems The sequence(s) to scan along `axis`.
 * @param opts `reverse`, `axis`.
 * @returns The running combinations, with `elems`' structure.
 * @example A running sum and a running product at once
 * ```ts
 * import { lax, np, type Tensor } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const [s, p] = lax.associativeScan(
 *   ([a, b]: Tensor[], [c, d]: Tensor[]) => [a.add(c), b.mul(d)],
 *   [np.array([1, 2, 3, 4]), np.array([1, 2, 3, 4])],
 * ) as Tensor[];
 * assert.deepEqual(Array.from(s.dataSync()), [1, 3, 6, 10]);
 * assert.deepEqual(Array.from(p.dataSync()), [1, 2, 6, 24]);
 * ```
 */
export function associativeScan<T>(
  // deno-lint-ignore no-explicit-any -- fn receives and returns the user's pytree structure
  fn: (a: any, b: any) => unknown,
  elems: T,
  opts?: AssociativeScanOptions,
): T {
  const o = checkOptions("associativeScan", opts, ["reverse", "axis"]);
  const [leaves, def] = treeFlatten(elems, (x): x is Tensor => x instanceof Tensor);
  const xs = leaves.map((l) => asTensor(l, "associativeScan"));
  if (xs.length === 0) throw new TypeError("associativeScan: elems has no arrays");
  const ax = normAxis("associativeScan", o.axis ?? 0, xs[0].ndim);
  const n = xs[0].shape[ax];
  if (xs.some((x) => x.ndim <= ax || x.shape[ax] !== n)) {
    throw new TypeError(
      `associativeScan: every array needs axis ${ax} of size ${n}, got ${
        xs.map((x) => fmtShape(x.shape)).join(", ")
      }`,
    );
  }
  const flatFn = (a: Tensor[], b: Tensor[]) => {
    const r = fn(treeUnflatten(def, a), treeUnflatten(def, b));
    const [out] = treeFlatten(r, (x): x is Tensor => x instanceof Tensor);
    if (out.length !== a.length) {
      throw new TypeError(`associativeScan: fn must return ${a.length} arrays, got ${out.length}`);
    }
    return out.map((l) => asTensor(l, "associativeScan"));
  };
  // reverse: JAX scans the flipped sequence with fn(earlier, later) there, i.e. fn(acc, x) where
  // acc combines the elements after x (associativeScanFlat's reverse calls fn(x, acc))
  const rev = o.reverse ?? false;
  const userFn = rev ? (a: Tensor[], b: Tensor[]) => flatFn(b, a) : flatFn;
  return treeUnflatten(def, associativeScanFlat(userFn, xs, ax, rev)) as T;
}
