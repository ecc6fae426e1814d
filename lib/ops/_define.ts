// deno-lint-ignore-file no-explicit-any -- transforms return user pytrees, whose type is the user's
/**
 * What a primitive is: one object holding all of its rules (shape inference, reference impl,
 * jvp, batching, and transpose for linear ops). Helpers fill the defaults for elementwise ops.
 * The `OpDef` type makes a missing rule a type error; transforms only read these objects.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import { allocTyped } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, shapeEqual } from "../shape.ts";
import type { Jaxpr } from "../ir.ts";

/** Abstract value: what tracing knows about an array. */
export interface Aval {
  /** Dimensions. */
  shape: number[];
  /** Element type. */
  dtype: DType;
  /** True for weakly typed values (from JS numbers). */
  weak: boolean;
}

/** A host array handed to reference implementations. */
export interface HostArray {
  /** Row-major values. */
  data: TypedArray;
  /** Dimensions. */
  shape: number[];
  /** Element type. */
  dtype: DType;
}

/** Marks an argument of a linear op that is being transposed (its value is unknown). */
export class UndefPrimal {
  /** The abstract value of the unknown argument. */
  readonly aval: Aval;
  /** Marks an unknown argument of this aval. */
  constructor(aval: Aval) {
    this.aval = aval;
  }
}

/** An argument seen by a transpose rule. */
export type LinearArg = Tensor | UndefPrimal;
/** A batch dimension, or null when an argument is not batched. */
export type BDim = number | null;

/** Every rule of one primitive. */
export interface OpDef<P = any> {
  /** Primitive name, as printed in IR. */
  readonly name: string;
  /** Category used by fusion and rendering. */
  readonly kind: "elementwise" | "reduce" | "structural" | "contraction" | "higher" | "random";
  /** Shape/dtype inference and argument validation. */
  abstractEval(avals: Aval[], params: P): Aval[];
  /** Reference implementation on host arrays (float64 arithmetic, rounded on store). */
  impl(inputs: HostArray[], params: P, outAvals: Aval[]): TypedArray[];
  /** Forward-mode rule: output primals and tangents. */
  jvp(primals: Tensor[], tangents: Tensor[], params: P): [Tensor[], Tensor[]];
  /** Batching rule. */
  vmap(args: Tensor[], bdims: BDim[], params: P, axisSize: number): [Tensor[], BDim[]];
  /** Transpose rule, for ops linear in the UndefPrimal arguments; null = zero cotangent. */
  transpose?(cts: Tensor[], args: LinearArg[], params: P): (Tensor | null)[];
  /** Overrides evaluation of concrete inputs (higher-order primitives). */
  evalImpl?(args: Tensor[], params: P): Tensor[];
  /**
   * The const-free program a higher-order primitive calls on its inputs (jit, customJvp,
   * customVjp): compilers inline it, so the call fuses with its surroundings.
   */
  callJaxpr?(params: P): Jaxpr;
  /** Scalar expression for the kernel compiler (elementwise ops). */
  readonly scalar?: (...xs: number[]) => number;
}

/** Declares a primitive; the object is returned unchanged (with its type checked). */
export function defineOp<P>(def: OpDef<P>): OpDef<P> {
  return def;
}

/** Output dtype policy of an elementwise op. */
export type DTypeRule = "same" | "bool" | "float";

function outDType(rule: DTypeRule, d: DType): DType {
  if (rule === "bool") return "bool";
  if (rule === "float") return d === "float64" ? "float64" : "float32";
  return d;
}

/** Shape inference for n-ary elementwise ops: equal shapes and dtypes (np broadcasts first). */
export function elementwiseAval(
  name: string,
  avals: Aval[],
  rule: DTypeRule,
  argStart = 0,
): Aval[] {
  const a0 = avals[argStart];
  for (let i = argStart + 1; i < avals.length; i++) {
    if (!shapeEqual(avals[i].shape, a0.shape)) {
      throw new TypeError(
        `${name}: operand shapes must be equal, got ${
          avals.slice(argStart).map((a) => fmtShape(a.shape)).join(" and ")
        }`,
      );
    }
    if (avals[i].dtype !== a0.dtype) {
      throw new TypeError(
        `${name}: operand dtypes must be equal, got ${
          avals.slice(argStart).map((a) => a.dtype).join(" and ")
        }`,
      );
    }
  }
  return [{
    shape: [...a0.shape],
    dtype: outDType(rule, a0.dtype),
    weak: avals.slice(argStart).every((a) => a.weak),
  }];
}

/** Applies a scalar function elementwise over equal-shaped host arrays. */
export function mapImpl(
  fn: (...xs: number[]) => number,
  inputs: HostArray[],
  out: Aval,
): TypedArray[] {
  const n = inputs[0].data.length;
  const res = allocTyped(out.dtype, n);
  const ds = inputs.map((x) => x.data);
  if (ds.length === 1) {
    const a = ds[0];
    for (let i = 0; i < n; i++) res[i] = fn(a[i]);
  } else if (ds.length === 2) {
    const [a, b] = ds;
    for (let i = 0; i < n; i++) res[i] = fn(a[i], b[i]);
  } else {
    const [a, b, c] = ds;
    for (let i = 0; i < n; i++) res[i] = fn(a[i], b[i], c[i]);
  }
  return [res];
}
