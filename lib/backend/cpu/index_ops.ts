/**
 * CPU kernels of the indexing primitives: `sort` with one float32 / int32 key as a stable LSD radix
 * sort (at most 3 passes of 11 bits over order-preserving unsigned keys); `gather` / `scatterAdd`
 * of long contiguous runs (row takes like `E[i]`, their gradients) as one block copy / add per index.
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

const DIGITS = [0, 11, 22];
const NB = 2048;

/** Scratch arrays reused across calls (sort is synchronous); large ones are not kept. */
const scratch: Uint32Array[] = [];
const KEEP = 1 << 22;
function scratchOf(slot: number, n: number): Uint32Array {
  const s = scratch[slot];
  if (s && s.length >= n) return s.subarray(0, n);
  const a = new Uint32Array(n);
  if (n <= KEEP) scratch[slot] = a;
  return a;
}

/**
 * Loads one row's keys (stride `post`) as order-preserving unsigned keys (float32: NaN greatest,
 * one NaN pattern, -0 tied with 0 when `tieZeros` (a stable argsort keeps their order, as JAX's);
 * int32: sign flipped) into `k`, with the three digit histograms in one sweep. The sign flip is
 * branch-free (`v ^ (v >> 31 | 0x80000000)`): a branch on random signs mispredicts half the time.
 */
function loadKeys(
  src: Uint32Array,
  base: number,
  post: number,
  isFloat: boolean,
  k: Uint32Array,
  tieZeros: boolean,
): Uint32Array {
  const h = new Uint32Array(3 * NB), n = k.length;
  // int32 arithmetic throughout (`| 0`): a uint32 above 2^31 would be a double in the JIT
  if (isFloat) {
    const negZero = tieZeros ? 0 : 0x80000000 | 0;
    for (let i = 0, j = base; i < n; i++, j += post) {
      let v = src[j] | 0;
      if ((v & 0x7fffffff) > 0x7f800000) v = 0x7fc00000;
      else if (v === (0x80000000 | 0)) v = negZero;
      v ^= (v >> 31) | 0x80000000;
      k[i] = v;
      h[v & 2047]++;
      h[2048 + ((v >>> 11) & 2047)]++;
      h[4096 + (v >>> 22)]++;
    }
  } else {
    for (let i = 0, j = base; i < n; i++, j += post) {
      const v = src[j] ^ 0x80000000;
      k[i] = v;
      h[v & 2047]++;
      h[2048 + ((v >>> 11) & 2047)]++;
      h[4096 + (v >>> 22)]++;
    }
  }
  return h;
}

/** The bit pattern of an unsigned key (inverse of loadKeys' map), branch-free. */
function unkey(k: number, isFloat: boolean): number {
  return k ^ ((isFloat ? ~(k >> 31) : 0) | 0x80000000);
}

/** Digits whose histogram splits the keys, their histograms turned into start offsets. */
function activeDigits(h: Uint32Array, n: number): number[] {
  const out: number[] = [];
  for (let d = 0; d < 3; d++) {
    const base = d * NB;
    let sum = 0, split = true;
    for (let b = base; b < base + NB; b++) {
      const c = h[b];
      if (c === n) split = false;
      h[b] = sum;
      sum += c;
    }
    if (split) out.push(d);
  }
  return out;
}

/**
 * LSD radix sort of unsigned keys `k` (clobbered, `tmp` scratch): the last pass writes the
 * values' bit patterns straight into `out` at `base + i * post`.
 */
function radixSortInto(
  k: Uint32Array,
  tmp: Uint32Array,
  h: Uint32Array,
  isFloat: boolean,
  out: Uint32Array,
  base: number,
  post: number,
): void {
  const n = k.length, ds = activeDigits(h, n);
  let src = k, dst = tmp;
  for (let a = 0; a < ds.length - 1; a++) {
    const shift = DIGITS[ds[a]], hb = ds[a] * NB;
    for (let i = 0; i < n; i++) {
      const v = src[i];
      dst[h[hb + ((v >>> shift) & 2047)]++] = v;
    }
    [src, dst] = [dst, src];
  }
  if (!ds.length) {
    for (let i = 0; i < n; i++) out[base + i * post] = unkey(src[i], isFloat);
    return;
  }
  const last = ds[ds.length - 1], shift = DIGITS[last], hb = last * NB;
  // unkey inlined branch-free: float keys flip every bit below the top one when it is clear
  const fm = isFloat ? -1 : 0;
  if (post === 1) {
    for (let i = 0; i < n; i++) {
      const v = src[i];
      out[base + h[hb + ((v >>> shift) & 2047)]++] = v ^ ((~(v >> 31) & fm) | 0x80000000);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = src[i];
    out[base + h[hb + ((v >>> shift) & 2047)]++ * post] = v ^ ((~(v >> 31) & fm) | 0x80000000);
  }
}

/** Stable LSD radix argsort of unsigned keys `k` (clobbered): the permutation. */
function radixArgsort(k: Uint32Array, h: Uint32Array): Uint32Array {
  const n = k.length, ds = activeDigits(h, n);
  let idx = scratchOf(1, n), tmp = scratchOf(2, n), kt = scratchOf(3, n);
  for (let i = 0; i < n; i++) idx[i] = i;
  ds.forEach((d, a) => {
    const shift = DIGITS[d], hb = d * NB, keys = a < ds.length - 1;
    for (let i = 0; i < n; i++) {
      const v = k[i];
      const pos = h[hb + ((v >>> shift) & 2047)]++;
      tmp[pos] = idx[i];
      if (keys) kt[pos] = v;
    }
    [idx, tmp] = [tmp, idx];
    [k, kt] = [kt, k];
  });
  return idx;
}

/** Fast `sort` with one float32 / int32 key; null for other cases (the reference runs). */
export function sortFast(xs: HostArray[], p: SortParams, outs: Aval[]): TypedArray[] | null {
  const key = xs[0];
  if (p.numKeys !== 1 || (key.dtype !== "float32" && key.dtype !== "int32")) return null;
  const isFloat = key.dtype === "float32";
  const { rows, n, post } = rowsOf(key.shape, p.dimension);
  const res = outs.map((o) => allocTyped(o.dtype, sizeOf(o.shape)));
  const kv = new Uint32Array(key.data.buffer, key.data.byteOffset, key.data.length);
  const row = scratchOf(0, n);
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / post) * n * post + (r % post);
    const h = loadKeys(kv, base, post, isFloat, row, xs.length > 1);
    if (xs.length === 1) {
      // values only: sort the keys themselves, the last pass writing the output
      const out = new Uint32Array(res[0].buffer, res[0].byteOffset, res[0].length);
      radixSortInto(row, scratchOf(1, n), h, isFloat, out, base, post);
      continue;
    }
    const perm = radixArgsort(row, h);
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
