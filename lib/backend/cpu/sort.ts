/**
 * CPU `sort` with one float32 / int32 key: values-only contiguous rows in the Wasm kernels
 * (sort_parallel.ts); otherwise a stable LSD radix sort of order-preserving unsigned keys in JS
 * (11-bit digits for long rows, 8-bit for short, insertion below 24), the permutation applied to
 * every operand (argsort, multi-operand `lax.sort`).
 * @module
 */
import { allocTyped, type TypedArray } from "../../dtype.ts";
import type { Aval, HostArray } from "../../ops/_define.ts";
import { rowsOf, type SortParams } from "../../ops/sort.ts";
import { sizeOf } from "../../shape.ts";
import { parallelSortTuning, sortRowPooled, sortRowsWasm, sortRowWasm } from "./sort_parallel.ts";
import { sortRowMsd } from "./sort_msd.ts";

/** Digits of a radix sort: `count` digits of `bits` bits (the top one may be shorter). */
interface Digits {
  bits: number;
  count: number;
  /** Buckets per digit (2^bits). */
  nb: number;
}
const WIDE: Digits = { bits: 11, count: 3, nb: 2048 };
const NARROW: Digits = { bits: 8, count: 4, nb: 256 };
/** @internal Rows of at least `wideFrom` keys use 11-bit digits, shorter ones 8-bit digits. */
export const sortTuning = { wideFrom: 1 << 13, insertionBelow: 24 };

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
const hist = new Uint32Array(WIDE.count * WIDE.nb);

/**
 * Loads one row's keys (stride `post`) as order-preserving unsigned keys (float32: NaN greatest,
 * one NaN pattern, -0 tied with 0 when `tieZeros` (a stable argsort keeps their order, as JAX's);
 * int32: sign flipped) into `k`. The flip is branch-free (`v ^ (v >> 31 | 0x80000000)`): a branch
 * on random signs mispredicts half the time; int32 arithmetic throughout (`| 0`), as a uint32
 * above 2^31 would be a double in the JIT.
 */
function loadKeys(
  src: Uint32Array,
  base: number,
  post: number,
  isFloat: boolean,
  k: Uint32Array,
  tieZeros: boolean,
): void {
  const n = k.length;
  if (!isFloat) {
    for (let i = 0, j = base; i < n; i++, j += post) k[i] = src[j] ^ 0x80000000;
    return;
  }
  const negZero = tieZeros ? 0 : 0x80000000 | 0;
  for (let i = 0, j = base; i < n; i++, j += post) {
    let v = src[j] | 0;
    if ((v & 0x7fffffff) > 0x7f800000) v = 0x7fc00000;
    else if (v === (0x80000000 | 0)) v = negZero;
    k[i] = v ^ ((v >> 31) | 0x80000000);
  }
}

/** Every digit's histogram of the keys `k` in one sweep, into `hist` (zeroed first). */
function histograms(k: Uint32Array, d: Digits): void {
  const n = k.length, h = hist;
  if (d === WIDE) {
    h.fill(0);
    for (let i = 0; i < n; i++) {
      const v = k[i] | 0;
      h[v & 2047]++;
      h[2048 + ((v >>> 11) & 2047)]++;
      h[4096 + (v >>> 22)]++;
    }
    return;
  }
  h.fill(0, 0, 1024);
  for (let i = 0; i < n; i++) {
    const v = k[i] | 0;
    h[v & 255]++;
    h[256 + ((v >>> 8) & 255)]++;
    h[512 + ((v >>> 16) & 255)]++;
    h[768 + (v >>> 24)]++;
  }
}

/** Digits whose histogram splits the keys, their histograms turned into start offsets. */
function activeDigits(d: Digits, n: number): number[] {
  const out: number[] = [], h = hist;
  for (let q = 0; q < d.count; q++) {
    const base = q * d.nb;
    let sum = 0, split = true;
    for (let b = base; b < base + d.nb; b++) {
      const c = h[b];
      if (c === n) split = false;
      h[b] = sum;
      sum += c;
    }
    if (split) out.push(q);
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
  d: Digits,
  isFloat: boolean,
  out: Uint32Array,
  base: number,
  post: number,
): void {
  const n = k.length, ds = activeDigits(d, n), h = hist, mask = d.nb - 1;
  // the inverse of loadKeys' map, branch-free: float keys below 2^31 flip every bit
  const fm = isFloat ? -1 : 0;
  let src = k, dst = tmp;
  for (let a = 0; a < ds.length - 1; a++) {
    const shift = ds[a] * d.bits, hb = ds[a] * d.nb;
    for (let i = 0; i < n; i++) {
      const v = src[i] | 0;
      dst[h[hb + ((v >>> shift) & mask)]++] = v;
    }
    [src, dst] = [dst, src];
  }
  if (!ds.length) {
    for (let i = 0; i < n; i++) {
      const v = src[i] | 0;
      out[base + i * post] = v ^ ((~(v >> 31) & fm) | 0x80000000);
    }
    return;
  }
  const last = ds[ds.length - 1], shift = last * d.bits, hb = last * d.nb;
  if (post === 1) {
    for (let i = 0; i < n; i++) {
      const v = src[i] | 0;
      out[base + h[hb + ((v >>> shift) & mask)]++] = v ^ ((~(v >> 31) & fm) | 0x80000000);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = src[i] | 0;
    out[base + h[hb + ((v >>> shift) & mask)]++ * post] = v ^ ((~(v >> 31) & fm) | 0x80000000);
  }
}

/** Stable LSD radix argsort of unsigned keys `k` (clobbered): the permutation. */
function radixArgsort(k: Uint32Array, d: Digits): Uint32Array {
  const n = k.length, ds = activeDigits(d, n), h = hist, mask = d.nb - 1;
  let idx = scratchOf(1, n), tmp = scratchOf(2, n), kt = scratchOf(3, n);
  for (let i = 0; i < n; i++) idx[i] = i;
  ds.forEach((q, a) => {
    const shift = q * d.bits, hb = q * d.nb, keys = a < ds.length - 1;
    for (let i = 0; i < n; i++) {
      const v = k[i] | 0;
      const pos = h[hb + ((v >>> shift) & mask)]++;
      tmp[pos] = idx[i];
      if (keys) kt[pos] = v;
    }
    [idx, tmp] = [tmp, idx];
    [k, kt] = [kt, k];
  });
  return idx;
}

/** Stable insertion sort of a few unsigned keys `k` in place, and of `idx` with them if given. */
function insertionSort(k: Uint32Array, idx?: Uint32Array): void {
  const n = k.length;
  for (let i = 1; i < n; i++) {
    const v = k[i];
    let j = i - 1;
    for (; j >= 0 && k[j] > v; j--) k[j + 1] = k[j];
    k[j + 1] = v;
    if (idx) {
      // the same shift of the permutation (keys at j+1..i moved up by one)
      const t = idx[i];
      for (let m = i; m > j + 1; m--) idx[m] = idx[m - 1];
      idx[j + 1] = t;
    }
  }
}

/** The permutation that sorts row keys `k` stably (`k` clobbered). */
function argsortKeys(k: Uint32Array): Uint32Array {
  const n = k.length;
  if (n < sortTuning.insertionBelow) {
    const idx = scratchOf(1, n);
    for (let i = 0; i < n; i++) idx[i] = i;
    insertionSort(k, idx);
    return idx;
  }
  const d = n >= sortTuning.wideFrom ? WIDE : NARROW;
  histograms(k, d);
  return radixArgsort(k, d);
}

/**
 * Sorts one row of keys `k` (clobbered; `tmp` scratch of its length) into `out` (bit patterns) at
 * `base + i * post`.
 */
function sortKeysInto(
  k: Uint32Array,
  tmp: Uint32Array,
  isFloat: boolean,
  out: Uint32Array,
  base: number,
  post: number,
): void {
  const n = k.length;
  if (n < sortTuning.insertionBelow) {
    insertionSort(k);
    const fm = isFloat ? -1 : 0;
    for (let i = 0; i < n; i++) {
      const v = k[i] | 0;
      out[base + i * post] = v ^ ((~(v >> 31) & fm) | 0x80000000);
    }
    return;
  }
  const d = n >= sortTuning.wideFrom ? WIDE : NARROW;
  histograms(k, d);
  radixSortInto(k, tmp, d, isFloat, out, base, post);
}

/**
 * Fast `sort` with one float32 / int32 key; null for other cases (the reference runs). `dest`
 * buffers, when given, receive the results.
 */
export function sortFast(
  xs: HostArray[],
  p: SortParams,
  outs: Aval[],
  dest?: (TypedArray | undefined)[],
): TypedArray[] | null {
  const key = xs[0];
  if (p.numKeys !== 1 || (key.dtype !== "float32" && key.dtype !== "int32")) return null;
  const isFloat = key.dtype === "float32";
  const { rows, n, post } = rowsOf(key.shape, p.dimension);
  const res = outs.map((o, i) => dest?.[i] ?? allocTyped(o.dtype, sizeOf(o.shape)));
  const kv = new Uint32Array(key.data.buffer, key.data.byteOffset, key.data.length);
  const row = scratchOf(0, n), tmp = scratchOf(4, n);
  const out = new Uint32Array(res[0].buffer, res[0].byteOffset, res[0].length);
  const mode = isFloat ? 1 : 0;
  // values only, short contiguous rows: all rows in Wasm calls
  const short = xs.length === 1 && post === 1 && n >= 2 && n < parallelSortTuning.wasmFrom;
  if (short && parallelSortTuning.rows && sortRowsWasm(kv, 0, rows, n, mode, out)) return res;
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / post) * n * post + (r % post);
    if (xs.length === 1) {
      // values only: long rows in Wasm (on the pool, else here), else the keys themselves in JS
      if (post === 1 && sortRowMsd(kv, base, n, mode, out)) continue;
      if (post === 1 && sortRowPooled(kv, base, n, mode, out)) continue;
      if (post === 1 && n >= parallelSortTuning.wasmFrom && sortRowWasm(kv, base, n, mode, out)) {
        continue;
      }
      loadKeys(kv, base, post, isFloat, row, false);
      sortKeysInto(row, tmp, isFloat, out, base, post);
      continue;
    }
    loadKeys(kv, base, post, isFloat, row, true);
    const perm = argsortKeys(row);
    xs.forEach((x, k) => {
      const src = x.data, dst = res[k];
      if (post === 1) { for (let i = 0; i < n; i++) dst[base + i] = src[base + perm[i]]; }
      else for (let i = 0; i < n; i++) dst[base + i * post] = src[base + perm[i] * post];
    });
  }
  return res;
}
