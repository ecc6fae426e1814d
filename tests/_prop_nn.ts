/**
 * Random valid nn.convNd and nn.maxPool cases for property_test.ts, with independent loop oracles
 * (forward and vjp): convNd with strides, dilation, groups, bias, numeric / per-dim / pair /
 * "valid" / "same" padding and the padding modes zeros, reflect, replicate and circular; maxPool
 * with strides, dilation and -Infinity padding, the gradient going to the first maximum of each
 * window (row-major window order), with ties drawn on purpose.
 * @module
 */
import fc from "fast-check";
import { jit, nn, type Tensor, vjp } from "../mod.ts";
import {
  type FloatDType,
  hostData,
  type HostResult,
  prng,
  show,
  sizeOf,
  tensorOf,
  toHost,
} from "./_prop_util.ts";

/** Raw parameters of one nn case. */
export interface RawNn {
  n: number;
  dtype: FloatDType;
  batch: number;
  groups: number;
  inPerGroup: number;
  outPerGroup: number;
  X: number[];
  K: number[];
  stride: number[];
  dilation: number[];
  padKind: number;
  pads: [number, number][];
  mode: number;
  bias: boolean;
  ties: boolean;
  seed: number;
}

const tri = (min: number, max: number) =>
  fc.array(fc.integer({ min, max }), { minLength: 3, maxLength: 3 });

/** Arbitrary raw nn cases. */
export function rawNnArb(): fc.Arbitrary<RawNn> {
  return fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    dtype: fc.constantFrom<FloatDType>("float32", "float64"),
    batch: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    inPerGroup: fc.integer({ min: 1, max: 2 }),
    outPerGroup: fc.integer({ min: 1, max: 2 }),
    X: tri(1, 6),
    K: tri(1, 3),
    stride: tri(1, 2),
    dilation: tri(1, 2),
    padKind: fc.integer({ min: 0, max: 4 }),
    pads: fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), {
      minLength: 3,
      maxLength: 3,
    }),
    mode: fc.integer({ min: 0, max: 3 }),
    bias: fc.boolean(),
    ties: fc.boolean(),
    seed: fc.nat(1 << 30),
  });
}

const MODES = ["zeros", "reflect", "replicate", "circular"] as const;

/** Source index of padded position i (may be outside [0, n)), or -1 for a zero. */
function source(mode: string, i: number, n: number): number {
  if (i >= 0 && i < n) return i;
  if (mode === "zeros") return -1;
  if (mode === "replicate") return i < 0 ? 0 : n - 1;
  if (mode === "circular") return ((i % n) + n) % n;
  if (n === 1) return 0;
  const period = 2 * (n - 1), j = ((i % period) + period) % period;
  return j >= n ? period - j : j;
}

/** A resolved convNd case: shapes, options and per-dim pads, or null when invalid. */
export interface ConvNdCase {
  dtype: FloatDType;
  x: number[];
  w: number[];
  opts: Record<string, unknown>;
  pads: [number, number][];
  mode: string;
  seed: number;
}

/** Resolves a raw case into a valid convNd call, or null when the kernel does not fit / the mode cannot pad. */
export function resolveConvNd(r: RawNn): ConvNdCase | null {
  const n = r.n,
    X = r.X.slice(0, n),
    K = r.K.slice(0, n),
    stride = r.stride.slice(0, n),
    dil = r.dilation.slice(0, n);
  const kd = K.map((k, i) => (k - 1) * dil[i] + 1);
  const opts: Record<string, unknown> = {};
  let pads: [number, number][];
  const allOne = stride.every((s) => s === 1);
  switch (r.padKind) {
    case 0:
      pads = X.map(() => [r.pads[0][0], r.pads[0][0]]);
      opts.padding = r.pads[0][0];
      break;
    case 1:
      pads = r.pads.slice(0, n).map(([a]) => [a, a]);
      opts.padding = pads.map(([a]) => a);
      break;
    case 2:
      pads = r.pads.slice(0, n);
      opts.padding = pads;
      break;
    case 3:
      pads = X.map(() => [0, 0]);
      opts.padding = "valid";
      break;
    default:
      if (!allOne) return null;
      pads = kd.map((k) => [Math.floor((k - 1) / 2), k - 1 - Math.floor((k - 1) / 2)]);
      opts.padding = "same";
  }
  const mode = MODES[r.mode];
  if (mode !== "zeros") opts.paddingMode = mode;
  for (let i = 0; i < n; i++) {
    const [lo, hi] = pads[i];
    if (kd[i] > X[i] + lo + hi) return null;
    const limit = mode === "reflect" ? X[i] - 1 : mode === "circular" ? X[i] : Infinity;
    if ((lo || hi) && (lo > limit || hi > limit)) return null;
  }
  if (stride.some((s) => s !== 1) || r.seed % 2) {
    opts.stride = r.seed % 4 < 2 && stride.every((s) => s === stride[0]) ? stride[0] : stride;
  }
  if (dil.some((d) => d !== 1)) opts.dilation = dil;
  if (r.groups > 1) opts.groups = r.groups;
  const F = r.groups * r.outPerGroup;
  if (r.bias) opts.bias = [...Array(F).keys()].map((i) => (i % 3) - 1 + 0.25 * i);
  return {
    dtype: r.dtype,
    x: [r.batch, r.groups * r.inPerGroup, ...X],
    w: [F, r.inPerGroup, ...K],
    opts,
    pads,
    mode,
    seed: r.seed,
  };
}

function rowMajor(shape: number[]): number[] {
  const st = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = st[i + 1] * shape[i + 1];
  return st;
}

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

/** Results of a case: output and cotangents of its inputs. */
export interface NnResults {
  out: HostResult;
  grads: HostResult[];
}

function stridesOf(c: ConvNdCase): { stride: number[]; dil: number[] } {
  const n = c.x.length - 2;
  const per = (
    v: unknown,
    d: number,
  ) => (v === undefined
    ? new Array(n).fill(d)
    : typeof v === "number"
    ? new Array(n).fill(v)
    : v as number[]);
  return { stride: per(c.opts.stride, 1), dil: per(c.opts.dilation, 1) };
}

/** Output shape of a convNd case. */
export function convNdOutShape(c: ConvNdCase): number[] {
  const { stride, dil } = stridesOf(c);
  const Y = c.x.slice(2).map((x, i) =>
    Math.floor((x + c.pads[i][0] + c.pads[i][1] - (c.w[2 + i] - 1) * dil[i] - 1) / stride[i]) + 1
  );
  return [c.x[0], c.w[0], ...Y];
}

/** Loop oracle of convNd: forward and the vjp for cotangent ct (float64). */
export function naiveConvNd(
  c: ConvNdCase,
  x: Float64Array,
  w: Float64Array,
  ct: Float64Array,
): NnResults {
  const { stride, dil } = stridesOf(c);
  const outShape = convNdOutShape(c);
  const F = outShape[1], I = c.w[1], G = c.x[1] / I, Fg = F / G;
  const X = c.x.slice(2), K = c.w.slice(2);
  const sx = rowMajor(c.x), sw = rowMajor(c.w), so = rowMajor(outShape);
  const out = new Float64Array(sizeOf(outShape)),
    dx = new Float64Array(x.length),
    dw = new Float64Array(w.length);
  const bias = c.opts.bias as number[] | undefined;
  forEachIndex(outShape, ([b, f, ...y]) => {
    const o = b * so[0] + f * so[1] + y.reduce((a, v, d) => a + v * so[2 + d], 0);
    let acc = bias ? bias[f] : 0;
    const g = Math.floor(f / Fg);
    for (let i = 0; i < I; i++) {
      forEachIndex(K, (k) => {
        let xo = b * sx[0] + (g * I + i) * sx[1];
        const wo = f * sw[0] + i * sw[1] + k.reduce((a, v, d) => a + v * sw[2 + d], 0);
        for (let d = 0; d < k.length; d++) {
          const src = source(c.mode, y[d] * stride[d] + k[d] * dil[d] - c.pads[d][0], X[d]);
          if (src < 0) return;
          xo += src * sx[2 + d];
        }
        acc += x[xo] * w[wo];
        dx[xo] += ct[o] * w[wo];
        dw[wo] += ct[o] * x[xo];
      });
    }
    out[o] = acc;
  });
  return {
    out: { shape: outShape, dtype: c.dtype, data: out },
    grads: [{ shape: c.x, dtype: c.dtype, data: dx }, { shape: c.w, dtype: c.dtype, data: dw }],
  };
}

/** Host data of a convNd case: x, w, cotangent. */
export function convNdData(c: ConvNdCase): [Float64Array, Float64Array, Float64Array] {
  return [
    hostData(c.x, c.seed, c.dtype),
    hostData(c.w, c.seed + 1, c.dtype),
    hostData(convNdOutShape(c), c.seed + 2, c.dtype),
  ];
}

/** Runs convNd (forward + vjp) on the current backend, eagerly or under jit. */
export function runConvNd(c: ConvNdCase, useJit: boolean): NnResults {
  const [xd, wd, gd] = convNdData(c);
  const x = tensorOf(xd, c.x, c.dtype),
    w = tensorOf(wd, c.w, c.dtype),
    ct = tensorOf(gd, convNdOutShape(c), c.dtype);
  const both = (a: Tensor, b: Tensor, g: Tensor): Tensor[] => {
    const [y, pb] = vjp((p: Tensor, q: Tensor) => nn.convNd(p, q, c.opts as never), a, b);
    return [y as Tensor, ...(pb(g) as Tensor[])];
  };
  const [y, dx, dw] = useJit ? jit(both)(x, w, ct) as Tensor[] : both(x, w, ct);
  return { out: toHost(y), grads: [toHost(dx), toHost(dw)] };
}

/** A one-line reproduction of a convNd case. */
export function describeConvNd(c: ConvNdCase): string {
  return `convNd(x ${c.dtype}[${c.x}], w [${c.w}], ${show(c.opts)}) data seed ${c.seed}`;
}

/** A resolved maxPool case. */
export interface PoolCase {
  dtype: FloatDType;
  x: number[];
  window: number[];
  stride: number[];
  dilation: number[];
  pads: [number, number][];
  opts: Record<string, unknown>;
  ties: boolean;
  seed: number;
}

/** Resolves a raw case into a valid maxPool call, or null. */
export function resolvePool(r: RawNn): PoolCase | null {
  const n = r.n,
    X = r.X.slice(0, n),
    window = r.K.slice(0, n),
    stride = r.stride.slice(0, n),
    dilation = r.dilation.slice(0, n);
  const kd = window.map((k, i) => (k - 1) * dilation[i] + 1);
  const pairs = r.padKind % 2 === 1;
  const pads = r.pads.slice(0, n).map(([a, b], i): [number, number] => {
    const lo = Math.min(a, kd[i] >> 1);
    return [lo, pairs ? Math.min(b, kd[i] >> 1) : lo];
  });
  if (kd.some((k, i) => k > X[i] + pads[i][0] + pads[i][1])) return null;
  const opts: Record<string, unknown> = {
    window: r.seed % 3 === 0 && window.every((k) => k === window[0]) ? window[0] : window,
  };
  if (r.seed % 2 || stride.some((s, i) => s !== window[i])) opts.stride = stride;
  if (pads.some(([a, b]) => a || b)) opts.padding = pairs ? pads : pads.map(([a]) => a);
  if (dilation.some((d) => d !== 1)) opts.dilation = dilation;
  return {
    dtype: r.dtype,
    x: [r.batch, r.groups, ...X],
    window,
    stride,
    dilation,
    pads,
    opts,
    ties: r.ties,
    seed: r.seed,
  };
}

/** Output shape of a maxPool case. */
export function poolOutShape(c: PoolCase): number[] {
  return [
    ...c.x.slice(0, 2),
    ...c.x.slice(2).map((x, i) =>
      Math.floor(
        (x + c.pads[i][0] + c.pads[i][1] - (c.window[i] - 1) * c.dilation[i] - 1) / c.stride[i],
      ) + 1
    ),
  ];
}

/** Host data of a maxPool case (with ties: values from {-1, 0, 1}). */
export function poolData(c: PoolCase): [Float64Array, Float64Array] {
  const x = hostData(c.x, c.seed, c.dtype);
  if (c.ties) {
    const r = prng(c.seed);
    for (let i = 0; i < x.length; i++) x[i] = Math.floor(r() * 3) - 1;
  }
  return [x, hostData(poolOutShape(c), c.seed + 2, c.dtype)];
}

/** Loop oracle of maxPool: forward (padding is -Infinity) and the vjp (first maximum per window). */
export function naivePool(c: PoolCase, x: Float64Array, ct: Float64Array): NnResults {
  const outShape = poolOutShape(c), X = c.x.slice(2);
  const sx = rowMajor(c.x), so = rowMajor(outShape);
  const out = new Float64Array(sizeOf(outShape)), dx = new Float64Array(x.length);
  forEachIndex(outShape, ([b, ch, ...y]) => {
    let best = -Infinity, at = -1;
    forEachIndex(c.window, (k) => {
      let xo = b * sx[0] + ch * sx[1];
      for (let d = 0; d < k.length; d++) {
        const p = y[d] * c.stride[d] + k[d] * c.dilation[d] - c.pads[d][0];
        if (p < 0 || p >= X[d]) return;
        xo += p * sx[2 + d];
      }
      if (x[xo] > best || at < 0 && x[xo] === best) [best, at] = [x[xo], xo];
    });
    const o = b * so[0] + ch * so[1] + y.reduce((a, v, d) => a + v * so[2 + d], 0);
    out[o] = best;
    if (at >= 0) dx[at] += ct[o];
  });
  return {
    out: { shape: outShape, dtype: c.dtype, data: out },
    grads: [{ shape: c.x, dtype: c.dtype, data: dx }],
  };
}

/** Runs maxPool (forward + vjp) on the current backend, eagerly or under jit. */
export function runPool(c: PoolCase, useJit: boolean): NnResults {
  const [xd, gd] = poolData(c);
  const x = tensorOf(xd, c.x, c.dtype), ct = tensorOf(gd, poolOutShape(c), c.dtype);
  const both = (a: Tensor, g: Tensor): Tensor[] => {
    const [y, pb] = vjp((p: Tensor) => nn.maxPool(p, c.opts as never), a);
    return [y as Tensor, ...(pb(g) as Tensor[])];
  };
  const [y, dx] = useJit ? jit(both)(x, ct) as Tensor[] : both(x, ct);
  return { out: toHost(y), grads: [toHost(dx)] };
}

/** A one-line reproduction of a maxPool case. */
export function describePool(c: PoolCase): string {
  return `maxPool(x ${c.dtype}[${c.x}]${c.ties ? " (values in {-1,0,1})" : ""}, ${
    show(c.opts)
  }) data seed ${c.seed}`;
}
