/**
 * `conv`: JAX's conv_general_dilated as one primitive (any spatial rank, strides, explicit pads,
 * lhs/rhs dilation, any layout, feature and batch groups). Bilinear: its jvp and both transposes
 * are convolutions again (rules in conv_grad_params.ts), so derivatives of any order work. Batching
 * folds the mapped axis into N, O or the feature groups (no loop).
 * @module
 */
import { bind1 } from "../core.ts";
import { allocTyped } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, shapeEqual } from "../shape.ts";
import { type BDim, defineOp, type OpDef, UndefPrimal } from "./_define.ts";
import { moveAxis, zerosOf } from "./_util.ts";
import { reshape, rev, transpose } from "./movement.ts";
import { add } from "./elementwise.ts";
import { convGeneralDilatedRef } from "./conv_ref.ts";
import { convOutputShape, type ConvParams } from "./conv_params.ts";
import { convReduction } from "../compile/conv_kernel.ts";
import { convLhsGradParams, convRhsGradParams, type GroupMove } from "./conv_grad_params.ts";

/** `conv` primitive. */
export const convOp: OpDef<ConvParams> = defineOp({
  name: "conv",
  kind: "contraction",
  epilogue: true,
  reduction: convReduction,
  abstractEval: ([l, r], p) => {
    if (l.dtype !== r.dtype) {
      throw new TypeError(
        `convGeneralDilated: lhs dtype ${l.dtype} and rhs dtype ${r.dtype} differ`,
      );
    }
    return [{
      shape: convOutputShape(l.shape, r.shape, p),
      dtype: l.dtype,
      weak: l.weak && r.weak,
    }];
  },
  impl: ([l, r], p, [out]) => {
    const res = convGeneralDilatedRef(
      Float64Array.from(l.data),
      l.shape,
      Float64Array.from(r.data),
      r.shape,
      p,
    );
    const data = allocTyped(out.dtype, res.data.length);
    data.set(res.data);
    return [data];
  },
  jvp: ([l, r], [dl, dr], p) => [[conv(l, r, p)], [add(conv(dl, r, p), conv(l, dr, p))]],
  vmap: convBatch,
  transpose: ([ct], [l, r], p) => {
    const lShape = l.aval.shape, rShape = r.aval.shape;
    let dl: Tensor | null = null, dr: Tensor | null = null;
    if (l instanceof UndefPrimal) {
      const plan = convLhsGradParams(lShape, rShape, p);
      if (plan.isZero) dl = zerosOf(l.aval);
      else {
        let k = r as Tensor;
        if (plan.rhsTransform.groupMove) k = groupMove(k, plan.rhsTransform.groupMove);
        k = rev(k, plan.rhsTransform.reverseAxes);
        dl = conv(ct, k, plan.params);
        if (plan.outTransform.groupMove) dl = groupMove(dl, plan.outTransform.groupMove);
      }
    }
    if (r instanceof UndefPrimal) {
      const plan = convRhsGradParams(lShape, rShape, p);
      dr = plan.isZero ? zerosOf(r.aval) : conv(l as Tensor, ct, plan.params);
    }
    for (const [g, want] of [[dl, lShape], [dr, rShape]] as const) {
      if (g && !shapeEqual(g.aval.shape, want)) {
        throw new TypeError(
          `conv transpose: gradient shape ${fmtShape(g.aval.shape)} differs from operand shape ${
            fmtShape(want)
          }`,
        );
      }
    }
    return [dl, dr];
  },
});

/** Binds `conv` with resolved parameters. */
export function conv(lhs: Tensor, rhs: Tensor, p: ConvParams): Tensor {
  return bind1(convOp, [lhs, rhs], p);
}

/**
 * Moves a group factor from one axis into another: axis `fromAxis` (size G·A) is split as
 * (G, A) with G major, and G becomes the major part of axis `intoAxis`.
 */
export function groupMove(x: Tensor, m: GroupMove): Tensor {
  const s = x.aval.shape;
  const G = m.groups;
  const split = [...s.slice(0, m.fromAxis), G, s[m.fromAxis] / G, ...s.slice(m.fromAxis + 1)];
  const into = m.intoAxis > m.fromAxis ? m.intoAxis + 1 : m.intoAxis;
  const perm = [...Array(split.length).keys()].filter((i) => i !== m.fromAxis);
  perm.splice(perm.indexOf(into), 0, m.fromAxis);
  const final = [...s];
  final[m.fromAxis] = s[m.fromAxis] / G;
  final[m.intoAxis] = s[m.intoAxis] * G;
  return reshape(transpose(reshape(x, split), perm), final);
}

/** Merges a batch axis `bd` of `x` into axis `axis` (of the unbatched layout) as its minor factor
 * within `groups` blocks: the axis becomes (groups, B, size/groups) flattened. */
function foldIn(x: Tensor, bd: number, axis: number, groups: number): Tensor {
  const t = moveAxis(x, bd, 0); // [B, ...unbatched]
  const s = t.aval.shape;
  const B = s[0], n = s[axis + 1];
  // [B, ..., groups, n/groups, ...] -> move B after groups -> merge
  const split = [B, ...s.slice(1, axis + 1), groups, n / groups, ...s.slice(axis + 2)];
  const perm = [...Array(split.length).keys()].slice(1);
  perm.splice(axis + 1, 0, 0); // B right after the groups axis
  const merged = [...s.slice(1)];
  merged[axis] = n * B;
  return reshape(transpose(reshape(t, split), perm), merged);
}

/** Inverse of `foldIn` on an output axis: splits (groups, B, n/groups) and puts B at `axis`. */
function foldOut(y: Tensor, axis: number, groups: number, B: number): [Tensor, BDim] {
  const s = y.aval.shape;
  const n = s[axis] / B;
  const split = [...s.slice(0, axis), groups, B, n / groups, ...s.slice(axis + 1)];
  const perm = [...Array(split.length).keys()].filter((i) => i !== axis + 1);
  perm.splice(axis, 0, axis + 1); // B before the groups axis
  const out = [...s.slice(0, axis), B, n, ...s.slice(axis + 1)];
  return [reshape(transpose(reshape(y, split), perm), out), axis];
}

function convBatch(
  [l, r]: Tensor[],
  [bl, br]: BDim[],
  p: ConvParams,
  size: number,
): [Tensor[], BDim[]] {
  const { lhs, rhs, out } = p.dimensionNumbers;
  const G = p.featureGroupCount, Bg = p.batchGroupCount;
  if (bl !== null && br === null) {
    const lf = foldIn(l, bl, lhs[0], Bg);
    const [y, bd] = foldOut(conv(lf, r, p), out[0], 1, size);
    return [[y], [bd]];
  }
  if (bl === null && br !== null) {
    const groups = Math.max(G, Bg);
    const rf = foldIn(r, br, rhs[0], groups);
    const [y, bd] = foldOut(conv(l, rf, p), out[1], groups, size);
    return [[y], [bd]];
  }
  // both batched: the batch becomes the major factor of the feature groups (or batch groups)
  const lf = foldIn(l, bl!, Bg === 1 ? lhs[1] : lhs[0], 1);
  const rf = foldIn(r, br!, rhs[0], 1);
  const q: ConvParams = Bg === 1
    ? { ...p, featureGroupCount: G * size }
    : { ...p, batchGroupCount: Bg * size };
  const [y, bd] = foldOut(conv(lf, rf, q), out[1], 1, size);
  return [[y], [bd]];
}
