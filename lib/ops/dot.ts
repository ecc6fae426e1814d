/**
 * `dotGeneral`: contraction over paired axes with paired batch axes (JAX's dot_general).
 * Output axes: batch (in lhs batch order), lhs free, rhs free. Bilinear: jvp and transpose are
 * dotGenerals again, so derivatives of any order work.
 * @module
 */
import { bind1 } from "../core.ts";
import { allocTyped } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, sizeOf, stridesOf } from "../shape.ts";
import { defineOp, type OpDef, UndefPrimal } from "./_define.ts";
import { moveAxis } from "./_util.ts";
import { transpose } from "./movement.ts";
import { add } from "./elementwise.ts";

/** Dimension numbers of a dotGeneral. */
export interface DotParams {
  contract: [number[], number[]];
  batch: [number[], number[]];
}

function freeAxes(ndim: number, p: DotParams, side: 0 | 1): number[] {
  return [...Array(ndim).keys()].filter((i) =>
    !p.contract[side].includes(i) && !p.batch[side].includes(i)
  );
}

/** `dotGeneral` primitive. */
export const dotGeneralOp: OpDef<DotParams> = defineOp({
  name: "dotGeneral",
  kind: "contraction",
  epilogue: true,
  abstractEval: ([a, b], p) => {
    const [lc, rc] = p.contract;
    const [lb, rb] = p.batch;
    const pairsOk = (l: number[], r: number[]) =>
      l.length === r.length &&
      l.every((x, i) =>
        a.shape[x] === b.shape[r[i]] && x >= 0 && x < a.shape.length && r[i] >= 0 &&
        r[i] < b.shape.length
      );
    if (!pairsOk(lc, rc) || !pairsOk(lb, rb)) {
      throw new TypeError(
        `dotGeneral: contracting ${JSON.stringify(p.contract)} / batch ${
          JSON.stringify(p.batch)
        } dims do not match shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
      );
    }
    if (a.dtype !== b.dtype) {
      throw new TypeError(`dotGeneral: operand dtypes differ: ${a.dtype} and ${b.dtype}`);
    }
    const shape = [
      ...lb.map((i) => a.shape[i]),
      ...freeAxes(a.shape.length, p, 0).map((i) => a.shape[i]),
      ...freeAxes(b.shape.length, p, 1).map((i) => b.shape[i]),
    ];
    return [{ shape, dtype: a.dtype, weak: a.weak && b.weak }];
  },
  impl: ([a, b], p, [out]) => {
    const res = allocTyped(out.dtype, sizeOf(out.shape));
    const sa = stridesOf(a.shape), sb = stridesOf(b.shape);
    const [lc, rc] = p.contract;
    const [lb, rb] = p.batch;
    const lf = freeAxes(a.shape.length, p, 0), rf = freeAxes(b.shape.length, p, 1);
    const cShape = lc.map((i) => a.shape[i]);
    const nC = sizeOf(cShape);
    const cOffA = new Array<number>(nC), cOffB = new Array<number>(nC);
    const ci = new Array<number>(lc.length).fill(0);
    for (let c = 0; c < nC; c++) {
      cOffA[c] = ci.reduce((s, v, k) => s + v * sa[lc[k]], 0);
      cOffB[c] = ci.reduce((s, v, k) => s + v * sb[rc[k]], 0);
      for (let k = ci.length - 1; k >= 0; k--) {
        if (++ci[k] < cShape[k]) break;
        ci[k] = 0;
      }
    }
    const oi = new Array<number>(out.shape.length).fill(0);
    for (let o = 0; o < res.length; o++) {
      let offA = 0, offB = 0, k = 0;
      for (let j = 0; j < lb.length; j++, k++) {
        offA += oi[k] * sa[lb[j]];
        offB += oi[k] * sb[rb[j]];
      }
      for (const ax of lf) offA += oi[k++] * sa[ax];
      for (const ax of rf) offB += oi[k++] * sb[ax];
      let acc = 0;
      for (let c = 0; c < nC; c++) acc += a.data[offA + cOffA[c]] * b.data[offB + cOffB[c]];
      res[o] = acc;
      for (let d = oi.length - 1; d >= 0; d--) {
        if (++oi[d] < out.shape[d]) break;
        oi[d] = 0;
      }
    }
    return [res];
  },
  jvp: (
    [a, b],
    [da, db],
    p,
  ) => [[dotGeneral(a, b, p)], [add(dotGeneral(da, b, p), dotGeneral(a, db, p))]],
  vmap: ([a, b], [ba, bb], p) => {
    const sh = (axes: number[]) => axes.map((x) => x + 1);
    if (ba !== null && bb !== null) {
      const q: DotParams = {
        contract: [sh(p.contract[0]), sh(p.contract[1])],
        batch: [[0, ...sh(p.batch[0])], [0, ...sh(p.batch[1])]],
      };
      return [[dotGeneral(moveAxis(a, ba, 0), moveAxis(b, bb, 0), q)], [0]];
    }
    if (ba !== null) {
      const q: DotParams = {
        contract: [sh(p.contract[0]), p.contract[1]],
        batch: [sh(p.batch[0]), p.batch[1]],
      };
      return [[dotGeneral(moveAxis(a, ba, 0), b, q)], [p.batch[0].length]];
    }
    const q: DotParams = {
      contract: [p.contract[0], sh(p.contract[1])],
      batch: [p.batch[0], sh(p.batch[1])],
    };
    const nLf = freeAxes(a.aval.shape.length, p, 0).length;
    return [[dotGeneral(a, moveAxis(b, bb!, 0), q)], [p.batch[0].length + nLf]];
  },
  transpose: ([ct], [a, b], p) => [
    a instanceof UndefPrimal ? dotTransposeSide(ct, b as Tensor, a.aval.shape.length, p, 0) : null,
    b instanceof UndefPrimal ? dotTransposeSide(ct, a as Tensor, b.aval.shape.length, p, 1) : null,
  ],
});

/**
 * Cotangent of one operand: contract ct's other-side free axes with the other operand's free axes,
 * batch over the batch axes, then permute the result back to the operand's layout. The rhs's
 * cotangent is computed as other·ct (its contracting axes before its free ones), so that of a
 * plain matrix product needs no permutation (no transpose kernel after the product).
 */
function dotTransposeSide(
  ct: Tensor,
  other: Tensor,
  ndim: number,
  p: DotParams,
  side: 0 | 1,
): Tensor {
  const o = 1 - side as 0 | 1;
  const nb = p.batch[0].length;
  const myFree = freeAxes(ndim, p, side);
  const otherFree = freeAxes(other.aval.shape.length, p, o);
  const ctOtherFree = otherFree.map((_, i) => nb + (side === 0 ? myFree.length : 0) + i);
  const ctBatch = [...Array(nb).keys()];
  const res = side === 0
    ? dotGeneral(ct, other, { contract: [ctOtherFree, otherFree], batch: [ctBatch, p.batch[o]] })
    : dotGeneral(other, ct, { contract: [otherFree, ctOtherFree], batch: [p.batch[o], ctBatch] });
  // result axes: batch, then my free (in order) and other's contracting axes sorted ascending,
  // the free axes first for the lhs, last for the rhs
  const otherC = p.contract[o];
  const sortedOtherC = [...otherC].sort((x, y) => x - y);
  const [freeAt, contractAt] = side === 0 ? [nb, nb + myFree.length] : [nb + otherC.length, nb];
  const pos = new Array<number>(ndim);
  p.batch[side].forEach((ax, i) => (pos[ax] = i));
  myFree.forEach((ax, i) => (pos[ax] = freeAt + i));
  p.contract[side].forEach((ax, k) => (pos[ax] = contractAt + sortedOtherC.indexOf(otherC[k])));
  return pos.every((v, i) => v === i) ? res : transpose(res, pos);
}

/** Binds `dotGeneral`. */
export function dotGeneral(a: Tensor, b: Tensor, p: DotParams): Tensor {
  return bind1(dotGeneralOp, [a, b], p);
}
