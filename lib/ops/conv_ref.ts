// Reference (loop) implementation of convGeneralDilated on row-major Float64Arrays, plus the
// flat-array kernel rearrangements used by the conv gradient rules. Obviously-correct rather
// than fast: every output element is one float64 sum in a fixed order.

import { sizeOf, stridesOf } from "../shape.ts";
import { convOutputShape, type ConvParams, dilateDim } from "./conv_params.ts";
import { type GroupMove, groupMoveShape, type LhsGradRhsTransform } from "./conv_grad_params.ts";

/** All multi-indices of `sizes` in row-major order (one empty index for zero dims). */
function multiIndices(sizes: number[]): number[][] {
  const res: number[][] = [];
  const total = sizeOf(sizes);
  const idx = new Array<number>(sizes.length).fill(0);
  for (let f = 0; f < total; f++) {
    res.push([...idx]);
    for (let a = sizes.length - 1; a >= 0; a--) {
      if (++idx[a] < sizes[a]) break;
      idx[a] = 0;
    }
  }
  return res;
}

/**
 * Computes `jax.lax.conv_general_dilated` (cross-correlation) by direct summation.
 *
 * Output `[nb, o, y]` (in the out layout) is, with `gF = floor(o / (O/G))`, `gB = floor(o / (O/B))`:
 * `sum over i in [0, I), then kernel taps k in row-major order (rhs spatial order)` of
 * `lhs[gB*(N/B) + nb, gF*I + i, x] * rhs[o, i, k]`, where per spatial dim the tap reads dilated,
 * padded position `q = y*stride + k*rhsDilation - lo` and the term exists only when
 * `0 <= q < dilateDim(X, lhsDilation)` and `q % lhsDilation == 0` (then `x = q / lhsDilation`).
 * Padding and dilation holes are skipped, so a NaN only reaches outputs whose terms read it.
 * Accumulation starts at +0 in float64.
 *
 * @param lhs Row-major input data.
 * @param lhsShape Input shape.
 * @param rhs Row-major kernel data.
 * @param rhsShape Kernel shape.
 * @param p Resolved parameters (see `resolveConvParams`).
 * @returns The output data and shape (out layout).
 * @example
 * ```ts
 * import { convGeneralDilatedRef } from "./conv_ref.ts";
 * import { resolveConvParams } from "./conv_params.ts";
 * const p = resolveConvParams([1, 1, 4], [1, 1, 2], [1], "VALID");
 * const r = convGeneralDilatedRef(new Float64Array([1, 2, 3, 4]), [1, 1, 4], new Float64Array([1, 10]), [1, 1, 2], p);
 * if (r.data.join() !== "21,32,43") throw new Error("unexpected");
 * ```
 */
export function convGeneralDilatedRef(
  lhs: Float64Array,
  lhsShape: number[],
  rhs: Float64Array,
  rhsShape: number[],
  p: ConvParams,
): { data: Float64Array; shape: number[] } {
  if (lhs.length !== sizeOf(lhsShape) || rhs.length !== sizeOf(rhsShape)) {
    throw new TypeError(
      `convGeneralDilatedRef: data lengths ${lhs.length} and ${rhs.length} do not match shapes ` +
        `${JSON.stringify(lhsShape)} and ${JSON.stringify(rhsShape)}`,
    );
  }
  const outShape = convOutputShape(lhsShape, rhsShape, p);
  const out = new Float64Array(sizeOf(outShape));
  if (out.length === 0) return { data: out, shape: outShape };

  const { lhs: ls, rhs: rs, out: os } = p.dimensionNumbers;
  const n = ls.length - 2;
  const lSt = stridesOf(lhsShape),
    rSt = stridesOf(rhsShape),
    oSt = stridesOf(outShape);
  const N = lhsShape[ls[0]], O = rhsShape[rs[0]], I = rhsShape[rs[1]];
  const G = p.featureGroupCount, B = p.batchGroupCount;
  const outN = N / B, oPerF = O / G, oPerB = O / B;
  const K = rs.slice(2).map((a) => rhsShape[a]);
  const Y = os.slice(2).map((a) => outShape[a]);
  const Xd = ls.slice(2).map((a, d) => dilateDim(lhsShape[a], p.lhsDilation[d]));

  const yIdx = multiIndices(Y), kIdx = multiIndices(K);
  const ny = yIdx.length, nk = kIdx.length;
  const yOff = yIdx.map((y) => y.reduce((acc, v, d) => acc + v * oSt[os[2 + d]], 0));
  const kOff = kIdx.map((k) => k.reduce((acc, v, d) => acc + v * rSt[rs[2 + d]], 0));
  // lOff[yc * nk + kc]: spatial offset into lhs read by output position yc and tap kc, or -1 for a hole.
  const lOff = new Float64Array(ny * nk);
  for (let yc = 0; yc < ny; yc++) {
    for (let kc = 0; kc < nk; kc++) {
      let off = 0;
      for (let d = 0; d < n && off >= 0; d++) {
        const dl = p.lhsDilation[d];
        const q = yIdx[yc][d] * p.windowStrides[d] + kIdx[kc][d] * p.rhsDilation[d] -
          p.padding[d][0];
        off = q < 0 || q >= Xd[d] || q % dl !== 0 ? -1 : off + (q / dl) * lSt[ls[2 + d]];
      }
      lOff[yc * nk + kc] = off;
    }
  }

  for (let nb = 0; nb < outN; nb++) {
    for (let o = 0; o < O; o++) {
      const gF = Math.floor(o / oPerF), gB = Math.floor(o / oPerB);
      const lBatch = (gB * outN + nb) * lSt[ls[0]];
      const oBase = nb * oSt[os[0]] + o * oSt[os[1]];
      for (let yc = 0; yc < ny; yc++) {
        let acc = 0;
        for (let i = 0; i < I; i++) {
          const lBase = lBatch + (gF * I + i) * lSt[ls[1]];
          const rBase = o * rSt[rs[0]] + i * rSt[rs[1]];
          for (let kc = 0; kc < nk; kc++) {
            const off = lOff[yc * nk + kc];
            if (off >= 0) acc += lhs[lBase + off] * rhs[rBase + kOff[kc]];
          }
        }
        out[oBase + yOff[yc]] = acc;
      }
    }
  }
  return { data: out, shape: outShape };
}

/** Fills `out[idx] = data[src(idx)]` over all row-major indices of `outShape`. */
function gather(
  data: Float64Array,
  inShape: number[],
  outShape: number[],
  srcIndex: (idx: number[], src: number[]) => void,
): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  const st = stridesOf(inShape);
  const idx = new Array<number>(outShape.length).fill(0);
  const src = new Array<number>(outShape.length).fill(0);
  for (let f = 0; f < out.length; f++) {
    srcIndex(idx, src);
    let off = 0;
    for (let a = 0; a < src.length; a++) off += src[a] * st[a];
    out[f] = data[off];
    for (let a = idx.length - 1; a >= 0; a--) {
      if (++idx[a] < outShape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

/**
 * Applies a `GroupMove` (see conv_grad_params.ts) to a row-major Float64Array:
 * `out[.., a, .., g*S[into] + j, ..] = in[.., g*(S[from]/groups) + a, .., j, ..]`.
 *
 * @param data Row-major data.
 * @param shape Its shape.
 * @param m The move.
 * @returns The rearranged data and its shape.
 * @example
 * ```ts
 * import { applyGroupMove } from "./conv_ref.ts";
 * const r = applyGroupMove(new Float64Array([0, 1, 2, 3]), [4, 1], { groups: 2, fromAxis: 0, intoAxis: 1 });
 * if (r.shape.join() !== "2,2" || r.data.join() !== "0,2,1,3") throw new Error("unexpected");
 * ```
 */
export function applyGroupMove(
  data: Float64Array,
  shape: number[],
  m: GroupMove,
): { data: Float64Array; shape: number[] } {
  const outShape = groupMoveShape(shape, m);
  const per = outShape[m.fromAxis], inner = shape[m.intoAxis];
  const res = gather(data, shape, outShape, (idx, src) => {
    for (let a = 0; a < idx.length; a++) src[a] = idx[a];
    const g = Math.floor(idx[m.intoAxis] / inner);
    src[m.intoAxis] = idx[m.intoAxis] - g * inner;
    src[m.fromAxis] = g * per + idx[m.fromAxis];
  });
  return { data: res, shape: outShape };
}

/**
 * Reverses a row-major Float64Array along the given axes.
 *
 * @param data Row-major data.
 * @param shape Its shape.
 * @param axes Axes to reverse.
 * @returns The reversed data (same shape).
 * @example
 * ```ts
 * import { reverseAxes } from "./conv_ref.ts";
 * if (reverseAxes(new Float64Array([1, 2, 3]), [3], [0]).join() !== "3,2,1") throw new Error("unexpected");
 * ```
 */
export function reverseAxes(data: Float64Array, shape: number[], axes: number[]): Float64Array {
  return gather(data, shape, shape, (idx, src) => {
    for (let a = 0; a < idx.length; a++) src[a] = idx[a];
    for (const a of axes) src[a] = shape[a] - 1 - idx[a];
  });
}

/**
 * Rearranges the forward kernel for the lhs-gradient convolution: the transform's group move
 * (if any), then reversal of its spatial axes.
 *
 * @param data Row-major kernel data.
 * @param shape Kernel shape.
 * @param t The `rhsTransform` returned by `convLhsGradParams`.
 * @returns The rearranged kernel and its shape.
 * @example
 * ```ts
 * import { applyLhsGradRhsTransform } from "./conv_ref.ts";
 * const t = { groupMove: null, reverseAxes: [2], shape: [1, 1, 3] };
 * const r = applyLhsGradRhsTransform(new Float64Array([1, 2, 3]), [1, 1, 3], t);
 * if (r.data.join() !== "3,2,1") throw new Error("unexpected");
 * ```
 */
export function applyLhsGradRhsTransform(
  data: Float64Array,
  shape: number[],
  t: LhsGradRhsTransform,
): { data: Float64Array; shape: number[] } {
  const moved = t.groupMove ? applyGroupMove(data, shape, t.groupMove) : { data, shape };
  return { data: reverseAxes(moved.data, moved.shape, t.reverseAxes), shape: moved.shape };
}
