/**
 * Independent oracles for the conformance suite: each primitive re-implemented naively on host
 * arrays (JS `Math.*` per element, index maps written out, scatter where the library gathers),
 * plus small host nd-array helpers (stacking examples for vmap checks).
 * @module
 */
import type { DType } from "../lib/dtype.ts";
import type { OpName } from "../lib/ops/registry.ts";
import { WINDOW_ORACLES } from "./_op_oracles_window.ts";
import { LINALG_ORACLES } from "./_op_oracles_linalg.ts";
import { FFT_ORACLES } from "./_op_oracles_fft.ts";
import { GATHER_ORACLES, SORT_ORACLES } from "./_op_oracles_gather.ts";
import { COMPLEX_ORACLES } from "./_op_samples_complex.ts";
import { OP_SAMPLES } from "./_op_samples.ts";

/** A host array: shape, dtype and row-major values. */
export interface Host {
  shape: number[];
  dtype: DType;
  data: ArrayLike<number>;
}

/** An oracle result (values before the store cast to the output dtype). */
export interface OracleOut {
  shape: number[];
  data: number[];
}

// deno-lint-ignore no-explicit-any
type Params = any;
/** Computes the expected output of one primitive application. */
export type Oracle = (xs: Host[], p: Params) => OracleOut;

/** Number of elements. */
export function size(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

/** Flat row-major offset of a multi-index. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let off = 0;
  for (let i = 0; i < shape.length; i++) off = off * shape[i] + idx[i];
  return off;
}

/** Multi-index of a flat row-major offset. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

/** Casts a number the way storing it in `dtype`'s typed array does. */
export function storeCast(v: number, dtype: DType): number {
  if (dtype === "float32") return Math.fround(v);
  if (dtype === "int32") return v | 0;
  if (dtype === "bool") return v ? 1 : 0;
  return v;
}

/** Stacks equally shaped host arrays along a new axis `axis` (0..ndim). */
export function stackHost(xs: Host[], axis: number): Host {
  const inner = xs[0].shape;
  const shape = [...inner.slice(0, axis), xs.length, ...inner.slice(axis)];
  const data = new Array<number>(size(shape));
  for (let f = 0; f < data.length; f++) {
    const idx = unravel(f, shape);
    const b = idx[axis];
    idx.splice(axis, 1);
    data[f] = xs[b].data[ravel(idx, inner)];
  }
  return { shape, dtype: xs[0].dtype, data };
}

const isNaN = Number.isNaN;
const bool = (v: boolean) => (v ? 1 : 0);
const nanMax = (a: number, b: number) => (isNaN(a) || isNaN(b) ? NaN : a >= b ? a : b);
const nanMin = (a: number, b: number) => (isNaN(a) || isNaN(b) ? NaN : a <= b ? a : b);

/** Round half to even, written independently of the library's. */
function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

type Scalar = (xs: number[], dtypes: DType[]) => number;
const u = (fn: (x: number) => number): Scalar => ([x]) => fn(x);
const b2 = (fn: (x: number, y: number) => number): Scalar => ([x, y]) => fn(x, y);

const ELEMENTWISE: Partial<Record<OpName, Scalar>> = {
  neg: u((x) => -x),
  add: b2((x, y) => x + y),
  sub: b2((x, y) => x - y),
  mul: ([x, y], [d]) => (d === "int32" ? Math.imul(x, y) : x * y),
  div: b2((x, y) => x / y),
  pow: b2((x, y) => Math.pow(x, y)),
  max: b2(nanMax),
  min: b2(nanMin),
  abs: u(Math.abs),
  sign: u((x) => (isNaN(x) ? NaN : Math.sign(x))),
  floor: u(Math.floor),
  ceil: u(Math.ceil),
  round: u(roundHalfEven),
  exp: u(Math.exp),
  log: u(Math.log),
  log1p: u(Math.log1p),
  expm1: u(Math.expm1),
  sqrt: u(Math.sqrt),
  rsqrt: u((x) => 1 / Math.sqrt(x)),
  sin: u(Math.sin),
  cos: u(Math.cos),
  tan: u(Math.tan),
  tanh: u(Math.tanh),
  asin: u(Math.asin),
  acos: u(Math.acos),
  atan: u(Math.atan),
  sinh: u(Math.sinh),
  cosh: u(Math.cosh),
  asinh: u(Math.asinh),
  acosh: u(Math.acosh),
  atanh: u(Math.atanh),
  rem: b2((x, y) => x % y),
  logistic: u((x) => 1 / (1 + Math.exp(-x))),
  isnan: u((x) => bool(isNaN(x))),
  isfinite: u((x) => bool(Number.isFinite(x))),
  not: ([x], [d]) => (d === "bool" ? 1 - x : ~x),
  eq: b2((x, y) => bool(x === y)),
  ne: b2((x, y) => bool(x !== y)),
  lt: b2((x, y) => bool(x < y)),
  le: b2((x, y) => bool(x <= y)),
  gt: b2((x, y) => bool(x > y)),
  ge: b2((x, y) => bool(x >= y)),
  and: ([x, y], [d]) => (d === "bool" ? bool(x !== 0 && y !== 0) : x & y),
  or: ([x, y], [d]) => (d === "bool" ? bool(x !== 0 || y !== 0) : x | y),
  xor: ([x, y], [d]) => (d === "bool" ? bool((x !== 0) !== (y !== 0)) : x ^ y),
  select: ([c, x, y]) => (c !== 0 ? x : y),
  stopGradient: u((x) => x),
};

function elementwiseOracle(fn: Scalar): Oracle {
  return (xs) => {
    const n = size(xs[0].shape);
    const dtypes = xs.map((x) => x.dtype);
    const data = Array.from({ length: n }, (_, i) => fn(xs.map((x) => x.data[i]), dtypes));
    return { shape: [...xs[0].shape], data };
  };
}

function convertOracle([x]: Host[], { dtype }: { dtype: DType }): OracleOut {
  const conv = (v: number) => {
    if (dtype === "bool") return bool(v !== 0); // NaN is truthy, as in NumPy
    if (dtype === "int32") return Math.trunc(v);
    return v;
  };
  return { shape: [...x.shape], data: Array.from(x.data, conv) };
}

/** out[idx] = x[src(idx)] over the output shape. */
function gather(x: Host, shape: number[], src: (idx: number[]) => number[]): OracleOut {
  const data = Array.from(
    { length: size(shape) },
    (_, f) => x.data[ravel(src(unravel(f, shape)), x.shape)],
  );
  return { shape, data };
}

function reduceOracle(init: number, step: (a: number, v: number) => number): Oracle {
  return ([x], { axes }: { axes: number[] }) => {
    const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const shape = keep.map((i) => x.shape[i]);
    const data = new Array<number>(size(shape)).fill(init);
    for (let f = 0; f < x.data.length; f++) {
      const idx = unravel(f, x.shape);
      const o = ravel(keep.map((i) => idx[i]), shape);
      data[o] = step(data[o], x.data[f]);
    }
    return { shape, data };
  };
}

function argOracle(better: (v: number, best: number) => boolean): Oracle {
  return ([x], { axis }: { axis: number }) => {
    const shape = x.shape.filter((_, i) => i !== axis);
    const data = Array.from({ length: size(shape) }, (_, o) => {
      const idx = unravel(o, shape);
      let best = 0;
      for (let k = 0; k < x.shape[axis]; k++) {
        const full = [...idx.slice(0, axis), k, ...idx.slice(axis)];
        const bestFull = [...idx.slice(0, axis), best, ...idx.slice(axis)];
        const v = x.data[ravel(full, x.shape)], bv = x.data[ravel(bestFull, x.shape)];
        if (isNaN(bv)) break;
        if (isNaN(v) || better(v, bv)) best = k;
      }
      return best;
    });
    return { shape, data };
  };
}

function padOracle(
  [x, v]: Host[],
  { lo, hi, interior }: { lo: number[]; hi: number[]; interior: number[] },
): OracleOut {
  const shape = x.shape.map((d, i) =>
    lo[i] + hi[i] + Math.max(0, d * (interior[i] + 1) - interior[i])
  );
  const data = new Array<number>(size(shape)).fill(v.data[0]);
  for (let f = 0; f < x.data.length; f++) {
    const pos = unravel(f, x.shape).map((k, i) => lo[i] + k * (interior[i] + 1));
    if (pos.every((q, i) => q >= 0 && q < shape[i])) data[ravel(pos, shape)] = x.data[f];
  }
  return { shape, data };
}

function concatOracle(xs: Host[], { axis }: { axis: number }): OracleOut {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
  const data = new Array<number>(size(shape));
  let off = 0;
  for (const x of xs) {
    for (let f = 0; f < x.data.length; f++) {
      const idx = unravel(f, x.shape);
      idx[axis] += off;
      data[ravel(idx, shape)] = x.data[f];
    }
    off += x.shape[axis];
  }
  return { shape, data };
}

function dotOracle(
  [a, b]: Host[],
  { contract, batch }: { contract: [number[], number[]]; batch: [number[], number[]] },
): OracleOut {
  const free = (h: Host, side: 0 | 1) =>
    h.shape.map((_, i) => i).filter((i) => !contract[side].includes(i) && !batch[side].includes(i));
  const la = free(a, 0), rb = free(b, 1);
  const shape = [
    ...batch[0].map((i) => a.shape[i]),
    ...la.map((i) => a.shape[i]),
    ...rb.map((i) => b.shape[i]),
  ];
  const data = new Array<number>(size(shape)).fill(0);
  // Every pair of elements whose batch and contracting indices agree contributes one product.
  for (let i = 0; i < a.data.length; i++) {
    const ia = unravel(i, a.shape);
    for (let j = 0; j < b.data.length; j++) {
      const jb = unravel(j, b.shape);
      if (!contract[0].every((ax, k) => ia[ax] === jb[contract[1][k]])) continue;
      if (!batch[0].every((ax, k) => ia[ax] === jb[batch[1][k]])) continue;
      const o = [
        ...batch[0].map((ax) => ia[ax]),
        ...la.map((ax) => ia[ax]),
        ...rb.map((ax) => jb[ax]),
      ];
      data[ravel(o, shape)] += a.data[i] * b.data[j];
    }
  }
  return { shape, data };
}

/** Oracles by primitive name (`random` has property checks instead). */
export const ORACLES: Partial<Record<OpName, Oracle>> & Record<string, Oracle | undefined> = {
  ...Object.fromEntries(Object.entries(ELEMENTWISE).map(([k, fn]) => [k, elementwiseOracle(fn!)])),
  // elementwise primitives whose scalar oracle sits with their samples
  ...Object.fromEntries(
    Object.entries(OP_SAMPLES).flatMap(([k, s]) => {
      const fn = s.oracle;
      return fn ? [[k, elementwiseOracle((xs) => fn(...xs))]] : [];
    }),
  ),
  convert: convertOracle,
  broadcastInDim: ([x], { shape, dims }: { shape: number[]; dims: number[] }) =>
    gather(x, [...shape], (idx) => dims.map((d, i) => (x.shape[i] === 1 ? 0 : idx[d]))),
  reshape: ([x], { shape }: { shape: number[] }) => ({
    shape: [...shape],
    data: Array.from(x.data),
  }),
  transpose: ([x], { perm }: { perm: number[] }) =>
    gather(x, perm.map((p) => x.shape[p]), (idx) => {
      const src = new Array<number>(perm.length);
      perm.forEach((p, i) => (src[p] = idx[i]));
      return src;
    }),
  slice: (
    [x],
    { start, limit, strides }: { start: number[]; limit: number[]; strides: number[] },
  ) =>
    gather(
      x,
      start.map((s, i) => Math.max(0, Math.ceil((limit[i] - s) / strides[i]))),
      (idx) => idx.map((k, i) => start[i] + k * strides[i]),
    ),
  pad: padOracle,
  concatenate: concatOracle,
  rev: ([x], { axes }: { axes: number[] }) =>
    gather(
      x,
      [...x.shape],
      (idx) => idx.map((k, i) => (axes.includes(i) ? x.shape[i] - 1 - k : k)),
    ),
  reduceSum: reduceOracle(0, (a, v) => a + v),
  reduceMax: reduceOracle(-Infinity, nanMax),
  reduceMin: reduceOracle(Infinity, nanMin),
  argmax: argOracle((v, b) => v > b),
  argmin: argOracle((v, b) => v < b),
  dotGeneral: dotOracle,
  conv: (xs, p) => convOracle(xs, p),
  ...WINDOW_ORACLES,
  ...LINALG_ORACLES,
  ...FFT_ORACLES,
  ...GATHER_ORACLES,
  ...SORT_ORACLES,
  ...COMPLEX_ORACLES,
};

/** Conv params as resolved by `resolveConvParams` (lib/ops/conv_params.ts). */
interface ConvP {
  windowStrides: number[];
  padding: [number, number][];
  lhsDilation: number[];
  rhsDilation: number[];
  dimensionNumbers: { lhs: number[]; rhs: number[]; out: number[] };
  featureGroupCount: number;
  batchGroupCount: number;
}

/** Permutes `x` so that axis k of the result is axis `spec[k]` of `x`. */
function toCanonical(x: Host, spec: number[]): Host {
  const shape = spec.map((a) => x.shape[a]);
  return {
    ...x,
    shape,
    data: gather(x, shape, (idx) => {
      const src = new Array<number>(spec.length);
      spec.forEach((a, k) => (src[a] = idx[k]));
      return src;
    }).data,
  };
}

/** Dilates the spatial axes (2..) of a canonical array by inserting zeros, then pads/crops them. */
function dilatePad(x: Host, dil: number[], pad: [number, number][]): Host {
  const shape = x.shape.map((
    d,
    i,
  ) => (i < 2
    ? d
    : Math.max(0, (d === 0 ? 0 : (d - 1) * dil[i - 2] + 1) + pad[i - 2][0] + pad[i - 2][1]))
  );
  const data = new Array<number>(size(shape)).fill(0);
  for (let f = 0; f < x.data.length; f++) {
    const idx = unravel(f, x.shape).map((k, i) => (i < 2 ? k : k * dil[i - 2] + pad[i - 2][0]));
    if (idx.every((q, i) => q >= 0 && q < shape[i])) data[ravel(idx, shape)] = x.data[f];
  }
  return { ...x, shape, data };
}

/**
 * conv_general_dilated by materializing the dilated, padded input and the dilated kernel in
 * canonical [N, C, ...spatial] / [O, I, ...spatial] layout and sliding the window over it.
 */
export function convOracle([lhs, rhs]: Host[], p: ConvP): OracleOut {
  const { lhs: ls, rhs: rs, out: os } = p.dimensionNumbers;
  const n = ls.length - 2;
  const L = dilatePad(toCanonical(lhs, ls), p.lhsDilation, p.padding);
  const K = dilatePad(
    toCanonical(rhs, rs),
    p.rhsDilation,
    p.rhsDilation.map((): [number, number] => [0, 0]),
  );
  const [N] = L.shape, [O, I] = K.shape;
  const G = p.featureGroupCount, Bg = p.batchGroupCount;
  const Y = [...Array(n).keys()].map((d) =>
    Math.max(0, Math.floor((L.shape[2 + d] - K.shape[2 + d]) / p.windowStrides[d]) + 1)
  );
  const canon = [N / Bg, O, ...Y];
  const data = new Array<number>(size(canon)).fill(0);
  for (let f = 0; f < data.length; f++) {
    const [b, o, ...y] = unravel(f, canon);
    const gF = Math.floor(o / (O / G)), gB = Math.floor(o / (O / Bg));
    for (let i = 0; i < I; i++) {
      for (let t = 0; t < size(K.shape.slice(2)); t++) {
        const k = unravel(t, K.shape.slice(2));
        const li = [
          gB * (N / Bg) + b,
          gF * I + i,
          ...y.map((v, d) => v * p.windowStrides[d] + k[d]),
        ];
        data[f] += L.data[ravel(li, L.shape)] * K.data[ravel([o, i, ...k], K.shape)];
      }
    }
  }
  // canonical [N, O, ...Y] back to the output layout: out axis os[k] holds canonical axis k
  const shape = new Array<number>(os.length);
  os.forEach((a, k) => (shape[a] = canon[k]));
  const out = Array.from({ length: data.length }, (_, f) => {
    const idx = unravel(f, shape);
    return data[ravel(os.map((a) => idx[a]), canon)];
  });
  return { shape, data: out };
}
