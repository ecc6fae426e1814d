// deno-lint-ignore-file no-explicit-any -- transforms return user pytrees, whose type is the user's
/**
 * What a primitive is: one object holding all of its rules (shape inference, reference impl,
 * jvp, batching, and transpose for linear ops). Helpers fill the defaults for elementwise ops.
 * The `OpDef` type makes a missing rule a type error; transforms only read these objects.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import { allocTyped, isComplex } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, shapeEqual } from "../shape.ts";
import type { Jaxpr } from "../ir.ts";
import type { Expr, Idx } from "../compile/kernel.ts";
import type { ScalarRender } from "./_render.ts";

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

/** The rules every primitive has. */
export interface OpRules<P> {
  /** Primitive name, as printed in IR. */
  readonly name: string;
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
  /**
   * Overrides evaluation of concrete inputs (higher-order primitives). `dest[k]`, when given (host
   * backends running a compiled plan), is a kept host buffer of output k's dtype and size that the
   * op may write output k into (contents unspecified; it shares memory with no input).
   */
  evalImpl?(args: Tensor[], params: P, dest?: (TypedArray | undefined)[]): Tensor[];
  /**
   * The const-free program a higher-order primitive calls on its inputs (jit, customJvp,
   * customVjp): compilers inline it, so the call fuses with its surroundings.
   */
  callJaxpr?(params: P): Jaxpr;
  /**
   * The op on complex operands, in real primitives over storage views (`storageAval`: a complex
   * array of shape s is the float array of shape [...s, 2] of its (re, im) pairs; real operands
   * come as they are); returns the outputs, complex ones as views. Absent: complex operands are a
   * TypeError. Attached in lib/ops/complex_rules.ts.
   */
  complexRule?(views: Tensor[], params: P, inAvals: Aval[], outAvals: Aval[]): Tensor[];
}

/** An elementwise primitive: fuses into any kernel, rendered from its templates. */
export interface ElementwiseOpDef<P = any> extends OpRules<P> {
  /** Category used by fusion and rendering. */
  readonly kind: "elementwise";
  /** Number of operands. */
  readonly arity: number;
  /** The scalar function (reference impl; kernels call it where a template says "call"). */
  readonly scalar: (...xs: number[]) => number;
  /** How the op renders in each kernel target (lib/ops/_render.ts). */
  readonly render: ScalarRender;
}

/** A movement primitive: an index rewrite that fuses into its consumer. */
export interface StructuralOpDef<P = any> extends OpRules<P> {
  /** Category used by fusion and rendering. */
  readonly kind: "structural";
  /** The element of the output at an index, as the operands' elements (lib/compile/fuse.ts). */
  readonly view: IndexMap<P>;
}

/** A reduction; `monoid` marks the ones a generated reduction kernel computes. */
export interface ReduceOpDef<P = any> extends OpRules<P> {
  /** Category used by fusion and rendering. */
  readonly kind: "reduce";
  /** sum/max/min over `params.axes`, or absent for reductions run as an op step. */
  readonly monoid?: "sum" | "max" | "min";
}

/** A contraction (conv, dotGeneral): runs as an op step on buffers. */
export interface ContractionOpDef<P = any> extends OpRules<P> {
  /** Category used by fusion and rendering. */
  readonly kind: "contraction";
  /** Whether the step absorbs its sole elementwise consumer (bias, activation) as an epilogue. */
  readonly epilogue: boolean;
  /**
   * The contraction as a generated reduction kernel, for problems too small (or shaped badly)
   * for a backend's dedicated kernel; absent when it always runs as an op step.
   */
  readonly reduction?: ReductionForm<P>;
}

/** Any other primitive (random, higher-order, linalg): runs as an op step on buffers. */
export interface OtherOpDef<P = any> extends OpRules<P> {
  /** Category used by fusion and rendering. */
  readonly kind: "higher" | "random" | "linalg";
}

/** Every rule of one primitive; the kind decides which compiler fields the type requires. */
export type OpDef<P = any> =
  | ElementwiseOpDef<P>
  | StructuralOpDef<P>
  | ReduceOpDef<P>
  | ContractionOpDef<P>
  | OtherOpDef<P>;

/** Reads operand `i`'s element at a multi-index, as a kernel expression. */
export type ReadAt = (i: number, idx: Idx[]) => Expr;

/**
 * A movement op's index map. `flat: "always"`: the output at row-major flat index f is operand
 * 0 at f (reshape). Otherwise `at` gives the output element at `idx`; `flat: "sameShape"` adds
 * that the flat rule holds when operand and output shapes are equal; `cost` is the arithmetic it
 * adds per element (pad, concatenate select between operands).
 */
export type IndexMap<P> =
  | { readonly flat: "always" }
  | {
    readonly at: (idx: Idx[], read: ReadAt, p: P, ins: Aval[], out: Aval) => Expr;
    readonly flat?: "sameShape";
    readonly cost?: (operands: number) => number;
  };

/**
 * A contraction as a reduction kernel: `use` says whether to use it for these avals (`direct`:
 * the backend has a dedicated kernel for the problem); `body` gives the summand at output index
 * `i<d>` and reduction index `r<k>` with the reduction extents.
 */
export interface ReductionForm<P> {
  /** Whether this application runs as a generated reduction kernel. */
  use(ins: Aval[], out: Aval, p: P, direct: boolean): boolean;
  /** Summand and reduction extents. */
  body(read: ReadAt, ins: Aval[], out: Aval, p: P): { body: Expr; shape: number[] };
}

/** Declares a primitive; the object is returned unchanged (with its type checked). */
export function defineOp<P>(def: OpDef<P>): OpDef<P> {
  return def;
}

/** Output dtype policy of an elementwise op. */
export type DTypeRule = "same" | "bool" | "float";

function outDType(rule: DTypeRule, d: DType): DType {
  if (rule === "bool") return "bool";
  if (rule === "float") {
    return d === "float64" || d === "float16" || isComplex(d) ? d : "float32";
  }
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
  let weak = true;
  for (let i = argStart; i < avals.length; i++) weak &&= avals[i].weak;
  return [{ shape: [...a0.shape], dtype: outDType(rule, a0.dtype), weak }];
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
