// ONNX forms of lax.gather (GatherND, with batch_dims for operand batching axes) and scatterAdd
// (ScatterND, reduction "add"), for every dimension-number layout whose indexed axes have slice
// size 1 (np.take, x[idx], embedding lookups and their gradients); clip and fill modes.
import type { Eqn } from "../ir.ts";
import type { Aval } from "../ops/_define.ts";
import type { GatherParams, ScatterParams } from "../ops/gather_params.ts";
import { defaultFill } from "../ops/gather_params.ts";
import type { GraphBuilder } from "./graph.ts";
import { ONNX_DTYPE } from "./proto.ts";

type Rule = (g: GraphBuilder, ins: string[], e: Eqn) => string[];
const range = (n: number) => [...Array(n).keys()];
const inverse = (perm: number[]) => {
  const inv = new Array<number>(perm.length);
  perm.forEach((d, i) => (inv[d] = i));
  return inv;
};
const transpose = (g: GraphBuilder, x: string, perm: number[]) =>
  perm.every((d, i) => d === i) ? x : g.op("Transpose", [x], { perm });

/** The shared geometry of a gather or scatter, in GatherND / ScatterND terms. */
interface Plan {
  /** Operand axes: batching, indexed (start map order), then the rest ascending. */
  opPerm: number[];
  /** The rest: operand axes that are neither batching nor indexed. */
  rest: number[];
  /** Indices axes (without the index vector): batching ones first, then the others. */
  idxPerm: number[];
}

function plan(
  name: string,
  opShape: number[],
  idxRank: number,
  sizes: number[],
  startMap: number[],
  opBatch: number[],
  idxBatch: number[],
): Plan {
  if (startMap.some((d) => sizes[d] !== 1)) {
    throw new TypeError(
      `exportOnnx: ${name} with slice sizes [${sizes}] has no ONNX form (indexed axes ` +
        `[${startMap}] must have slice size 1)`,
    );
  }
  const rest = range(opShape.length).filter((d) => !opBatch.includes(d) && !startMap.includes(d));
  const others = range(idxRank - 1).filter((d) => !idxBatch.includes(d));
  return { opPerm: [...opBatch, ...startMap, ...rest], rest, idxPerm: [...idxBatch, ...others] };
}

/**
 * The int64 index vectors for `opShape[startMap]`, clamped into range, and (in fill mode) a bool
 * mask of shape `idxShape[:-1]` that is true where every entry was in range.
 */
function indexVectors(
  g: GraphBuilder,
  idx: string,
  opShape: number[],
  startMap: number[],
  fill: boolean,
): [string, string | null] {
  const i64 = g.op("Cast", [idx], { to: 7 });
  const hi = g.i64(startMap.map((d) => opShape[d] - 1)), lo = g.i64(startMap.map(() => 0));
  const clamped = g.op("Min", [g.op("Max", [i64, lo]), hi]);
  if (!fill || startMap.length === 0) return [clamped, null];
  const ok = g.op("Cast", [g.op("Equal", [i64, clamped])], { to: 6 });
  const all = g.op("ReduceMin", [ok], { axes: [-1], keepdims: 0 });
  return [clamped, g.op("Cast", [all], { to: 9 })];
}

/** A constant of `dtype` holding `value` (via a Cast of a float64 scalar). */
function constant(g: GraphBuilder, value: number, dtype: string): string {
  return g.op("Cast", [g.scalar(value, "float64")], { to: ONNX_DTYPE[dtype] });
}

/** `gather` as Slice (the rest axes' slice sizes), GatherND, then a reshape + transpose. */
export const gatherRule: Rule = (g, [x, idx], e) => {
  const p = e.params as GatherParams, dn = p.dimensionNumbers;
  const xa: Aval = e.inputs[0].aval, ia: Aval = e.inputs[1].aval, oa: Aval = e.outs[0].aval;
  const pl = plan(
    "gather",
    xa.shape,
    ia.shape.length,
    p.sliceSizes,
    dn.startIndexMap,
    dn.operandBatchingDims,
    dn.startIndicesBatchingDims,
  );
  const sliced = pl.rest.filter((d) => p.sliceSizes[d] !== xa.shape[d]);
  if (sliced.length) {
    const ends = sliced.map((d) => p.sliceSizes[d]);
    x = g.op("Slice", [x, g.i64(sliced.map(() => 0)), g.i64(ends), g.i64(sliced)]);
  }
  const [iv, mask] = indexVectors(g, idx, xa.shape, dn.startIndexMap, p.mode === "fill");
  const last = ia.shape.length - 1;
  const got = g.op("GatherND", [
    transpose(g, x, pl.opPerm),
    transpose(g, iv, [...pl.idxPerm, last]),
  ], { batch_dims: dn.operandBatchingDims.length });
  // got: [indices axes in idxPerm order..., rest axes (their slice sizes)]; the output puts the
  // indices axes (in order) at its batch positions and the window axes at offsetDims
  const windowAxes = range(xa.shape.length).filter((d) =>
    !dn.collapsedSliceDims.includes(d) && !dn.operandBatchingDims.includes(d)
  );
  const nb = pl.idxPerm.length;
  const order: number[] = []; // axes of `got` in output order (size-1 indexed windows skipped)
  let b = 0;
  for (let o = 0; o < oa.shape.length; o++) {
    const w = dn.offsetDims.indexOf(o);
    if (w < 0) order.push(pl.idxPerm.indexOf(b++));
    else if (pl.rest.includes(windowAxes[w])) order.push(nb + pl.rest.indexOf(windowAxes[w]));
  }
  const keep = pl.rest.filter((d) => windowAxes.includes(d));
  const dropped = pl.rest.filter((d) => !windowAxes.includes(d)); // collapsed, size 1
  let y = got;
  if (dropped.length) {
    const kept = [...pl.idxPerm.map((d) => ia.shape[d]), ...keep.map((d) => p.sliceSizes[d])];
    y = g.reshape(y, kept);
    order.forEach((a, i) => (order[i] = a < nb ? a : nb + keep.indexOf(pl.rest[a - nb])));
  }
  y = g.reshape(transpose(g, y, order), oa.shape);
  if (!mask) return [y];
  const maskShape = oa.shape.map((n, o) => (dn.offsetDims.includes(o) ? 1 : n));
  const fill = constant(g, defaultFill(oa.dtype as never, p.fillValue), oa.dtype);
  return [g.op("Where", [g.reshape(mask, maskShape), y, fill])];
};

/** `scatterAdd` as ScatterND (reduction "add") into the transposed operand. */
export const scatterAddRule: Rule = (g, [x, idx, u], e) => {
  const p = e.params as ScatterParams, dn = p.dimensionNumbers;
  const [xa, ia, ua]: Aval[] = e.inputs.map((v) => v.aval);
  if (dn.operandBatchingDims.length) {
    throw new TypeError(`exportOnnx: scatterAdd with operand batching dims has no ONNX form`);
  }
  const windowAxes = range(xa.shape.length).filter((d) => !dn.insertedWindowDims.includes(d));
  const sizes = xa.shape.map((_, d) => {
    const w = windowAxes.indexOf(d);
    return w < 0 ? 1 : ua.shape[dn.updateWindowDims[w]];
  });
  const pl = plan(
    "scatterAdd",
    xa.shape,
    ia.shape.length,
    sizes,
    dn.scatterDimsToOperandDims,
    [],
    [],
  );
  const [iv, mask] = indexVectors(g, idx, xa.shape, dn.scatterDimsToOperandDims, p.mode === "fill");
  // updates -> [scatter axes (indices order)..., rest axes ascending (window sizes)]
  const scatterAxes = range(ua.shape.length).filter((a) => !dn.updateWindowDims.includes(a));
  const restPos = pl.rest.filter((d) => windowAxes.includes(d))
    .map((d) => dn.updateWindowDims[windowAxes.indexOf(d)]);
  let upd = g.reshape(
    transpose(g, u, [
      ...scatterAxes,
      ...restPos,
      ...dn.updateWindowDims.filter((a) => !restPos.includes(a)),
    ]),
    [...ia.shape.slice(0, -1), ...pl.rest.map((d) => sizes[d])],
  );
  const nb = ia.shape.length - 1;
  if (mask) {
    const m = g.reshape(mask, [...ia.shape.slice(0, -1), ...pl.rest.map(() => 1)]);
    upd = g.op("Where", [m, upd, constant(g, 0, ua.dtype)]);
  }
  const short = pl.rest.map((d) => xa.shape[d] - sizes[d]);
  if (short.some((s) => s > 0)) {
    const pads = [
      ...range(nb).map(() => 0),
      ...pl.rest.map(() => 0),
      ...range(nb).map(() => 0),
      ...short,
    ];
    upd = g.op("Pad", [upd, g.i64(pads), constant(g, 0, ua.dtype)], { mode: "constant" });
  }
  const data = transpose(g, x, pl.opPerm);
  const out = g.op("ScatterND", [data, iv, upd], { reduction: "add" });
  return [transpose(g, out, inverse(pl.opPerm))];
};
