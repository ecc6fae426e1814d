/**
 * Values-only Wasm sorts of contiguous float32 / int32 rows: many short rows in one call
 * (kernels/wasm/sort_rows.ts), a long row by radix (kernels/wasm/radix_sort.ts) on this thread or
 * on the pool (each thread keys and counts its chunk, then scatters it per digit; thread order keeps it stable).
 * @module
 */
import { buildRadixModule, RADIX_HIST_BYTES } from "../../../kernels/wasm/radix_sort.ts";
import { buildSortRowsModule, ROWS_HIST_BYTES } from "../../../kernels/wasm/sort_rows.ts";
import type { PoolTask, WorkerPool } from "./pool/pool.ts";
import { usablePool } from "./conv.ts";
import { scratchFor } from "./kernel_support.ts";

/**
 * @internal Rows of at least `minKeys` keys are sorted on the pool when it has `minThreads`
 * threads or more: with two, the extra counting pass and four hand-offs cost about what the
 * second thread saves (and far more when the machine is loaded). Rows of at least `wasmFrom` keys
 * are sorted by the Wasm radix on this thread otherwise, shorter contiguous rows by the Wasm row
 * kernel (`rows`: false keeps them in JS).
 */
export const parallelSortTuning = {
  minKeys: 1 << 18,
  minThreads: 4,
  wasmFrom: 1 << 12,
  rows: true,
};

const align = (v: number) => Math.ceil(v / 64) * 64;
const COUNTERS = RADIX_HIST_BYTES / 4;
const SIGN = 0x80000000 | 0;

/** The digits whose histogram (summed over the threads' tables) splits the n keys. */
function splitDigits(h: Uint32Array, threads: number, n: number): number[] {
  const ds: number[] = [];
  for (let d = 0; d < 3; d++) {
    let split = true;
    for (let b = d * 2048; b < (d + 1) * 2048 && split; b++) {
      let c = 0;
      for (let t = 0; t < threads; t++) c += h[t * COUNTERS + b];
      if (c === n) split = false;
    }
    if (split) ds.push(d);
  }
  return ds;
}

/**
 * Turns the chunks' counts of one digit into their scatter addresses in `dst` (bytes; chunk order
 * keeps the sort stable): chunk c's count of bucket b is the sum over `parts` tables at
 * `at(part, c) + b`.
 */
function offsets(
  h: Uint32Array,
  chunks: number,
  parts: number,
  at: (part: number, c: number) => number,
  into: (c: number) => number,
  dst: number,
): void {
  let run = dst;
  for (let b = 0; b < 2048; b++) {
    for (let c = 0; c < chunks; c++) {
      let k = 0;
      for (let q = 0; q < parts; q++) k += h[at(q, c) + b];
      h[into(c) + b] = run;
      run += 4 * k;
    }
  }
}

type RadixExports = Record<
  "radixKeys" | "radixScatter" | "radixScatterCount" | "radixUnflip",
  (...a: number[]) => void
>;
let localModule: WebAssembly.Module | undefined;
const local = new WeakMap<WebAssembly.Memory, RadixExports>();

/** The radix kernels on a private (unshared) memory, instantiated once per memory. */
function radixOn(memory: WebAssembly.Memory): RadixExports {
  let m = local.get(memory);
  if (!m) {
    localModule ??= new WebAssembly.Module(buildRadixModule({ shared: false }));
    m = new WebAssembly.Instance(localModule, { env: { memory } }).exports as RadixExports;
    local.set(memory, m);
  }
  return m;
}

/**
 * Sorts `src[base .. base + n)` (float32 / int32 bit patterns; `mode` 0 int32, 1 float32) into
 * `out` at the same place on this thread, as sortFast's values-only path does (NaN last as one
 * pattern, -0 before 0). False when Wasm memory cannot hold the row (the caller sorts in JS).
 */
export function sortRowWasm(
  src: Uint32Array,
  base: number,
  n: number,
  mode: 0 | 1,
  out: Uint32Array,
): boolean {
  const sc = scratchFor(2 * align(4 * n) + RADIX_HIST_BYTES, undefined);
  if (!sc) return false;
  const m = radixOn(sc.memory), buf = sc.memory.buffer;
  const A = sc.base, B = A + align(4 * n), H = B + align(4 * n);
  new Uint32Array(buf, A, n).set(src.subarray(base, base + n));
  const h = new Uint32Array(buf, H, COUNTERS);
  h.fill(0);
  m.radixKeys(A, A, n, H, mode);
  let from = A, to = B;
  for (let d = 0; d < 3; d++) {
    // the digit's offsets as byte addresses in `to`; a digit with one bucket of all keys is skipped
    let run = to, split = true;
    for (let b = d * 2048, e = b + 2048; b < e; b++) {
      const c = h[b];
      if (c === n) split = false;
      h[b] = run;
      run += 4 * c;
    }
    if (!split) continue;
    m.radixScatter(from, n, H + d * 8192, 11 * d, 0, 0);
    [from, to] = [to, from];
  }
  m.radixUnflip(from, n, mode ? -1 : 0);
  out.set(new Uint32Array(buf, from, n), base);
  return true;
}

let rowsModule: WebAssembly.Module | undefined;
const rowsLocal = new WeakMap<WebAssembly.Memory, (...a: number[]) => void>();

/**
 * Sorts `rows` contiguous rows of n keys of `src` from `start` (float32 / int32 bit patterns;
 * `mode` 0 int32, 1 float32) into `out` at the same place, as {@link sortRowWasm} does each, in
 * calls of about 2^20 keys. False when Wasm memory cannot hold them.
 */
export function sortRowsWasm(
  src: Uint32Array,
  start: number,
  rows: number,
  n: number,
  mode: 0 | 1,
  out: Uint32Array,
): boolean {
  const per = Math.max(1, Math.min(rows, Math.floor((1 << 20) / n)));
  const sc = scratchFor(align(4 * per * n) + align(4 * n) + ROWS_HIST_BYTES, undefined);
  if (!sc) return false;
  let sortRows = rowsLocal.get(sc.memory);
  if (!sortRows) {
    rowsModule ??= new WebAssembly.Module(buildSortRowsModule());
    const inst = new WebAssembly.Instance(rowsModule, { env: { memory: sc.memory } });
    rowsLocal.set(sc.memory, sortRows = inst.exports.sortRows as (...a: number[]) => void);
  }
  const A = sc.base, tmp = A + align(4 * per * n), H = tmp + align(4 * n);
  for (let r = 0; r < rows; r += per) {
    const k = Math.min(per, rows - r),
      at = start + r * n,
      view = new Uint32Array(sc.memory.buffer, A, k * n);
    view.set(src.subarray(at, at + k * n));
    sortRows(A, tmp, k, n, H, mode);
    out.set(view, at);
  }
  return true;
}

/**
 * A sort of the row `src[base .. base + n)` of float32 / int32 bit patterns (`mode` 1 / 0) into
 * `out` at the same place on the pool (the current one by default); false when it declines.
 */
export type PooledRowSort = (
  src: Uint32Array,
  base: number,
  n: number,
  mode: 0 | 1,
  out: Uint32Array,
  pool?: WorkerPool,
) => boolean;

/**
 * @internal The threads a pooled sort of n values takes: up to `max` of the pool's when it is
 * free and has at least `minThreads` (and 2), and n ≥ `minKeys`; else 0.
 */
export function poolThreads(
  pool: WorkerPool | undefined,
  n: number,
  minKeys: number,
  minThreads: number,
  max: number,
): number {
  if (!pool || pool.threads < Math.max(2, minThreads) || pool.busy || n < minKeys) return 0;
  return Math.min(pool.threads, max);
}

function runAll(pool: WorkerPool, tasks: PoolTask[], n: number): void {
  // a task slower than 1 key per µs (and 2 s) means its worker is gone
  pool.runSync(tasks, 2_000 + n / 1e3);
}

/**
 * Sorts `src[base .. base + n)` as {@link sortRowWasm} does, on the pool. False when the pool is
 * missing, single-threaded, busy or failed, or the row is short or of one key value: the caller
 * then sorts on this thread.
 */
export function sortRowPooled(
  src: Uint32Array,
  base: number,
  n: number,
  mode: 0 | 1,
  out: Uint32Array,
  pool: WorkerPool | undefined = usablePool(),
): boolean {
  const { minKeys, minThreads } = parallelSortTuning;
  const T = poolThreads(pool, n, minKeys, minThreads, 4), next = T * T * 2048;
  if (!pool || !T) return false;
  const sc = scratchFor(2 * align(4 * n) + T * RADIX_HIST_BYTES + 4 * next, pool);
  if (!sc) return false;
  try {
    const A = sc.base, B = A + align(4 * n), H = B + align(4 * n), buf = sc.memory.buffer;
    new Uint32Array(buf, A, n).set(src.subarray(base, base + n));
    // per thread: its digit tables; after them, per thread and destination chunk: next-digit counts
    const h = new Uint32Array(buf, H, T * COUNTERS + next);
    h.fill(0, 0, T * COUNTERS);
    const lo = Array.from({ length: T + 1 }, (_, t) => Math.floor((t * n) / T));
    const tasks = (args: (t: number, len: number, at: number) => number[], op: string) =>
      runAll(
        pool,
        lo.slice(0, T).map((_, t) => ({
          op: pool.op(op),
          args: args(t, lo[t + 1] - lo[t], 4 * lo[t]),
        })),
        n,
      );
    tasks((t, len, at) => [A + at, A + at, len, H + t * RADIX_HIST_BYTES, mode], "radixKeys");
    const ds = splitDigits(h, T, n);
    if (!ds.length) return false; // one key value throughout: the caller's path handles it
    const table = (t: number, d: number) => (t * RADIX_HIST_BYTES + d * 8192) / 4;
    let from = A, to = B;
    offsets(h, T, 1, (_, c) => table(c, ds[0]), (c) => table(c, ds[0]), to);
    ds.forEach((d, p) => {
      const offs = (t: number) => H + 4 * table(t, d);
      if (p === ds.length - 1) {
        const am = mode === 1 ? -1 : 0;
        tasks((t, len, at) => [from + at, len, offs(t), 11 * d, am, SIGN], "radixScatter");
      } else {
        // scatter, counting the next digit by the chunk each key lands in
        const nd = ds[p + 1], at = (q: number, c: number) => T * COUNTERS + (q * T + c) * 2048;
        const bounds = [1, 2, 3].map((t) => (t < T ? to + 4 * lo[t] : -1));
        h.fill(0, T * COUNTERS);
        tasks((t, len, a) => [
          from + a,
          len,
          offs(t),
          11 * d,
          H + 4 * at(t, 0),
          11 * nd,
          ...bounds,
        ], "radixScatterCount");
        // the next pass scatters back into `from`
        offsets(h, T, T, at, (c) => table(c, nd), from);
      }
      [from, to] = [to, from];
    });
    out.set(new Uint32Array(buf, from, n), base);
    return true;
  } catch (e) {
    if (pool.crashed) return false; // the pool is replaced; this thread sorts instead
    throw e;
  } finally {
    sc.release();
  }
}
