/**
 * dtypes, their storage, and type promotion (JAX's lattice; JS numbers are weakly typed).
 * In: dtype names and avals. Out: promoted dtypes, typed-array constructors, range checks.
 * @module
 */
import { f16round, f16roundEmulated, HAS_FLOAT16 } from "./float16.ts";
import { bf16round } from "./bfloat16.ts";
import type { Aval } from "./ops/_define.ts";

/** The element types a Tensor can hold. */
export type DType =
  | "bool"
  | "int8"
  | "uint8"
  | "int32"
  | "uint32"
  | "float16"
  | "bfloat16"
  | "float32"
  | "float64"
  | "complex64"
  | "complex128";

/**
 * Typed arrays that back Tensors on the host. float16 is a Float16Array where the runtime has
 * one, else a Float32Array holding float16-rounded values; bfloat16 is a Float32Array holding
 * bfloat16-rounded values (a Tensor's `data()` packs them to a Uint16Array of raw bits).
 */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint8Array
  | Int8Array
  | Uint32Array
  | Uint16Array;

/** All dtype names. */
export const DTYPES: readonly DType[] = [
  "bool",
  "int8",
  "uint8",
  "int32",
  "uint32",
  "float16",
  "bfloat16",
  "float32",
  "float64",
  "complex64",
  "complex128",
];

/**
 * Bytes per element of each dtype as stored on the host (float16: 2 where Float16Array exists;
 * bfloat16: 4, a float32 holding the value; a complex element is an interleaved (re, im) pair of float32 or float64).
 */
export const BYTES: Record<DType, number> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int32: 4,
  uint32: 4,
  float16: HAS_FLOAT16 ? 2 : 4,
  bfloat16: 4,
  float32: 4,
  float64: 8,
  complex64: 8,
  complex128: 16,
};

/** True for float16, bfloat16, float32 and float64. */
export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float64" || d === "float16" || d === "bfloat16";
}

/**
 * The rounding a host float array of `d` needs on store, for the float dtypes kept in a wider
 * host array (bfloat16 always; float16 without Float16Array); undefined for the others.
 */
export function hostRound(d: DType): ((x: number) => number) | undefined {
  if (d === "bfloat16") return bf16round;
  return d === "float16" && !HAS_FLOAT16 ? f16roundEmulated : undefined;
}

/**
 * Rounds in place the outputs of a host implementation whose dtype has a `hostRound` (bfloat16;
 * float16 without Float16Array): the implementation computed them in float64 / float32.
 */
export function roundHostOutputs<T extends ArrayLike<number>>(
  outs: T[],
  dtypes: readonly DType[],
): T[] {
  outs.forEach((o, i) => {
    const r = hostRound(dtypes[i]);
    if (!r) return;
    const a = o as unknown as Float32Array;
    for (let j = 0; j < a.length; j++) a[j] = r(a[j]);
  });
  return outs;
}

/** The float dtypes computed in float32 and rounded to 16 bits (float16, bfloat16). */
export function isHalf(d: DType): boolean {
  return d === "float16" || d === "bfloat16";
}

/** True for complex64 and complex128. */
export function isComplex(d: DType): boolean {
  return d === "complex64" || d === "complex128";
}

/** True for the float and complex dtypes (the ones that have derivatives). */
export function isInexact(d: DType): boolean {
  return isFloat(d) || isComplex(d);
}

/** The real dtype of a complex dtype's parts (complex64: float32); other dtypes unchanged. */
export function realPart(d: DType): DType {
  return d === "complex64" ? "float32" : d === "complex128" ? "float64" : d;
}

/** The complex dtype whose parts are `d` (float64: complex128, else complex64). */
export function complexOf(d: DType): DType {
  return d === "float64" || d === "complex128" ? "complex128" : "complex64";
}

/**
 * How an array is stored: a complex array of shape s is the float array of shape [...s, 2] of
 * its interleaved (re, im) pairs (backends only ever see this view); other avals unchanged.
 */
export function storageAval(a: Aval): Aval {
  if (!isComplex(a.dtype)) return a;
  return { shape: [...a.shape, 2], dtype: realPart(a.dtype), weak: false };
}

/** True for the integer dtypes (not bool). */
export function isInt(d: DType): boolean {
  return d === "int32" || d === "int8" || d === "uint8" || d === "uint32";
}

/** Checks that `d` names a dtype, else throws a TypeError naming `op`. */
export function checkDType(d: unknown, op: string): DType {
  if (typeof d !== "string" || !(DTYPES as readonly string[]).includes(d)) {
    throw new TypeError(
      `${op}: unknown dtype ${JSON.stringify(d)}; expected one of ${DTYPES.join(", ")}`,
    );
  }
  return d as DType;
}

/** The typed-array class storing `d` on the host. */
export function typedCtor(d: DType): new (n: number) => TypedArray {
  switch (d) {
    case "float32":
    case "bfloat16":
    case "complex64":
      return Float32Array;
    case "float64":
    case "complex128":
      return Float64Array;
    case "int32":
      return Int32Array;
    case "int8":
      return Int8Array;
    case "uint32":
      return Uint32Array;
    case "float16":
      // deno-lint-ignore no-explicit-any
      return HAS_FLOAT16 ? (globalThis as any).Float16Array : Float32Array;
    default:
      return Uint8Array; // bool, uint8
  }
}

/** Allocates a zeroed typed array for `n` elements of `d` (complex: 2n interleaved floats). */
export function allocTyped(d: DType, n: number): TypedArray {
  return new (typedCtor(d))(isComplex(d) ? 2 * n : n);
}

/** The dtype of a typed array (Uint8Array is uint8; a Float16Array is float16). */
export function dtypeOfTyped(a: ArrayBufferView): DType | undefined {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint8Array) return "uint8";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Uint32Array) return "uint32";
  // deno-lint-ignore no-explicit-any
  const F16 = (globalThis as any).Float16Array;
  if (F16 && a instanceof F16) return "float16";
  return undefined;
}

/** [min, max] of each integer dtype. */
export const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** Wraps an integer-valued number into `d`'s range (two's complement), as a C cast would. */
export function wrapInt(v: number, d: DType): number {
  switch (d) {
    case "int32":
      return v | 0;
    case "int8":
      return (v << 24) >> 24;
    case "uint8":
      return v & 255;
    case "uint32":
      return v >>> 0;
    default:
      return v;
  }
}

/** Converts a JS number to what `d` stores (truncation and wrapping for ints, 0/1 for bool). */
export function castScalar(v: number, d: DType): number {
  switch (d) {
    case "bool":
      return v !== 0 ? 1 : 0; // NaN is truthy, as in NumPy
    case "float32":
    case "complex64":
      return Math.fround(v);
    case "float16":
      return f16round(v);
    case "bfloat16":
      return bf16round(v);
    case "float64":
    case "complex128":
      return v;
    default:
      return Number.isFinite(v) ? wrapInt(Math.trunc(v), d) : 0;
  }
}

/**
 * Checks that JS value `v` fits integer dtype `d` (after truncation toward zero), else a
 * RangeError naming `op`: values are never silently wrapped on the way in.
 */
export function checkRange(op: string, v: number, d: DType): void {
  const r = INT_RANGE[d];
  if (!r) return;
  const t = Math.trunc(v);
  if (!(t >= r[0] && t <= r[1])) {
    throw new RangeError(
      `${op}: value ${v} is out of range for dtype ${d} [${r[0]}, ${r[1]}]`,
    );
  }
}

/** A dtype with JAX's weak-type flag (JS numbers are weak). */
export interface TypeInfo {
  dtype: DType;
  weak: boolean;
}

// JAX's promotion lattice (jax.numpy type promotion), with the types tracegrad lacks (i16, i64,
// u16, u64) kept as nodes so joins are JAX's; they are then mapped to the nearest dtype we have,
// as JAX itself does with 64-bit types when x64 is off. "i*" and "f*" are weak int and float.
const EDGES: Record<string, string[]> = {
  bool: ["i*"],
  "i*": ["u8", "i8"],
  u8: ["u16", "i16"],
  u16: ["u32", "i32"],
  u32: ["u64", "i64"],
  u64: ["f*"],
  i8: ["i16"],
  i16: ["i32"],
  i32: ["i64"],
  i64: ["f*"],
  "f*": ["f16", "bf16", "c*"],
  f16: ["f32"],
  bf16: ["f32"],
  f32: ["f64", "c64"],
  f64: ["c128"],
  "c*": ["c64"],
  c64: ["c128"],
  c128: [],
};
const NODE: Record<DType, string> = {
  bool: "bool",
  int8: "i8",
  uint8: "u8",
  int32: "i32",
  uint32: "u32",
  float16: "f16",
  bfloat16: "bf16",
  float32: "f32",
  float64: "f64",
  complex64: "c64",
  complex128: "c128",
};
const FROM_NODE: Record<string, TypeInfo> = {
  bool: { dtype: "bool", weak: false },
  "i*": { dtype: "int32", weak: true },
  u8: { dtype: "uint8", weak: false },
  u16: { dtype: "int32", weak: false },
  u32: { dtype: "uint32", weak: false },
  u64: { dtype: "uint32", weak: false },
  i8: { dtype: "int8", weak: false },
  i16: { dtype: "int32", weak: false },
  i32: { dtype: "int32", weak: false },
  i64: { dtype: "int32", weak: false },
  "f*": { dtype: "float32", weak: true },
  f16: { dtype: "float16", weak: false },
  bf16: { dtype: "bfloat16", weak: false },
  f32: { dtype: "float32", weak: false },
  f64: { dtype: "float64", weak: false },
  "c*": { dtype: "complex64", weak: true },
  c64: { dtype: "complex64", weak: false },
  c128: { dtype: "complex128", weak: false },
};
const UPPER = new Map<string, Set<string>>();
function upper(n: string): Set<string> {
  let s = UPPER.get(n);
  if (!s) {
    s = new Set([n]);
    for (const m of EDGES[n]) for (const u of upper(m)) s.add(u);
    UPPER.set(n, s);
  }
  return s;
}
function node(t: TypeInfo): string {
  if (t.weak) {
    return t.dtype === "bool" ? "bool" : isComplex(t.dtype) ? "c*" : isFloat(t.dtype) ? "f*" : "i*";
  }
  return NODE[t.dtype];
}

/**
 * Promotes two operand types by JAX's lattice: the least upper bound of the two, where a weak
 * (JS number) operand yields to a strong one of its kind (`int8 + 1` is int8, `float16 + 0.5` is
 * float16) and ints meeting floats give the float (`int32 + float16` is float16).
 */
export function promoteTypes(a: TypeInfo, b: TypeInfo): TypeInfo {
  const ua = upper(node(a)), ub = upper(node(b));
  const common = [...ua].filter((n) => ub.has(n));
  const lub = common.find((n) => common.every((m) => upper(n).has(m)))!;
  return FROM_NODE[lub];
}

/** The dtype that float math on `d` produces (ints and bools become float32; complex stays). */
export function floatOf(d: DType): DType {
  return isInexact(d) ? d : "float32";
}
