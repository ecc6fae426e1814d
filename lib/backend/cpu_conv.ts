/**
 * Fast float32 convolution for the CPU backend: im2col into WebAssembly memory (one table lookup
 * per element, any layout, padding, strides and dilations), then the Wasm SIMD GEMM per feature
 * group, then a scatter into the output layout. Batch groups fall back to the reference. Small
 * convolutions never get here: the compiler emits them as generated reduction kernels.
 * @module
 */
import type { Aval, HostArray } from "../ops/_define.ts";
import type { ConvParams } from "../ops/conv_params.ts";
import { sizeOf, stridesOf } from "../shape.ts";
import { ensureMemoryBytes, sgemmInto, sgemmWorkspaceBytes } from "../../kernels/wasm/sgemm.ts";
import { createPool, type WorkerPool } from "./pool/pool.ts";
import { parallelSgemmSync } from "./pool/parallel_sgemm.ts";

let pool: WorkerPool | undefined;
let poolStarting = false;

/** Starts the worker pool in the background (big GEMMs run single-threaded until it is ready). */
export function startPool(): Promise<void> {
  poolStarting = true;
  return createPool().then((p) => {
    pool = p;
  }, () => {
    // NOTE: no workers here (no SharedArrayBuffer, or worker start failed): stay single-threaded
  });
}

/** @internal The pool used by convolutions (tests kill its workers). */
export function currentPool(): WorkerPool | undefined {
  return pool;
}

let mem: WebAssembly.Memory | undefined;

/** For every (tap, output position): the lhs spatial offset read, or -1 for padding/holes. */
function offsetTable(
  X: number[],
  K: number[],
  Y: number[],
  p: ConvParams,
  lhsStrides: number[],
): Int32Array {
  const nd = K.length;
  const nT = sizeOf(K), nY = sizeOf(Y);
  const table = new Int32Array(nT * nY);
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
      table[ti * nY + yi] = off;
      for (let d = nd - 1; d >= 0; d--) {
        if (++y[d] < Y[d]) break;
        else y[d] = 0;
      }
    }
    for (let d = nd - 1; d >= 0; d--) {
      if (++t[d] < K[d]) break;
      else t[d] = 0;
    }
  }
  return table;
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
  table: Int32Array;
  tapOff: Int32Array;
  outOff: Int32Array;
  xN: number;
  xC: number;
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
  plan = {
    N,
    I,
    G,
    Og: O / G,
    nT,
    nY,
    Kg: I * nT,
    cols: N * nY,
    table: offsetTable(X, K, Y, p, ls.slice(2).map((a) => sL[a])),
    tapOff: counterOffsets(K, rs.slice(2).map((a) => sR[a])),
    outOff: counterOffsets(Y, os.slice(2).map((a) => sO[a])),
    xN: sL[ls[0]],
    xC: sL[ls[1]],
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
): Float32Array | null {
  if (lhs.dtype !== "float32" || p.batchGroupCount !== 1) return null;
  // NOTE: im2col stores padding and dilation holes as zeros; a non-finite kernel tap times such a
  // zero would be NaN where the exact convolution has no term, so those kernels take the exact path.
  const w0 = rhs.data;
  for (let i = 0; i < w0.length; i++) if (!Number.isFinite(w0[i])) return null;
  const q = planFor(lhs.shape, rhs.shape, out.shape, p);
  const res = new Float32Array(q.size);
  const { Og, Kg, cols } = q;
  if (res.length === 0 || Kg === 0) return res;
  const x = lhs.data, w = rhs.data;
  if (!poolStarting) void startPool();
  const align = (v: number) => Math.ceil(v / 64) * 64;
  const bytes = align(4 * Og * Kg) + align(4 * Kg * cols) + align(4 * Og * cols);
  const p0 = pool?.crashed ? undefined : pool;
  if (pool?.crashed) [pool, poolStarting] = [undefined, false];
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
    convGemm(x, w, q, res, m, base, p0, work);
  } finally {
    if (p0) p0.heap.free(base);
  }
  return res;
}

function convGemm(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  q: ConvPlan,
  res: Float32Array,
  m: WebAssembly.Memory,
  base: number,
  p0: WorkerPool | undefined,
  work: number,
): void {
  const { N, I, G, Og, nT, nY, Kg, cols, table, tapOff, outOff } = q;
  const align = (v: number) => Math.ceil(v / 64) * 64;
  const offW = base, offP = offW + align(4 * Og * Kg), offC = offP + align(4 * Kg * cols);
  const f = new Float32Array(m.buffer);
  for (let g = 0; g < G; g++) {
    for (let oo = 0; oo < Og; oo++) {
      for (let i = 0; i < I; i++) {
        const base = (g * Og + oo) * q.wO + i * q.wI;
        const row = offW / 4 + oo * Kg + i * nT;
        for (let ti = 0; ti < nT; ti++) f[row + ti] = w[base + tapOff[ti]];
      }
    }
    for (let i = 0; i < I; i++) {
      const c = g * I + i;
      for (let ti = 0; ti < nT; ti++) {
        const row = offP / 4 + (i * nT + ti) * cols;
        const tab = ti * nY;
        for (let n = 0; n < N; n++) {
          const base = n * q.xN + c * q.xC;
          const dst = row + n * nY;
          for (let yi = 0; yi < nY; yi++) {
            const off = table[tab + yi];
            f[dst + yi] = off < 0 ? 0 : x[base + off];
          }
        }
      }
    }
    const args = {
      m: Og,
      n: cols,
      k: Kg,
      a: offW,
      rsA: Kg,
      csA: 1,
      b: offP,
      rsB: cols,
      csB: 1,
      c: offC,
      ldc: cols,
      accumulate: false,
    };
    if (p0) {
      try {
        parallelSgemmSync(p0, args);
      } catch (e) {
        // the next call starts a fresh pool (single-threaded until it is up)
        if (pool === p0) [pool, poolStarting] = [undefined, false];
        throw new Error(
          `convGeneralDilated: the worker pool failed during this call (${
            (e as Error).message
          }); it has been replaced, so the next call works`,
        );
      }
    } else sgemmInto(m, { ...args, work });
    const fc = new Float32Array(m.buffer);
    for (let oo = 0; oo < Og; oo++) {
      const o = g * Og + oo;
      for (let n = 0; n < N; n++) {
        const src = offC / 4 + oo * cols + n * nY;
        const dst = n * q.oN + o * q.oC;
        for (let yi = 0; yi < nY; yi++) res[dst + outOff[yi]] = fc[src + yi];
      }
    }
  }
}
