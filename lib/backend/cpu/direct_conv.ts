/**
 * Float32 direct convolution on the CPU for few output features per group (where im2col + GEMM
 * would be a matrix-vector product): canonical-layout copies in Wasm memory, the generated SIMD
 * kernel (kernels/wasm/direct_conv.ts) split across the worker pool; padding never materialized.
 * @module
 */
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { ConvParams } from "../../ops/conv_params.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import {
  DIRECT_CONV_CONFIG,
  DIRECT_CONV_DESC as D,
  directConvFor,
} from "../../../kernels/wasm/direct_conv.ts";
import type { PoolTask, WorkerPool } from "./pool/pool.ts";
import { usablePool } from "./conv.ts";
import { PlanCache, scratchFor } from "./kernel_support.ts";

/**
 * Most output features per group for which the direct kernel is preferred over the implicit GEMM
 * (conv.ts): it re-reads the input once per output feature, so it wins at a few features, breaks
 * even around 6 and loses from 8 on.
 */
export const DIRECT_CONV_MAX_FEATURES = 4;

/** Shape and element type of an operand. */
type Typed = Pick<Aval, "shape" | "dtype">;

/**
 * Whether {@link directConvF32} can run this convolution: float32, at least one spatial dim, no
 * batch groups, no lhs (input) dilation, window stride 1 in the last spatial dim.
 *
 * @example
 * ```ts
 * import { resolveConvParams } from "../../ops/conv_params.ts";
 * const p = resolveConvParams([1, 1, 9], [1, 1, 3], [1], "SAME");
 * const f32 = (shape: number[]) => ({ shape, dtype: "float32" as const });
 * if (!directConvApplies(f32([1, 1, 9]), f32([1, 1, 3]), p)) throw new Error("should apply");
 * ```
 */
export function directConvApplies(lhs: Typed, rhs: Typed, p: ConvParams): boolean {
  const nd = p.dimensionNumbers.lhs.length - 2;
  return lhs.dtype === "float32" && rhs.dtype === "float32" && nd >= 1 &&
    p.batchGroupCount === 1 && p.lhsDilation.every((d) => d === 1) &&
    p.windowStrides[nd - 1] === 1;
}

/**
 * Whether the CPU backend should run this convolution with the direct kernel rather than im2col
 * + GEMM or a generated reduction kernel: it applies, and there are few output features per
 * group (or the im2col matrix would be too large to materialize). The compiler asks this for
 * convolutions above its small-kernel threshold.
 *
 * @example
 * ```ts
 * import { resolveConvParams } from "../../ops/conv_params.ts";
 * const p = resolveConvParams([1, 1, 1000], [1, 1, 101], [1], "VALID");
 * const f32 = (shape: number[]) => ({ shape, dtype: "float32" as const });
 * if (!prefersDirectConv(f32([1, 1, 1000]), f32([1, 1, 101]), f32([1, 1, 900]), p)) {
 *   throw new Error("should prefer the direct kernel");
 * }
 * ```
 */
export function prefersDirectConv(lhs: Typed, rhs: Typed, out: Typed, p: ConvParams): boolean {
  if (!directConvApplies(lhs, rhs, p)) return false;
  const O = rhs.shape[p.dimensionNumbers.rhs[0]];
  const outFeatures = O / p.featureGroupCount;
  const macs = sizeOf(out.shape) * sizeOf(rhs.shape) / Math.max(1, O);
  return outFeatures <= DIRECT_CONV_MAX_FEATURES || (4 * macs) / outFeatures > 2 ** 28;
}

/** Everything about one convolution's geometry that does not depend on the data. */
interface Plan {
  N: number;
  C: number;
  O: number;
  I: number;
  Og: number;
  YL: number;
  Yl: number;
  Xl: number;
  Kl: number;
  rd: number;
  lo: number;
  yA: number;
  yB: number;
  /** `[start, count]` per flat leading output index. */
  lead: Int32Array;
  /** `[x byte offset, w byte offset]` per valid leading tap. */
  pairs: Int32Array;
  xAxes: number[];
  wAxes: number[];
  yAxes: number[];
  xSize: number;
  wSize: number;
  ySize: number;
  /** Multiply-adds actually performed (valid leading taps; last-dim padding counted). */
  macs: number;
  /** Gather tables of x, w and y (see permuteTable), made on first use. */
  tabs?: (Int32Array | null)[];
}

const plans = new PlanCache<ConvParams, Plan>();

function planFor(lhsShape: number[], rhsShape: number[], outShape: number[], p: ConvParams): Plan {
  return plans.get(p, `${lhsShape}|${rhsShape}`, () => makePlan(lhsShape, rhsShape, outShape, p));
}

function makePlan(lhsShape: number[], rhsShape: number[], outShape: number[], p: ConvParams): Plan {
  const { lhs: ls, rhs: rs, out: os } = p.dimensionNumbers;
  const nd = ls.length - 2, last = nd - 1;
  const X = ls.slice(2).map((a) => lhsShape[a]);
  const K = rs.slice(2).map((a) => rhsShape[a]);
  const Y = os.slice(2).map((a) => outShape[a]);
  const O = rhsShape[rs[0]], I = rhsShape[rs[1]];
  const [Xl, Kl, Yl, rd, lo] = [X[last], K[last], Y[last], p.rhsDilation[last], p.padding[last][0]];
  const XLd = X.slice(0, last), KLd = K.slice(0, last), YLd = Y.slice(0, last);
  const YL = sizeOf(YLd), KLt = sizeOf(KLd);
  const xs = stridesOf(XLd), ks = stridesOf(KLd);
  const lead = new Int32Array(2 * YL), pairs: number[] = [];
  const y = new Array<number>(last).fill(0), k = new Array<number>(last).fill(0);
  const bump = (ix: number[], dims: number[]) => {
    for (let d = ix.length - 1; d >= 0; d--) {
      if (++ix[d] < dims[d]) break;
      ix[d] = 0;
    }
  };
  for (let yl = 0; yl < YL; yl++, bump(y, YLd)) {
    lead[2 * yl] = pairs.length / 2;
    k.fill(0);
    for (let kt = 0; kt < KLt; kt++, bump(k, KLd)) {
      let xoff = 0, koff = 0;
      for (let d = 0; d < last && xoff >= 0; d++) {
        const q = y[d] * p.windowStrides[d] + k[d] * p.rhsDilation[d] - p.padding[d][0];
        xoff = q < 0 || q >= X[d] ? -1 : xoff + q * xs[d];
        koff += k[d] * ks[d];
      }
      if (xoff >= 0) pairs.push(4 * Xl * xoff, 4 * Kl * koff);
    }
    lead[2 * yl + 1] = pairs.length / 2 - lead[2 * yl];
  }
  const N = lhsShape[ls[0]], C = lhsShape[ls[1]];
  return {
    N,
    C,
    O,
    I,
    Og: O / p.featureGroupCount,
    YL,
    Yl,
    Xl,
    Kl,
    rd,
    lo,
    yA: Math.max(0, lo),
    yB: Math.min(Yl, Xl + lo - (Kl - 1) * rd),
    lead,
    pairs: new Int32Array(pairs),
    xAxes: ls,
    wAxes: rs,
    yAxes: os,
    xSize: sizeOf(lhsShape),
    wSize: sizeOf(rhsShape),
    ySize: sizeOf(outShape),
    macs: N * O * I * (pairs.length / 2) * Yl * Kl,
  };
}

/**
 * Copies between `canon` (from element `at`; row-major over the axes of `shape` taken in `axes`
 * order) and `arr` (row-major `shape`), in the direction `toCanon` says.
 */
function permuteCopy(
  canon: Float32Array,
  at: number,
  arr: Float32Array,
  shape: number[],
  axes: number[],
  toCanon: boolean,
): void {
  const total = sizeOf(shape);
  if (total === 0) return;
  if (axes.every((a, i) => a === i)) {
    if (toCanon) canon.set(arr, at);
    else arr.set(canon.subarray(at, at + total));
    return;
  }
  const st = stridesOf(shape), nd = axes.length;
  const dims = axes.map((a) => shape[a]), s = axes.map((a) => st[a]);
  const len = dims[nd - 1], ls = s[nd - 1];
  const ix = new Array<number>(nd - 1).fill(0);
  let c = at;
  for (let r = 0; r < total / len; r++) {
    let off = 0;
    for (let d = 0; d < nd - 1; d++) off += ix[d] * s[d];
    if (toCanon) { for (let j = 0; j < len; j++, off += ls) canon[c++] = arr[off]; }
    else for (let j = 0; j < len; j++, off += ls) arr[off] = canon[c++];
    for (let d = nd - 2; d >= 0; d--) {
      if (++ix[d] < dims[d]) break;
      ix[d] = 0;
    }
  }
}

/** Operands up to this size are permuted through a cached index table. */
const TABLE_MAX = 1 << 20;

/**
 * For each canonical element (row-major over the axes of `shape` in `axes` order), the index of
 * the same element in row-major `shape`; null for the identity permutation or large operands.
 */
function permuteTable(shape: number[], axes: number[]): Int32Array | null {
  const total = sizeOf(shape);
  if (axes.every((a, i) => a === i) || total > TABLE_MAX) return null;
  const tab = new Int32Array(total), st = stridesOf(shape), nd = axes.length;
  const ix = new Array<number>(nd).fill(0);
  for (let c = 0; c < total; c++) {
    let off = 0;
    for (let d = 0; d < nd; d++) off += ix[d] * st[axes[d]];
    tab[c] = off;
    for (let d = nd - 1; d >= 0; d--) {
      if (++ix[d] < shape[axes[d]]) break;
      ix[d] = 0;
    }
  }
  return tab;
}

/** permuteCopy through a table from permuteTable (or the general loop without one). */
function permuteVia(
  tab: Int32Array | null,
  canon: Float32Array,
  at: number,
  arr: Float32Array,
  shape: number[],
  axes: number[],
  toCanon: boolean,
): void {
  if (!tab) return permuteCopy(canon, at, arr, shape, axes, toCanon);
  const n = tab.length;
  if (toCanon) { for (let c = 0; c < n; c++) canon[at + c] = arr[tab[c]]; }
  else for (let c = 0; c < n; c++) arr[tab[c]] = canon[at + c];
}

/** Splits rows × columns into at most `parts` tasks of `[r0, r1, c0, c1]`. */
function split(q: Plan, parts: number): [number, number, number, number][] {
  const rows = q.N * q.O * q.YL, block = 4 * DIRECT_CONV_CONFIG.u;
  const byCols = rows % parts !== 0 && rows < 8 * parts && q.Yl >= parts * block;
  const total = byCols ? Math.ceil(q.Yl / block) : rows;
  const p = Math.max(1, Math.min(parts, total));
  const out: [number, number, number, number][] = [];
  for (let t = 0, start = 0; t < p; t++) {
    const n = Math.floor(total / p) + (t < total % p ? 1 : 0);
    if (byCols) out.push([0, rows, start * block, Math.min(q.Yl, (start + n) * block)]);
    else out.push([start, start + n, 0, q.Yl]);
    start += n;
  }
  return out;
}

/** Options of {@link directConvF32} (for tests and benchmarks). */
export interface DirectConvOptions {
  /** The pool to run on; `null` runs single-threaded in a private memory (default: the CPU pool). */
  pool?: WorkerPool | null;
  /** Below this many FLOPs nothing is handed to workers (default: the pool's, 2^23). */
  minParallelFlops?: number;
}

const align = (v: number) => Math.ceil(v / 64) * 64;
/** The descriptor being filled (every field is written per call; copied into Wasm memory). */
const descScratch = new Int32Array(D.size);

/**
 * Float32 `convGeneralDilated` with the direct Wasm SIMD kernel, or null when it does not apply
 * (see {@link directConvApplies}; the caller then takes another path). Every output is
 * `0 + Σ_i Σ_taps w·x` in float32 in a fixed order: results do not depend on the thread count.
 * Padding is skipped, never multiplied, so non-finite kernels behave as in the reference.
 *
 * @example
 * ```ts
 * import { resolveConvParams } from "../../ops/conv_params.ts";
 * const p = resolveConvParams([1, 1, 4], [1, 1, 2], [1], "VALID");
 * const x = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 1, 4], dtype: "float32" as const };
 * const w = { data: new Float32Array([1, 10]), shape: [1, 1, 2], dtype: "float32" as const };
 * const y = directConvF32(x, w, p, { shape: [1, 1, 3], dtype: "float32", weak: false });
 * if (y?.join() !== "21,32,43") throw new Error("unexpected");
 * ```
 */
export function directConvF32(
  lhs: HostArray,
  rhs: HostArray,
  p: ConvParams,
  out: Aval,
  opts: DirectConvOptions = {},
  dest?: Float32Array,
): Float32Array | null {
  if (!directConvApplies(lhs, rhs, p)) return null;
  const x = lhs.data, w = rhs.data;
  if (!(x instanceof Float32Array) || !(w instanceof Float32Array)) return null;
  const q = planFor(lhs.shape, rhs.shape, out.shape, p);
  if (q.ySize === 0 || q.macs === 0) return new Float32Array(q.ySize);
  const offDesc = 0, offLead = 128, offPairs = offLead + align(4 * q.lead.length);
  const offW = offPairs + align(4 * q.pairs.length), offX = offW + align(4 * q.wSize);
  const offY = offX + align(4 * q.xSize), bytes = offY + align(4 * q.ySize);
  if (bytes >= 2 ** 32 - 2 ** 26) return null;
  const flops = 2 * q.macs;
  // work too small to split runs here: handing one task to a worker only adds the hand-off
  const p0 = opts.pool === undefined ? usablePool(flops >= 2 ** 23) : opts.pool ?? undefined;
  const pool = p0 && (opts.pool !== undefined || flops >= p0.minParallelFlops) ? p0 : undefined;
  const sc = scratchFor(bytes, pool);
  if (!sc) return null; // NOTE: the memory cannot grow that far; another path may still manage
  const { base, memory: m } = sc;
  try {
    const f = new Float32Array(m.buffer), i32 = new Int32Array(m.buffer);
    const desc = descScratch;
    desc[D.O] = q.O;
    desc[D.YL] = q.YL;
    desc[D.Og] = q.Og;
    desc[D.I] = q.I;
    desc[D.x] = base + offX;
    desc[D.w] = base + offW;
    desc[D.y] = base + offY;
    desc[D.xN] = 4 * q.xSize / q.N;
    desc[D.xC] = 4 * q.xSize / q.N / q.C;
    desc[D.wO] = 4 * q.wSize / q.O;
    desc[D.wI] = 4 * q.wSize / q.O / q.I;
    desc[D.Yl] = q.Yl;
    desc[D.Xl] = q.Xl;
    desc[D.Kl] = q.Kl;
    desc[D.rd] = q.rd;
    desc[D.lo] = q.lo;
    desc[D.lead] = base + offLead;
    desc[D.pairs] = base + offPairs;
    desc[D.yA] = q.yA;
    desc[D.yB] = q.yB;
    i32.set(desc, (base + offDesc) / 4);
    i32.set(q.lead, (base + offLead) / 4);
    i32.set(q.pairs, (base + offPairs) / 4);
    const tabs = q.tabs ??= [
      permuteTable(lhs.shape, q.xAxes),
      permuteTable(rhs.shape, q.wAxes),
      permuteTable(out.shape, q.yAxes),
    ];
    permuteVia(tabs[1], f, (base + offW) / 4, w, rhs.shape, q.wAxes, true);
    permuteVia(tabs[0], f, (base + offX) / 4, x, lhs.shape, q.xAxes, true);
    run(q, base + offDesc, flops, pool, opts.minParallelFlops, m);
    const y = new Float32Array(m.buffer, base + offY, q.ySize);
    const res = dest?.length === q.ySize ? dest : new Float32Array(q.ySize);
    if (q.yAxes.every((a, i) => a === i)) {
      res.set(y);
      return res;
    }
    permuteVia(tabs[2], y, 0, res, out.shape, q.yAxes, false);
    return res;
  } finally {
    sc.release();
  }
}

function run(
  q: Plan,
  desc: number,
  flops: number,
  pool: WorkerPool | undefined,
  minFlops: number | undefined,
  m: WebAssembly.Memory,
): void {
  const whole = [0, q.N * q.O * q.YL, 0, q.Yl];
  if (!pool) return void directConvFor(m)(desc, whole[0], whole[1], whole[2], whole[3]);
  const parallel = !pool.busy && flops >= (minFlops ?? pool.minParallelFlops);
  const op = pool.op("directConv");
  const tasks: PoolTask[] = split(q, parallel ? pool.threads : 1).map((t) => ({
    op,
    args: [desc, ...t],
  }));
  try {
    // a task taking longer than at 20 MFLOP/s (and 2 s) means its worker is gone
    pool.runSync(tasks, Math.max(2_000, flops / 2e4 / tasks.length));
  } catch (e) {
    if (!pool.crashed) throw e;
    throw new Error(
      `convGeneralDilated: the worker pool failed during this call (${
        (e as Error).message
      }); it is being replaced, so the next call works`,
    );
  }
}
