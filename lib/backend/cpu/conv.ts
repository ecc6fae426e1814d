/**
 * Float32 convolution on the CPU as an implicit GEMM in Wasm (kernels/wasm/sconv.ts): packers read
 * input and kernel in place through offset tables (no im2col matrix), split across the worker pool
 * per feature group, then one copy into the output layout. Small convolutions are compiled kernels.
 * @module
 */
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { ConvParams } from "../../ops/conv_params.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import { ensureMemoryBytes, sconvFor, sgemmWorkspaceBytes } from "../../../kernels/wasm/sgemm.ts";
import { createPool, type WorkerPool } from "./pool/pool.ts";

let pool: WorkerPool | undefined;
let poolStarting = false;
let poolReady: Promise<void> | undefined;

/**
 * Starts the worker pool in the background (big GEMMs run single-threaded until it is ready);
 * the promise settles when it is up (or known to be unavailable). Calls while it is starting or
 * running share that promise.
 */
export function startPool(): Promise<void> {
  if (poolStarting && poolReady) return poolReady;
  poolStarting = true;
  return poolReady = createPool().then((p) => {
    pool = p;
  }, () => {
    // NOTE: no workers here (no SharedArrayBuffer, or worker start failed): stay single-threaded
  });
}

/**
 * The pool when it is up and healthy, else undefined: a crashed pool is dropped, and with `start`
 * (the default) a missing one is started in the background. Every CPU kernel that can use the
 * pool asks here.
 */
export function usablePool(start = true): WorkerPool | undefined {
  if (pool?.crashed) [pool, poolStarting] = [undefined, false];
  if (!pool && start && !poolStarting) void startPool();
  return pool;
}

/** @internal The pool used by convolutions (tests kill its workers). */
export function currentPool(): WorkerPool | undefined {
  return pool;
}

let mem: WebAssembly.Memory | undefined;

/**
 * For every (tap, output position): the lhs spatial offset read, or -1 for padding/holes; and
 * per entry the number of consecutive entries from it on that read consecutive inputs (or minus
 * the number of consecutive padding entries), within one image.
 */
function offsetTables(
  X: number[],
  K: number[],
  Y: number[],
  p: ConvParams,
  lhsStrides: number[],
): { tab: Int32Array; runs: Int32Array } {
  const nd = K.length;
  const nT = sizeOf(K), nY = sizeOf(Y);
  const tab = new Int32Array(nT * nY), runs = new Int32Array(nT * nY);
  const t = new Array<number>(nd).fill(0);
  for (let ti = 0; ti < nT; ti++) {
    const y = new Array<number>(nd).fill(0);
    for (let yi = 0; yi < nY; yi++) {
      let off = 0;
      for (let d = 0; d < nd && off >= 0; d++) {
        const q = y[d] * p.windowStrides[d] + t[d] * p.rhsDilation[d] - p.padding[d][0];
        const dl = p.lhsDilation[d];
        if (q < 0 || q % dl !== 0 || q / dl >= X[d]) off = -1;
        else off += (q / dl) * lhsStrides[d];
      }
      tab[ti * nY + yi] = off;
      for (let d = nd - 1; d >= 0; d--) {
        if (++y[d] < Y[d]) break;
        else y[d] = 0;
      }
    }
    for (let yi = nY - 1, row = ti * nY; yi >= 0; yi--) {
      const o = tab[row + yi];
      const more = yi + 1 < nY, next = more ? tab[row + yi + 1] : 0;
      if (o < 0) runs[row + yi] = more && next < 0 ? runs[row + yi + 1] - 1 : -1;
      else runs[row + yi] = more && next === o + 1 ? runs[row + yi + 1] + 1 : 1;
    }
    for (let d = nd - 1; d >= 0; d--) {
      if (++t[d] < K[d]) break;
      else t[d] = 0;
    }
  }
  return { tab, runs };
}

interface ConvPlan {
  N: number;
  I: number;
  G: number;
  Og: number;
  nT: number;
  nY: number;
  Kg: number;
  cols: number;
  tab: Int32Array;
  runs: Int32Array;
  tapOff: Int32Array;
  outOff: Int32Array;
  /** Output positions of one (image, feature) are contiguous and in order. */
  outContig: boolean;
  xN: number;
  xC: number;
  /**
   * Strides of the input as copied into Wasm memory: for [N, C, spatial…] inputs each channel
   * is followed by a gap (power-of-two channel strides would make the packer's reads of one
   * tap for all channels collide in the same cache sets).
   */
  xNm: number;
  xCm: number;
  wO: number;
  wI: number;
  oN: number;
  oC: number;
  size: number;
}

const plans = new WeakMap<ConvParams, Map<string, ConvPlan>>();

function counterOffsets(dims: number[], strides: number[]): Int32Array {
  const n = sizeOf(dims), out = new Int32Array(n), ix = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let d = 0; d < dims.length; d++) off += ix[d] * strides[d];
    out[i] = off;
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++ix[d] < dims[d]) break;
      else ix[d] = 0;
    }
  }
  return out;
}

const plansByText = new Map<string, ConvPlan>();

/** Channel gap (elements) in the Wasm copy of an [N, C, spatial…] input. */
const CHANNEL_GAP = 16;

/** The input's batch and channel strides, and those of its Wasm copy (see `ConvPlan.xCm`). */
function memStrides(shape: number[], ls: number[]) {
  const s = stridesOf(shape), xN = s[ls[0]], xC = s[ls[1]];
  const padded = ls[0] === 0 && ls[1] === 1 && xC >= 256;
  const xCm = padded ? xC + CHANNEL_GAP : xC;
  return { xN, xC, xCm, xNm: padded ? shape[1] * xCm : xN };
}

function planFor(
  lhsShape: number[],
  rhsShape: number[],
  outShape: number[],
  p: ConvParams,
): ConvPlan {
  let m = plans.get(p);
  if (!m) plans.set(p, m = new Map());
  const key = `${lhsShape}|${rhsShape}`;
  let plan = m.get(key);
  if (plan) return plan;
  // eager calls resolve fresh params objects: fall back to a textual key
  const text = `${key}|${JSON.stringify(p)}`;
  plan = plansByText.get(text);
  if (plan) {
    m.set(key, plan);
    return plan;
  }
  const { lhs: ls, rhs: rs, out: os } = p.dimensionNumbers;
  const N = lhsShape[ls[0]], O = rhsShape[rs[0]], I = rhsShape[rs[1]];
  const X = ls.slice(2).map((a) => lhsShape[a]);
  const K = rs.slice(2).map((a) => rhsShape[a]);
  const Y = os.slice(2).map((a) => outShape[a]);
  const sL = stridesOf(lhsShape), sR = stridesOf(rhsShape), sO = stridesOf(outShape);
  const G = p.featureGroupCount, nT = sizeOf(K), nY = sizeOf(Y);
  const outOff = counterOffsets(Y, os.slice(2).map((a) => sO[a]));
  plan = {
    N,
    I,
    G,
    Og: O / G,
    nT,
    nY,
    Kg: I * nT,
    cols: N * nY,
    ...offsetTables(X, K, Y, p, ls.slice(2).map((a) => sL[a])),
    tapOff: counterOffsets(K, rs.slice(2).map((a) => sR[a])),
    outOff,
    outContig: outOff.every((v, i) => v === i),
    ...memStrides(lhsShape, ls),
    wO: sR[rs[0]],
    wI: sR[rs[1]],
    oN: sO[os[0]],
    oC: sO[os[1]],
    size: sizeOf(outShape),
  };
  m.set(key, plan);
  if (plansByText.size > 256) plansByText.clear();
  plansByText.set(text, plan);
  return plan;
}

/** Float32 convolution, or null when this path does not apply (then the reference runs). */
export function convF32(
  lhs: HostArray,
  rhs: HostArray,
  p: ConvParams,
  out: Aval,
  dest?: Float32Array,
): Float32Array | null {
  if (lhs.dtype !== "float32" || p.batchGroupCount !== 1) return null;
  // NOTE: the packers read padding and dilation holes as zeros; a non-finite kernel tap times such
  // a zero would be NaN where the exact convolution has no term, so those kernels take the exact
  // path.
  const w0 = rhs.data;
  for (let i = 0; i < w0.length; i++) if (!Number.isFinite(w0[i])) return null;
  const q = planFor(lhs.shape, rhs.shape, out.shape, p);
  const res = dest?.length === q.size ? dest : new Float32Array(q.size);
  if (res.length === 0 || q.Kg === 0) return res.fill(0);
  const p0 = usablePool();
  const align = (v: number) => Math.ceil(v / 64) * 64;
  const sizes = [
    4 * (q.xCm === q.xC ? lhs.data.length : q.N * q.xNm),
    4 * rhs.data.length,
    4 * q.nT,
    4 * q.tab.length,
    4 * q.runs.length,
    4 * q.G * q.Og * q.cols,
    4, // the column counter of the pool's threads
  ];
  const bytes = sizes.reduce((a, b) => a + align(b), 0);
  let base = 0, work = 0, m: WebAssembly.Memory;
  if (p0) {
    base = p0.heap.alloc(bytes);
    m = p0.memory;
  } else {
    mem ??= new WebAssembly.Memory({ initial: 16 });
    work = bytes;
    ensureMemoryBytes(mem, bytes + sgemmWorkspaceBytes());
    m = mem;
  }
  try {
    const offs: number[] = [];
    sizes.reduce((at, b) => (offs.push(at), at + align(b)), base);
    const f32 = new Float32Array(m.buffer), i32 = new Int32Array(m.buffer);
    copyIn(q, lhs.data as Float32Array, f32, offs[0] / 4);
    f32.set(rhs.data as Float32Array, offs[1] / 4);
    i32.set(q.tapOff, offs[2] / 4);
    i32.set(q.tab, offs[3] / 4);
    i32.set(q.runs, offs[4] / 4);
    const [x, w, tapOff, tab, runs, c, counter] = offs;
    for (let g = 0; g < q.G; g++) {
      const args: SconvArgs = {
        m: q.Og,
        n: q.cols,
        a: w + 4 * g * q.Og * q.wO,
        j0: 0,
        x: x + 4 * g * q.I * q.xCm,
        c: c + 4 * g * q.Og * q.cols,
      };
      if (p0) runOnPool(p0, q, args, { tapOff, tab, runs, counter });
      else runSconv(sconvFor(m), q, args, tapOff, tab, runs, work);
    }
    copyOut(q, new Float32Array(m.buffer), c / 4, res);
  } finally {
    if (p0) p0.heap.free(base);
  }
  return res;
}

/** What varies between the pieces of one convolution's GEMM. */
interface SconvArgs {
  m: number;
  n: number;
  a: number;
  j0: number;
  x: number;
  c: number;
}

function sconvArgs(q: ConvPlan, s: SconvArgs, tapOff: number, tab: number, runs: number) {
  return [
    s.m,
    s.n,
    q.Kg,
    s.a,
    q.wO,
    q.wI,
    tapOff,
    s.j0,
    s.x,
    tab,
    runs,
    q.nY,
    q.nT,
    q.xNm,
    q.xCm,
    s.c,
    q.cols,
    0,
  ];
}

function runSconv(
  fn: (...a: number[]) => unknown,
  q: ConvPlan,
  s: SconvArgs,
  tapOff: number,
  tab: number,
  runs: number,
  work: number,
): void {
  fn(...sconvArgs(q, s, tapOff, tab, runs), work, 0, 0);
}

/** Chunks of columns per thread when the threads claim columns as they go. */
const CHUNKS_PER_THREAD = 6;

/**
 * Runs the GEMM on the pool's threads: by columns, claimed chunk by chunk through the shared
 * `counter` (a thread slowed down by other work on its core then takes fewer), or, when there
 * are fewer columns than rows, by one strip of rows per thread.
 */
function runOnPool(
  p0: WorkerPool,
  q: ConvPlan,
  s: SconvArgs,
  at: { tapOff: number; tab: number; runs: number; counter: number },
): void {
  const { tapOff, tab, runs } = at;
  const flops = 2 * s.m * s.n * q.Kg;
  const threads = flops >= p0.minParallelFlops && !p0.busy ? p0.threads : 1;
  const alongN = s.n >= s.m;
  const total = alongN ? s.n : s.m, unit = alongN ? 4 * p0.config.nv : p0.config.mr;
  const units = Math.ceil(total / unit), parts = Math.max(1, Math.min(threads, units));
  const op = p0.op("sconv");
  let tasks: { op: number; args: number[] }[];
  // each chunk packs A (m·K) again: chunks of at least 4·m columns keep that under a quarter of
  // the B packing; with fewer than 3 chunks per thread the strips are fixed instead
  const chunkUnits = Math.max(
    Math.ceil(units / (parts * CHUNKS_PER_THREAD)),
    Math.ceil((4 * s.m) / unit),
  );
  if (alongN && parts > 1 && units >= 3 * parts * chunkUnits) {
    const chunk = chunkUnits * unit;
    Atomics.store(new Int32Array(p0.memory.buffer), at.counter / 4, 0);
    tasks = Array.from({ length: parts }, (_, t) => ({
      op,
      args: [...sconvArgs(q, s, tapOff, tab, runs), p0.workspace(t), at.counter, chunk],
    }));
  } else {
    const pieces: SconvArgs[] = [];
    for (let t = 0, start = 0; t < parts; t++) {
      const len = Math.min(
        (Math.floor(units / parts) + (t < units % parts ? 1 : 0)) * unit,
        total - start,
      );
      pieces.push(
        alongN
          ? { ...s, n: len, j0: s.j0 + start, c: s.c + 4 * start }
          : { ...s, m: len, a: s.a + 4 * start * q.wO, c: s.c + 4 * start * q.cols },
      );
      start += len;
    }
    tasks = pieces.map((piece, t) => ({
      op,
      args: [...sconvArgs(q, piece, tapOff, tab, runs), p0.workspace(t), 0, 0],
    }));
  }
  try {
    // a strip taking longer than at 20 MFLOP/s (and 2 s) means its worker is gone
    p0.runSync(tasks, Math.max(2_000, flops / 2e4 / tasks.length));
  } catch (e) {
    // the next call starts a fresh pool (single-threaded until it is up)
    if (pool === p0) [pool, poolStarting] = [undefined, false];
    throw new Error(
      `convGeneralDilated: the worker pool failed during this call (${
        (e as Error).message
      }); it has been replaced, so the next call works`,
    );
  }
}

/** The input into Wasm memory at element `at`, with the plan's memory strides. */
function copyIn(q: ConvPlan, x: Float32Array, f32: Float32Array, at: number): void {
  if (q.xCm === q.xC) {
    f32.set(x, at);
    return;
  }
  const C = q.xN / q.xC;
  for (let n = 0; n < q.N; n++) {
    for (let c = 0; c < C; c++) {
      const src = n * q.xN + c * q.xC;
      f32.set(x.subarray(src, src + q.xC), at + n * q.xNm + c * q.xCm);
    }
  }
}

/** C[o, n·nY + y] (all groups, o = g·Og + oo) into the output layout. */
function copyOut(q: ConvPlan, fc: Float32Array, c: number, res: Float32Array): void {
  const { N, nY, cols, outOff } = q, O = q.G * q.Og;
  for (let o = 0; o < O; o++) {
    for (let n = 0; n < N; n++) {
      const src = c + o * cols + n * nY;
      const dst = n * q.oN + o * q.oC;
      if (q.outContig) res.set(fc.subarray(src, src + nY), dst);
      else for (let yi = 0; yi < nY; yi++) res[dst + outOff[yi]] = fc[src + yi];
    }
  }
}
