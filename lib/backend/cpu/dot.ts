/**
 * `dotGeneral` on the CPU: one loop nest over precomputed offset tables, summing in float64 in the
 * reference's order (bit-identical) and allocating nothing per element (the reference's loop boxes
 * its sums in some V8 tiers; that garbage grew the process's memory over long training runs).
 * @module
 */
import { allocTyped, type TypedArray } from "../../dtype.ts";
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { DotParams } from "../../ops/dot.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import { PlanCache } from "./kernel_support.ts";

/** Element offsets of one operand's axis groups, in row-major order of each group. */
export interface DotPlan {
  batchA: Int32Array;
  batchB: Int32Array;
  freeA: Int32Array;
  freeB: Int32Array;
  contractA: Int32Array;
  contractB: Int32Array;
}

/** Offsets of every position of the sub-grid `axes` of `shape` (row-major over `axes`). */
function offsetsOf(shape: number[], axes: number[]): Int32Array {
  const strides = stridesOf(shape);
  const dims = axes.map((a) => shape[a]), st = axes.map((a) => strides[a]);
  const n = sizeOf(dims), out = new Int32Array(n), ix = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let d = 0; d < dims.length; d++) off += ix[d] * st[d];
    out[i] = off;
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++ix[d] < dims[d]) break;
      ix[d] = 0;
    }
  }
  return out;
}

function freeAxes(ndim: number, p: DotParams, side: 0 | 1): number[] {
  return [...Array(ndim).keys()].filter((i) =>
    !p.contract[side].includes(i) && !p.batch[side].includes(i)
  );
}

const plans = new PlanCache<DotParams, DotPlan>();

/** @internal The offset tables of a dotGeneral (cached by params object, then by text). */
export function dotPlanFor(a: number[], b: number[], p: DotParams): DotPlan {
  return plans.get(p, `${a}|${b}`, () => ({
    batchA: offsetsOf(a, p.batch[0]),
    batchB: offsetsOf(b, p.batch[1]),
    freeA: offsetsOf(a, freeAxes(a.length, p, 0)),
    freeB: offsetsOf(b, freeAxes(b.length, p, 1)),
    contractA: offsetsOf(a, p.contract[0]),
    contractB: offsetsOf(b, p.contract[1]),
  }));
}

/** Row of partial sums, reused between calls (grown on demand). */
let acc = new Float64Array(256);

/**
 * `dotGeneral` of two host arrays (the op's params and output aval), bit-identical to the
 * reference implementation: each output is `0 + a·b + a·b + …` in float64 over the contracted
 * positions in row-major order, rounded once on store. Shapes are trusted (checked at bind).
 * `into`, when given, receives the result (an array of `out`'s dtype and size; every element is
 * written) and is returned instead of a fresh array.
 *
 * @example A 2×2 matrix product
 * ```ts
 * import { dotGeneralHost } from "./dot.ts";
 * const a = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], dtype: "float32" as const };
 * const out = { shape: [2, 2], dtype: "float32" as const, weak: false };
 * const y = dotGeneralHost(a, a, { contract: [[1], [0]], batch: [[], []] }, out);
 * if (y.join() !== "7,10,15,22") throw new Error(`dotGeneralHost: ${y.join()}`);
 * ```
 */
export function dotGeneralHost(
  lhs: HostArray,
  rhs: HostArray,
  p: DotParams,
  out: Aval,
  into?: TypedArray,
): TypedArray {
  const res = into ?? allocTyped(out.dtype, sizeOf(out.shape));
  if (res.length === 0) return res;
  const q = dotPlanFor(lhs.shape, rhs.shape, p);
  const A = lhs.data, B = rhs.data;
  const { batchA, batchB, freeA, freeB, contractA, contractB } = q;
  const nBatch = batchA.length, M = freeA.length, N = freeB.length, K = contractA.length;
  if (acc.length < N) acc = new Float64Array(Math.max(N, 2 * acc.length));
  const s = acc;
  let o = 0;
  for (let bt = 0; bt < nBatch; bt++) {
    const baseA = batchA[bt], baseB = batchB[bt];
    for (let i = 0; i < M; i++) {
      const rowA = baseA + freeA[i];
      for (let j = 0; j < N; j++) s[j] = 0;
      // c outermost keeps each output's sum in the reference's order (c ascending)
      for (let c = 0; c < K; c++) {
        const av = A[rowA + contractA[c]], rowB = baseB + contractB[c];
        for (let j = 0; j < N; j++) s[j] += av * B[rowB + freeB[j]];
      }
      for (let j = 0; j < N; j++) res[o++] = s[j];
    }
  }
  return res;
}
