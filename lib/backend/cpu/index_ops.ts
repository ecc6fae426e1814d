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

/** Maps float32 / int32 bit patterns in place to order-preserving unsigned keys (NaN greatest). */
function toKeys(u: Uint32Array, isFloat: boolean): void {
  const n = u.length;
  if (!isFloat) {
    for (let i = 0; i < n; i++) u[i] = u[i] ^ 0x80000000;
    return;
  }
  for (let i = 0; i < n; i++) {
    let b = u[i];
    if ((b & 0x7fffffff) > 0x7f800000) b = 0x7fc00000; // one NaN, sorted last
    u[i] = b & 0x80000000 ? ~b : b | 0x80000000;
  }
}

/** Inverse of {@link toKeys}. */
function fromKeys(u: Uint32Array, isFloat: boolean): void {
  const n = u.length;
  if (!isFloat) {
    for (let i = 0; i < n; i++) u[i] = u[i] ^ 0x80000000;
    return;
  }
  for (let i = 0; i < n; i++) {
    const k = u[i];
    u[i] = k & 0x80000000 ? k ^ 0x80000000 : ~k;
  }
}

const DIGITS = [0, 11, 22];

/** Histograms of the three radix digits (11, 11, 10 bits) in one pass. */
function histograms(k: Uint32Array): Uint32Array {
  const h = new Uint32Array(3 * 2048);
  for (let i = 0; i < k.length; i++) {
    const v = k[i];
    h[v & 2047]++;
    h[2048 + ((v >>> 11) & 2047)]++;
    h[4096 + (v >>> 22)]++;
  }
  return h;
}

/** Turns digit `d`'s histogram into start offsets; false when one bucket holds everything. */
function offsets(h: Uint32Array, d: number, n: number): boolean {
  const base = d * 2048;
  let sum = 0;
  for (let b = base; b < base + 2048; b++) {
    const c = h[b];
    if (c === n) return false;
    h[b] = sum;
    sum += c;
  }
  return true;
}

/** LSD radix sort of unsigned keys, in place (`tmp` is scratch of the same length). */
function radixSortKeys(k: Uint32Array, tmp: Uint32Array): void {
  const n = k.length, h = histograms(k);
  let src = k, dst = tmp;
  for (let d = 0; d < 3; d++) {
    if (!offsets(h, d, n)) continue;
    const shift = DIGITS[d], base = d * 2048;
    for (let i = 0; i < n; i++) {
      const v = src[i];
      dst[h[base + ((v >>> shift) & 2047)]++] = v;
    }
    [src, dst] = [dst, src];
  }
  if (src !== k) k.set(src);
}

/** Stable LSD radix argsort of unsigned keys: the permutation (keys are clobbered). */
function radixArgsort(keys: Uint32Array): Uint32Array {
  const n = keys.length, h = histograms(keys);
  let idx = new Uint32Array(n), tmp = new Uint32Array(n);
  let k: Uint32Array = keys, kt: Uint32Array = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let d = 0; d < 3; d++) {
    if (!offsets(h, d, n)) continue;
    const shift = DIGITS[d], base = d * 2048;
    for (let i = 0; i < n; i++) {
      const v = k[i];
      const pos = h[base + ((v >>> shift) & 2047)]++;
      tmp[pos] = idx[i];
      kt[pos] = v;
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
  const isFloat = key.dtype === "float32";
  const { rows, n, post } = rowsOf(key.shape, p.dimension);
  const res = outs.map((o) => allocTyped(o.dtype, sizeOf(o.shape)));
  const row = new Uint32Array(n), tmp = new Uint32Array(n);
  const kv = isFloat
    ? new Uint32Array((key.data as Float32Array).buffer, key.data.byteOffset, key.data.length)
    : new Uint32Array((key.data as Int32Array).buffer, key.data.byteOffset, key.data.length);
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / post) * n * post + (r % post);
    for (let i = 0; i < n; i++) row[i] = kv[base + i * post];
    toKeys(row, isFloat);
    if (xs.length === 1) {
      // values only: sort the keys themselves and map them back
      radixSortKeys(row, tmp);
      fromKeys(row, isFloat);
      const out = new Uint32Array(res[0].buffer);
      for (let i = 0; i < n; i++) out[base + i * post] = row[i];
      continue;
    }
    const perm = radixArgsort(row);
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
