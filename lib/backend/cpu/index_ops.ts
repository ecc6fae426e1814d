/**
 * CPU kernels of the indexing primitives. `sort` with one float32 / int32 key: an LSD radix sort
 * (3 passes of 11 bits over order-preserving unsigned keys; stable, so payloads and argsort keep
 * JAX's order). `gather` / `scatterAdd` whose windows are contiguous runs of the operand (row
 * takes like `E[i]` and their gradients): one block copy / add per index instead of per element.
 * @module
 */
import { allocTyped, type TypedArray } from "../../dtype.ts";
import type { Aval, HostArray } from "../../ops/_define.ts";
import { rowsOf, type SortParams } from "../../ops/sort.ts";
import {
  gatherGeometry,
  type GatherParams,
  type IndexGeometry,
  scatterGeometry,
  type ScatterParams,
} from "../../ops/gather_params.ts";
import { sizeOf } from "../../shape.ts";

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);

/** Order-preserving unsigned keys: NaN greatest, -0 equal to 0. */
function radixKeys(src: Float32Array | Int32Array, isFloat: boolean, out: Uint32Array): void {
  for (let i = 0; i < src.length; i++) {
    if (!isFloat) {
      out[i] = (src[i] ^ 0x80000000) >>> 0;
      continue;
    }
    const v = src[i];
    if (v !== v) out[i] = 0xffffffff;
    else {
      f32[0] = v === 0 ? 0 : v;
      const b = u32[0];
      out[i] = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    }
  }
}

/** Stable LSD radix argsort of `keys`: returns the permutation. */
function radixArgsort(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  let idx = new Uint32Array(n), tmp = new Uint32Array(n);
  let k: Uint32Array = keys, kt: Uint32Array = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const count = new Uint32Array(2048);
  for (let shift = 0; shift < 32; shift += 11) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(k[i] >>> shift) & 2047]++;
    if (count.some((c) => c === n)) continue; // all in one bucket: the pass would not move anything
    let sum = 0;
    for (let b = 0; b < 2048; b++) {
      const c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const pos = count[(k[i] >>> shift) & 2047]++;
      tmp[pos] = idx[i];
      kt[pos] = k[i];
    }
    [idx, tmp] = [tmp, idx];
    [k, kt] = [kt, k];
  }
  return idx;
}

/** Fast `sort` with one float32 / int32 key; null for other cases (the reference runs). */
export function sortFast(xs: HostArray[], p: SortParams, outs: Aval[]): TypedArray[] | null {
  const key = xs[0];
  if (p.numKeys !== 1 || (key.dtype !== "float32" && key.dtype !== "int32")) return null;
  const { rows, n, post } = rowsOf(key.shape, p.dimension);
  const res = outs.map((o) => allocTyped(o.dtype, sizeOf(o.shape)));
  const row = key.dtype === "float32" ? new Float32Array(n) : new Int32Array(n);
  const keys = new Uint32Array(n);
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / post) * n * post + (r % post);
    for (let i = 0; i < n; i++) row[i] = key.data[base + i * post];
    radixKeys(row, key.dtype === "float32", keys);
    const perm = radixArgsort(keys);
    xs.forEach((x, k) => {
      const src = x.data, dst = res[k];
      if (post === 1) { for (let i = 0; i < n; i++) dst[base + i] = src[base + perm[i]]; }
      else for (let i = 0; i < n; i++) dst[base + i * post] = src[base + perm[i] * post];
    });
  }
  return res;
}

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
