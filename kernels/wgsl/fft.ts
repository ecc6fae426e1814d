/**
 * The `fft` primitive as WGSL dispatches: per axis, the CPU plan's (lib/fft/kernel.ts) Stockham
 * passes or Bluestein, ping-ponging between temporaries; even real transforms via the half-length
 * FFT. Twiddles and chirps: float64 on the host, cached per length, bound as constant temporaries.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { Aval } from "../../lib/ops/_define.ts";
import type { FftParams } from "../../lib/ops/fft.ts";
import { cplan } from "../../lib/fft/kernel.ts";
import { sizeOf } from "../../lib/shape.ts";
import {
  chirpIn,
  chirpMul,
  chirpOut,
  cropRows,
  hermitianRows,
  irfftPre,
  passKernel,
  realPart,
  realToComplex,
  rfftPost,
  scaleKernel,
} from "./fft_shaders.ts";
import type { SortDispatch } from "./sort.ts";
import { SHARED_MAX, sharedKernel } from "./fft_shared.ts";

/** A temporary of the step; `data` marks a constant (uploaded once, kept with the plan). */
export interface FftTemp {
  dtype: DType;
  length: number;
  data?: Float32Array;
}

/** The dispatches of one `fft` step ("in0", "out0", "t{k}" bindings) and its temporaries. */
export interface FftSteps {
  dispatches: SortDispatch[];
  temps: FftTemp[];
}

/** One Stockham pass: radix, product of the earlier radices, n / (l1 · radix). */
interface Pass {
  ip: number;
  l1: number;
  ido: number;
}

/** Twiddles of one length's mixed-radix passes (then each generic radix's roots), complex. */
interface Tables {
  data: Float32Array;
  tw: number[];
  roots: number[];
  passes: Pass[];
}

/** Radices without an unrolled butterfly: their pass loops over the radix's roots. */
const GENERIC = (p: number) => p > 5 && p !== 8;
const tables = new Map<number, Tables>();
const chirps = new Map<number, { chirp: Float32Array; bhat: Float32Array }>();
const halfTw = new Map<number, Float32Array>();
const MAX_CACHED = 32;

function cached<T>(m: Map<number, T>, n: number, make: () => T): T {
  let v = m.get(n);
  if (!v) {
    if (m.size >= MAX_CACHED) m.delete(m.keys().next().value!);
    m.set(n, v = make());
  }
  return v;
}

/**
 * The passes of length n: radix 8 while it divides (fewer passes over the data than the CPU
 * plan's radix 4), then 4, 2 and the odd prime factors in increasing order.
 */
function gpuPasses(n: number): Pass[] {
  const f: number[] = [];
  let r = n;
  for (const p of [8, 4, 2]) while (r % p === 0) f.push(p), r /= p;
  for (let p = 3; p * p <= r; p += 2) while (r % p === 0) f.push(p), r /= p;
  if (r > 1) f.push(r);
  let l1 = 1;
  return f.map((ip) => {
    const p = { ip, l1, ido: n / (l1 * ip) };
    l1 *= ip;
    return p;
  });
}

/** The passes' twiddle table of length n: tw(m, i) = e^{-2πi·m·l1·i/n} (angles reduced mod n). */
function radixTables(n: number): Tables {
  return cached(tables, n, () => {
    const passes = gpuPasses(n);
    const tw: number[] = [], roots: number[] = [];
    let size = 0;
    for (const { ip, ido } of passes) {
      tw.push(size);
      size += (ip - 1) * ido;
      roots.push(GENERIC(ip) ? size : -1);
      if (GENERIC(ip)) size += ip;
    }
    const data = new Float32Array(2 * size);
    const put = (at: number, num: number, den: number) => {
      const a = (-2 * Math.PI * num) / den;
      data[2 * at] = Math.cos(a), data[2 * at + 1] = Math.sin(a);
    };
    passes.forEach(({ ip, l1, ido }, q) => {
      for (let m = 1; m < ip; m++) {
        for (let i = 0; i < ido; i++) put(tw[q] + (m - 1) * ido + i, (m * l1 * i) % n, n);
      }
      if (GENERIC(ip)) { for (let j = 0; j < ip; j++) put(roots[q] + j, j, ip); }
    });
    return { data, tw, roots, passes };
  });
}

/** e^{-2πik/n} for k = 0..n/2 (the real transforms' split twiddles). */
function halfTwiddles(n: number): Float32Array {
  return cached(halfTw, n, () => {
    const w = new Float32Array(n + 2);
    for (let k = 0; k <= n >> 1; k++) {
      const a = (-2 * Math.PI * k) / n;
      w[2 * k] = Math.cos(a), w[2 * k + 1] = Math.sin(a);
    }
    return w;
  });
}

/** Records the dispatches of one fft step. */
class Builder {
  readonly dispatches: SortDispatch[] = [];
  readonly temps: FftTemp[] = [];
  #work: number[] = [];
  #consts = new Map<Float32Array, number>();
  constructor(readonly maxWg: number, readonly maxShared: number) {}

  /** A work temporary (≥ `complexes` complex values) other than the buffers in `avoid`. */
  tmp(avoid: string[], complexes: number): string {
    for (const t of this.#work) {
      if (!avoid.includes(`t${t}`)) {
        this.temps[t].length = Math.max(this.temps[t].length, 2 * complexes);
        return `t${t}`;
      }
    }
    this.temps.push({ dtype: "float32", length: 2 * complexes });
    this.#work.push(this.temps.length - 1);
    return `t${this.temps.length - 1}`;
  }

  /** A constant temporary holding `data`. */
  constant(data: Float32Array): string {
    let t = this.#consts.get(data);
    if (t === undefined) {
      this.temps.push({ dtype: "float32", length: data.length, data });
      this.#consts.set(data, t = this.temps.length - 1);
    }
    return `t${t}`;
  }

  emit(k: { code: string; dispatch: [number, number, number] }, bind: string[]): void {
    this.dispatches.push({ code: k.code, dispatch: k.dispatch, bind });
  }

  /**
   * A complex transform of length n along lines `stride` apart (`outer` groups of `stride`
   * lines): src → dst (distinct), times `scale`.
   */
  axis(
    src: string,
    dst: string,
    n: number,
    outer: number,
    stride: number,
    inverse: boolean,
    scale: number,
  ): void {
    const lines = outer * stride;
    if (n === 1) return this.emit(scaleKernel(lines, scale, this.maxWg), [src, dst]);
    if (cplan(n).blue) return this.bluestein(src, dst, n, outer, stride, inverse, scale);
    const t = radixTables(n), tw = this.constant(t.data);
    if (n <= SHARED_MAX && 8 * n <= this.maxShared) {
      const passes = t.passes.map((p, q) => ({ ...p, tw: t.tw[q], roots: t.roots[q] }));
      const k = sharedKernel(passes, n, lines, stride, inverse, scale, this.maxWg);
      return this.emit(k, [src, dst, tw]);
    }
    let cur = src;
    t.passes.forEach(({ ip, l1, ido }, q) => {
      const last = q === t.passes.length - 1;
      const out = last ? dst : this.tmp([cur, dst], lines * n);
      const k = passKernel({
        p: ip,
        l1,
        ido,
        n,
        lines,
        stride,
        inverse,
        tw: t.tw[q],
        roots: t.roots[q],
        scale: last ? scale : 1,
      }, this.maxWg);
      this.emit(k, [cur, out, tw]);
      cur = out;
    });
  }

  /** Bluestein: chirp, power-of-two convolution with the conjugate chirp, chirp. */
  bluestein(
    src: string,
    dst: string,
    n: number,
    outer: number,
    stride: number,
    inverse: boolean,
    scale: number,
  ): void {
    const blue = cplan(n).blue!, m = blue.m, lines = outer * stride;
    const c = cached(chirps, n, () => ({
      chirp: Float32Array.from(blue.chirp),
      bhat: Float32Array.from(blue.bhat),
    }));
    const chirp = this.constant(c.chirp), bhat = this.constant(c.bhat);
    const a = this.tmp([src, dst], lines * m);
    this.emit(chirpIn(lines, n, stride, m, inverse, this.maxWg), [src, a, chirp]);
    const b = this.tmp([a, dst], lines * m);
    this.axis(a, b, m, lines, 1, false, 1);
    this.emit(chirpMul(lines, m, inverse, this.maxWg), [b, bhat]);
    const a2 = this.tmp([b, dst], lines * m);
    this.axis(b, a2, m, lines, 1, true, 1);
    this.emit(chirpOut(lines, n, stride, m, inverse, scale, this.maxWg), [a2, dst, chirp]);
  }

  /**
   * Complex transforms over axes `axes` of complex dims `dims`, src → dst; the last one scales.
   * Axes of length 1 are skipped; with none left, src is copied (scaled).
   */
  axes(src: string, dst: string, dims: number[], axes: number[], inv: boolean, scale: number) {
    const todo = axes.filter((a) => dims[a] > 1), total = sizeOf(dims);
    if (todo.length === 0) return this.emit(scaleKernel(total, scale, this.maxWg), [src, dst]);
    let cur = src;
    todo.forEach((ax, i) => {
      const last = i === todo.length - 1;
      const out = last ? dst : this.tmp([cur, dst], total);
      const stride = sizeOf(dims.slice(ax + 1)), n = dims[ax];
      this.axis(cur, out, n, total / (n * stride), stride, inv, last ? scale : 1);
      cur = out;
    });
  }
}

/** The trailing `k` axes of a rank-`r` shape. */
const trailing = (r: number, k: number) => [...Array(k).keys()].map((i) => r - k + i);

/**
 * The dispatches of `fft` on operand `x` (float32; complex as a trailing axis of 2); lines up to
 * `maxShared` / 8 complex values long transform in workgroup memory, in one dispatch each.
 */
export function renderFft(x: Aval, p: FftParams, maxWg: number, maxShared = 16384): FftSteps {
  const { fftType, fftLengths } = p;
  const b = new Builder(maxWg, maxShared);
  const k = fftLengths.length, N = sizeOf(fftLengths), last = fftLengths[k - 1];
  const core = fftType === "RFFT" ? x.shape : x.shape.slice(0, -1);
  if (sizeOf(core) === 0) return { dispatches: [], temps: [] };
  const r = core.length, ax = trailing(r, k);
  if (fftType === "FFT" || fftType === "IFFT") {
    b.axes("in0", "out0", core, ax, fftType === "IFFT", fftType === "IFFT" ? 1 / N : 1);
    return { dispatches: b.dispatches, temps: b.temps };
  }
  const h = last >> 1, m = h + 1, even = last % 2 === 0 && last >= 4;
  const half = [...core.slice(0, -1), m], lead = ax.slice(0, -1);
  if (fftType === "RFFT") {
    const rows = sizeOf(core) / last;
    const leadWork = lead.some((a) => half[a] > 1);
    const spec = leadWork ? b.tmp([], rows * m) : "out0";
    if (even) {
      const z = b.tmp([spec], rows * h);
      b.axis("in0", z, h, rows, 1, false, 1); // the real rows read as h complex values
      b.emit(rfftPost(rows, last, maxWg), [z, spec, b.constant(halfTwiddles(last))]);
    } else {
      const e = b.tmp([spec], rows * last);
      b.emit(realToComplex(rows * last, maxWg), ["in0", e]);
      const f = last > 1 ? b.tmp([e, spec], rows * last) : e;
      if (last > 1) b.axis(e, f, last, rows, 1, false, 1);
      b.emit(cropRows(rows, last, m, maxWg), [f, spec]);
    }
    if (leadWork) b.axes(spec, "out0", half, lead, false, 1);
    return { dispatches: b.dispatches, temps: b.temps };
  }
  // IRFFT: the leading axes first (complex), then the last axis back to real rows
  const rows = sizeOf(half) / m;
  const leadWork = lead.some((a) => half[a] > 1);
  const spec = leadWork ? b.tmp([], rows * m) : "in0";
  if (leadWork) b.axes("in0", spec, half, lead, true, 1);
  if (even) {
    const z = b.tmp([spec], rows * h);
    b.emit(irfftPre(rows, last, maxWg), [spec, z, b.constant(halfTwiddles(last))]);
    b.axis(z, "out0", h, rows, 1, true, 1 / N); // h complex values per row are the n reals
  } else {
    const e = b.tmp([spec], rows * last);
    b.emit(hermitianRows(rows, last, maxWg), [spec, e]);
    const f = last > 1 ? b.tmp([e, spec], rows * last) : e;
    if (last > 1) b.axis(e, f, last, rows, 1, true, 1);
    b.emit(realPart(rows * last, 1 / N, maxWg), [f, "out0"]);
  }
  return { dispatches: b.dispatches, temps: b.temps };
}
