/**
 * Random `lax.convGeneralDilated` cases for property_test.ts: a fast-check arbitrary of raw
 * parameters (shrinks towards small, plain cases), their resolution into shapes, layouts and
 * options, a printable reproduction, and the forward + vjp computation on one backend.
 * @module
 */
import fc from "fast-check";
import { jit, lax, np, type Tensor, vjp } from "../mod.ts";
import {
  type FloatDType,
  hostData,
  type HostResult,
  show,
  sizeOf,
  tensorOf,
  toHost,
} from "./_prop_util.ts";

/** Raw, independently shrinkable parameters of one convolution case. */
export interface RawConv {
  n: number;
  dtype: FloatDType;
  /** 0: no groups, 1: feature groups, 2: batch groups. */
  groupKind: number;
  groups: number;
  batchPerGroup: number;
  inPerGroup: number;
  outPerGroup: number;
  X: number[];
  K: number[];
  strides: number[];
  lhsDil: number[];
  rhsDil: number[];
  /** 0: explicit pads, 1: "VALID", 2: "SAME", 3: "SAME_LOWER", 4: "same", 5: "valid", 6: "Same_Lower". */
  padKind: number;
  pads: [number, number][];
  /** 0: default layout, 1: dimension-number strings, 2: integer dimension numbers. */
  layoutKind: number;
  lhsPerm: number[];
  rhsPerm: number[];
  outPerm: number[];
  letters: number;
  seed: number;
  /** Larger sizes, so that float32 takes the im2col + Wasm GEMM path of the cpu backend. */
  big: boolean;
  /** Non-finite values written into the operands: [operand (0 lhs, 1 rhs), position seed, 0 NaN | 1 Inf | 2 -Inf]. */
  poison: [number, number, number][];
}

const PAD_STRINGS = ["", "VALID", "SAME", "SAME_LOWER", "same", "valid", "Same_Lower"];
const LETTER_SETS = ["HWD", "XYZ", "012", "abc", "WDH"];

/** Per spatial rank: [max input size, max kernel size]. */
const LIMITS: Record<number, [number, number]> = { 0: [0, 0], 1: [7, 4], 2: [5, 3], 3: [3, 2] };

const triple = (arb: fc.Arbitrary<number>) => fc.array(arb, { minLength: 3, maxLength: 3 });
/** A permutation of [0, .., 4] as a shrinkable list of sort keys. */
const perm = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 5, maxLength: 5 });

/** A size in [1, max], zero now and then (zero-size operands are legal in lax). */
function dim(max: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 40, arbitrary: fc.integer({ min: 1, max }) },
    { weight: 1, arbitrary: fc.constant(0) },
  );
}

/**
 * Arbitrary raw convolution parameters. Small cases: spatial rank 1-3 (0 now and then), tiny
 * sizes. Big cases: float32, rank 2, stride <= 2, no batch groups, sizes that make the cpu
 * backend's im2col GEMM path likely (`ConvCase.gemm` says whether it does).
 */
export function rawConvArb(big = false, poison = false): fc.Arbitrary<RawConv> {
  return fc.record({
    n: big ? fc.constant(2) : fc.oneof(
      { weight: 1, arbitrary: fc.constant(0) },
      { weight: 15, arbitrary: fc.integer({ min: 1, max: 3 }) },
    ),
    dtype: big
      ? fc.constant<FloatDType>("float32")
      : fc.constantFrom<FloatDType>("float32", "float64"),
    groupKind: fc.integer({ min: 0, max: big ? 1 : 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    batchPerGroup: big ? fc.integer({ min: 2, max: 4 }) : dim(2),
    inPerGroup: big ? fc.integer({ min: 3, max: 6 }) : dim(3),
    outPerGroup: big ? fc.integer({ min: 8, max: 16 }) : dim(3),
    X: triple(big ? fc.integer({ min: 12, max: 20 }) : dim(7)),
    K: triple(big ? fc.integer({ min: 2, max: 4 }) : dim(4)),
    strides: triple(fc.integer({ min: 1, max: big ? 2 : 3 })),
    lhsDil: triple(fc.integer({ min: 1, max: big ? 2 : 3 })),
    rhsDil: triple(fc.integer({ min: 1, max: big ? 2 : 3 })),
    padKind: fc.integer({ min: 0, max: 6 }),
    pads: fc.array(fc.tuple(fc.integer({ min: -3, max: 4 }), fc.integer({ min: -3, max: 4 })), {
      minLength: 3,
      maxLength: 3,
    }),
    layoutKind: fc.integer({ min: 0, max: 2 }),
    lhsPerm: perm,
    rhsPerm: perm,
    outPerm: perm,
    letters: fc.integer({ min: 0, max: LETTER_SETS.length - 1 }),
    seed: fc.integer({ min: 0, max: 1 << 30 }),
    big: fc.constant(big),
    poison: poison
      ? fc.array(
        fc.tuple(fc.integer({ min: 0, max: 1 }), fc.nat(), fc.integer({ min: 0, max: 2 })),
        { minLength: 1, maxLength: 3 },
      )
      : fc.constant([]),
  });
}

/**
 * Logical geometry: permutations put logical axis j (0: batch / out-feature, 1: feature /
 * in-feature, 2 + i: spatial i) at position `p[j]` of the lhs, rhs and out arrays.
 */
export interface Geometry {
  lp: number[];
  rp: number[];
  op: number[];
  pads: [number, number][];
  strides: number[];
  lhsDil: number[];
  rhsDil: number[];
  X: number[];
  K: number[];
  Y: number[];
  N: number;
  O: number;
  I: number;
  G: number;
  B: number;
}

/** A fully resolved case: shapes and the exact arguments passed to convGeneralDilated. */
export interface ConvCase {
  dtype: FloatDType;
  lhsShape: number[];
  rhsShape: number[];
  strides: number[];
  padding: string | [number, number][];
  opts: {
    lhsDilation?: number[];
    rhsDilation?: number[];
    dimensionNumbers?: [string, string, string] | { lhs: number[]; rhs: number[]; out: number[] };
    featureGroupCount?: number;
    batchGroupCount?: number;
  };
  /** Largest number of products summed into one output (forward or gradient). */
  reduction: number;
  /** Rough work estimate (multiply-adds of forward and both gradients). */
  cost: number;
  /** True when the cpu backend runs the forward conv as im2col + Wasm GEMM (not the direct loop). */
  gemm: boolean;
  /** Logical geometry for the independent oracle ({@linkcode naiveConv}). */
  geom: Geometry;
  /** See {@linkcode RawConv}. */
  poison: [number, number, number][];
  seed: number;
}

function permutation(keys: number[], len: number): number[] {
  return [...Array(len).keys()].sort((a, b) => keys[a] - keys[b] || a - b);
}

function clampDims(v: number[], n: number, max: number): number[] {
  return v.slice(0, n).map((d) => Math.min(d, max));
}

/** Resolves raw parameters into a valid convolution case. */
export function resolveCase(r: RawConv): ConvCase {
  const n = r.n;
  const [maxX, maxK] = LIMITS[n];
  const X = clampDims(r.X, n, r.big ? 20 : maxX), K = clampDims(r.K, n, r.big ? 4 : maxK);
  const strides = r.strides.slice(0, n), rhsDil = r.rhsDil.slice(0, n);
  const G = r.groupKind === 1 ? r.groups : 1, B = r.groupKind === 2 ? r.groups : 1;
  const N = B * r.batchPerGroup, I = r.inPerGroup, C = G * I, O = Math.max(G, B) * r.outPerGroup;
  let lhsDil = r.lhsDil.slice(0, n);
  let padding: string | [number, number][];
  if (r.padKind === 0 || n === 0) {
    padding = X.map((x, i): [number, number] => {
      const xd = x === 0 ? 0 : (x - 1) * lhsDil[i] + 1;
      let [lo, hi] = r.pads[i];
      lo = Math.max(lo, -xd);
      hi = Math.max(hi, -(xd + lo));
      return [lo, hi];
    });
  } else {
    padding = PAD_STRINGS[r.padKind];
    lhsDil = lhsDil.map(() => 1);
  }
  const letters = LETTER_SETS[r.letters].slice(0, n).split("");
  const lp = permutation(r.lhsPerm, n + 2),
    rp = permutation(r.rhsPerm, n + 2),
    op = permutation(r.outPerm, n + 2);
  if (r.layoutKind === 1) {
    // with strings, the spatial order is the order of the spatial characters in the rhs spec
    const sp = rp.slice(2).sort((a, b) => a - b);
    sp.forEach((pos, i) => (rp[2 + i] = pos));
  }
  const layout = r.layoutKind !== 0;
  // logical axis j (0: batch/out-feature, 1: feature/in-feature, 2+i: spatial i) sits at position p[j]
  const place = (p: number[], sizes: number[]) => {
    const shape = new Array<number>(n + 2);
    sizes.forEach((s, j) => (shape[layout ? p[j] : j] = s));
    return shape;
  };
  const lhsShape = place(lp, [N, C, ...X]);
  const rhsShape = place(rp, [O, I, ...K]);
  const opts: ConvCase["opts"] = {};
  if (r.layoutKind === 1) {
    const spec = (p: number[], a: string, b: string) => {
      const chars = new Array<string>(n + 2);
      [a, b, ...letters].forEach((c, j) => (chars[p[j]] = c));
      return chars.join("");
    };
    opts.dimensionNumbers = [spec(lp, "N", "C"), spec(rp, "O", "I"), spec(op, "N", "C")];
  } else if (r.layoutKind === 2) {
    opts.dimensionNumbers = { lhs: lp, rhs: rp, out: op };
  }
  if (lhsDil.some((d) => d !== 1)) opts.lhsDilation = lhsDil;
  if (rhsDil.some((d) => d !== 1) || r.seed % 3 === 0) opts.rhsDilation = rhsDil;
  if (r.groupKind === 1) opts.featureGroupCount = G;
  if (r.groupKind === 2) opts.batchGroupCount = B;
  // output sizes (conv-semantics.md §0), for the cost estimate, tolerances and the oracle
  const pads: [number, number][] = [];
  const Y = X.map((x, i) => {
    const xd = x === 0 ? 0 : (x - 1) * lhsDil[i] + 1;
    const kd = K[i] === 0 ? 0 : (K[i] - 1) * rhsDil[i] + 1;
    let lo: number, hi: number;
    if (typeof padding === "string") {
      const m = padding.toUpperCase();
      const out = Math.ceil(x / strides[i]);
      const t = m === "VALID" ? 0 : Math.max((out - 1) * strides[i] + kd - x, 0);
      lo = m === "SAME" ? Math.floor(t / 2) : t - Math.floor(t / 2);
      hi = t - lo;
    } else [lo, hi] = padding[i];
    const P = xd + lo + hi;
    pads.push([lo, hi]);
    return P <= 0 || kd > P ? 0 : Math.floor((P - kd) / strides[i]) + 1;
  });
  const nK = sizeOf(K), nY = sizeOf(Y);
  const outSize = (N / B) * O * nY;
  const reduction = Math.max(1, I * nK, (O / Math.max(G, B)) * nK, N * nY);
  const cost = outSize * I * nK * 3 + sizeOf(lhsShape) + sizeOf(rhsShape);
  // lib/compile/lower.ts (SMALL_CONV_MACS) + lib/backend/cpu/conv.ts: float32 convs with at
  // least 2^18 multiply-adds and no batch groups run as im2col + Wasm GEMM
  const gemm = r.dtype === "float32" && B === 1 && outSize * I * nK >= 1 << 18;
  const id = [...Array(n + 2).keys()];
  const geom: Geometry = {
    lp: layout ? lp : id,
    rp: layout ? rp : id,
    op: layout ? op : id,
    pads,
    strides,
    lhsDil,
    rhsDil,
    X,
    K,
    Y,
    N,
    O,
    I,
    G,
    B,
  };
  return {
    dtype: r.dtype,
    lhsShape,
    rhsShape,
    strides,
    padding,
    opts,
    reduction,
    cost,
    gemm,
    geom,
    poison: r.poison,
    seed: r.seed,
  };
}

function rowMajor(shape: number[]): number[] {
  const st = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = st[i + 1] * shape[i + 1];
  return st;
}

/** Visits every multi-index of `dims` (one call with [] for rank 0). */
function forEachIndex(dims: number[], f: (ix: number[]) => void): void {
  if (dims.some((d) => d === 0)) return;
  const ix = new Array<number>(dims.length).fill(0);
  for (;;) {
    f(ix);
    let d = dims.length - 1;
    for (; d >= 0; d--) {
      if (++ix[d] < dims[d]) break;
      else ix[d] = 0;
    }
    if (d < 0) return;
  }
}

/**
 * Independent oracle: the convolution, and its vjp for cotangent `ct`, straight from the term rule
 * of conv-semantics.md §0/§1 (a term exists iff the dilated, padded position hits a real input
 * element; padding and dilation holes contribute nothing), in float64.
 */
export function naiveConv(
  c: ConvCase,
  lhs: Float64Array,
  rhs: Float64Array,
  ct: Float64Array,
): ConvResults {
  const { lp, rp, op, pads, strides, lhsDil, rhsDil, X, K, Y, N, O, I, G, B } = c.geom;
  const outShape = new Array<number>(lp.length);
  [N / B, O, ...Y].forEach((s, j) => (outShape[op[j]] = s));
  const sl = rowMajor(c.lhsShape), sr = rowMajor(c.rhsShape), so = rowMajor(outShape);
  const at = (st: number[], p: number[], j: number) => st[p[j]];
  const out = new Float64Array(sizeOf(outShape));
  const dl = new Float64Array(lhs.length), dr = new Float64Array(rhs.length);
  const Og = O / Math.max(G, B), Nb = N / B;
  forEachIndex([Nb, O, ...Y], (oi) => {
    const [nn, o] = oi, y = oi.slice(2);
    const grp = Math.floor(o / Og);
    const batch = B > 1 ? grp * Nb + nn : nn;
    let oOff = 0;
    oi.forEach((v, j) => (oOff += v * at(so, op, j)));
    let acc = 0;
    for (let i = 0; i < I; i++) {
      const ch = G > 1 ? grp * I + i : i;
      forEachIndex(K, (k) => {
        let lOff = batch * at(sl, lp, 0) + ch * at(sl, lp, 1);
        let rOff = o * at(sr, rp, 0) + i * at(sr, rp, 1);
        for (let d = 0; d < k.length; d++) {
          const q = y[d] * strides[d] + k[d] * rhsDil[d] - pads[d][0];
          const xd = (X[d] - 1) * lhsDil[d] + 1;
          if (q < 0 || q >= xd || q % lhsDil[d] !== 0) return;
          lOff += (q / lhsDil[d]) * at(sl, lp, 2 + d);
          rOff += k[d] * at(sr, rp, 2 + d);
        }
        acc += lhs[lOff] * rhs[rOff];
        dl[lOff] += ct[oOff] * rhs[rOff];
        dr[rOff] += ct[oOff] * lhs[lOff];
      });
    }
    out[oOff] = acc;
  });
  const res = (shape: number[], data: Float64Array): HostResult => ({
    shape,
    dtype: c.dtype,
    data,
  });
  return {
    out: res(outShape, out),
    dlhs: res([...c.lhsShape], dl),
    drhs: res([...c.rhsShape], dr),
  };
}

/** The host data of a case: lhs, rhs, and the cotangent (of the given output shape). */
export function caseData(
  c: ConvCase,
  outShape: number[],
): [Float64Array, Float64Array, Float64Array] {
  const data: [Float64Array, Float64Array, Float64Array] = [
    hostData(c.lhsShape, c.seed, c.dtype),
    hostData(c.rhsShape, c.seed + 1, c.dtype),
    hostData(outShape, c.seed + 2, c.dtype),
  ];
  for (const [which, pos, kind] of c.poison) {
    const a = data[which];
    if (a.length) a[pos % a.length] = [NaN, Infinity, -Infinity][kind];
  }
  return data;
}

/** A one-line reproduction of the case. */
export function describeCase(c: ConvCase): string {
  const poison = c.poison.length
    ? `, non-finite [operand, position, NaN|Inf|-Inf] ${show(c.poison)}`
    : "";
  return `convGeneralDilated(lhs ${c.dtype}[${c.lhsShape}], rhs ${c.dtype}[${c.rhsShape}], ` +
    `${show(c.strides)}, ${show(c.padding)}, ${show(c.opts)}) data seed ${c.seed}${poison}`;
}

/** Forward output and both vjp cotangents of one case, on the current backend. */
export interface ConvResults {
  out: HostResult;
  dlhs: HostResult;
  drhs: HostResult;
}

/**
 * Runs the case on the current backend: the forward convolution, then the vjp with a random
 * cotangent (eagerly, or the whole forward + vjp under `jit`).
 */
export function runCase(c: ConvCase, useJit: boolean): ConvResults {
  const f = (a: Tensor, b: Tensor) =>
    lax.convGeneralDilated(a, b, c.strides, c.padding as never, c.opts);
  const outShape =
    f(np.zeros(c.lhsShape, { dtype: c.dtype }), np.zeros(c.rhsShape, { dtype: c.dtype })).shape;
  const [l, r, g] = caseData(c, outShape);
  const lhs = tensorOf(l, c.lhsShape, c.dtype), rhs = tensorOf(r, c.rhsShape, c.dtype);
  const ct = tensorOf(g, outShape, c.dtype);
  const both = (a: Tensor, b: Tensor, g: Tensor): Tensor[] => {
    const [y, pullback] = vjp(f, a, b);
    const [da, db] = pullback(g) as Tensor[];
    return [y as Tensor, da, db];
  };
  const [y, da, db] = useJit ? jit(both)(lhs, rhs, ct) as Tensor[] : both(lhs, rhs, ct);
  return { out: toHost(y), dlhs: toHost(da), drhs: toHost(db) };
}
