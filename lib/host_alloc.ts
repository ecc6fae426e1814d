/**
 * Host buffers for small arrays. Deno's ArrayBuffer allocation costs far more than a view (it
 * dominated eager ops on small arrays), so there small arrays are views into shared slabs.
 * @module
 */
import { allocTyped, type DType, type TypedArray } from "./dtype.ts";

/**
 * Size classes `[most bytes of an array, bytes of its slabs]`: arrays up to the largest share a
 * slab of their class (16× the class's largest array, so a view never keeps alive more than 16×
 * its class's size); a slab stays alive while one of its views does.
 */
const CLASSES: [number, number][] = [[256, 4096], [4096, 65536], [16384, 262144]];
const SMALL_BYTES = CLASSES[CLASSES.length - 1][0];
/** Per dtype, its typed array class and element bytes (dtypes stored one element per value). */
const SLAB_DTYPES: Partial<
  Record<DType, [new (b: ArrayBuffer, o: number, n: number) => TypedArray, number]>
> = {
  float32: [Float32Array, 4],
  float64: [Float64Array, 8],
  int32: [Int32Array, 4],
  uint32: [Uint32Array, 4],
  int8: [Int8Array, 1],
  uint8: [Uint8Array, 1],
  bool: [Uint8Array, 1],
};

// Node and Bun allocate tiny typed arrays on the JS heap, faster than a view: there only arrays
// above the first class share slabs (a fresh buffer of a few KB measured 1-6 µs on Node).
const useSlabs = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
const SLAB_MIN_BYTES = useSlabs ? 0 : CLASSES[0][0];
const slabs = CLASSES.map(() => new ArrayBuffer(0));
const used = CLASSES.map(([, slab]) => slab);

/**
 * A zeroed host array of `n` elements of `d`, like `allocTyped`; small ones may be views into a
 * shared buffer (nonzero `byteOffset`), so callers must not reinterpret `.buffer` whole.
 *
 * @example
 * ```ts
 * import { allocHost } from "./host_alloc.ts";
 * import assert from "node:assert/strict";
 * const a = allocHost("float32", 3), b = allocHost("float32", 3);
 * a[0] = 1;
 * assert.deepEqual([...a, ...b], [1, 0, 0, 0, 0, 0]);
 * assert.ok(allocHost("int32", 1000) instanceof Int32Array);
 * ```
 */
export function allocHost(d: DType, n: number): TypedArray {
  const s = SLAB_DTYPES[d];
  if (!s || n <= 0 || n * s[1] > SMALL_BYTES || n * s[1] <= SLAB_MIN_BYTES) return allocTyped(d, n);
  const bytes = n * s[1];
  const c = bytes <= CLASSES[0][0] ? 0 : bytes <= CLASSES[1][0] ? 1 : 2;
  if (used[c] + bytes > CLASSES[c][1]) {
    slabs[c] = new ArrayBuffer(CLASSES[c][1]);
    used[c] = 0;
  }
  const a = new s[0](slabs[c], used[c], n);
  used[c] += (bytes + 15) & ~15; // 16-byte aligned views
  return a;
}

/** A host copy of `data` (small copies may share a slab, see `allocHost`). */
export function copyHost(data: TypedArray, d: DType): TypedArray {
  const s = SLAB_DTYPES[d];
  const bytes = s ? data.length * s[1] : 0;
  if (!s || data.constructor !== s[0] || bytes > SMALL_BYTES || bytes <= SLAB_MIN_BYTES) {
    return data.slice();
  }
  const a = allocHost(d, data.length);
  a.set(data as ArrayLike<number> as Float32Array);
  return a;
}

let settled = false;

/**
 * Lets freed large host arrays be reused instead of faulting in fresh pages, once per process.
 * glibc's malloc (under Deno and Node on Linux) maps every block above its mmap threshold (128 KiB
 * at start) afresh and gives freed heap memory back to the system above its trim threshold, so
 * each new 4 MB array of a loop can cost ~2,000 page faults (~10 ms on our VM). When a mapped
 * block is freed, glibc raises the mmap threshold to that block's size and the trim threshold to
 * twice it (mallopt(3), M_MMAP_THRESHOLD; at most 32 MiB): freeing one untouched 30 MiB buffer
 * here makes arrays up to 30 MiB come from the heap, and up to 60 MiB of freed heap stay with the
 * process for the next arrays. Other allocators are unaffected (one untouched map and unmap).
 *
 * @example
 * ```ts
 * import { settleHostAllocator } from "./host_alloc.ts";
 * settleHostAllocator(); // the CPU backend has done it already; later calls do nothing
 * ```
 */
export function settleHostAllocator(): void {
  if (settled) return;
  settled = true;
  try {
    const b = new ArrayBuffer(30 << 20);
    const t = (b as { transfer?: (n: number) => ArrayBuffer }).transfer;
    // detaching frees the block now (where transfer is missing, structuredClone moves it to a
    // clone freed at the next collection)
    if (t) t.call(b, 0);
    else structuredClone(b, { transfer: [b] });
  } catch {
    // NOTE: no room for 30 MiB of address space, or no way to detach: the allocator keeps its defaults
  }
}
