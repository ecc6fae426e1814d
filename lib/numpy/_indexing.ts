/**
 * The indexing engine behind `np.index`, `x.slice` and `x.at`: NumPy basic slicing (strided
 * slices), integer-array (advanced) indices with broadcasting, negative indices and NumPy's
 * placement of the advanced axes, as one gather; bool masks become index arrays (eager).
 * @module
 */
import { fromHost } from "../core.ts";
import { Tensor } from "../tensor.ts";
import type { NestedArray } from "../tensor.ts";
import { arrayFrom, broadcastTo, scalar } from "./_convert.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import { gather } from "../ops/gather.ts";
import type { GatherMode } from "../ops/gather_params.ts";
import type { SliceSpec } from "./shape_ops.ts";
import { broadcastShapes, sizeOf } from "../shape.ts";

/** One index: a number, a slice string, null (new axis), "...", or an integer / bool array. */
export type IndexSpec = SliceSpec | Tensor | NestedArray;

type Entry =
  | { k: "basic"; s: number | string | null }
  | { k: "adv"; t: Tensor };

/** Converts an index array to int32 (JS arrays: integers or booleans; Tensors: int32 or bool). */
export function indexArray(op: string, v: Tensor | NestedArray): Tensor {
  if (v instanceof Tensor) {
    if (v.dtype === "int32" || v.dtype === "bool") return v;
    if (v.aval.weak && v.ndim === 0) return ew.convert(v, "int32");
    throw new TypeError(`${op}: index arrays must be int32 or bool, got ${v.dtype}`);
  }
  const flat = (v as unknown[]).flat(Infinity as 1) as unknown[];
  const isBool = flat.length > 0 && flat.every((e) => typeof e === "boolean");
  if (!isBool && !flat.every((e) => Number.isInteger(e))) {
    throw new TypeError(`${op}: index arrays must hold integers or booleans`);
  }
  return arrayFrom(v, { dtype: isBool ? "bool" : "int32" }, op);
}

/** The int32 index arrays of a bool mask (eager: the result's shape depends on its values). */
function maskIndices(op: string, m: Tensor): Tensor[] {
  let conc;
  try {
    conc = m._concrete();
  } catch {
    throw new TypeError(
      `${op}: a boolean mask index needs concrete values (the result's shape depends on them), ` +
        "so it cannot be used inside jit or vmap; use np.where(mask, x, other) to keep the shape",
    );
  }
  return nonzeroHost(conc);
}

/** Expands "..." and masks; returns entries covering every axis of an `ndim` array. */
function parse(op: string, ndim: number, specs: IndexSpec[]): Entry[] {
  const pre: Entry[] = [];
  let ell = -1;
  for (const s of specs) {
    if (s === "...") {
      if (ell >= 0) throw new TypeError(`${op}: an index can only have a single ellipsis`);
      ell = pre.length;
    } else if (s === null || typeof s === "number" || typeof s === "string") {
      pre.push({ k: "basic", s });
    } else {
      if (!(s instanceof Tensor) && !Array.isArray(s)) {
        throw new TypeError(
          `${op}: invalid index ${String(s)} (${typeof s}); use a number, a slice string, null, ` +
            `"...", an integer array or a bool mask`,
        );
      }
      const t = indexArray(op, s as Tensor | NestedArray);
      if (t.dtype === "bool") {
        if (t.ndim === 0) throw new TypeError(`${op}: a 0-d bool index is not supported`);
        for (const a of maskIndices(op, t)) pre.push({ k: "adv", t: a });
      } else pre.push({ k: "adv", t });
    }
  }
  const used = pre.filter((e) => !(e.k === "basic" && e.s === null)).length;
  if (used > ndim) {
    throw new RangeError(`${op}: too many indices (${used}) for an array of dimension ${ndim}`);
  }
  const fill: Entry[] = Array.from({ length: ndim - used }, () => ({ k: "basic", s: ":" }));
  return ell >= 0 ? [...pre.slice(0, ell), ...fill, ...pre.slice(ell)] : [...pre, ...fill];
}

/**
 * Indexes `x` (NumPy rules); `mode` handles out-of-bounds array indices after negative ones
 * wrap (`clip` clamps, `fill` reads `fillValue`).
 */
export function indexWith(
  op: string,
  x: Tensor,
  specs: IndexSpec[],
  mode: GatherMode,
  fillValue: number | null,
): Tensor {
  const entries = parse(op, x.ndim, specs);
  if (!entries.some((e) => e.k === "adv")) {
    return basicSlice(op, x, ...entries.map((e) => (e as { s: SliceSpec }).s));
  }
  // integers count as advanced indices once any array index is present (NumPy)
  const ents = entries.map((e): Entry =>
    e.k === "basic" && typeof e.s === "number" ? { k: "adv", t: scalar(e.s, "int32") } : e
  );
  const t = basicSlice(op, x, ...ents.map((e) => (e.k === "adv" ? ":" : e.s)));
  const pos: number[] = [];
  const advs: Tensor[] = [];
  ents.forEach((e, ax) => {
    if (e.k === "adv") pos.push(ax), advs.push(e.t);
  });
  const B = broadcastShapes(op, ...advs.map((a) => a.shape));
  const cols = advs.map((a, j) =>
    mv.reshape(broadcastTo(wrapNegative(a, t.shape[pos[j]]), B), [...B, 1])
  );
  const idx = mv.concatenate(cols, B.length);
  const win = t.shape.map((_, d) => d).filter((d) => !pos.includes(d));
  const adjacent = pos.every((p, j) => j === 0 || p === pos[j - 1] + 1);
  const offsetDims = win.map((d, j) => (adjacent && d < pos[0] ? j : j + B.length));
  return gather(t, idx, {
    dimensionNumbers: {
      offsetDims,
      collapsedSliceDims: pos,
      startIndexMap: pos,
      operandBatchingDims: [],
      startIndicesBatchingDims: [],
    },
    sliceSizes: t.shape.map((n, d) => (pos.includes(d) ? 1 : n)),
    mode,
    fillValue,
  });
}

function parseSlice(op: string, spec: string, n: number, axis: number): [number, number, number] {
  const parts = spec.split(":");
  if (parts.length < 2 || parts.length > 3) {
    throw new TypeError(`${op}: invalid slice ${JSON.stringify(spec)} for axis ${axis}`);
  }
  const num = (s: string | undefined): number | undefined => {
    if (s === undefined || s.trim() === "") return undefined;
    const v = Number(s);
    if (!Number.isInteger(v)) {
      throw new TypeError(`${op}: invalid slice ${JSON.stringify(spec)} for axis ${axis}`);
    }
    return v;
  };
  const step = num(parts[2]) ?? 1;
  if (step === 0) throw new RangeError(`${op}: slice step cannot be zero (axis ${axis})`);
  const clamp = (v: number | undefined, dflt: number, lo: number, hi: number) => {
    if (v === undefined) return dflt;
    if (v < 0) v += n;
    return Math.min(Math.max(v, lo), hi);
  };
  return step > 0
    ? [clamp(num(parts[0]), 0, 0, n), clamp(num(parts[1]), n, 0, n), step]
    : [clamp(num(parts[0]), n - 1, -1, n - 1), clamp(num(parts[1]), -1, -1, n - 1), step];
}

/** NumPy basic indexing (numbers, slice strings, null, "..."): strided slices, no gather. */
function basicSlice(op: string, x: Tensor, ...specs: SliceSpec[]): Tensor {
  let t = x;
  const nEll = specs.filter((s) => s === "...").length;
  if (nEll > 1) throw new TypeError(`${op}: an index can only have a single ellipsis`);
  const used = specs.filter((s) => s !== null && s !== "...").length;
  if (used > t.ndim) {
    throw new RangeError(`${op}: too many indices (${used}) for array of dimension ${t.ndim}`);
  }
  const full: SliceSpec[] = [];
  for (const s of specs) {
    if (s === "...") { for (let i = 0; i < t.ndim - used; i++) full.push(":"); }
    else full.push(s);
  }
  while (full.filter((s) => s !== null).length < t.ndim) full.push(":");
  const start: number[] = [], limit: number[] = [], strides: number[] = [], revAxes: number[] = [];
  const outShape: number[] = [];
  let ax = 0;
  for (const s of full) {
    if (s === null) {
      outShape.push(1);
      continue;
    }
    const n = t.shape[ax];
    if (typeof s === "number") {
      if (!Number.isInteger(s) || s < -n || s >= n) {
        throw new RangeError(`${op}: index ${s} is out of bounds for axis ${ax} with size ${n}`);
      }
      const i = s < 0 ? s + n : s;
      start.push(i), limit.push(i + 1), strides.push(1);
    } else if (typeof s === "string") {
      const [a, b, st] = parseSlice(op, s, n, ax);
      if (st > 0) {
        start.push(a), limit.push(Math.max(a, b)), strides.push(st);
      } else {
        // reversed axis: element n-1-j of the flipped array is element j
        revAxes.push(ax);
        const ra = n - 1 - a, rb = n - 1 - b;
        start.push(Math.min(ra, n)), limit.push(Math.max(ra, Math.min(rb, n))), strides.push(-st);
      }
      outShape.push(
        Math.max(
          0,
          Math.ceil(
            (limit[limit.length - 1] - start[start.length - 1]) / strides[strides.length - 1],
          ),
        ),
      );
    } else throw new TypeError(`${op}: invalid index ${JSON.stringify(s)}`);
    ax++;
  }
  t = mv.rev(t, revAxes);
  t = mv.slice(t, start, limit, strides);
  return mv.reshape(t, outShape);
}

/** Indices of the nonzero elements of a concrete array, one int32 array per axis. */
export function nonzeroHost(t: Tensor): Tensor[] {
  const d = t._concrete()._valuesSync();
  const hits: number[] = [];
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) hits.push(i);
  const st = t.shape.map((_, a) => sizeOf(t.shape.slice(a + 1)));
  return t.shape.map((n, a) =>
    fromHost(Int32Array.from(hits, (f) => Math.floor(f / st[a]) % n), [hits.length], "int32")
  );
}

/** Wraps negative indices of an int32 array by the axis size `n`. */
export function wrapNegative(i: Tensor, n: number): Tensor {
  const zero = mv.broadcastInDim(scalar(0, "int32"), i.shape, []);
  return ew.select(
    ew.lt(i, zero),
    ew.add(i, mv.broadcastInDim(scalar(n, "int32"), i.shape, [])),
    i,
  );
}
