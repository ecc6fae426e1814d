/**
 * Host arrays as the WebGPU backend stores them (one 32-bit word per element, or 16-bit float16
 * where the device has shader-f16) and back.
 * @module
 */
import { allocTyped, type DType, type TypedArray } from "../../dtype.ts";
import { f16Bits, f16FromBits, HAS_FLOAT16 } from "../../float16.ts";

/**
 * Host data as the device stores it: one 32-bit word per element (bool widens to u32, int8 and
 * uint8 to i32, float16 to f32: kernels/wgsl/expr.ts `wgslType`; bfloat16 is a Float32Array
 * already), except float16 with `f16` (shader-f16 storage): binary16 bit patterns, padded to a
 * whole number of 32-bit words.
 */
export function deviceWords(data: TypedArray, dtype: DType, f16 = false): ArrayBufferView {
  if (dtype === "float16" && f16) return f16Words(data);
  if (dtype === "bool") return Uint32Array.from(data as Uint8Array);
  if (dtype === "int8" || dtype === "uint8") return Int32Array.from(data);
  if (dtype === "float16" && !(data instanceof Float32Array)) return Float32Array.from(data);
  return data;
}

// deno-lint-ignore no-explicit-any
const F16 = (globalThis as any).Float16Array ?? class {};

/** binary16 bit patterns of float16 host data, an even number of them (writeBuffer's 4 bytes). */
function f16Words(data: TypedArray): Uint16Array {
  const out = new Uint16Array(data.length + (data.length & 1));
  if (HAS_FLOAT16 && data instanceof F16) {
    out.set(new Uint16Array(data.buffer, data.byteOffset, data.length));
  } else if (data instanceof Uint16Array) out.set(data); // raw bit patterns
  else for (let i = 0; i < data.length; i++) out[i] = f16Bits(data[i] as number);
  return out;
}

/** Bytes of device storage per element of `dtype` (2 for float16 with shader-f16 storage). */
export function elementBytes(dtype: DType, f16: boolean): 2 | 4 {
  return dtype === "float16" && f16 ? 2 : 4;
}

/**
 * Host typed array of a dtype from the bytes of `length` device elements (the inverse of
 * `deviceWords`; `f16` as there).
 */
export function hostArray(
  dtype: DType,
  bytes: ArrayBuffer,
  length: number,
  f16 = false,
): TypedArray {
  if (dtype === "float16" && f16) {
    const bits = new Uint16Array(bytes, 0, length);
    const out = allocTyped(dtype, length);
    if (out instanceof Float32Array) bits.forEach((h, i) => (out[i] = f16FromBits(h)));
    else new Uint16Array(out.buffer, out.byteOffset, length).set(bits);
    return out;
  }
  const view = <T>(C: new (b: ArrayBufferLike, o: number, n: number) => T) =>
    new C(bytes, 0, length);
  switch (dtype) {
    case "float32":
      return view(Float32Array);
    case "bfloat16":
      return view(Float32Array); // bfloat16 values in a Float32Array, as on the host
    case "int32":
      return view(Int32Array);
    case "uint32":
      return view(Uint32Array);
    case "float16": {
      const out = allocTyped(dtype, length);
      out.set(view(Float32Array));
      return out;
    }
    case "int8":
    case "uint8": {
      const out = allocTyped(dtype, length);
      out.set(view(Int32Array));
      return out;
    }
    default:
      return Uint8Array.from(view(Uint32Array));
  }
}
