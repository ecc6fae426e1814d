/**
 * Float32 convolutions whose output feature is the minor dim (NHWC/HWIO and their gradients) on
 * the calling thread, read in place: no layout copy of x or y, the kernel vectorised along the
 * output feature (kernels/wasm/cl_conv.ts), blocks and valid-tap lists precomputed per shape.
 * @module
 */
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { ConvParams } from "../../ops/conv_params.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import {
  CL_CONV_DESC as D,
  CL_CONV_ENTRY,
  CL_CONV_MAX_BLOCK,
  type ClConvExport,
  clConvFor,
} from "../../../kernels/wasm/cl_conv.ts";
import { PlanCache } from "./kernel_support.ts";
import { allocHost } from "../../host_alloc.ts";

/** Shape and element type of an operand. */
type Typed = Pick<Aval, "shape" | "dtype">;

/** Most multiply-adds run by this path (above, the pool's GEMM and direct kernels win). */
export const CL_CONV_MAX_MACS = 1 << 21;

/**
 * Whether {@link clConvF32} can run this convolution: float32, at least one spatial dim, no batch
 * groups, no lhs dilation, the output feature the minor dim of the output and of the kernel
 * layout (or a kernel small enough to transpose), and at least 4 output features per group.
 *
 * @example
 * ```ts
 * import { resolveConvParams } from "../../ops/conv_params.ts";
 * const dimensionNumbers: [string, string, string] = ["NHWC", "HWIO", "NHWC"];
 * const p = resolveConvParams([2, 10, 11, 5], [2, 3, 5, 4], [1, 1], "VALID", { dimensionNumbers });
 * const f32 = (shape: number[]) => ({ shape, dtype: "float32" as const });
 * if (!clConvApplies(f32([2, 10, 11, 5]), f32([2, 3, 5, 4]), f32([2, 9, 9, 4]), p)) {
 *   throw new Error("should apply");
 * }
 * ```
 */
export function clConvApplies(lhs: Typed, rhs: Typed, out: Typed, p: ConvParams): boolean {
  const { lhs: ls, rhs: rs, out: os } = p.dimensionNumbers;
  const nd = ls.length - 2;
  if (lhs.dtype !== "float32" || rhs.dtype !== "float32" || nd < 1) return false;
  if (p.batchGroupCount !== 1 || p.lhsDilation.some((d) => d !== 1)) return false;
  if (os[1] !== os.length - 1) return false;
  const O = rhs.shape[rs[0]];
  if (O / p.featureGroupCount < 4) return false;
  const macs = sizeOf(out.shape) * sizeOf(rhs.shape) / O;
  return macs > 0 && macs <= CL_CONV_MAX_MACS;
}

/** One convolution's blocks and tap lists, laid out for the kernel, and its memory layout. */
interface Plan {
  lhsShape: number[];
  rhsShape: number[];
  /** Descriptor words then entries then runs (position independent). */
  tables: Int32Array;
  /** Byte offsets of w, x and y in the data region, and its bytes. */
  wOff: number;
  xOff: number;
  yOff: number;
  bytes: number;
  /** Where the tables are in the memory, valid while `gen` is the current generation. */
  at: number;
  gen: number;
  /** x, w, y sizes (elements). */
  xSize: number;
  wSize: number;
  ySize: number;
  /** For a kernel whose output feature is not its minor dim: the transposing gather. */
  wTable: Int32Array | null;
}

const align = (v: number) => Math.ceil(v / 64) * 64;

/** Valid tap range [k0, k1) of one spatial dim at output position y. */
function tapRange(y: number, s: number, rd: number, lo: number, X: number, K: number) {
  const base = y * s - lo;
  const k0 = Math.max(0, Math.ceil(-base / rd));
  const k1 = Math.min(K, Math.floor((X - 1 - base) / rd) + 1);
  return k1 > k0 ? [k0, k1] : [0, 0];
}

/** Geometry in elements: strides of x, w (output feature contiguous) and y, per role. */
function geometry(lhsShape: number[], rhsShape: number[], outShape: number[], p: ConvParams) {
  const { lhs: ls, rhs: rs, out: os } = p.dimensionNumbers;
  const nd = ls.length - 2;
  const xs = stridesOf(lhsShape), ys = stridesOf(outShape);
  const O = rhsShape[rs[0]], I = rhsShape[rs[1]];
  const K = rs.slice(2).map((a) => rhsShape[a]);
  let ws = stridesOf(rhsShape), wTable: Int32Array | null = null;
  if (ws[rs[0]] !== 1) {
    // copy the kernel into [taps..., I, O] order (kernels are small next to their images)
    const order = [...rs.slice(2), rs[1], rs[0]];
    const cs = stridesOf(order.map((a) => rhsShape[a]));
    ws = new Array(rhsShape.length);
    order.forEach((a, i) => (ws[a] = cs[i]));
    wTable = new Int32Array(sizeOf(rhsShape));
    const ix = new Array<number>(order.length).fill(0), st = stridesOf(rhsShape);
    for (let c = 0; c < wTable.length; c++) {
      let off = 0;
      for (let d = 0; d < order.length; d++) off += ix[d] * st[order[d]];
      wTable[c] = off;
      for (let d = order.length - 1; d >= 0; d--) {
        if (++ix[d] < rhsShape[order[d]]) break;
        ix[d] = 0;
      }
    }
  }
  return {
    nd,
    N: lhsShape[ls[0]],
    O,
    I,
    G: p.featureGroupCount,
    X: ls.slice(2).map((a) => lhsShape[a]),
    K,
    Y: os.slice(2).map((a) => outShape[a]),
    xN: xs[ls[0]],
    xC: xs[ls[1]],
    xS: ls.slice(2).map((a) => xs[a]),
    wI: ws[rs[1]],
    wS: rs.slice(2).map((a) => ws[a]),
    yN: ys[os[0]],
    yS: os.slice(2).map((a) => ys[a]),
    wTable,
  };
}

type Geo = ReturnType<typeof geometry>;

/** The pair list (x, w element offsets of every valid tap × input feature) of a tap box. */
function pairList(g: Geo, p: ConvParams, box: number[][]): number[] {
  const out: number[] = [];
  const k = box.map((r) => r[0]);
  if (box.some((r) => r[1] <= r[0])) return out;
  for (;;) {
    let xo = 0, wo = 0;
    for (let d = 0; d < g.nd; d++) {
      xo += k[d] * p.rhsDilation[d] * g.xS[d];
      wo += k[d] * g.wS[d];
    }
    for (let i = 0; i < g.I; i++) out.push(xo + i * g.xC, wo + i * g.wI);
    let d = g.nd - 1;
    for (; d >= 0; d--) {
      if (++k[d] < box[d][1]) break;
      k[d] = box[d][0];
    }
    if (d < 0) return out;
  }
}

/** The most frequent step between consecutive pairs of the lists (element offsets of x, w). */
function commonStep(lists: number[][]): [number, number] {
  const seen = new Map<string, number>();
  let best: [number, number] = [0, 0], most = 0;
  for (const l of lists) {
    for (let j = 2; j < l.length; j += 2) {
      const k = `${l[j] - l[j - 2]},${l[j + 1] - l[j - 1]}`, n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      if (n > most) (most = n), (best = [l[j] - l[j - 2], l[j + 1] - l[j - 1]]);
    }
  }
  return best;
}

/** A pair list as runs `[x byte offset, w byte offset, count]` of pairs `step` apart. */
function runsOf(l: number[], xStep: number, wStep: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < l.length;) {
    let n = 1;
    while (
      j + 2 * n < l.length && l[j + 2 * n] === l[j] + n * xStep &&
      l[j + 2 * n + 1] === l[j + 1] + n * wStep
    ) n++;
    out.push(4 * l[j], 4 * l[j + 1], n);
    j += 2 * n;
  }
  return out;
}

/** Splits a run of `len` pixels into blocks of at most CL_CONV_MAX_BLOCK, near-equal. */
function blocksOf(len: number): number[] {
  const n = Math.ceil(len / CL_CONV_MAX_BLOCK), out: number[] = [];
  for (let b = 0; b < n; b++) out.push(Math.floor(len / n) + (b < len % n ? 1 : 0));
  return out;
}

/**
 * Blocks as [P, x origin, y origin, box index] (element offsets; origins of the first pixel),
 * blocking along the last spatial dim (`byBatch` false) or along the batch.
 */
function makeBlocks(g: Geo, p: ConvParams, byBatch: boolean, boxes: Map<string, number>) {
  const nd = g.nd, last = nd - 1, out: number[] = [];
  const YL = sizeOf(g.Y);
  const boxOf = (y: number[]) => {
    const box = y.map((v, d) =>
      tapRange(v, p.windowStrides[d], p.rhsDilation[d], p.padding[d][0], g.X[d], g.K[d])
    );
    const key = box.join(";");
    let b = boxes.get(key);
    if (b === undefined) boxes.set(key, b = boxes.size);
    return b;
  };
  const origin = (y: number[], n: number) => {
    let xo = n * g.xN, yo = n * g.yN;
    for (let d = 0; d < nd; d++) {
      xo += (y[d] * p.windowStrides[d] - p.padding[d][0]) * g.xS[d];
      yo += y[d] * g.yS[d];
    }
    return [xo, yo];
  };
  const y = new Array<number>(nd).fill(0);
  for (let flat = 0; flat < YL; flat++) {
    let r = flat;
    for (let d = nd - 1; d >= 0; d--) (y[d] = r % g.Y[d]), (r = Math.floor(r / g.Y[d]));
    if (byBatch) {
      const b = boxOf(y);
      let n = 0;
      for (const len of blocksOf(g.N)) out.push(len, ...origin(y, n), b), (n += len);
    } else if (y[last] === 0) {
      for (let n = 0; n < g.N; n++) {
        // runs of equal tap boxes along the last dim
        for (let c = 0; c < g.Y[last];) {
          const b = boxOf(y.map((v, d) => (d === last ? c : v)));
          let e = c + 1;
          while (e < g.Y[last] && boxOf(y.map((v, d) => (d === last ? e : v))) === b) e++;
          for (const len of blocksOf(e - c)) {
            out.push(len, ...origin(y.map((v, d) => (d === last ? c : v)), n), b);
            c += len;
          }
        }
      }
    }
  }
  return out;
}

function makePlan(lhsShape: number[], rhsShape: number[], outShape: number[], p: ConvParams) {
  const g = geometry(lhsShape, rhsShape, outShape, p);
  const last = g.nd - 1;
  const byBatch = blocksOf(g.N).length * g.Y[last] < g.N * blocksOf(g.Y[last]).length;
  const boxes = new Map<string, number>();
  const blocks = makeBlocks(g, p, byBatch, boxes);
  const lists = [...boxes.keys()].map((k) =>
    pairList(g, p, k.split(";").map((r) => r.split(",").map(Number)))
  );
  const [xStep, wStep] = commonStep(lists);
  const runLists = lists.map((l) => runsOf(l, xStep, wStep));
  const Og = g.O / g.G, nEntries = g.G * blocks.length / 4;
  const offEntries = 64, offPairs = offEntries + align(4 * CL_CONV_ENTRY * nEntries);
  const listAt: number[] = [];
  let pairWords = 0;
  for (const l of runLists) listAt.push(offPairs + 4 * pairWords), (pairWords += l.length);
  const xSize = sizeOf(lhsShape), wSize = sizeOf(rhsShape), ySize = sizeOf(outShape);
  const wOff = 0, xOff = align(4 * wSize + 16), yOff = xOff + align(4 * xSize);
  const tables = new Int32Array((offPairs + align(4 * pairWords)) / 4);
  tables[D.entries] = offEntries;
  tables[D.count] = nEntries;
  tables[D.xP] = 4 * (byBatch ? g.xN : p.windowStrides[last] * g.xS[last]);
  tables[D.yP] = 4 * (byBatch ? g.yN : g.yS[last]);
  tables[D.chunks] = Math.ceil(Og / 4);
  tables[D.tail] = Og - 4 * (Math.ceil(Og / 4) - 1);
  tables[D.xS] = 4 * xStep;
  tables[D.wS] = 4 * wStep;
  let e = offEntries / 4;
  for (let gr = 0; gr < g.G; gr++) {
    for (let b = 0; b < blocks.length; b += 4) {
      const [P, xo, yo, box] = blocks.slice(b, b + 4);
      tables.set([
        P,
        xOff + 4 * (xo + gr * g.I * g.xC),
        wOff + 4 * gr * Og,
        yOff + 4 * (yo + gr * Og),
        listAt[box],
        listAt[box] + 4 * runLists[box].length,
      ], e);
      e += CL_CONV_ENTRY;
    }
  }
  runLists.forEach((l, i) => tables.set(l, listAt[i] / 4));
  const bytes = yOff + align(4 * ySize), at = 0, gen = -1;
  return {
    lhsShape,
    rhsShape,
    tables,
    wOff,
    xOff,
    yOff,
    bytes,
    at,
    gen,
    xSize,
    wSize,
    ySize,
    wTable: g.wTable,
  };
}

const byParams = new WeakMap<ConvParams, Plan>();
const byText = new PlanCache<ConvParams, Plan>();

function sameShape(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function planFor(lhs: number[], rhs: number[], out: number[], p: ConvParams): Plan {
  const q = byParams.get(p);
  if (q && sameShape(q.lhsShape, lhs) && sameShape(q.rhsShape, rhs)) return q;
  const made = byText.get(p, `${lhs}|${rhs}`, () => makePlan(lhs, rhs, out, p));
  byParams.set(p, made);
  return made;
}

/** The private memory of this path, the plan whose tables it holds, and a view of it. */
let memory: WebAssembly.Memory | undefined;
let view: Float32Array<ArrayBuffer | SharedArrayBuffer> = new Float32Array(0);
let words: Int32Array<ArrayBuffer | SharedArrayBuffer> = new Int32Array(0);
let kernel: ClConvExport | undefined;
/**
 * The tables of recently used plans stay in memory (a program's convolutions alternate), placed
 * one after another from byte 0 up to `tableTop`; past TABLE_BYTES a new generation starts over.
 */
let tableTop = 0, generation = 0;
const TABLE_BYTES = 1 << 22;

/** Places `q`'s tables in memory unless they are there; returns the data region's byte offset. */
function placeTables(q: Plan, m: WebAssembly.Memory): number {
  if (q.gen !== generation) {
    const bytes = 4 * q.tables.length;
    if (tableTop + bytes > TABLE_BYTES && tableTop > 0) (generation++), (tableTop = 0);
    q.at = tableTop;
    q.gen = generation;
    tableTop += align(bytes);
    grow(m, tableTop);
    words.set(q.tables, q.at >> 2);
  }
  return tableTop;
}

function grow(m: WebAssembly.Memory, bytes: number): void {
  const have = m.buffer.byteLength;
  if (bytes > have) m.grow(Math.ceil((bytes - have) / 65536));
  if (view.buffer !== m.buffer) {
    (view = new Float32Array(m.buffer)), (words = new Int32Array(m.buffer));
  }
}

/**
 * Float32 `convGeneralDilated` with the channels-last kernel, or null when it does not apply
 * (see {@link clConvApplies}). Every output is `0 + Σ_taps Σ_i w·x` over the valid taps in
 * row-major tap order, in float32 (multiply-adds fused where the CPU has relaxed SIMD FMA).
 * Padding is skipped, never multiplied, so non-finite kernels behave as in the reference.
 *
 * @example
 * ```ts
 * import { resolveConvParams } from "../../ops/conv_params.ts";
 * const dimensionNumbers: [string, string, string] = ["NWC", "WIO", "NWC"];
 * const p = resolveConvParams([1, 3, 1], [2, 1, 4], [1], "VALID", { dimensionNumbers });
 * const x = { data: new Float32Array([1, 2, 3]), shape: [1, 3, 1], dtype: "float32" as const };
 * const w = { data: new Float32Array([1, 1, 1, 1, 10, 10, 10, 10]), shape: [2, 1, 4], dtype: "float32" as const };
 * const y = clConvF32(x, w, p, { shape: [1, 2, 4], dtype: "float32", weak: false });
 * if (y?.join() !== "21,21,21,21,32,32,32,32") throw new Error("unexpected");
 * ```
 */
export function clConvF32(
  lhs: HostArray,
  rhs: HostArray,
  p: ConvParams,
  out: Aval,
  dest?: Float32Array,
): Float32Array | null {
  const x = lhs.data, w = rhs.data;
  if (!(x instanceof Float32Array) || !(w instanceof Float32Array)) return null;
  if (!clConvApplies(lhs, rhs, out, p)) return null;
  const q = planFor(lhs.shape, rhs.shape, out.shape, p);
  if (!memory) kernel = clConvFor(memory = new WebAssembly.Memory({ initial: 16 }));
  grow(memory, 0);
  const data = placeTables(q, memory);
  grow(memory, data + q.bytes);
  const f = view, d = data >> 2;
  words[(q.at >> 2) + D.data] = data;
  const wt = q.wTable;
  if (wt) { for (let c = 0, at = d + (q.wOff >> 2); c < wt.length; c++) f[at + c] = w[wt[c]]; }
  else f.set(w, d + (q.wOff >> 2));
  f.set(x, d + (q.xOff >> 2));
  kernel!(q.at);
  const res = dest?.length === q.ySize ? dest : allocHost("float32", q.ySize) as Float32Array;
  res.set(f.subarray(d + (q.yOff >> 2), d + (q.yOff >> 2) + q.ySize));
  return res;
}
