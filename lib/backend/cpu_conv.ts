/**
 * Fast float32 convolution for the CPU backend: im2col into WebAssembly memory (one table lookup
 * per element, any layout, padding, strides and dilations), then the Wasm SIMD GEMM per feature
 * group, then a scatter into the output layout. Batch groups fall back to the reference.
 * @module
 */
import type { Aval, HostArray } from "../ops/_define.ts";
import type { ConvParams } from "../ops/conv_params.ts";
import { sizeOf, stridesOf } from "../shape.ts";
import { ensureMemoryBytes, sgemmInto, sgemmWorkspaceBytes } from "../../kernels/wasm/sgemm.ts";

let mem: WebAssembly.Memory | undefined;

/** For every (tap, output position): the lhs spatial offset read, or -1 for padding/holes. */
function offsetTable(X: number[], K: number[], Y: number[], p: ConvParams, lhsStrides: number[]): Int32Array {
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
      for (let d = nd - 1; d >= 0; d--) if (++y[d] < Y[d]) break; else y[d] = 0;
    }
    for (let d = nd - 1; d >= 0; d--) if (++t[d] < K[d]) break; else t[d] = 0;
  }
  return table;
}

/** Float32 convolution, or null when this path does not apply (then the reference runs). */
export function convF32(lhs: HostArray, rhs: HostArray, p: ConvParams, out: Aval): Float32Array | null {
  if (lhs.dtype !== "float32" || p.batchGroupCount !== 1) return null;
  const { lhs: ls, rhs: rs, out: os } = p.dimensionNumbers;
  const nd = ls.length - 2;
  const N = lhs.shape[ls[0]], C = lhs.shape[ls[1]], O = rhs.shape[rs[0]], I = rhs.shape[rs[1]];
  const X = ls.slice(2).map((a) => lhs.shape[a]);
  const K = rs.slice(2).map((a) => rhs.shape[a]);
  const Y = os.slice(2).map((a) => out.shape[a]);
  const res = new Float32Array(sizeOf(out.shape));
  const G = p.featureGroupCount, Og = O / G;
  const nT = sizeOf(K), nY = sizeOf(Y), Kg = I * nT, cols = N * nY;
  if (res.length === 0 || Kg === 0) return res;
  const sL = stridesOf(lhs.shape), sR = stridesOf(rhs.shape), sO = stridesOf(out.shape);
  const table = offsetTable(X, K, Y, p, ls.slice(2).map((a) => sL[a]));
  const align = (x: number) => Math.ceil(x / 64) * 64;
  const offW = 0, offP = align(4 * Og * Kg), offC = offP + align(4 * Kg * cols), work = offC + align(4 * Og * cols);
  mem ??= new WebAssembly.Memory({ initial: 16 });
  ensureMemoryBytes(mem, work + sgemmWorkspaceBytes());
  const f = new Float32Array(mem.buffer);
  const x = lhs.data, w = rhs.data;
  // rhs tap offsets (in its own layout) for each flat tap index
  const tapOff = new Int32Array(nT);
  const tt = new Array<number>(nd).fill(0);
  for (let ti = 0; ti < nT; ti++) {
    tapOff[ti] = tt.reduce((s, v, d) => s + v * sR[rs[2 + d]], 0);
    for (let d = nd - 1; d >= 0; d--) if (++tt[d] < K[d]) break; else tt[d] = 0;
  }
  // output spatial offsets for each flat output position
  const outOff = new Int32Array(nY);
  const yy = new Array<number>(nd).fill(0);
  for (let yi = 0; yi < nY; yi++) {
    outOff[yi] = yy.reduce((s, v, d) => s + v * sO[os[2 + d]], 0);
    for (let d = nd - 1; d >= 0; d--) if (++yy[d] < Y[d]) break; else yy[d] = 0;
  }
  for (let g = 0; g < G; g++) {
    for (let oo = 0; oo < Og; oo++) {
      const o = g * Og + oo;
      for (let i = 0; i < I; i++) {
        const base = o * sR[rs[0]] + i * sR[rs[1]];
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
          const base = n * sL[ls[0]] + c * sL[ls[1]];
          const dst = row + n * nY;
          for (let yi = 0; yi < nY; yi++) {
            const off = table[tab + yi];
            f[dst + yi] = off < 0 ? 0 : x[base + off];
          }
        }
      }
    }
    sgemmInto(mem, { m: Og, n: cols, k: Kg, a: offW, rsA: Kg, csA: 1, b: offP, rsB: cols, csB: 1, c: offC, ldc: cols, accumulate: false, work });
    const fc = new Float32Array(mem.buffer);
    for (let oo = 0; oo < Og; oo++) {
      const o = g * Og + oo;
      for (let n = 0; n < N; n++) {
        const src = offC / 4 + oo * cols + n * nY;
        const dst = n * sO[os[0]] + o * sO[os[1]];
        for (let yi = 0; yi < nY; yi++) res[dst + outOff[yi]] = fc[src + yi];
      }
    }
  }
  return res;
}
