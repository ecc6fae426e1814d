/**
 * The windowed choosers (lib/ops/window.ts) on the CPU: one generated, cached JS loop nest per
 * geometry, window taps unrolled with constant offsets, bounds checks only where a tap can leave
 * the operand, first max/min kept with NaN winning; bit-identical to the reference.
 * @module
 */
import { allocTyped, type TypedArray } from "../../dtype.ts";
import type { Aval, HostArray } from "../../ops/_define.ts";
import { sizeOf, stridesOf } from "../../shape.ts";
import {
  type Chooser,
  chooserIdentity,
  type SelectParams,
  type WindowParams,
} from "../../ops/window.ts";

/** What a generated loop nest does with each window's chosen element `i` (or none). */
type Mode = "reduce" | "gather" | "scatter";
/** `(operand, values, out)`: reduce ignores `values`; scatter adds into `out`. */
type WindowFn = (x: TypedArray, a: TypedArray | null, out: TypedArray | Float64Array) => void;

/** Windows with more taps than this loop over the window instead of unrolling it. */
const UNROLL = 32;
const cache = new Map<string, WindowFn>();

function isTrivial(p: WindowParams, d: number): boolean {
  return p.window[d] === 1 && p.strides[d] === 1 && p.padding[d][0] === 0 &&
    p.padding[d][1] === 0 && p.baseDilation[d] === 1;
}

/** Whether two windows can share an operand element. */
function overlaps(p: WindowParams): boolean {
  return p.window.some((k, d) => (k - 1) * p.windowDilation[d] + 1 > p.strides[d]);
}

/**
 * What happens to the chosen element `bi` of window `o` (`bi < 0`: the window has none). A
 * scatter without overlaps stores `v + 0` (as 0 + v does: -0 becomes 0).
 */
function store(mode: Mode, empty: number, always: boolean, add: boolean): string {
  if (mode === "reduce") return always ? "out[o] = best;" : `out[o] = bi < 0 ? ${empty} : best;`;
  if (mode === "gather") return always ? "out[o] = a[bi];" : "out[o] = bi < 0 ? 0 : a[bi];";
  const s = add ? "out[bi] += a[o];" : "out[bi] = a[o] + 0;";
  return always ? s : `if (bi >= 0) ${s}`;
}

/** One window tap: its constant offset, base-dilation terms and bounds conditions. */
interface Tap {
  off: number;
  terms: string;
  conds: string[];
}

/**
 * The taps of a window in row-major order, without those no window can reach; a condition is
 * emitted only where some window puts the tap in padding or a hole.
 */
function unrolledTaps(
  yShape: number[],
  p: WindowParams,
  rest: number[],
  st: number[],
  D: number[],
  lo: number[],
): Tap[] {
  const taps: Tap[] = [];
  if (yShape.some((y) => y === 0)) return taps;
  const row = sizeOf(rest.map((d) => p.window[d]));
  const k = rest.map(() => 0);
  for (let t = 0; t < row; t++) {
    const conds: string[] = [];
    let terms = "", off = 0, dead = false;
    rest.forEach((d, j) => {
      const c = k[j] * p.windowDilation[d], bd = p.baseDilation[d];
      const minQ = -lo[d], maxQ = (yShape[d] - 1) * p.strides[d] - lo[d];
      if (minQ + c >= D[d] || maxQ + c < 0) dead = true;
      if (minQ + c < 0) conds.push(`q${d} >= ${-c}`);
      if (maxQ + c >= D[d]) conds.push(`q${d} < ${D[d] - c}`);
      if (bd === 1) off += c * st[d];
      else {
        conds.push(`(q${d} + ${c}) % ${bd} === 0`);
        terms += ` + ((q${d} + ${c}) / ${bd}) * ${st[d]}`;
      }
    });
    for (let j = rest.length - 1; j >= 0; j--) {
      if (++k[j] < p.window[rest[j]]) break;
      k[j] = 0;
    }
    if (!dead) taps.push({ off, terms, conds });
  }
  return taps;
}

/**
 * A branch-free pairwise tournament over always-valid taps (the first maximum / minimum of two
 * ordered halves is the first of the two winners; NaN wins): sets `bi` (and `best` if asked).
 */
function tree(idx: string[], sel: Chooser, value: boolean): string[] {
  const L = idx.map((e, j) => `let a${j} = ${e}, u${j} = x[a${j}];`);
  const keep = sel === "max" ? "<=" : ">=";
  let live = idx.map((_, j) => j);
  while (live.length > 1) {
    const next: number[] = [];
    for (let j = 0; j < live.length; j += 2) {
      const [l, r] = [live[j], live[j + 1]];
      next.push(l);
      if (r === undefined) continue;
      // take the right winner iff it is larger, or NaN while the left one is not
      const g = `(((u${r} ${keep} u${l}) ^ 1) & (u${l} === u${l}))`;
      L.push(`a${l} += ${g} * (a${r} - a${l});`);
      if (live.length > 2 || value) L.push(`u${l} = x[a${l}];`);
    }
    live = next;
  }
  L.push("const bi = a0;");
  if (value) L.push("const best = u0;");
  return L;
}

/** Renders the loop nest of one geometry, chooser and mode. */
function render(
  xShape: number[],
  yShape: number[],
  p: WindowParams,
  sel: Chooser,
  mode: Mode,
  empty: number,
): string {
  const n = xShape.length;
  const st = stridesOf(xShape);
  let lead = 0;
  while (lead < n && isTrivial(p, lead)) lead++;
  const rest = [...Array(n - lead).keys()].map((i) => i + lead);
  const cmp = sel === "max" ? ">" : "<";
  const better = `v ${cmp} best || (v !== v && best === best)`;
  const L: string[] = ["let o = 0;"];
  L.push(`for (let b = 0; b < ${sizeOf(xShape.slice(0, lead))}; b++) {`);
  L.push(`const p${lead} = b * ${sizeOf(xShape.slice(lead))};`);
  // per dimension: q = first tap's position in the dilated operand; pointer of the dense dims
  const D = xShape.map((x, d) => (x === 0 ? 0 : (x - 1) * p.baseDilation[d] + 1));
  const lo = p.padding.map((q) => q[0]);
  for (const d of rest) {
    L.push(`for (let y${d} = 0; y${d} < ${yShape[d]}; y${d}++) {`);
    L.push(`const q${d} = y${d} * ${p.strides[d]} - ${lo[d]};`);
    const step = p.baseDilation[d] === 1 ? ` + q${d} * ${st[d]}` : "";
    L.push(`const p${d + 1} = p${d}${step};`);
  }
  const P = `p${n}`;
  // a tap at distance c in dim d needs a bounds check only if some window puts it outside
  const minQ = (d: number) => -lo[d];
  const maxQ = (d: number) => (yShape[d] - 1) * p.strides[d] - lo[d];
  const row = sizeOf(rest.map((d) => p.window[d]));
  const body: string[] = [];
  let always = false;
  if (row <= UNROLL) {
    const taps = unrolledTaps(yShape, p, rest, st, D, lo).map((t) => ({
      idx: `${P} + ${t.off}${t.terms}`,
      conds: t.conds,
    }));
    if (taps.length && taps.every((t) => !t.conds.length)) {
      body.push(...tree(taps.map((t) => t.idx), sel, mode === "reduce"));
      always = true;
    } else {
      body.push("let bi = -1, best = 0;");
      for (const t of taps) {
        const load =
          `{ const i = ${t.idx}, v = x[i]; if (bi < 0 || ${better}) { best = v; bi = i; } }`;
        body.push(t.conds.length ? `if (${t.conds.join(" && ")}) ${load}` : load);
      }
    }
  } else {
    body.push("let bi = -1, best = 0;");
    let ptr = P;
    let close = 0;
    for (const d of rest) {
      const bd = p.baseDilation[d], wd = p.windowDilation[d];
      body.push(`for (let k${d} = 0; k${d} < ${p.window[d]}; k${d}++) {`);
      close++;
      body.push(`const r${d} = q${d} + k${d} * ${wd};`);
      const checks: string[] = [];
      if (minQ(d) < 0) checks.push(`r${d} < 0`);
      if (maxQ(d) + (p.window[d] - 1) * wd >= D[d]) checks.push(`r${d} >= ${D[d]}`);
      if (bd !== 1) checks.push(`r${d} % ${bd} !== 0`);
      if (checks.length) body.push(`if (${checks.join(" || ")}) continue;`);
      const step = bd === 1 ? `k${d} * ${wd * st[d]}` : `(r${d} / ${bd}) * ${st[d]}`;
      body.push(`const t${d} = ${ptr} + ${step};`);
      ptr = `t${d}`;
    }
    body.push(`{ const i = ${ptr}, v = x[i]; if (bi < 0 || ${better}) { best = v; bi = i; } }`);
    body.push("}".repeat(close));
  }
  L.push(...body, store(mode, empty, always, overlaps(p)), "o++;", "}".repeat(rest.length + 1));
  return L.join("\n");
}

function windowFn(
  x: number[],
  y: number[],
  p: WindowParams,
  sel: Chooser,
  mode: Mode,
  empty: number,
): WindowFn {
  const geo = [x, p.window, p.strides, p.padding, p.baseDilation, p.windowDilation];
  const key = JSON.stringify([mode, sel, String(empty), geo]);
  let fn = cache.get(key);
  if (!fn) {
    if (cache.size >= 256) cache.clear();
    const src = render(x, y, p, sel, mode, empty);
    cache.set(key, fn = new Function("x", "a", "out", src) as WindowFn);
  }
  return fn;
}

/** Fast implementations by op name, for `registerFastImpl`. */
export const WINDOW_FAST_IMPLS: Record<
  string,
  (inputs: HostArray[], params: unknown, outAvals: Aval[]) => TypedArray[] | null
> = {
  reduceWindowMax: ([x], p, [out]) => reduceChooser(x, p as WindowParams, out, "max"),
  reduceWindowMin: ([x], p, [out]) => reduceChooser(x, p as WindowParams, out, "min"),
  selectAndGatherAdd: ([t, x], params, [out]) => {
    const p = params as SelectParams;
    const res = allocTyped(out.dtype, sizeOf(out.shape));
    windowFn(x.shape, out.shape, p, p.select, "gather", 0)(x.data, t.data, res);
    return [res];
  },
  selectAndScatterAdd: ([ct, x], params, [out]) => {
    const p = params as SelectParams;
    const res = allocTyped(out.dtype, sizeOf(out.shape));
    // windows that share elements add in float64 and round once, as the reference does
    const acc = overlaps(p) && out.dtype !== "float64" ? new Float64Array(res.length) : res;
    windowFn(x.shape, ct.shape, p, p.select, "scatter", 0)(x.data, ct.data, acc);
    if (acc !== res) res.set(acc);
    return [res];
  },
};

function reduceChooser(x: HostArray, p: WindowParams, out: Aval, sel: Chooser): TypedArray[] {
  const res = allocTyped(out.dtype, sizeOf(out.shape));
  const empty = chooserIdentity(sel, out.dtype);
  windowFn(x.shape, out.shape, p, sel, "reduce", empty)(x.data, null, res);
  return [res];
}
