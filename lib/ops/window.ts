/**
 * Windowed choosers, as JAX/XLA: `reduceWindowMax` / `reduceWindowMin` (max / min over strided,
 * padded, base- and window-dilated windows of every dimension; padding and holes take no part),
 * `selectAndGatherAdd` (their jvp: per window, the tangent at the operand's chosen position) and
 * `selectAndScatterAdd` (its transpose: each cotangent added at the chosen position). The chosen
 * position is the first maximum (minimum) in row-major window order; NaN wins. Batching adds the
 * mapped axis as a window dimension of size 1.
 * @module
 */
import { bind1 } from "../core.ts";
import { allocTyped, type DType } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtArg, fmtShape, shapeEqual, sizeOf, stridesOf } from "../shape.ts";
import {
  type Aval,
  type BDim,
  defineOp,
  type HostArray,
  type OpDef,
  UndefPrimal,
} from "./_define.ts";
import { batchAt0 } from "./_util.ts";
import { convOutputDim, dilateDim } from "./conv_params.ts";
import { checkCrop, padPairs } from "./padding.ts";
import { forEachIndex } from "./movement.ts";

/** Window geometry over every operand dimension (XLA `ReduceWindow` semantics). */
export interface WindowParams {
  /** Window size per dimension. */
  window: number[];
  /** Window stride per dimension. */
  strides: number[];
  /** `[lo, hi]` padding per dimension (negative crops), applied to the base-dilated operand. */
  padding: [number, number][];
  /** Operand (base) dilation per dimension: `d - 1` holes between elements. */
  baseDilation: number[];
  /** Window dilation per dimension. */
  windowDilation: number[];
}

/** Which element of a window is chosen: its first maximum or its first minimum. */
export type Chooser = "max" | "min";

/** Parameters of `selectAndGatherAdd` / `selectAndScatterAdd`. */
export interface SelectParams extends WindowParams {
  /** The chooser that selects each window's element. */
  select: Chooser;
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/**
 * Checks window params against an operand shape and returns the output shape.
 * @param op Primitive name for error messages.
 * @param shape Operand shape.
 * @param p Window parameters.
 * @returns One window position count per dimension.
 */
export function windowOutputShape(op: string, shape: number[], p: WindowParams): number[] {
  const n = shape.length;
  for (const k of ["window", "strides", "baseDilation", "windowDilation"] as const) {
    const v = p[k];
    if (!Array.isArray(v) || v.length !== n || !v.every((d) => isInt(d) && d > 0)) {
      throw new RangeError(
        `${op}: ${k} ${fmtArg(v)} must be ${n} positive integers, one per operand dimension`,
      );
    }
  }
  const pads = padPairs(op, p.padding, { n, per: "dimension" });
  const dilated = shape.map((d, i) => dilateDim(d, p.baseDilation[i]));
  return checkCrop(op, pads, dilated, { per: "dimension", of: "operand" }).map((padded, i) =>
    convOutputDim(padded, dilateDim(p.window[i], p.windowDilation[i]), p.strides[i])
  );
}

function checkDType(op: string, what: string, a: Aval): void {
  if (a.dtype === "bool") {
    throw new TypeError(`${op}: ${what} dtype bool is not supported; use int32 or a float dtype`);
  }
}

function checkPair(op: string, first: string, a: Aval, want: number[], x: Aval): void {
  if (!shapeEqual(a.shape, want)) {
    throw new TypeError(
      `${op}: ${first} shape ${fmtShape(a.shape)} must be ${fmtShape(want)} for operand shape ${
        fmtShape(x.shape)
      }`,
    );
  }
  if (a.dtype !== x.dtype) {
    throw new TypeError(`${op}: ${first} dtype ${a.dtype} and operand dtype ${x.dtype} differ`);
  }
}

/** The value of a window without elements: the chooser's identity in `dtype`. */
export function chooserIdentity(select: Chooser, dtype: DType): number {
  if (dtype === "int32") return select === "max" ? -2147483648 : 2147483647;
  return select === "max" ? -Infinity : Infinity;
}

/**
 * Reference chooser: for each output window (row-major), the flat operand offset of its first
 * maximum (minimum) in row-major window order, NaN winning; -1 for a window without elements.
 */
export function chooseRef(
  x: HostArray,
  p: WindowParams,
  select: Chooser,
  outShape: number[],
): Int32Array {
  const res = new Int32Array(sizeOf(outShape));
  const st = stridesOf(x.shape);
  const better = select === "max"
    ? (v: number, b: number) => v !== v || v > b
    : (v: number, b: number) => v !== v || v < b;
  forEachIndex(outShape, (y, o) => {
    let best = NaN, bi = -1;
    forEachIndex(p.window, (k) => {
      if (bi >= 0 && best !== best) return; // a NaN was chosen: nothing beats it
      let off = 0;
      for (let d = 0; d < y.length; d++) {
        const q = y[d] * p.strides[d] + k[d] * p.windowDilation[d] - p.padding[d][0];
        const b = p.baseDilation[d];
        if (q < 0 || q % b !== 0 || q / b >= x.shape[d]) return; // padding or a hole
        off += (q / b) * st[d];
      }
      const v = x.data[off];
      if (bi < 0 || better(v, best)) {
        best = v;
        bi = off;
      }
    });
    res[o] = bi;
  });
  return res;
}

/** Window params with a size-1 window dimension inserted at `axis` (a batch axis). */
export function insertWindowDim<P extends WindowParams>(p: P, axis: number): P {
  const ins = <T>(a: T[], v: T): T[] => [...a.slice(0, axis), v, ...a.slice(axis)];
  return {
    ...p,
    window: ins(p.window, 1),
    strides: ins(p.strides, 1),
    padding: ins(p.padding, [0, 0] as [number, number]),
    baseDilation: ins(p.baseDilation, 1),
    windowDilation: ins(p.windowDilation, 1),
  };
}

/** Only the first (linear) argument of a select op may be an undefined primal. */
function operandOf(op: string, x: Tensor | UndefPrimal): Tensor {
  if (x instanceof UndefPrimal) {
    throw new TypeError(`${op}: cannot transpose with respect to the operand (it is not linear)`);
  }
  return x;
}

function reduceWindowOp(select: Chooser): OpDef<WindowParams> {
  const name = select === "max" ? "reduceWindowMax" : "reduceWindowMin";
  const op: OpDef<WindowParams> = defineOp({
    name,
    kind: "reduce",
    abstractEval: ([x], p) => {
      checkDType(name, "operand", x);
      return [{ shape: windowOutputShape(name, x.shape, p), dtype: x.dtype, weak: x.weak }];
    },
    impl: ([x], p, [out]) => {
      const idx = chooseRef(x, p, select, out.shape);
      const res = allocTyped(out.dtype, idx.length);
      const empty = chooserIdentity(select, out.dtype);
      for (let o = 0; o < idx.length; o++) res[o] = idx[o] < 0 ? empty : x.data[idx[o]];
      return [res];
    },
    jvp: ([x], [dx], p) => [[bind1(op, [x], p)], [selectAndGatherAdd(dx, x, { ...p, select })]],
    vmap: ([x], [bd], p) => [[bind1(op, [x], insertWindowDim(p, bd!))], [bd]],
  });
  return op;
}

/** `reduceWindowMax` primitive: the maximum of each window (NaN propagates). */
export const reduceWindowMaxOp: OpDef<WindowParams> = reduceWindowOp("max");
/** `reduceWindowMin` primitive: the minimum of each window (NaN propagates). */
export const reduceWindowMinOp: OpDef<WindowParams> = reduceWindowOp("min");

/** Batching of the select ops: both arguments batched at axis 0, a size-1 window there. */
function selectVmap(op: () => OpDef<SelectParams>) {
  return (args: Tensor[], bdims: BDim[], p: SelectParams, size: number): [Tensor[], BDim[]] => {
    const [a, x] = args.map((t, i) => batchAt0(t, bdims[i], size));
    return [[bind1(op(), [a, x], insertWindowDim(p, 0))], [0]];
  };
}

/** `selectAndGatherAdd` primitive: per window, the tangent at the operand's chosen element. */
export const selectAndGatherAddOp: OpDef<SelectParams> = defineOp({
  name: "selectAndGatherAdd",
  kind: "reduce",
  abstractEval: ([t, x], p) => {
    const name = "selectAndGatherAdd";
    checkDType(name, "operand", x);
    checkPair(name, "tangent", t, x.shape, x);
    return [{ shape: windowOutputShape(name, x.shape, p), dtype: t.dtype, weak: t.weak }];
  },
  impl: ([t, x], p, [out]) => {
    const idx = chooseRef(x, p, p.select, out.shape);
    const res = allocTyped(out.dtype, idx.length);
    for (let o = 0; o < idx.length; o++) res[o] = idx[o] < 0 ? 0 : t.data[idx[o]];
    return [res];
  },
  // linear in the tangent; the operand only selects (its own tangent contributes zero)
  jvp: ([t, x], [dt], p) => [[selectAndGatherAdd(t, x, p)], [selectAndGatherAdd(dt, x, p)]],
  vmap: selectVmap(() => selectAndGatherAddOp),
  transpose: ([ct], [, x], p) => [
    selectAndScatterAdd(ct, operandOf("selectAndGatherAdd", x), p),
    null,
  ],
});

/** `selectAndScatterAdd` primitive: each window's cotangent added at its chosen element. */
export const selectAndScatterAddOp: OpDef<SelectParams> = defineOp({
  name: "selectAndScatterAdd",
  kind: "reduce",
  abstractEval: ([ct, x], p) => {
    const name = "selectAndScatterAdd";
    checkDType(name, "operand", x);
    checkPair(name, "cotangent", ct, windowOutputShape(name, x.shape, p), x);
    return [{ shape: [...x.shape], dtype: ct.dtype, weak: ct.weak }];
  },
  impl: ([ct, x], p, [out]) => {
    const idx = chooseRef(x, p, p.select, ct.shape);
    const acc = new Float64Array(sizeOf(out.shape));
    for (let o = 0; o < idx.length; o++) if (idx[o] >= 0) acc[idx[o]] += ct.data[o];
    const res = allocTyped(out.dtype, acc.length);
    res.set(acc);
    return [res];
  },
  jvp: ([ct, x], [dct], p) => [[selectAndScatterAdd(ct, x, p)], [selectAndScatterAdd(dct, x, p)]],
  vmap: selectVmap(() => selectAndScatterAddOp),
  transpose: ([ct], [, x], p) => [
    selectAndGatherAdd(ct, operandOf("selectAndScatterAdd", x), p),
    null,
  ],
});

/**
 * Binds `reduceWindowMax` / `reduceWindowMin`: the maximum (minimum) of every window; a window
 * without elements (only padding) gives -Infinity (Infinity; the int32 extremes for int32).
 * @param x Operand (float or int32).
 * @param select "max" or "min".
 * @param p Window geometry over every dimension.
 * @returns One value per window position.
 * @example 2×2 max pooling with stride 2
 * ```ts
 * import { np } from "../../mod.ts";
 * import { reduceWindowChooser } from "./window.ts";
 * const x = np.arange(16, { dtype: "float32" }).reshape([4, 4]);
 * const g = { window: [2, 2], strides: [2, 2], padding: [[0, 0], [0, 0]] as [number, number][] };
 * const y = reduceWindowChooser(x, "max", { ...g, baseDilation: [1, 1], windowDilation: [1, 1] });
 * if (y.dataSync().join() !== "5,7,13,15") throw new Error("reduceWindowMax");
 * ```
 */
export function reduceWindowChooser(x: Tensor, select: Chooser, p: WindowParams): Tensor {
  return bind1(select === "max" ? reduceWindowMaxOp : reduceWindowMinOp, [x], p);
}

/**
 * Binds `selectAndGatherAdd`: for each window of `operand`, the element of `tangent` at the
 * position the chooser selects (0 for a window without elements).
 * @param tangent Values gathered (shape and dtype of `operand`).
 * @param operand Array whose windows are searched.
 * @param p Window geometry and chooser.
 * @returns One value per window position.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { selectAndGatherAdd } from "./window.ts";
 * const g = { window: [2], strides: [2], padding: [[0, 0]] as [number, number][] };
 * const p = { ...g, baseDilation: [1], windowDilation: [1], select: "max" as const };
 * const y = selectAndGatherAdd(np.array([10, 20, 30, 40]), np.array([1, 0, 2, 3]), p);
 * if (y.dataSync().join() !== "10,40") throw new Error("selectAndGatherAdd");
 * ```
 */
export function selectAndGatherAdd(tangent: Tensor, operand: Tensor, p: SelectParams): Tensor {
  return bind1(selectAndGatherAddOp, [tangent, operand], p);
}

/**
 * Binds `selectAndScatterAdd`: each window's `source` value added (in row-major window order)
 * at the position of `operand` that the chooser selects in that window; zeros elsewhere.
 * @param source One value per window position.
 * @param operand Array whose windows are searched.
 * @param p Window geometry and chooser.
 * @returns An array shaped like `operand`.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { selectAndScatterAdd } from "./window.ts";
 * const g = { window: [2], strides: [1], padding: [[0, 0]] as [number, number][] };
 * const p = { ...g, baseDilation: [1], windowDilation: [1], select: "max" as const };
 * const y = selectAndScatterAdd(np.array([1, 1]), np.array([0, 5, 2]), p);
 * if (y.dataSync().join() !== "0,2,0") throw new Error("selectAndScatterAdd");
 * ```
 */
export function selectAndScatterAdd(source: Tensor, operand: Tensor, p: SelectParams): Tensor {
  return bind1(selectAndScatterAddOp, [source, operand], p);
}
