/**
 * dtypes, their storage, and type promotion (JAX's lattice, JS numbers are weakly typed).
 * In: dtype names and avals. Out: promoted dtypes and typed-array constructors.
 * @module
 */

/** The element types a Tensor can hold. */
export type DType = "bool" | "int32" | "float32" | "float64";

/** Typed arrays that back Tensors on the host. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** All dtype names, in promotion order. */
export const DTYPES: readonly DType[] = ["bool", "int32", "float32", "float64"];

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** True for float32 and float64. */
export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float64";
}

/** Checks that `d` names a dtype, else throws a TypeError naming `op`. */
export function checkDType(d: unknown, op: string): DType {
  if (typeof d !== "string" || !(d in RANK)) {
    throw new TypeError(
      `${op}: unknown dtype ${JSON.stringify(d)}; expected one of ${DTYPES.join(", ")}`,
    );
  }
  return d as DType;
}

/** Allocates a zeroed typed array for `n` elements of `d`. */
export function allocTyped(d: DType, n: number): TypedArray {
  switch (d) {
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "int32":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** The dtype of a typed array (Uint8Array is read as bool). */
export function dtypeOfTyped(a: ArrayBufferView): DType | undefined {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint8Array) return "bool";
  return undefined;
}

/** Converts a JS number to what `d` stores (truncation for int32, 0/1 for bool). */
export function castScalar(v: number, d: DType): number {
  switch (d) {
    case "int32":
      return Number.isFinite(v) ? Math.trunc(v) | 0 : 0;
    case "bool":
      return v !== 0 ? 1 : 0; // NaN is truthy, as in NumPy
    case "float32":
      return Math.fround(v);
    default:
      return v;
  }
}

/** A dtype with JAX's weak-type flag (JS numbers are weak). */
export interface TypeInfo {
  dtype: DType;
  weak: boolean;
}

/**
 * Promotes two operand types: the higher of two strong types; a weak operand yields to a strong
 * one unless it is a float meeting an int/bool (then float32), or an int meeting a bool (int32).
 */
export function promoteTypes(a: TypeInfo, b: TypeInfo): TypeInfo {
  if (a.weak === b.weak) {
    return { dtype: RANK[a.dtype] >= RANK[b.dtype] ? a.dtype : b.dtype, weak: a.weak };
  }
  const [strong, weak] = a.weak ? [b, a] : [a, b];
  if (RANK[weak.dtype] <= RANK[strong.dtype]) return { dtype: strong.dtype, weak: false };
  if (isFloat(weak.dtype)) {
    return { dtype: isFloat(strong.dtype) ? strong.dtype : "float32", weak: false };
  }
  return { dtype: "int32", weak: false };
}

/** The dtype that float math on `d` produces (ints and bools become float32). */
export function floatOf(d: DType): DType {
  return isFloat(d) ? d : "float32";
}
