/**
 * CPU kernels of the indexing primitives (sort is in sort.ts): `gather` / `scatterAdd` of long
 * contiguous runs (row takes like `E[i]`, their gradients) as one block copy / add per index.
 * @module
 */
import { allocTyped, type TypedArray } from "../../dtype.ts";
import type { Aval, HostArray } from "../../ops/_define.ts";
import {
  gatherGeometry,
  type GatherParams,
  type IndexGeometry,
  scatterGeometry,
  type ScatterParams,
} from "../../ops/gather_params.ts";
import { sizeOf } from "../../shape.ts";

/**
 * The contiguous-run form of a gather / scatter: each index vector addresses one block of
 * `run` consecutive operand elements, and the output / updates hold those blocks in order.
 */
function runForm(g: IndexGeometry, mode: string): { run: number; axis: number } | null {
  if (g.startMap.length !== 1 || g.opBatch.length || mode !== "clip" && mode !== "fill") {
    return null;
  }
  const d = g.startMap[0];
  // window = the full trailing axes after d, slice size 1 at d and before it
  if (g.sizes.some((s, i) => (i <= d ? s !== 1 && i !== d : s !== g.opShape[i]))) return null;
  if (g.sizes[d] !== 1 || g.opShape.slice(0, d).some((n) => n !== 1)) return null;
  const b = g.idxShape.length - 1;
  const w = g.windowPos;
  if (w.some((p, i) => p !== b + i)) return null; // window axes must follow the batch axes
  return { run: sizeOf(g.opShape.slice(d + 1)), axis: d };
}

/** Shortest run a row gather copies as a block rather than fusing into its consumers. */
const BLOCK_RUN = 16;

/** Whether a gather runs as block copies here (runs of at least BLOCK_RUN elements). */
export function gatherPrefersBlocks([x, idx]: Aval[], p: GatherParams): boolean {
  const f = x.dtype === "bool" ? null : runForm(gatherGeometry("gather", x, idx, p), p.mode);
  return f !== null && f.run >= BLOCK_RUN;
}

/** Fast gather of contiguous runs (e.g. rows of a table); null when the geometry differs. */
export function gatherFast(
  [x, idx]: HostArray[],
  p: GatherParams,
  [out]: Aval[],
  dest?: TypedArray,
): TypedArray[] | null {
  const g = gatherGeometry("gather", x, idx, p);
  const f = runForm(g, p.mode);
  if (!f || x.dtype === "bool") return null;
  const res = dest ?? allocTyped(out.dtype, sizeOf(out.shape));
  const n = g.opShape[f.axis], run = f.run, ix = idx.data, src = x.data;
  const fill = p.fillValue ?? (x.dtype === "int32" ? -2147483648 : NaN);
  for (let b = 0; b < ix.length; b++) {
    let s = ix[b];
    if (s < 0 || s >= n) {
      if (p.mode === "fill") {
        res.fill(fill, b * run, (b + 1) * run);
        continue;
      }
      s = s < 0 ? 0 : n - 1;
    }
    res.set(src.subarray(s * run, (s + 1) * run), b * run);
  }
  return [res];
}

/** Fast scatter-add of contiguous runs (the gradient of a row gather). */
export function scatterAddFast(
  [x, idx, u]: HostArray[],
  p: ScatterParams,
  [out]: Aval[],
  dest?: TypedArray,
): TypedArray[] | null {
  const g = scatterGeometry("scatterAdd", x, idx, u, p);
  const f = runForm(g, p.mode);
  if (!f || x.dtype === "bool") return null;
  const res = dest ?? allocTyped(out.dtype, x.data.length);
  res.set(x.data);
  const n = g.opShape[f.axis], run = f.run, ix = idx.data, up = u.data;
  for (let b = 0; b < ix.length; b++) {
    let s = ix[b];
    if (s < 0 || s >= n) {
      if (p.mode === "fill") continue;
      s = s < 0 ? 0 : n - 1;
    }
    const o = s * run, q = b * run;
    for (let j = 0; j < run; j++) res[o + j] += up[q + j];
  }
  return [res];
}
