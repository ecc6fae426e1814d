/**
 * Complex64 FFT rows in Wasm SIMD (kernels/wasm/fft_gen.ts): float32 plans (twiddles and chirps
 * computed in float64, rounded once) kept resident in Wasm memory; batches split by rows across
 * the worker pool, large single transforms split pass by pass. Radix 2/3/4/5 passes; lengths with
 * a larger prime factor run Bluestein (a power-of-two convolution) through them.
 * @module
 */
import { bluesteinPlan, cplan } from "../../fft/kernel.ts";
import { type FftExports, fftExportsFor } from "../../../kernels/wasm/fft_gen.ts";
import { WasmHeap } from "./pool/heap.ts";
import type { PoolTask, WorkerPool } from "./pool/pool.ts";
import { usablePool } from "./conv.ts";

/** One pass of a float32 plan (`tw`: byte offset of its twiddles in the plan image). */
interface Pass {
  ip: number;
  l1: number;
  ido: number;
  tw: number;
}

/** A float32 plan: an image (descriptor, twiddles, Bluestein tables) copied into Wasm memory. */
interface F32Plan {
  n: number;
  passes: Pass[];
  image: Uint8Array;
  /** Bluestein: pow-2 length and byte offsets of chirp, chirp/m, FFT(conj chirp), its reverse. */
  blue: { m: number; chirp: number; chirpOut: number; bhat: number; bhatInv: number } | null;
}

const plans = new Map<number, F32Plan>();
const al16 = (v: number) => Math.ceil(v / 16) * 16;

/** Whether the Wasm path transforms length `n` (every length from 2 below 2^26). */
export function wasmFftSupports(n: number): boolean {
  return Number.isInteger(n) && n >= 2 && n < 2 ** 26;
}

function planF32(n: number): F32Plan {
  let p = plans.get(n);
  if (p !== undefined) return p;
  const c = cplan(n);
  // NOTE: no generic odd radix here: lengths with a prime factor above 5 take Bluestein
  p = !c.blue && c.passes.every((q) => q.ip <= 5) ? radixPlan(n) : bluePlan(n, bluesteinPlan(n));
  if (plans.size >= 64) plans.delete(plans.keys().next().value!);
  plans.set(n, p);
  return p;
}

function radixPlan(n: number): F32Plan {
  const src = cplan(n).passes, np = src.length;
  let off = al16(8 + 16 * np);
  const passes = src.map(({ ip, l1, ido }) => {
    const q = { ip, l1, ido, tw: off };
    off += ido > 1 ? al16(8 * (ip - 1) * ido) : 0;
    return q;
  });
  const image = new Uint8Array(off), i32 = new Int32Array(image.buffer);
  const f32 = new Float32Array(image.buffer);
  i32[0] = n, i32[1] = np;
  passes.forEach(({ ip, l1, ido, tw }, k) => {
    i32.set([ip, l1, ido, tw], 2 + 4 * k);
    if (ido === 1) return;
    for (let m = 1; m < ip; m++) {
      for (let i = 0; i < ido; i++) {
        const a = (-2 * Math.PI * ((m * l1 * i) % n)) / n, o = tw / 4 + 2 * ((m - 1) * ido + i);
        f32[o] = Math.cos(a), f32[o + 1] = Math.sin(a);
      }
    }
  });
  return { n, passes, image, blue: null };
}

function bluePlan(n: number, b: NonNullable<ReturnType<typeof cplan>["blue"]>): F32Plan {
  const m = b.m, chirp = 16, chirpOut = chirp + al16(8 * n), bhat = chirpOut + al16(8 * n);
  const bhatInv = bhat + 8 * m, image = new Uint8Array(bhatInv + 8 * m);
  const f = new Float32Array(image.buffer);
  new Int32Array(image.buffer).set([n, 0]);
  for (let k = 0; k < 2 * n; k++) {
    f[chirp / 4 + k] = b.chirp[k], f[chirpOut / 4 + k] = b.chirp[k] / m;
  }
  for (let k = 0; k < m; k++) {
    const j = (m - k) % m;
    f[bhat / 4 + 2 * k] = b.bhat[2 * k], f[bhat / 4 + 2 * k + 1] = b.bhat[2 * k + 1];
    f[bhatInv / 4 + 2 * k] = b.bhat[2 * j], f[bhatInv / 4 + 2 * k + 1] = -b.bhat[2 * j + 1];
  }
  return { n, passes: [], image, blue: { m, chirp, chirpOut, bhat, bhatInv } };
}

/** A Wasm memory the kernels run on, its allocator and resident plans (LRU, bounded bytes). */
interface FftMem {
  memory: WebAssembly.Memory;
  heap: WasmHeap;
  ex: FftExports;
  pool: WorkerPool | undefined;
  resident: Map<number, { base: number; bytes: number }>;
}

const byPool = new WeakMap<WorkerPool, FftMem>();
let privateMem: FftMem | undefined;
const MAX_RESIDENT = 64 << 20;

function memFor(pool: WorkerPool | undefined): FftMem {
  if (pool) {
    let m = byPool.get(pool);
    if (!m) {
      const ex = fftExportsFor(pool.memory);
      byPool.set(pool, m = { memory: pool.memory, heap: pool.heap, ex, pool, resident: new Map() });
    }
    return m;
  }
  if (!privateMem) {
    const memory = new WebAssembly.Memory({ initial: 16 });
    privateMem = {
      memory,
      heap: new WasmHeap(memory),
      ex: fftExportsFor(memory),
      pool,
      resident: new Map(),
    };
  }
  return privateMem;
}

/** The byte offset of plan `p` in `mem` (copied there on first use; descriptor pointers made absolute). */
function resident(mem: FftMem, p: F32Plan): number {
  const r = mem.resident.get(p.n);
  if (r) {
    mem.resident.delete(p.n), mem.resident.set(p.n, r); // most recently used last
    return r.base;
  }
  let total = p.image.length;
  for (const v of mem.resident.values()) total += v.bytes;
  // NOTE: the two most recent plans stay: a Bluestein run holds its own and its inner plan
  for (const [k, v] of mem.resident) {
    if (total <= MAX_RESIDENT || mem.resident.size <= 2) break;
    mem.heap.free(v.base), mem.resident.delete(k), total -= v.bytes;
  }
  const base = alloc(mem, p.image.length);
  new Uint8Array(mem.memory.buffer, base, p.image.length).set(p.image);
  const i32 = new Int32Array(mem.memory.buffer, base, 2 + 4 * p.passes.length);
  for (let k = 0; k < p.passes.length; k++) i32[2 + 4 * k + 3] += base;
  mem.resident.set(p.n, { base, bytes: p.image.length });
  return base;
}

/** Options of {@link fftRowsF32} (tests and benchmarks). */
export interface FftWasmOptions {
  /** The pool to run on; null runs on the main thread in a private memory (default: the CPU pool). */
  pool?: WorkerPool | null;
  /**
   * Below this many complex values (rows × n) nothing is handed to workers (default 2^15); a
   * single transform is split pass by pass from 4× this length.
   */
  minParallel?: number;
}

/**
 * Complex FFTs of `rows` rows of length `n` (interleaved float32 pairs) from `src` into `dst` (may
 * be the same array), forward or inverse (unscaled). Returns false, touching nothing, when the
 * length is not supported here (see {@link wasmFftSupports}) or Wasm memory cannot hold the data.
 *
 * @example
 * ```ts
 * const x = new Float32Array([1, 0, 2, 0, 3, 0, 4, 0]), y = new Float32Array(8);
 * if (!fftRowsF32(x, y, 1, 4, false, { pool: null })) throw new Error("unsupported");
 * if (y.join() !== "10,0,-2,2,-2,0,-2,-2") throw new Error(`got ${y}`);
 * ```
 */
export function fftRowsF32(
  src: Float32Array,
  dst: Float32Array,
  rows: number,
  n: number,
  inverse: boolean,
  opts: FftWasmOptions = {},
): boolean {
  if (rows === 0 || n <= 1) {
    if (src !== dst) dst.set(src.subarray(0, 2 * rows * n));
    return true;
  }
  if (!wasmFftSupports(n)) return false;
  const p = planF32(n);
  const minPar = opts.minParallel ?? 2 ** 15, work = rows * (p.blue ? p.blue.m : n);
  const pool = opts.pool === undefined ? usablePool(work >= minPar) : opts.pool ?? undefined;
  const mem = memFor(pool);
  let data = 0;
  try {
    const base = resident(mem, p), sub = p.blue ? planF32(p.blue.m) : null;
    const subBase = sub ? resident(mem, sub) : 0;
    data = alloc(mem, 8 * rows * n);
    new Float32Array(mem.memory.buffer, data, 2 * rows * n).set(src.subarray(0, 2 * rows * n));
    const run = { mem, inverse, minPar };
    if (!p.blue) runRadix(run, p, base, data, rows);
    else runBlue(run, p, base, sub!, subBase, data, rows);
    dst.set(new Float32Array(mem.memory.buffer, data, 2 * rows * n));
    return true;
  } catch (e) {
    if (e instanceof NoMemory) return false; // NOTE: memory cannot grow; the JS path takes it
    throw e;
  } finally {
    if (data) mem.heap.free(data);
  }
}

class NoMemory extends Error {}

/** `heap.alloc`, failing with NoMemory (the caller then falls back to the JS path). */
function alloc(mem: FftMem, bytes: number): number {
  try {
    return mem.heap.alloc(bytes);
  } catch (e) {
    throw e instanceof RangeError ? new NoMemory(e.message) : e;
  }
}

interface Run {
  mem: FftMem;
  inverse: boolean;
  minPar: number;
}

/** The pool when it may take a task of `work` complex values now, else undefined. */
function parallelPool(run: Run, work: number): WorkerPool | undefined {
  const pool = run.mem.pool;
  return pool && pool.threads > 1 && !pool.busy && work >= run.minPar ? pool : undefined;
}

function runSync(pool: WorkerPool, tasks: PoolTask[], work: number): void {
  try {
    pool.runSync(tasks, Math.max(2_000, work / 1e4 / tasks.length));
  } catch (e) {
    if (!pool.crashed) throw e;
    throw new Error(
      `fft: the worker pool failed during this call (${(e as Error).message}); it is being ` +
        `replaced, so the next call works`,
    );
  }
}

/** Rows of a radix plan in place at `data`: split by rows, by pass, or on this thread. */
function runRadix(run: Run, p: F32Plan, desc: number, data: number, rows: number): void {
  const { mem, inverse } = run, n = p.n, inv = inverse ? 1 : 0;
  const pool = parallelPool(run, rows * n), T = pool ? Math.min(pool.threads, rows) : 1;
  const scratch = alloc(mem, 8 * n * (pool ? pool.threads : 1));
  try {
    if (pool && T > 1 && rows >= 2 * pool.threads) {
      const op = pool.op("fftRows"), tasks: PoolTask[] = [];
      for (let t = 0, r0 = 0; t < T; t++) {
        const r1 = r0 + Math.floor(rows / T) + (t < rows % T ? 1 : 0);
        tasks.push({ op, args: [desc, data, r0, r1, scratch + 8 * n * t, inv] });
        r0 = r1;
      }
      return runSync(pool, tasks, rows * n);
    }
    // one pool round trip per pass: only for transforms well above the row-split threshold
    if (!pool || n < 4 * run.minPar) return mem.ex.fftRows(desc, data, 0, rows, scratch, inv);
    for (let r = 0; r < rows; r++) runPasses(run, pool, p, desc, data + 8 * n * r, scratch);
  } finally {
    mem.heap.free(scratch);
  }
}

/** One transform split pass by pass across the pool (k ranges, or i ranges when l1 is small). */
function runPasses(
  run: Run,
  pool: WorkerPool,
  p: F32Plan,
  desc: number,
  row: number,
  scratch: number,
): void {
  const op = pool.op("fftPass"), T = pool.threads, inv = run.inverse ? 1 : 0;
  let a = row, b = scratch;
  for (const { ip, l1, ido, tw } of p.passes) {
    const tasks: PoolTask[] = [], byK = l1 >= 2 * T, len = byK ? l1 : ido;
    const unit = byK ? 2 : 2 * Math.ceil(len / (2 * T)); // i ranges start even
    const per = byK ? Math.ceil(len / T) : unit;
    for (let s = 0; s < len; s += per) {
      const e = Math.min(len, s + per);
      const [k0, k1, i0, i1] = byK ? [s, e, 0, ido] : [0, l1, s, e];
      tasks.push({ op, args: [ip, inv, a, b, desc + tw, ido, l1, k0, k1, i0, i1] });
    }
    runSync(pool, tasks, p.n);
    [a, b] = [b, a];
  }
  if (a !== row) new Uint8Array(run.mem.memory.buffer).copyWithin(row, a, a + 8 * p.n);
}

/** Bluestein rows: chirp, pow-2 convolution through the inner plan, chirp (scaled by 1/m). */
function runBlue(
  run: Run,
  p: F32Plan,
  base: number,
  sub: F32Plan,
  subBase: number,
  data: number,
  rows: number,
): void {
  const { mem, inverse } = run, { m, chirp, chirpOut, bhat, bhatInv } = p.blue!, n = p.n;
  const chunk = Math.max(1, Math.min(rows, Math.floor(2 ** 21 / m))), inv = inverse ? 1 : 0;
  const work = alloc(mem, 8 * m * chunk);
  try {
    for (let r0 = 0; r0 < rows; r0 += chunk) {
      const c = Math.min(chunk, rows - r0);
      new Uint8Array(mem.memory.buffer, work, 8 * m * c).fill(0);
      for (let r = 0; r < c; r++) {
        mem.ex.fftCmul(work + 8 * m * r, data + 8 * n * (r0 + r), base + chirp, n, inv);
      }
      runRadix({ ...run, inverse: false }, sub, subBase, work, c);
      for (let r = 0; r < c; r++) {
        const w = work + 8 * m * r;
        mem.ex.fftCmul(w, w, base + (inverse ? bhatInv : bhat), m, 0);
      }
      runRadix({ ...run, inverse: true }, sub, subBase, work, c);
      for (let r = 0; r < c; r++) {
        mem.ex.fftCmul(data + 8 * n * (r0 + r), work + 8 * m * r, base + chirpOut, n, inv);
      }
    }
  } finally {
    mem.heap.free(work);
  }
}
