/**
 * NumPy-like text for Tensors (`toString`).
 * @module
 */
import type { DType, TypedArray } from "./dtype.ts";

function fmtValue(v: number, dtype: DType): string {
  if (dtype === "bool") return v ? "true" : "false";
  if (dtype === "int32") return String(v);
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.`;
  // bfloat16 as JAX prints it (six digits)
  const s = v.toPrecision(dtype === "float32" ? 7 : dtype === "bfloat16" ? 6 : 10);
  return String(Number(s));
}

function fmtComplex(re: number, im: number, dtype: DType): string {
  const d = dtype === "complex64" ? "float32" : "float64";
  const i = fmtValue(im, d);
  return `${fmtValue(re, d)}${i.startsWith("-") ? "" : "+"}${i}j`;
}

/** Formats values of the given shape like NumPy's repr, eliding large arrays. */
export function formatTensor(data: TypedArray, shape: number[], dtype: DType): string {
  const limit = 6;
  const rec = (off: number, d: number, indent: string): string => {
    if (d === shape.length) {
      return dtype === "complex64" || dtype === "complex128"
        ? fmtComplex(data[2 * off], data[2 * off + 1], dtype)
        : fmtValue(data[off], dtype);
    }
    let step = 1;
    for (let i = d + 1; i < shape.length; i++) step *= shape[i];
    const n = shape[d];
    const idx = n > 2 * limit
      ? [...Array(limit).keys(), -1, ...Array.from({ length: limit }, (_, i) => n - limit + i)]
      : [...Array(n).keys()];
    const parts = idx.map((i) => (i < 0 ? "..." : rec(off + i * step, d + 1, indent + " ")));
    const sep = d === shape.length - 1 ? ", " : ",\n" + indent + " ";
    return "[" + parts.join(sep) + "]";
  };
  const body = rec(0, 0, "");
  return `array(${body}, dtype=${dtype})`;
}
